//! A key as stored: its columns, its state and how it is shown.

use super::super::plans::PlanFeatures;
use super::super::usage::DayUsage;
use super::super::{KeyActivity, KeyRow, KeyState, LicenseKeyDto};
use super::*;
use crate::clock;
use crate::error::AppError;

/// The features (JSON) of the plan of organization `$1`.
pub(super) const PLAN_FEATURES_SQL: &str =
    "SELECT p.features FROM organizations o JOIN plans p ON p.name = o.plan WHERE o.id = $1";

/// A plan's features as the plans table stores them (JSON).
pub(super) fn parse_plan_features(stored: &str) -> Result<PlanFeatures, AppError> {
    serde_json::from_str(stored).map_err(|e| AppError::Internal(format!("plan features: {e}")))
}

/// The columns of a `LicenseKeyRecord`.
pub(super) const KEY_COLUMNS: &str =
    "id, masked_key, instance_name, reported_instance_name, instance_url, \
     instance_metrics, last_violations, created_at, last_validated_at, activated_at, \
     revoked_at, expires_at, usage_day, usage_today";

/// A stored key as the service sees it: times in Unix seconds.
#[derive(sqlx::FromRow)]
pub(crate) struct LicenseKeyRecord {
    pub(super) id: String,
    pub(super) masked_key: String,
    pub(super) instance_name: Option<String>,
    pub(super) reported_instance_name: Option<String>,
    pub(super) instance_url: Option<String>,
    pub(super) instance_metrics: Option<String>,
    pub(super) last_violations: Option<String>,
    pub(super) created_at: i64,
    pub(super) last_validated_at: Option<i64>,
    pub(super) activated_at: Option<i64>,
    pub(super) revoked_at: Option<i64>,
    pub(super) expires_at: Option<i64>,
    pub(super) usage_day: Option<i64>,
    pub(super) usage_today: Option<String>,
    /// Silent for longer than this (seconds), an active key is overdue: twice its
    /// organization's plan's sync interval plus the operator's grace.
    #[sqlx(skip)]
    pub(super) overdue_after: i64,
}

impl LicenseKeyRecord {
    pub(super) fn is_active(&self, now: i64) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|end| end > now)
    }

    pub(crate) fn to_dto(&self, now: i64) -> LicenseKeyDto {
        self.dto(now, &self.state(now))
    }

    pub(super) fn dto(&self, now: i64, state: &KeyState) -> LicenseKeyDto {
        LicenseKeyDto {
            id: self.id.clone(),
            license_key: self.masked_key.clone(),
            instance_name: self.shown_instance_name(),
            instance_url: self.instance_url.clone(),
            active: self.is_active(now),
            last_validated_at: self.last_validated_at.map(clock::rfc3339),
            activated_at: self.activated_at.map(clock::rfc3339),
            created_at: clock::rfc3339(self.created_at),
            instance_metrics: self
                .instance_metrics
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok()),
            last_violations: self
                .last_violations
                .as_deref()
                .and_then(|text| serde_json::from_str(text).ok())
                .unwrap_or_default(),
            state: state.code().to_string(),
        }
    }

    /// Where the key is in its life, as of `now`.
    pub(crate) fn state(&self, now: i64) -> KeyState {
        match (self.revoked_at, self.expires_at) {
            (Some(_), _) => KeyState::Revoked,
            (None, Some(end)) if end <= now => KeyState::Revoked,
            (None, Some(end)) => KeyState::Rotating {
                until: clock::rfc3339(end),
            },
            (None, None) => match (self.last_validated_at, self.recent_instances(now)) {
                (None, _) => KeyState::NeverUsed,
                (Some(_), instances @ 2..) => KeyState::Shared { instances },
                (Some(last), _) if now - last > self.overdue_after => KeyState::Overdue,
                (Some(_), _) => KeyState::Active,
            },
        }
    }

    /// How many instances validated the key on its latest day of use, if that
    /// day is today or yesterday (UTC).
    pub(super) fn recent_instances(&self, now: i64) -> usize {
        self.usage_day
            .filter(|&day| day >= day_of(now) - 1)
            .and(self.usage_today.as_deref())
            .and_then(|text| serde_json::from_str::<DayUsage>(text).ok())
            .map_or(0, |usage| usage.instances())
    }

    /// The owner's label wins; otherwise what the instance calls itself.
    pub(super) fn shown_instance_name(&self) -> Option<String> {
        self.instance_name
            .clone()
            .or_else(|| self.reported_instance_name.clone())
    }

    /// How long before `now` the key last validated ("3 hours ago").
    pub(super) fn last_validated(&self, now: i64) -> Option<String> {
        self.last_validated_at
            .map(|last| clock::relative(now - last))
    }

    /// How the key's own page describes its life, as of `now`.
    pub(crate) fn activity(&self, now: i64) -> KeyActivity {
        let state = self.state(now);
        KeyActivity {
            key: self.dto(now, &state),
            state,
            last_validated: self.last_validated(now),
        }
    }

    /// The key as a row of the License keys page, as of `now`.
    pub(crate) fn row(&self, now: i64) -> KeyRow {
        KeyRow {
            id: self.id.clone(),
            masked_key: self.masked_key.clone(),
            instance_name: self.shown_instance_name(),
            instance_url: self.instance_url.clone(),
            created_at: clock::rfc3339(self.created_at),
            state: self.state(now),
            last_validated: self.last_validated(now),
        }
    }
}
