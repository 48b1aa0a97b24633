//! The browser's door to licensing: the keys page, a key's page and Billing.

pub(crate) mod billing;
#[cfg(feature = "ssr")]
pub(crate) mod charts;
pub(crate) mod key;
pub(crate) mod keys;
