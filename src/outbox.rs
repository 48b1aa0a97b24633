//! What must leave the server (emails; webhooks next), kept durably until it has.
//! A message is written in the transaction of the change that causes it, so the
//! change and its message land together or not at all; a background worker per
//! topic delivers it, retrying with backoff for 24 hours. Several instances on one
//! PostgreSQL share the table: a worker claims due messages with `FOR UPDATE SKIP
//! LOCKED`, so each is taken by one instance, and a claim is a lease: a worker that
//! dies (`kill -9`) between claim and acknowledgement leaves a message that falls
//! due again, never one that is lost. Payloads are sealed at rest and erased once
//! delivered.

use crate::clock;
use crate::db::{Engine, WriteQueue};
use crate::error::AppError;
use crate::secrets::{random_bytes, Pepper, Sealer};
use serde_json::Value;
use sqlx::{AnyConnection, AnyPool};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use uuid::Uuid;

/// How long a claim lasts before the message falls due again for any worker.
const LEASE_SECONDS: i64 = 60;
/// How long a message is retried before it is given up on.
pub(crate) const RETRY_FOR_SECONDS: i64 = 24 * 3600;
/// The longest wait between two attempts.
const MAX_BACKOFF_SECONDS: i64 = 300;
/// Delivered and given-up messages are kept this long (their metadata), then erased.
const KEEP_SECONDS: i64 = 30 * 86_400;
/// How often an idle worker looks for due messages (another instance may have
/// written them, or a retry fell due).
const POLL: Duration = Duration::from_secs(1);

/// Delivers the messages of one topic (SMTP for `email`).
#[async_trait::async_trait]
pub(crate) trait Deliver: Send + Sync + 'static {
    /// Delivers `payload`, the message `id`; an error is retried later.
    async fn deliver(&self, id: Uuid, payload: Value) -> Result<(), String>;
}

#[derive(Clone)]
pub(crate) struct Outbox {
    pool: AnyPool,
    writes: WriteQueue,
    engine: Engine,
    sealer: Sealer,
    /// Wakes this instance's workers when it wrote a message.
    written: Arc<Notify>,
}

/// A message a worker claimed.
struct Claimed {
    id: String,
    claim: String,
    payload: String,
    attempts: i64,
    created_at: i64,
}

/// The wait after `attempts` failed attempts: 1 s, then doubling, at most 5 minutes.
pub(crate) fn backoff_seconds(attempts: i64) -> i64 {
    let exponent = attempts.clamp(1, 20) - 1;
    (1i64 << exponent).min(MAX_BACKOFF_SECONDS)
}

impl Outbox {
    pub(crate) fn new(pool: AnyPool, writes: WriteQueue, engine: Engine, pepper: &Pepper) -> Self {
        Outbox {
            pool,
            writes,
            engine,
            sealer: Sealer::new(pepper, "outbox"),
            written: Arc::new(Notify::new()),
        }
    }

    /// Writes a message for `topic` on `connection` (the caller's transaction);
    /// it is delivered once that transaction commits. Call `wake` after the commit.
    pub(crate) async fn enqueue(
        &self,
        connection: &mut AnyConnection,
        topic: &'static str,
        ordering_key: Option<&str>,
        payload: &Value,
    ) -> Result<Uuid, AppError> {
        let id = Uuid::now_v7();
        let sealed = self
            .sealer
            .seal(payload.to_string().as_bytes(), id.as_bytes());
        let now = clock::now();
        sqlx::query(
            "INSERT INTO outbox (id, topic, ordering_key, payload, created_at, next_attempt_at) \
             VALUES ($1, $2, $3, $4, $5, $5)",
        )
        .bind(id.to_string())
        .bind(topic)
        .bind(ordering_key)
        .bind(sealed)
        .bind(now)
        .execute(connection)
        .await?;
        Ok(id)
    }

    /// Tells this instance's workers that a message was committed.
    pub(crate) fn wake(&self) {
        self.written.notify_waiters();
    }

