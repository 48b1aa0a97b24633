//! Stripe's webhook, as Stripe documents it: the `Stripe-Signature` scheme, and the
//! parts of its event objects that decide an organization's plan.

use crate::error::AppError;
use hmac::{Hmac, Mac};
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use sha2::Sha256;

/// How far an event's signed time may be from now (Stripe's libraries' default).
pub(crate) const SIGNATURE_TOLERANCE_SECONDS: i64 = 300;

/// Checks `Stripe-Signature: t=<unix>,v1=<hex>[,v1=...]`: some `v1` must be the
/// HMAC-SHA256 of `"<t>.<body>"` under one of `secrets`, and `t` within the tolerance.
pub(crate) fn verify_signature(
    header: Option<&str>,
    body: &[u8],
    secrets: &[SecretString],
    now: i64,
) -> Result<(), AppError> {
    let header = header.ok_or(AppError::InvalidSignature)?;
    let mut timestamp = None;
    let mut signatures = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => signatures.extend(hex::decode(value).ok()),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(AppError::InvalidSignature)?;
    if (now - timestamp).abs() > SIGNATURE_TOLERANCE_SECONDS {
        return Err(AppError::InvalidSignature);
    }
    let matches = |secret: &SecretString, signature: &[u8]| {
        let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(secret.expose_secret().as_bytes()) else {
            return false;
        };
        mac.update(timestamp.to_string().as_bytes());
        mac.update(b".");
        mac.update(body);
        mac.verify_slice(signature).is_ok()
    };
    let valid = secrets.iter().any(|secret| {
        signatures
            .iter()
            .any(|signature| matches(secret, signature))
    });
    valid.then_some(()).ok_or(AppError::InvalidSignature)
}

/// A subscription's state, as it decides the plan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubscriptionStatus {
    /// `active` or `trialing`: the price's plan.
    Paying,
    /// `past_due`: the plan holds until the period ends.
    PastDue,
    /// `canceled`, `unpaid`, `incomplete_expired`, or the subscription deleted.
    Ended,
    /// Anything else (`incomplete`, `paused`): nothing changes.
    Other,
}

impl SubscriptionStatus {
    fn of(status: &str) -> Self {
        match status {
            "active" | "trialing" => SubscriptionStatus::Paying,
            "past_due" => SubscriptionStatus::PastDue,
            "canceled" | "unpaid" | "incomplete_expired" => SubscriptionStatus::Ended,
            _ => SubscriptionStatus::Other,
        }
    }
}

/// A subscription event's object: which subscription, whose, in what state, on
/// which price.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Subscription {
    pub(crate) id: String,
    pub(crate) customer: Option<String>,
    pub(crate) status: SubscriptionStatus,
    /// The first item's `price.metadata.plan`, and its price id.
    pub(crate) price_plan: Option<String>,
    pub(crate) price_id: Option<String>,
    /// The item's `current_period_end`, else the subscription's.
    pub(crate) current_period_end: Option<i64>,
    pub(crate) trial_end: Option<i64>,
    /// `metadata.organization_id`, when the operator's payment link sets it.
    pub(crate) organization_id: Option<String>,
}

/// What an event asks of an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Change {
    /// `checkout.session.completed`: remember the organization's customer and subscription.
    CheckoutCompleted {
        organization_id: Option<String>,
        customer: Option<String>,
        subscription: Option<String>,
    },
    /// `customer.subscription.created` and `.updated`.
    SubscriptionChanged(Subscription),
    /// `customer.subscription.deleted`: the plan ends now.
    SubscriptionDeleted(Subscription),
    /// Any other type: answered `200`, nothing done.
    Ignored,
}

/// An event: its id (applied once), when Stripe made it (never applied after a newer
/// one of the same subscription), its type and what it asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StripeEvent {
    pub(crate) id: String,
    pub(crate) created: i64,
    pub(crate) kind: String,
    pub(crate) change: Change,
}

fn text(value: &Value, pointer: &str) -> Option<String> {
    value.pointer(pointer)?.as_str().map(str::to_string)
}

fn number(value: &Value, pointer: &str) -> Option<i64> {
    value.pointer(pointer)?.as_i64()
}

/// A customer or subscription field is an id, or the expanded object with one.
fn id_of(value: &Value, pointer: &str) -> Option<String> {
    let field = value.pointer(pointer)?;
    field
        .as_str()
        .map(str::to_string)
        .or_else(|| text(field, "/id"))
}

impl Subscription {
    fn parse(object: &Value) -> Result<Self, AppError> {
        let item = object.pointer("/items/data/0");
        let item_field = |pointer: &str| item.and_then(|item| text(item, pointer));
        Ok(Subscription {
            id: text(object, "/id")
                .ok_or_else(|| AppError::BadRequest("the subscription has no id".into()))?,
            customer: id_of(object, "/customer"),
            status: SubscriptionStatus::of(&text(object, "/status").unwrap_or_default()),
            price_plan: item_field("/price/metadata/plan"),
            price_id: item_field("/price/id"),
            current_period_end: item
                .and_then(|item| number(item, "/current_period_end"))
                .or_else(|| number(object, "/current_period_end")),
            trial_end: number(object, "/trial_end"),
            organization_id: text(object, "/metadata/organization_id"),
        })
    }
}

