//! Cross-cutting protections applied to every response or every cookie-authenticated
//! mutation.

use crate::error::AppError;
use crate::http::state::AppState;
use crate::request_meta::is_server_fn_path;
use crate::web::json::MAX_BODY_BYTES;
use crate::web::page_policy::page_policy;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{self, HeaderValue};
use axum::http::{HeaderMap, Method};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Refuses a state-changing request to a server function that a browser sent from
/// another site: the session cookie alone must never be enough (CSRF).
pub(crate) async fn reject_cross_site(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let is_mutation = !matches!(
        *request.method(),
        Method::GET | Method::HEAD | Method::OPTIONS
    );
    if is_mutation
        && is_server_fn_path(request.uri().path())
        && !is_same_origin(request.headers(), state.settings.public_url.as_deref())
    {
        tracing::warn!(path = %request.uri().path(), "cross-site request refused");
        return AppError::CrossSiteRequest.into_response();
    }
    next.run(request).await
}

/// Same-origin means: the browser says so (`Sec-Fetch-Site`), or the `Origin` is the
/// configured public URL or, without one, matches the `Host` the request was sent to.
/// A request with neither header is refused: every current browser sends `Origin`
/// on a POST.
fn is_same_origin(headers: &HeaderMap, public_url: Option<&str>) -> bool {
    let header = |name| {
        headers
            .get(name)
            .and_then(|value: &HeaderValue| value.to_str().ok())
    };
    if let Some(site) = header("sec-fetch-site") {
        if site != "same-origin" {
            return false;
        }
    }
    let Some(origin) = header("origin") else {
        return header("sec-fetch-site") == Some("same-origin");
    };
    match public_url {
        Some(public_url) => origin == public_url,
        None => {
            let origin_host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"));
            origin_host.is_some() && origin_host == header("host")
        }
    }
}

/// Runs a page or server-function request under a reactive root of its own.
///
/// Leptos's `Owner::new_root` (every page render calls it) leaves the render's owner
/// set on the worker thread, and `Owner::new` adopts whatever owner is set there as
/// its parent: a server function that leptos_axum later ran on that thread, while
/// the render was still going, became a child of another user's render, and its
/// `use_context` found that render's contexts (the cache of who is signed in among
/// them). Under a root of its own, a request's owners can only find its own.
pub(crate) async fn isolate_reactive_owner(request: Request, next: Next) -> Response {
    use leptos::prelude::{Owner, ScopedFuture};
    ScopedFuture {
        owner: Owner::new_root(None),
        observer: None,
        fut: next.run(request),
    }
    .await
}

/// Deployed Storno clients glue `/api/v1/...` onto their configured base URL as
/// text, so a base URL ending in `/` sends `//api/v1/licensing/validate`. Repeated
/// slashes in a path under `/api/` are folded into one before routing.
pub(crate) async fn fold_api_slashes(mut request: Request) -> Request {
    let path = request.uri().path();
    if !path.contains("//") {
        return request;
    }
    let folded = fold_slashes(path);
    if !folded.starts_with("/api/") {
        return request;
    }
    let path_and_query = match request.uri().query() {
        Some(query) => format!("{folded}?{query}"),
        None => folded,
    };
    let mut parts = request.uri().clone().into_parts();
    if let Ok(path_and_query) = path_and_query.parse() {
        parts.path_and_query = Some(path_and_query);
        if let Ok(uri) = axum::http::Uri::from_parts(parts) {
            *request.uri_mut() = uri;
        }
    }
    request
}

/// `a//b///c` as `a/b/c`.
fn fold_slashes(path: &str) -> String {
    let mut folded = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && folded.ends_with('/')) {
            folded.push(c);
        }
    }
    folded
}

/// Pages and server functions read their whole body: one larger than the API's
/// limit is refused with a JSON `413` before more than that is buffered.
pub(crate) async fn limit_body(request: Request, next: Next) -> Response {
    let (parts, body) = request.into_parts();
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES as u64) {
        return AppError::PayloadTooLarge.into_response();
    }
    match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(bytes) => {
            next.run(Request::from_parts(parts, Body::from(bytes)))
                .await
        }
        Err(_) => AppError::PayloadTooLarge.into_response(),
    }
}

/// Headers every response carries. Pages and API answers hold per-user data (and
/// sometimes a secret), so nothing but the static bundle and the public documents
/// may be cached. Served
/// over HTTPS (`STORNO_PUBLIC_URL`), browsers are told to never use plain HTTP.
pub(crate) async fn security_headers(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let cacheable = path.starts_with("/pkg/");
    let public = PUBLIC_DOCUMENTS.contains(&path);
    // A page's nonce is chosen here, not only inside the render, so the policy
    // header never depends on the render's response options reaching the response.
    let nonce = (request.method() == Method::GET && !cacheable && !path.starts_with("/api/"))
        .then(leptos::nonce::Nonce::new);
    if let Some(nonce) = &nonce {
        request.extensions_mut().insert(nonce.clone());
    }
    let mut response = next.run(request).await;
    let is_html = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.starts_with("text/html"));
    let headers = response.headers_mut();
    if state.settings.served_over_https() {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    // A page gets the policy of its nonce; everything else loads nothing.
    if !headers.contains_key(header::CONTENT_SECURITY_POLICY) {
        let policy = match (&nonce, is_html) {
            (Some(nonce), true) => page_policy(nonce),
            _ => None,
        };
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            policy.unwrap_or(HeaderValue::from_static(
                "default-src 'none'; frame-ancestors 'none'",
            )),
        );
    }
    caching_headers(headers, cacheable, public);
    response
}

