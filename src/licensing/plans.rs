//! Plans, their features, and what an instance's reported metrics say about them.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The plan names a self-hosted client accepts; it stores the name verbatim.
pub const PLANS: [&str; 6] = [
    "community",
    "freemium",
    "starter",
    "professional",
    "business",
    "free",
];

/// A plan's limits (0 = unlimited) and flags, exactly as `validate` returns them.
#[derive(utoipa::ToSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PlanFeatures {
    pub max_companies: i64,
    pub max_users_per_org: i64,
    pub max_invoices_per_month: i64,
    pub sync_interval_seconds: i64,
    pub auto_sync: bool,
    pub mobile_app: bool,
    pub pdf_generation: bool,
    pub signature_verification: bool,
    pub api_access: bool,
    pub realtime_notifications: bool,
    pub payment_links: bool,
    pub email_sending: bool,
    pub email_templates: bool,
    pub reports: bool,
    pub recurring_invoices: bool,
    pub import_export: bool,
    pub backup_restore: bool,
    pub bank_statements: bool,
    pub exchange_rates: bool,
    pub webhooks: bool,
    pub self_hosting_license: bool,
    pub priority_support: bool,
}

/// What an instance reports about its use. Deployed clients of every version send
/// this, so anything unexpected is ignored rather than refused.
#[derive(utoipa::ToSchema, Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct InstanceMetrics {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub org_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub company_count: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub invoices_this_month: Option<i64>,
}

impl InstanceMetrics {
    /// Reads the whole-number fields it knows from a JSON object, ignoring the rest.
    pub fn from_json(value: &Value) -> Option<Self> {
        let object = value.as_object()?;
        let field = |name: &str| object.get(name).and_then(Value::as_i64);
        Some(InstanceMetrics {
            org_count: field("orgCount"),
            user_count: field("userCount"),
            company_count: field("companyCount"),
            invoices_this_month: field("invoicesThisMonth"),
        })
    }
}

impl PlanFeatures {
    /// Every reported metric above the plan's limit, in plain words.
    pub fn violations(&self, metrics: &InstanceMetrics) -> Vec<String> {
        [
            (
                "userCount",
                metrics.user_count,
                "maxUsersPerOrg",
                self.max_users_per_org,
            ),
            (
                "companyCount",
                metrics.company_count,
                "maxCompanies",
                self.max_companies,
            ),
            (
                "invoicesThisMonth",
                metrics.invoices_this_month,
                "maxInvoicesPerMonth",
                self.max_invoices_per_month,
            ),
        ]
        .into_iter()
        .filter_map(|(metric, reported, limit_name, limit)| {
            let reported = reported?;
            (limit > 0 && reported > limit)
                .then(|| format!("{metric} {reported} exceeds {limit_name} {limit}"))
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    proptest::proptest! {
        /// Deployed clients send what they send: whole numbers count, anything else is ignored.
        #[test]
        fn metrics_keep_whole_numbers_and_ignore_everything_else(
            text in proptest::prelude::any::<String>(),
            n in proptest::prelude::any::<i64>(),
            x in proptest::prelude::any::<f64>(),
        ) {
            let value = json!({"userCount": n, "orgCount": text, "companyCount": x, "invoicesThisMonth": [n], "other": n});
            let metrics = InstanceMetrics::from_json(&value).unwrap();
            proptest::prop_assert_eq!(metrics.user_count, Some(n));
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
    fn violations_name_each_metric_over_its_limit() {
        let metrics = InstanceMetrics::from_json(&json!({
            "userCount": 12, "companyCount": 3, "invoicesThisMonth": 99999, "orgCount": 4
        }))
        .unwrap();
        assert_eq!(
            starter().violations(&metrics),
            ["userCount 12 exceeds maxUsersPerOrg 10"]
        );
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
