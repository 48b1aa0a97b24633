//! The latest Storno release, as the operator announces it: instances ask
//! `GET /api/v1/version` to tell their administrator that an update exists.

pub mod api;
pub mod domain;
pub mod service;
