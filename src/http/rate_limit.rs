//! Rate limits for the endpoints an attacker would hammer: validation (per key and
//! per client IP) and sign-in (per IP and per account). They are kept in each
//! instance's memory, so with N instances a client may get up to N times the limit.

use crate::error::AppError;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Requests per minute; documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub validate_per_key: u32,
    pub validate_per_ip: u32,
    pub sign_in_per_ip: u32,
    pub sign_in_per_account: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            validate_per_key: 30,
            validate_per_ip: 600,
            sign_in_per_ip: 30,
            sign_in_per_account: 10,
        }
    }
}

#[derive(Clone)]
pub struct RateLimits {
    validate_per_key: Arc<DefaultKeyedRateLimiter<String>>,
    validate_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    sign_in_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    sign_in_per_account: Arc<DefaultKeyedRateLimiter<String>>,
}

fn per_minute(requests: u32) -> Arc<DefaultKeyedRateLimiter<String>> {
    let requests = NonZeroU32::new(requests.max(1)).expect("at least one request");
    Arc::new(RateLimiter::keyed(Quota::per_minute(requests)))
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), AppError> {
    limiter.check_key(&key.to_string()).map_err(|not_until| {
        let wait = not_until.wait_time_from(DefaultClock::default().now());
        AppError::RateLimited {
            retry_after_seconds: wait.as_secs() + 1,
        }
    })
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Self {
        RateLimits {
            validate_per_key: per_minute(settings.validate_per_key),
            validate_per_ip: per_minute(settings.validate_per_ip),
            sign_in_per_ip: per_minute(settings.sign_in_per_ip),
            sign_in_per_account: per_minute(settings.sign_in_per_account),
        }
    }

    /// `key_digest` is the key's HMAC: the plain key is not kept, even in memory.
    pub fn validate(&self, ip: Option<&str>, key_digest: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            check(&self.validate_per_ip, ip)?;
        }
        check(&self.validate_per_key, key_digest)
    }

    pub fn sign_in(&self, ip: Option<&str>, email: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            check(&self.sign_in_per_ip, ip)?;
        }
        check(&self.sign_in_per_account, &email.trim().to_lowercase())
    }

    /// Forgets idle keys now and then, so memory stays bounded.
    pub fn spawn_cleanup(&self) {
        let limits = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                for limiter in [
                    &limits.validate_per_key,
                    &limits.validate_per_ip,
                    &limits.sign_in_per_ip,
                    &limits.sign_in_per_account,
                ] {
                    limiter.retain_recent();
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_each_key_separately_and_says_when_to_retry() {
        let limits = RateLimits::new(RateLimitSettings {
            validate_per_key: 2,
            validate_per_ip: 100,
            sign_in_per_ip: 100,
            sign_in_per_account: 1,
        });
        assert!(limits.validate(Some("1.2.3.4"), "a").is_ok());
        assert!(limits.validate(Some("1.2.3.4"), "a").is_ok());
        match limits.validate(Some("1.2.3.4"), "a") {
            Err(AppError::RateLimited {
                retry_after_seconds,
            }) => {
                assert!((1..=61).contains(&retry_after_seconds))
            }
            other => panic!("expected a rate limit, got {other:?}"),
        }
        assert!(limits.validate(Some("1.2.3.4"), "b").is_ok());
        assert!(limits.sign_in(None, "Ana@x.test").is_ok());
        assert!(
            limits.sign_in(None, "ana@x.test ").is_err(),
            "one account, however spelled"
        );
    }
}
