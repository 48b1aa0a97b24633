//! Browser sessions, in the `browser_sessions` table beside the users they belong
//! to: a page reads a session and its user in one query (`session_overview`).
//! A session rests under `HMAC(pepper, id)` where the browser holds `id`, so a copy
//! of the table opens no session.

use super::{joined_memberships, AccountsService, JoinedMembershipRow};
use crate::accounts::authorization::{Membership, User};
use crate::clock;
use crate::error::AppError;
use crate::parse::stored_id;
use crate::secrets::Pepper;
use serde_json::Value;
use sqlx::AnyPool;
use std::collections::HashMap;
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

/// How long browser sessions last: `idle_timeout` after their last use, at most
/// `absolute_timeout` after sign-in; and whether their cookies need HTTPS.
#[derive(Clone, Debug)]
pub(crate) struct SessionPolicy {
    pub(crate) idle_timeout: std::time::Duration,
    pub(crate) absolute_timeout: std::time::Duration,
    pub(crate) secure_cookies: bool,
}

/// The session value that names the signed-in user; the table keeps a copy in a
/// column of its own, for the join.
pub(crate) const USER_ID: &str = "user_id";

/// A session's values.
pub(crate) type SessionValues = HashMap<String, Value>;

/// What a page shows of whoever is signed in.
pub(crate) struct UserOverview {
    pub(crate) user: User,
    pub(crate) memberships: Vec<Membership>,
    pub(crate) pending_invitations: usize,
}

/// A session with its signed-in user, as one query read them.
pub(crate) struct SessionOverview {
    pub(crate) values: SessionValues,
    /// When the session ends unless it is used (Unix seconds).
    pub(crate) expires_at: i64,
    pub(crate) user: UserOverview,
}

/// tower-sessions' store over `browser_sessions`.
#[derive(Clone, Debug)]
pub(crate) struct SessionTable {
    pool: AnyPool,
    pepper: Pepper,
}

/// The row that stands for the browser's session `id`.
pub(super) fn row_id(pepper: &Pepper, id: &Id) -> String {
    pepper.digest("session-id", &id.to_string())
}

impl SessionTable {
    async fn insert(&self, record: &Record) -> Result<bool, sqlx::Error> {
        let inserted = self.write(record, "ON CONFLICT (id) DO NOTHING").await?;
        Ok(inserted == 1)
    }

    /// Writes `record`'s row; `on_conflict` says what an existing row with its id gets.
    async fn write(&self, record: &Record, on_conflict: &str) -> Result<u64, sqlx::Error> {
        let user_id = record.data.get(USER_ID).and_then(Value::as_str);
        let data =
            serde_json::to_string(&record.data).map_err(|e| sqlx::Error::Encode(e.into()))?;
        let done = sqlx::query(&format!(
            "INSERT INTO browser_sessions (id, user_id, data, expires_at) \
             VALUES ($1, $2, $3, $4) {on_conflict}"
        ))
        .bind(row_id(&self.pepper, &record.id)) // $1
        .bind(user_id) // $2
        .bind(data) // $3
        .bind(record.expiry_date.unix_timestamp()) // $4
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }
}

fn backend(error: sqlx::Error) -> session_store::Error {
    session_store::Error::Backend(error.to_string())
}

#[async_trait::async_trait]
impl SessionStore for SessionTable {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A random 128-bit id is taken already only in theory; then draw again.
        while !self.insert(record).await.map_err(backend)? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        self.write(
            record,
            "ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, \
             data = excluded.data, expires_at = excluded.expires_at",
        )
        .await
        .map(drop)
        .map_err(backend)
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "SELECT data, expires_at FROM browser_sessions WHERE id = $1 AND expires_at > $2",
        )
        .bind(row_id(&self.pepper, id)) // $1
        .bind(clock::now()) // $2
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        let Some((data, expires_at)) = row else {
            return Ok(None);
        };
        let undecodable = |e: &dyn std::fmt::Display| session_store::Error::Decode(e.to_string());
        Ok(Some(Record {
            id: *id,
            data: serde_json::from_str(&data).map_err(|e| undecodable(&e))?,
            expiry_date: OffsetDateTime::from_unix_timestamp(expires_at)
                .map_err(|e| undecodable(&e))?,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        sqlx::query("DELETE FROM browser_sessions WHERE id = $1")
            .bind(row_id(&self.pepper, id))
            .execute(&self.pool)
            .await
            .map(drop)
            .map_err(backend)
    }
}

/// A session's row with its user, one of their memberships and how many
/// invitations wait for them.
#[derive(sqlx::FromRow)]
struct SessionMembershipRow {
    data: String,
    expires_at: i64,
    user_id: String,
    email: String,
    pending_invitations: i64,
    #[sqlx(flatten)]
    membership: JoinedMembershipRow,
}

impl AccountsService {
    /// The store the session layer keeps browser sessions in.
    pub(crate) fn session_table(&self) -> SessionTable {
        SessionTable {
            pool: self.pool.clone(),
            pepper: self.pepper.clone(),
        }
    }

    /// The unexpired session `id` with its signed-in user, their organizations (in
    /// joining order) and how many invitations wait for them, in one query; `None`
    /// for an unknown or ended session, or one nobody signed in to.
    pub(crate) async fn session_overview(
        &self,
        id: &Id,
    ) -> Result<Option<SessionOverview>, AppError> {
        let rows: Vec<SessionMembershipRow> = sqlx::query_as(
            "SELECT s.data, s.expires_at, s.user_id, u.email, \
             o.id AS organization_id, o.name, m.role, o.plan, \
             CASE WHEN u.email_verified_at IS NULL THEN 0 ELSE \
             (SELECT COUNT(*) FROM invitations i \
              WHERE i.email = u.email AND i.expires_at > $2) END AS pending_invitations \
             FROM browser_sessions s \
             JOIN users u ON u.id = s.user_id \
             LEFT JOIN memberships m ON m.user_id = u.id \
             LEFT JOIN organizations o ON o.id = m.organization_id \
             WHERE s.id = $1 AND s.expires_at > $2 ORDER BY m.id",
        )
        .bind(row_id(&self.pepper, id)) // $1
        .bind(clock::now()) // $2
        .fetch_all(&self.pool)
        .await?;
        let Some(first) = rows.first() else {
            return Ok(None);
        };
        let values: SessionValues = serde_json::from_str(&first.data)
            .map_err(|e| AppError::Internal(format!("a stored session's values: {e}")))?;
        let expires_at = first.expires_at;
        let user = User {
            id: stored_id(&first.user_id)?,
            email: first.email.clone(),
        };
        let pending_invitations = first.pending_invitations as usize;
        let memberships = joined_memberships(user.id, rows.into_iter().map(|row| row.membership))?;
        Ok(Some(SessionOverview {
            values,
            expires_at,
            user: UserOverview {
                user,
                memberships,
                pending_invitations,
            },
        }))
    }

    /// Deletes the sessions that ended.
    pub(crate) async fn erase_expired_sessions(&self) -> Result<u64, AppError> {
        let erased = sqlx::query("DELETE FROM browser_sessions WHERE expires_at <= $1")
            .bind(clock::now())
            .execute(&self.pool)
            .await?;
        Ok(erased.rows_affected())
    }
}
