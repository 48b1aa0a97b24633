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

#[tokio::test]
async fn keys_tokens_and_passwords_are_not_stored_or_logged() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let created: Value = app
        .create_key(&owner.token, json!({"instanceName": "Production"}))
        .await
        .json()
        .await
        .unwrap();
    let key = created["licenseKey"].as_str().unwrap();
    app.sign_in_browser(&owner).await;
    let from_page: Value = app
        .server_fn("create_license_key", &[("instance_name", "Page")])
        .await
        .json()
        .await
        .unwrap();
    let page_key = from_page["licenseKey"].as_str().unwrap();

    let database = database_bytes(&app).await;
    assert!(!database.is_empty());
    assert!(
        contains(&database, b"ana@acme.test"),
        "the check reads the real file"
    );
    let logs = captured_logs();
    assert!(
        logs.contains("license key created"),
        "the check reads the real logs"
    );
    let raw_key = |hex_key: &str| {
        (0..hex_key.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex_key[i..i + 2], 16).unwrap())
            .collect::<Vec<u8>>()
    };
    for secret in [key, page_key, owner.token.as_str(), owner.password.as_str()] {
        assert!(
            !contains(&database, secret.as_bytes()),
            "a secret is in the database"
        );
        assert!(!logs.contains(secret), "a secret is in the logs");
    }
    for hex_key in [key, page_key] {
        assert!(
            !contains(&database, &raw_key(hex_key)),
            "raw key bytes in the database"
        );
    }
}
