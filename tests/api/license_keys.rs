//! `POST` and `GET /api/v1/licensing/keys` against the contract, line by line.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn create_answers_201_with_the_seed_body() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;

    let response = app
        .create_key(&owner.token, json!({"instanceName": "Production Server"}))
        .await;

    assert_eq!(response.status(), StatusCode::CREATED);
    assert_json(response.headers());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let location = response.headers()["location"].to_str().unwrap().to_string();
    let body: Value = response.json().await.unwrap();
    let object = body.as_object().unwrap();
    let mut fields: Vec<&str> = object.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        ["active", "createdAt", "id", "instanceName", "licenseKey"]
    );
    let id = body["id"].as_str().unwrap();
    let uuid = uuid::Uuid::parse_str(id).unwrap();
    assert_eq!(uuid.get_version_num(), 7, "ids are UUIDv7");
    assert_eq!(location, format!("/api/v1/licensing/keys/{id}"));
    assert!(
        is_lower_hex(body["licenseKey"].as_str().unwrap(), 64),
        "{body}"
    );
    assert_eq!(body["instanceName"], "Production Server");
    assert_eq!(body["active"], true);
    assert!(
        is_contract_timestamp(body["createdAt"].as_str().unwrap()),
        "{body}"
    );
}

#[tokio::test]
async fn instance_name_is_optional_trimmed_and_empty_means_absent() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;

    for body in [
        json!({}),
        json!({"instanceName": null}),
        json!({"instanceName": "   "}),
    ] {
        let response = app.create_key(&owner.token, body.clone()).await;
        assert_eq!(response.status(), StatusCode::CREATED, "{body}");
        let created: Value = response.json().await.unwrap();
        assert_eq!(created["instanceName"], Value::Null, "{body}");
        assert!(created.as_object().unwrap().contains_key("instanceName"));
    }

    let no_body = app
        .api
        .post(app.url("/api/v1/licensing/keys"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_eq!(no_body.status(), StatusCode::CREATED);

    let trimmed = app
        .created_key(&owner.token, json!({"instanceName": "  Staging  "}))
        .await;
    assert_eq!(trimmed["instanceName"], "Staging");
}

#[tokio::test]
async fn every_key_is_distinct() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let mut keys = std::collections::HashSet::new();
    for _ in 0..20 {
        let body = app.created_key(&owner.token, json!({})).await;
        keys.insert(body["licenseKey"].as_str().unwrap().to_string());
    }
    assert_eq!(keys.len(), 20);
}

#[tokio::test]
async fn list_shows_masked_keys_newest_first() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let mut created = Vec::new();
    for name in ["First", "Second", "Third"] {
        let body = app
            .created_key(&owner.token, json!({"instanceName": name}))
            .await;
        created.push(body);
    }

    let response = app.list_keys(&owner.token).await;
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    for key in &created {
        assert!(
            !text.contains(key["licenseKey"].as_str().unwrap()),
            "a full key was listed"
        );
    }
    let body: Value = serde_json::from_str(&text).unwrap();
    let keys = body["keys"].as_array().unwrap();
    assert_eq!(keys.len(), 3);
    let names: Vec<&str> = keys
        .iter()
        .map(|k| k["instanceName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Third", "Second", "First"]);
    for (listed, original) in keys.iter().zip(created.iter().rev()) {
        let mut fields: Vec<&str> = listed
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        fields.sort_unstable();
        assert_eq!(
            fields,
            [
                "activatedAt",
                "active",
                "createdAt",
                "id",
                "instanceMetrics",
                "instanceName",
                "instanceUrl",
                "lastValidatedAt",
                "lastViolations",
                "licenseKey",
                "state"
            ]
        );
        let full = original["licenseKey"].as_str().unwrap();
        assert_eq!(
            listed["licenseKey"],
            format!("{}...{}", &full[..8], &full[56..])
        );
        assert_eq!(listed["id"], original["id"]);
        assert_eq!(listed["createdAt"], original["createdAt"]);
        assert_eq!(listed["active"], true);
        assert_eq!(listed["instanceUrl"], Value::Null);
        assert_eq!(listed["lastValidatedAt"], Value::Null);
        assert_eq!(listed["activatedAt"], Value::Null);
        assert_eq!(listed["instanceMetrics"], Value::Null);
        assert_eq!(listed["lastViolations"], json!([]));
    }
}

#[tokio::test]
async fn list_of_a_new_organization_is_empty() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let body: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(body, json!({"keys": [], "nextBefore": null}));
}

