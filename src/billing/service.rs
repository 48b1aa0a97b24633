//! Following Stripe: each verified event is applied once, in order per subscription,
//! inside one transaction with its audit record and, when the organization's keys
//! start to work, the owner's email.

use super::domain::{Change, StripeEvent, Subscription, SubscriptionStatus};
use super::emails;
use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::config::StripeSettings;
use crate::db::{begin_write, WriteQueue};
use crate::error::AppError;
use crate::licensing::plans::known_plan;
use crate::mail::Mail;
use crate::parse::stored_id;
use crate::request_meta::RequestMeta;
use sqlx::{AnyConnection, AnyPool};
use std::sync::Arc;
use uuid::Uuid;

mod store;
use store::{
    first_to_self_host, followed, keep_pending, remember_checkout, remember_subscription,
    verified_owner_email,
};

/// How long a subscription event waits for the checkout naming its organization.
const PENDING_DAYS: i64 = 30;

/// The plan an ended subscription leaves (upstream's).
const ENDED_PLAN: &str = "free";

#[derive(Clone)]
pub(crate) struct BillingService {
    pool: AnyPool,
    writes: WriteQueue,
    mail: Mail,
    stripe: Arc<StripeSettings>,
}

/// An organization as a subscription event finds it.
#[derive(sqlx::FromRow)]
struct Followed {
    id: String,
    plan: String,
    stripe_event_created: Option<i64>,
}

/// Where an organization stands with its plan.
#[derive(sqlx::FromRow)]
pub(crate) struct Standing {
    pub(crate) current_period_end: Option<i64>,
    pub(crate) trial_ends_at: Option<i64>,
    /// Set once a checkout or subscription event named the organization.
    pub(crate) stripe_subscription_id: Option<String>,
}

/// What one organization is put on.
struct PlanChange<'a> {
    plan: &'a str,
    current_period_end: Option<i64>,
    trial_ends_at: Option<i64>,
}

impl BillingService {
    pub(crate) fn new(
        pool: AnyPool,
        writes: WriteQueue,
        mail: Mail,
        stripe: Arc<StripeSettings>,
    ) -> Self {
        BillingService {
            pool,
            writes,
            mail,
            stripe,
        }
    }

    pub(crate) fn stripe(&self) -> &StripeSettings {
        &self.stripe
    }

    /// Each plan with a Payment Link, and its link naming `organization` and its
    /// owner's `email` (`client_reference_id`, `prefilled_email`, as Stripe reads them).
    pub(crate) fn payment_links(&self, organization: Uuid, email: &str) -> Vec<(String, String)> {
        let query = form_urlencoded::Serializer::new(String::new())
            .append_pair("client_reference_id", &organization.to_string())
            .append_pair("prefilled_email", email)
            .finish();
        self.stripe
            .payment_links
            .iter()
            .map(|(plan, link)| {
                let separator = if link.contains('?') { '&' } else { '?' };
                (plan.clone(), format!("{link}{separator}{query}"))
            })
            .collect()
    }

    /// The customer portal, for an organization with a subscription.
    pub(crate) fn portal_url(&self, standing: &Standing) -> Option<String> {
        standing.stripe_subscription_id.as_ref()?;
        self.stripe.portal_url.clone()
    }

    /// The organization's period and trial ends, and whether it has a subscription.
    pub(crate) async fn standing(&self, organization: Uuid) -> Result<Standing, AppError> {
        sqlx::query_as(
            "SELECT current_period_end, trial_ends_at, stripe_subscription_id FROM organizations WHERE id = $1",
        )
        .bind(organization.to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AppError::OrganizationNotFound)
    }

    /// Applies a verified event (`body`, its raw text). A redelivered event and an
    /// event older than the last one applied to its subscription change nothing; a
    /// subscription event for no known organization is logged and kept for the
    /// checkout that names it (Stripe does not deliver in order).
    pub(crate) async fn apply(
        &self,
        event: &StripeEvent,
        body: &[u8],
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        if event.change == Change::Ignored {
            return Ok(());
        }
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let first_delivery = sqlx::query(
            "INSERT INTO stripe_events (id, type, received_at) VALUES ($1, $2, $3) \
             ON CONFLICT (id) DO NOTHING",
        )
        .bind(&event.id)
        .bind(&event.kind)
        .bind(clock::now())
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !first_delivery {
            return Ok(());
        }
        let known = match &event.change {
            Change::CheckoutCompleted {
                organization_id,
                customer,
                subscription,
            } => {
                let known =
                    remember_checkout(&mut tx, organization_id, customer, subscription).await?;
                if let (true, Some(subscription)) = (known, subscription) {
                    self.apply_pending(&mut tx, subscription, meta).await?;
                }
                known
            }
            Change::SubscriptionChanged(subscription)
            | Change::SubscriptionDeleted(subscription) => {
                let deleted = matches!(event.change, Change::SubscriptionDeleted(_));
                let known = self
                    .follow(&mut tx, event, subscription, deleted, meta)
                    .await?;
                if !known {
                    keep_pending(&mut tx, event, subscription, body).await?;
                }
                known
            }
            Change::Ignored => true,
        };
        if !known {
            tracing::warn!(event_id = %event.id, event_type = %event.kind, "Stripe event for no known organization");
        }
        tx.commit().await?;
        self.mail.wake();
        Ok(())
    }

