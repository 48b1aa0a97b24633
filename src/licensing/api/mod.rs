//! `/api/v1/licensing/*`: parse, call the service, answer.

pub mod keys;
pub mod offline;
pub mod usage;
pub mod validate;
