//! axum wiring: application state, the router (pages, server functions, JSON API),
//! sessions and start-up.

pub mod middleware;
pub mod openapi;
mod serve;
pub mod state;

use crate::accounts::service::sessions::SessionPolicy;
use crate::accounts::service::{AccountsConfig, AccountsService};
use crate::audit::service::AuditLog;
use crate::config::{LicensingSettings, Settings};
use crate::db::{sqlite_file, Db, Engine};
use crate::error::AppError;
use crate::form_input::FormInputs;
use crate::http::state::{AppState, AppStateInner};
use crate::idempotency::IdempotencyStore;
use crate::licensing::answer_signing::AnswerSigner;
use crate::licensing::offline::OfflineSigner;
use crate::licensing::plan_table::PlanTable;
use crate::licensing::plans::PLANS;
use crate::licensing::reveal::RevealSealer;
use crate::licensing::service::{AnswerPolicy, LicensingService};
use crate::mail::{Mail, Mailer};
use crate::outbox::Outbox;
use crate::rate_limit::RateLimits;
use crate::releases::service::ReleaseService;
use crate::secrets::{Pepper, Sealer};
use axum::extract::DefaultBodyLimit;
use axum::Router;
use leptos_axum::{generate_route_list, AxumRouteListing, LeptosRoutes};
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tower::{Layer, ServiceBuilder};
use tower_http::services::ServeDir;
use tower_http::trace::TraceLayer;
use tower_sessions::cookie::SameSite;
use tower_sessions::{Expiry, SessionManagerLayer};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

/// The running server: built (database open, migrations applied, port bound) but
/// not yet serving, so tests can learn the port first.
pub struct Application {
    listener: TcpListener,
    router: Router,
    connection_idle_timeout: std::time::Duration,
}

impl Application {
    pub async fn build(settings: Settings) -> Result<Self, String> {
        let db = Db::connect(&settings.database_url, settings.database_max_connections).await?;
        db.migrate().await?;
        let pepper = resolve_pepper(&settings, &db)?;
        let answer_signer = Arc::new(resolve_answer_signer(&settings, &db)?);
        let limits = RateLimits::new(settings.rate_limits);
        limits.spawn_cleanup();
        let idempotency = IdempotencyStore::new(db.pool.clone(), pepper.clone());
        let reveals = RevealSealer(Sealer::new(&pepper, "reveals"));
        let form_inputs = FormInputs {
            sealer: Sealer::new(&pepper, "form-inputs"),
            secure_cookies: settings.served_over_https(),
        };
        idempotency.spawn_sweeper();
        let licensing_settings = &settings.licensing;
        let offline = offline_signer(licensing_settings)?;
        let outbox = Outbox::new(db.pool.clone(), db.writes.clone(), db.engine, &pepper);
        let mailer = Mailer::new(&settings.mail, default_mail_directory(&settings, &db))?;
        outbox.spawn_worker(crate::mail::TOPIC, Arc::new(mailer));
        let accounts = accounts_service(&settings, &db, &pepper, &limits, &outbox);
        spawn_outbox_sweeper(outbox);
        let state = AppState(Arc::new(AppStateInner {
            leptos_options: settings.leptos.clone(),
            accounts,
            licensing: LicensingService::new(
                db.pool.clone(),
                db.writes.clone(),
                pepper,
                limits,
                idempotency,
                offline,
                AnswerPolicy::of(&settings),
            ),
            audit: AuditLog::new(db.pool.clone(), settings.audit_retention_days),
            plans: PlanTable::new(db.pool.clone(), db.writes.clone()),
            releases: ReleaseService::new(db.pool.clone()),
            reveals,
            form_inputs,
            answer_signer,
            settings: Arc::new(settings),
        }));
        state.audit.spawn_sweeper();
        let router = router(state.clone());
        let address = state.settings.leptos.site_addr;
        let listener = TcpListener::bind(address)
            .await
            .map_err(|e| format!("cannot listen on {address}: {e}"))?;
        Ok(Application {
            listener,
            router,
            connection_idle_timeout: state.settings.connection_idle_timeout,
        })
    }

    pub fn local_url(&self) -> String {
        match self.listener.local_addr() {
            Ok(address) => format!("http://{address}"),
            Err(_) => String::new(),
        }
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        // Paths are folded before the router sees them (routing happens inside it).
        let app = axum::middleware::map_request(middleware::fold_api_slashes).layer(self.router);
        serve::serve(
            self.listener,
            app,
            self.connection_idle_timeout,
            shutdown_signal(),
        )
        .await
    }
}

