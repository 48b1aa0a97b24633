//! The authorization matrix, from the attacker's side: every way of calling the
//! license-key endpoints without being the organization's owner.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::time::Duration;

async fn assert_unauthorized(response: reqwest::Response) {
    assert!(
        response
            .headers()
            .get("www-authenticate")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("Bearer")),
        "401 carries WWW-Authenticate: Bearer"
    );
    assert_error(response, StatusCode::UNAUTHORIZED, "unauthorized").await;
}

#[tokio::test]
async fn missing_or_malformed_credentials_are_401() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let url = app.url("/api/v1/licensing/keys");

    assert_unauthorized(app.api.post(&url).json(&json!({})).send().await.unwrap()).await;
    assert_unauthorized(app.api.get(&url).send().await.unwrap()).await;
    for header in [
        "Bearer".to_string(),
        "Bearer    ".to_string(),
        format!("Basic {}", owner.token),
        owner.token.clone(),
        "Bearer stl_0000000000000000000000000000000000000000000000000000000000000000".to_string(),
        format!("Bearer {}x", owner.token),
    ] {
        let response = app
            .api
            .post(&url)
            .header("authorization", header)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_unauthorized(response).await;
    }
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"], json!([]));
}

#[tokio::test]
async fn a_revoked_token_is_401() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let revoke = app
        .api
        .delete(app.url("/api/v1/auth/token"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoke.status(), StatusCode::NO_CONTENT);
    assert_unauthorized(app.create_key(&owner.token, json!({})).await).await;
    assert_unauthorized(app.list_keys(&owner.token).await).await;
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let app = spawn_app_with(|settings| settings.token_ttl = Duration::ZERO).await;
    let owner = app.register("owner@acme.test", "Acme").await;
    assert_unauthorized(app.create_key(&owner.token, json!({})).await).await;
}

#[tokio::test]
async fn admins_and_members_are_403_on_both_endpoints() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    app.create_key(&owner.token, json!({"instanceName": "Prod"}))
        .await;
    for role in ["admin", "member"] {
        let person = app
            .member_of(&owner, &format!("{role}@acme.test"), role)
            .await;
        let header = ("X-Organization", owner.organization_id.as_str());
        let create = app
            .api
            .post(app.url("/api/v1/licensing/keys"))
            .bearer_auth(&person.token)
            .header(header.0, header.1)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(create, StatusCode::FORBIDDEN, "forbidden").await;
        let list = app
            .api
            .get(app.url("/api/v1/licensing/keys"))
            .bearer_auth(&person.token)
            .header(header.0, header.1)
            .send()
            .await
            .unwrap();
        assert_error(list, StatusCode::FORBIDDEN, "forbidden").await;
    }
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn another_organizations_owner_cannot_reach_it() {
    let app = spawn_app().await;
    let victim = app.register("owner@acme.test", "Acme").await;
    let victim_key = app
        .created_key(&victim.token, json!({"instanceName": "Prod"}))
        .await;
    let attacker = app.register("owner@evil.test", "Evil").await;

    // Naming the victim's organization: 404, its existence is not revealed.
    for request in [
        app.api
            .post(app.url("/api/v1/licensing/keys"))
            .json(&json!({})),
        app.api.get(app.url("/api/v1/licensing/keys")),
    ] {
        let response = request
            .bearer_auth(&attacker.token)
            .header("X-Organization", &victim.organization_id)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::NOT_FOUND, "organization_not_found").await;
    }

    // Without the header they act on their own organization only.
    let attackers_key = app.created_key(&attacker.token, json!({})).await;
    let attackers_list: Value = app.list_keys(&attacker.token).await.json().await.unwrap();
    let ids: Vec<&Value> = attackers_list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["id"])
        .collect();
    assert_eq!(ids, [&attackers_key["id"]]);
    let victims_list: Value = app.list_keys(&victim.token).await.json().await.unwrap();
    let ids: Vec<&Value> = victims_list["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| &k["id"])
        .collect();
    assert_eq!(ids, [&victim_key["id"]]);
}

#[tokio::test]
async fn unknown_or_malformed_organizations_are_404() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    for organization in ["019c8a12-4567-7abc-def0-123456789abc", "not-a-uuid", ""] {
        let response = app
            .api
            .post(app.url("/api/v1/licensing/keys"))
            .bearer_auth(&owner.token)
            .header("X-Organization", organization)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::NOT_FOUND, "organization_not_found").await;
    }
}

#[tokio::test]
async fn x_organization_selects_among_the_callers_organizations() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let second: Value = app
        .api
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&owner.token)
        .json(&json!({"name": "Acme Labs"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let second_id = second["id"].as_str().unwrap();

    let in_second = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(&owner.token)
        .header("X-Organization", second_id)
        .json(&json!({"instanceName": "Labs"}))
        .send()
        .await
        .unwrap();
    assert_eq!(in_second.status(), StatusCode::CREATED);

    let listed_second: Value = app
        .get_json("/api/v1/licensing/keys", &owner.token, Some(second_id))
        .await;
    assert_eq!(listed_second["keys"].as_array().unwrap().len(), 1);
    let listed_first: Value = app
        .get_json(
            "/api/v1/licensing/keys",
            &owner.token,
            Some(&owner.organization_id),
        )
        .await;
    assert_eq!(listed_first["keys"], json!([]));
}

#[tokio::test]
async fn default_organization_is_the_only_owned_one_else_the_first_joined() {
    let app = spawn_app().await;
    let acme = app.register("owner@acme.test", "Acme").await;
    // Registers with an organization of their own, then joins Acme: owns exactly one.
    let member = app.member_of(&acme, "member@acme.test", "member").await;
    let created = app.create_key(&member.token, json!({})).await;
    assert_eq!(
        created.status(),
        StatusCode::CREATED,
        "acts on the one they own"
    );
    let in_own: Value = app
        .get_json(
            "/api/v1/licensing/keys",
            &member.token,
            Some(&member.organization_id),
        )
        .await;
    assert_eq!(in_own["keys"].as_array().unwrap().len(), 1);

    // Owning two: the first joined (their original organization) is the default.
    app.api
        .post(app.url("/api/v1/organizations"))
        .bearer_auth(&member.token)
        .json(&json!({"name": "Second"}))
        .send()
        .await
        .unwrap();
    let default_list: Value = app.list_keys(&member.token).await.json().await.unwrap();
    assert_eq!(default_list["keys"].as_array().unwrap().len(), 1);
    let created = app.create_key(&member.token, json!({})).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let in_own: Value = app
        .get_json(
            "/api/v1/licensing/keys",
            &member.token,
            Some(&member.organization_id),
        )
        .await;
    assert_eq!(
        in_own["keys"].as_array().unwrap().len(),
        2,
        "created in the first joined"
    );
}

#[tokio::test]
async fn the_api_ignores_the_session_cookie() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    app.sign_in_browser(&owner).await;
    // The browser client holds a valid session cookie; without a token the API refuses.
    let response = app
        .browser
        .post(app.url("/api/v1/licensing/keys"))
        .header("Origin", &app.address)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_unauthorized(response).await;
}

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
