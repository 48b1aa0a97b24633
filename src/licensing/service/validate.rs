//! Validating a key for a self-hosted instance: the request, the verdict, the answer.

use super::super::plans::{InstanceMetrics, PlanFeatures};
use super::super::ValidationDto;
use super::*;
use crate::clock;
use crate::error::AppError;
use crate::parse::is_disguising;
use crate::request_meta::RequestMeta;

#[derive(sqlx::FromRow)]
pub(super) struct ValidationRow {
    pub(super) id: String,
    pub(super) organization_id: String,
    pub(super) revoked_at: Option<i64>,
    pub(super) expires_at: Option<i64>,
    pub(super) activated_at: Option<i64>,
    pub(super) instance_url: Option<String>,
    pub(super) name: String,
    pub(super) plan: String,
    pub(super) deactivated_at: Option<i64>,
    pub(super) current_period_end: Option<i64>,
    pub(super) trial_ends_at: Option<i64>,
    /// The organization's plan's features, and the `free` plan's for a lapsed period.
    pub(super) plan_features: String,
    pub(super) free_features: String,
    /// The key's day in progress (`usage_day`) and its rollup so far.
    pub(super) usage_day: Option<i64>,
    pub(super) usage_today: Option<String>,
    /// The instance URLs it reported lately (`KnownUrls`, JSON).
    pub(super) known_instance_urls: Option<String>,
}

/// What a self-hosted instance sends; `license_key` is still unchecked text.
pub(crate) struct ValidationRequest {
    pub(crate) license_key: String,
    pub(crate) instance_name: Option<String>,
    pub(crate) instance_url: Option<String>,
    pub(crate) metrics: Option<InstanceMetrics>,
    /// Echoed in the answer, so a client can tell it is not a replay.
    pub(crate) nonce: Option<String>,
}

/// The most of an instance's name a validation keeps, in bytes (UTF-8).
pub(crate) const MAX_REPORTED_NAME_BYTES: usize = 255;
/// The most of an instance's URL a validation keeps, in bytes.
pub(crate) const MAX_REPORTED_URL_BYTES: usize = 512;

/// The longest start of `text` of at most `max_bytes` bytes that ends between
/// characters.
pub(super) fn within_bytes(text: &str, max_bytes: usize) -> &str {
    let mut end = text.len().min(max_bytes);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

impl ValidationRequest {
    /// Reads a validation body leniently, field by field: deployed clients of every
    /// version call this, so unknown fields are ignored and optional ones of the
    /// wrong type (or blank, or with control characters) dropped. Only a body that
    /// is not JSON at all is refused, as a missing key.
    pub(crate) fn from_json(body: &[u8]) -> Result<Self, AppError> {
        let value: serde_json::Value = serde_json::from_slice(body)
            .map_err(|_| AppError::BadRequest("licenseKey is required".into()))?;
        let text = |name: &str, max_bytes: usize| {
            value
                .get(name)
                .and_then(serde_json::Value::as_str)
                .map(str::trim)
                .filter(|text| !text.is_empty() && !text.chars().any(is_disguising))
                .map(|text| within_bytes(text, max_bytes).to_string())
        };
        Ok(ValidationRequest {
            // Checked for its exact shape by `validate`, as sent.
            license_key: value
                .get("licenseKey")
                .and_then(serde_json::Value::as_str)
                .unwrap_or_default()
                .to_string(),
            instance_name: text("instanceName", MAX_REPORTED_NAME_BYTES),
            instance_url: text("instanceUrl", MAX_REPORTED_URL_BYTES),
            metrics: value.get("metrics").and_then(InstanceMetrics::from_json),
            // `null` is no nonce, as for the other optional fields.
            nonce: value
                .get("nonce")
                .filter(|nonce| !nonce.is_null())
                .map(parse_nonce)
                .transpose()?,
        })
    }
}

/// A nonce is new (no deployed client sends one), so it is checked, not dropped:
/// 1 to 128 visible ASCII characters.
pub(super) fn parse_nonce(value: &serde_json::Value) -> Result<String, AppError> {
    value
        .as_str()
        .filter(|text| {
            (1..=128).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_graphic())
        })
        .map(str::to_string)
        .ok_or_else(|| {
            AppError::BadRequest("nonce must be 1 to 128 visible ASCII characters".into())
        })
}

