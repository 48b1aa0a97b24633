//! What an owner sees of billing: the Billing page's Payment Links naming the
//! organization, the portal once subscribed, the keys page's notice; and the CLI,
//! which leaves a subscribed organization's plan to Stripe unless told otherwise.

use crate::helpers::*;
use crate::stripe::{
    checkout, deliver, event, spawn_app_with_stripe, subscribed, subscription, SECRET,
};
use reqwest::StatusCode;
use serde_json::json;

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

#[tokio::test]
async fn a_price_without_plan_metadata_takes_its_mapped_plan_and_a_trial_shows_its_end() {
    let app = spawn_app_with(|settings| {
        settings.stripe.webhook_secrets = vec![SECRET.to_string().into()];
        settings.stripe.price_plans = vec![("price_business_monthly".into(), "business".into())];
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (_, key) = app.new_key(&owner.token, "erp").await;
    let now = storno_licensing::clock::now();
    let paid = checkout(&owner.organization_id, "cus_1", "sub_1QxYz");
    assert_eq!(
        deliver(
            &app,
            &event("evt_checkout", "checkout.session.completed", now, paid)
        )
        .await
        .status(),
        StatusCode::OK
    );
    let mut trial = subscription("cus_1", "trialing", "unused", now + 14 * 86_400);
    trial["items"]["data"][0]["price"]["metadata"] = json!({});
    trial["trial_end"] = json!(now + 14 * 86_400);
    let created = event("evt_trial", "customer.subscription.created", now + 1, trial);
    assert_eq!(deliver(&app, &created).await.status(), StatusCode::OK);
    let answer: serde_json::Value = app
        .validate(json!({"licenseKey": key}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(answer["plan"], "business", "{answer}");
    let cookie = app.session_cookie(&owner).await;
    assert!(app
        .page_html(&cookie, "/settings/billing")
        .await
        .contains("The trial ends"));
}

#[tokio::test]
async fn a_stripe_setting_that_names_an_unknown_plan_stops_start_up() {
    let app = spawn_app().await;
    let (code, stderr) = app
        .serve_refusing_to_start(&[("STRIPE_PAYMENT_LINKS", "gold=https://buy.stripe.com/x")])
        .await;
    assert_ne!(code, Some(0));
    assert!(stderr.contains("STRIPE_PAYMENT_LINKS"), "{stderr}");
    let (code, stderr) = app
        .serve_refusing_to_start(&[("STRIPE_PRICE_PLANS", "price_1")])
        .await;
    assert_ne!(code, Some(0));
    assert!(stderr.contains("name=value"), "{stderr}");
}

#[tokio::test]
async fn without_javascript_the_reveal_panel_repeats_that_the_plan_does_not_self_host() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let posted = app
        .api
        .post(app.url("/rpc/create_license_key"))
        .header("Origin", &app.address)
        .header("Accept", "text/html")
        .header("Cookie", &cookie)
        .form(&[("instance_name", "Plain")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.headers()["location"], "/keys?reveal=1");
    let page = app.page_html(&cookie, "/keys?reveal=1").await;
    let panel = page
        .split("data-testid=\"reveal-panel\"")
        .nth(1)
        .expect("the panel shows the new key");
    assert!(panel.contains("self-hosting-notice"), "{page}");
}
