//! License keys: who may create, list, revoke and rotate them, how instances
//! validate them, and how they are stored. Both the JSON API and the page call
//! these functions, so they can never disagree.

use crate::accounts::authorization::Membership;
use crate::audit_trail::{record, AuditEvent};
use crate::clock;
use crate::config::{BillingLink, Settings};
use crate::db::{begin_write, Page, WriteQueue};
use crate::error::AppError;
use crate::idempotency::IdempotencyStore;
use crate::licensing::offline::OfflineSigner;
use crate::licensing::plans::{InstanceMetrics, PlanFeatures};
use crate::parse::stored_id;
use crate::rate_limit::RateLimits;
use crate::request_meta::RequestMeta;
use crate::secrets::Pepper;
use serde_json::json;
use sqlx::AnyPool;
use std::sync::Arc;
use uuid::Uuid;

const KEY_PURPOSE: &str = "license-key";
const OWNER_ONLY: &str = "Only the organization owner can manage license keys";
pub(crate) const DEFAULT_GRACE_HOURS: i64 = 24;
/// Rotation grace is bounded: a leaked key must not live on for months.
pub(crate) const MAX_GRACE_HOURS: i64 = 24 * 30;

#[derive(Clone)]
pub(crate) struct LicensingService {
    pool: AnyPool,
    pepper: Pepper,
    limits: RateLimits,
    idempotency: IdempotencyStore,
    /// Signs offline licenses; `None` when the operator configured no key.
    offline: Option<Arc<OfflineSigner>>,
    policy: AnswerPolicy,
    writes: WriteQueue,
    written_days: usage::WrittenDays,
    pending_routines: usage::PendingRoutines,
    token_organizations: token_organizations::TokenOrganizations,
}

/// What the operator configured for answers: how long they hold, when a silent key
/// is overdue, where owners upgrade.
#[derive(Clone, Debug)]
pub(crate) struct AnswerPolicy {
    /// validate's `graceUntil` is this long after the answer.
    pub(crate) offline_grace_seconds: i64,
    /// A key is overdue after twice its plan's sync interval plus this.
    pub(crate) overdue_grace_seconds: i64,
    /// validate's `billingUrl`, and the plan refusal's.
    pub(crate) billing: BillingLink,
}

impl AnswerPolicy {
    pub(crate) fn of(settings: &Settings) -> Self {
        AnswerPolicy {
            offline_grace_seconds: settings.licensing.offline_grace_seconds,
            overdue_grace_seconds: settings.licensing.overdue_grace_seconds,
            billing: settings.billing_link(),
        }
    }
}

/// Create in one statement, the same on both engines (`create_with_token.sql`
/// says what it matches). Whatever it does not match takes the detailed path; the
/// test `authorization::the_one_statement_create_and_the_detailed_path_agree_on_every_case`
/// holds the two to the same answers.
const CREATE_WITH_TOKEN: &str = include_str!("create_with_token.sql");

/// The columns of a `ValidationRow`, for a `WHERE` on `k` (the key) to follow.
macro_rules! validation_row_select {
    () => {
        "SELECT k.id, k.organization_id, k.revoked_at, k.expires_at, k.activated_at, \
                k.instance_url, o.name, o.plan, o.deactivated_at, o.current_period_end, \
                o.trial_ends_at, p.features AS plan_features, f.features AS free_features, \
                k.usage_day, k.usage_today, k.known_instance_urls \
         FROM license_keys k JOIN organizations o ON o.id = k.organization_id \
         JOIN plans p ON p.name = o.plan JOIN plans f ON f.name = 'free' "
    };
}

mod offline_licenses;
mod token_organizations;
mod usage;
pub(crate) use usage::date_of;
pub use usage::day_of;
mod create;
mod keys;
mod records;
mod revoke;
mod validate;
pub(crate) use create::CreateRequest;
pub(crate) use keys::KeyPage;
pub(crate) use records::LicenseKeyRecord;
use records::{parse_plan_features, KEY_COLUMNS, PLAN_FEATURES_SQL};
pub(crate) use validate::ValidationRequest;
use validate::{decide, ValidationRow, Verdict};
#[cfg(test)]
mod tests;

impl LicensingService {
    pub(crate) fn new(
        pool: AnyPool,
        writes: WriteQueue,
        pepper: Pepper,
        limits: RateLimits,
        idempotency: IdempotencyStore,
        offline: Option<OfflineSigner>,
        policy: AnswerPolicy,
    ) -> Self {
        LicensingService {
            pool,
            writes,
            written_days: Default::default(),
            pending_routines: Default::default(),
            token_organizations: Default::default(),
            pepper,
            limits,
            idempotency,
            offline: offline.map(Arc::new),
            policy,
        }
    }

    /// How a key is stored and looked up: its HMAC under the pepper.
    fn key_hash(&self, key: &str) -> String {
        self.pepper.digest(KEY_PURPOSE, key)
    }
}
