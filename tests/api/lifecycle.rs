//! Validation, revocation, rotation, plans and the audit log.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn a_plan_without_self_hosting_is_refused_as_upstream_refuses_it_and_still_recorded() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (id, key) = app.new_key(&owner.token, "Prod").await;
    let report = json!({
        "licenseKey": key,
        "instanceUrl": "https://erp.acme.test",
        "metrics": {"orgCount": 1, "userCount": 12, "companyCount": 1, "invoicesThisMonth": 3},
        "someFutureField": true
    });

    // New organizations start on community, which (as upstream) excludes self-hosting.
    let refused = assert_error(
        app.validate(report.clone()).await,
        StatusCode::FORBIDDEN,
        "plan_excludes_self_hosting",
    )
    .await;
    assert_eq!(refused["valid"], false);
    assert_eq!(
        refused["error"],
        "Your current plan does not include self-hosting. Please upgrade to Business."
    );
    assert_eq!(refused["plan"], "community");
    assert!(refused["billingUrl"]
        .as_str()
        .unwrap()
        .ends_with("/settings/billing"));

    // The visit is still recorded: last seen, URL, metrics, violations.
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    let listed = &listed["keys"][0];
    assert_eq!(listed["id"], id.as_str());
    assert_eq!(listed["instanceUrl"], "https://erp.acme.test");
    assert!(is_contract_timestamp(
        listed["lastValidatedAt"].as_str().unwrap()
    ));
    assert_eq!(listed["activatedAt"], listed["lastValidatedAt"]);
    assert_eq!(listed["instanceMetrics"]["userCount"], 12);
    assert_eq!(
        listed["lastViolations"],
        json!(["User limit exceeded: 12 / 3 allowed."])
    );
    let first_activation = listed["activatedAt"].clone();

    // The operator grants self-hosting; the next validation shows it.
    app.set_plan(&owner.organization_id, "business");
    let mut report = report;
    report["metrics"]["orgCount"] = 2.into();
    let response = app.validate(report).await;
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["valid"], true);
    assert_eq!(body["plan"], "business");
    assert_eq!(body["organizationId"], owner.organization_id.as_str());
    assert_eq!(body["organizationName"], "Acme");
    assert_eq!(body["features"].as_object().unwrap().len(), 22);
    assert_eq!(body["features"]["maxUsersPerOrg"], 999999);
    assert_eq!(body["features"]["selfHostingLicense"], true);
    assert_eq!(
        body["violations"],
        json!(["Multiple organizations detected (2). Self-hosted licenses allow 1."])
    );
    assert!(body["billingUrl"]
        .as_str()
        .unwrap()
        .ends_with("/settings/billing"));
    assert!(body.get("trialEndsAt").is_none());

    // activatedAt stays the first validation.
    app.validate(json!({"licenseKey": key})).await;
    let again: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(again["keys"][0]["activatedAt"], first_activation);
    assert_eq!(again["keys"][0]["instanceUrl"], "https://erp.acme.test");
}

