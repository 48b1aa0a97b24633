//! One error type for the whole server, mapped once to HTTP (JSON API) and once to
//! server-function errors (pages). Internal errors are logged; clients only see a
//! generic message.

use serde::{Deserialize, Serialize};

/// The error a page receives from a server function: a stable machine code and a
/// message that is safe to show to the person using the page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
#[error("{message}")]
pub(crate) struct PageError {
    pub(crate) code: String,
    pub(crate) message: String,
}

impl server_fn::error::FromServerFnError for PageError {
    type Encoder = crate::rpc::JsonTextEncoding;

    fn from_server_fn_error(value: server_fn::error::ServerFnErrorErr) -> Self {
        use server_fn::error::ServerFnErrorErr;
        let message = match value {
            ServerFnErrorErr::Request(_) => "The server could not be reached. Please try again.",
            ServerFnErrorErr::Args(_) | ServerFnErrorErr::MissingArg(_) => {
                "The form was incomplete or malformed."
            }
            _ => "Something went wrong. Please try again.",
        };
        PageError {
            code: "request_failed".into(),
            message: message.into(),
        }
    }
}

#[cfg(feature = "ssr")]
pub use server::AppError;

#[cfg(feature = "ssr")]
mod server {
    use super::PageError;
    use axum::http::{header, HeaderValue, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::Json;
    use serde_json::json;

    #[derive(Debug, thiserror::Error)]
    pub enum AppError {
        /// No credentials, or credentials that are malformed, unknown, revoked or expired.
        #[error("Missing or invalid token")]
        Unauthorized,
        #[error("Wrong email or password")]
        InvalidCredentials,
        #[error("You need to sign in first")]
        SignedOut,
        #[error("{0}")]
        Forbidden(&'static str),
        #[error("Organization not found")]
        OrganizationNotFound,
        #[error("Member not found")]
        MemberNotFound,
        #[error("Invitation not found")]
        InvitationNotFound,
        #[error("The owner cannot leave or be removed: transfer ownership to an admin first")]
        OwnerCannotLeave,
        #[error("An account with this email already exists")]
        EmailTaken,
        #[error("This user is already a member of the organization")]
        AlreadyMember,
        /// A membership changed between reading and writing it (two owners' tabs at once).
        #[error("The membership changed meanwhile: reload the page and try again")]
        ChangedMeanwhile,
        /// Invitations are addressed to an email: only its verified owner sees them.
        #[error("Verify your email address first: open the link we sent to it")]
        EmailNotVerified,
        /// A link sent by email (verification, password reset) that is unknown, used or expired.
        #[error("This link is invalid, already used or expired: ask for a new one")]
        InvalidToken,
        /// A change to the account that asks for its password got the wrong one.
        #[error("The current password is wrong")]
        WrongPassword,
        /// Well-formed input that breaks a rule (too short, too long, ...).
        #[error("{0}")]
        Validation(String),
        /// Input that could not be read at all (bad JSON, wrong shape).
        #[error("{0}")]
        BadRequest(String),
        #[error("Request body must be JSON (Content-Type: application/json)")]
        UnsupportedMediaType,
        #[error("Request body is too large")]
        PayloadTooLarge,
        #[error("License key not found")]
        LicenseKeyNotFound,
        #[error("This license key is revoked or already being replaced")]
        LicenseKeyInactive,
        #[error("This Idempotency-Key was already used for a different request")]
        IdempotencyKeyReused,
        #[error("A request with this Idempotency-Key is still being processed; retry it")]
        IdempotentRequestInFlight,
        /// Validation of an unknown, revoked or expired key.
        #[error("Invalid or revoked license key")]
        InvalidLicenseKey,
        #[error("Organization is inactive")]
        OrganizationInactive,
        /// Validation on a plan whose features lack `selfHostingLicense` (upstream's words).
        #[error("Your current plan does not include self-hosting. Please upgrade to Business.")]
        SelfHostingNotIncluded { plan: String, billing_url: String },
        #[error("This license key is revoked")]
        LicenseKeyRevoked,
        #[error("Offline licenses are disabled: the operator has not configured a signing key (LICENSE_JWT_PRIVATE_KEY_FILE)")]
        OfflineLicensesDisabled,
        #[error("No release has been published yet")]
        ReleaseNotPublished,
        #[error("Too many requests: try again later")]
        RateLimited { retry_after_seconds: u64 },
        /// Password hashing is at capacity; the caller may retry shortly.
        #[error("The server is busy: try again in a moment")]
        Busy { retry_after_seconds: u64 },
        #[error("Not found")]
        RouteNotFound,
        #[error("Method not allowed")]
        MethodNotAllowed,
        #[error("This request did not come from this site")]
        CrossSiteRequest,
        /// A Stripe webhook whose `Stripe-Signature` is missing, malformed, too old or
        /// made under no configured secret.
        #[error("The Stripe-Signature header is missing, malformed, too old or does not match")]
        InvalidSignature,
        /// The database failed; the cause is logged, never shown to the client.
        #[error("database error")]
        Database(#[from] sqlx::Error),
        #[error("internal error: {0}")]
        Internal(String),
    }

    impl From<tower_sessions::session::Error> for AppError {
        fn from(error: tower_sessions::session::Error) -> Self {
            AppError::Internal(format!("session store: {error}"))
        }
    }

    impl AppError {
        pub(crate) fn status(&self) -> StatusCode {
            match self {
                AppError::Unauthorized
                | AppError::InvalidCredentials
                | AppError::SignedOut
                | AppError::InvalidLicenseKey => StatusCode::UNAUTHORIZED,
                AppError::Forbidden(_)
                | AppError::EmailNotVerified
                | AppError::WrongPassword
                | AppError::CrossSiteRequest
                | AppError::OrganizationInactive
                | AppError::SelfHostingNotIncluded { .. } => StatusCode::FORBIDDEN,
                AppError::OrganizationNotFound
                | AppError::MemberNotFound
                | AppError::InvitationNotFound
                | AppError::LicenseKeyNotFound
                | AppError::ReleaseNotPublished
                | AppError::RouteNotFound => StatusCode::NOT_FOUND,
                AppError::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
                AppError::EmailTaken
                | AppError::AlreadyMember
                | AppError::OwnerCannotLeave
                | AppError::ChangedMeanwhile
                | AppError::LicenseKeyInactive
                | AppError::LicenseKeyRevoked
                | AppError::IdempotentRequestInFlight => StatusCode::CONFLICT,
                AppError::IdempotencyKeyReused => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::Busy { .. } | AppError::OfflineLicensesDisabled => {
                    StatusCode::SERVICE_UNAVAILABLE
                }
                AppError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
                AppError::BadRequest(_) | AppError::InvalidToken | AppError::InvalidSignature => {
                    StatusCode::BAD_REQUEST
                }
                AppError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                AppError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
                AppError::Database(_) | AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            }
        }

        pub(crate) fn code(&self) -> &'static str {
            match self {
                AppError::Unauthorized => "unauthorized",
                AppError::InvalidCredentials => "invalid_credentials",
                AppError::SignedOut => "signed_out",
                AppError::Forbidden(_) => "forbidden",
                AppError::OrganizationNotFound => "organization_not_found",
                AppError::MemberNotFound => "member_not_found",
                AppError::InvitationNotFound => "invitation_not_found",
                AppError::OwnerCannotLeave => "owner_cannot_leave",
                AppError::EmailTaken => "email_taken",
                AppError::AlreadyMember => "already_member",
                AppError::ChangedMeanwhile => "changed_meanwhile",
                AppError::EmailNotVerified => "email_not_verified",
                AppError::InvalidToken => "invalid_token",
                AppError::WrongPassword => "wrong_password",
                AppError::Validation(_) => "validation_failed",
                AppError::BadRequest(_) => "invalid_request",
                AppError::UnsupportedMediaType => "unsupported_media_type",
                AppError::PayloadTooLarge => "payload_too_large",
                AppError::LicenseKeyNotFound => "license_key_not_found",
                AppError::LicenseKeyInactive => "license_key_inactive",
                AppError::IdempotencyKeyReused => "idempotency_key_reused",
                AppError::IdempotentRequestInFlight => "idempotent_request_in_flight",
                AppError::InvalidLicenseKey => "invalid_license_key",
                AppError::OrganizationInactive => "organization_inactive",
                AppError::SelfHostingNotIncluded { .. } => "plan_excludes_self_hosting",
                AppError::LicenseKeyRevoked => "license_key_revoked",
                AppError::OfflineLicensesDisabled => "offline_licenses_disabled",
                AppError::ReleaseNotPublished => "release_not_published",
                AppError::RateLimited { .. } => "rate_limited",
                AppError::Busy { .. } => "server_busy",
                AppError::RouteNotFound => "not_found",
                AppError::MethodNotAllowed => "method_not_allowed",
                AppError::CrossSiteRequest => "cross_site_request",
                AppError::InvalidSignature => "invalid_signature",
                AppError::Database(_) | AppError::Internal(_) => "internal_error",
            }
        }

        /// The message a client may see: internal details stay in the log.
        pub(crate) fn public_message(&self) -> String {
            match self {
                AppError::Database(source) => {
                    tracing::error!(error = %source, "database error");
                    "Internal server error".to_string()
                }
                AppError::Internal(detail) => {
                    tracing::error!(%detail, "internal error");
                    "Internal server error".to_string()
                }
                other => other.to_string(),
            }
        }
    }

    impl AppError {
        /// The JSON body of this error: `error` and `code`, and for validate's
        /// refusals what a self-hosted instance reads (`valid`, `plan`, `billingUrl`).
        pub(crate) fn body(&self) -> serde_json::Value {
            let mut body = json!({ "error": self.public_message(), "code": self.code() });
            match self {
                AppError::InvalidLicenseKey | AppError::OrganizationInactive => {
                    body["valid"] = false.into();
                }
                AppError::SelfHostingNotIncluded { plan, billing_url } => {
                    body["valid"] = false.into();
                    body["plan"] = plan.as_str().into();
                    body["billingUrl"] = billing_url.as_str().into();
                }
                _ => {}
            }
            body
        }

        /// The response for this error carrying `body` (its own, or one with more
        /// fields), with the status and headers the error calls for.
        pub(crate) fn respond_with(self, body: serde_json::Value) -> Response {
            let status = self.status();
            let mut response = (status, Json(body)).into_response();
            if let AppError::RateLimited {
                retry_after_seconds,
            }
            | AppError::Busy {
                retry_after_seconds,
            } = self
            {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(retry_after_seconds.max(1)),
                );
            }
            if status == StatusCode::UNAUTHORIZED {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"storno-licensing\""),
                );
            }
            response
        }
    }

    impl IntoResponse for AppError {
        fn into_response(self) -> Response {
            let body = self.body();
            self.respond_with(body)
        }
    }

    /// Server functions report errors through this conversion, so the page gets a
    /// readable message and a server function's HTTP response carries the matching
    /// status (instead of server_fn's blanket 500).
    impl From<AppError> for PageError {
        fn from(error: AppError) -> Self {
            // A form posted without JavaScript is redirected back to its page with
            // the error (server_fn's form redirect); a status here would replace
            // that redirect with a bare JSON page. A page rendered on the server
            // loads what every view of it might show, so one refusal among them
            // (an owner's list, for a member) says nothing of the page's status.
            if crate::request_meta::is_server_fn_request()
                && !crate::request_meta::is_plain_form_post()
            {
                if let Some(response) =
                    leptos::prelude::use_context::<leptos_axum::ResponseOptions>()
                {
                    response.set_status(error.status());
                }
            }
            PageError {
                code: error.code().to_string(),
                message: error.public_message(),
            }
        }
    }
}
