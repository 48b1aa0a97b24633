//! Idempotent creation: a client that retries a `POST` with the same
//! `Idempotency-Key` gets the first answer again instead of a second key. That
//! answer holds a license key in full, so it is kept only sealed
//! (XChaCha20-Poly1305 under a key derived from the pepper) and erased after 24 hours.

use crate::clock;
use crate::db::sweep_every_few_minutes;
use crate::error::AppError;
use crate::parse::ResultExt;
use crate::secrets::{Pepper, Sealer};
use axum::http::HeaderMap;
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::{AnyConnection, AnyPool};
use uuid::Uuid;

pub(crate) const HEADER: &str = "idempotency-key";
pub(crate) const REPLAY_WINDOW_SECONDS: i64 = 24 * 3600;
const MAX_KEY_CHARS: usize = 255;

#[derive(Clone)]
pub struct IdempotencyStore {
    pool: AnyPool,
    pepper: Pepper,
    sealer: Sealer,
}

/// The client's `Idempotency-Key` (1 to 255 visible ASCII characters), bound to
/// the token that sent it: the same key from another token of the same user names
/// another request, so no other token can fetch the answer (it holds a license key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IdempotencyKey {
    key: String,
    token_hash: String,
}

impl IdempotencyKey {
    /// The key the request's headers carry, if any, for the token (its stored
    /// form) that authenticated the request; a malformed key is `400`.
    pub(crate) fn from_headers(
        headers: &HeaderMap,
        token_hash: &str,
    ) -> Result<Option<Self>, AppError> {
        let Some(value) = headers.get(HEADER) else {
            return Ok(None);
        };
        value
            .to_str()
            .ok()
            .filter(|key| {
                !key.is_empty()
                    && key.len() <= MAX_KEY_CHARS
                    && key.bytes().all(|b| b.is_ascii_graphic())
            })
            .map(|key| {
                Some(IdempotencyKey {
                    key: key.to_string(),
                    token_hash: token_hash.to_string(),
                })
            })
            .ok_or_else(|| {
                AppError::BadRequest(format!(
                    "Idempotency-Key must be 1 to {MAX_KEY_CHARS} visible ASCII characters"
                ))
            })
    }
}

#[derive(sqlx::FromRow)]
struct StoredAnswer {
    fingerprint: String,
    sealed_answer: String,
}

/// A request made under an `Idempotency-Key`: whose, under which key, and what it
/// asked for.
pub(crate) struct IdempotentRequest {
    store: IdempotencyStore,
    user_id: String,
    key_hash: String,
    fingerprint: String,
}

impl IdempotencyStore {
    pub fn new(pool: AnyPool, pepper: Pepper) -> Self {
        IdempotencyStore {
            pool,
            sealer: Sealer::new(&pepper, "idempotent-answers"),
            pepper,
        }
    }

    /// A request made under `key`: `operation` names what is asked ("create a key
    /// in <organization>"), `body` the parsed input; the same key for another
    /// request is refused.
    pub(crate) fn request(
        &self,
        key: &IdempotencyKey,
        user_id: Uuid,
        operation: &str,
        body: &serde_json::Value,
    ) -> IdempotentRequest {
        IdempotentRequest {
            store: self.clone(),
            user_id: user_id.to_string(),
            key_hash: self.pepper.digest(
                "idempotency-key",
                &format!("{}\n{}", key.token_hash, key.key),
            ),
            fingerprint: self
                .pepper
                .digest("idempotency-request", &format!("{operation}\n{body}")),
        }
    }

    /// Erases every answer older than the replay window.
    pub async fn erase_expired(&self) -> Result<u64, AppError> {
        let erased = sqlx::query("DELETE FROM idempotent_requests WHERE created_at <= $1")
            .bind(clock::now() - REPLAY_WINDOW_SECONDS)
            .execute(&self.pool)
            .await?;
        Ok(erased.rows_affected())
    }

    /// Erases expired answers every few minutes, so none outlives the window by much.
    pub(crate) fn spawn_sweeper(&self) {
        let store = self.clone();
        sweep_every_few_minutes("erase expired idempotent answers", move || {
            let store = store.clone();
            async move { store.erase_expired().await.map(drop) }
        });
    }
}

