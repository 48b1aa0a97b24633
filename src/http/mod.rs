//! axum wiring: application state, the router (pages, server functions, JSON API),
//! sessions and start-up.

pub(crate) mod middleware;
pub(crate) mod openapi;
mod serve;
pub mod state;

use crate::accounts::service::sessions::SessionPolicy;
use crate::accounts::service::{AccountsConfig, AccountsService};
use crate::audit::service::AuditLog;
use crate::billing::service::BillingService;
use crate::config::{LicensingSettings, Settings};
use crate::db::{sqlite_file, Db, Engine};
use crate::form_input::FormInputs;
use crate::http::state::{AppState, AppStateInner};
use crate::idempotency::IdempotencyStore;
use crate::licensing::answer_signing::AnswerSigner;
use crate::licensing::offline::OfflineSigner;
use crate::licensing::plan_table::PlanTable;
use crate::licensing::plans::{known_plan, PLANS};
use crate::licensing::reveal::RevealSealer;
use crate::licensing::service::{AnswerPolicy, LicensingService};
use crate::mail::{Mail, Mailer};
use crate::outbox::Outbox;
use crate::rate_limit::RateLimits;
use crate::releases::service::ReleaseService;
use crate::secrets::{Pepper, Sealer};
use axum::Router;
use secrecy::ExposeSecret;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;
use tower::Layer;

mod router;
pub use router::api_router;
use router::api_routes;
use router::router;

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
        let billing = billing_service(&settings, &db, &outbox)?;
        spawn_outbox_sweeper(outbox);
        let state = AppState(Arc::new(AppStateInner {
            leptos_options: settings.leptos.clone(),
            accounts,
            billing,
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

/// The billing service; a Stripe setting that names an unknown plan stops start-up.
fn billing_service(
    settings: &Settings,
    db: &Db,
    outbox: &Outbox,
) -> Result<BillingService, String> {
    let stripe = &settings.stripe;
    let plans = stripe.payment_links.iter().map(|(plan, _)| plan);
    for plan in plans.chain(stripe.price_plans.iter().map(|(_, plan)| plan)) {
        known_plan(plan).map_err(|e| format!("STRIPE_PAYMENT_LINKS or STRIPE_PRICE_PLANS: {e}"))?;
    }
    Ok(BillingService::new(
        db.pool.clone(),
        db.writes.clone(),
        Mail::new(outbox.clone(), settings.public_url.as_deref()),
        Arc::new(stripe.clone()),
    ))
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
