//! Accounts: users, sign-up and sign-in, API tokens, organizations and members.

#[cfg(feature = "ssr")]
pub(crate) mod api;
#[cfg(feature = "ssr")]
pub(crate) mod authorization;
pub(crate) mod context;
#[cfg(feature = "ssr")]
pub(crate) mod device;
pub(crate) mod domain;
#[cfg(feature = "ssr")]
pub(crate) mod emails;
#[cfg(feature = "ssr")]
pub(crate) mod operator;
pub(crate) mod pages;
#[cfg(feature = "ssr")]
pub(crate) mod service;
#[cfg(feature = "ssr")]
pub(crate) mod session;

use domain::Role;
use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UserDto {
    pub(crate) id: String,
    pub(crate) email: String,
}

/// The signed-in person's own account (`GET /api/v1/account`).
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct AccountDto {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) email_verified: bool,
    pub(crate) created_at: String,
}

/// An organization as one of its members sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct OrganizationDto {
    pub(crate) id: String,
    pub(crate) name: String,
    pub(crate) role: Role,
    pub(crate) plan: String,
}

#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MemberDto {
    pub(crate) user_id: String,
    pub(crate) email: String,
    pub(crate) role: Role,
    pub(crate) joined_at: String,
}

/// A pending invitation, as the organization's owner sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InvitationDto {
    pub(crate) id: String,
    pub(crate) email: String,
    pub(crate) role: Role,
    pub(crate) expires_at: String,
}

/// The organization an invitation is for, as the invitee sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct InvitingOrganizationDto {
    pub(crate) id: String,
    pub(crate) name: String,
}

/// A pending invitation, as the invited person sees it.
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MyInvitationDto {
    pub(crate) id: String,
    pub(crate) organization: InvitingOrganizationDto,
    pub(crate) role: Role,
    /// The email of the owner who invited them.
    pub(crate) invited_by: String,
    pub(crate) expires_at: String,
}

/// What the page header and every signed-in page need: who is signed in, their
/// organizations and the one they are acting on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SignedIn {
    pub(crate) email: String,
    pub(crate) organizations: Vec<OrganizationDto>,
    /// `None` for someone who belongs to no organization (left or was removed
    /// from all of them).
    pub(crate) current: Option<OrganizationDto>,
    pub(crate) pending_invitations: usize,
}
