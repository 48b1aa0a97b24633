//! Typed settings, read once from the environment at start-up.

use crate::client_ip::TrustedProxies;
use crate::rate_limit::RateLimitSettings;
use leptos::config::LeptosOptions;
use secrecy::{SecretSlice, SecretString};
use std::path::PathBuf;
use std::time::Duration;

mod stripe;
pub use stripe::StripeSettings;

pub(crate) const DEFAULT_DATABASE_URL: &str = "sqlite://data/storno-licensing.db";

#[derive(Clone, Debug)]
pub struct Settings {
    /// `sqlite://...` (the default, a file under `./data/`) or `postgres://...`.
    pub database_url: String,
    /// `DATABASE_MAX_CONNECTIONS`: the most connections this instance keeps to the
    /// database for requests (its session store keeps up to half as many more).
    /// `None`: 16 on PostgreSQL, 8 on SQLite.
    pub database_max_connections: Option<u32>,
    /// `LICENSING_KEY_PEPPER`; when unset with SQLite, a pepper is kept beside the
    /// database file.
    pub pepper: Option<SecretSlice<u8>>,
    /// `STORNO_PUBLIC_URL`, e.g. `https://licensing.example.com`: the origin browsers
    /// use. It makes session cookies `Secure` when it is https. When unset, the
    /// request's own `Host` is the trusted origin.
    pub public_url: Option<String>,
    /// `TRUSTED_PROXIES`: the load balancers whose `X-Forwarded-For` names the client.
    pub trusted_proxies: TrustedProxies,
    pub token_ttl: Duration,
    pub session_idle_timeout: Duration,
    /// A browser session ends this long after sign-in, however active.
    pub session_absolute_timeout: Duration,
    /// `CONNECTION_IDLE_TIMEOUT_SECONDS`: a connection that does not finish a
    /// request's headers in this time, or stays idle this long, is dropped.
    pub connection_idle_timeout: Duration,
    /// `AUDIT_RETENTION_DAYS`: how long activity events are kept.
    pub audit_retention_days: u32,
    pub rate_limits: RateLimitSettings,
    pub licensing: LicensingSettings,
    pub mail: MailSettings,
    pub stripe: StripeSettings,
    pub leptos: LeptosOptions,
}

/// How long activity events are kept, unless `AUDIT_RETENTION_DAYS` says otherwise.
pub(crate) const DEFAULT_AUDIT_RETENTION_DAYS: u32 = 400;

/// How long a connection may take to send a request's headers, or stay idle.
pub(crate) const DEFAULT_CONNECTION_IDLE_SECONDS: u64 = 30;

/// How emails leave: `SMTP_URL`, or `.eml` files when it is unset.
#[derive(Clone, Debug)]
pub struct MailSettings {
    /// `SMTP_URL`: `smtp://host:port` (STARTTLS when offered), `smtps://host:port`
    /// (TLS), `user:password@` optional. Unset: files.
    pub smtp_url: Option<SecretString>,
    /// `MAIL_FROM`, e.g. `Storno Licensing <licensing@example.com>`.
    pub from: String,
    /// `MAIL_DIR`: where emails are written without `SMTP_URL`; unset, `mail/` beside
    /// the SQLite database (or in the working directory, on PostgreSQL).
    pub directory: Option<PathBuf>,
}

impl Default for MailSettings {
    fn default() -> Self {
        MailSettings {
            smtp_url: None,
            from: "Storno Licensing <licensing@localhost>".into(),
            directory: None,
        }
    }
}

impl MailSettings {
    fn from_env() -> Self {
        MailSettings {
            smtp_url: non_empty_env("SMTP_URL").map(SecretString::from),
            from: env_or("MAIL_FROM", &MailSettings::default().from),
            directory: non_empty_env("MAIL_DIR").map(PathBuf::from),
        }
    }
}

/// Plans, billing and offline licenses: what instances and owners are told.
#[derive(Clone, Debug)]
pub struct LicensingSettings {
    /// `DEFAULT_PLAN`: the plan of a new organization (`community`, as upstream).
    pub default_plan: String,
    /// `BILLING_URL`: validate's `billingUrl`; unset, this server's `/settings/billing`.
    pub billing_url: Option<String>,
    /// `BILLING_UPGRADE_TEXT` and `BILLING_UPGRADE_URL`: how an owner upgrades,
    /// shown on the billing page.
    pub upgrade_text: Option<String>,
    pub upgrade_url: Option<String>,
    /// `LICENSE_JWT_PRIVATE_KEY_FILE`: the RSA private key (PEM) that signs offline
    /// licenses. Unset: offline licenses are disabled.
    pub jwt_private_key_file: Option<PathBuf>,
    /// `LICENSE_JWT_ISSUER`: the tokens' `iss` (`storno.ro`, as upstream).
    pub jwt_issuer: String,
    /// `ANSWER_SIGNING_KEYS`: the Ed25519 private keys (hex, oldest first) that sign
    /// validate's answers. Unset with SQLite, they are kept beside the database.
    pub answer_signing_keys: Option<SecretString>,
    /// `VALIDATION_GRACE_DAYS` (7, the deployed client's cache): how long an instance
    /// may keep working offline on a valid answer (its `graceUntil`).
    pub offline_grace_seconds: i64,
    /// `OVERDUE_GRACE_HOURS` (24): a key is overdue when it has not validated for
    /// twice its plan's sync interval plus this.
    pub overdue_grace_seconds: i64,
}

