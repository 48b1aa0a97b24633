//! Without JavaScript a form posts itself to its server function; on an error the
//! server redirects back to the page with the error in the URL (Leptos shows it in
//! the form). What the person typed is kept for that one page view, in the
//! session, never a password: the page puts it back into the form.

use serde::{Deserialize, Serialize};

/// What a form posted without JavaScript carried, minus passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FormInput {
    /// The server function's path, e.g. `/rpc/sign_in`.
    pub action: String,
    pub fields: Vec<(String, String)>,
}

/// The value `field` had when the form posting to `action` failed, on the page
/// that failed form returns to; `None` everywhere else (and always in the browser:
/// with JavaScript the form never leaves the page).
pub fn echoed(action: &str, field: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        let parts = leptos::prelude::use_context::<axum::http::request::Parts>()?;
        let input = parts.extensions.get::<FormInput>()?;
        (input.action == action)
            .then(|| input.fields.iter().find(|(name, _)| name == field))
            .flatten()
            .map(|(_, value)| value.clone())
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (action, field);
        None
    }
}

#[cfg(feature = "ssr")]
pub use server::keep_form_input;

#[cfg(feature = "ssr")]
mod server {
    use super::FormInput;
    use axum::body::Body;
    use axum::extract::Request;
    use axum::http::{header, Method};
    use axum::middleware::Next;
    use axum::response::Response;
    use tower_sessions::Session;

    const SESSION_KEY: &str = "form_input";

    /// A plain form post that failed leaves its input in the session; the next page
    /// view takes it out (into the request, where `echoed` finds it).
    pub async fn keep_form_input(session: Session, request: Request, next: Next) -> Response {
        if request.method() == Method::GET && accepts_html(&request) {
            return restore(session, request, next).await;
        }
        let plain_form_post = request.method() == Method::POST
            && request.uri().path().starts_with("/rpc/")
            && accepts_html(&request)
            && request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|value| value.to_str().ok())
                .is_some_and(|value| value.starts_with("application/x-www-form-urlencoded"));
        if !plain_form_post {
            return next.run(request).await;
        }
        let action = request.uri().path().to_string();
        let (parts, body) = request.into_parts();
        // The body is already bounded and buffered (`limit_body`).
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            return axum::response::IntoResponse::into_response(
                crate::error::AppError::PayloadTooLarge,
            );
        };
        let response = next
            .run(Request::from_parts(parts, Body::from(bytes.clone())))
            .await;
        let failed = response
            .headers()
            .get(header::LOCATION)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|location| location.contains("__err="));
        if failed {
            let fields = form_urlencoded::parse(&bytes)
                .filter(|(name, _)| !name.contains("password"))
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect();
            // Losing the echo only costs retyping; the error itself is in the URL.
            let _ = session
                .insert(SESSION_KEY, FormInput { action, fields })
                .await;
        }
        response
    }

    async fn restore(session: Session, mut request: Request, next: Next) -> Response {
        // Reading first: a removal always writes the session back, and nearly every
        // page view has nothing to take.
        if request.headers().contains_key(header::COOKIE) {
            if let Ok(Some(input)) = session.get::<FormInput>(SESSION_KEY).await {
                let _ = session.remove_value(SESSION_KEY).await;
                request.extensions_mut().insert(input);
            }
        }
        next.run(request).await
    }

    fn accepts_html(request: &Request) -> bool {
        request
            .headers()
            .get(header::ACCEPT)
            .and_then(|value| value.to_str().ok())
            .is_some_and(|value| value.contains("text/html"))
    }
}
