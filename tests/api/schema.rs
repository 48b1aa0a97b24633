//! The schema itself refuses what must never exist, whatever the code or the
//! concurrency: a second owner, a duplicate key.

use crate::helpers::*;
use serde_json::{json, Value};
use storno_licensing::db::Db;

#[tokio::test]
async fn a_second_owner_or_a_duplicate_key_hash_cannot_be_stored() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let other = app.register("bob@acme.test", "Bob's").await;
    app.create_key(&owner.token, json!({})).await;
    let db = Db::connect(&app.database_url, None).await.unwrap();

    let bob_id: (String,) = sqlx::query_as("SELECT id FROM users WHERE email = 'bob@acme.test'")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    let second_owner = sqlx::query(
        "INSERT INTO memberships (id, organization_id, user_id, role, created_at) \
         VALUES ('x', $1, $2, 'owner', 0)",
    )
    .bind(&owner.organization_id)
    .bind(&bob_id.0)
    .execute(&db.pool)
    .await;
    assert!(second_owner.is_err(), "a second owner was stored");

    let duplicate_hash = sqlx::query(
        "INSERT INTO license_keys (id, organization_id, key_hash, masked_key, created_by, created_at) \
         SELECT 'copy', $1, key_hash, masked_key, created_by, created_at FROM license_keys",
    )
    .bind(&other.organization_id)
    .execute(&db.pool)
    .await;
    assert!(duplicate_hash.is_err(), "a duplicate key hash was stored");

    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn creation_events_recorded_before_the_key_row_kept_them_stay_in_the_activity_log() {
    use sqlx::migrate::Migrator;
    use std::borrow::Cow;
    use storno_licensing::db::MIGRATOR;
    // A database as the release before creation records moved into the key rows left it.
    let directory = tempfile::tempdir().unwrap();
    let (database_url, _) = fresh_database(directory.path()).await;
    let db = Db::connect(&database_url, None).await.unwrap();
    let earlier = Migrator {
        migrations: Cow::Owned(
            MIGRATOR
                .migrations
                .iter()
                .filter(|migration| migration.version < 20261127000004)
                .cloned()
                .collect(),
        ),
        ..Migrator::DEFAULT
    };
    earlier.run(&db.pool).await.unwrap();
    for statement in [
        "INSERT INTO users (id, email, password_hash, created_at) VALUES ('0190a000-0000-7000-8000-0000000000bb', 'old@acme.test', 'x', 0)",
        "INSERT INTO organizations (id, name, created_at) VALUES ('0190a000-0000-7000-8000-0000000000aa', 'Old', 0)",
        "INSERT INTO license_keys (id, organization_id, key_hash, masked_key, created_by, created_at) \
         VALUES ('0190a000-0000-7000-8000-000000000001', '0190a000-0000-7000-8000-0000000000aa', 'h', 'abcdefgh...12345678', '0190a000-0000-7000-8000-0000000000bb', 100)",
        "INSERT INTO audit_events (id, organization_id, actor_user_id, action, target_id, ip, user_agent, created_at) \
         VALUES ('0190a000-0000-7000-8000-000000000002', '0190a000-0000-7000-8000-0000000000aa', '0190a000-0000-7000-8000-0000000000bb', 'license_key.created', \
                 '0190a000-0000-7000-8000-000000000001', '10.0.0.1', 'old-client/1.0', 100)",
    ] {
        sqlx::query(statement).execute(&db.pool).await.unwrap();
    }
    db.pool.close().await;

    // The new release migrates it at start-up; its owner reads the activity log.
    let app = spawn_app_with(|settings| settings.database_url = database_url.clone()).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let db = Db::connect(&database_url, None).await.unwrap();
    sqlx::query(
        "INSERT INTO memberships (id, organization_id, user_id, role, created_at) \
         SELECT '0190a000-0000-7000-8000-0000000000cc', '0190a000-0000-7000-8000-0000000000aa', id, 'owner', 0 FROM users WHERE email = 'ana@acme.test'",
    )
    .execute(&db.pool)
    .await
    .unwrap();
    let log: Value = app
        .get_json(
            "/api/v1/audit",
            &owner.token,
            Some("0190a000-0000-7000-8000-0000000000aa"),
        )
        .await;
    let events: Vec<&Value> = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|event| event["action"] != "token.created")
        .collect();
    assert_eq!(events.len(), 1, "{log}");
    assert_eq!(events[0]["action"], "license_key.created");
    assert_eq!(
        events[0]["targetId"],
        "0190a000-0000-7000-8000-000000000001"
    );
    assert_eq!(events[0]["actorEmail"], "old@acme.test");
    assert_eq!(events[0]["ip"], "10.0.0.1");
    assert_eq!(events[0]["userAgent"], "old-client/1.0");
    let moved: (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE action = 'license_key.created'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    assert_eq!(moved.0, 0, "the event now lives in the key row only");
}
