//! Passwords: Argon2id with OWASP's parameters, its work bounded so sign-ups
//! cannot starve validations.

use super::super::domain::Password;
use crate::error::AppError;
use crate::secrets::random_bytes;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Argon2 work, bounded: each hash holds 19 MiB and a core for tens of
/// milliseconds, so at most half the cores (at least one) hash at a time, and the
/// rest keep serving validations. A caller that cannot start within `max_wait`
/// gets `503` with `Retry-After` instead of piling up threads and memory (300
/// parallel sign-ups once took 3.6 GB).
#[derive(Clone)]
pub(super) struct PasswordHashing {
    pub(super) permits: Arc<Semaphore>,
    pub(super) max_wait: Duration,
}

impl PasswordHashing {
    pub(super) fn new() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        PasswordHashing::with_capacity((cores / 2).max(1), Duration::from_secs(3))
    }

    pub(super) fn with_capacity(permits: usize, max_wait: Duration) -> Self {
        PasswordHashing {
            permits: Arc::new(Semaphore::new(permits)),
            max_wait,
        }
    }

    /// Runs `work` on the blocking pool once a permit is free.
    pub(super) async fn run<T: Send + 'static>(
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

/// Argon2id with OWASP's recommended parameters (19 MiB, 2 passes, 1 lane).
pub(super) fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("static Argon2 parameters are valid");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

pub(super) fn hash_password(password: Password) -> Result<String, AppError> {
    let salt = SaltString::encode_b64(&random_bytes::<16>())
        .map_err(|e| AppError::Internal(format!("salt: {e}")))?;
    argon2()
        .hash_password(password.expose().as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| AppError::Internal(format!("password hashing: {e}")))
}

/// Without a stored hash (unknown email) the password is checked against a dummy
/// hash, and the answer is always "no".
pub(super) fn verify_password(
    password: String,
    stored_hash: Option<String>,
) -> Result<bool, AppError> {
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
pub(super) fn dummy_password_hash() -> &'static str {
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
    pub(super) async fn password_hashing_runs_a_bounded_number_of_jobs_and_refuses_after_a_short_wait(
    ) {
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
