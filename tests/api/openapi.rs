//! The OpenAPI document describes exactly the routes the server serves.

use crate::helpers::{assert_json, spawn_app};
use axum::routing::get;
use axum::Router;
use reqwest::StatusCode;
use serde_json::Value;
use std::collections::{BTreeSet, HashMap};
use storno_licensing::http::api_router;
use storno_licensing::http::state::AppState;

type Operations = BTreeSet<(String, String)>;

/// The `(method, path)` pairs a router serves under `/api/v1`, read from its
/// `Debug` output (axum has no public route listing): the paths from its
/// `RouteId -> path` table, the methods from each route's `Allow` header. Should
/// axum change that format, this finds nothing and the tests below fail.
fn routed_operations(router: &Router<AppState>) -> Operations {
    let dump = format!("{router:?}");
    let served = dump.split("fallback_router").next().unwrap();
    let (routes, node) = served.split_once("node: Node").unwrap();
    let paths: HashMap<&str, &str> = node
        .split("RouteId(")
        .skip(1)
        .map(|piece| {
            let (id, rest) = piece.split_once(')').unwrap();
            (id, rest.split('"').nth(1).unwrap())
        })
        .collect();
    let mut operations = Operations::new();
    for piece in routes.split("RouteId(").skip(1) {
        let (id, rest) = piece.split_once(')').unwrap();
        let allow = rest
            .split("allow_header: Bytes(b\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for method in allow.split(',').filter(|method| *method != "HEAD") {
            operations.insert((method.to_lowercase(), format!("/api/v1{}", paths[id])));
        }
    }
    operations
}

fn documented_operations(document: &Value) -> Operations {
    let mut operations = Operations::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in ["get", "put", "post", "delete", "patch"] {
            if item.get(method).is_some() {
                operations.insert((method.to_string(), path.clone()));
            }
        }
    }
    operations
}

async fn served_document() -> Value {
    let app = spawn_app().await;
    let response = app
        .api
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_json(response.headers());
    response.json().await.unwrap()
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let document = served_document().await;
    let routed = routed_operations(&api_router());
    assert!(
        routed.len() >= 13,
        "the router listing found too little: {routed:?}"
    );
    assert_eq!(routed, documented_operations(&document));
}

#[tokio::test]
async fn a_route_added_outside_the_document_is_caught() {
    let document = served_document().await;
    let router = api_router().route("/undocumented", get(|| async {}));
    let routed = routed_operations(&router);
    assert!(routed.contains(&("get".to_string(), "/api/v1/undocumented".to_string())));
    assert_ne!(routed, documented_operations(&document));
}

#[tokio::test]
async fn the_document_is_openapi_3_1_with_errors_headers_and_security() {
    let document = served_document().await;
    assert!(document["openapi"].as_str().unwrap().starts_with("3.1"));
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );

    let create = &document["paths"]["/api/v1/licensing/keys"]["post"];
    assert_eq!(create["security"][0]["bearer"], Value::Array(vec![]));
    assert!(create["responses"]["201"]["headers"]["Location"].is_object());
    assert!(create["responses"]["401"]["headers"]["WWW-Authenticate"].is_object());
    for status in ["400", "403", "404", "413", "415", "422"] {
        assert_eq!(
            create["responses"][status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "create documents {status}"
        );
    }
    let parameters = create["parameters"].as_array().unwrap();
    assert!(parameters
        .iter()
        .any(|p| p["name"] == "X-Organization" && p["in"] == "header"));

    let validate = &document["paths"]["/api/v1/licensing/validate"]["post"];
    assert!(
        validate.get("security").is_none(),
        "the key is the credential"
    );
    assert!(validate["responses"]["429"]["headers"]["Retry-After"].is_object());
    assert_eq!(
        validate["responses"]["403"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/RefusedLicenseBody"
    );
    let token = &document["paths"]["/api/v1/auth/token"]["post"];
    assert!(token["responses"]["429"]["headers"]["Retry-After"].is_object());

    // Issue 12's routes: offline licenses, their public key, the version.
    let offline = &document["paths"]["/api/v1/licensing/keys/{id}/jwt"];
    for status in ["201", "403", "404", "409", "422", "503"] {
        assert!(
            offline["post"]["responses"][status].is_object(),
            "jwt {status}"
        );
    }
    assert!(offline["get"]["responses"]["200"].is_object());
    let public_key = &document["paths"]["/api/v1/licensing/public-key.pem"]["get"];
    assert!(public_key.get("security").is_none());
    assert!(public_key["responses"]["503"].is_object());
    let version = &document["paths"]["/api/v1/version"]["get"];
    assert!(version.get("security").is_none());
    assert!(version["responses"]["404"].is_object());
    assert!(version["responses"]["200"]["headers"]["Cache-Control"].is_object());

    // Issue 14: every validate answer signed; the new fields; usage; key states.
    for status in ["200", "400", "401", "403", "413", "429"] {
        assert!(
            validate["responses"][status]["headers"]["Storno-Signature"].is_object(),
            "validate {status} documents its signature"
        );
    }
    let schemas = &document["components"]["schemas"];
    let valid = &schemas["ValidationDto"]["properties"];
    for field in ["code", "refreshAfter", "graceUntil", "nonce"] {
        assert!(valid[field].is_object(), "ValidationDto.{field}");
    }
    for body in [
        "InvalidLicenseBody",
        "RefusedLicenseBody",
        "ValidateErrorBody",
    ] {
        assert!(
            schemas[body]["properties"]["nonce"].is_object(),
            "{body}.nonce"
        );
    }
    assert!(schemas["ValidateRequest"]["properties"]["nonce"].is_object());
    assert!(schemas["LicenseKeyDto"]["properties"]["state"].is_object());
    let usage = &document["paths"]["/api/v1/licensing/keys/{id}/usage"]["get"];
    for status in ["200", "400", "404"] {
        assert!(usage["responses"][status].is_object(), "usage {status}");
    }
    assert!(usage["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .any(|p| p["name"] == "days" && p["in"] == "query"));
}
