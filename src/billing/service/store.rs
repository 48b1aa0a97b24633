//! The rows following Stripe reads and writes: organizations' Stripe ids, the
//! pending subscription events, the plans' features and the owner's address.

use super::super::domain::{StripeEvent, Subscription};
use super::*;
use crate::error::AppError;
use crate::licensing::plans::PlanFeatures;
use sqlx::AnyConnection;
use uuid::Uuid;

/// Keeps a subscription event for no known organization, the newest per
/// subscription, for the checkout that will name it; those older than 30 days go.
pub(super) async fn keep_pending(
    tx: &mut AnyConnection,
    event: &StripeEvent,
    subscription: &Subscription,
    body: &[u8],
) -> Result<(), AppError> {
    sqlx::query(
        "INSERT INTO stripe_pending_events (subscription_id, created, body) VALUES ($1, $2, $3) \
         ON CONFLICT (subscription_id) DO UPDATE \
         SET created = excluded.created, body = excluded.body \
         WHERE stripe_pending_events.created <= excluded.created",
    )
    .bind(&subscription.id)
    .bind(event.created)
    .bind(String::from_utf8_lossy(body).into_owned())
    .execute(&mut *tx)
    .await?;
    sqlx::query("DELETE FROM stripe_pending_events WHERE created < $1")
        .bind(event.created - PENDING_DAYS * 86_400)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// `checkout.session.completed`: the organization its `client_reference_id` names
/// remembers its customer and subscription. `false` when it names none.
pub(super) async fn remember_checkout(
    tx: &mut AnyConnection,
    organization_id: &Option<String>,
    customer: &Option<String>,
    subscription: &Option<String>,
) -> Result<bool, AppError> {
    let Some(organization) = organization_id
        .as_deref()
        .and_then(|id| Uuid::parse_str(id).ok())
    else {
        return Ok(false);
    };
    let updated = sqlx::query(
        "UPDATE organizations SET stripe_customer_id = COALESCE($1, stripe_customer_id), \
         stripe_subscription_id = COALESCE($2, stripe_subscription_id) WHERE id = $3",
    )
    .bind(customer.as_deref())
    .bind(subscription.as_deref())
    .bind(organization.to_string())
    .execute(&mut *tx)
    .await?;
    Ok(updated.rows_affected() == 1)
}

/// The organization a subscription event is for: the one that remembers the
/// subscription, else its customer, else the one its metadata names.
pub(super) async fn followed(
    tx: &mut AnyConnection,
    subscription: &Subscription,
) -> Result<Option<Followed>, AppError> {
    Ok(sqlx::query_as(
        "SELECT id, plan, stripe_event_created FROM organizations \
         WHERE stripe_subscription_id = $1 OR stripe_customer_id = $2 OR id = $3 \
         ORDER BY CASE WHEN stripe_subscription_id = $1 THEN 0 \
                       WHEN stripe_customer_id = $2 THEN 1 ELSE 2 END \
         LIMIT 1",
    )
    .bind(&subscription.id) // $1
    .bind(subscription.customer.as_deref()) // $2
    .bind(subscription.organization_id.as_deref()) // $3
    .fetch_optional(&mut *tx)
    .await?)
}

pub(super) async fn remember_subscription(
    tx: &mut AnyConnection,
    organization: &str,
    subscription: &Subscription,
    event_created: i64,
) -> Result<(), AppError> {
    sqlx::query(
        "UPDATE organizations SET stripe_subscription_id = $1, \
         stripe_customer_id = COALESCE($2, stripe_customer_id), stripe_event_created = $3 \
         WHERE id = $4",
    )
    .bind(&subscription.id)
    .bind(subscription.customer.as_deref())
    .bind(event_created)
    .bind(organization)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// Whether `to` includes self-hosting and `from` does not (read in one query).
pub(super) async fn first_to_self_host(
    tx: &mut AnyConnection,
    from: &str,
    to: &str,
) -> Result<bool, AppError> {
    let plans: Vec<(String, String)> =
        sqlx::query_as("SELECT name, features FROM plans WHERE name = $1 OR name = $2")
            .bind(from)
            .bind(to)
            .fetch_all(&mut *tx)
            .await?;
    let self_hosts = |plan: &str| {
        plans.iter().any(|(name, features)| {
            name == plan
                && serde_json::from_str::<PlanFeatures>(features)
                    .is_ok_and(|features| features.self_hosting_license)
        })
    };
    Ok(!self_hosts(from) && self_hosts(to))
}

/// The owner's address, if verified: what is addressed to an email is for its
/// proven owner only.
pub(super) async fn verified_owner_email(
    tx: &mut AnyConnection,
    organization: &str,
) -> Result<Option<String>, AppError> {
    Ok(sqlx::query_scalar(
        "SELECT u.email FROM memberships m JOIN users u ON u.id = m.user_id \
         WHERE m.organization_id = $1 AND m.role = 'owner' AND u.email_verified_at IS NOT NULL",
    )
    .bind(organization)
    .fetch_optional(&mut *tx)
    .await?)
}
