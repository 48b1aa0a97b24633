//! Rate limits for the endpoints an attacker would hammer: validation (per key and
//! per client), sign-in (attempts per client; failures per account from one client,
//! per account from everywhere, per trusted browser) and sign-up (per client). They are kept in each instance's memory, so
//! with N instances a client may get up to N times the limit.
//!
//! A "client" is an IPv4 address or an IPv6 /64 network: one IPv6 subscriber
//! usually holds a whole /64, so counting single addresses would not limit anyone.

use crate::error::AppError;
use governor::clock::Clock;
use governor::middleware::StateInformationMiddleware;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Requests per minute; documented in the README.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub validate_per_key: u32,
    pub validate_per_ip: u32,
    pub sign_in_per_ip: u32,
    /// Failed sign-ins for one account from one client (or one trusted browser): a
    /// stranger guessing a password runs out here, long before the account's own
    /// ceiling below.
    pub sign_in_per_account: u32,
    /// Failed sign-ins for one account from all untrusted clients together, much
    /// higher. A browser that signed in to the account before (its device cookie)
    /// is not held by it, so a stranger cannot lock the owner out.
    pub sign_in_per_account_total: u32,
    pub sign_up_per_ip: u32,
    /// Password-reset requests per client.
    pub password_reset_per_ip: u32,
    /// Emails one address can be sent on request (verification links, reset links,
    /// email changes): nobody turns the server into a way to flood an inbox.
    pub emails_per_address: u32,
    /// Organizations one account creates.
    pub organizations_per_account: u32,
    /// Invitations one organization sends.
    pub invitations_per_organization: u32,
    /// License keys one organization creates (a rate: their number has no limit).
    pub keys_per_organization: u32,
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
            organizations_per_account: 10,
            invitations_per_organization: 30,
            keys_per_organization: 120,
        }
    }
}

#[derive(Clone)]
pub(crate) struct RateLimits {
    validate_per_key: Arc<DefaultKeyedRateLimiter<String>>,
    validate_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    sign_in_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    sign_in_per_account: Arc<FailureLimiter>,
    sign_in_per_account_total: Arc<FailureLimiter>,
    sign_up_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    password_reset_per_ip: Arc<DefaultKeyedRateLimiter<String>>,
    emails_per_address: Arc<DefaultKeyedRateLimiter<String>>,
    organizations_per_account: Arc<DefaultKeyedRateLimiter<String>>,
    invitations_per_organization: Arc<DefaultKeyedRateLimiter<String>>,
    keys_per_organization: Arc<DefaultKeyedRateLimiter<String>>,
    /// Until when each sign-in failure key (above) refuses attempts: its failures
    /// ran out. Counting only failures, a signed-in owner spends nothing.
    sign_in_locked: Arc<Mutex<HashMap<String, Instant>>>,
}

/// Who a sign-in attempt is counted as: its client, the account it names, and the
/// trusted browser it comes from, if any (the device cookie's id).
#[derive(Debug, Clone, Copy)]
pub(crate) struct SignInAttempt<'a> {
    pub(crate) ip: Option<&'a str>,
    pub(crate) email: &'a str,
    pub(crate) device: Option<&'a str>,
}

