//! Plans, their features, and what an instance's reported metrics say about them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The plan names a self-hosted client accepts; it stores the name verbatim.
pub(crate) const PLANS: [&str; 6] = [
    "community",
    "freemium",
    "starter",
    "professional",
    "business",
    "free",
];

/// `name` as one of `PLANS`, or a `422` that lists them.
pub(crate) fn known_plan(name: &str) -> Result<&'static str, crate::error::AppError> {
    PLANS
        .iter()
        .find(|plan| **plan == name)
        .copied()
        .ok_or_else(|| {
            crate::error::AppError::Validation(format!("plan must be one of {}", PLANS.join(", ")))
        })
}

/// A plan's limits (0 = unlimited) and flags, exactly as `validate` returns them.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct PlanFeatures {
    pub(crate) max_companies: i64,
    pub(crate) max_users_per_org: i64,
    pub(crate) max_invoices_per_month: i64,
    pub(crate) sync_interval_seconds: i64,
    pub(crate) auto_sync: bool,
    pub(crate) mobile_app: bool,
    pub(crate) pdf_generation: bool,
    pub(crate) signature_verification: bool,
    pub(crate) api_access: bool,
    pub(crate) realtime_notifications: bool,
    pub(crate) payment_links: bool,
    pub(crate) email_sending: bool,
    pub(crate) email_templates: bool,
    pub(crate) reports: bool,
    pub(crate) recurring_invoices: bool,
    pub(crate) import_export: bool,
    pub(crate) backup_restore: bool,
    pub(crate) bank_statements: bool,
    pub(crate) exchange_rates: bool,
    pub(crate) webhooks: bool,
    pub(crate) self_hosting_license: bool,
    pub(crate) priority_support: bool,
}

/// What an instance reports about its use. Deployed clients of every version send
/// this, so anything unexpected is ignored rather than refused.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) org_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) user_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) company_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) invoices_this_month: Option<i64>,
}

impl InstanceMetrics {
    /// The largest count kept (a trillion): far above any real instance, and small
    /// enough that every sum and chart scale computed from it stays in range.
    pub const MAX_VALUE: i64 = 1_000_000_000_000;

    /// The metrics reported, by wire name.
    pub(crate) fn reported(&self) -> impl Iterator<Item = (&'static str, i64)> {
        [
            ("orgCount", self.org_count),
            ("userCount", self.user_count),
            ("companyCount", self.company_count),
            ("invoicesThisMonth", self.invoices_this_month),
        ]
        .into_iter()
        .filter_map(|(name, value)| Some((name, value?)))
    }

    /// Reads the whole-number fields it knows from a JSON object, ignoring the rest;
    /// each count clamped to `0..=MAX_VALUE`.
    pub(crate) fn from_json(value: &Value) -> Option<Self> {
        let object = value.as_object()?;
        let field = |name: &str| {
            object
                .get(name)
                .and_then(Value::as_i64)
                .map(|count| count.clamp(0, Self::MAX_VALUE))
        };
        Some(InstanceMetrics {
            org_count: field("orgCount"),
            user_count: field("userCount"),
            company_count: field("companyCount"),
            invoices_this_month: field("invoicesThisMonth"),
        })
    }
}

/// How often the deployed client validates (every 6 hours), for a plan that
/// names no sync interval (0).
pub(crate) const CLIENT_SYNC_SECONDS: i64 = 6 * 3600;

impl PlanFeatures {
    /// Seconds between an instance's validations on this plan.
    pub(crate) fn sync_interval(&self) -> i64 {
        if self.sync_interval_seconds > 0 {
            self.sync_interval_seconds
        } else {
            CLIENT_SYNC_SECONDS
        }
    }

    /// Every reported metric above the plan's limit, in upstream's words (the
    /// deployed client prints them to the instance's administrator). A self-hosted
    /// license covers one organization, whatever the plan.
    pub(crate) fn violations(&self, metrics: &InstanceMetrics) -> Vec<String> {
        let organizations = metrics.org_count.filter(|&count| count > 1).map(|count| {
            format!("Multiple organizations detected ({count}). Self-hosted licenses allow 1.")
        });
        let limits = [
            ("Company", metrics.company_count, self.max_companies),
            ("User", metrics.user_count, self.max_users_per_org),
            (
                "Monthly invoice",
                metrics.invoices_this_month,
                self.max_invoices_per_month,
            ),
        ]
        .into_iter()
        .filter_map(|(what, reported, limit)| {
            let reported = reported?;
            (limit > 0 && reported > limit)
                .then(|| format!("{what} limit exceeded: {reported} / {limit} allowed."))
        });
        organizations.into_iter().chain(limits).collect()
    }

    /// These features with one of them changed, as the operator's `plan set` asks:
    /// `feature` is a contract name (`maxCompanies`, `autoSync`, ...), `value` a
    /// whole number from 0 for a limit, `true` or `false` for a flag.
    pub(crate) fn with(&self, feature: &str, value: &str) -> Result<PlanFeatures, String> {
        let mut features = serde_json::to_value(self).map_err(|e| e.to_string())?;
        let slot = features.get_mut(feature).ok_or_else(|| {
            format!(
                "unknown feature {feature:?}; the features are: {}",
                Self::names().join(", ")
            )
        })?;
        *slot = match slot {
            Value::Bool(_) => value
                .parse::<bool>()
                .map(Value::from)
                .map_err(|_| format!("{feature} is true or false, got {value:?}"))?,
            _ => value.parse::<u32>().map(Value::from).map_err(|_| {
                format!("{feature} is a whole number from 0 (0 = unlimited), got {value:?}")
            })?,
        };
        serde_json::from_value(features).map_err(|e| e.to_string())
    }

