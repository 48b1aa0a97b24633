//! Users, passwords, API tokens, organizations and memberships. The only code that
//! reads or writes those tables.

use super::device;
use super::domain::{Email, OrganizationName, Password, Role};
use crate::accounts::authorization::{
    default_membership, Membership, MembershipRow, TokenCredential, TokenHolder, User,
};
use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::db::{begin_write, WriteQueue};
use crate::error::AppError;
use crate::mail::Mail;
use crate::parse::{stored_id, ResultExt};
use crate::rate_limit::{RateLimits, SignInAttempt};
use crate::request_meta::RequestMeta;
use crate::secrets::{random_bytes, Pepper};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use sqlx::AnyPool;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;
use uuid::Uuid;

mod email_identity;
mod members;
pub mod sessions;
use sessions::SessionPolicy;

const TOKEN_PURPOSE: &str = "api-token";
/// Bearer tokens carry a prefix so that a leaked one is easy to recognise in a scan.
const TOKEN_PREFIX: &str = "stl_";

/// A bearer token in plain text, returned once to the client that asked for it.
pub struct IssuedToken {
    pub token: String,
    pub expires_at: i64,
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    id: String,
    email: String,
    password_hash: String,
}

#[derive(sqlx::FromRow)]
struct TokenHolderRow {
    token_id: String,
    user_id: String,
    email: String,
}

/// One of a user's memberships from a `LEFT JOIN` (none: all `None`).
#[derive(sqlx::FromRow)]
struct JoinedMembershipRow {
    organization_id: Option<String>,
    name: Option<String>,
    role: Option<String>,
    plan: Option<String>,
}

/// The memberships of `user_id` among `rows` of a `LEFT JOIN`.
fn joined_memberships(
    user_id: Uuid,
    rows: impl IntoIterator<Item = JoinedMembershipRow>,
) -> Result<Vec<Membership>, AppError> {
    rows.into_iter()
        .filter_map(|row| {
            Some(MembershipRow {
                organization_id: row.organization_id?,
                name: row.name?,
                role: row.role?,
                plan: row.plan?,
            })
        })
        .map(|row| Membership::from_row(user_id, row))
        .collect()
}

/// A live token's user with one of their memberships.
#[derive(sqlx::FromRow)]
struct TokenMembershipRow {
    user_id: String,
    #[sqlx(flatten)]
    membership: JoinedMembershipRow,
}

#[derive(Clone)]
pub struct AccountsService {
    pool: AnyPool,
    writes: WriteQueue,
    pepper: Pepper,
    token_ttl: Duration,
    limits: RateLimits,
    hashing: PasswordHashing,
    /// The plan a new organization starts on (`DEFAULT_PLAN`).
    default_plan: Arc<str>,
    mail: Mail,
    sessions: SessionPolicy,
}

/// What the accounts service is built from, beside the database.
pub struct AccountsConfig<'a> {
    pub pepper: Pepper,
    pub token_ttl: Duration,
    pub limits: RateLimits,
    pub default_plan: &'a str,
    pub mail: Mail,
    pub sessions: SessionPolicy,
}

/// Argon2 work, bounded: each hash holds 19 MiB and a core for tens of
/// milliseconds, so at most half the cores (at least one) hash at a time, and the
/// rest keep serving validations. A caller that cannot start within `max_wait`
/// gets `503` with `Retry-After` instead of piling up threads and memory (300
/// parallel sign-ups once took 3.6 GB).
#[derive(Clone)]
struct PasswordHashing {
    permits: Arc<Semaphore>,
    max_wait: Duration,
}

impl PasswordHashing {
    fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordHashing::with_capacity((cores / 2).max(1), Duration::from_secs(3))
    }

    fn with_capacity(permits: usize, max_wait: Duration) -> Self {
        PasswordHashing {
            permits: Arc::new(Semaphore::new(permits)),
            max_wait,
        }
    }

    /// Runs `work` on the blocking pool once a permit is free.
    async fn run<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> Result<T, AppError> + Send + 'static,
    ) -> Result<T, AppError> {
        let permit = tokio::time::timeout(self.max_wait, self.permits.clone().acquire_owned())
            .await
            .map_err(|_| AppError::Busy {
                retry_after_seconds: 1,
            })?
            .map_err(|e| AppError::Internal(format!("password hashing permits: {e}")))?;
        tokio::task::spawn_blocking(move || {
            let result = work();
            drop(permit);
            result
        })
        .await
        .map_err(|e| AppError::Internal(format!("password hashing task: {e}")))?
    }
}

