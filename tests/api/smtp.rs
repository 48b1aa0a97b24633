//! Email through a real SMTP server (aiosmtpd, `tests/support/smtp_sink.py`, which
//! `scripts/setup.sh --test` installs): what the outbox sends, that a refused send
//! is retried, that a `kill -9` loses nothing, and that several instances on one
//! database send each email once.

use crate::helpers::*;
use crate::instances::{client, register, start_instance_with};
use reqwest::StatusCode;
use std::collections::HashMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

/// A running SMTP server that keeps every message it accepts.
struct SmtpSink {
    port: u16,
    directory: tempfile::TempDir,
    _process: Child,
}

impl SmtpSink {
    /// Starts one on `port` (0: any free port) that answers the first `refuse_first`
    /// messages with a temporary failure.
    async fn start(port: u16, refuse_first: usize) -> SmtpSink {
        let python = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".tools/venv/bin/python");
        assert!(
            python.exists(),
            "the mail tests need aiosmtpd in .tools/venv: run scripts/setup.sh --test"
        );
        let directory = tempfile::tempdir().unwrap();
        let mut process = Command::new(python)
            .arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/smtp_sink.py"
            ))
            .arg(directory.path())
            .args(["--port", &port.to_string()])
            .args(["--refuse-first", &refuse_first.to_string()])
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("the SMTP sink starts");
        let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
        let port = tokio::time::timeout(Duration::from_secs(20), lines.next_line())
            .await
            .expect("the SMTP sink announces its port")
            .unwrap()
            .expect("the SMTP sink exited: is aiosmtpd installed? run scripts/setup.sh --test")
            .trim()
            .parse()
            .unwrap();
        SmtpSink {
            port,
            directory,
            _process: process,
        }
    }

    fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.port)
    }

    /// Every message accepted so far, in order, as text.
    fn messages(&self) -> Vec<String> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(self.directory.path())
            .unwrap()
            .flatten()
            .map(|entry| entry.path())
            .filter(|path| path.extension().is_some_and(|e| e == "eml"))
            .collect();
        paths.sort();
        paths
            .iter()
            .map(|path| std::fs::read_to_string(path).unwrap())
            .collect()
    }

    /// Waits (up to `within`) until `count` messages were accepted; returns them.
    async fn wait_for(&self, count: usize, within: Duration) -> Vec<String> {
        let deadline = Instant::now() + within;
        loop {
            let messages = self.messages();
            if messages.len() >= count || Instant::now() > deadline {
                return messages;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

/// A fresh database that only the server processes a test starts use (no
/// in-process app beside them, whose worker would deliver their emails as files).
async fn database_for_instances() -> (tempfile::TempDir, String) {
    let directory = tempfile::tempdir().unwrap();
    let (database_url, _) = fresh_database(directory.path()).await;
    (directory, database_url)
}

fn envelope_to(message: &str) -> &str {
    message
        .lines()
        .find_map(|line| line.strip_prefix("X-Envelope-To: "))
        .unwrap()
}

#[tokio::test]
async fn sign_up_sends_its_verification_link_over_smtp_from_mail_from() {
    let sink = SmtpSink::start(0, 0).await;
    let app = spawn_app_with(|settings| {
        settings.mail.smtp_url = Some(sink.url().into());
        settings.mail.from = "Storno Licensing <licensing@storno.test>".into();
    })
    .await;
    let ana = app.register_unverified("ana@example.com", "Acme").await;
    let messages = sink.wait_for(1, Duration::from_secs(20)).await;
    assert_eq!(messages.len(), 1, "one email");
    let message = &messages[0];
    assert_eq!(envelope_to(message), "ana@example.com");
    assert!(message.contains("X-Envelope-From: licensing@storno.test"));
    assert!(
        message.contains("From: \"Storno Licensing\" <licensing@storno.test>"),
        "{message}"
    );
    assert!(message.contains("Subject: Verify your email address"));
    assert!(!message.contains(&ana.token), "no API token in an email");
    assert!(!message.contains(&ana.password), "no password in an email");
    assert!(
        std::fs::read_dir(app.mail_dir()).map_or(true, |mut dir| dir.next().is_none()),
        "with SMTP_URL no .eml file is written"
    );

    let token = link_token(message, "/verify-email");
    let verified = app.open_verification_link(&token).await;
    assert_eq!(verified.status(), StatusCode::OK);
}

#[tokio::test]
async fn a_temporarily_refused_email_is_sent_again_and_arrives_once() {
    let sink = SmtpSink::start(0, 2).await;
    let app = spawn_app_with(|settings| settings.mail.smtp_url = Some(sink.url().into())).await;
    app.register_unverified("ana@example.com", "Acme").await;
    // Refused twice: retried after about 1 s, then 2 s.
    let messages = sink.wait_for(1, Duration::from_secs(30)).await;
    assert_eq!(messages.len(), 1);
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(sink.messages().len(), 1, "sent once, once accepted");
}

#[tokio::test]
async fn emails_written_while_the_smtp_server_is_down_survive_a_kill_9_and_arrive() {
    let (_directory, database_url) = database_for_instances().await;
    // A port where nothing listens yet: every send fails and is retried.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("smtp://127.0.0.1:{port}");
    let env = [("SMTP_URL", url.as_str())];
    let server = start_instance_with(&database_url, &env).await;
    let http = client();
    for name in ["ana", "bob", "eve"] {
        register(&http, &server.address, &format!("{name}@example.com")).await;
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let mut process = server.process;
    process.start_kill().unwrap();
    process.wait().await.unwrap();

    let sink = SmtpSink::start(port, 0).await;
    let _restarted = start_instance_with(&database_url, &env).await;
    let messages = sink.wait_for(3, Duration::from_secs(60)).await;
    let mut recipients: Vec<&str> = messages.iter().map(|m| envelope_to(m)).collect();
    recipients.sort();
    assert_eq!(
        recipients,
        ["ana@example.com", "bob@example.com", "eve@example.com"]
    );
}

#[tokio::test]
async fn two_instances_on_one_database_send_each_email_once() {
    let sink = SmtpSink::start(0, 0).await;
    let (_directory, database_url) = database_for_instances().await;
    let url = sink.url();
    let env = [
        ("SMTP_URL", url.as_str()),
        ("RATE_LIMIT_SIGN_UP_PER_IP", "1000"),
    ];
    let (a, b) = (
        start_instance_with(&database_url, &env).await,
        start_instance_with(&database_url, &env).await,
    );
    let http = client();
    // Written through both, so both workers find work.
    let mut expected = Vec::new();
    for i in 0..30 {
        let address = if i % 2 == 0 { &a.address } else { &b.address };
        let email = format!("user{i:02}@example.com");
        register(&http, address, &email).await;
        expected.push(email);
    }
    let messages = sink.wait_for(30, Duration::from_secs(60)).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let mut sent: HashMap<String, usize> = HashMap::new();
    for message in sink.messages() {
        *sent.entry(envelope_to(&message).to_string()).or_default() += 1;
    }
    assert!(messages.len() >= 30, "all arrived: {}", messages.len());
    for email in &expected {
        assert_eq!(
            sent.get(email),
            Some(&1),
            "{email} got {:?}",
            sent.get(email)
        );
    }
    assert_eq!(sent.len(), expected.len());
    drop((a.process, b.process));
}