    /// The features' names, alphabetically.
    pub(crate) fn names() -> Vec<String> {
        match serde_json::to_value(PlanFeatures::default()) {
            Ok(Value::Object(fields)) => fields.keys().cloned().collect(),
            _ => Vec::new(),
        }
    }

    /// Each feature's name with its value as text, alphabetically.
    pub(crate) fn entries(&self) -> Vec<(String, String)> {
        match serde_json::to_value(self) {
            Ok(Value::Object(fields)) => fields
                .into_iter()
                .map(|(name, value)| (name, value.to_string()))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        /// Deployed clients send what they send: whole numbers count (clamped to the
        /// sane range), anything else is ignored.
        #[test]
        fn metrics_keep_whole_numbers_and_ignore_everything_else(
            text in proptest::prelude::any::<String>(),
            n in proptest::prelude::any::<i64>(),
            x in proptest::prelude::any::<f64>(),
        ) {
            let value = json!({"userCount": n, "orgCount": text, "companyCount": x, "invoicesThisMonth": [n], "other": n});
            let metrics = InstanceMetrics::from_json(&value).unwrap();
            proptest::prop_assert_eq!(metrics.user_count, Some(n.clamp(0, InstanceMetrics::MAX_VALUE)));
            proptest::prop_assert_eq!(metrics.org_count, None);
            proptest::prop_assert_eq!(metrics.invoices_this_month, None);
            proptest::prop_assert!(InstanceMetrics::from_json(&json!(text)).is_none());
        }
    }

    fn starter() -> PlanFeatures {
        serde_json::from_value(json!({
            "maxCompanies": 3, "maxUsersPerOrg": 10, "maxInvoicesPerMonth": 0,
            "syncIntervalSeconds": 900, "autoSync": true, "mobileApp": true,
            "pdfGeneration": true, "signatureVerification": true, "apiAccess": true,
            "realtimeNotifications": false, "paymentLinks": true, "emailSending": true,
            "emailTemplates": true, "reports": true, "recurringInvoices": true,
            "importExport": true, "backupRestore": true, "bankStatements": false,
            "exchangeRates": true, "webhooks": false, "selfHostingLicense": true,
            "prioritySupport": false
        }))
        .unwrap()
    }

    #[test]
    fn violations_use_upstreams_sentences_for_each_metric_over_its_limit() {
        let metrics = InstanceMetrics::from_json(&json!({
            "userCount": 12, "companyCount": 3, "invoicesThisMonth": 99999, "orgCount": 4
        }))
        .unwrap();
        assert_eq!(
            starter().violations(&metrics),
            [
                "Multiple organizations detected (4). Self-hosted licenses allow 1.",
                "User limit exceeded: 12 / 10 allowed."
            ]
        );
        let limited = starter().with("maxInvoicesPerMonth", "500").unwrap();
        let over = InstanceMetrics::from_json(
            &json!({"invoicesThisMonth": 501, "companyCount": 4, "orgCount": 1}),
        )
        .unwrap();
        assert_eq!(
            limited.violations(&over),
            [
                "Company limit exceeded: 4 / 3 allowed.",
                "Monthly invoice limit exceeded: 501 / 500 allowed."
            ]
        );
    }

    #[test]
    fn an_operator_changes_one_feature_at_a_time_with_a_value_of_its_type() {
        let changed = starter().with("selfHostingLicense", "false").unwrap();
        assert!(!changed.self_hosting_license);
        assert_eq!(changed.with("maxCompanies", "0").unwrap().max_companies, 0);
        assert_eq!(
            PlanFeatures {
                self_hosting_license: true,
                ..changed.clone()
            },
            starter()
        );
        for (feature, value) in [
            ("selfHostingLicense", "yes"),
            ("maxCompanies", "-1"),
            ("maxCompanies", "true"),
            ("maxCompanies", "1.5"),
            ("unlimitedEverything", "true"),
        ] {
            let error = starter().with(feature, value).unwrap_err();
            assert!(error.contains(feature), "{error}");
        }
        assert_eq!(PlanFeatures::names().len(), 22);
        assert!(starter()
            .entries()
            .contains(&("autoSync".into(), "true".into())));
    }

    #[test]
    fn metrics_are_clamped_to_a_sane_range() {
        let metrics = InstanceMetrics::from_json(&json!({
            "userCount": i64::MAX, "companyCount": -3, "invoicesThisMonth": i64::MIN, "orgCount": 2
        }))
        .unwrap();
        assert_eq!(metrics.user_count, Some(InstanceMetrics::MAX_VALUE));
        assert_eq!(metrics.company_count, Some(0));
        assert_eq!(metrics.invoices_this_month, Some(0));
        assert_eq!(metrics.org_count, Some(2));
    }

    #[test]
    fn metrics_ignore_unknown_and_mistyped_fields() {
        let metrics = InstanceMetrics::from_json(&json!({
            "userCount": "12", "companyCount": 2, "futureMetric": 1
        }))
        .unwrap();
        assert_eq!(metrics.user_count, None);
        assert_eq!(metrics.company_count, Some(2));
        assert!(starter().violations(&metrics).is_empty());
        assert_eq!(InstanceMetrics::from_json(&json!([1, 2])), None);
    }

    #[test]
    fn features_serialize_with_the_contract_names() {
        let value = serde_json::to_value(starter()).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 22);
        for key in [
            "maxCompanies",
            "maxUsersPerOrg",
            "maxInvoicesPerMonth",
            "syncIntervalSeconds",
            "selfHostingLicense",
            "prioritySupport",
        ] {
            assert!(object.contains_key(key), "{key}");
        }
    }
}
