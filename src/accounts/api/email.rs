//! `/api/v1/account*` and the email links' endpoints (`/api/v1/auth/verify-email`,
//! `/api/v1/auth/password-reset*`): parse, call the service, answer.

use crate::accounts::api::extract::ApiCaller;
use crate::accounts::domain::{Email, Password};
use crate::accounts::service::AccountsService;
use crate::accounts::AccountDto;
use crate::error::AppError;
use crate::request_meta::RequestMeta;
use crate::web::api_doc::ErrorBody;
use crate::web::json::ApiJson;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// The answer of a request that is carried out by email (`202`): the same whatever
/// the address, so it reveals nothing.
#[derive(Serialize, ToSchema)]
pub(crate) struct AcceptedResponse {
    /// Always `accepted`.
    status: &'static str,
}

fn accepted() -> (StatusCode, Json<AcceptedResponse>) {
    (
        StatusCode::ACCEPTED,
        Json(AcceptedResponse { status: "accepted" }),
    )
}

#[utoipa::path(
    get,
    path = "/account",
    tag = "account",
    summary = "The caller's own account: email and whether it is verified",
    responses((status = 200, description = "The account", body = AccountDto)),
    security(("bearer" = []))
)]
pub(crate) async fn account(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
) -> Result<Json<AccountDto>, AppError> {
    Ok(Json(accounts.account(&holder.user).await?))
}

#[utoipa::path(
    post,
    path = "/account/verification-email",
    tag = "account",
    summary = "Send a new verification link to the account's email (nothing when it is verified)",
    responses(
        (status = 202, description = "Sent (or nothing to send)", body = AcceptedResponse),
        (status = 429, description = "Too many emails to this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    ),
    security(("bearer" = []))
)]
pub(crate) async fn resend_verification(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
) -> Result<(StatusCode, Json<AcceptedResponse>), AppError> {
    accounts.resend_verification(&holder.user, &meta).await?;
    Ok(accepted())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct TokenBody {
    /// The `token` of the emailed link.
    #[schema(max_length = 128)]
    token: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct VerifiedResponse {
    /// Always `true`.
    email_verified: bool,
}

#[utoipa::path(
    post,
    path = "/auth/verify-email",
    tag = "account",
    summary = "Open a verification link: its address becomes the account's verified email",
    request_body = TokenBody,
    responses(
        (status = 200, description = "Verified", body = VerifiedResponse),
        (status = 400, description = "Unknown, used or expired token (`invalid_token`), or a body that is not JSON", body = ErrorBody),
        (status = 409, description = "The new address of an email change belongs to another account meanwhile (`email_taken`)", body = ErrorBody)
    )
)]
pub(crate) async fn verify_email(
    State(accounts): State<AccountsService>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<TokenBody>,
) -> Result<Json<VerifiedResponse>, AppError> {
    accounts.verify_email(&body.token, &meta).await?;
    Ok(Json(VerifiedResponse {
        email_verified: true,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordResetRequest {
    /// Any text: one that is no account's address gets the same answer.
    email: String,
}

#[utoipa::path(
    post,
    path = "/auth/password-reset",
    tag = "account",
    summary = "Email a password-reset link (valid 1 hour) to the address, if an account has it",
    request_body = PasswordResetRequest,
    responses(
        (status = 202, description = "The same answer for every address, known or not", body = AcceptedResponse),
        (status = 429, description = "Too many requests from this client or for this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    )
)]
pub(crate) async fn request_password_reset(
    State(accounts): State<AccountsService>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<PasswordResetRequest>,
) -> Result<(StatusCode, Json<AcceptedResponse>), AppError> {
    accounts.request_password_reset(&body.email, &meta)?;
    Ok(accepted())
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct PasswordResetConfirmation {
    #[schema(max_length = 128)]
    token: String,
    #[schema(min_length = 12, max_length = 1024)]
    password: String,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PasswordChangedResponse {
    /// Always `true`.
    password_changed: bool,
}

#[utoipa::path(
    post,
    path = "/auth/password-reset/confirm",
    tag = "account",
    summary = "Open a reset link: set the password, verify the email, end every session and token",
    request_body = PasswordResetConfirmation,
    responses(
        (status = 200, description = "The password is changed; sign in again", body = PasswordChangedResponse),
        (status = 400, description = "Unknown, used or expired token (`invalid_token`), or a body that is not JSON", body = ErrorBody),
        (status = 422, description = "The password breaks the sign-up rules", body = ErrorBody)
    )
)]
pub(crate) async fn confirm_password_reset(
    State(accounts): State<AccountsService>,
    meta: RequestMeta,
    ApiJson(body): ApiJson<PasswordResetConfirmation>,
) -> Result<Json<PasswordChangedResponse>, AppError> {
    let password = Password::parse(&body.password)?;
    accounts
        .reset_password(&body.token, password, &meta)
        .await?;
    Ok(Json(PasswordChangedResponse {
        password_changed: true,
    }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailChangeRequest {
    /// The new address; it becomes the account's when the link sent to it is opened.
    #[schema(format = Email, max_length = 254)]
    email: String,
    /// The account's current password.
    #[schema(max_length = 1024)]
    password: String,
}

#[utoipa::path(
    post,
    path = "/account/email",
    tag = "account",
    summary = "Change the account's email: a link to the new address, a notice to the old",
    request_body = EmailChangeRequest,
    responses(
        (status = 202, description = "Sent, whether or not another account holds the address", body = AcceptedResponse),
        (status = 403, description = "The password is wrong (`wrong_password`)", body = ErrorBody),
        (status = 429, description = "Too many emails to this address", body = ErrorBody,
            headers(("Retry-After" = u64, description = "Seconds to wait")))
    ),
    security(("bearer" = []))
)]
pub(crate) async fn change_email(
    State(accounts): State<AccountsService>,
    ApiCaller(holder): ApiCaller,
    meta: RequestMeta,
    ApiJson(body): ApiJson<EmailChangeRequest>,
) -> Result<(StatusCode, Json<AcceptedResponse>), AppError> {
    let email = Email::parse(&body.email)?;
    accounts
        .request_email_change(&holder.user, &email, &body.password, &meta)
        .await?;
    Ok(accepted())
}
