//! The browser's door to licensing: the keys page, a key's page and Billing.

#[cfg(feature = "ssr")]
pub(crate) mod charts;
pub(crate) mod key;
pub(crate) mod keys;