impl Default for LicensingSettings {
    fn default() -> Self {
        LicensingSettings {
            default_plan: "community".into(),
            billing_url: None,
            upgrade_text: None,
            upgrade_url: None,
            jwt_private_key_file: None,
            jwt_issuer: "storno.ro".into(),
            answer_signing_keys: None,
            offline_grace_seconds: 7 * 86_400,
            overdue_grace_seconds: 24 * 3600,
        }
    }
}

impl LicensingSettings {
    fn from_env() -> Result<Self, String> {
        let defaults = LicensingSettings::default();
        Ok(LicensingSettings {
            default_plan: env_or("DEFAULT_PLAN", &defaults.default_plan),
            billing_url: non_empty_env("BILLING_URL"),
            upgrade_text: non_empty_env("BILLING_UPGRADE_TEXT"),
            upgrade_url: non_empty_env("BILLING_UPGRADE_URL"),
            jwt_private_key_file: non_empty_env("LICENSE_JWT_PRIVATE_KEY_FILE").map(PathBuf::from),
            jwt_issuer: env_or("LICENSE_JWT_ISSUER", &defaults.jwt_issuer),
            answer_signing_keys: non_empty_env("ANSWER_SIGNING_KEYS").map(SecretString::from),
            offline_grace_seconds: 86_400 * parse_env("VALIDATION_GRACE_DAYS", 7)? as i64,
            overdue_grace_seconds: 3600 * parse_env("OVERDUE_GRACE_HOURS", 24)? as i64,
        })
    }
}

impl Settings {
    pub(crate) fn from_env() -> Result<Self, String> {
        let mut leptos = leptos::config::get_configuration(None)
            .map_err(|e| format!("leptos configuration: {e}"))?
            .leptos_options;
        if leptos.output_name.is_empty() {
            // Outside cargo-leptos (tests, a bare `cargo run`) the name is not baked in.
            leptos.output_name = env!("CARGO_PKG_NAME").into();
        }
        let pepper = match std::env::var("LICENSING_KEY_PEPPER") {
            Ok(value) if !value.trim().is_empty() => Some(decode_pepper(value.trim()).into()),
            _ => None,
        };
        Ok(Settings {
            database_url: env_or("DATABASE_URL", DEFAULT_DATABASE_URL),
            database_max_connections: parse_max_connections(
                std::env::var("DATABASE_MAX_CONNECTIONS").ok().as_deref(),
            )?,
            pepper,
            public_url: std::env::var("STORNO_PUBLIC_URL")
                .ok()
                .map(|url| url.trim_end_matches('/').to_string())
                .filter(|url| !url.is_empty()),
            trusted_proxies: TrustedProxies::parse(
                &std::env::var("TRUSTED_PROXIES").unwrap_or_default(),
            )?,
            token_ttl: Duration::from_secs(60 * 60 * 24 * parse_env("TOKEN_TTL_DAYS", 30)?),
            session_idle_timeout: Duration::from_secs(
                60 * parse_env("SESSION_IDLE_TIMEOUT_MINUTES", 12 * 60)?,
            ),
            session_absolute_timeout: Duration::from_secs(
                3600 * parse_env("SESSION_ABSOLUTE_TIMEOUT_HOURS", 7 * 24)?,
            ),
            connection_idle_timeout: connection_idle_timeout()?,
            audit_retention_days: audit_retention_days()?,
            rate_limits: RateLimitSettings {
                validate_per_key: parse_env("RATE_LIMIT_VALIDATE_PER_KEY", 30)? as u32,
                validate_per_ip: parse_env("RATE_LIMIT_VALIDATE_PER_IP", 600)? as u32,
                sign_in_per_ip: parse_env("RATE_LIMIT_SIGN_IN_PER_IP", 30)? as u32,
                sign_in_per_account: parse_env("RATE_LIMIT_SIGN_IN_PER_ACCOUNT", 10)? as u32,
                sign_in_per_account_total: parse_env("RATE_LIMIT_SIGN_IN_PER_ACCOUNT_TOTAL", 100)?
                    as u32,
                sign_up_per_ip: parse_env("RATE_LIMIT_SIGN_UP_PER_IP", 10)? as u32,
                password_reset_per_ip: parse_env("RATE_LIMIT_PASSWORD_RESET_PER_IP", 10)? as u32,
                emails_per_address: parse_env("RATE_LIMIT_EMAILS_PER_ADDRESS", 5)? as u32,
                organizations_per_account: parse_env("RATE_LIMIT_ORGANIZATIONS_PER_ACCOUNT", 10)?
                    as u32,
                invitations_per_organization: parse_env(
                    "RATE_LIMIT_INVITATIONS_PER_ORGANIZATION",
                    30,
                )? as u32,
                keys_per_organization: parse_env("RATE_LIMIT_KEYS_PER_ORGANIZATION", 120)? as u32,
            },
            licensing: LicensingSettings::from_env()?,
            mail: MailSettings::from_env(),
            stripe: StripeSettings::from_env()?,
            leptos,
        })
    }

