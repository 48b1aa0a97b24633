//! `/api/v1/auth/*` and the caller's organizations: parse, call the service, answer.

use crate::accounts::api::extract::ApiCaller;
use crate::accounts::domain::{Email, OrganizationName, Password};
use crate::accounts::service::AccountsService;
use crate::accounts::{OrganizationDto, UserDto};
use crate::clock;
use crate::error::AppError;
use crate::request_meta::RequestMeta;
use crate::web::api_doc::ErrorBody;
use crate::web::json::ApiJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub(crate) struct RegisterRequest {
    #[schema(format = Email, max_length = 254)]
    email: String,
    #[schema(min_length = 12, max_length = 1024)]
    password: String,
    #[schema(
        max_length = 255,
        pattern = r"^[^\x00-\x1F\x7F-\x9F\u200B-\u200F\u202A-\u202E\u2066-\u2069\u2060-\u2064\u061C\uFEFF]*[^\s\x00-\x1F\x7F-\x9F\u200B-\u200F\u202A-\u202E\u2066-\u2069\u2060-\u2064\u061C\uFEFF][^\x00-\x1F\x7F-\x9F\u200B-\u200F\u202A-\u202E\u2066-\u2069\u2060-\u2064\u061C\uFEFF]*$"
    )]
    organization_name: String,
}

#[derive(Serialize, ToSchema)]
pub(crate) struct RegisterResponse {
    token: String,
    user: UserDto,
    organization: OrganizationDto,
}

#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "accounts",
    summary = "Create a user, their organization (plan community) and a token",
    request_body = RegisterRequest,
    responses(
        (status = 201, description = "Registered; `Cache-Control: no-store`", body = RegisterResponse),
        (status = 409, description = "The email is already registered", body = ErrorBody)
    )
)]
pub(crate) async fn register(
    State(accounts): State<AccountsService>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<RegisterRequest>,
) -> Result<(StatusCode, Json<RegisterResponse>), AppError> {
    let email = Email::parse(&body.email)?;
    let password = Password::parse(&body.password)?;
    let organization_name = OrganizationName::parse(&body.organization_name)?;
    let (user, membership, issued) = accounts
        .register_with_token(email, password, organization_name, &meta)
        .await?;
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

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenRequest {
    email: String,
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct TokenResponse {
    token: String,
    expires_at: String,
}

#[utoipa::path(
    post,
    path = "/auth/token",
    tag = "accounts",
    summary = "Sign in: a new bearer token (30 days by default)",
    request_body = TokenRequest,
    responses(
        (status = 201, description = "A token; `Cache-Control: no-store`", body = TokenResponse),
        (status = 401, description = "Wrong email or password (one message for both)", body = ErrorBody),
        (
            status = 429,
            description = "Too many sign-ins from this address or for this account",
            body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))
        )
    )
)]
pub(crate) async fn create_token(
    State(accounts): State<AccountsService>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<TokenRequest>,
) -> Result<(StatusCode, Json<TokenResponse>), AppError> {
    let issued = accounts
        .sign_in_with_token(&body.email, &body.password, &meta)
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenResponse {
            token: issued.token,
            expires_at: clock::rfc3339(issued.expires_at),
        }),
    ))
}

#[utoipa::path(
    delete,
    path = "/auth/token",
    tag = "accounts",
    summary = "Revoke the token used for this call",
    responses((status = 204, description = "Revoked")),
    security(("bearer" = []))
)]
pub(crate) async fn revoke_token(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
) -> Result<StatusCode, AppError> {
    accounts.revoke_token(&holder, &meta).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, ToSchema)]
pub(crate) struct OrganizationsResponse {
    organizations: Vec<OrganizationDto>,
}

#[utoipa::path(
    get,
    path = "/organizations",
    tag = "accounts",
    summary = "The caller's organizations, in the order they joined them",
    responses((status = 200, description = "The organizations", body = OrganizationsResponse)),
    security(("bearer" = []))
)]
pub(crate) async fn list_organizations(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
) -> Result<Json<OrganizationsResponse>, AppError> {
    let memberships = accounts.memberships(&holder.user).await?;
    Ok(Json(OrganizationsResponse {
        organizations: memberships.iter().map(|m| m.to_dto()).collect(),
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct CreateOrganizationRequest {
    #[schema(
        max_length = 255,
        pattern = r"^[^\x00-\x1F\x7F-\x9F\u200B-\u200F\u202A-\u202E\u2066-\u2069\u2060-\u2064\u061C\uFEFF]*[^\s\x00-\x1F\x7F-\x9F\u200B-\u200F\u202A-\u202E\u2066-\u2069\u2060-\u2064\u061C\uFEFF][^\x00-\x1F\x7F-\x9F\u200B-\u200F\u202A-\u202E\u2066-\u2069\u2060-\u2064\u061C\uFEFF]*$"
    )]
    name: String,
}

#[utoipa::path(
    post,
    path = "/organizations",
    tag = "accounts",
    summary = "Create another organization, owned by the caller",
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, description = "Created", body = OrganizationDto),
        (
            status = 429,
            description = "The caller created organizations faster than `RATE_LIMIT_ORGANIZATIONS_PER_ACCOUNT` a minute",
            body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait"))
        )
    ),
    security(("bearer" = []))
)]
pub(crate) async fn create_organization(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    ApiJson(body): ApiJson<CreateOrganizationRequest>,
) -> Result<(StatusCode, Json<OrganizationDto>), AppError> {
    let name = OrganizationName::parse(&body.name)?;
    let membership = accounts.create_organization(&holder.user, name).await?;
    Ok((StatusCode::CREATED, Json(membership.to_dto())))
}