/// The key a client is counted under: an IPv4 address as it is, an IPv6 address as
/// its /64 network (an IPv4-mapped IPv6 address as the IPv4 address it maps).
pub(crate) fn client_network(ip: &str) -> String {
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

/// A limiter that tells how many failures are left, so the last one allowed locks.
type FailureLimiter = RateLimiter<
    String,
    DefaultKeyedStateStore<String>,
    governor::clock::DefaultClock,
    StateInformationMiddleware,
>;

fn quota(per_minute: u32) -> Quota {
    Quota::per_minute(NonZeroU32::new(per_minute.max(1)).expect("at least one request"))
}

fn per_minute(requests: u32) -> Arc<DefaultKeyedRateLimiter<String>> {
    Arc::new(RateLimiter::keyed(quota(requests)))
}

fn failures_per_minute(failures: u32) -> Arc<FailureLimiter> {
    Arc::new(RateLimiter::keyed(quota(failures)).with_middleware::<StateInformationMiddleware>())
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
    pub(crate) fn new(settings: RateLimitSettings) -> Self {
        RateLimits {
            validate_per_key: per_minute(settings.validate_per_key),
            validate_per_ip: per_minute(settings.validate_per_ip),
            sign_in_per_ip: per_minute(settings.sign_in_per_ip),
            sign_in_per_account: failures_per_minute(settings.sign_in_per_account),
            sign_in_per_account_total: failures_per_minute(settings.sign_in_per_account_total),
            sign_up_per_ip: per_minute(settings.sign_up_per_ip),
            password_reset_per_ip: per_minute(settings.password_reset_per_ip),
            emails_per_address: per_minute(settings.emails_per_address),
            organizations_per_account: per_minute(settings.organizations_per_account),
            invitations_per_organization: per_minute(settings.invitations_per_organization),
            keys_per_organization: per_minute(settings.keys_per_organization),
            sign_in_locked: Arc::default(),
        }
    }

    /// `key_digest` is the key's HMAC: the plain key is not kept, even in memory.
    pub(crate) fn validate(&self, ip: Option<&str>, key_digest: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            check(&self.validate_per_ip, &client_network(ip))?;
        }
        check(&self.validate_per_key, key_digest)
    }

    /// Before a sign-in's password is checked: every attempt counts against its
    /// client; an account's failures (or a trusted browser's) that ran out refuse it.
    pub(crate) fn sign_in_allowed(&self, attempt: SignInAttempt<'_>) -> Result<(), AppError> {
        if let Some(ip) = attempt.ip {
            check(&self.sign_in_per_ip, &client_network(ip))?;
        }
        let locked = self
            .sign_in_locked
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        match self
            .failure_keys(attempt)
            .iter()
            .filter_map(|(_, key)| locked.get(key))
            .filter(|until| **until > now)
            .max()
        {
            Some(until) => Err(AppError::RateLimited {
                retry_after_seconds: until.duration_since(now).as_secs() + 1,
            }),
            None => Ok(()),
        }
    }

    /// After a wrong password: the failure counts; a key whose last failure was
    /// spent refuses attempts until its next one is allowed.
    pub(crate) fn sign_in_failed(&self, attempt: SignInAttempt<'_>) {
        for (limiter, key) in self.failure_keys(attempt) {
            let wait = match limiter.check_key(&key) {
                Ok(left) if left.remaining_burst_capacity() > 0 => continue,
                Ok(left) => left.quota().replenish_interval(),
                Err(not_until) => not_until.wait_time_from(limiter.clock().now()),
            };
            self.sign_in_locked
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .insert(key, Instant::now() + wait);
        }
    }

    /// The limiters a sign-in failure counts against, with its key in each: a
    /// trusted browser's own; otherwise the client's for that account and the
    /// account's from everywhere.
    fn failure_keys(&self, attempt: SignInAttempt<'_>) -> Vec<(&FailureLimiter, String)> {
        let account = attempt.email.trim().to_lowercase();
        match attempt.device {
            Some(device) => vec![(
                &*self.sign_in_per_account,
                format!("device {device} {account}"),
            )],
            None => {
                let client = attempt.ip.map(client_network).unwrap_or_default();
                vec![
                    (&*self.sign_in_per_account, format!("{client} {account}")),
                    (&*self.sign_in_per_account_total, account),
                ]
            }
        }
    }

    pub(crate) fn sign_up(&self, ip: Option<&str>) -> Result<(), AppError> {
        match ip {
            Some(ip) => check(&self.sign_up_per_ip, &client_network(ip)),
            None => Ok(()),
        }
    }

    /// A password-reset request from `ip` for `email`.
    pub(crate) fn password_reset(&self, ip: Option<&str>, email: &str) -> Result<(), AppError> {
        if let Some(ip) = ip {
            check(&self.password_reset_per_ip, &client_network(ip))?;
        }
        self.email_to(email)
    }

    /// An email sent to `address` because someone asked for it.
    pub(crate) fn email_to(&self, address: &str) -> Result<(), AppError> {
        check(&self.emails_per_address, &address.trim().to_lowercase())
    }

    /// An organization about to be created by `user`.
    pub(crate) fn organization_created(&self, user: &str) -> Result<(), AppError> {
        check(&self.organizations_per_account, user)
    }

    /// An invitation about to be sent by `organization`.
    pub(crate) fn invitation_sent(&self, organization: &str) -> Result<(), AppError> {
        check(&self.invitations_per_organization, organization)
    }

    /// A license key about to be created in `organization`.
    pub(crate) fn key_created(&self, organization: &str) -> Result<(), AppError> {
        check(&self.keys_per_organization, organization)
    }

    /// Forgets idle keys now and then, so memory stays bounded.
    pub(crate) fn spawn_cleanup(&self) {
        let limits = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_secs(60));
            loop {
                tick.tick().await;
                for limiter in [
                    &limits.validate_per_key,
                    &limits.validate_per_ip,
                    &limits.sign_in_per_ip,
                    &limits.sign_up_per_ip,
                    &limits.password_reset_per_ip,
                    &limits.emails_per_address,
                    &limits.organizations_per_account,
                    &limits.invitations_per_organization,
                    &limits.keys_per_organization,
                ] {
                    limiter.retain_recent();
                }
                limits.sign_in_per_account.retain_recent();
                limits.sign_in_per_account_total.retain_recent();
                let now = Instant::now();
                limits
                    .sign_in_locked
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .retain(|_, until| *until > now);
            }
        });
    }
}

#[cfg(test)]
mod tests;
