//! Users, passwords, API tokens, organizations and memberships. The only code that
//! reads or writes those tables.

use crate::accounts::authorization::{default_membership, Membership, MembershipRow, User};
use crate::accounts::device;
use crate::accounts::domain::{Email, OrganizationName, Password, Role};
use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::db::{begin_write, WriteQueue};
use crate::error::AppError;
use crate::mail::Mail;
use crate::parse::{stored_id, ResultExt};
use crate::rate_limit::{RateLimits, SignInAttempt};
use crate::request_meta::RequestMeta;
use crate::secrets::Pepper;
use sqlx::AnyPool;
use std::sync::Arc;
use std::time::Duration;
use uuid::Uuid;

mod email_identity;
mod members;
pub(crate) mod sessions;
use passwords::{hash_password, verify_password, PasswordHashing};
pub(crate) use tokens::IssuedToken;
mod passwords;
mod tokens;
use sessions::SessionPolicy;

const TOKEN_PURPOSE: &str = "api-token";
/// Bearer tokens carry a prefix so that a leaked one is easy to recognise in a scan.
const TOKEN_PREFIX: &str = "stl_";

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    id: String,
    email: String,
    password_hash: String,
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

#[derive(Clone)]
pub(crate) struct AccountsService {
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
pub(crate) struct AccountsConfig<'a> {
    pub(crate) pepper: Pepper,
    pub(crate) token_ttl: Duration,
    pub(crate) limits: RateLimits,
    pub(crate) default_plan: &'a str,
    pub(crate) mail: Mail,
    pub(crate) sessions: SessionPolicy,
}

impl AccountsService {
    pub(crate) fn new(pool: AnyPool, writes: WriteQueue, config: AccountsConfig<'_>) -> Self {
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
    pub(crate) fn session_policy(&self) -> &SessionPolicy {
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
    pub(crate) async fn register_with_token(
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
    pub(crate) async fn sign_in_with_token(
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
    pub(crate) async fn register_and_sign_in(
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
    pub(crate) async fn sign_in(
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
    pub(crate) async fn memberships(&self, user: &User) -> Result<Vec<Membership>, AppError> {
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
    pub(crate) async fn membership(
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

    pub(crate) async fn create_organization(
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
