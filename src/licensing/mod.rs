//! License keys for self-hosted Storno instances.

#[cfg(feature = "ssr")]
pub mod api;
pub mod key;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

/// The `201` body of a creation: the only response that carries the full key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedLicenseKeyDto {
    pub id: String,
    pub license_key: String,
    pub instance_name: Option<String>,
    pub active: bool,
    pub created_at: String,
}

/// A key as the list shows it: `license_key` is masked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LicenseKeyDto {
    pub id: String,
    pub license_key: String,
    pub instance_name: Option<String>,
    pub instance_url: Option<String>,
    pub active: bool,
    pub last_validated_at: Option<String>,
    pub activated_at: Option<String>,
    pub created_at: String,
}
