//! `/api/v1/auth/*` and `/api/v1/organizations/*`.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn register_creates_user_owned_organization_and_token() {
    let app = spawn_app().await;
    let response = app
        .api
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": " Ana@Acme.TEST ", "password": "twelve chars", "organizationName": " Acme "}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["user"]["email"], "ana@acme.test");
    assert!(uuid::Uuid::parse_str(body["user"]["id"].as_str().unwrap()).is_ok());
    assert_eq!(body["organization"]["name"], "Acme");
    assert_eq!(body["organization"]["role"], "owner");
    assert_eq!(body["organization"]["plan"], "community");
    let token = body["token"].as_str().unwrap();
    assert!(token.len() >= 32, "at least 128 bits of entropy");

    let organizations: Value = app.get_json("/api/v1/organizations", token, None).await;
    assert_eq!(
        organizations,
        json!({"organizations": [{"id": body["organization"]["id"], "name": "Acme", "role": "owner", "plan": "community"}]})
    );
}

#[tokio::test]
async fn register_refuses_duplicates_and_invalid_input() {
    let app = spawn_app().await;
    app.register("ana@acme.test", "Acme").await;
    let register = |email: &str, password: &str, organization: &str| {
        app.api
            .post(app.url("/api/v1/auth/register"))
            .json(&json!({"email": email, "password": password, "organizationName": organization}))
            .send()
    };
    assert_error(
        register("ANA@acme.test", "another password", "Other")
            .await
            .unwrap(),
        StatusCode::CONFLICT,
        "email_taken",
    )
    .await;
    assert_error(
        register("not-an-email", "long enough pw", "Org")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(
        register("bo@acme.test", "short", "Org").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(
        register("bo@acme.test", "long enough pw", "   ")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let missing = app
        .api
        .post(app.url("/api/v1/auth/register"))
        .json(&json!({"email": "bo@acme.test"}))
        .send()
        .await
        .unwrap();
    assert_error(
        missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    // None of the refused attempts left a user behind.
    let token = app
        .api
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": "bo@acme.test", "password": "long enough pw"}))
        .send()
        .await
        .unwrap();
    assert_eq!(token.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn token_is_issued_for_the_right_password_only() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let issue = |email: &str, password: &str| {
        app.api
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"email": email, "password": password}))
            .send()
    };
    let response = issue("ana@acme.test", &owner.password).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let body: Value = response.json().await.unwrap();
    assert!(is_contract_timestamp(body["expiresAt"].as_str().unwrap()));
    let token = body["token"].as_str().unwrap();
    assert_ne!(token, owner.token);
    assert_eq!(app.list_keys(token).await.status(), StatusCode::OK);

    let wrong_password = assert_error(
        issue("ana@acme.test", "wrong password!!").await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    let unknown_email = assert_error(
        issue("nobody@acme.test", "wrong password!!").await.unwrap(),
        StatusCode::UNAUTHORIZED,
        "invalid_credentials",
    )
    .await;
    assert_eq!(wrong_password, unknown_email, "the same answer for both");
}

#[tokio::test]
async fn revoking_a_token_leaves_the_others_working() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let second_token = app.new_token(&owner.email, &owner.password).await;
    let revoke = app
        .api
        .delete(app.url("/api/v1/auth/token"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        app.list_keys(&owner.token).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.list_keys(&second_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn create_organization_makes_the_caller_its_owner() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let response = app
        .api
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&owner.token)
        .json(&json!({"name": "Acme Labs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["name"], "Acme Labs");
    assert_eq!(created["role"], "owner");
    assert_eq!(created["plan"], "community");
    let empty = app
        .api
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&owner.token)
        .json(&json!({"name": " "}))
        .send()
        .await
        .unwrap();
    assert_error(empty, StatusCode::UNPROCESSABLE_ENTITY, "validation_failed").await;
    let listed: Value = app
        .get_json("/api/v1/organizations", &owner.token, None)
        .await;
    let names: Vec<&str> = listed["organizations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Acme", "Acme Labs"]);
}
