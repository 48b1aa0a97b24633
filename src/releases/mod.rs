//! The latest Storno release, as the operator announces it: instances ask
//! `GET /api/v1/version` to tell their administrator that an update exists.

pub(crate) mod api;
pub(crate) mod domain;
pub(crate) mod service;
