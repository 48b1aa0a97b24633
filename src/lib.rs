//! Storno Licensing: issues license keys for self-hosted Storno instances.
//!
//! Two doors, one service: a Leptos server function (pages) and an axum handler
//! (JSON API) both call the same service, the only code that touches the database.

// Leptos view types nest deeply (a page is one type); the hydrate build needs room.
#![recursion_limit = "256"]
// The browser's build compiles the shared modules without their server side, which
// alone uses many of their items; dead code is found in the server's build (clippy,
// `-D warnings`), which sees every use.
#![cfg_attr(not(feature = "ssr"), allow(dead_code))]

pub(crate) mod accounts;
pub(crate) mod app;
pub mod audit;
#[cfg(feature = "ssr")]
pub(crate) mod audit_trail;
pub(crate) mod billing;
pub(crate) mod browser;
pub(crate) mod components;
pub mod error;
pub(crate) mod form_input;
pub mod licensing;
pub(crate) mod parse;
pub(crate) mod rpc;
pub(crate) mod settled;
pub(crate) mod split_preloads;

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
pub(crate) mod mail;
#[cfg(feature = "ssr")]
pub(crate) mod outbox;
#[cfg(feature = "ssr")]
pub mod rate_limit;
#[cfg(feature = "ssr")]
pub(crate) mod releases;
#[cfg(feature = "ssr")]
pub(crate) mod request_meta;
#[cfg(feature = "ssr")]
pub mod secrets;
#[cfg(feature = "ssr")]
pub(crate) mod web;

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    console_error_panic_hook::set_once();
    // The pages are lazy routes: hydration waits for the shown page's code.
    leptos::mount::hydrate_lazy(app::App);
}
