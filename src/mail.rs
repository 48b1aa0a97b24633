//! Email: written to the outbox with the change that causes it (`Mail::send`),
//! delivered by the outbox's worker over SMTP (`SMTP_URL`, with lettre) or, without
//! it, as RFC 5322 `.eml` files in a folder (the embedded default). The log names
//! each file, never its contents: emails carry single-use links.

use crate::config::MailSettings;
use crate::error::AppError;
use crate::outbox::{Deliver, Outbox};
use crate::request_meta::RequestMeta;
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sqlx::AnyConnection;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

/// The outbox topic of emails.
pub(crate) const TOPIC: &str = "email";

/// One email, as the outbox keeps it (sealed) until it is sent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Email {
    pub(crate) to: String,
    pub(crate) subject: String,
    /// Plain text; every link in it is on this server.
    pub(crate) text: String,
}

/// What features send email through.
#[derive(Clone)]
pub(crate) struct Mail {
    outbox: Outbox,
    public_url: Option<Arc<str>>,
}

impl Mail {
    pub(crate) fn new(outbox: Outbox, public_url: Option<&str>) -> Self {
        Mail {
            outbox,
            public_url: public_url.map(Into::into),
        }
    }

    /// Writes `email` on `connection` (the transaction of the change that causes
    /// it). Call `wake` once that transaction has committed.
    pub(crate) async fn send(
        &self,
        connection: &mut AnyConnection,
        email: &Email,
    ) -> Result<(), AppError> {
        let payload = serde_json::to_value(email)
            .map_err(|e| AppError::Internal(format!("email payload: {e}")))?;
        self.outbox
            .enqueue(connection, TOPIC, None, &payload)
            .await
            .map(drop)
    }

    /// Has the worker send what was just committed, now rather than at its next look.
    pub(crate) fn wake(&self) {
        self.outbox.wake();
    }

    /// The origin links in emails start with: `STORNO_PUBLIC_URL`, else the origin
    /// the request was sent to.
    pub(crate) fn origin(&self, meta: &RequestMeta) -> String {
        match &self.public_url {
            Some(url) => url.to_string(),
            None => format!("http://{}", meta.host.as_deref().unwrap_or("localhost")),
        }
    }
}

/// Where emails go.
enum Transport {
    Smtp(AsyncSmtpTransport<Tokio1Executor>),
    /// One `<outbox id>.eml` file per email (a retry rewrites the same file).
    Directory(PathBuf),
}

/// Sends the outbox's emails.
pub(crate) struct Mailer {
    transport: Transport,
    from: Mailbox,
}

impl Mailer {
    /// The mailer `settings` describe; without `SMTP_URL`, files in
    /// `settings.directory` or else `default_directory`.
    pub(crate) fn new(settings: &MailSettings, default_directory: PathBuf) -> Result<Self, String> {
        let from: Mailbox = settings
            .from
            .parse()
            .map_err(|e| format!("MAIL_FROM {:?} is not an address: {e}", settings.from))?;
        let transport = match &settings.smtp_url {
            Some(url) => Transport::Smtp(smtp_transport(url.expose_secret())?),
            None => {
                let directory = settings.directory.clone().unwrap_or(default_directory);
                std::fs::create_dir_all(&directory)
                    .map_err(|e| format!("cannot create {}: {e}", directory.display()))?;
                tracing::info!(directory = %directory.display(), "SMTP_URL is unset: emails are written as .eml files");
                Transport::Directory(directory)
            }
        };
        Ok(Mailer { transport, from })
    }

    fn message(&self, id: Uuid, email: &Email) -> Result<Message, String> {
        let to: Mailbox = email
            .to
            .parse()
            .map_err(|e| format!("recipient is not an address: {e}"))?;
        let domain = self.from.email.domain().to_string();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(&email.subject)
            // The outbox id: a retry after a lost acknowledgement is recognisable.
            .message_id(Some(format!("<{id}@{domain}>")))
            .header(ContentType::TEXT_PLAIN)
            .body(email.text.clone())
            .map_err(|e| format!("cannot build the email: {e}"))
    }
}

