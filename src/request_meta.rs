//! Where a request came from (client address behind trusted proxies, user agent),
//! for the audit log and the rate limits; read the same way by both doors.

use crate::client_ip::TrustedProxies;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::header::{ACCEPT, HOST, USER_AGENT};
use axum::http::request::Parts;
use axum::http::HeaderMap;
use std::convert::Infallible;
use std::net::SocketAddr;

/// Where a request came from, for the audit log and rate limits: the client's
/// address (behind trusted proxies, the one they forwarded) and user agent; and the
/// `Host` it was sent to, for links back to this server.
#[derive(Debug, Clone, Default)]
pub(crate) struct RequestMeta {
    pub(crate) ip: Option<String>,
    pub(crate) user_agent: Option<String>,
    pub(crate) host: Option<String>,
}

impl<S: Send + Sync> FromRequestParts<S> for RequestMeta {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Infallible> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(address)| address.ip());
        let client = peer.map(|peer| match parts.extensions.get::<TrustedProxies>() {
            Some(proxies) => proxies.client_ip(peer, &parts.headers),
            None => peer,
        });
        let header = |name| {
            parts
                .headers
                .get(name)
                .and_then(|value| value.to_str().ok())
        };
        Ok(RequestMeta {
            ip: client.map(|address| address.to_string()),
            user_agent: header(USER_AGENT).map(|agent| agent.chars().take(256).collect()),
            host: header(HOST).map(str::to_string),
        })
    }
}

impl RequestMeta {
    /// The metadata of the request a server function is handling.
    pub(crate) async fn of_server_fn() -> RequestMeta {
        leptos_axum::extract::<RequestMeta>()
            .await
            .unwrap_or_default()
    }
}

/// Whether a request asks for HTML: a browser's own page load or form post, not a
/// script's fetch (which asks for JSON).
pub(crate) fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(ACCEPT)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"))
}

/// Whether the server function being run was called by a form the browser posted
/// itself (no JavaScript): server_fn answers it with a redirect back to the page,
/// the error, if any, in the URL.
pub(crate) fn is_plain_form_post() -> bool {
    leptos::prelude::with_context::<Parts, _>(|parts| accepts_html(&parts.headers)).unwrap_or(false)
}

/// Where the pages' server functions live (their `#[server(prefix)]`); nothing
/// else accepts the session cookie.
const SERVER_FN_PREFIX: &str = "/rpc";

/// Whether `path` is a server function's.
pub(crate) fn is_server_fn_path(path: &str) -> bool {
    path.strip_prefix(SERVER_FN_PREFIX)
        .is_some_and(|rest| rest.starts_with('/'))
}

/// Whether the server function being run was called over HTTP, not directly by a
/// page being rendered on the server.
pub(crate) fn is_server_fn_request() -> bool {
    leptos::prelude::with_context::<Parts, _>(|parts| is_server_fn_path(parts.uri.path()))
        .unwrap_or(false)
}

/// The value of the cookie `name` among a request's `Cookie` headers, if not empty.
pub(crate) fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(axum::http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .find_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            (key == name && !value.is_empty()).then_some(value)
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cookie_is_found_among_the_others() {
        let mut headers = HeaderMap::new();
        headers.append("cookie", "a=1; storno_device=abc.def".parse().unwrap());
        headers.append("cookie", "b=2; empty=".parse().unwrap());
        assert_eq!(cookie(&headers, "storno_device"), Some("abc.def"));
        assert_eq!(cookie(&headers, "b"), Some("2"));
        assert_eq!(cookie(&headers, "empty"), None);
        assert_eq!(cookie(&headers, "missing"), None);
    }

    #[test]
    fn only_paths_under_the_prefix_are_server_functions() {
        assert!(is_server_fn_path("/rpc/sign_in"));
        assert!(!is_server_fn_path("/rpc"));
        assert!(!is_server_fn_path("/rpcx/sign_in"));
        assert!(!is_server_fn_path("/keys"));
        assert!(!is_server_fn_path("/api/v1/rpc/x"));
    }
}
