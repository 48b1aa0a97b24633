//! A key's days of use, for the API and the key's page.

use super::super::*;
use super::*;
use crate::licensing::usage::{UsageDayDto, MAX_DAYS};

/// A key with what its page needs beside it.
pub(crate) struct KeyUsage {
    pub(crate) key: LicenseKeyRecord,
    pub(crate) features: PlanFeatures,
    pub(crate) days: Vec<UsageDayDto>,
}

impl LicensingService {
    /// The key's usage for the `days` days up to today, oldest first, days without
    /// validations left out (owner only).
    pub(crate) async fn usage(
        &self,
        actor: &Membership,
        key_id: Uuid,
        days: i64,
    ) -> Result<Vec<UsageDayDto>, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let current: StoredDay = sqlx::query_as(
            "SELECT usage_day, usage_today FROM license_keys WHERE id = $1 AND organization_id = $2",
        )
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AppError::LicenseKeyNotFound)?;
        self.history(key_id, days, current).await
    }

    /// All a key's page shows, each read once: the key, its organization's plan's
    /// features and the key's usage for the `days` days up to today (owner only).
    pub(crate) async fn key_usage(
        &self,
        actor: &Membership,
        key_id: Uuid,
        days: i64,
    ) -> Result<KeyUsage, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let features = self.plan_features(actor).await?;
        let key = self
            .key_record(actor, key_id, self.overdue_after(&features))
            .await?;
        let current = StoredDay {
            usage_day: key.usage_day,
            usage_today: key.usage_today.clone(),
        };
        let days = self.history(key_id, days, current).await?;
        Ok(KeyUsage {
            key,
            features,
            days,
        })
    }

    /// The finished days kept for the key, with `current` (the day on its row), for
    /// the `days` days up to today.
    pub(super) async fn history(
        &self,
        key_id: Uuid,
        days: i64,
        current: StoredDay,
    ) -> Result<Vec<UsageDayDto>, AppError> {
        let first = day_of(clock::now()) - days.clamp(1, MAX_DAYS) + 1;
        let mut stored: Vec<(i64, String)> = sqlx::query_as(
            "SELECT day, usage FROM key_usage_days WHERE license_key_id = $1 AND day >= $2 \
             ORDER BY day",
        )
        .bind(key_id.to_string())
        .bind(first)
        .fetch_all(&self.pool)
        .await?;
        if let (Some(day), Some(text)) = (current.usage_day, current.usage_today) {
            if day >= first && stored.last().is_none_or(|(last, _)| *last < day) {
                stored.push((day, text));
            }
        }
        stored
            .into_iter()
            .map(|(day, text)| {
                let usage = parse_usage(&text)?;
                Ok(UsageDayDto {
                    date: date_of(day),
                    validations: usage.validations,
                    more_instance_urls: usage.further_urls.len(),
                    instance_urls: usage.instance_urls,
                    metrics: usage.metrics,
                    violations: usage.violations,
                })
            })
            .collect()
    }
}