/// `smtp://` without `?tls=` upgrades with STARTTLS when the server offers it;
/// `smtps://` is TLS from the start; `user:password@` authenticates.
fn smtp_transport(url: &str) -> Result<AsyncSmtpTransport<Tokio1Executor>, String> {
    let url = if url.starts_with("smtp://") && !url.contains("tls=") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}tls=opportunistic")
    } else {
        url.to_string()
    };
    // lettre's errors may quote the URL, and so its password: not repeated here.
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&url)
        .map_err(|_| {
            "SMTP_URL must look like smtp://host:port or smtps://user:password@host:port"
                .to_string()
        })?
        .timeout(Some(Duration::from_secs(30)))
        .build();
    Ok(transport)
}

#[async_trait::async_trait]
impl Deliver for Mailer {
    async fn deliver(&self, id: Uuid, payload: Value) -> Result<(), String> {
        let email: Email =
            serde_json::from_value(payload).map_err(|e| format!("not an email: {e}"))?;
        let message = self.message(id, &email)?;
        match &self.transport {
            Transport::Smtp(smtp) => {
                smtp.send(message).await.map_err(|e| format!("SMTP: {e}"))?;
                tracing::info!(%id, "email sent");
            }
            Transport::Directory(directory) => {
                let path = directory.join(format!("{id}.eml"));
                write_whole(&path, &message.formatted())
                    .await
                    .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                tracing::info!(%id, file = %path.display(), "email written");
            }
        }
        Ok(())
    }
}

/// Writes `bytes` to `path` whole or not at all (a reader never sees half a file).
async fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let draft = path.with_extension("eml.draft");
    tokio::fs::write(&draft, bytes).await?;
    tokio::fs::rename(&draft, path).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(smtp_url: Option<&str>) -> MailSettings {
        MailSettings {
            smtp_url: smtp_url.map(Into::into),
            from: "Storno Licensing <licensing@example.com>".into(),
            directory: None,
        }
    }

    #[test]
    fn smtp_urls_of_every_documented_form_are_accepted_and_others_refused() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://user:secret@mail.example.com:587",
            "smtps://user:secret@mail.example.com:465",
            "smtp://mail.example.com:587?tls=required",
        ] {
            assert!(smtp_transport(url).is_ok(), "{url}");
        }
        let error = smtp_transport("smtq://user:hunter2@mail.example.com").unwrap_err();
        assert!(
            !error.contains("hunter2"),
            "the password is not repeated: {error}"
        );
    }

    #[tokio::test]
    async fn an_email_is_an_rfc_5322_message_named_by_its_outbox_id() {
        let directory = tempfile::tempdir().unwrap();
        let mailer = Mailer::new(&settings(None), directory.path().to_path_buf()).unwrap();
        let id = Uuid::now_v7();
        let email = Email {
            to: "ana@example.com".into(),
            subject: "Verify your email".into(),
            text: "Open http://localhost/verify-email?token=abc".into(),
        };
        mailer
            .deliver(id, serde_json::to_value(&email).unwrap())
            .await
            .unwrap();
        let written = std::fs::read_to_string(directory.path().join(format!("{id}.eml"))).unwrap();
        assert!(written.contains("To: ana@example.com"), "{written}");
        assert!(
            written.contains("From: \"Storno Licensing\" <licensing@example.com>"),
            "{written}"
        );
        assert!(written.contains("Subject: Verify your email"), "{written}");
        assert!(
            written.contains(&format!("Message-ID: <{id}@example.com>")),
            "{written}"
        );
        assert!(written.contains("verify-email?token=abc"), "{written}");
    }

    #[test]
    fn a_from_address_that_does_not_parse_stops_start_up() {
        let mut bad = settings(None);
        bad.from = "not an address".into();
        assert!(Mailer::new(&bad, std::env::temp_dir()).is_err());
    }
}