impl StripeEvent {
    /// The event in `body` (already verified), or `400` for what is no event at all.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, AppError> {
        let event: Value = serde_json::from_slice(body)
            .map_err(|_| AppError::BadRequest("the body is not a Stripe event".into()))?;
        let missing = || AppError::BadRequest("the body is not a Stripe event".into());
        let id = text(&event, "/id").ok_or_else(missing)?;
        let created = number(&event, "/created").ok_or_else(missing)?;
        let kind = text(&event, "/type").ok_or_else(missing)?;
        let object = event.pointer("/data/object").ok_or_else(missing)?;
        let change = match kind.as_str() {
            "checkout.session.completed" => Change::CheckoutCompleted {
                organization_id: text(object, "/client_reference_id"),
                customer: id_of(object, "/customer"),
                subscription: id_of(object, "/subscription"),
            },
            "customer.subscription.created" | "customer.subscription.updated" => {
                Change::SubscriptionChanged(Subscription::parse(object)?)
            }
            "customer.subscription.deleted" => {
                Change::SubscriptionDeleted(Subscription::parse(object)?)
            }
            _ => Change::Ignored,
        };
        Ok(StripeEvent {
            id,
            created,
            kind,
            change,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{timestamp}.").as_bytes());
        mac.update(body);
        hex::encode(mac.finalize().into_bytes())
    }

    fn secrets(list: &[&str]) -> Vec<SecretString> {
        list.iter()
            .map(|s| SecretString::from(s.to_string()))
            .collect()
    }

    #[test]
    fn a_signature_under_any_configured_secret_within_300_seconds_is_accepted() {
        let body = br#"{"id":"evt_1"}"#;
        let now = 1_700_000_000;
        let new = sign("whsec_new", now, body);
        let old = sign("whsec_old", now, body);
        let both = secrets(&["whsec_old", "whsec_new"]);
        let header = format!("t={now},v1={new}");
        assert!(verify_signature(Some(&header), body, &both, now).is_ok());
        // Stripe sends one v1 per secret during a rotation; any may match.
        let header = format!("t={now},v1={},v1={old},v0=ignored", "00".repeat(32));
        assert!(verify_signature(Some(&header), body, &secrets(&["whsec_old"]), now).is_ok());
        let header = format!("t={now},v1={old}");
        assert!(verify_signature(Some(&header), body, &secrets(&["whsec_new"]), now).is_err());
        assert!(verify_signature(Some(&header), body, &both, now + 300).is_ok());
        assert!(verify_signature(Some(&header), body, &both, now + 301).is_err());
        assert!(verify_signature(Some(&header), b"{}", &both, now).is_err());
        for bad in ["", "t=abc,v1=00", "v1=00", &format!("t={now}")] {
            assert!(
                verify_signature(Some(bad), body, &both, now).is_err(),
                "{bad}"
            );
        }
        assert!(verify_signature(None, body, &both, now).is_err());
        assert!(verify_signature(Some(&header), body, &[], now).is_err());
    }

    #[test]
    fn a_subscription_event_names_its_plan_period_and_organization() {
        let body = json!({
            "id": "evt_1", "object": "event", "created": 1_700_000_000,
            "type": "customer.subscription.updated",
            "data": {"object": {
                "id": "sub_1", "object": "subscription", "customer": "cus_1",
                "status": "trialing", "trial_end": 1_700_100_000,
                "metadata": {"organization_id": "org"},
                "items": {"object": "list", "data": [{
                    "id": "si_1", "current_period_end": 1_702_000_000,
                    "price": {"id": "price_1", "metadata": {"plan": "business"}}
                }]}
            }}
        });
        let event = StripeEvent::parse(body.to_string().as_bytes()).unwrap();
        assert_eq!(event.created, 1_700_000_000);
        let Change::SubscriptionChanged(subscription) = event.change else {
            panic!("not a subscription change");
        };
        assert_eq!(subscription.status, SubscriptionStatus::Paying);
        assert_eq!(subscription.price_plan.as_deref(), Some("business"));
        assert_eq!(subscription.price_id.as_deref(), Some("price_1"));
        assert_eq!(subscription.current_period_end, Some(1_702_000_000));
        assert_eq!(subscription.trial_end, Some(1_700_100_000));
        assert_eq!(subscription.organization_id.as_deref(), Some("org"));
        for (status, expected) in [
            ("active", SubscriptionStatus::Paying),
            ("past_due", SubscriptionStatus::PastDue),
            ("canceled", SubscriptionStatus::Ended),
            ("unpaid", SubscriptionStatus::Ended),
            ("incomplete_expired", SubscriptionStatus::Ended),
            ("incomplete", SubscriptionStatus::Other),
        ] {
            assert_eq!(SubscriptionStatus::of(status), expected, "{status}");
        }
        let unknown =
            json!({"id": "evt_2", "created": 1, "type": "invoice.paid", "data": {"object": {}}});
        let event = StripeEvent::parse(unknown.to_string().as_bytes()).unwrap();
        assert_eq!(event.change, Change::Ignored);
        assert!(StripeEvent::parse(b"[]").is_err());
    }
}