/// What caches may do with an answer: keep the static bundle, apart per encoding (a
/// browser that takes it gets the `.br` or `.gz` the build wrote beside each file);
/// keep a public document as long as its handler says; keep nothing else.
fn caching_headers(headers: &mut HeaderMap, bundle: bool, public_document: bool) {
    if bundle {
        headers.append(header::VARY, HeaderValue::from_static("accept-encoding"));
    } else if !(public_document && headers.contains_key(header::CACHE_CONTROL)) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

/// The same for everyone and secret to no one: their handlers set how long caches
/// may keep them (`CACHE_PUBLIC_DOCUMENT`).
const PUBLIC_DOCUMENTS: [&str; 3] = [
    "/api/v1/version",
    "/api/v1/licensing/public-key.pem",
    "/.well-known/jwks.json",
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::web::CACHE_PUBLIC_DOCUMENT;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.insert(*name, HeaderValue::from_static(value));
        }
        map
    }

    #[test]
    fn caches_keep_the_bundle_per_encoding_public_documents_as_said_and_nothing_else() {
        let mut bundle = headers(&[]);
        caching_headers(&mut bundle, true, false);
        assert_eq!(bundle.get(header::VARY).unwrap(), "accept-encoding");
        assert!(bundle.get(header::CACHE_CONTROL).is_none());

        let mut document = headers(&[("cache-control", CACHE_PUBLIC_DOCUMENT)]);
        caching_headers(&mut document, false, true);
        assert_eq!(
            document.get(header::CACHE_CONTROL).unwrap(),
            CACHE_PUBLIC_DOCUMENT
        );

        // A public document whose handler said nothing, or any other answer, whatever
        // its handler said: no-store.
        for (mut answer, public) in [
            (headers(&[]), true),
            (headers(&[("cache-control", "public, max-age=60")]), false),
        ] {
            caching_headers(&mut answer, false, public);
            assert_eq!(answer.get(header::CACHE_CONTROL).unwrap(), "no-store");
            assert!(answer.get(header::VARY).is_none());
        }
    }

    /// Whether a context provided under an owner left set on the thread (as a page
    /// render leaves it) is seen by an owner that a handler makes (as leptos_axum
    /// does for a server function), with `wrap`'s layers around the handler.
    async fn sees_a_context_left_on_the_thread(wrap: fn(axum::Router) -> axum::Router) -> bool {
        use leptos::prelude::{provide_context, use_context, Owner};
        use tower::ServiceExt;
        #[derive(Clone)]
        struct AnotherRequests;
        let handler = || async {
            let seen = Owner::new().with(use_context::<AnotherRequests>);
            seen.is_some().to_string()
        };
        let another_render = Owner::new_root(None);
        another_render.with(|| provide_context(AnotherRequests));
        let router = wrap(axum::Router::new().route("/rpc/f", axum::routing::post(handler)));
        // A current-thread runtime: the request runs on the thread the owner was left on.
        let response = router
            .oneshot(Request::post("/rpc/f").body(Body::empty()).unwrap())
            .await
            .unwrap();
        let body = axum::body::to_bytes(response.into_body(), 64)
            .await
            .unwrap();
        drop(another_render);
        body.as_ref() == b"true"
    }

    #[tokio::test]
    async fn a_request_never_sees_another_requests_reactive_contexts() {
        assert!(
            sees_a_context_left_on_the_thread(|router| router).await,
            "without the layer the context crosses (the test would prove nothing)"
        );
        let isolated = sees_a_context_left_on_the_thread(|router| {
            router.layer(axum::middleware::from_fn(isolate_reactive_owner))
        });
        assert!(!isolated.await);
    }

    #[test]
    fn repeated_slashes_fold_into_one() {
        assert_eq!(
            fold_slashes("//api/v1//licensing///validate"),
            "/api/v1/licensing/validate"
        );
        assert_eq!(fold_slashes("/api/v1/keys"), "/api/v1/keys");
        assert_eq!(fold_slashes("/"), "/");
    }

    #[test]
    fn origin_must_match_host_without_public_url() {
        let ok = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "http://127.0.0.1:3000"),
        ]);
        assert!(is_same_origin(&ok, None));
        let foreign = headers(&[
            ("host", "127.0.0.1:3000"),
            ("origin", "https://evil.example"),
        ]);
        assert!(!is_same_origin(&foreign, None));
        let null = headers(&[("host", "127.0.0.1:3000"), ("origin", "null")]);
        assert!(!is_same_origin(&null, None));
    }

    #[test]
    fn public_url_is_the_only_origin_when_set() {
        let ok = headers(&[
            ("host", "internal:3000"),
            ("origin", "https://lic.example.com"),
        ]);
        assert!(is_same_origin(&ok, Some("https://lic.example.com")));
        let via_host = headers(&[
            ("host", "internal:3000"),
            ("origin", "http://internal:3000"),
        ]);
        assert!(!is_same_origin(&via_host, Some("https://lic.example.com")));
    }

    #[test]
    fn fetch_metadata_and_missing_origin() {
        let cross = headers(&[
            ("host", "a:1"),
            ("origin", "http://a:1"),
            ("sec-fetch-site", "cross-site"),
        ]);
        assert!(!is_same_origin(&cross, None));
        assert!(is_same_origin(
            &headers(&[("sec-fetch-site", "same-origin")]),
            None
        ));
        assert!(!is_same_origin(&headers(&[("host", "a:1")]), None));
    }
}