    /// The subscription event that came before this checkout, if one did.
    async fn apply_pending(
        &self,
        tx: &mut AnyConnection,
        subscription: &str,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        let body: Option<String> = sqlx::query_scalar(
            "DELETE FROM stripe_pending_events WHERE subscription_id = $1 RETURNING body",
        )
        .bind(subscription)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(event) = body.and_then(|body| StripeEvent::parse(body.as_bytes()).ok()) else {
            return Ok(());
        };
        if let Change::SubscriptionChanged(pending) | Change::SubscriptionDeleted(pending) =
            &event.change
        {
            let deleted = matches!(event.change, Change::SubscriptionDeleted(_));
            self.follow(tx, &event, pending, deleted, meta).await?;
        }
        Ok(())
    }

    /// A subscription event: the organization's plan, period and trial follow it.
    async fn follow(
        &self,
        tx: &mut AnyConnection,
        event: &StripeEvent,
        subscription: &Subscription,
        deleted: bool,
        meta: &RequestMeta,
    ) -> Result<bool, AppError> {
        let Some(found) = followed(tx, subscription).await? else {
            return Ok(false);
        };
        if found
            .stripe_event_created
            .is_some_and(|last| event.created < last)
        {
            return Ok(true);
        }
        let paying_plan = self.plan_of(subscription);
        let status = if deleted {
            &SubscriptionStatus::Ended
        } else {
            &subscription.status
        };
        let change = match (status, paying_plan) {
            (SubscriptionStatus::Paying, Some(plan)) => Some(PlanChange {
                plan,
                current_period_end: subscription.current_period_end,
                trial_ends_at: subscription.trial_end,
            }),
            (SubscriptionStatus::PastDue, _) => Some(PlanChange {
                plan: &found.plan,
                current_period_end: subscription.current_period_end,
                trial_ends_at: subscription.trial_end,
            }),
            (SubscriptionStatus::Ended, _) => Some(PlanChange {
                plan: ENDED_PLAN,
                current_period_end: None,
                trial_ends_at: None,
            }),
            _ => None,
        };
        remember_subscription(tx, &found.id, subscription, event.created).await?;
        if let Some(change) = change {
            self.put_on_plan(tx, &found, change, meta).await?;
        }
        Ok(true)
    }

    /// The plan the subscription's price names (its `plan` metadata, else
    /// `STRIPE_PRICE_PLANS`), if it is a known one.
    fn plan_of(&self, subscription: &Subscription) -> Option<&'static str> {
        let named = subscription.price_plan.as_deref().or_else(|| {
            subscription
                .price_id
                .as_deref()
                .and_then(|price| self.stripe.plan_of_price(price))
        });
        let plan = named.and_then(|name| known_plan(name).ok());
        if plan.is_none() {
            tracing::warn!(subscription = %subscription.id, price = ?subscription.price_id, "Stripe price names no known plan: the plan is left as it is");
        }
        plan
    }

    /// Writes the plan; a new plan is recorded in the activity log, and when it is
    /// the first to include self-hosting the owner is told that keys now work.
    async fn put_on_plan(
        &self,
        tx: &mut AnyConnection,
        organization: &Followed,
        change: PlanChange<'_>,
        meta: &RequestMeta,
    ) -> Result<(), AppError> {
        sqlx::query(
            "UPDATE organizations SET plan = $1, current_period_end = $2, trial_ends_at = $3 \
             WHERE id = $4",
        )
        .bind(change.plan)
        .bind(change.current_period_end)
        .bind(change.trial_ends_at)
        .bind(&organization.id)
        .execute(&mut *tx)
        .await?;
        if change.plan == organization.plan {
            return Ok(());
        }
        let id = stored_id(&organization.id)?;
        let event = AuditEvent::plan_changed(id, change.plan, &organization.plan, "stripe");
        record(tx, event, meta).await?;
        if first_to_self_host(tx, &organization.plan, change.plan).await? {
            if let Some(owner) = verified_owner_email(tx, &organization.id).await? {
                let email = emails::keys_now_work(&owner, change.plan, &self.mail.origin(meta));
                self.mail.send(tx, &email).await?;
            }
        }
        Ok(())
    }
}
