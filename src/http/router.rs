//! The router: pages, server functions and static files behind the browser
//! session, the JSON API under `/api/v1`, and the layers around them all.

use super::*;
use crate::accounts::service::AccountsService;
use crate::config::Settings;
use crate::error::AppError;
use crate::http::state::AppState;
use axum::extract::DefaultBodyLimit;
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use std::sync::OnceLock;
use tower::ServiceBuilder;
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The pages' routes, found once per process. Finding them renders the app with
/// every resource's loading switched off process-wide (a Leptos global), so a page
/// that another `Application` in the same process (the tests run many) rendered
/// meanwhile would wait forever for its data.
fn page_routes() -> Vec<AxumRouteListing> {
    static ROUTES: OnceLock<Vec<AxumRouteListing>> = OnceLock::new();
    ROUTES
        .get_or_init(|| generate_route_list(crate::app::App))
        .clone()
}

/// What every page render and server function gets beside Leptos's own contexts:
/// each service and the settings by its own type (features take what they need,
/// never the whole state), the nonce its policy names, and a cache of who is
/// signed in.
fn page_context(state: &AppState) -> impl Fn() + Clone + Send + Sync + 'static {
    let state = state.clone();
    move || {
        use leptos::prelude::provide_context;
        provide_context(state.accounts.clone());
        provide_context(state.licensing.clone());
        provide_context(state.billing.clone());
        provide_context(state.audit.clone());
        provide_context(state.plans.clone());
        provide_context(state.reveals.clone());
        provide_context(state.settings.clone());
        crate::web::page_policy::provide_page_nonce();
        crate::accounts::session::provide_render_cache();
    }
}

/// The whole app as one service. Each layer wraps the router once, not each of its
/// routes (`Router::layer` boxes every route again per layer, and axum clones a
/// route's boxes on every request): pages, API and static files alike pass
/// through the tracing, the forwarded-for list, the security headers and the
/// cross-site check; the pages' own layers wrap the pages alone.
pub(super) fn router(state: AppState) -> Router {
    let global = ServiceBuilder::new()
        .layer(TraceLayer::new_for_http())
        .layer(axum::Extension(state.settings.trusted_proxies.clone()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::security_headers,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::reject_cross_site,
        ));
    let routes = Router::new()
        .nest("/api/v1", api_router())
        .route(
            "/.well-known/jwks.json",
            axum::routing::get(crate::licensing::api::offline::jwks),
        )
        .fallback_service(pages(state.clone()))
        .with_state(state);
    Router::new().fallback_service(global.service(routes))
}

/// Pages, server functions and static files, behind the browser session.
fn pages(
    state: AppState,
) -> impl tower::Service<
    axum::extract::Request,
    Response = axum::response::Response,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
       + Send
       + Sync
       + 'static {
    let read_before_render = axum::middleware::from_fn_with_state(
        state.clone(),
        crate::accounts::session::read_before_render,
    );
    // Static files as they are; any other path, whatever its method, is the
    // not-found page, with the header of whoever is signed in.
    let not_found = axum::handler::Handler::layer(not_found_page, read_before_render.clone());
    let files_or_not_found = ServeDir::new(&*state.leptos_options.site_root)
        .precompressed_gzip()
        .precompressed_br()
        .call_fallback_on_method_not_allowed(true)
        .not_found_service(axum::handler::Handler::with_state(not_found, state.clone()));
    let leptos_options = state.leptos_options.clone();
    let routes = Router::new()
        .leptos_routes_with_context(&state, page_routes(), page_context(&state), {
            move || crate::app::shell(leptos_options.clone())
        })
        .route_layer(read_before_render)
        .fallback_service(files_or_not_found)
        .with_state(state.clone());
    ServiceBuilder::new()
        .layer(axum::middleware::from_fn(middleware::limit_body))
        .layer(session_layer(&state.settings, &state.accounts))
        .layer(axum::middleware::from_fn(
            middleware::isolate_reactive_owner,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.form_inputs.clone(),
            crate::form_input::keep_form_input,
        ))
        .service(routes)
}

/// The browser session: its cookie and its rows in the session table.
fn session_layer(
    settings: &Settings,
    accounts: &AccountsService,
) -> SessionManagerLayer<crate::accounts::service::sessions::SessionTable> {
    SessionManagerLayer::new(accounts.session_table())
        .with_name(if settings.served_over_https() {
            "__Host-storno_session"
        } else {
            "storno_session"
        })
        .with_secure(settings.served_over_https())
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_path("/")
        .with_expiry(Expiry::OnInactivity(
            tower_sessions::cookie::time::Duration::seconds(
                settings.session_idle_timeout.as_secs() as i64,
            ),
        ))
}

/// The page for a path that is neither a page nor a file (404).
async fn not_found_page(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: axum::extract::Request,
) -> axum::response::Response {
    let options = state.leptos_options.clone();
    let render = leptos_axum::render_app_async_with_context(page_context(&state), move || {
        crate::app::shell(options.clone())
    });
    render(request).await
}

/// Every JSON endpoint, each registered with the `#[utoipa::path]` that documents it.
pub(crate) fn api_routes() -> OpenApiRouter<AppState> {
    use crate::accounts::api::auth as accounts;
    use crate::accounts::api::email;
    use crate::accounts::api::members;
    use crate::licensing::api::{keys, offline, usage, validate};
    OpenApiRouter::new()
        .routes(routes!(accounts::register))
        .routes(routes!(accounts::create_token, accounts::revoke_token))
        .routes(routes!(
            accounts::create_organization,
            accounts::list_organizations
        ))
        .routes(routes!(members::list_members))
        .routes(routes!(members::change_role, members::remove_member))
        .routes(routes!(members::invite, members::list_invitations))
        .routes(routes!(members::withdraw_invitation))
        .routes(routes!(members::my_invitations))
        .routes(routes!(members::accept_invitation))
        .routes(routes!(members::decline_invitation))
        .routes(routes!(email::account))
        .routes(routes!(email::resend_verification))
        .routes(routes!(email::change_email))
        .routes(routes!(email::verify_email))
        .routes(routes!(email::request_password_reset))
        .routes(routes!(email::confirm_password_reset))
        .routes(routes!(keys::create, keys::list))
        .routes(routes!(keys::get, keys::revoke))
        .routes(routes!(keys::rotate))
        .routes(routes!(validate::validate))
        .routes(routes!(usage::usage))
        .routes(routes!(
            offline::issue_offline_license,
            offline::list_offline_licenses
        ))
        .routes(routes!(offline::public_key_pem))
        .routes(routes!(crate::releases::api::latest))
        .routes(routes!(crate::billing::api::stripe_webhook))
        .routes(routes!(crate::audit::api::list))
        .routes(routes!(crate::audit::api::account_activity))
        .routes(routes!(openapi::serve))
}

/// The API as served under `/api/v1`: JSON answers for unknown paths and methods too.
pub fn api_router() -> Router<AppState> {
    let (router, _) = api_routes().split_for_parts();
    router
        .fallback(api_not_found)
        .method_not_allowed_fallback(api_method_not_allowed)
        .layer(DefaultBodyLimit::max(crate::web::json::MAX_BODY_BYTES))
}

async fn api_not_found() -> AppError {
    AppError::RouteNotFound
}

async fn api_method_not_allowed() -> AppError {
    AppError::MethodNotAllowed
}
