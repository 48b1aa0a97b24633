//! Plans follow Stripe: events signed exactly as Stripe documents its scheme
//! (`Stripe-Signature: t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`), with
//! payloads shaped as Stripe's own event objects.

use crate::helpers::*;
use hmac::{Hmac, Mac};
use reqwest::StatusCode;
use serde_json::{json, Value};
use sha2::Sha256;

pub(crate) const SECRET: &str = "whsec_test_5bd1c3e0a7";

pub(crate) async fn spawn_app_with_stripe(secrets: &[&str]) -> TestApp {
    let secrets: Vec<String> = secrets.iter().map(|s| s.to_string()).collect();
    spawn_app_with(move |settings| {
        settings.stripe.webhook_secrets = secrets.into_iter().map(Into::into).collect();
        settings.stripe.payment_links = vec![(
            "business".into(),
            "https://buy.stripe.com/test_business".into(),
        )];
        settings.stripe.portal_url = Some("https://billing.stripe.com/p/login/test".into());
    })
    .await
}

/// The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
fn v1(secret: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{timestamp}.{body}").as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

pub(crate) fn signature(secret: &str, timestamp: i64, body: &str) -> String {
    format!("t={timestamp},v1={}", v1(secret, timestamp, body))
}

fn now() -> i64 {
    storno_licensing::clock::now()
}

/// An event as Stripe sends it.
pub(crate) fn event(id: &str, kind: &str, created: i64, object: Value) -> Value {
    json!({
        "id": id, "object": "event", "api_version": "2025-01-27.acacia", "created": created,
        "livemode": false, "pending_webhooks": 1,
        "request": {"id": null, "idempotency_key": null},
        "type": kind, "data": {"object": object}
    })
}

/// A Payment Link's completed checkout, naming the organization.
pub(crate) fn checkout(organization: &str, customer: &str, subscription: &str) -> Value {
    json!({
        "id": "cs_test_a1b2", "object": "checkout.session", "mode": "subscription",
        "client_reference_id": organization, "customer": customer, "subscription": subscription,
        "customer_details": {"email": "ana@acme.test"}, "payment_link": "plink_1",
        "payment_status": "paid", "status": "complete", "amount_total": 4900, "currency": "eur"
    })
}

/// A subscription with one item on a price whose metadata names `plan`.
pub(crate) fn subscription(customer: &str, status: &str, plan: &str, period_end: i64) -> Value {
    json!({
        "id": "sub_1QxYz", "object": "subscription", "customer": customer, "status": status,
        "cancel_at_period_end": false, "collection_method": "charge_automatically",
        "current_period_start": period_end - 30 * 86_400, "current_period_end": period_end,
        "trial_end": null, "metadata": {},
        "items": {"object": "list", "has_more": false, "total_count": 1,
                  "url": "/v1/subscription_items?subscription=sub_1QxYz",
                  "data": [{
            "id": "si_1", "object": "subscription_item", "quantity": 1,
            "current_period_start": period_end - 30 * 86_400, "current_period_end": period_end,
            "price": {"id": "price_business_monthly", "object": "price", "active": true,
                      "currency": "eur", "unit_amount": 4900, "product": "prod_1",
                      "recurring": {"interval": "month", "interval_count": 1},
                      "metadata": {"plan": plan}}
        }]}
    })
}

pub(crate) async fn deliver_signed(app: &TestApp, body: &Value, header: &str) -> reqwest::Response {
    app.api
        .post(app.url("/api/v1/billing/stripe/webhook"))
        .header("Stripe-Signature", header)
        .header("Content-Type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap()
}

pub(crate) async fn deliver(app: &TestApp, body: &Value) -> reqwest::Response {
    let header = signature(SECRET, now(), &body.to_string());
    deliver_signed(app, body, &header).await
}

pub(crate) async fn plan_at_validation(app: &TestApp, key: &str) -> (StatusCode, Value) {
    let response = app.validate(json!({"licenseKey": key})).await;
    (response.status(), response.json().await.unwrap())
}

/// Ana, the owner of an organization on `community`, and a key of it.
async fn owner_with_key(app: &TestApp) -> (Owner, String) {
    let owner = app.register("ana@acme.test", "Acme").await;
    let (_, key) = app.new_key(&owner.token, "erp").await;
    (owner, key)
}

/// Ana's organization on `community`, a key, and a checkout and subscription for it.
pub(crate) async fn subscribed(app: &TestApp) -> (Owner, String) {
    let (owner, key) = owner_with_key(app).await;
    let org = owner.organization_id.clone();
    let body = event(
        "evt_checkout",
        "checkout.session.completed",
        now() - 10,
        checkout(&org, "cus_1", "sub_1QxYz"),
    );
    assert_eq!(deliver(app, &body).await.status(), StatusCode::OK);
    let active = subscription("cus_1", "active", "business", now() + 30 * 86_400);
    let body = event(
        "evt_created",
        "customer.subscription.created",
        now() - 5,
        active,
    );
    assert_eq!(deliver(app, &body).await.status(), StatusCode::OK);
    (owner, key)
}

#[tokio::test]
async fn a_checkout_then_its_subscription_makes_validate_answer_business_and_the_owner_is_told() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (owner, key) = owner_with_key(&app).await;
    let (status, body) = plan_at_validation(&app, &key).await;
    assert_eq!(
        (status, body["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("plan_excludes_self_hosting"))
    );

    let org = owner.organization_id.clone();
    let body = event(
        "evt_checkout",
        "checkout.session.completed",
        now() - 10,
        checkout(&org, "cus_1", "sub_1QxYz"),
    );
    let answer = deliver(&app, &body).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(
        answer.json::<Value>().await.unwrap(),
        json!({"received": true})
    );
    let period_end = now() + 30 * 86_400;
    let body = event(
        "evt_created",
        "customer.subscription.created",
        now() - 5,
        subscription("cus_1", "active", "business", period_end),
    );
    assert_eq!(deliver(&app, &body).await.status(), StatusCode::OK);

    let (status, body) = plan_at_validation(&app, &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["plan"], "business");
    let activity = app.get_json("/api/v1/audit", &owner.token, None).await;
    let change = activity["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "organization.plan_changed")
        .expect("the plan change is in the activity log")
        .clone();
    assert_eq!(change["details"]["plan"], "business");
    assert_eq!(change["details"]["by"], "stripe");
    let email = app
        .email_to(
            "ana@acme.test",
            "Your license keys now work on self-hosted instances",
        )
        .await;
    assert!(email.contains("business plan"), "{email}");
    assert!(!email.contains(&key), "an email never carries a key");
}

#[tokio::test]
async fn a_redelivered_event_or_an_older_one_changes_nothing() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (_, key) = subscribed(&app).await;
    let later = now() + 60 * 86_400;
    // Stripe delivers late: a cancellation made before the subscription was created.
    let stale = event(
        "evt_stale",
        "customer.subscription.updated",
        now() - 100,
        subscription("cus_1", "canceled", "business", later),
    );
    assert_eq!(deliver(&app, &stale).await.status(), StatusCode::OK);
    assert_eq!(plan_at_validation(&app, &key).await.1["plan"], "business");

    let canceled = event(
        "evt_canceled",
        "customer.subscription.updated",
        now(),
        subscription("cus_1", "canceled", "business", later),
    );
    assert_eq!(deliver(&app, &canceled).await.status(), StatusCode::OK);
    assert_eq!(plan_at_validation(&app, &key).await.1["plan"], "free");
    let renewed = event(
        "evt_renewed",
        "customer.subscription.updated",
        now() + 1,
        subscription("cus_1", "active", "business", later),
    );
    assert_eq!(deliver(&app, &renewed).await.status(), StatusCode::OK);
    assert_eq!(plan_at_validation(&app, &key).await.1["plan"], "business");
    // The cancellation delivered again: its id was applied once, so nothing changes.
    assert_eq!(deliver(&app, &canceled).await.status(), StatusCode::OK);
    assert_eq!(plan_at_validation(&app, &key).await.1["plan"], "business");
}

#[tokio::test]
async fn past_due_keeps_the_plan_and_deleted_ends_it_at_the_next_validation() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (_, key) = subscribed(&app).await;
    let past_due = event(
        "evt_past_due",
        "customer.subscription.updated",
        now(),
        subscription("cus_1", "past_due", "business", now() + 3600),
    );
    assert_eq!(deliver(&app, &past_due).await.status(), StatusCode::OK);
    assert_eq!(plan_at_validation(&app, &key).await.1["plan"], "business");

    let deleted = event(
        "evt_deleted",
        "customer.subscription.deleted",
        now() + 1,
        subscription("cus_1", "canceled", "business", now() + 3600),
    );
    assert_eq!(deliver(&app, &deleted).await.status(), StatusCode::OK);
    let (status, body) = plan_at_validation(&app, &key).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert_eq!(body["plan"], "free");
}

#[tokio::test]
async fn bad_signatures_and_old_timestamps_are_400_and_change_nothing() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (owner, key) = owner_with_key(&app).await;
    let body = event(
        "evt_checkout",
        "checkout.session.completed",
        now(),
        checkout(&owner.organization_id, "cus_1", "sub_1QxYz"),
    );
    assert_eq!(deliver(&app, &body).await.status(), StatusCode::OK);
    let active = event(
        "evt_created",
        "customer.subscription.created",
        now(),
        subscription("cus_1", "active", "business", now() + 86_400),
    );
    let text = active.to_string();
    for header in [
        signature("whsec_someone_else", now(), &text),
        signature(SECRET, now() - 301, &text),
        signature(SECRET, now(), &text.replace("business", "starter")),
        format!("t={},v1=", now()),
        "garbage".to_string(),
    ] {
        let answer = deliver_signed(&app, &active, &header).await;
        assert_error(answer, StatusCode::BAD_REQUEST, "invalid_signature").await;
    }
    let unsigned = app
        .api
        .post(app.url("/api/v1/billing/stripe/webhook"))
        .body(text.clone())
        .send()
        .await
        .unwrap();
    assert_error(unsigned, StatusCode::BAD_REQUEST, "invalid_signature").await;
    assert_eq!(
        plan_at_validation(&app, &key).await.0,
        StatusCode::FORBIDDEN
    );
    // The same event, signed within the tolerance, applies: the refusals recorded nothing.
    let answer = deliver_signed(&app, &active, &signature(SECRET, now() - 299, &text)).await;
    assert_eq!(answer.status(), StatusCode::OK);
    assert_eq!(plan_at_validation(&app, &key).await.0, StatusCode::OK);
}

#[tokio::test]
async fn a_secret_rotated_in_is_accepted_beside_the_old_and_the_old_is_refused_once_rotated_out() {
    let (old, new) = ("whsec_old_1a2b", "whsec_new_3c4d");
    let during = spawn_app_with_stripe(&[old, new]).await;
    let after = spawn_app_with_stripe(&[new]).await;
    let body = event(
        "evt_ping",
        "invoice.paid",
        now(),
        json!({"id": "in_1", "object": "invoice"}),
    );
    let text = body.to_string();
    for secret in [old, new] {
        let answer = deliver_signed(&during, &body, &signature(secret, now(), &text)).await;
        assert_eq!(answer.status(), StatusCode::OK, "signed with {secret}");
    }
    // Stripe signs with every secret of the endpoint during a rotation: one v1 each.
    let t = now();
    let both = format!("t={t},v1={},v1={}", v1(old, t, &text), v1(new, t, &text));
    assert_eq!(
        deliver_signed(&after, &body, &both).await.status(),
        StatusCode::OK
    );
    let answer = deliver_signed(&after, &body, &signature(old, now(), &text)).await;
    assert_error(answer, StatusCode::BAD_REQUEST, "invalid_signature").await;
}

#[tokio::test]
async fn an_event_for_an_unknown_customer_is_a_logged_200_that_changes_nothing() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (_, key) = owner_with_key(&app).await;
    let stranger = event(
        "evt_stranger",
        "customer.subscription.created",
        now(),
        subscription("cus_unknown", "active", "business", now() + 86_400),
    );
    assert_eq!(deliver(&app, &stranger).await.status(), StatusCode::OK);
    assert_eq!(
        plan_at_validation(&app, &key).await.0,
        StatusCode::FORBIDDEN
    );
    assert!(captured_logs().contains("Stripe event for no known organization"));
    let checkout_for_nobody = event(
        "evt_nobody",
        "checkout.session.completed",
        now(),
        checkout("not-a-uuid", "cus_2", "sub_2"),
    );
    assert_eq!(
        deliver(&app, &checkout_for_nobody).await.status(),
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_subscription_delivered_before_its_checkout_applies_when_the_checkout_arrives() {
    let app = spawn_app_with_stripe(&[SECRET]).await;
    let (owner, key) = owner_with_key(&app).await;
    let created = event(
        "evt_created",
        "customer.subscription.created",
        now() - 5,
        subscription("cus_1", "active", "business", now() + 86_400),
    );
    assert_eq!(deliver(&app, &created).await.status(), StatusCode::OK);
    assert_eq!(
        plan_at_validation(&app, &key).await.0,
        StatusCode::FORBIDDEN,
        "no organization named yet"
    );
    let checkout = event(
        "evt_checkout",
        "checkout.session.completed",
        now(),
        checkout(&owner.organization_id, "cus_1", "sub_1QxYz"),
    );
    assert_eq!(deliver(&app, &checkout).await.status(), StatusCode::OK);
    let (status, body) = plan_at_validation(&app, &key).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["plan"], "business");
}
