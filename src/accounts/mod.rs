//! Accounts: users, sign-up and sign-in, API tokens, organizations and members.

#[cfg(feature = "ssr")]
pub mod api;
pub mod domain;
pub mod pages;
#[cfg(feature = "ssr")]
pub mod service;
#[cfg(feature = "ssr")]
pub mod session;

use domain::Role;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserDto {
    pub id: String,
    pub email: String,
}

/// An organization as one of its members sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganizationDto {
    pub id: String,
    pub name: String,
    pub role: Role,
    pub plan: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MemberDto {
    pub user_id: String,
    pub email: String,
    pub role: Role,
}

/// What the page header and every signed-in page need: who is signed in, their
/// organizations and the one they are acting on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub email: String,
    pub organizations: Vec<OrganizationDto>,
    pub current: OrganizationDto,
}