/// The accounts service, its sweeper started.
fn accounts_service(
    settings: &Settings,
    db: &Db,
    pepper: &Pepper,
    limits: &RateLimits,
    outbox: &Outbox,
) -> AccountsService {
    let accounts = AccountsService::new(
        db.pool.clone(),
        db.writes.clone(),
        AccountsConfig {
            pepper: pepper.clone(),
            token_ttl: settings.token_ttl,
            limits: limits.clone(),
            default_plan: &settings.licensing.default_plan,
            mail: Mail::new(outbox.clone(), settings.public_url.as_deref()),
            sessions: SessionPolicy {
                idle_timeout: settings.session_idle_timeout,
                absolute_timeout: settings.session_absolute_timeout,
                secure_cookies: settings.served_over_https(),
            },
        },
    );
    accounts.spawn_sweeper();
    accounts
}

/// Checks the plan settings and loads the offline licenses' signing key, if any:
/// a mistake stops start-up rather than failing the first owner who needs it.
fn offline_signer(settings: &LicensingSettings) -> Result<Option<OfflineSigner>, String> {
    if !PLANS.contains(&settings.default_plan.as_str()) {
        return Err(format!(
            "DEFAULT_PLAN must be one of {}, got {:?}",
            PLANS.join(", "),
            settings.default_plan
        ));
    }
    settings
        .jwt_private_key_file
        .as_deref()
        .map(|path| OfflineSigner::load(path, &settings.jwt_issuer))
        .transpose()
}

fn resolve_pepper(settings: &Settings, db: &Db) -> Result<Pepper, String> {
    if let Some(secret) = &settings.pepper {
        return Pepper::new(secret.expose_secret());
    }
    let path = beside_sqlite_database(settings, db, "licensing-key-pepper")
        .ok_or("LICENSING_KEY_PEPPER must be set (it is shared by every instance)")?;
    let (pepper, created) = Pepper::load_or_create(&path)?;
    if created {
        tracing::warn!(
            path = %path.display(),
            "LICENSING_KEY_PEPPER is unset: generated a new pepper; back it up with the database"
        );
    }
    Ok(pepper)
}

fn resolve_answer_signer(settings: &Settings, db: &Db) -> Result<AnswerSigner, String> {
    if let Some(keys) = &settings.licensing.answer_signing_keys {
        return AnswerSigner::parse(keys).map_err(|e| format!("ANSWER_SIGNING_KEYS: {e}"));
    }
    let path = beside_sqlite_database(settings, db, "answer-signing-keys")
        .ok_or("ANSWER_SIGNING_KEYS must be set (every instance signs with the same keys)")?;
    let (signer, created) = AnswerSigner::load_or_create(&path)?;
    if created {
        tracing::warn!(
            path = %path.display(),
            "ANSWER_SIGNING_KEYS is unset: generated a signing key; back it up with the database"
        );
    }
    Ok(signer)
}

/// Where emails are written without `SMTP_URL`: `mail/` beside the SQLite
/// database, or in the working directory.
fn default_mail_directory(settings: &Settings, db: &Db) -> PathBuf {
    beside_sqlite_database(settings, db, "mail").unwrap_or_else(|| PathBuf::from("mail"))
}

fn spawn_outbox_sweeper(outbox: Outbox) {
    crate::db::sweep_every_few_minutes("erase old outbox messages", move || {
        let outbox = outbox.clone();
        async move { outbox.erase_old().await.map(drop) }
    });
}

/// Where a generated secret is kept: beside the SQLite database file. PostgreSQL
/// deployments share secrets through their settings instead.
fn beside_sqlite_database(settings: &Settings, db: &Db, file_name: &str) -> Option<PathBuf> {
    match db.engine {
        Engine::Sqlite => sqlite_file(&settings.database_url),
        Engine::Postgres => None,
    }
    .map(|database_file| database_file.with_file_name(file_name))
}

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
fn router(state: AppState) -> Router {
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
pub fn api_routes() -> OpenApiRouter<AppState> {
    use crate::accounts::api as accounts;
    use crate::accounts::email_api as email;
    use crate::accounts::members_api as members;
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

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut signal) =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            signal.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
}
