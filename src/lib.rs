//! Storno Licensing: issues license keys for self-hosted Storno instances.
//!
//! Two doors, one service: a Leptos server function (pages) and an axum handler
//! (JSON API) both call the same service, the only code that touches the database.

// Leptos view types nest deeply (a page is one type); the hydrate build needs room.
#![recursion_limit = "256"]

pub mod accounts;
pub mod app;
pub mod audit;
#[cfg(feature = "ssr")]
pub mod audit_trail;
pub mod browser;
pub mod components;
pub mod error;
pub mod form_input;
pub mod licensing;
pub mod parse;
pub mod rpc;
pub mod settled;
pub mod split_preloads;

#[cfg(feature = "ssr")]
pub mod cli;
#[cfg(feature = "ssr")]
pub mod client_ip;
#[cfg(feature = "ssr")]
pub mod clock;
#[cfg(feature = "ssr")]
pub mod config;
#[cfg(feature = "ssr")]
pub mod db;
#[cfg(feature = "ssr")]
pub mod http;
#[cfg(feature = "ssr")]
pub mod idempotency;
#[cfg(feature = "ssr")]
pub mod mail;
#[cfg(feature = "ssr")]
pub mod outbox;
#[cfg(feature = "ssr")]
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub mod releases;
#[cfg(feature = "ssr")]
pub mod request_meta;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub mod web;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The pages are lazy routes: hydration waits for the shown page's code.
    leptos::mount::hydrate_lazy(app::App);
}
