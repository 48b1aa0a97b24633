//! Secrets never rest in plain text: not in the database file, not in the logs.

use crate::helpers::*;
use serde_json::{json, Value};

/// Everything the database holds: the SQLite files byte for byte, or every row of
/// every PostgreSQL table (sessions included) as text.
async fn database_bytes(app: &TestApp) -> Vec<u8> {
    let mut bytes = Vec::new();
    if let Some(file) = app.database_url.strip_prefix("sqlite://") {
        for suffix in ["", "-wal", "-shm"] {
            if let Ok(content) = std::fs::read(format!("{file}{suffix}")) {
                bytes.extend(content);
            }
        }
        return bytes;
    }
    let pool = sqlx::PgPool::connect(&app.database_url).await.unwrap();
    let tables: Vec<(String, String)> = sqlx::query_as(
        "SELECT table_schema::text, table_name::text FROM information_schema.tables \
         WHERE table_schema NOT IN ('pg_catalog', 'information_schema')",
    )
    .fetch_all(&pool)
    .await
    .unwrap();
    assert!(tables.len() >= 5, "{tables:?}");
    for (schema, table) in tables {
        let rows: Vec<(String,)> = sqlx::query_as(&format!(
            "SELECT row_to_json(t)::text FROM \"{schema}\".\"{table}\" t"
        ))
        .fetch_all(&pool)
        .await
        .unwrap();
        for (row,) in rows {
            bytes.extend(row.into_bytes());
        }
    }
    bytes
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// The whole life of a customer's secrets, logged at TRACE: sign-up, a second
/// token, a browser session, keys created through both doors (one with an
/// `Idempotency-Key`, so its answer is kept for replay), listed, rotated and
/// validated. None of the secrets may rest in plain text anywhere.
#[tokio::test]
async fn no_key_token_password_or_session_id_is_stored_or_logged() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let second_token = app.new_token(&owner.email, &owner.password).await;
    let cookie = app.session_cookie(&owner).await;
    let session_id = cookie.split_once('=').unwrap().1.to_string();

    let mut keys = Vec::new();
    let created = app
        .created_key(&owner.token, json!({"instanceName": "Production"}))
        .await;
    keys.push(created["licenseKey"].as_str().unwrap().to_string());
    let replayable: Value = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(&second_token)
        .header("Idempotency-Key", "scenario")
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    keys.push(replayable["licenseKey"].as_str().unwrap().to_string());
    let from_page: Value = app
        .rpc(&cookie, "create_license_key", &[("instance_name", "Page")])
        .await
        .json()
        .await
        .unwrap();
    keys.push(from_page["licenseKey"].as_str().unwrap().to_string());
    let listed = app
        .get_json("/api/v1/licensing/keys", &owner.token, None)
        .await;
    assert_eq!(listed["keys"].as_array().unwrap().len(), 3);
    let rotated: Value = app
        .api
        .post(app.url(&format!(
            "/api/v1/licensing/keys/{}/rotate",
            created["id"].as_str().unwrap()
        )))
        .bearer_auth(&owner.token)
        .header("Idempotency-Key", "scenario-rotation")
        .json(&json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    keys.push(rotated["licenseKey"].as_str().unwrap().to_string());
    for key in &keys {
        let validated = app
            .api
            .post(app.url("/api/v1/licensing/validate"))
            .json(&json!({"licenseKey": key, "instanceUrl": "https://erp.acme.test"}))
            .send()
            .await
            .unwrap();
        assert!(validated.status().is_success(), "{}", validated.status());
    }

    let database = database_bytes(&app).await;
    assert!(
        contains(&database, b"ana@acme.test"),
        "the check reads the real database"
    );
    let logs = captured_logs();
    assert!(
        logs.contains("license key created") && logs.contains("license key rotated"),
        "the check reads the real logs"
    );
    let raw_key = |hex_key: &str| {
        (0..hex_key.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex_key[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    let mut secrets: Vec<&str> = keys.iter().map(String::as_str).collect();
    secrets.extend([
        owner.token.as_str(),
        second_token.as_str(),
        owner.password.as_str(),
        session_id.as_str(),
    ]);
    for secret in secrets {
        assert!(
            !contains(&database, secret.as_bytes()),
            "a secret is in the database"
        );
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
    for key in &keys {
        assert!(
            !contains(&database, &raw_key(key)),
            "raw key bytes in the database"
        );
    }
}

/// Without JavaScript the create form is answered by a redirect, and the new key
/// waits in the session for the view of the page it leads to: sealed, shown once,
/// and only there (the page's other views do not read the session for it).
#[tokio::test]
async fn a_key_awaiting_its_no_javascript_reveal_is_sealed_and_shown_once() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let posted = app
        .api
        .post(app.url("/rpc/create_license_key"))
        .header("Origin", &app.address)
        .header("Referer", app.url("/keys"))
        .header("Accept", "text/html")
        .header("Cookie", &cookie)
        .form(&[("instance_name", "Plain")])
        .send()
        .await
        .unwrap();
    assert!(posted.status().is_redirection(), "{}", posted.status());
    let location = posted.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(location, "/keys?reveal=1");

    let listed = app
        .get_json("/api/v1/licensing/keys", &owner.token, None)
        .await;
    let masked = listed["keys"][0]["licenseKey"]
        .as_str()
        .unwrap()
        .to_string();
    let app = &app;
    let page = |path: &'static str, cookie: String| async move {
        app.api
            .get(app.url(path))
            .header("Cookie", cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    };
    let stashed = database_bytes(app).await;
    let elsewhere = page("/keys", cookie.clone()).await;
    assert!(elsewhere.contains(&masked));
    assert!(
        !elsewhere.contains("revealed-key"),
        "revealed on its view only"
    );
    let first = page("/keys?reveal=1", cookie.clone()).await;
    let key = first
        .split("data-testid=\"revealed-key\"")
        .nth(1)
        .and_then(|rest| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split('<').next())
        .expect("the page reveals the key")
        .to_string();
    assert!(is_lower_hex(&key, 64));
    assert_eq!(format!("{}...{}", &key[..8], &key[56..]), masked);
    assert!(
        !contains(&stashed, key.as_bytes()),
        "the waiting key is not in the database in plain text"
    );
    let second = page("/keys?reveal=1", cookie).await;
    assert!(second.contains(&masked));
    assert!(!second.contains(&key), "shown once");
}
