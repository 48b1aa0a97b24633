//! The emails the server wrote (`.eml` files) and the links in them.

use super::*;
use reqwest::{Response, StatusCode};
use serde_json::json;
use std::time::Duration;

impl TestApp {
    /// The text of the newest email to `to` whose subject is `subject` (waits up to
    /// 20 s for the outbox's worker to write it).
    pub async fn email_to(&self, to: &str, subject: &str) -> String {
        self.nth_email_to(to, subject, 1).await
    }

    /// The newest email to `to` with `subject`, once at least `count` were written.
    pub async fn nth_email_to(&self, to: &str, subject: &str, count: usize) -> String {
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        loop {
            let mut found: Vec<(std::path::PathBuf, String)> = std::fs::read_dir(self.mail_dir())
                .into_iter()
                .flatten()
                .flatten()
                .map(|entry| entry.path())
                .filter(|path| path.extension().is_some_and(|e| e == "eml"))
                .filter_map(|path| Some((path.clone(), std::fs::read_to_string(&path).ok()?)))
                .filter(|(_, text)| {
                    text.contains(&format!("To: {to}\r\n"))
                        && text.contains(&format!("Subject: {subject}\r\n"))
                })
                .collect();
            found.sort();
            if found.len() >= count {
                let (_, text) = found.pop().unwrap();
                return unquoted(&text);
            }
            assert!(
                std::time::Instant::now() < deadline,
                "no email {subject:?} to {to}"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub fn mail_dir(&self) -> std::path::PathBuf {
        self._directory.path().join("mail")
    }

    /// The token of the newest emailed link to `path` (`/verify-email`, ...) sent to `to`.
    pub async fn emailed_token(&self, to: &str, subject: &str, path: &str) -> String {
        self.nth_emailed_token(to, subject, path, 1).await
    }

    /// The token of the newest such link, once at least `count` were sent.
    pub async fn nth_emailed_token(
        &self,
        to: &str,
        subject: &str,
        path: &str,
        count: usize,
    ) -> String {
        link_token(&self.nth_email_to(to, subject, count).await, path)
    }

    /// Opens the verification link emailed to `email`.
    pub async fn verify_email(&self, email: &str) {
        let token = self
            .emailed_token(email, "Verify your email address", "/verify-email")
            .await;
        let response = self.open_verification_link(&token).await;
        assert_eq!(response.status(), StatusCode::OK, "verify {email}");
    }

    /// `POST /auth/verify-email` with `token`, as the link's page does.
    pub async fn open_verification_link(&self, token: &str) -> Response {
        self.api
            .post(self.url("/api/v1/auth/verify-email"))
            .json(&json!({ "token": token }))
            .send()
            .await
            .unwrap()
    }
}

/// An email's text with its quoted-printable soft breaks and `=3D` undone.
pub fn unquoted(message: &str) -> String {
    message.replace("=\r\n", "").replace("=3D", "=")
}

/// The token of the link to `path` (`/verify-email`, ...) in an email's text.
pub fn link_token(message: &str, path: &str) -> String {
    let text = unquoted(message);
    let marker = format!("{path}?token=");
    let at = text
        .find(&marker)
        .unwrap_or_else(|| panic!("no link in {text}"))
        + marker.len();
    text[at..]
        .chars()
        .take_while(char::is_ascii_hexdigit)
        .collect()
}
