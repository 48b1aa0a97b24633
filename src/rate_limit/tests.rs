//! The limits, checked without a server.

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
    let attempt = |email| SignInAttempt {
        ip: None,
        email,
        device: None,
    };
    assert!(limits.sign_in_allowed(attempt("Ana@x.test")).is_ok());
    limits.sign_in_failed(attempt("Ana@x.test"));
    assert!(
        limits.sign_in_allowed(attempt("ana@x.test ")).is_err(),
        "one account, however spelled"
    );
    assert!(limits.sign_up(Some("1.2.3.4")).is_ok());
    assert!(limits.sign_up(Some("1.2.3.4")).is_err());
    assert!(limits.sign_up(Some("1.2.3.5")).is_ok());
}

fn from(ip: &str) -> SignInAttempt<'_> {
    SignInAttempt {
        ip: Some(ip),
        email: "ana@x.test",
        device: None,
    }
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
        limits.sign_in_allowed(from("203.0.113.9")).unwrap();
        limits.sign_in_failed(from("203.0.113.9"));
    }
    assert!(limits.sign_in_allowed(from("203.0.113.9")).is_err());
    assert!(limits.sign_in_allowed(from("198.51.100.4")).is_ok());
    // Many clients failing together still meet the account's own ceiling.
    let failed_before_the_ceiling = (0..100)
        .take_while(|i| {
            let client = format!("192.0.2.{i}");
            let allowed = limits.sign_in_allowed(from(&client)).is_ok();
            limits.sign_in_failed(from(&client));
            allowed
        })
        .count();
    assert_eq!(failed_before_the_ceiling, 50 - 10);
}

#[test]
fn only_failures_count_so_the_owner_keeps_signing_in() {
    let limits = RateLimits::new(RateLimitSettings {
        sign_in_per_ip: 1000,
        sign_in_per_account: 3,
        ..RateLimitSettings::default()
    });
    for _ in 0..20 {
        assert!(limits.sign_in_allowed(from("203.0.113.9")).is_ok());
    }
}

#[test]
fn a_trusted_browser_signs_in_while_strangers_hold_the_account_locked() {
    let limits = RateLimits::new(RateLimitSettings {
        sign_in_per_ip: 1000,
        sign_in_per_account: 2,
        sign_in_per_account_total: 5,
        ..RateLimitSettings::default()
    });
    for i in 0..10 {
        limits.sign_in_failed(from(&format!("192.0.2.{i}")));
    }
    assert!(
        limits.sign_in_allowed(from("198.51.100.4")).is_err(),
        "locked for strangers"
    );
    let trusted = |device| SignInAttempt {
        ip: Some("198.51.100.4"),
        email: "ana@x.test",
        device: Some(device),
    };
    assert!(limits.sign_in_allowed(trusted("d1")).is_ok());
    // A trusted browser's own failures stop it alone.
    for _ in 0..2 {
        limits.sign_in_failed(trusted("d1"));
    }
    assert!(limits.sign_in_allowed(trusted("d1")).is_err());
    assert!(limits.sign_in_allowed(trusted("d2")).is_ok());
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
