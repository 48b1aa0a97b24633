//! Bounded work for anonymous callers and the smaller promises of issue "trust
//! between tenants", each from the attacker's side.

use crate::helpers::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};
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
async fn a_large_body_anywhere_is_a_json_413_never_a_500() {
    let app = spawn_app().await;
    let huge = "x".repeat(3 * 1024 * 1024);
    for path in [
        "/rpc/sign_in",
        "/rpc/sign_up",
        "/keys",
        "/rpc/create_license_key",
    ] {
        let response = app
            .api
            .post(app.url(path))
            .header("Origin", &app.address)
            .form(&[("email", "a@b.test"), ("password", huge.as_str())])
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    }
    // Without a declared length, too: the body is cut off at the limit.
    let stream =
        futures::stream::iter((0..64).map(|_| Ok::<_, std::io::Error>(vec![b'x'; 64 * 1024])));
    let chunked = app
        .api
        .post(app.url("/rpc/sign_in"))
        .header("Origin", &app.address)
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body(reqwest::Body::wrap_stream(stream))
        .send()
        .await
        .unwrap();
    assert_error(chunked, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;
    // A form of ordinary size still works.
    let owner = app.register("ana@acme.test", "Acme").await;
    app.sign_in_browser(&owner).await;
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

#[tokio::test]
async fn strict_transport_security_is_sent_only_when_served_over_https() {
    let plain = spawn_app().await;
    let response = plain
        .browser
        .get(plain.url("/sign-in"))
        .send()
        .await
        .unwrap();
    assert!(!response.headers().contains_key("strict-transport-security"));
    let https = spawn_app_with(|settings| {
        settings.public_url = Some("https://licensing.example.test".into());
    })
    .await;
    for path in ["/sign-in", "/api/v1/openapi.json"] {
        let response = https.browser.get(https.url(path)).send().await.unwrap();
        assert_eq!(
            response.headers()["strict-transport-security"],
            "max-age=31536000; includeSubDomains",
            "{path}"
        );
    }
}

#[tokio::test]
async fn names_with_bidirectional_overrides_or_zero_width_characters_are_422() {
    let app = spawn_app().await;
    let spoofed = app
        .api
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "eve@evil.test", "password": "correct horse battery staple", "organizationName": "Acme\u{202E}gnp.exe"}))
        .send()
        .await
        .unwrap();
    let body = assert_error(
        spoofed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"]
        .as_str()
        .unwrap()
        .contains("invisible formatting"));
    let owner = app.register("ana@acme.test", "Acme").await;
    let organization = app
        .api
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&owner.token)
        .json(&json!({"name": "Ac\u{2066}me"}))
        .send()
        .await
        .unwrap();
    assert_error(
        organization,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let key = app
        .create_key(&owner.token, json!({"instanceName": "Prod\u{200B}"}))
        .await;
    assert_error(key, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let cookie = app.session_cookie(&owner).await;
    let page = app
        .rpc(
            &cookie,
            "create_license_key",
            &[("instance_name", "Prod\u{202A}")],
        )
        .await;
    assert_eq!(page.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"], json!([]));
}

#[tokio::test]
async fn an_idempotent_replay_is_bound_to_the_token_that_made_it() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let other_token = app.new_token(&owner.email, &owner.password).await;
    let create = |token: String| {
        app.api
            .post(app.url("/api/v1/licensing/keys"))
            .bearer_auth(token)
            .header("Idempotency-Key", "nightly-42")
            .json(&json!({"instanceName": "Prod"}))
            .send()
    };
    let first: Value = create(owner.token.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let replayed: Value = create(owner.token.clone())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(first["licenseKey"], replayed["licenseKey"]);
    let other = create(other_token.clone()).await.unwrap();
    assert_eq!(other.status(), StatusCode::CREATED);
    let other: Value = other.json().await.unwrap();
    assert_ne!(
        other["licenseKey"], first["licenseKey"],
        "another token never gets the first key"
    );
    assert_ne!(other["id"], first["id"]);
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn expired_tokens_and_invitations_are_swept() {
    let first = spawn_app_with(|settings| settings.token_ttl = std::time::Duration::ZERO).await;
    let owner = first.register("ana@acme.test", "Acme").await;
    let db = storno_licensing::db::Db::connect(&first.database_url, None)
        .await
        .unwrap();
    let count = |table: &'static str| {
        let pool = db.pool.clone();
        async move {
            let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}"))
                .fetch_one(&pool)
                .await
                .unwrap();
            n
        }
    };
    // The token is expired at once, so invite through the database.
    sqlx::query(
        "INSERT INTO invitations (id, organization_id, email, role, invited_by, created_at, expires_at) \
         SELECT '0190a000-0000-7000-8000-0000000000ee', $1, 'late@mail.test', 'member', id, 0, 1 \
         FROM users WHERE email = 'ana@acme.test'",
    )
    .bind(&owner.organization_id)
    .execute(&db.pool)
    .await
    .unwrap();
    assert_eq!(
        (count("api_tokens").await, count("invitations").await),
        (1, 1)
    );
    // The sweep runs when a server starts, then every few minutes.
    let database_url = first.database_url.clone();
    let _second = spawn_app_with(|settings| settings.database_url = database_url).await;
    let mut left = (1, 1);
    for _ in 0..200 {
        left = (count("api_tokens").await, count("invitations").await);
        if left == (0, 0) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(left, (0, 0));
}

#[tokio::test]
async fn keys_are_listed_a_page_at_a_time_newest_first() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let mut created = Vec::new();
    for i in 0..5 {
        let key = app
            .created_key(&owner.token, json!({"instanceName": format!("i{i}")}))
            .await;
        created.push(key["id"].as_str().unwrap().to_string());
    }
    created.reverse();
    let mut seen = Vec::new();
    let mut path = "/api/v1/licensing/keys?limit=2".to_string();
    loop {
        let page = app.get_json(&path, &owner.token, None).await;
        let keys = page["keys"].as_array().unwrap();
        assert!(keys.len() <= 2);
        seen.extend(keys.iter().map(|k| k["id"].as_str().unwrap().to_string()));
        match page["nextBefore"].as_str() {
            Some(next) => path = format!("/api/v1/licensing/keys?limit=2&before={next}"),
            None => break,
        }
    }
    assert_eq!(seen, created);
    let unpaged = app
        .get_json("/api/v1/licensing/keys", &owner.token, None)
        .await;
    assert_eq!(unpaged["keys"].as_array().unwrap().len(), 5);
    assert_eq!(unpaged["nextBefore"], Value::Null);
    let clamped = app
        .get_json("/api/v1/licensing/keys?limit=0", &owner.token, None)
        .await;
    assert_eq!(clamped["keys"].as_array().unwrap().len(), 1);
    for bad in ["limit=many", "before=not-a-key-id"] {
        let response = app
            .api
            .get(app.url(&format!("/api/v1/licensing/keys?{bad}")))
            .bearer_auth(&owner.token)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
}

#[tokio::test]
async fn long_lists_are_paged_on_the_page_and_the_audit_limit_is_the_documented_200() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let statuses: Vec<StatusCode> = futures::stream::iter(0..205)
        .map(|_| async { app.create_key(&owner.token, json!({})).await.status() })
        .buffer_unordered(16)
        .collect()
        .await;
    assert!(statuses.iter().all(|s| *s == StatusCode::CREATED));

    let audit = app
        .get_json("/api/v1/audit?limit=1000", &owner.token, None)
        .await;
    assert_eq!(audit["events"].as_array().unwrap().len(), 200);
    assert!(audit["nextBefore"].is_string());
    let keys = app
        .get_json("/api/v1/licensing/keys?limit=1000", &owner.token, None)
        .await;
    assert_eq!(keys["keys"].as_array().unwrap().len(), 200);

    let cookie = app.session_cookie(&owner).await;
    let first = app.page_html(&cookie, "/keys").await;
    assert_eq!(first.matches("data-key-id=").count(), 50);
    let older = first
        .split("href=\"/keys?before=")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("an Older keys link")
        .to_string();
    let second = app
        .page_html(&cookie, &format!("/keys?before={older}"))
        .await;
    assert_eq!(second.matches("data-key-id=").count(), 50);
    assert!(
        !second.contains(&format!("data-key-id=\"{older}\"")),
        "pages do not overlap"
    );
}

#[tokio::test]
async fn a_mixed_load_of_writes_and_validations_never_answers_5xx() {
    let app = spawn_app_with(|settings| settings.rate_limits.sign_up_per_ip = 1000).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let mut keys = Vec::new();
    for _ in 0..12 {
        let key = app.created_key(&owner.token, json!({})).await;
        keys.push((
            key["id"].as_str().unwrap().to_string(),
            key["licenseKey"].as_str().unwrap().to_string(),
        ));
    }
    let mut requests = Vec::new();
    for round in 0..60 {
        let (id, key) = keys[round % keys.len()].clone();
        requests.push(app.api.post(app.url("/api/v1/licensing/validate")).json(
            &json!({"licenseKey": key, "instanceUrl": format!("https://erp{round}.test"), "metrics": {"userCount": 2}}),
        ));
        if round % 3 == 0 {
            requests.push(
                app.api
                    .post(app.url("/api/v1/licensing/keys"))
                    .bearer_auth(&owner.token)
                    .json(&json!({})),
            );
        }
        if round % 10 == 0 {
            requests.push(
                app.api
                    .post(app.url(&format!("/api/v1/licensing/keys/{id}/rotate")))
                    .bearer_auth(&owner.token)
                    .json(&json!({})),
            );
        }
        if round % 10 == 5 {
            requests.push(
                app.api
                    .delete(app.url(&format!("/api/v1/licensing/keys/{id}")))
                    .bearer_auth(&owner.token),
            );
        }
        if round % 12 == 0 {
            requests.push(app.api.post(app.url("/api/v1/auth/register")).json(&json!({
                "email": format!("user{round}@acme.test"),
                "password": "correct horse battery staple",
                "organizationName": "Load"
            })));
        }
    }
    let statuses: Vec<StatusCode> = futures::stream::iter(requests)
        .map(|request| async move { request.send().await.unwrap().status() })
        .buffer_unordered(40)
        .collect()
        .await;
    let errors: Vec<&StatusCode> = statuses.iter().filter(|s| s.is_server_error()).collect();
    assert!(
        errors.is_empty(),
        "{} of {} answered 5xx: {errors:?}",
        errors.len(),
        statuses.len()
    );
    assert!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count()
            >= 20
    );
}

