//! Accounts: users, sign-up and sign-in, API tokens, organizations and members.

pub mod account_page;
pub mod account_security;
#[cfg(feature = "ssr")]
pub mod api;
#[cfg(feature = "ssr")]
pub mod api_auth;
#[cfg(feature = "ssr")]
pub mod authorization;
pub mod context;
#[cfg(feature = "ssr")]
pub mod device;
pub mod domain;
#[cfg(feature = "ssr")]
pub mod email_api;
pub mod email_pages;
#[cfg(feature = "ssr")]
pub mod emails;
pub mod gates;
#[cfg(feature = "ssr")]
pub mod members_api;
#[cfg(feature = "ssr")]
pub mod operator;
pub mod organization_page;
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

/// The signed-in person's own account (`GET /api/v1/account`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountDto {
    pub id: String,
    pub email: String,
    pub email_verified: bool,
    pub created_at: String,
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
    pub joined_at: String,
}

/// A pending invitation, as the organization's owner sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InvitationDto {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: String,
}

/// The organization an invitation is for, as the invitee sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitingOrganizationDto {
    pub id: String,
    pub name: String,
}

/// A pending invitation, as the invited person sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MyInvitationDto {
    pub id: String,
    pub organization: InvitingOrganizationDto,
    pub role: Role,
    /// The email of the owner who invited them.
    pub invited_by: String,
    pub expires_at: String,
}

/// What the page header and every signed-in page need: who is signed in, their
/// organizations and the one they are acting on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedIn {
    pub email: String,
    pub organizations: Vec<OrganizationDto>,
    /// `None` for someone who belongs to no organization (left or was removed
    /// from all of them).
    pub current: Option<OrganizationDto>,
    pub pending_invitations: usize,
}