impl AccountsService {
    pub fn new(pool: AnyPool, writes: WriteQueue, config: AccountsConfig<'_>) -> Self {
        AccountsService {
            pool,
            writes,
            pepper: config.pepper,
            token_ttl: config.token_ttl,
            limits: config.limits,
            hashing: PasswordHashing::new(),
            default_plan: config.default_plan.into(),
            mail: config.mail,
            sessions: config.sessions,
        }
    }

    /// How long browser sessions last, and how their cookies are sent.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.sessions
    }

    /// Creates a user, a new organization and the owner membership, all or nothing,
    /// with the email that asks them to verify their address. Sign-ups are rate
    /// limited per client.
    async fn register(
        &self,
        email: Email,
        password: Password,
        organization_name: OrganizationName,
        meta: &RequestMeta,
    ) -> Result<(User, Membership), AppError> {
        self.limits.sign_up(meta.ip.as_deref())?;
        let password_hash = self.hashing.run(move || hash_password(password)).await?;
        let user = User {
            id: Uuid::now_v7(),
            email: email.as_str().to_string(),
        };
        let now = clock::now();
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(user.id.to_string())
        .bind(&user.email)
        .bind(password_hash)
        .bind(now)
        .execute(&mut *tx)
        .await
        .on_unique_violation(AppError::EmailTaken)?;
        let membership = insert_owned_organization(
            &mut tx,
            user.id,
            &organization_name,
            &self.default_plan,
            now,
        )
        .await?;
        self.send_verification(&mut tx, user.id, &user.email, meta)
            .await?;
        tx.commit().await?;
        self.mail.wake();
        tracing::info!(user_id = %user.id, organization_id = %membership.organization_id(), "user registered");
        Ok((user, membership))
    }

    /// Checks an email and password. Unknown emails cost the same hashing work as
    /// known ones, so the answer's timing does not reveal which emails exist.
    /// Attempts are limited per client; failures per account and per trusted
    /// browser (`device_cookie`, when it is this account's).
    async fn authenticate(
        &self,
        email: &str,
        password: &str,
        device_cookie: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<User, AppError> {
        let attempt = SignInAttempt {
            ip: meta.ip.as_deref(),
            email,
            device: device_cookie.and_then(|value| device::trusted_for(&self.pepper, email, value)),
        };
        self.limits.sign_in_allowed(attempt)?;
        let user = self.check_credentials(email, password).await;
        if matches!(user, Err(AppError::InvalidCredentials)) {
            self.limits.sign_in_failed(attempt);
        }
        user
    }

    async fn check_credentials(&self, email: &str, password: &str) -> Result<User, AppError> {
        // Sign-up's bound, on both doors: no unbounded input reaches the hasher.
        if password.chars().count() > Password::MAX_CHARS {
            return Err(AppError::InvalidCredentials);
        }
        let row: Option<CredentialsRow> = match Email::parse(email) {
            Ok(email) => {
                sqlx::query_as("SELECT id, email, password_hash FROM users WHERE email = $1")
                    .bind(email.as_str())
                    .fetch_optional(&self.pool)
                    .await?
            }
            Err(_) => None,
        };
        let stored_hash = row.as_ref().map(|row| row.password_hash.clone());
        let password = password.to_string();
        let matches = self
            .hashing
            .run(move || verify_password(password, stored_hash))
            .await?;
        match row {
            Some(row) if matches => Ok(User {
                id: stored_id(&row.id)?,
                email: row.email,
            }),
            _ => Err(AppError::InvalidCredentials),
        }
    }

    /// Sign-up through the API: the account, its organization and a first token.
    pub async fn register_with_token(
        &self,
        email: Email,
        password: Password,
        organization_name: OrganizationName,
        meta: &RequestMeta,
    ) -> Result<(User, Membership, IssuedToken), AppError> {
        let (user, membership) = self
            .register(email, password, organization_name, meta)
            .await?;
        let token = self.issue_token(&user, meta).await?;
        Ok((user, membership, token))
    }

    /// Sign-in through the API: a new token for the right email and password.
    pub async fn sign_in_with_token(
        &self,
        email: &str,
        password: &str,
        meta: &RequestMeta,
    ) -> Result<IssuedToken, AppError> {
        let user = self.authenticate(email, password, None, meta).await?;
        self.issue_token(&user, meta).await
    }

    /// Sign-up through the page: the account and its organization, and the
    /// sign-in it starts recorded as the person's own event.
    pub async fn register_and_sign_in(
        &self,
        email: Email,
        password: Password,
        organization_name: OrganizationName,
        meta: &RequestMeta,
    ) -> Result<(User, Membership), AppError> {
        let (user, membership) = self
            .register(email, password, organization_name, meta)
            .await?;
        self.record_sign_in(&user, meta).await?;
        Ok((user, membership))
    }

    /// Sign-in through the page: the user for the right email and password, the
    /// sign-in recorded as their own event, and the browser's new device cookie.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        device_cookie: Option<&str>,
        meta: &RequestMeta,
    ) -> Result<(User, String), AppError> {
        let user = self
            .authenticate(email, password, device_cookie, meta)
            .await?;
        self.record_sign_in(&user, meta).await?;
        let device = device::issue(&self.pepper, &user.email);
        Ok((user, device))
    }

    async fn issue_token(&self, user: &User, meta: &RequestMeta) -> Result<IssuedToken, AppError> {
        let token = format!("{TOKEN_PREFIX}{}", hex::encode(random_bytes::<32>()));
        let now = clock::now();
        let expires_at = now + self.token_ttl.as_secs() as i64;
        let token_id = Uuid::now_v7();
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, token_hash, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(token_id.to_string())
        .bind(user.id.to_string())
        .bind(self.pepper.digest(TOKEN_PURPOSE, &token))
        .bind(now)
        .bind(expires_at)
        .execute(&mut *tx)
        .await?;
        record(
            &mut tx,
            user_event(user.id, "token.created", token_id),
            meta,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, "api token issued");
        Ok(IssuedToken { token, expires_at })
    }

    pub fn token_credential(&self, token: &str, requested: Option<Uuid>) -> TokenCredential {
        TokenCredential {
            token_hash: self.pepper.digest(TOKEN_PURPOSE, token),
            requested,
        }
    }

    /// The holder of a live (known, unrevoked, unexpired) token.
    pub async fn token_holder(&self, token: &str) -> Result<TokenHolder, AppError> {
        let row: Option<TokenHolderRow> = sqlx::query_as(
            "SELECT t.id AS token_id, u.id AS user_id, u.email \
             FROM api_tokens t JOIN users u ON u.id = t.user_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2",
        )
        .bind(self.pepper.digest(TOKEN_PURPOSE, token))
        .bind(clock::now())
        .fetch_optional(&self.pool)
        .await?;
        let row = row.ok_or(AppError::Unauthorized)?;
        Ok(TokenHolder {
            token_id: stored_id(&row.token_id)?,
            user: User {
                id: stored_id(&row.user_id)?,
                email: row.email,
            },
        })
    }

    pub async fn revoke_token(
        &self,
        holder: &TokenHolder,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(clock::now())
            .bind(holder.token_id.to_string())
            .execute(&mut *tx)
            .await?;
        record(
            &mut tx,
            user_event(holder.user.id, "token.revoked", holder.token_id),
            meta,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(user_id = %holder.user.id, token_id = %holder.token_id, "api token revoked");
        Ok(())
    }

    /// Records a browser sign-in in the audit log.
    async fn record_sign_in(&self, user: &User, meta: &RequestMeta) -> Result<(), AppError> {
        let mut connection = self.pool.acquire().await?;
        record(
            &mut connection,
            user_event(user.id, "user.signed_in", user.id),
            meta,
        )
        .await
    }

    /// Every organization the user belongs to, in the order they joined them.
    pub async fn memberships(&self, user: &User) -> Result<Vec<Membership>, AppError> {
        let rows: Vec<MembershipRow> = sqlx::query_as(
            "SELECT o.id AS organization_id, o.name, m.role, o.plan \
             FROM memberships m JOIN organizations o ON o.id = m.organization_id \
             WHERE m.user_id = $1 ORDER BY m.id",
        )
        .bind(user.id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| Membership::from_row(user.id, row))
            .collect()
    }

    /// The organization a request acts on: the one asked for, which must be one of
    /// the user's (else 404, so its existence is not revealed), or the default: the
    /// one they own if they own exactly one, otherwise the one they joined first.
    pub async fn membership(
        &self,
        user: &User,
        requested: Option<Uuid>,
    ) -> Result<Membership, AppError> {
        if let Some(organization_id) = requested {
            let row: Option<MembershipRow> = sqlx::query_as(
                "SELECT o.id AS organization_id, o.name, m.role, o.plan \
                 FROM memberships m JOIN organizations o ON o.id = m.organization_id \
                 WHERE m.user_id = $1 AND m.organization_id = $2",
            )
            .bind(user.id.to_string())
            .bind(organization_id.to_string())
            .fetch_optional(&self.pool)
            .await?;
            let row = row.ok_or(AppError::OrganizationNotFound)?;
            return Membership::from_row(user.id, row);
        }
        default_membership(&self.memberships(user).await?)
    }

    /// The holder of a live token acting in an organization (as `membership`
    /// chooses it), in one query: every API call that acts on an organization
    /// starts here.
    pub async fn token_member(&self, credential: &TokenCredential) -> Result<Membership, AppError> {
        let rows: Vec<TokenMembershipRow> = sqlx::query_as(
            "SELECT t.user_id, o.id AS organization_id, o.name, m.role, o.plan \
             FROM api_tokens t \
             LEFT JOIN memberships m ON m.user_id = t.user_id \
             LEFT JOIN organizations o ON o.id = m.organization_id \
             WHERE t.token_hash = $1 AND t.revoked_at IS NULL AND t.expires_at > $2 \
             ORDER BY m.id",
        )
        .bind(&credential.token_hash)
        .bind(clock::now())
        .fetch_all(&self.pool)
        .await?;
        let user_id = match rows.first() {
            Some(row) => stored_id(&row.user_id)?,
            None => return Err(AppError::Unauthorized),
        };
        let memberships = joined_memberships(user_id, rows.into_iter().map(|row| row.membership))?;
        match credential.requested {
            Some(id) => memberships
                .into_iter()
                .find(|m| m.organization_id() == id)
                .ok_or(AppError::OrganizationNotFound),
            None => default_membership(&memberships),
        }
    }

    pub async fn create_organization(
        &self,
        user: &User,
        name: OrganizationName,
    ) -> Result<Membership, AppError> {
        self.limits.organization_created(&user.id.to_string())?;
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let membership =
            insert_owned_organization(&mut tx, user.id, &name, &self.default_plan, clock::now())
                .await?;
        tx.commit().await?;
        tracing::info!(user_id = %user.id, organization_id = %membership.organization_id(), "organization created");
        Ok(membership)
    }
}

