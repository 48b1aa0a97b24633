//! Billing: an organization's plan follows its Stripe subscription (Stripe's
//! webhooks; no call to Stripe's API), and the Billing page where its owner sees the
//! plan, upgrades through the operator's Payment Links and manages the subscription.

#[cfg(feature = "ssr")]
pub(crate) mod api;
#[cfg(feature = "ssr")]
pub(crate) mod domain;
#[cfg(feature = "ssr")]
pub(crate) mod emails;
pub(crate) mod pages;
#[cfg(feature = "ssr")]
pub(crate) mod service;
