//! The browser's door to accounts: pages and their server functions.

pub(crate) mod account;
pub(crate) mod account_security;
pub(crate) mod email;
pub(crate) mod gates;
pub(crate) mod organization;
pub(crate) mod sign_in;