impl IdempotentRequest {
    /// Runs `act`, handing it the request so that it can keep its answer. Without
    /// a request, simply runs it; with one, runs it once per request: the stored
    /// answer when it already ran, the answer of a concurrent retry that finished first.
    pub(crate) async fn once<'r, T, Act, Run>(
        request: Option<&'r Self>,
        act: Act,
    ) -> Result<T, AppError>
    where
        T: DeserializeOwned,
        Act: FnOnce(Option<&'r Self>) -> Run,
        Run: std::future::Future<Output = Result<T, AppError>>,
    {
        let Some(request) = request else {
            return act(None).await;
        };
        if let Some(answer) = request.replay().await? {
            return Ok(answer);
        }
        match act(Some(request)).await {
            Err(AppError::IdempotentRequestInFlight) => request
                .replay()
                .await?
                .ok_or(AppError::IdempotentRequestInFlight),
            other => other,
        }
    }

    /// The answer already given to this request, if any. `422` when the key was
    /// used for a different request.
    pub(crate) async fn replay<T: DeserializeOwned>(&self) -> Result<Option<T>, AppError> {
        let row: Option<StoredAnswer> = sqlx::query_as(
            "SELECT fingerprint, sealed_answer FROM idempotent_requests \
             WHERE user_id = $1 AND key_hash = $2 AND created_at > $3",
        )
        .bind(&self.user_id)
        .bind(&self.key_hash)
        .bind(clock::now() - REPLAY_WINDOW_SECONDS)
        .fetch_optional(&self.store.pool)
        .await?;
        let Some(StoredAnswer {
            fingerprint,
            sealed_answer: sealed,
        }) = row
        else {
            return Ok(None);
        };
        if fingerprint != self.fingerprint {
            return Err(AppError::IdempotencyKeyReused);
        }
        let answer = self
            .store
            .sealer
            .open(&sealed, self.associated_data().as_bytes())
            .ok_or_else(|| AppError::Internal("a stored idempotent answer does not open".into()))?;
        serde_json::from_slice(&answer)
            .map(Some)
            .map_err(|e| AppError::Internal(format!("stored idempotent answer: {e}")))
    }

    /// Keeps `answer`, sealed, in the transaction that produced it, so the two
    /// land together. A concurrent retry that stored first makes this fail with
    /// `IdempotentRequestInFlight`, rolling back the duplicate; the caller replays.
    pub(crate) async fn save<T: Serialize>(
        &self,
        connection: &mut AnyConnection,
        answer: &T,
    ) -> Result<(), AppError> {
        let answer = serde_json::to_vec(answer)
            .map_err(|e| AppError::Internal(format!("idempotent answer: {e}")))?;
        let now = clock::now();
        // An expired answer under the same key no longer counts.
        sqlx::query(
            "DELETE FROM idempotent_requests \
             WHERE user_id = $1 AND key_hash = $2 AND created_at <= $3",
        )
        .bind(&self.user_id)
        .bind(&self.key_hash)
        .bind(now - REPLAY_WINDOW_SECONDS)
        .execute(&mut *connection)
        .await?;
        sqlx::query(
            "INSERT INTO idempotent_requests \
             (user_id, key_hash, fingerprint, sealed_answer, created_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&self.user_id)
        .bind(&self.key_hash)
        .bind(&self.fingerprint)
        .bind(
            self.store
                .sealer
                .seal(&answer, self.associated_data().as_bytes()),
        )
        .bind(now)
        .execute(&mut *connection)
        .await
        .on_unique_violation(AppError::IdempotentRequestInFlight)?;
        Ok(())
    }

    /// The row's identity is the associated data: a sealed answer moved to another
    /// row does not open.
    fn associated_data(&self) -> String {
        format!("{}\n{}", self.user_id, self.key_hash)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn key_of(value: &str) -> Result<Option<IdempotencyKey>, AppError> {
        let mut headers = HeaderMap::new();
        headers.insert(HEADER, HeaderValue::from_str(value).unwrap());
        IdempotencyKey::from_headers(&headers, "token")
    }

    #[test]
    fn keys_are_one_to_255_visible_ascii_characters() {
        assert_eq!(
            IdempotencyKey::from_headers(&HeaderMap::new(), "token").unwrap(),
            None
        );
        assert!(key_of("retry-1").unwrap().is_some());
        assert!(key_of(&"k".repeat(255)).unwrap().is_some());
        for refused in ["", "has space", &"k".repeat(256)] {
            assert!(
                matches!(key_of(refused), Err(AppError::BadRequest(_))),
                "{refused:?}"
            );
        }
    }
}