#[tokio::test]
async fn malformed_bodies_get_json_errors_and_create_nothing() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    let post = |body: &'static str, content_type: &'static str| {
        app.api
            .post(app.url("/api/v1/licensing/keys"))
            .bearer_auth(&owner.token)
            .header("content-type", content_type)
            .body(body)
            .send()
    };

    assert_error(
        post("{not json", "application/json").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_request",
    )
    .await;
    assert_error(
        post("{\"instanceName\": 5}", "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(
        post("{\"instance\": \"x\"}", "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(
        post("[]", "application/json").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(
        post("{\"instanceName\": \"a\\u0007b\"}", "application/json")
            .await
            .unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert_error(
        post("instanceName=x", "application/x-www-form-urlencoded")
            .await
            .unwrap(),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    )
    .await;

    let too_long = app
        .create_key(&owner.token, json!({"instanceName": "x".repeat(256)}))
        .await;
    let body = assert_error(
        too_long,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    assert!(body["error"].as_str().unwrap().contains("instanceName"));
    let longest = app
        .create_key(&owner.token, json!({"instanceName": "x".repeat(255)}))
        .await;
    assert_eq!(longest.status(), StatusCode::CREATED);

    let huge = app
        .create_key(&owner.token, json!({"instanceName": "x".repeat(20_000)}))
        .await;
    assert_error(huge, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large").await;

    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(
        listed["keys"].as_array().unwrap().len(),
        1,
        "only the valid request created a key"
    );
}

#[tokio::test]
async fn unknown_api_paths_and_methods_answer_json() {
    let app = spawn_app().await;
    let missing = app
        .api
        .get(app.url("/api/v1/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_error(missing, StatusCode::NOT_FOUND, "not_found").await;
    let wrong_method = app
        .api
        .put(app.url("/api/v1/licensing/keys"))
        .send()
        .await
        .unwrap();
    assert_error(
        wrong_method,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
    )
    .await;
}

#[tokio::test]
async fn a_key_reads_alone_masked_at_its_location_for_its_owner_only() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.test", "Acme").await;
    // `null` reads like no body at all.
    let created = app.create_key(&owner.token, Value::Null).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    let location = created.headers()["location"].to_str().unwrap().to_string();
    let key: Value = created.json().await.unwrap();

    let read = app.get_json(&location, &owner.token, None).await;
    let full = key["licenseKey"].as_str().unwrap();
    assert_eq!(read["id"], key["id"]);
    assert_eq!(
        read["licenseKey"],
        format!("{}...{}", &full[..8], &full[56..])
    );
    assert_eq!(read["active"], true);

    let rival = app.register("owner@rival.test", "Rival").await;
    let member = app.member_of(&owner, "member@acme.test", "member").await;
    let read_by = |token: String, organization: Option<String>| {
        let request = app.api.get(app.url(&location)).bearer_auth(token);
        match organization {
            Some(id) => request.header("X-Organization", id),
            None => request,
        }
        .send()
    };
    assert_error(
        read_by(rival.token.clone(), None).await.unwrap(),
        StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;
    assert_error(
        read_by(member.token.clone(), Some(owner.organization_id.clone()))
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let malformed = app
        .api
        .get(app.url("/api/v1/licensing/keys/not-a-uuid"))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    assert_error(malformed, StatusCode::NOT_FOUND, "license_key_not_found").await;
}

#[tokio::test]
async fn a_thousand_concurrent_creates_give_a_thousand_distinct_keys_that_all_validate() {
    use futures::StreamExt;
    let app = spawn_app_with(|settings| {
        // This test is about creation; validation limits have their own test.
        settings.rate_limits.validate_per_ip = 100_000;
    })
    .await;
    let owner = app.register("owner@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let mut tokens = vec![owner.token.clone()];
    for _ in 0..3 {
        tokens.push(app.new_token(&owner.email, &owner.password).await);
    }

    let app = &app;
    let creates = (0..1000).map(|i| {
        let token = &tokens[i % tokens.len()];
        async move {
            let response = app.create_key(token, json!({})).await;
            assert_eq!(response.status(), StatusCode::CREATED);
            let body: Value = response.json().await.unwrap();
            body["licenseKey"].as_str().unwrap().to_string()
        }
    });
    let keys: Vec<String> = futures::future::join_all(creates).await;
    let distinct: std::collections::HashSet<&String> = keys.iter().collect();
    assert_eq!(distinct.len(), 1000);
    let mut listed = 0;
    let mut path = "/api/v1/licensing/keys?limit=200".to_string();
    loop {
        let page = app.get_json(&path, &owner.token, None).await;
        listed += page["keys"].as_array().unwrap().len();
        match page["nextBefore"].as_str() {
            Some(next) => path = format!("/api/v1/licensing/keys?limit=200&before={next}"),
            None => break,
        }
    }
    assert_eq!(listed, 1000);

    let validations = futures::stream::iter(keys.iter().map(|key| {
        let request = app
            .api
            .post(app.url("/api/v1/licensing/validate"))
            .json(&json!({"licenseKey": key}))
            .send();
        async move { request.await.unwrap().status() }
    }))
    .buffer_unordered(32)
    .collect::<Vec<StatusCode>>()
    .await;
    assert!(
        validations.iter().all(|status| *status == StatusCode::OK),
        "{validations:?}"
    );
}
