//! Rate limits on validation and sign-in, per key, per client and behind proxies.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn validation_and_sign_in_are_rate_limited_with_retry_after() {
    let app = spawn_app_with(|settings| {
        settings.rate_limits.validate_per_key = 3;
        settings.rate_limits.sign_in_per_account = 2;
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (_, key) = app.new_key(&owner.token, "Prod").await;
    for _ in 0..3 {
        assert_eq!(
            app.validate(json!({"licenseKey": key})).await.status(),
            StatusCode::OK
        );
    }
    let limited = app.validate(json!({"licenseKey": key})).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry_after));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    let sign_in = || {
        app.api
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"email": "ana@acme.test", "password": "wrong password!!"}))
            .send()
    };
    assert_eq!(sign_in().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_error(
        sign_in().await.unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // The page's sign-in shares the same limit.
    let page = app
        .server_fn(
            "sign_in",
            &[("email", "ana@acme.test"), ("password", &owner.password)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn rate_limits_per_client_ip_cover_every_key_and_account() {
    let app = spawn_app_with(|settings| {
        settings.rate_limits.validate_per_ip = 2;
        settings.rate_limits.sign_in_per_ip = 2;
    })
    .await;
    // Different (unknown) keys from one address: the address is what is limited.
    for digit in ["1", "2"] {
        let unknown = app.validate(json!({"licenseKey": digit.repeat(64)})).await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = app.validate(json!({"licenseKey": "3".repeat(64)})).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    for email in ["a@acme.test", "b@acme.test"] {
        let refused = app
            .api
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"email": email, "password": "wrong password!!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = app
        .api
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": "c@acme.test", "password": "wrong password!!"}))
        .send()
        .await
        .unwrap();
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

/// A wrong sign-in from `client` as a load balancer forwards it.
async fn wrong_sign_in_from(app: &TestApp, client: &str, email: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/auth/token"))
        .header("X-Forwarded-For", client)
        .json(&json!({"email": email, "password": "wrong password!!"}))
        .send()
        .await
        .unwrap()
}

/// The IP the activity log recorded for a key created with `X-Forwarded-For: client`.
async fn logged_creation_ip(app: &TestApp, client: &str) -> Value {
    let owner = app.register("ana@acme.test", "Acme").await;
    let created = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(&owner.token)
        .header("X-Forwarded-For", client)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let log: Value = app.get_json("/api/v1/audit", &owner.token, None).await;
    let creation = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["action"] == "license_key.created")
        .expect("the creation is logged")
        .clone();
    creation["ip"].clone()
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_and_the_log_see_the_forwarded_client() {
    use storno_licensing::client_ip::TrustedProxies;
    let app = spawn_app_with(|settings| {
        // The test client connects from 127.0.0.1: it plays the load balancer.
        settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        settings.rate_limits.sign_in_per_ip = 2;
    })
    .await;
    for email in ["a@acme.test", "b@acme.test"] {
        let refused = wrong_sign_in_from(&app, "203.0.113.1", email).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = wrong_sign_in_from(&app, "203.0.113.1", "c@acme.test").await;
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another client behind the same balancer has a limit of its own.
    let other = wrong_sign_in_from(&app, "203.0.113.2", "d@acme.test").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(logged_creation_ip(&app, "203.0.113.9").await, "203.0.113.9");
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_for_header_changes_nothing() {
    let app = spawn_app_with(|settings| settings.rate_limits.sign_in_per_ip = 2).await;
    // An attacker rotating made-up addresses is still one client.
    for (client, email) in [
        ("203.0.113.1", "a@acme.test"),
        ("203.0.113.2", "b@acme.test"),
    ] {
        let refused = wrong_sign_in_from(&app, client, email).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = wrong_sign_in_from(&app, "203.0.113.3", "c@acme.test").await;
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    assert_eq!(logged_creation_ip(&app, "203.0.113.9").await, "127.0.0.1");
}
