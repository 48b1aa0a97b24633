//! Integration tests: each spawns the real application on port 0 with a fresh
//! database and talks to it over HTTP, like a client would.

mod abuse;
mod accounts;
mod audit_retention;
mod authorization;
mod billing_pages;
mod cli;
mod compat;
mod connections;
mod email_identity;
mod email_pages;
mod helpers;
mod idempotency;
mod instances;
mod license_keys;
mod lifecycle;
mod memberships;
mod offline_licenses;
mod one_statement_create;
mod openapi;
mod page_flows;
mod page_rendering;
mod pages;
mod plans;
mod rate_limits;
mod roles;
mod schema;
mod secrets;
mod sessions;
mod sign_in_abuse;
mod smtp;
mod stripe;
mod usage;
mod validate_answers;
