//! Rate limits for the endpoints an attacker would hammer: validation (per key and
//! per client), sign-in (per client, per account from one client, per account from
//! everywhere) and sign-up (per client). They are kept in each instance's memory, so
//! with N instances a client may get up to N times the limit.
//!
//! A "client" is an IPv4 address or an IPv6 /64 network: one IPv6 subscriber
//! usually holds a whole /64, so counting single addresses would not limit anyone.

use crate::error::AppError;
use governor::clock::Clock;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

/// Requests per minute; documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub validate_per_key: u32,
    pub validate_per_ip: u32,
    pub sign_in_per_ip: u32,
    /// Attempts for one account from one client: a stranger guessing a password
    /// runs out here, long before the account's own ceiling below.
    pub sign_in_per_account: u32,
    /// Attempts for one account from all clients together, much higher, so that a
    /// stranger cannot lock its owner out.
    pub sign_in_per_account_total: u32,
    pub sign_up_per_ip: u32,
    /// Password-reset requests per client.
    pub password_reset_per_ip: u32,
    /// Emails one address can be sent on request (verification links, reset links,
    /// email changes): nobody turns the server into a way to flood an inbox.
    pub emails_per_address: u32,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        RateLimitSettings {
            validate_per_key: 30,
            validate_per_ip: 600,
            sign_in_per_ip: 30,
            sign_in_per_account: 10,
            sign_in_per_account_total: 100,
            sign_up_per_ip: 10,
            password_reset_per_ip: 10,
            emails_per_address: 5,
        }
    }
}

#[derive(Clone)]
pub struct RateLimits {
    validate_per_key: Arc<DefaultKeyedRateLimiter<String>>,
    validate_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    sign_in_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    sign_in_per_account: Arc<DefaultKeyedRateLimiter<String>>,
    sign_in_per_account_total: Arc<DefaultKeyedRateLimiter<String>>,
    sign_up_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    password_reset_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    emails_per_address: Arc<DefaultKeyedRateLimiter<String>>,
}

