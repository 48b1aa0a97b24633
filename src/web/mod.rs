//! The HTTP building blocks features use: the JSON body, the OpenAPI pieces
//! handlers name, a page's security policy and the request's context. Foundations:
//! they know no feature and no router.

pub(crate) mod api_doc;
pub(crate) mod context;
pub(crate) mod json;
pub(crate) mod page_policy;

/// How long a public document (the version, the public key, the JWKS) may be cached.
pub(crate) const CACHE_PUBLIC_DOCUMENT: &str = "public, max-age=300";
