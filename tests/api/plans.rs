//! Plans: self-hosting refused as upstream refuses it, the billing URL, the default
//! plan, and changes that apply at the next validation.

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
