//! `Idempotency-Key` on create and rotate: a retry gets the first answer, never a
//! second key; the stored answer is sealed and erased after 24 hours.

use crate::helpers::*;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};
use storno_licensing::db::Db;
use storno_licensing::idempotency::IdempotencyStore;
use storno_licensing::secrets::Pepper;

async fn create_with(app: &TestApp, token: &str, key: &str, body: Value) -> Response {
    app.api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(token)
        .header("Idempotency-Key", key)
        .json(&body)
        .send()
        .await
        .unwrap()
}

async fn answer(response: Response) -> (StatusCode, String, Value) {
    let status = response.status();
    let location = response
        .headers()
        .get("location")
        .map(|value| value.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, location, response.json().await.unwrap())
}

async fn key_count(app: &TestApp, token: &str) -> usize {
    let listed: Value = app.list_keys(token).await.json().await.unwrap();
    listed["keys"].as_array().unwrap().len()
}

#[tokio::test]
async fn a_retry_with_the_same_key_and_body_gets_the_identical_201() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let body = json!({"instanceName": "Production"});

    let first = answer(create_with(&app, &owner.token, "retry-1", body.clone()).await).await;
    let second = answer(create_with(&app, &owner.token, "retry-1", body.clone()).await).await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert!(is_lower_hex(first.2["licenseKey"].as_str().unwrap(), 64));
    assert_eq!(second, first, "status, Location and body, key included");
    assert_eq!(key_count(&app, &owner.token).await, 1);

    // Another key is another request; no header at all is one every time.
    let other = answer(create_with(&app, &owner.token, "retry-2", body.clone()).await).await;
    assert_ne!(other.2["id"], first.2["id"]);
    app.create_key(&owner.token, body.clone()).await;
    app.create_key(&owner.token, body).await;
    assert_eq!(key_count(&app, &owner.token).await, 4);
}

#[tokio::test]
async fn the_same_key_for_another_request_is_422_and_keys_are_per_caller() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let first = create_with(&app, &owner.token, "k", json!({"instanceName": "A"})).await;
    assert_eq!(first.status(), StatusCode::CREATED);

    let changed = create_with(&app, &owner.token, "k", json!({"instanceName": "B"})).await;
    assert_error(
        changed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "idempotency_key_reused",
    )
    .await;
    assert_eq!(key_count(&app, &owner.token).await, 1);

    // Another owner's "k" is theirs alone.
    let rival = app.register("owner@rival.test", "Rival").await;
    let theirs = create_with(&app, &rival.token, "k", json!({"instanceName": "A"})).await;
    assert_eq!(theirs.status(), StatusCode::CREATED);
    assert_eq!(key_count(&app, &rival.token).await, 1);

    for malformed in ["", &"x".repeat(256), "has space"] {
        let response = create_with(&app, &owner.token, malformed, json!({})).await;
        assert_error(response, StatusCode::BAD_REQUEST, "invalid_request").await;
    }
    assert_eq!(key_count(&app, &owner.token).await, 1);
}

#[tokio::test]
async fn concurrent_retries_create_exactly_one_key() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let retries = (0..16).map(|_| async {
        answer(create_with(&app, &owner.token, "storm", json!({"instanceName": "Edge"})).await)
            .await
    });
    let answers = futures::future::join_all(retries).await;
    for retry in &answers {
        assert_eq!(retry.0, StatusCode::CREATED, "{:?}", retry.2);
        assert_eq!(retry, &answers[0]);
    }
    assert_eq!(key_count(&app, &owner.token).await, 1);
}

#[tokio::test]
async fn rotate_is_idempotent_too() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let created = app.created_key(&owner.token, json!({})).await;
    let rotate = || {
        app.api
            .post(app.url(&format!(
                "/api/v1/licensing/keys/{}/rotate",
                created["id"].as_str().unwrap()
            )))
            .bearer_auth(&owner.token)
            .header("Idempotency-Key", "rotate-once")
            .json(&json!({"gracePeriodHours": 1}))
            .send()
    };
    let first = answer(rotate().await.unwrap()).await;
    let again = answer(rotate().await.unwrap()).await;
    assert_eq!(first.0, StatusCode::CREATED);
    assert_eq!(first.2["replaces"], created["id"]);
    assert_eq!(
        again, first,
        "a retry, not a second rotation (which is 409)"
    );
    assert_eq!(key_count(&app, &owner.token).await, 2);
}

#[tokio::test]
async fn the_stored_answer_is_sealed_and_erased_after_24_hours() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let (_, _, first) = answer(create_with(&app, &owner.token, "sealed", json!({})).await).await;
    let key = first["licenseKey"].as_str().unwrap().to_string();

    let pool = Db::connect(&app.database_url, None).await.unwrap().pool;
    let sealed: Vec<(String,)> = sqlx::query_as("SELECT sealed_answer FROM idempotent_requests")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(sealed.len(), 1);
    assert!(
        !sealed[0].0.contains(&key),
        "the key is not stored in plain text"
    );

    // A day later the answer is gone: the same key makes a new request.
    sqlx::query("UPDATE idempotent_requests SET created_at = created_at - 86400")
        .execute(&pool)
        .await
        .unwrap();
    let (status, _, later) =
        answer(create_with(&app, &owner.token, "sealed", json!({})).await).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_ne!(later["id"], first["id"]);

    sqlx::query("UPDATE idempotent_requests SET created_at = created_at - 86400")
        .execute(&pool)
        .await
        .unwrap();
    // Erasing needs no secret: any pepper will do.
    let store = IdempotencyStore::new(pool.clone(), Pepper::new(&[0; 32]).unwrap());
    assert_eq!(store.erase_expired().await.unwrap(), 1);
    let left: Vec<(String,)> = sqlx::query_as("SELECT sealed_answer FROM idempotent_requests")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert!(left.is_empty(), "erased");
}

#[tokio::test]
async fn the_header_changes_nothing_about_who_may_create() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let member = app.member_of(&owner, "member@acme.test", "member").await;
    let refused = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(&member.token)
        .header("X-Organization", &owner.organization_id)
        .header("Idempotency-Key", "k")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .header("Idempotency-Key", "k")
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, StatusCode::UNAUTHORIZED, "unauthorized").await;
    assert_eq!(key_count(&app, &owner.token).await, 0);
}
