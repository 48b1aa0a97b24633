//! `/api/v1/licensing/*`: parse, call the service, answer.

pub(crate) mod keys;
pub(crate) mod offline;
pub(crate) mod usage;
pub(crate) mod validate;
