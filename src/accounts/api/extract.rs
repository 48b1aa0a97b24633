//! Who calls the JSON API: a Bearer token only (never the session cookie), and the
//! organization it acts on (`X-Organization`, else the default one).

use crate::accounts::authorization::{Membership, TokenCredential, TokenHolder};
use crate::accounts::service::AccountsService;
use crate::error::AppError;
use axum::extract::{FromRef, FromRequestParts};
use axum::http::header::AUTHORIZATION;
use axum::http::request::Parts;
use uuid::Uuid;

/// The caller of an API endpoint, proven by a live Bearer token.
pub(crate) struct ApiCaller(pub TokenHolder);

impl<S: Send + Sync> FromRequestParts<S> for ApiCaller
where
    AccountsService: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let accounts = AccountsService::from_ref(state);
        let token = bearer_token(parts).ok_or(AppError::Unauthorized)?;
        Ok(ApiCaller(accounts.token_holder(token).await?))
    }
}

fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// The organization named by `X-Organization`, if any. A value that is not a UUID
/// names no organization: `404`, like any organization the caller cannot see.
pub(crate) fn requested_organization(parts: &Parts) -> Result<Option<Uuid>, AppError> {
    match parts.headers.get("x-organization") {
        None => Ok(None),
        Some(value) => value
            .to_str()
            .ok()
            .and_then(|text| Uuid::parse_str(text.trim()).ok())
            .map(Some)
            .ok_or(AppError::OrganizationNotFound),
    }
}

/// What a request claims, before any lookup: its Bearer token (as stored) and the
/// organization named by `X-Organization`. Most endpoints want `ApiMember`; create
/// resolves it inside its own write (`LicensingService::create_for_token`).
impl<S: Send + Sync> FromRequestParts<S> for TokenCredential
where
    AccountsService: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let accounts = AccountsService::from_ref(state);
        let token = bearer_token(parts).ok_or(AppError::Unauthorized)?;
        let requested = requested_organization(parts)?;
        Ok(accounts.token_credential(token, requested))
    }
}

/// A token holder acting in their current organization (`X-Organization` or the
/// default one), with the credential that proved it (what an `Idempotency-Key`
/// is bound to).
pub(crate) struct ApiMember {
    pub(crate) actor: Membership,
    pub(crate) credential: TokenCredential,
}

impl<S: Send + Sync> FromRequestParts<S> for ApiMember
where
    AccountsService: FromRef<S>,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, AppError> {
        let accounts = AccountsService::from_ref(state);
        let credential = TokenCredential::from_request_parts(parts, state).await?;
        let actor = accounts.token_member(&credential).await?;
        Ok(ApiMember { actor, credential })
    }
}
