//! Without JavaScript a form posts itself to its server function; on an error the
//! server redirects back to the page with the error in the URL (Leptos shows it in
//! the form). What the person typed is kept for that one page view, sealed in a
//! short-lived cookie, never a password: the page puts it back into the form.

use serde::{Deserialize, Serialize};

/// What a form posted without JavaScript carried, minus passwords.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FormInput {
    /// The server function's path, e.g. `/rpc/sign_in`.
    pub(crate) action: String,
    pub(crate) fields: Vec<(String, String)>,
}

/// The value `field` had when the form posting to `action` failed, on the page
/// that failed form returns to; `None` everywhere else (and always in the browser:
/// with JavaScript the form never leaves the page).
pub(crate) fn echoed(action: &str, field: &str) -> Option<String> {
    #[cfg(feature = "ssr")]
    {
        leptos::prelude::with_context::<axum::http::request::Parts, _>(|parts| {
            let input = parts.extensions.get::<FormInput>()?;
            (input.action == action)
                .then(|| input.fields.iter().find(|(name, _)| name == field))
                .flatten()
                .map(|(_, value)| value.clone())
        })
        .flatten()
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = (action, field);
        None
    }
}

#[cfg(feature = "ssr")]
pub(crate) use server::{keep_form_input, FormInputs};

#[cfg(feature = "ssr")]
mod server {
    use super::FormInput;
    use crate::request_meta::{accepts_html, cookie, is_server_fn_path};
    use crate::secrets::Sealer;
    use axum::body::Body;
    use axum::extract::{Request, State};
    use axum::http::{header, HeaderValue, Method};
    use axum::middleware::Next;
    use axum::response::{IntoResponse, Response};

    /// What the middleware needs: the sealer of its cookie, and whether cookies are
    /// sent over HTTPS only.
    #[derive(Clone)]
    pub(crate) struct FormInputs {
        pub(crate) sealer: Sealer,
        pub(crate) secure_cookies: bool,
    }

    const COOKIE: &str = "storno_form_input";
    /// Longer input is not kept (a cookie holds about 4 KB).
    const MAX_SEALED: usize = 3000;

    /// A plain form post that failed leaves its input in a sealed cookie that lives
    /// a minute; the next page view takes it (into the request, where `echoed`
    /// finds it) and clears it. Nothing is stored on the server, so anonymous
    /// failures cost no storage.
    pub(crate) async fn keep_form_input(
        State(state): State<FormInputs>,
        request: Request,
        next: Next,
    ) -> Response {
        if request.method() == Method::GET && accepts_html(request.headers()) {
            return restore(&state, request, next).await;
        }
        let plain_form_post = request.method() == Method::POST
            && is_server_fn_path(request.uri().path())
            && accepts_html(request.headers())
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
            return crate::error::AppError::PayloadTooLarge.into_response();
        };
        let mut response = next
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
            let input = FormInput { action, fields };
            if let Some(cookie) = sealed_cookie(&state, &input) {
                response.headers_mut().append(header::SET_COOKIE, cookie);
            }
        }
        response
    }

    async fn restore(state: &FormInputs, mut request: Request, next: Next) -> Response {
        let Some(sealed) = cookie(request.headers(), COOKIE).map(str::to_string) else {
            return next.run(request).await;
        };
        let input = state
            .sealer
            .open(&sealed, COOKIE.as_bytes())
            .and_then(|plaintext| serde_json::from_slice::<FormInput>(&plaintext).ok());
        if let Some(input) = input {
            request.extensions_mut().insert(input);
        }
        let mut response = next.run(request).await;
        // Shown once: the cookie ends with this view.
        let cleared = format!("{COOKIE}=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax");
        if let Ok(value) = HeaderValue::from_str(&cleared) {
            response.headers_mut().append(header::SET_COOKIE, value);
        }
        response
    }

    fn sealed_cookie(state: &FormInputs, input: &FormInput) -> Option<HeaderValue> {
        let plaintext = serde_json::to_vec(input).ok()?;
        let sealed = state.sealer.seal(&plaintext, COOKIE.as_bytes());
        if sealed.len() > MAX_SEALED {
            return None;
        }
        let secure = if state.secure_cookies { "; Secure" } else { "" };
        HeaderValue::from_str(&format!(
            "{COOKIE}={sealed}; Max-Age=60; Path=/; HttpOnly; SameSite=Lax{secure}"
        ))
        .ok()
    }
}
