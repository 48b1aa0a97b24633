//! `/api/v1/auth/*` and `/api/v1/organizations/*`: parse, call the service, answer.

use super::domain::{Email, OrganizationName, Password, Role};
use super::service::AccountsService;
use super::{MemberDto, OrganizationDto, UserDto};
use crate::audit::service::RequestMeta;
use crate::clock;
use crate::error::AppError;
use crate::http::extract::{ApiCaller, ApiJson};
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RegisterRequest {
    email: String,
    password: String,
    organization_name: String,
}

#[derive(Serialize)]
pub struct RegisterResponse {
    token: String,
    user: UserDto,
    organization: OrganizationDto,
}

pub async fn register(
    State(accounts): State<AccountsService>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), AppError> {
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let organization_name = OrganizationName::parse(&body.organization_name)?;
    let (user, membership) = accounts
        .register(email, password, organization_name)
        .await?;
    let issued = accounts.issue_token(&user, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(RegisterResponse {
            token: issued.token,
            user: UserDto {
                id: user.id.to_string(),
                email: user.email,
            },
            organization: membership.to_dto(),
        }),
    ))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRequest {
    email: String,
    password: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TokenResponse {
    token: String,
    expires_at: String,
}

pub async fn create_token(
    State(accounts): State<AccountsService>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), AppError> {
    let user = accounts
        .authenticate(&body.email, &body.password, &meta)
        .await?;
    let issued = accounts.issue_token(&user, &meta).await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token: issued.token,
            expires_at: clock::rfc3339(issued.expires_at),
        }),
    ))
}

pub async fn revoke_token(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
) -> Result<StatusCode, AppError> {
    accounts.revoke_token(&holder, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize)]
pub struct OrganizationsResponse {
    organizations: Vec<OrganizationDto>,
}

pub async fn list_organizations(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
) -> Result<Json<OrganizationsResponse>, AppError> {
    let memberships = accounts.memberships(&holder.user).await?;
    Ok(Json(OrganizationsResponse {
        organizations: memberships.iter().map(|m| m.to_dto()).collect(),
    }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationRequest {
    name: String,
}

pub async fn create_organization(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    ApiJson(body): ApiJson<CreateOrganizationRequest>,
) -> Result<(StatusCode, Json<OrganizationDto>), AppError> {
    let name = OrganizationName::parse(&body.name)?;
    let membership = accounts.create_organization(&holder.user, name).await?;
    Ok((StatusCode::CREATED, Json(membership.to_dto())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddMemberRequest {
    email: String,
    role: String,
}

pub async fn add_member(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    Path(organization_id): Path<String>,
    ApiJson(body): ApiJson<AddMemberRequest>,
) -> Result<(StatusCode, Json<MemberDto>), AppError> {
    let organization_id =
        Uuid::parse_str(&organization_id).map_err(|_| AppError::OrganizationNotFound)?;
    let actor = accounts
        .membership(&holder.user, Some(organization_id))
        .await?;
    let email = Email::parse(&body.email)?;
    let role = Role::parse_invitable(&body.role)?;
    let member = accounts.add_member(&actor, &email, role).await?;
    Ok((StatusCode::CREATED, Json(member)))
}
