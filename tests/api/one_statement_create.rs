//! The one-statement create and the detailed path give the same answer in every
//! case.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// Where a created key landed, read from the database.
async fn organization_of_key(database_url: &str, key_id: &str) -> String {
    let db = storno_licensing::db::Db::connect(database_url, None)
        .await
        .unwrap();
    let (organization,): (String,) =
        sqlx::query_as("SELECT organization_id FROM license_keys WHERE id = $1")
            .bind(key_id)
            .fetch_one(&db.pool)
            .await
            .unwrap();
    organization
}

/// Creates through one path: without `Idempotency-Key` the one-statement create
/// (falling back to the detailed path when it writes nothing); with one, the
/// detailed path alone (resolve the membership, check the owner, insert). The
/// outcome: status and, for a `201`, the organization the key landed in.
async fn create_through(
    app: &TestApp,
    token: &str,
    organization: Option<&str>,
    detailed: bool,
) -> (StatusCode, Option<String>) {
    let mut request = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(token)
        .json(&json!({}));
    if let Some(organization) = organization {
        request = request.header("X-Organization", organization);
    }
    if detailed {
        request = request.header("Idempotency-Key", uuid::Uuid::now_v7().to_string());
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    if status != StatusCode::CREATED {
        return (status, None);
    }
    let body: Value = response.json().await.unwrap();
    let id = body["id"].as_str().unwrap();
    (
        status,
        Some(organization_of_key(&app.database_url, id).await),
    )
}

#[tokio::test]
async fn the_one_statement_create_and_the_detailed_path_agree_on_every_case() {
    let app = spawn_app_with(|settings| settings.rate_limits.sign_up_per_ip = 1000).await;
    let acme = app.register("owner@acme.test", "Acme").await;
    let admin = app.member_of(&acme, "admin@acme.test", "admin").await;
    let member = app.member_of(&acme, "member@acme.test", "member").await;
    // Owns two organizations: the first joined is the default.
    let labs = app.create_organization(&acme.token, "Acme Labs").await;
    let stranger = app.register("eve@evil.test", "Evil").await;
    let revoked = app.new_token(&stranger.email, &stranger.password).await;
    app.api
        .delete(app.url("/api/v1/auth/token"))
        .bearer_auth(&revoked)
        .send()
        .await
        .unwrap();
    let expired = app.new_token(&stranger.email, &stranger.password).await;
    let db = storno_licensing::db::Db::connect(&app.database_url, None)
        .await
        .unwrap();
    sqlx::query("UPDATE api_tokens SET expires_at = 1 WHERE id = (SELECT MAX(id) FROM api_tokens)")
        .execute(&db.pool)
        .await
        .unwrap();
    let unknown = format!("stl_{}", "0".repeat(64));
    let nowhere = uuid::Uuid::now_v7().to_string();

    let cases: Vec<(&str, &str, Option<&str>)> = vec![
        ("owner of two, no header (first joined)", &acme.token, None),
        (
            "owner, own organization",
            &acme.token,
            Some(&acme.organization_id),
        ),
        ("owner, second organization", &acme.token, Some(&labs)),
        (
            "admin, no header (owns exactly one: their own)",
            &admin.token,
            None,
        ),
        ("admin of Acme", &admin.token, Some(&acme.organization_id)),
        ("member of Acme", &member.token, Some(&acme.organization_id)),
        (
            "another organization's owner",
            &stranger.token,
            Some(&acme.organization_id),
        ),
        (
            "an organization that does not exist",
            &acme.token,
            Some(&nowhere),
        ),
        ("a malformed organization", &acme.token, Some("not-a-uuid")),
        ("a revoked token", &revoked, None),
        ("an expired token", &expired, None),
        ("an unknown token", &unknown, None),
    ];
    for (case, token, organization) in cases {
        let fast = create_through(&app, token, organization, false).await;
        let detailed = create_through(&app, token, organization, true).await;
        assert_eq!(fast, detailed, "{case}");
    }
    // The matrix has both outcomes: creations and refusals of every kind.
    let statuses: std::collections::HashSet<u16> = [
        create_through(&app, &acme.token, None, false).await.0,
        create_through(&app, &admin.token, Some(&acme.organization_id), false)
            .await
            .0,
        create_through(&app, &stranger.token, Some(&acme.organization_id), false)
            .await
            .0,
        create_through(&app, &revoked, None, false).await.0,
    ]
    .iter()
    .map(|status| status.as_u16())
    .collect();
    assert_eq!(statuses, [201, 403, 404, 401].into_iter().collect());
}
