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
