#!/usr/bin/env python3
"""A real SMTP server for the integration tests (aiosmtpd): every message it accepts
is written to DIRECTORY as NNNNNN.eml, its envelope first (X-Envelope-From and
X-Envelope-To headers), then the message as received. It prints the port it
listens on (127.0.0.1) and serves until killed.

    smtp_sink.py DIRECTORY [--port N] [--refuse-first N]

--refuse-first N answers the first N messages' DATA with a temporary failure (451),
as a busy server does, so that the sender has to retry.
"""
import argparse
import asyncio
import os

from aiosmtpd.smtp import SMTP


class Sink:
    def __init__(self, directory, refuse_first):
        self.directory = directory
        self.refusals_left = refuse_first
        self.accepted = 0

    async def handle_DATA(self, server, session, envelope):
        if self.refusals_left > 0:
            self.refusals_left -= 1
            return "451 4.3.0 Busy, try again later"
        self.accepted += 1
        path = os.path.join(self.directory, f"{self.accepted:06d}.eml")
        envelope_lines = [f"X-Envelope-From: {envelope.mail_from}"]
        envelope_lines += [f"X-Envelope-To: {rcpt}" for rcpt in envelope.rcpt_tos]
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode()
        # Written whole, then renamed: a reader never sees half a message.
        with open(path + ".part", "wb") as file:
            file.write(("\r\n".join(envelope_lines) + "\r\n").encode())
            file.write(content)
        os.rename(path + ".part", path)
        return "250 2.0.0 OK"


async def serve(arguments):
    os.makedirs(arguments.directory, exist_ok=True)
    sink = Sink(arguments.directory, arguments.refuse_first)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(sink, hostname="sink.test"), "127.0.0.1", arguments.port
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    await server.serve_forever()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("directory")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--refuse-first", type=int, default=0)
    asyncio.run(serve(parser.parse_args()))


if __name__ == "__main__":
    main()
