//! `/api/v1/organizations/{id}/members` and `.../invitations`, and the caller's own
//! invitations: parse, call the service, answer.

use crate::accounts::api::extract::ApiCaller;
use crate::accounts::authorization::{Membership, TokenHolder};
use crate::accounts::domain::{Email, Role};
use crate::accounts::service::AccountsService;
use crate::accounts::{InvitationDto, MemberDto, MyInvitationDto, OrganizationDto};
use crate::error::AppError;
use crate::parse::path_id;
use crate::request_meta::RequestMeta;
use crate::web::api_doc::ErrorBody;
use crate::web::json::ApiJson;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The caller as a member of the organization in the path (`404` if they are not one).
async fn member_of(
    accounts: &AccountsService,
    holder: &TokenHolder,
    organization: &str,
) -> Result<Membership, AppError> {
    let organization = path_id(organization, AppError::OrganizationNotFound)?;
    accounts.membership(&holder.user, Some(organization)).await
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MembersResponse {
    members: Vec<MemberDto>,
}

#[utoipa::path(
    get,
    path = "/organizations/{id}/members",
    tag = "members",
    summary = "The organization's members, owner first (any member)",
    params(("id" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "The members", body = MembersResponse),
        (status = 404, description = "No such organization among the caller's", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_members(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    Path(organization): Path<String>,
) -> Result<Json<MembersResponse>, AppError> {
    let actor = member_of(&accounts, &holder, &organization).await?;
    Ok(Json(MembersResponse {
        members: accounts.members(&actor).await?,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct ChangeRoleRequest {
    /// `owner` hands ownership to an admin; the old owner becomes an admin.
    #[schema(pattern = "^(owner|admin|member)$")]
    role: String,
}

#[utoipa::path(
    patch,
    path = "/organizations/{id}/members/{userId}",
    tag = "members",
    summary = "Change a member's role, or transfer ownership to an admin (owner only)",
    params(
        ("id" = String, Path, description = "The organization's id"),
        ("userId" = String, Path, description = "The member's user id")
    ),
    request_body = ChangeRoleRequest,
    responses(
        (status = 200, description = "The member with their new role", body = MemberDto),
        (status = 403, description = "The caller is not the owner", body = ErrorBody),
        (status = 404, description = "No such member, or no such organization among the caller's", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn change_role(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
    Path((organization, member)): Path<(String, String)>,
    ApiJson(body): ApiJson<ChangeRoleRequest>,
) -> Result<Json<MemberDto>, AppError> {
    let actor = member_of(&accounts, &holder, &organization).await?;
    let member = path_id(&member, AppError::MemberNotFound)?;
    let role = Role::parse(&body.role)?;
    Ok(Json(
        accounts.change_role(&actor, member, role, &meta).await?,
    ))
}

#[utoipa::path(
    delete,
    path = "/organizations/{id}/members/{userId}",
    tag = "members",
    summary = "Remove a member (owner), or leave (your own user id)",
    params(
        ("id" = String, Path, description = "The organization's id"),
        ("userId" = String, Path, description = "The member's user id; your own to leave")
    ),
    responses(
        (status = 204, description = "Removed"),
        (status = 403, description = "Removing someone else without being the owner", body = ErrorBody),
        (status = 404, description = "No such member, or no such organization among the caller's", body = ErrorBody),
        (status = 409, description = "The owner cannot leave or be removed (`owner_cannot_leave`): transfer ownership first", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn remove_member(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
    Path((organization, member)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let actor = member_of(&accounts, &holder, &organization).await?;
    let member = path_id(&member, AppError::MemberNotFound)?;
    accounts.remove_member(&actor, member, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct InviteRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(pattern = "^(admin|member)$")]
    role: String,
}

#[utoipa::path(
    post,
    path = "/organizations/{id}/invitations",
    tag = "members",
    summary = "Invite an email as admin or member (owner only); the same answer whether or not it has an account",
    params(("id" = String, Path, description = "The organization's id")),
    request_body = InviteRequest,
    responses(
        (status = 201, description = "Invited (or the invitation renewed); expires after 7 days", body = InvitationDto),
        (status = 403, description = "The caller is not the owner", body = ErrorBody),
        (status = 404, description = "No such organization among the caller's", body = ErrorBody),
        (status = 409, description = "That email already belongs to a member", body = ErrorBody),
        (
            status = 429,
            description = "The organization sent invitations faster than `RATE_LIMIT_INVITATIONS_PER_ORGANIZATION` a minute",
            body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))
        )
    ),
    security(("bearer" = []))
)]
pub(crate) async fn invite(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
    Path(organization): Path<String>,
    ApiJson(body): ApiJson<InviteRequest>,
) -> Result<(StatusCode, Json<InvitationDto>), AppError> {
    let actor = member_of(&accounts, &holder, &organization).await?;
    let email = Email::parse(&body.email)?;
    let role = Role::parse_invitable(&body.role)?;
    let invitation = accounts.invite(&actor, &email, role, &meta).await?;
    Ok((StatusCode::CREATED, Json(invitation)))
}

#[derive(Serialize, ToSchema)]
pub(crate) struct InvitationsResponse {
    invitations: Vec<InvitationDto>,
}

#[utoipa::path(
    get,
    path = "/organizations/{id}/invitations",
    tag = "members",
    summary = "The organization's pending invitations, newest first (owner only)",
    params(("id" = String, Path, description = "The organization's id")),
    responses(
        (status = 200, description = "Pending invitations", body = InvitationsResponse),
        (status = 403, description = "The caller is not the owner", body = ErrorBody),
        (status = 404, description = "No such organization among the caller's", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn list_invitations(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    Path(organization): Path<String>,
) -> Result<Json<InvitationsResponse>, AppError> {
    let actor = member_of(&accounts, &holder, &organization).await?;
    Ok(Json(InvitationsResponse {
        invitations: accounts.invitations(&actor).await?,
    }))
}

#[utoipa::path(
    delete,
    path = "/organizations/{id}/invitations/{invitationId}",
    tag = "members",
    summary = "Withdraw a pending invitation (owner only)",
    params(
        ("id" = String, Path, description = "The organization's id"),
        ("invitationId" = String, Path, description = "The invitation's id")
    ),
    responses(
        (status = 204, description = "Withdrawn"),
        (status = 403, description = "The caller is not the owner", body = ErrorBody),
        (status = 404, description = "No such invitation or organization", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn withdraw_invitation(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
    Path((organization, invitation)): Path<(String, String)>,
) -> Result<StatusCode, AppError> {
    let actor = member_of(&accounts, &holder, &organization).await?;
    let invitation = path_id(&invitation, AppError::InvitationNotFound)?;
    accounts
        .withdraw_invitation(&actor, invitation, &meta)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct MyInvitationsResponse {
    invitations: Vec<MyInvitationDto>,
}

#[utoipa::path(
    get,
    path = "/invitations",
    tag = "members",
    summary = "Invitations waiting for the caller's email, newest first",
    responses(
        (status = 200, description = "Pending invitations", body = MyInvitationsResponse),
        (status = 403, description = "The caller's email is not verified (`email_not_verified`)", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn my_invitations(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
) -> Result<Json<MyInvitationsResponse>, AppError> {
    Ok(Json(MyInvitationsResponse {
        invitations: accounts.my_invitations(&holder.user).await?,
    }))
}

#[utoipa::path(
    post,
    path = "/invitations/{id}/accept",
    tag = "members",
    summary = "Accept an invitation: join the organization with the invited role",
    params(("id" = String, Path, description = "The invitation's id")),
    responses(
        (status = 200, description = "The new membership", body = OrganizationDto),
        (status = 403, description = "The caller's email is not verified (`email_not_verified`)", body = ErrorBody),
        (status = 404, description = "No such pending invitation for the caller's email", body = ErrorBody),
        (status = 409, description = "Already a member", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn accept_invitation(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    Path(invitation): Path<String>,
) -> Result<Json<OrganizationDto>, AppError> {
    let invitation = path_id(&invitation, AppError::InvitationNotFound)?;
    let membership = accounts.accept_invitation(&holder.user, invitation).await?;
    Ok(Json(membership.to_dto()))
}

#[utoipa::path(
    post,
    path = "/invitations/{id}/decline",
    tag = "members",
    summary = "Decline an invitation",
    params(("id" = String, Path, description = "The invitation's id")),
    responses(
        (status = 204, description = "Declined"),
        (status = 403, description = "The caller's email is not verified (`email_not_verified`)", body = ErrorBody),
        (status = 404, description = "No such pending invitation for the caller's email", body = ErrorBody)
    ),
    security(("bearer" = []))
)]
pub(crate) async fn decline_invitation(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    Path(invitation): Path<String>,
) -> Result<StatusCode, AppError> {
    let invitation = path_id(&invitation, AppError::InvitationNotFound)?;
    accounts
        .decline_invitation(&holder.user, invitation)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
