//! Validation, revocation, rotation, plans and the audit log.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn validate_refuses_malformed_unknown_and_revoked_keys() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (id, key) = app.new_key(&owner.token, "Prod").await;

    for body in [
        json!({}),
        json!({"licenseKey": 5}),
        json!({"licenseKey": "abc"}),
        json!({"licenseKey": key.to_uppercase()}),
    ] {
        let refused = assert_error(
            app.validate(body.clone()).await,
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
        assert_eq!(refused["error"], "licenseKey is required", "{body}");
    }
    let unknown = app.validate(json!({"licenseKey": "0".repeat(64)})).await;
    assert!(unknown.headers().contains_key("www-authenticate"));
    let body = assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_license_key").await;
    assert_eq!(body["valid"], false);
    assert_eq!(body["error"], "Invalid or revoked license key");

    let revoked = app
        .api
        .delete(app.url(&format!("/api/v1/licensing/keys/{id}")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(revoked.status(), StatusCode::OK);
    assert_eq!(
        revoked.json::<Value>().await.unwrap(),
        json!({"status": "revoked"})
    );
    let after = assert_error(
        app.validate(json!({"licenseKey": key})).await,
        StatusCode::UNAUTHORIZED,
        "invalid_license_key",
    )
    .await;
    assert_eq!(after["valid"], false);
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(
        listed["keys"][0]["active"], false,
        "revoked keys stay listed"
    );
}

#[tokio::test]
async fn revoke_is_owner_only_and_scoped_to_the_organization() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (id, key) = app.new_key(&owner.token, "Prod").await;
    let stranger = app.register("eve@evil.test", "Evil").await;
    let member = app.member_of(&owner, "bob@acme.test", "admin").await;
    let delete = |token: &str, path: String, organization: Option<&str>| {
        let mut request = app.api.delete(app.url(&path)).bearer_auth(token);
        if let Some(organization) = organization {
            request = request.header("X-Organization", organization);
        }
        request.send()
    };
    let path = format!("/api/v1/licensing/keys/{id}");
    assert_error(
        delete(&stranger.token, path.clone(), None).await.unwrap(),
        StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;
    assert_error(
        delete(&member.token, path.clone(), Some(&owner.organization_id))
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        delete(
            &owner.token,
            "/api/v1/licensing/keys/not-a-uuid".into(),
            None,
        )
        .await
        .unwrap(),
        StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;
    assert_error(
        delete(
            &owner.token,
            format!("/api/v1/licensing/keys/{}", uuid::Uuid::now_v7()),
            None,
        )
        .await
        .unwrap(),
        StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;
    assert_eq!(
        app.validate(json!({"licenseKey": key})).await.status(),
        StatusCode::OK,
        "still valid"
    );

    assert_eq!(
        delete(&owner.token, path.clone(), None)
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    // Revoking again changes nothing and says so the same way.
    assert_eq!(
        delete(&owner.token, path, None).await.unwrap().status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn rotation_returns_a_new_key_and_the_old_one_works_for_the_grace_period() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (old_id, old_key) = app.new_key(&owner.token, "Prod").await;
    let rotate = |id: &str, body: Value| {
        app.api
            .post(app.url(&format!("/api/v1/licensing/keys/{id}/rotate")))
            .bearer_auth(&owner.token)
            .json(&body)
            .send()
    };

    // Only the owner, only in their organization.
    let member = app.member_of(&owner, "bob@acme.test", "admin").await;
    let stranger = app.register("eve@evil.test", "Evil").await;
    let rotate_as = |token: String, organization: Option<String>| {
        let mut request = app
            .api
            .post(app.url(&format!("/api/v1/licensing/keys/{old_id}/rotate")))
            .bearer_auth(token)
            .json(&json!({}));
        if let Some(organization) = organization {
            request = request.header("X-Organization", organization);
        }
        request.send()
    };
    let as_member = rotate_as(member.token.clone(), Some(owner.organization_id.clone()));
    assert_error(as_member.await.unwrap(), StatusCode::FORBIDDEN, "forbidden").await;
    let as_stranger = rotate_as(stranger.token.clone(), None);
    assert_error(
        as_stranger.await.unwrap(),
        StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;

    let response = rotate(&old_id, json!({})).await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().contains_key("location"));
    let rotated: Value = response.json().await.unwrap();
    assert_eq!(rotated["replaces"], old_id.as_str());
    assert_eq!(rotated["instanceName"], "Prod");
    let new_key = rotated["licenseKey"].as_str().unwrap();
    assert!(is_lower_hex(new_key, 64));
    assert_ne!(new_key, old_key);
    // Default grace: 24 hours, so both validate now.
    assert_eq!(
        app.validate(json!({"licenseKey": old_key})).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.validate(json!({"licenseKey": new_key})).await.status(),
        StatusCode::OK
    );
    // A key that is already being replaced cannot be rotated again.
    assert_error(
        rotate(&old_id, json!({})).await.unwrap(),
        StatusCode::CONFLICT,
        "license_key_inactive",
    )
    .await;

    // Grace 0: the old key stops at once.
    let new_id = rotated["id"].as_str().unwrap().to_string();
    let immediate: Value = rotate(&new_id, json!({"gracePeriodHours": 0}))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        app.validate(json!({"licenseKey": new_key})).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        app.validate(json!({"licenseKey": immediate["licenseKey"]}))
            .await
            .status(),
        StatusCode::OK
    );

    for refused in [
        json!({"gracePeriodHours": -1}),
        json!({"gracePeriodHours": 2.5}),
    ] {
        assert_error(
            rotate(&new_id, refused).await.unwrap(),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        )
        .await;
    }
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    let active: Vec<bool> = listed["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k["active"].as_bool().unwrap())
        .collect();
    assert_eq!(
        active,
        [true, false, true],
        "newest first: new, revoked at once, in grace"
    );
}

#[tokio::test]
async fn the_audit_log_records_actions_not_routine_validations_and_no_secrets() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (id, key) = app.new_key(&owner.token, "Prod").await;
    for _ in 0..3 {
        app.validate(json!({"licenseKey": key, "instanceUrl": "https://a.test"}))
            .await;
    }
    app.validate(json!({"licenseKey": key, "instanceUrl": "https://b.test"}))
        .await;
    app.api
        .post(app.url(&format!("/api/v1/licensing/keys/{id}/rotate")))
        .bearer_auth(&owner.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();

    let response = app
        .api
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&owner.token)
        .header("User-Agent", "audit-test/1.0")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(
        !text.contains(&key) && !text.contains(&owner.token),
        "no secret in the log"
    );
    let page: Value = serde_json::from_str(&text).unwrap();
    let actions: Vec<&str> = page["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(
        actions,
        [
            "license_key.rotated",
            "license_key.new_instance_url",
            "license_key.activated",
            "license_key.created"
        ]
    );
    let created = &page["events"][3];
    assert_eq!(created["actorEmail"], "ana@acme.test");
    assert_eq!(created["targetId"], id.as_str());
    assert_eq!(created["ip"], "127.0.0.1");

    let first: Value = app
        .get_json("/api/v1/audit?limit=2", &owner.token, None)
        .await;
    assert_eq!(first["events"].as_array().unwrap().len(), 2);
    let next = first["nextBefore"].as_str().unwrap();
    let second: Value = app
        .get_json(
            &format!("/api/v1/audit?limit=2&before={next}"),
            &owner.token,
            None,
        )
        .await;
    assert_eq!(second["events"][0]["action"], "license_key.activated");

    // Tokens are the person's own: recorded on their account, not the organization's.
    let second_token = app.new_token(&owner.email, &owner.password).await;
    app.api
        .delete(app.url("/api/v1/auth/token"))
        .bearer_auth(&second_token)
        .send()
        .await
        .unwrap();
    let latest: Value = app
        .get_json("/api/v1/account/activity?limit=2", &owner.token, None)
        .await;
    let latest: Vec<&str> = latest["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(latest, ["token.revoked", "token.created"]);

    let member = app.member_of(&owner, "bob@acme.test", "member").await;
    let refused = app
        .api
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&member.token)
        .header("X-Organization", &owner.organization_id)
        .send()
        .await
        .unwrap();
    assert_error(refused, StatusCode::FORBIDDEN, "forbidden").await;
}

#[tokio::test]
async fn a_base_url_ending_in_a_slash_still_reaches_validate() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (_, key) = app.new_key(&owner.token, "Prod").await;
    // As a deployed client sends it: `{base}/` + `/api/v1/licensing/validate`, JSON with
    // escaped slashes, no Authorization header.
    let body = format!(
        r#"{{"licenseKey":"{key}","instanceUrl":"https:\/\/erp.acme.test","metrics":{{"userCount":2}}}}"#
    );
    let response = app
        .api
        .post(format!("{}//api/v1/licensing/validate", app.address))
        .header("Content-Type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let answer: Value = response.json().await.unwrap();
    assert_eq!(answer["valid"], true);
    assert_eq!(answer["organizationId"], owner.organization_id.as_str());
    // Folded anywhere in the path, query kept; pages are not touched.
    let listed = app
        .api
        .get(format!("{}/api//v1//licensing/keys?limit=1", app.address))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(listed.status(), StatusCode::OK);
    assert_eq!(
        listed.json::<Value>().await.unwrap()["keys"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let page = app
        .browser
        .get(format!("{}//sign-in", app.address))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::NOT_FOUND);
}