#[tokio::test]
async fn billing_url_is_the_operators_when_configured() {
    let app = spawn_app_with(|settings| {
        settings.licensing.billing_url = Some("https://billing.example.com/upgrade".into());
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (_, key) = app.new_key(&owner.token, "Prod").await;
    let refused: Value = app
        .validate(json!({"licenseKey": key}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(refused["billingUrl"], "https://billing.example.com/upgrade");
    app.set_plan(&owner.organization_id, "business");
    let valid: Value = app
        .validate(json!({"licenseKey": key}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(valid["billingUrl"], "https://billing.example.com/upgrade");
}

#[tokio::test]
async fn new_organizations_start_on_the_operators_default_plan() {
    let app = spawn_app_with(|settings| settings.licensing.default_plan = "business".into()).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (_, key) = app.new_key(&owner.token, "Prod").await;
    let body: Value = app
        .validate(json!({"licenseKey": key}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["plan"], "business");
    let organizations = app
        .get_json("/api/v1/organizations", &owner.token, None)
        .await;
    assert_eq!(organizations["organizations"][0]["plan"], "business");

    // A plan that does not exist stops the server at start-up, with the reason.
    let (code, stderr) = app
        .serve_refusing_to_start(&[("DEFAULT_PLAN", "platinum")])
        .await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("DEFAULT_PLAN must be one of"), "{stderr}");
}

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
async fn plan_changes_and_deactivation_apply_at_the_next_validation() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (_, key) = app.new_key(&owner.token, "Prod").await;

    app.operator(&["org", "set-plan", &owner.organization_id, "business"]);
    let body: Value = app
        .validate(json!({"licenseKey": key}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(body["plan"], "business");
    assert_eq!(body["features"]["prioritySupport"], true);

    app.operator(&[
        "org",
        "set-period-end",
        &owner.organization_id,
        "2020-01-01T00:00:00+00:00",
    ]);
    // A lapsed period falls back to free, upstream's expired plan: no self-hosting.
    let lapsed = assert_error(
        app.validate(json!({"licenseKey": key})).await,
        StatusCode::FORBIDDEN,
        "plan_excludes_self_hosting",
    )
    .await;
    assert_eq!(lapsed["plan"], "free");

    // The operator changes what a plan includes; the next validation shows it.
    let shown = app.operator(&["plan", "set", "free", "selfHostingLicense", "true"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("selfHostingLicense\ttrue"));
    app.operator(&["plan", "set", "free", "maxUsersPerOrg", "2"]);
    let lapsed: Value = app
        .validate(json!({"licenseKey": key, "metrics": {"userCount": 3}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(lapsed["plan"], "free");
    assert_eq!(lapsed["features"]["maxUsersPerOrg"], 2);
    assert_eq!(
        lapsed["violations"],
        json!(["User limit exceeded: 3 / 2 allowed."])
    );
    assert_eq!(lapsed["currentPeriodEnd"], "2020-01-01T00:00:00+00:00");

    app.operator(&["org", "deactivate", &owner.organization_id]);
    let inactive = assert_error(
        app.validate(json!({"licenseKey": key})).await,
        StatusCode::FORBIDDEN,
        "organization_inactive",
    )
    .await;
    assert_eq!(inactive["valid"], false);
    assert_eq!(inactive["error"], "Organization is inactive");
    app.operator(&["org", "activate", &owner.organization_id]);
    assert_eq!(
        app.validate(json!({"licenseKey": key})).await.status(),
        StatusCode::OK
    );

    let help = app.operator(&["--help"]);
    let help = String::from_utf8(help.stdout).unwrap();
    for command in [
        "set-plan",
        "deactivate",
        "activate",
        "set-period-end",
        "set-trial-end",
        "migrate",
    ] {
        assert!(help.contains(command), "--help documents {command}");
    }
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
async fn validation_and_sign_in_are_rate_limited_with_retry_after() {
    let app = spawn_app_with(|settings| {
        settings.rate_limits.validate_per_key = 3;
        settings.rate_limits.sign_in_per_account = 2;
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (_, key) = app.new_key(&owner.token, "Prod").await;
    for _ in 0..3 {
        assert_eq!(
            app.validate(json!({"licenseKey": key})).await.status(),
            StatusCode::OK
        );
    }
    let limited = app.validate(json!({"licenseKey": key})).await;
    let retry_after: u64 = limited.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=61).contains(&retry_after));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    let sign_in = || {
        app.api
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"email": "ana@acme.test", "password": "wrong password!!"}))
            .send()
    };
    assert_eq!(sign_in().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_eq!(sign_in().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    assert_error(
        sign_in().await.unwrap(),
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
    )
    .await;
    // The page's sign-in shares the same limit.
    let page = app
        .server_fn(
            "sign_in",
            &[("email", "ana@acme.test"), ("password", &owner.password)],
        )
        .await;
    assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn rate_limits_per_client_ip_cover_every_key_and_account() {
    let app = spawn_app_with(|settings| {
        settings.rate_limits.validate_per_ip = 2;
        settings.rate_limits.sign_in_per_ip = 2;
    })
    .await;
    // Different (unknown) keys from one address: the address is what is limited.
    for digit in ["1", "2"] {
        let unknown = app.validate(json!({"licenseKey": digit.repeat(64)})).await;
        assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = app.validate(json!({"licenseKey": "3".repeat(64)})).await;
    assert!(limited.headers().contains_key("retry-after"));
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    for email in ["a@acme.test", "b@acme.test"] {
        let refused = app
            .api
            .post(app.url("/api/v1/auth/token"))
            .json(&json!({"email": email, "password": "wrong password!!"}))
            .send()
            .await
            .unwrap();
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = app
        .api
        .post(app.url("/api/v1/auth/token"))
        .json(&json!({"email": "c@acme.test", "password": "wrong password!!"}))
        .send()
        .await
        .unwrap();
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
}

/// A wrong sign-in from `client` as a load balancer forwards it.
async fn wrong_sign_in_from(app: &TestApp, client: &str, email: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/auth/token"))
        .header("X-Forwarded-For", client)
        .json(&json!({"email": email, "password": "wrong password!!"}))
        .send()
        .await
        .unwrap()
}

/// The IP the activity log recorded for a key created with `X-Forwarded-For: client`.
async fn logged_creation_ip(app: &TestApp, client: &str) -> Value {
    let owner = app.register("ana@acme.test", "Acme").await;
    let created = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(&owner.token)
        .header("X-Forwarded-For", client)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let log: Value = app.get_json("/api/v1/audit", &owner.token, None).await;
    let creation = log["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["action"] == "license_key.created")
        .expect("the creation is logged")
        .clone();
    creation["ip"].clone()
}

#[tokio::test]
async fn behind_a_trusted_proxy_limits_and_the_log_see_the_forwarded_client() {
    use storno_licensing::client_ip::TrustedProxies;
    let app = spawn_app_with(|settings| {
        // The test client connects from 127.0.0.1: it plays the load balancer.
        settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
        settings.rate_limits.sign_in_per_ip = 2;
    })
    .await;
    for email in ["a@acme.test", "b@acme.test"] {
        let refused = wrong_sign_in_from(&app, "203.0.113.1", email).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = wrong_sign_in_from(&app, "203.0.113.1", "c@acme.test").await;
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;
    // Another client behind the same balancer has a limit of its own.
    let other = wrong_sign_in_from(&app, "203.0.113.2", "d@acme.test").await;
    assert_eq!(other.status(), StatusCode::UNAUTHORIZED);

    assert_eq!(logged_creation_ip(&app, "203.0.113.9").await, "203.0.113.9");
}

#[tokio::test]
async fn without_trusted_proxies_a_forwarded_for_header_changes_nothing() {
    let app = spawn_app_with(|settings| settings.rate_limits.sign_in_per_ip = 2).await;
    // An attacker rotating made-up addresses is still one client.
    for (client, email) in [
        ("203.0.113.1", "a@acme.test"),
        ("203.0.113.2", "b@acme.test"),
    ] {
        let refused = wrong_sign_in_from(&app, client, email).await;
        assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    }
    let limited = wrong_sign_in_from(&app, "203.0.113.3", "c@acme.test").await;
    assert_error(limited, StatusCode::TOO_MANY_REQUESTS, "rate_limited").await;

    assert_eq!(logged_creation_ip(&app, "203.0.113.9").await, "127.0.0.1");
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
