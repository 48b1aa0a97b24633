//! The audit log: who did what, when and from where; never a secret.

#[cfg(feature = "ssr")]
pub(crate) mod api;
pub(crate) mod pages;
#[cfg(feature = "ssr")]
pub mod service;

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditEventDto {
    pub(crate) id: String,
    pub(crate) action: String,
    pub(crate) actor_email: Option<String>,
    pub(crate) target_id: Option<String>,
    #[cfg_attr(feature = "ssr", schema(value_type = Option<Object>))]
    pub(crate) details: Option<serde_json::Value>,
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) created_at: String,
}

/// One page of events, newest first; `next_before` fetches the older ones.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AuditPageDto {
    pub(crate) events: Vec<AuditEventDto>,
    pub(crate) next_before: Option<String>,
}