fn user_event(user: Uuid, action: &'static str, target: Uuid) -> AuditEvent {
    AuditEvent {
        organization: None,
        actor: Some(user),
        action,
        target: Some(target.to_string()),
        details: None,
    }
}

async fn insert_owned_organization(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    owner: Uuid,
    name: &OrganizationName,
    plan: &str,
    now: i64,
) -> Result<Membership, AppError> {
    let organization_id = Uuid::now_v7();
    sqlx::query("INSERT INTO organizations (id, name, plan, created_at) VALUES ($1, $2, $3, $4)")
        .bind(organization_id.to_string())
        .bind(name.as_str())
        .bind(plan)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO memberships (id, organization_id, user_id, role, created_at) \
         VALUES ($1, $2, $3, 'owner', $4)",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(organization_id.to_string())
    .bind(owner.to_string())
    .bind(now)
    .execute(&mut **tx)
    .await?;
    let row = MembershipRow {
        organization_id: organization_id.to_string(),
        name: name.as_str().to_string(),
        role: Role::Owner.as_str().to_string(),
        plan: plan.to_string(),
    };
    Membership::from_row(owner, row)
}

/// Argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

fn hash_password(password: Password) -> Result<String, AppError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

/// Without a stored hash (unknown email) the password is checked against a dummy
/// hash, and the answer is always "no".
fn verify_password(password: String, stored_hash: Option<String>) -> Result<bool, AppError> {
    let known = stored_hash.is_some();
    let stored_hash = stored_hash.unwrap_or_else(|| dummy_password_hash().to_string());
    let parsed = PasswordHash::new(&stored_hash)
        .map_err(|e| AppError::Internal(format!("stored password hash: {e}")))?;
    Ok(argon2()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
        && known)
}

