//! Bounded work for anonymous callers and the smaller promises of issue "trust
//! between tenants", each from the attacker's side.

use crate::helpers::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

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