/// Reads from `stream` until the server closes it; how long that took, or `None`
/// if it was still open after `within`.
async fn closed_within(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(within, async {
        while !matches!(stream.read(&mut buffer).await, Ok(0) | Err(_)) {}
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

async fn app_with_idle_timeout_of_2_seconds() -> (TestApp, String) {
    let app = spawn_app_with(|settings| {
        settings.connection_idle_timeout = std::time::Duration::from_secs(2);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_string();
    (app, address)
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_dropped_even_trickling() {
    use tokio::io::AsyncWriteExt;
    let (_app, address) = app_with_idle_timeout_of_2_seconds().await;
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"GET /sign-in HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // A byte every 300 ms: a timer that only waits for silence would never fire.
    tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    });
    let closed = closed_within(&mut reader, std::time::Duration::from_secs(15)).await;
    let closed = closed.expect("the server dropped the connection");
    assert!(
        closed >= std::time::Duration::from_millis(1500),
        "{closed:?}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_dropped_after_its_request() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_app, address) = app_with_idle_timeout_of_2_seconds().await;
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /api/v1/version HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 4096];
    let read = stream.read(&mut answer).await.unwrap();
    assert!(
        answer[..read].starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(&answer[..read])
    );
    let closed = closed_within(&mut stream, std::time::Duration::from_secs(15)).await;
    assert!(closed.is_some(), "an idle connection is not held open");
}

#[tokio::test]
async fn creating_keys_organizations_and_invitations_is_limited_per_minute_and_keys_stay_uncapped()
{
    let app = spawn_app_with(|settings| {
        // A burst of 6, then one more key every 10 seconds.
        settings.rate_limits.keys_per_organization = 6;
        settings.rate_limits.organizations_per_account = 2;
        settings.rate_limits.invitations_per_organization = 2;
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let mut created = 0;
    let refused = loop {
        let answer = app.create_key(&owner.token, json!({})).await;
        if answer.status() != StatusCode::CREATED {
            break answer;
        }
        created += 1;
        assert!(created <= 30, "no limit reached");
    };
    assert!((6..=7).contains(&created), "{created}");
    let retry_after: u64 = refused.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=11).contains(&retry_after), "{retry_after}");
    assert_error(refused, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // The page's door is the same service: refused as well.
    let page = app
        .rpc(&cookie, "create_license_key", &[("instance_name", "Page")])
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
    // A rate, not a cap: once the wait is over, keys are created again.
    tokio::time::sleep(std::time::Duration::from_secs(retry_after)).await;
    let later = app.create_key(&owner.token, json!({})).await;
    assert_eq!(later.status(), StatusCode::CREATED);

    let create_organization = |name: String| {
        app.api
            .post(app.url("/api/v1/organizations"))
            .bearer_auth(&owner.token)
            .json(&json!({ "name": name }))
            .send()
    };
    for n in 0..2 {
        let organization = create_organization(format!("Other {n}")).await.unwrap();
        assert_eq!(organization.status(), StatusCode::CREATED);
    }
    let third = create_organization("One too many".into()).await.unwrap();
    assert_error(third, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    for n in 0..2 {
        let invited = app
            .invite(&owner, &format!("guest{n}@acme.test"), "member")
            .await;
        assert_eq!(invited.status(), StatusCode::CREATED);
    }
    let third = app.invite(&owner, "guest2@acme.test", "member").await;
    assert_error(third, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}
