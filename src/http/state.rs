//! What every request may need: the services, settings and Leptos options, shared
//! as one pointer. Only the router holds it: handlers extract the one service they
//! need (`FromRef`), and server functions read theirs from the context the router
//! provides (`web::context::service`).

use crate::accounts::service::AccountsService;
use crate::audit::service::AuditLog;
use crate::billing::service::BillingService;
use crate::config::Settings;
use crate::form_input::FormInputs;
use crate::licensing::answer_signing::AnswerSigner;
use crate::licensing::plan_table::PlanTable;
use crate::licensing::reveal::RevealSealer;
use crate::licensing::service::LicensingService;
use crate::releases::service::ReleaseService;
use axum::extract::FromRef;
use leptos::config::LeptosOptions;
use std::sync::Arc;

/// What every request may need. Cloned for each request (and by each extractor),
/// so it is one shared pointer, not a copy of every service.
#[derive(Clone)]
pub struct AppState(pub(crate) Arc<AppStateInner>);

pub struct AppStateInner {
    pub(crate) leptos_options: LeptosOptions,
    pub(crate) accounts: AccountsService,
    pub(crate) billing: BillingService,
    pub(crate) licensing: LicensingService,
    pub(crate) audit: AuditLog,
    pub(crate) plans: PlanTable,
    pub(crate) releases: ReleaseService,
    /// Seals a new key kept in the session for a browser without JavaScript.
    pub(crate) reveals: RevealSealer,
    /// Seals what a failed form posted without JavaScript carried, for its page.
    pub(crate) form_inputs: FormInputs,
    /// Signs validate's answers (`Storno-Signature`).
    pub(crate) answer_signer: Arc<AnswerSigner>,
    pub(crate) settings: Arc<Settings>,
}

impl std::ops::Deref for AppState {
    type Target = AppStateInner;

    fn deref(&self) -> &AppStateInner {
        &self.0
    }
}

/// The parts handlers and leptos_axum extract on their own.
macro_rules! app_state_parts {
    ($($field:ident: $part:ty),*) => {$(
        impl FromRef<AppState> for $part {
            fn from_ref(state: &AppState) -> $part {
                state.$field.clone()
            }
        }
    )*};
}

app_state_parts!(
    leptos_options: LeptosOptions,
    accounts: AccountsService,
    billing: BillingService,
    licensing: LicensingService,
    audit: AuditLog,
    plans: PlanTable,
    releases: ReleaseService,
    answer_signer: Arc<AnswerSigner>
);