pub(super) fn is_key_shaped(text: &str) -> bool {
    text.len() == 64
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl LicensingService {
    /// Checks a key for a self-hosted instance and records what it reported. The
    /// answer reflects the organization's plan and state right now; a plan without
    /// self-hosting is refused (as upstream does) after the visit is recorded.
    pub(crate) async fn validate(
        &self,
        request: ValidationRequest,
        meta: &RequestMeta,
    ) -> Result<ValidationDto, AppError> {
        if !is_key_shaped(&request.license_key) {
            return Err(AppError::BadRequest("licenseKey is required".into()));
        }
        let digest = self.key_hash(&request.license_key);
        self.limits.validate(meta.ip.as_deref(), &digest)?;
        let row = self
            .validation_row(&digest)
            .await?
            .ok_or(AppError::InvalidLicenseKey)?;
        let now = clock::now();
        let mut verdict = decide(&row, request.metrics.as_ref(), now)?;
        verdict.violations = self
            .record_validation(&row, &request, &verdict, now, meta)
            .await?;
        let billing_url = self.billing_url(meta);
        let verdict = verdict.require_self_hosting(&billing_url)?;
        let answer = Answer {
            now,
            billing_url: &billing_url,
            grace_seconds: self.policy.offline_grace_seconds,
            nonce: request.nonce,
        };
        Ok(verdict.into_dto(row, answer))
    }

    /// Where the owner of a key validated through `meta`'s request upgrades.
    pub(super) fn billing_url(&self, meta: &RequestMeta) -> String {
        self.policy.billing.for_host(meta.host.as_deref())
    }

    /// The key with its organization, the organization's plan's features and the
    /// `free` plan's (for a lapsed period), in one query.
    pub(super) async fn validation_row(
        &self,
        digest: &str,
    ) -> Result<Option<ValidationRow>, AppError> {
        Ok(
            sqlx::query_as(concat!(validation_row_select!(), "WHERE k.key_hash = $1"))
                .bind(digest)
                .fetch_optional(&self.pool)
                .await?,
        )
    }
}

/// What a validation decided: the effective plan, its features and the reported
/// metrics above its limits.
#[derive(Debug, PartialEq)]
pub(super) struct Verdict {
    pub(super) plan: String,
    pub(super) features: PlanFeatures,
    pub(super) violations: Vec<String>,
    pub(super) in_trial: bool,
}

/// What a valid answer says beyond the verdict: when it was given, where to
/// upgrade, how long it holds offline, and the client's nonce.
pub(super) struct Answer<'a> {
    pub(super) now: i64,
    pub(super) billing_url: &'a str,
    pub(super) grace_seconds: i64,
    pub(super) nonce: Option<String>,
}

/// The answer to a validation, from the stored key and organization alone: a
/// revoked or expired key is invalid, an inactive organization refused; a lapsed
/// paid period falls back to the `free` plan unless a trial is running.
pub(super) fn decide(
    row: &ValidationRow,
    metrics: Option<&InstanceMetrics>,
    now: i64,
) -> Result<Verdict, AppError> {
    if row.revoked_at.is_some() || row.expires_at.is_some_and(|end| end <= now) {
        return Err(AppError::InvalidLicenseKey);
    }
    if row.deactivated_at.is_some() {
        return Err(AppError::OrganizationInactive);
    }
    let in_trial = row.trial_ends_at.is_some_and(|end| end > now);
    let lapsed = row.current_period_end.is_some_and(|end| end <= now) && !in_trial;
    let (plan, features) = if lapsed {
        ("free".to_string(), &row.free_features)
    } else {
        (row.plan.clone(), &row.plan_features)
    };
    let features: PlanFeatures = serde_json::from_str(features)
        .map_err(|e| AppError::Internal(format!("features of plan {plan}: {e}")))?;
    let violations = metrics
        .map(|metrics| features.violations(metrics))
        .unwrap_or_default();
    Ok(Verdict {
        plan,
        features,
        violations,
        in_trial,
    })
}

impl Verdict {
    /// A plan without `selfHostingLicense` cannot self-host: upstream's `403`,
    /// naming the plan and where to upgrade.
    pub(super) fn require_self_hosting(self, billing_url: &str) -> Result<Verdict, AppError> {
        if self.features.self_hosting_license {
            Ok(self)
        } else {
            Err(AppError::SelfHostingNotIncluded {
                plan: self.plan,
                billing_url: billing_url.to_string(),
            })
        }
    }

    pub(super) fn into_dto(self, row: ValidationRow, answer: Answer<'_>) -> ValidationDto {
        let Answer {
            now,
            billing_url,
            grace_seconds,
            nonce,
        } = answer;
        let trial_end = row.trial_ends_at.filter(|_| self.in_trial);
        ValidationDto {
            code: "valid",
            refresh_after: self.features.sync_interval(),
            grace_until: clock::rfc3339(now + grace_seconds),
            nonce,
            valid: true,
            plan: self.plan,
            features: self.features,
            organization_id: row.organization_id,
            organization_name: row.name,
            current_period_end: row.current_period_end.map(clock::rfc3339),
            trial_ends_at: trial_end.map(clock::rfc3339),
            trial_days_left: trial_end.map(|end| (end - now + 86_399) / 86_400),
            billing_url: billing_url.to_string(),
            violations: self.violations,
        }
    }
}