/// A real hash of a random password, verified against when the email is unknown.
fn dummy_password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| {
        let salt = SaltString::encode_b64(&random_bytes::<16>()).expect("16 bytes is a valid salt");
        argon2()
            .hash_password(&random_bytes::<32>(), &salt)
            .expect("hashing a random password succeeds")
            .to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn password_hashing_runs_a_bounded_number_of_jobs_and_refuses_after_a_short_wait() {
        let hashing = PasswordHashing::with_capacity(1, Duration::from_millis(50));
        let (started, wait_started) = tokio::sync::oneshot::channel();
        let busy = hashing.clone();
        let long_job = tokio::spawn(async move {
            busy.run(move || {
                started.send(()).unwrap();
                std::thread::sleep(Duration::from_millis(600));
                Ok(1)
            })
            .await
        });
        wait_started.await.unwrap();
        match hashing.run(|| Ok(2)).await {
            Err(AppError::Busy {
                retry_after_seconds,
            }) => assert!(retry_after_seconds >= 1),
            other => panic!("expected Busy while the only permit is taken, got {other:?}"),
        }
        assert_eq!(long_job.await.unwrap().unwrap(), 1);
        assert_eq!(
            hashing.run(|| Ok(3)).await.unwrap(),
            3,
            "the permit came back"
        );
    }
}
