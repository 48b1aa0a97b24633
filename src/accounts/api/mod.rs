//! The JSON API's door to accounts: parse, call the service, answer.

pub(crate) mod auth;
pub(crate) mod email;
pub(crate) mod extract;
pub(crate) mod members;
