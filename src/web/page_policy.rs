//! A page's Content-Security-Policy: its own scripts, styles and wasm, and the inline
//! scripts Leptos writes under the response's nonce.

use axum::http::header::{self, HeaderValue};

/// The policy of a page: its own scripts, styles and wasm, the inline scripts
/// Leptos writes under this response's nonce, nothing else.
pub(crate) fn page_policy(nonce: &str) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
         style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; \
         base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ))
    .ok()
}

/// Called while a page renders: the policy for the nonce Leptos is using, for
/// pages that `security_headers` did not give a nonce (the 404 fallback).
pub(crate) fn page_content_security_policy() {
    use leptos::prelude::use_context;
    let (Some(nonce), Some(response)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) else {
        return;
    };
    if let Some(policy) = page_policy(&nonce) {
        response.insert_header(header::CONTENT_SECURITY_POLICY, policy);
    }
}

/// While a page renders: the nonce `security_headers` chose for it, so the policy
/// it sends and the script tags Leptos writes agree.
pub(crate) fn provide_page_nonce() {
    use leptos::prelude::{provide_context, with_context};
    let nonce = with_context::<axum::http::request::Parts, _>(|parts| {
        parts.extensions.get::<leptos::nonce::Nonce>().cloned()
    })
    .flatten();
    if let Some(nonce) = nonce {
        provide_context(nonce);
    }
}
