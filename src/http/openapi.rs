//! The OpenAPI 3.1 document of the JSON API, served at `/api/v1/openapi.json`.
//!
//! Routes are registered only through utoipa-axum's `routes!`, which reads each
//! handler's `#[utoipa::path]`: the router and the document come from the same
//! declarations (tests/api/openapi.rs checks that nothing bypasses them). The error
//! answers every operation shares are added here by rule, so that each handler
//! declares only what is its own.

use crate::licensing::api::validate::{InvalidLicenseBody, RefusedLicenseBody, ValidateErrorBody};
use crate::web::api_doc::{ErrorBody, BEARER, ORGANIZATION_HEADER};
use axum::Json;
use std::sync::OnceLock;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Operation, PathItem};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, OpenApi as Document, Ref, RefOr, Response, ResponseBuilder};
use utoipa::{Modify, OpenApi};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Storno Licensing API",
        version = "1",
        description = "License keys for self-hosted Storno instances. Every error is JSON \
                       `{\"error\", \"code\"}`; answers that carry a secret send `Cache-Control: no-store`."
    ),
    components(schemas(ErrorBody, InvalidLicenseBody, RefusedLicenseBody, ValidateErrorBody)),
    modifiers(&BearerScheme)
)]
pub(crate) struct ApiDoc;

struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "A token from POST /auth/register or POST /auth/token.",
                    ))
                    .build(),
            ),
        );
    }
}

/// The finished document: `/api/v1` paths, the shared error answers added.
pub(crate) fn document() -> &'static Document {
    static DOCUMENT: OnceLock<Document> = OnceLock::new();
    DOCUMENT.get_or_init(|| {
        let (_, routes) = super::api_routes().split_for_parts();
        let mut document = ApiDoc::openapi().nest("/api/v1", routes);
        add_shared_error_responses(&mut document);
        document
    })
}

#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses((status = 200, description = "This document (OpenAPI 3.1)", content_type = "application/json"))
)]
pub(crate) async fn serve() -> Json<&'static Document> {
    Json(document())
}

fn error_response(description: &str) -> ResponseBuilder {
    ResponseBuilder::new().description(description).content(
        "application/json",
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build(),
    )
}

fn text_header(description: &str) -> utoipa::openapi::header::Header {
    HeaderBuilder::new()
        .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
        .description(Some(description))
        .build()
}

/// Adds, where an operation lacks them, the answers that follow from its shape:
/// a body can be malformed (400), of the wrong shape (422), of another type (415)
/// or too large (413); a bearer token can be missing or dead (401); an
/// `X-Organization` can name an organization the caller cannot see (404) or one
/// they do not own (403).
fn add_shared_error_responses(document: &mut Document) {
    for item in document.paths.paths.values_mut() {
        for operation in operations(item) {
            let mut shared: Vec<(&str, Response)> = Vec::new();
            if operation.request_body.is_some() {
                shared.push(("400", error_response("The body is not valid JSON").build()));
                shared.push((
                    "413",
                    error_response("The body is larger than 16 KiB").build(),
                ));
                shared.push((
                    "415",
                    error_response("The body is not application/json").build(),
                ));
                shared.push((
                    "422",
                    error_response("The body is JSON of the wrong shape or breaks a rule").build(),
                ));
            }
            if operation.security.as_ref().is_some_and(|s| !s.is_empty()) {
                shared.push((
                    "401",
                    error_response("Missing, malformed, unknown, revoked or expired token")
                        .header("WWW-Authenticate", text_header("`Bearer`, per RFC 6750"))
                        .build(),
                ));
            }
            let names_organization =
                operation.parameters.iter().flatten().any(
                    |parameter| matches!(parameter, RefOr::T(p) if p.name == ORGANIZATION_HEADER),
                );
            if names_organization {
                shared.push((
                    "403",
                    error_response("The caller is a member, not the owner").build(),
                ));
                shared.push((
                    "404",
                    error_response("No such organization among the caller's").build(),
                ));
            }
            for (status, response) in shared {
                operation
                    .responses
                    .responses
                    .entry(status.to_string())
                    .or_insert(RefOr::T(response));
            }
        }
    }
}

fn operations(item: &mut PathItem) -> impl Iterator<Item = &mut Operation> {
    [
        &mut item.get,
        &mut item.put,
        &mut item.post,
        &mut item.delete,
        &mut item.patch,
    ]
    .into_iter()
    .flatten()
}
