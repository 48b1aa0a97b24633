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
    let db = Db::connect(&app.database_url).await.unwrap();

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
