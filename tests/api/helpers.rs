use reqwest::header::HeaderMap;
use reqwest::{Client, Response, StatusCode};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;
use storno_licensing::config::{MailSettings, Settings};
use storno_licensing::http::Application;

mod browser;
mod mail;
mod operator;
use browser::browser_headers;
pub use mail::link_token;

/// Everything the application logs during the tests, at the most verbose level,
/// so tests can prove that no secret is ever written to a log.
static LOGS: Mutex<Vec<u8>> = Mutex::new(Vec::new());

struct LogCapture;

impl Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        LOGS.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn capture_logs() {
    static INIT: OnceLock<()> = OnceLock::new();
    INIT.get_or_init(|| {
        tracing_subscriber::fmt()
            .with_max_level(tracing::Level::TRACE)
            .with_writer(|| LogCapture)
            .with_ansi(false)
            .init();
    });
}

pub fn captured_logs() -> String {
    String::from_utf8_lossy(&LOGS.lock().unwrap()).into_owned()
}

pub struct TestApp {
    pub address: String,
    pub database_url: String,
    /// Follows no redirects and keeps cookies, like a browser tab would (minus JS).
    pub browser: Client,
    pub api: Client,
    _directory: tempfile::TempDir,
}

pub struct Owner {
    pub token: String,
    pub email: String,
    pub password: String,
    pub organization_id: String,
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// Registers `email` and opens the verification link emailed to it.
    pub async fn register(&self, email: &str, organization_name: &str) -> Owner {
        let owner = self.register_unverified(email, organization_name).await;
        self.verify_email(email).await;
        owner
    }

