//! Sign-up and sign-in under attack: limits per client and network, failures only,
//! and a browser that signed in before keeps its way in.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::json;
use storno_licensing::client_ip::TrustedProxies;

fn behind_proxy(settings: &mut storno_licensing::config::Settings) {
    // The test client connects from 127.0.0.1: it plays the load balancer.
    settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
}

async fn register_from(app: &TestApp, client: &str, email: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/auth/register"))
        .header("X-Forwarded-For", client)
        .json(&json!({"email": email, "password": "correct horse battery staple", "organizationName": "Org"}))
        .send()
        .await
        .unwrap()
}

async fn sign_in_from(
    app: &TestApp,
    client: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/auth/token"))
        .header("X-Forwarded-For", client)
        .json(&json!({"email": email, "password": password}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn passwords_longer_than_sign_up_allows_are_refused_at_sign_in_on_both_doors() {
    let app = spawn_app().await;
    app.register("ana@acme.test", "Acme").await;
    let long = "p".repeat(1025);
    let api = sign_in_from(&app, "127.0.0.1", "ana@acme.test", &long).await;
    assert_error(api, StatusCode::UNAUTHORIZED, "invalid_credentials").await;
    let page = app
        .server_fn(
            "sign_in",
            &[("email", "ana@acme.test"), ("password", &long)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
    let form = app
        .browser
        .get(app.url("/sign-in"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        form.contains(r#"maxlength="1024""#) && form.contains(r#"maxlength="254""#),
        "{form}"
    );
}

#[tokio::test]
async fn sign_up_is_rate_limited_per_client_on_both_doors() {
    let app = spawn_app_with(|settings| settings.rate_limits.sign_up_per_ip = 2).await;
    app.register("a@acme.test", "A").await;
    app.register("b@acme.test", "B").await;
    let limited = register_from(&app, "ignored: not a trusted proxy", "c@acme.test").await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let page = app
        .server_fn(
            "sign_up",
            &[
                ("email", "d@acme.test"),
                ("password", "correct horse battery staple"),
                ("organization_name", "D"),
            ],
        )
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn ten_wrong_passwords_from_one_address_do_not_lock_the_owner_out_elsewhere() {
    let app = spawn_app_with(behind_proxy).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    for _ in 0..10 {
        let wrong = sign_in_from(&app, "203.0.113.7", &owner.email, "wrong password!!").await;
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    }
    let stranger = sign_in_from(&app, "203.0.113.7", &owner.email, &owner.password).await;
    assert_error(stranger, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    let from_home = sign_in_from(&app, "198.51.100.9", &owner.email, &owner.password).await;
    assert_eq!(from_home.status(), StatusCode::CREATED);
}

/// Signs in through the page's server function from `client`, with `cookie`.
async fn page_sign_in_from(
    app: &TestApp,
    client: &str,
    cookie: Option<&str>,
    email: &str,
    password: &str,
) -> reqwest::Response {
    let mut request = app
        .api
        .post(app.url("/rpc/sign_in"))
        .header("Origin", &app.address)
        .header("X-Forwarded-For", client)
        .form(&[("email", email), ("password", password)]);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    request.send().await.unwrap()
}

/// The device cookie (`name=value`) a sign-in answer gives the browser.
fn device_cookie(response: &reqwest::Response) -> String {
    let set_cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .find(|value| value.starts_with("storno_device="))
        .expect("a device cookie");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/rpc/sign_in"] {
        assert!(set_cookie.contains(flag), "{set_cookie}");
    }
    set_cookie.split(';').next().unwrap().to_string()
}

#[tokio::test]
async fn strangers_from_many_addresses_cannot_keep_the_owner_out_of_a_browser_that_signed_in_before(
) {
    let app = spawn_app_with(|settings| {
        behind_proxy(settings);
        // Locked for strangers from the first failure for a minute: no race with time.
        settings.rate_limits.sign_in_per_account_total = 1;
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let first = page_sign_in_from(&app, "198.51.100.9", None, &owner.email, &owner.password).await;
    assert!(!first.status().is_client_error(), "{}", first.status());
    let trusted = device_cookie(&first);

    for i in 0..10 {
        let client = format!("203.0.113.{i}");
        sign_in_from(&app, &client, &owner.email, "wrong password!!").await;
    }
    let untrusted = sign_in_from(&app, "198.51.100.9", &owner.email, &owner.password).await;
    assert_error(untrusted, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The seal with its last digit changed.
    let last = if trusted.ends_with('0') { '1' } else { '0' };
    let forged = format!("{}{last}", &trusted[..trusted.len() - 1]);
    let with_forged = page_sign_in_from(
        &app,
        "198.51.100.9",
        Some(&forged),
        &owner.email,
        &owner.password,
    )
    .await;
    assert_eq!(with_forged.status(), StatusCode::TOO_MANY_REQUESTS);
    let other_account = app.register("eve@evil.test", "Evil").await;
    let eves = device_cookie(
        &page_sign_in_from(
            &app,
            "192.0.2.66",
            None,
            &other_account.email,
            &other_account.password,
        )
        .await,
    );
    let with_eves = page_sign_in_from(
        &app,
        "192.0.2.66",
        Some(&eves),
        &owner.email,
        &owner.password,
    )
    .await;
    assert_eq!(
        with_eves.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "another account's cookie"
    );

    let again = page_sign_in_from(
        &app,
        "198.51.100.9",
        Some(&trusted),
        &owner.email,
        &owner.password,
    )
    .await;
    assert!(
        !again.status().is_client_error(),
        "the owner's browser signs in: {}",
        again.status()
    );
    assert!(again
        .headers()
        .get_all("set-cookie")
        .iter()
        .any(|value| value.to_str().unwrap().starts_with("storno_session=")));
}

#[tokio::test]
async fn only_failed_sign_ins_count_against_an_account() {
    let app = spawn_app_with(|settings| {
        behind_proxy(settings);
        settings.rate_limits.sign_in_per_account = 3;
        settings.rate_limits.sign_in_per_account_total = 3;
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    for _ in 0..10 {
        let signed_in = sign_in_from(&app, "198.51.100.9", &owner.email, &owner.password).await;
        assert_eq!(signed_in.status(), StatusCode::CREATED);
    }
    for _ in 0..4 {
        sign_in_from(&app, "198.51.100.9", &owner.email, "wrong password!!").await;
    }
    let locked = sign_in_from(&app, "198.51.100.9", &owner.email, &owner.password).await;
    assert_error(locked, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

#[tokio::test]
async fn ipv6_clients_are_limited_per_64_network() {
    let app = spawn_app_with(|settings| {
        behind_proxy(settings);
        settings.rate_limits.sign_up_per_ip = 1;
    })
    .await;
    assert_eq!(
        register_from(&app, "2001:db8:1:2::1", "a@acme.test")
            .await
            .status(),
        StatusCode::CREATED
    );
    let same_network = register_from(&app, "2001:db8:1:2:ffff::99", "b@acme.test").await;
    assert_error(same_network, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    assert_eq!(
        register_from(&app, "2001:db8:1:3::1", "c@acme.test")
            .await
            .status(),
        StatusCode::CREATED
    );
}