    /// Where owners upgrade, as these settings say.
    pub(crate) fn billing_link(&self) -> BillingLink {
        BillingLink {
            configured: self.licensing.billing_url.clone(),
            public_url: self.public_url.clone(),
        }
    }

    pub(crate) fn served_over_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|url| url.starts_with("https://"))
    }
}

/// Where an owner upgrades (validate's `billingUrl`): `BILLING_URL`, else this
/// server's own billing page at the public origin, or at the `Host` the request
/// was sent to.
#[derive(Clone, Debug, Default)]
pub(crate) struct BillingLink {
    configured: Option<String>,
    public_url: Option<String>,
}

impl BillingLink {
    pub(crate) fn for_host(&self, request_host: Option<&str>) -> String {
        if let Some(url) = &self.configured {
            return url.clone();
        }
        match &self.public_url {
            Some(origin) => format!("{origin}/settings/billing"),
            None => format!(
                "http://{}/settings/billing",
                request_host.unwrap_or("localhost")
            ),
        }
    }
}

/// A pepper given as hex is used as the bytes it spells; anything else as its UTF-8.
fn decode_pepper(value: &str) -> Vec<u8> {
    hex::decode(value).unwrap_or_else(|_| value.as_bytes().to_vec())
}

fn non_empty_env(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .map(|value| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

fn env_or(name: &str, default: &str) -> String {
    non_empty_env(name).unwrap_or_else(|| default.to_string())
}

/// Several instances share one PostgreSQL, whose `max_connections` (100 by default)
/// bounds them all together, so the pool size is a deployment setting.
fn parse_max_connections(value: Option<&str>) -> Result<Option<u32>, String> {
    match value.map(str::trim).filter(|value| !value.is_empty()) {
        None => Ok(None),
        Some(text) => match text.parse::<u32>() {
            Ok(count @ 1..=1000) => Ok(Some(count)),
            _ => Err(format!(
                "DATABASE_MAX_CONNECTIONS must be a whole number from 1 to 1000, got {text:?}"
            )),
        },
    }
}

fn audit_retention_days() -> Result<u32, String> {
    const NAME: &str = "AUDIT_RETENTION_DAYS";
    match parse_env(NAME, DEFAULT_AUDIT_RETENTION_DAYS.into())? {
        days @ 1..=36_500 => Ok(days as u32),
        other => Err(format!("{NAME} must be 1 to 36500 days, got {other}")),
    }
}

fn connection_idle_timeout() -> Result<Duration, String> {
    const NAME: &str = "CONNECTION_IDLE_TIMEOUT_SECONDS";
    match parse_env(NAME, DEFAULT_CONNECTION_IDLE_SECONDS)? {
        seconds @ 1..=60 => Ok(Duration::from_secs(seconds)),
        other => Err(format!("{NAME} must be 1 to 60 seconds, got {other}")),
    }
}

fn parse_env(name: &str, default: u64) -> Result<u64, String> {
    match std::env::var(name) {
        Ok(value) => value
            .trim()
            .parse()
            .map_err(|_| format!("{name} must be a whole number, got {value:?}")),
        Err(_) => Ok(default),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_connections_is_a_whole_number_from_1_to_1000_or_the_engine_default() {
        assert_eq!(parse_max_connections(None), Ok(None));
        assert_eq!(parse_max_connections(Some(" ")), Ok(None));
        assert_eq!(parse_max_connections(Some("1")), Ok(Some(1)));
        assert_eq!(parse_max_connections(Some(" 24 ")), Ok(Some(24)));
        assert_eq!(parse_max_connections(Some("1000")), Ok(Some(1000)));
        for bad in ["0", "1001", "-3", "8.5", "many"] {
            let error = parse_max_connections(Some(bad)).unwrap_err();
            assert!(error.contains("DATABASE_MAX_CONNECTIONS"), "{error}");
        }
    }
}