    pub async fn register_unverified(&self, email: &str, organization_name: &str) -> Owner {
        let password = "correct horse battery staple".to_string();
        let response = self
            .api
            .post(self.url("/api/v1/auth/register"))
            .json(&json!({"email": email, "password": password, "organizationName": organization_name}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "register {email}");
        let body: Value = response.json().await.unwrap();
        Owner {
            token: body["token"].as_str().unwrap().to_string(),
            email: email.to_string(),
            password,
            organization_id: body["organization"]["id"].as_str().unwrap().to_string(),
        }
    }

    /// Registers `email` (with an organization of their own), has `owner` invite
    /// them with `role` and has them accept; returns the new member.
    pub async fn member_of(&self, owner: &Owner, email: &str, role: &str) -> Owner {
        let member = self.register(email, &format!("{email}'s own")).await;
        let invitation = self.invite(owner, email, role).await;
        assert_eq!(invitation.status(), StatusCode::CREATED);
        let invitation: Value = invitation.json().await.unwrap();
        let accepted = self
            .api
            .post(self.url(&format!(
                "/api/v1/invitations/{}/accept",
                invitation["id"].as_str().unwrap()
            )))
            .bearer_auth(&member.token)
            .send()
            .await
            .unwrap();
        assert_eq!(accepted.status(), StatusCode::OK);
        member
    }

    /// `owner` invites `email` into their organization.
    pub async fn invite(&self, owner: &Owner, email: &str, role: &str) -> Response {
        self.api
            .post(self.url(&format!(
                "/api/v1/organizations/{}/invitations",
                owner.organization_id
            )))
            .bearer_auth(&owner.token)
            .json(&json!({"email": email, "role": role}))
            .send()
            .await
            .unwrap()
    }

    /// The body of `create_key`'s answer, which must be a `201`.
    pub async fn created_key(&self, token: &str, body: Value) -> Value {
        let response = self.create_key(token, body).await;
        assert_eq!(response.status(), StatusCode::CREATED);
        response.json().await.unwrap()
    }

    pub async fn create_key(&self, token: &str, body: Value) -> Response {
        self.api
            .post(self.url("/api/v1/licensing/keys"))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// A new key named `name` for `token`'s organization: its id and the key itself.
    pub async fn new_key(&self, token: &str, name: &str) -> (String, String) {
        let created: Value = self
            .create_key(token, json!({"instanceName": name}))
            .await
            .json()
            .await
            .unwrap();
        (
            created["id"].as_str().unwrap().to_string(),
            created["licenseKey"].as_str().unwrap().to_string(),
        )
    }

    /// `POST /licensing/validate` as an instance sends it: no token.
    pub async fn validate(&self, body: Value) -> Response {
        self.api
            .post(self.url("/api/v1/licensing/validate"))
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// The published keys of `/.well-known/jwks.json` (which must answer `200`).
    pub async fn jwks(&self) -> Vec<Value> {
        let response = self
            .api
            .get(self.url("/.well-known/jwks.json"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let jwks: Value = response.json().await.unwrap();
        jwks["keys"].as_array().unwrap().clone()
    }

    pub async fn list_keys(&self, token: &str) -> Response {
        self.api
            .get(self.url("/api/v1/licensing/keys"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// Another organization owned by `token`'s holder; its id.
    pub async fn create_organization(&self, token: &str, name: &str) -> String {
        let created: Value = self
            .api
            .post(self.url("/api/v1/organizations"))
            .bearer_auth(token)
            .json(&json!({ "name": name }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        created["id"].as_str().unwrap().to_string()
    }

    /// A further API token for an existing account.
    pub async fn new_token(&self, email: &str, password: &str) -> String {
        let response = self
            .api
            .post(self.url("/api/v1/auth/token"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        body["token"].as_str().unwrap().to_string()
    }

    /// GETs an API path with a token, optionally naming the organization, as JSON.
    pub async fn get_json(&self, path: &str, token: &str, organization: Option<&str>) -> Value {
        let mut request = self.api.get(self.url(path)).bearer_auth(token);
        if let Some(organization) = organization {
            request = request.header("X-Organization", organization);
        }
        request.send().await.unwrap().json().await.unwrap()
    }
}

/// A request the app has not answered by then fails its test, naming it, instead
/// of leaving the suite waiting.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The answer-signing key tests give where none can be generated (PostgreSQL).
pub const TEST_ANSWER_SIGNING_KEY: &str =
    "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The engine the suite runs on: SQLite unless `TEST_DATABASE_URL` names a
/// PostgreSQL server, on which every test gets a database of its own.
pub fn postgres_server() -> Option<String> {
    std::env::var("TEST_DATABASE_URL")
        .ok()
        .filter(|url| url.starts_with("postgres"))
}

pub async fn fresh_database(directory: &Path) -> (String, Option<Vec<u8>>) {
    use sqlx::Connection;
    match postgres_server() {
        Some(server) => {
            let name = format!("storno_test_{}", uuid::Uuid::now_v7().simple());
            let mut admin = sqlx::PgConnection::connect(&server)
                .await
                .expect("TEST_DATABASE_URL must reach PostgreSQL");
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut admin)
                .await
                .unwrap();
            let mut url = reqwest::Url::parse(&server).unwrap();
            url.set_path(&name);
            // PostgreSQL has no file to keep a pepper beside: give one, as a deployment must.
            (url.to_string(), Some(vec![7; 32]))
        }
        None => (
            format!("sqlite://{}", directory.join("licensing.db").display()),
            None,
        ),
    }
}

pub async fn spawn_app_with(customise: impl FnOnce(&mut Settings)) -> TestApp {
    capture_logs();
    let directory = tempfile::tempdir().unwrap();
    let (database_url, pepper) = fresh_database(directory.path()).await;
    let mut settings = Settings {
        database_url: database_url.clone(),
        database_max_connections: None,
        pepper: pepper.map(Into::into),
        public_url: None,
        trusted_proxies: Default::default(),
        token_ttl: Duration::from_secs(30 * 24 * 3600),
        session_idle_timeout: Duration::from_secs(3600),
        session_absolute_timeout: Duration::from_secs(24 * 3600),
        connection_idle_timeout: Duration::from_secs(30),
        audit_retention_days: 400,
        // Suites create many keys at once; the creation rate has its own tests.
        rate_limits: storno_licensing::rate_limit::RateLimitSettings {
            keys_per_organization: 1_000_000,
            ..Default::default()
        },
        licensing: Default::default(),
        stripe: Default::default(),
        mail: MailSettings {
            directory: Some(directory.path().join("mail")),
            ..MailSettings::default()
        },
        leptos: leptos::config::LeptosOptions::builder()
            .output_name("storno-licensing")
            .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .build(),
    };
    if postgres_server().is_some() {
        // No file to keep generated keys beside either.
        settings.licensing.answer_signing_keys = Some(TEST_ANSWER_SIGNING_KEY.into());
    }
    customise(&mut settings);
    let application = Application::build(settings).await.expect("the app starts");
    let address = application.local_url();
    tokio::spawn(application.run_until_stopped());
    let client = || {
        Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .cookie_store(true)
            .default_headers(browser_headers())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap()
    };
    TestApp {
        address,
        database_url,
        browser: client(),
        api: Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(REQUEST_TIMEOUT)
            .build()
            .unwrap(),
        _directory: directory,
    }
}

/// The actions of a page of audit events, newest first.
pub fn actions(page: &Value) -> Vec<String> {
    page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["action"].as_str().unwrap().to_string())
        .collect()
}

/// The user id of `email` in a `{"members": [...]}` answer.
pub fn user_id_in(members: &Value, email: &str) -> String {
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|member| member["email"] == email)
        .unwrap()["userId"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Sends `request`; its answer's body as text.
pub async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Asserts the contract's error shape and returns the body.
pub async fn assert_error(response: Response, status: StatusCode, code: &str) -> Value {
    let seen = response.status();
    assert_json(response.headers());
    let body: Value = response.json().await.unwrap();
    assert_eq!(seen, status, "status of {body}");
    assert_eq!(body["code"], code, "code in {body}");
    assert!(
        body["error"].as_str().is_some_and(|m| !m.is_empty()),
        "error message in {body}"
    );
    body
}

pub fn assert_json(headers: &HeaderMap) {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok());
    assert_eq!(content_type, Some("application/json"));
}

pub fn is_lower_hex(text: &str, len: usize) -> bool {
    text.len() == len
        && text
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// `2026-02-20T10:30:00+00:00`
pub fn is_contract_timestamp(text: &str) -> bool {
    let bytes = text.as_bytes();
    text.len() == 25
        && text.ends_with("+00:00")
        && bytes[10] == b'T'
        && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}
