//! License keys for self-hosted Storno instances.

#[cfg(feature = "ssr")]
pub(crate) mod answer_signing;
#[cfg(feature = "ssr")]
pub(crate) mod api;
pub(crate) mod key;
#[cfg(feature = "ssr")]
pub(crate) mod offline;
pub(crate) mod pages;
#[cfg(feature = "ssr")]
pub(crate) mod plan_table;
#[cfg(feature = "ssr")]
pub mod plans;
#[cfg(feature = "ssr")]
pub(crate) mod reveal;
#[cfg(feature = "ssr")]
pub mod service;
pub mod usage;

use serde::{Deserialize, Serialize};

/// The `201` body of a creation: the only response that carries the full key.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CreatedLicenseKeyDto {
    pub(crate) id: String,
    pub(crate) license_key: String,
    pub(crate) instance_name: Option<String>,
    pub(crate) active: bool,
    pub(crate) created_at: String,
    /// On rotation: the id of the key this one replaces.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub(crate) replaces: Option<String>,
}

/// A key as the list shows it: `license_key` is masked.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LicenseKeyDto {
    pub(crate) id: String,
    pub(crate) license_key: String,
    pub(crate) instance_name: Option<String>,
    pub(crate) instance_url: Option<String>,
    pub(crate) active: bool,
    pub(crate) last_validated_at: Option<String>,
    pub(crate) activated_at: Option<String>,
    pub(crate) created_at: String,
    /// What the instance reported at its last validation.
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub(crate) instance_metrics: Option<serde_json::Value>,
    pub(crate) last_violations: Vec<String>,
    /// `never_used`, `active`, `overdue` (silent for twice its plan's sync interval
    /// plus the operator's grace), `shared` (two or more instance URLs validated it
    /// within one UTC day, today or yesterday), `rotating` or `revoked`.
    #[cfg_attr(feature = "ssr", schema(example = "active"))]
    pub(crate) state: String,
}

/// Where a key is in its life, as the License keys page shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum KeyState {
    Active,
    /// Active and activated, but silent for longer than its plan's sync allows.
    Overdue,
    /// Validated from two or more instance URLs within one UTC day, lately.
    Shared {
        instances: usize,
    },
    NeverUsed,
    /// Replaced by a newer key; validates until `until`.
    Rotating {
        until: String,
    },
    Revoked,
}

impl KeyState {
    /// The state as the API names it (a key's `state`).
    pub(crate) fn code(&self) -> &'static str {
        match self {
            KeyState::Active => "active",
            KeyState::Overdue => "overdue",
            KeyState::Shared { .. } => "shared",
            KeyState::NeverUsed => "never_used",
            KeyState::Rotating { .. } => "rotating",
            KeyState::Revoked => "revoked",
        }
    }
}

/// A key, for its own page, with its state and how long ago it last validated ("3 hours ago"),
/// both computed on the server so the page renders the same text on both sides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyActivity {
    pub(crate) key: LicenseKeyDto,
    pub(crate) state: KeyState,
    pub(crate) last_validated: Option<String>,
}

/// A key as a row of the License keys page: only what the row shows. The page
/// carries its data to the browser, so each field here is bytes in every view of
/// up to 50 rows (what an instance reports belongs to the key's own page).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyRow {
    pub(crate) id: String,
    pub(crate) masked_key: String,
    pub(crate) instance_name: Option<String>,
    pub(crate) instance_url: Option<String>,
    pub(crate) created_at: String,
    pub(crate) state: KeyState,
    pub(crate) last_validated: Option<String>,
}

/// One page of the License keys page's list, newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct KeyListPage {
    pub(crate) keys: Vec<KeyRow>,
    /// The id to page on from ("Older keys"), when there are more.
    pub(crate) next_before: Option<String>,
    /// The organization's offline licenses that still work, listed beside their keys.
    pub(crate) offline_licenses: Vec<OfflineLicenseDto>,
    /// Whether this server signs offline licenses (the operator configured a key).
    pub(crate) offline_enabled: bool,
    /// Whether the organization's plan includes self-hosting; when not, instances
    /// using its keys are refused, and the page says so.
    pub(crate) self_hosting: bool,
}

/// The `200` of `POST /api/v1/licensing/validate`.
#[cfg(feature = "ssr")]
#[derive(utoipa::ToSchema, Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ValidationDto {
    pub(crate) valid: bool,
    pub(crate) plan: String,
    pub(crate) features: plans::PlanFeatures,
    pub(crate) organization_id: String,
    pub(crate) organization_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) current_period_end: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trial_ends_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) trial_days_left: Option<i64>,
    pub(crate) billing_url: String,
    pub(crate) violations: Vec<String>,
    /// Always `valid` here; every error answer of validate carries its own `code`.
    #[schema(example = "valid")]
    pub(crate) code: &'static str,
    /// Seconds until the instance should validate again (the plan's sync interval).
    pub(crate) refresh_after: i64,
    /// How long the instance may keep working offline on this answer (RFC 3339).
    pub(crate) grace_until: String,
    /// The request's `nonce`, when it sent one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) nonce: Option<String>,
}

/// The `201` of `POST /licensing/keys/{id}/jwt`: the offline license, shown once.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct IssuedOfflineLicenseDto {
    /// An RS256 JWT: claims `iss`, `sub` (organization id), `plan`, `features`,
    /// `orgName`, `iat`, `exp`, `jti`.
    pub(crate) jwt: String,
    pub(crate) expires_at: String,
    pub(crate) plan: String,
}

/// An issued offline license as listed: who issued it and until when, never the token.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct OfflineLicenseDto {
    pub(crate) id: String,
    pub(crate) license_key_id: String,
    pub(crate) plan: String,
    pub(crate) issued_at: String,
    pub(crate) expires_at: String,
    /// The email of the owner who issued it (none if that account is gone).
    pub(crate) issued_by: Option<String>,
}