    /// Claims up to `limit` due messages of `topic` for one lease.
    async fn claim(&self, topic: &str, limit: i64) -> Result<Vec<Claimed>, sqlx::Error> {
        let skip_locked = match self.engine {
            Engine::Postgres => "FOR UPDATE SKIP LOCKED",
            Engine::Sqlite => "",
        };
        let now = clock::now();
        let claim = hex::encode(random_bytes::<16>());
        let _turn = self.writes.turn().await;
        let rows: Vec<(String, String, i64, i64)> = sqlx::query_as(&format!(
            "UPDATE outbox SET next_attempt_at = $1, attempts = attempts + 1, claim = $2 \
             WHERE id IN (SELECT id FROM outbox \
                 WHERE topic = $3 AND delivered_at IS NULL AND failed_at IS NULL \
                 AND next_attempt_at <= $4 ORDER BY next_attempt_at, id LIMIT $5 {skip_locked}) \
             RETURNING id, payload, attempts, created_at"
        ))
        .bind(now + LEASE_SECONDS) // $1
        .bind(&claim) // $2
        .bind(topic) // $3
        .bind(now) // $4
        .bind(limit) // $5
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .map(|(id, payload, attempts, created_at)| Claimed {
                id,
                claim: claim.clone(),
                payload,
                attempts,
                created_at,
            })
            .collect())
    }

    /// Marks a claimed message delivered and erases its payload.
    async fn delivered(&self, message: &Claimed) -> Result<(), sqlx::Error> {
        let _turn = self.writes.turn().await;
        sqlx::query(
            "UPDATE outbox SET delivered_at = $1, payload = '', claim = NULL, last_error = NULL \
             WHERE id = $2 AND claim = $3",
        )
        .bind(clock::now())
        .bind(&message.id)
        .bind(&message.claim)
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Schedules a failed message's next attempt, or gives up on it once it has been
    /// retried for 24 hours (its payload erased).
    async fn failed(&self, message: &Claimed, error: &str) -> Result<(), sqlx::Error> {
        let now = clock::now();
        let next = now + backoff_seconds(message.attempts);
        let give_up = next > message.created_at + RETRY_FOR_SECONDS;
        let error: String = error.chars().take(500).collect();
        let _turn = self.writes.turn().await;
        sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1, last_error = $2, claim = NULL, \
             failed_at = CASE WHEN $3 = 1 THEN $4 END, \
             payload = CASE WHEN $3 = 1 THEN '' ELSE payload END \
             WHERE id = $5 AND claim = $6",
        )
        .bind(next) // $1
        .bind(error) // $2
        .bind(i64::from(give_up)) // $3
        .bind(now) // $4
        .bind(&message.id) // $5
        .bind(&message.claim) // $6
        .execute(&self.pool)
        .await
        .map(drop)
    }

    /// Delivers one claimed message and records how it went.
    async fn attempt(&self, topic: &str, deliverer: &dyn Deliver, message: Claimed) {
        let opened = Uuid::parse_str(&message.id).ok().and_then(|id| {
            let payload = self.sealer.open(&message.payload, id.as_bytes())?;
            Some((id, serde_json::from_slice::<Value>(&payload).ok()?))
        });
        let outcome = match opened {
            Some((id, payload)) => deliverer.deliver(id, payload).await,
            None => Err("the payload could not be opened (sealed under another pepper?)".into()),
        };
        let recorded = match &outcome {
            Ok(()) => self.delivered(&message).await,
            Err(error) => {
                tracing::warn!(topic, id = %message.id, attempts = message.attempts, %error, "delivery failed; will retry");
                self.failed(&message, error).await
            }
        };
        if let Err(error) = recorded {
            tracing::warn!(topic, id = %message.id, %error, "could not record a delivery attempt");
        }
    }

    /// Delivers the due messages of `topic` until none is left; how many it tried.
    pub(crate) async fn deliver_due(&self, topic: &str, deliverer: &dyn Deliver) -> usize {
        let mut tried = 0;
        loop {
            let batch = match self.claim(topic, 16).await {
                Ok(batch) => batch,
                Err(error) => {
                    tracing::warn!(topic, %error, "could not claim due messages");
                    return tried;
                }
            };
            if batch.is_empty() {
                return tried;
            }
            for message in batch {
                tried += 1;
                self.attempt(topic, deliverer, message).await;
            }
        }
    }

    /// Runs a worker for `topic`: due messages are delivered as soon as this
    /// instance writes one, and at least every second.
    pub(crate) fn spawn_worker(&self, topic: &'static str, deliverer: Arc<dyn Deliver>) {
        let outbox = self.clone();
        tokio::spawn(async move {
            loop {
                let written = outbox.written.notified();
                outbox.deliver_due(topic, deliverer.as_ref()).await;
                tokio::select! {
                    _ = written => {}
                    _ = tokio::time::sleep(POLL) => {}
                }
            }
        });
    }

    /// Erases delivered and given-up messages older than 30 days.
    pub(crate) async fn erase_old(&self) -> Result<u64, AppError> {
        let erased = sqlx::query(
            "DELETE FROM outbox WHERE created_at <= $1 \
             AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL)",
        )
        .bind(clock::now() - KEEP_SECONDS)
        .execute(&self.pool)
        .await?;
        Ok(erased.rows_affected())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_wait_one_second_then_double_up_to_five_minutes() {
        let waits: Vec<i64> = (1..=12).map(backoff_seconds).collect();
        assert_eq!(waits, vec![1, 2, 4, 8, 16, 32, 64, 128, 256, 300, 300, 300]);
        assert_eq!(backoff_seconds(i64::MAX), 300);
    }
}
