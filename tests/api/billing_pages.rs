//! What an owner sees of billing: the Billing page's Payment Links naming the
//! organization, the portal once subscribed, the keys page's notice; and the CLI,
//! which leaves a subscribed organization's plan to Stripe unless told otherwise.

use crate::stripe::{spawn_app_with_stripe, subscribed, SECRET};
use reqwest::StatusCode;

#[tokio::test]
async fn the_billing_page_links_to_stripe_with_the_organization_and_the_portal_once_subscribed() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let page = app.page_html(&cookie, "/settings/billing").await;
    let link = format!(
        "https://buy.stripe.com/test_business?client_reference_id={}&amp;prefilled_email=ana%40acme.test",
        owner.organization_id
    );
    assert!(page.contains(&link), "{page}");
    assert!(page.contains("Upgrade to business"));
    assert!(!page.contains("Manage subscription"), "no subscription yet");

    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (owner, _) = subscribed(&app).await;
    let cookie = app.session_cookie(&owner).await;
    let page = app.page_html(&cookie, "/settings/billing").await;
    assert!(
        page.contains("https://billing.stripe.com/p/login/test"),
        "{page}"
    );
    assert!(page.contains("Manage subscription"));
    assert!(page.contains("The paid period ends"));
    assert!(!page.contains("Upgrade to business"), "already on business");
}

#[tokio::test]
async fn the_keys_page_says_when_the_plan_does_not_include_self_hosting() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let page = app.page_html(&cookie, "/keys").await;
    assert!(
        page.contains("data-testid=\"self-hosting-notice\""),
        "{page}"
    );
    assert!(page.contains("href=\"/settings/billing\""));

    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (owner, _) = subscribed(&app).await;
    let cookie = app.session_cookie(&owner).await;
    let page = app.page_html(&cookie, "/keys").await;
    assert!(!page.contains("self-hosting-notice"), "business self-hosts");
}

#[tokio::test]
async fn the_cli_asks_for_override_on_a_subscribed_organization_and_the_log_says_who_changed_the_plan(
) {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (owner, key) = subscribed(&app).await;
    let org = owner.organization_id.clone();
    let refused = app
        .operator_command(&["org", "set-plan", &org, "starter"])
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(4));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--override"));
    let answer = app.validate(serde_json::json!({"licenseKey": key})).await;
    assert_eq!(answer.status(), StatusCode::OK, "still business");

    app.operator(&["org", "set-plan", &org, "starter", "--override"]);
    let activity = app.get_json("/api/v1/audit", &owner.token, None).await;
    let changes: Vec<(String, String)> = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "organization.plan_changed")
        .map(|e| {
            let field = |name: &str| e["details"][name].as_str().unwrap().to_string();
            (field("plan"), field("by"))
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            ("starter".to_string(), "operator".to_string()),
            ("business".to_string(), "stripe".to_string())
        ]
    );
    let cookie = app.session_cookie(&owner).await;
    let page = app.page_html(&cookie, "/activity").await;
    assert!(page.contains("Plan changed to starter"), "{page}");
    assert!(page.contains("the operator") && page.contains("Stripe"));
}