/// The key a client is counted under: an IPv4 address as it is, an IPv6 address as
/// its /64 network (an IPv4-mapped IPv6 address as the IPv4 address it maps).
pub fn client_network(ip: &str) -> String {
    match ip.parse::<IpAddr>() {
        Ok(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        Ok(IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => ip.to_string(),
    }
}

fn per_minute(requests: u32) -> Arc<DefaultKeyedRateLimiter<String>> {
    let requests = NonZeroU32::new(requests.max(1)).expect("at least one request");
    Arc::new(RateLimiter::keyed(Quota::per_minute(requests)))
}

fn check(limiter: &DefaultKeyedRateLimiter<String>, key: &str) -> Result<(), AppError> {
    limiter.check_key(&key.to_string()).map_err(|not_until| {
        // The limiter's own clock: a new one calibrates itself (CPUID, a VM exit
        // each), which made every refusal cost more than the answer it refuses.
        let wait = not_until.wait_time_from(limiter.clock().now());
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
            sign_in_per_account_total: per_minute(settings.sign_in_per_account_total),
            sign_up_per_ip: per_minute(settings.sign_up_per_ip),
            password_reset_per_ip: per_minute(settings.password_reset_per_ip),
            emails_per_address: per_minute(settings.emails_per_address),
        }
    }

    /// `key_digest` is the key's HMAC: the plain key is not kept, even in memory.
    pub fn validate(&self, ip: Option<&str>, key_digest: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            check(&self.validate_per_ip, &client_network(ip))?;
        }
        check(&self.validate_per_key, key_digest)
    }

    pub fn sign_in(&self, ip: Option<&str>, email: &str) -> Result<(), AppError> {
        let account = email.trim().to_lowercase();
        let client = ip.map(client_network).unwrap_or_default();
        if ip.is_some() {
            check(&self.sign_in_per_ip, &client)?;
        }
        check(&self.sign_in_per_account, &format!("{client} {account}"))?;
        check(&self.sign_in_per_account_total, &account)
    }

    pub fn sign_up(&self, ip: Option<&str>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(&self.sign_up_per_ip, &client_network(ip)),
            None => Ok(()),
        }
    }

    /// A password-reset request from `ip` for `email`.
    pub fn password_reset(&self, ip: Option<&str>, email: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            check(&self.password_reset_per_ip, &client_network(ip))?;
        }
        self.email_to(email)
    }

    /// An email sent to `address` because someone asked for it.
    pub fn email_to(&self, address: &str) -> Result<(), AppError> {
        check(&self.emails_per_address, &address.trim().to_lowercase())
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
                    &limits.sign_in_per_account_total,
                    &limits.sign_up_per_ip,
                    &limits.password_reset_per_ip,
                    &limits.emails_per_address,
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
            sign_in_per_account_total: 100,
            sign_up_per_ip: 1,
            ..RateLimitSettings::default()
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
        assert!(limits.sign_up(Some("1.2.3.4")).is_ok());
        assert!(limits.sign_up(Some("1.2.3.4")).is_err());
        assert!(limits.sign_up(Some("1.2.3.5")).is_ok());
    }

    #[test]
    fn a_stranger_guessing_from_one_client_does_not_lock_the_account_elsewhere() {
        let limits = RateLimits::new(RateLimitSettings {
            sign_in_per_ip: 1000,
            sign_in_per_account: 10,
            sign_in_per_account_total: 50,
            ..RateLimitSettings::default()
        });
        for _ in 0..10 {
            limits.sign_in(Some("203.0.113.9"), "ana@x.test").unwrap();
        }
        assert!(limits.sign_in(Some("203.0.113.9"), "ana@x.test").is_err());
        assert!(limits.sign_in(Some("198.51.100.4"), "ana@x.test").is_ok());
        // Many clients together still meet the account's own ceiling.
        let total_left = (0..100)
            .filter(|i| {
                limits
                    .sign_in(Some(&format!("192.0.2.{i}")), "ana@x.test")
                    .is_ok()
            })
            .count();
        assert_eq!(total_left, 50 - 11);
    }

    #[test]
    fn password_resets_are_limited_per_client_and_per_address() {
        let limits = RateLimits::new(RateLimitSettings {
            password_reset_per_ip: 3,
            emails_per_address: 2,
            ..RateLimitSettings::default()
        });
        assert!(limits
            .password_reset(Some("192.0.2.1"), "ana@x.test")
            .is_ok());
        assert!(limits
            .password_reset(Some("192.0.2.2"), "Ana@x.test")
            .is_ok());
        assert!(
            limits
                .password_reset(Some("192.0.2.3"), "ana@x.test")
                .is_err(),
            "one address, from any client"
        );
        assert!(limits
            .password_reset(Some("192.0.2.1"), "bo@x.test")
            .is_ok());
        assert!(limits
            .password_reset(Some("192.0.2.1"), "cy@x.test")
            .is_ok());
        assert!(
            limits
                .password_reset(Some("192.0.2.1"), "di@x.test")
                .is_err(),
            "one client, whatever the address"
        );
    }

    #[test]
    fn ipv6_clients_count_per_64_network() {
        assert_eq!(client_network("2001:db8:1:2:aaaa::1"), "2001:db8:1:2::/64");
        assert_eq!(
            client_network("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            client_network("2001:db8:1:2::")
        );
        assert_ne!(
            client_network("2001:db8:1:2::1"),
            client_network("2001:db8:1:3::1")
        );
        assert_eq!(client_network("::ffff:192.0.2.7"), "192.0.2.7");
        assert_eq!(client_network("192.0.2.7"), "192.0.2.7");
        let limits = RateLimits::new(RateLimitSettings {
            sign_up_per_ip: 2,
            ..RateLimitSettings::default()
        });
        assert!(limits.sign_up(Some("2001:db8:1:2::1")).is_ok());
        assert!(limits.sign_up(Some("2001:db8:1:2::2")).is_ok());
        assert!(
            limits.sign_up(Some("2001:db8:1:2::3")).is_err(),
            "a new address in the same /64 is the same client"
        );
        assert!(limits.sign_up(Some("2001:db8:1:3::1")).is_ok());
    }
}
