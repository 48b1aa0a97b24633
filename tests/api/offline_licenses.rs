//! Offline licenses: plain RS256 JWTs a client verifies alone, refused clearly
//! from every side, and 503 without a signing key.

use crate::compat::raw;
use crate::helpers::*;
use jsonwebtoken::{decode, decode_header, Algorithm, DecodingKey, Validation};
use serde_json::{json, Value};

const TEST_KEY_FILE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/offline-license-test-key.pem"
);

async fn app_signing_offline_licenses() -> TestApp {
    spawn_app_with(|settings| {
        settings.licensing.jwt_private_key_file = Some(TEST_KEY_FILE.into());
    })
    .await
}

async fn issue(app: &TestApp, token: &str, key_id: &str, body: Value) -> reqwest::Response {
    app.api
        .post(app.url(&format!("/api/v1/licensing/keys/{key_id}/jwt")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn an_offline_license_verifies_with_plain_rs256_and_fails_after_its_exp() {
    let app = app_signing_offline_licenses().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (key_id, _) = app.new_key(&owner.token, "Air-gapped").await;
    let key_id = key_id.as_str();

    let response = issue(&app, &owner.token, key_id, json!({"days": 1})).await;
    assert_eq!(response.status(), 201);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let issued: Value = response.json().await.unwrap();
    let jwt = issued["jwt"].as_str().unwrap();
    assert!(
        jwt.starts_with("eyJ"),
        "the client tells offline licenses by this prefix"
    );
    assert_eq!(issued["plan"], "business");

    // The instance embeds the public key; fetched here as PEM and as a JWKS.
    let pem = raw(&app, "GET", "/api/v1/licensing/public-key.pem", None).await;
    assert_eq!(pem.header("cache-control"), Some("public, max-age=300"));
    let pem = text_of(app.api.get(app.url("/api/v1/licensing/public-key.pem"))).await;
    assert!(pem.starts_with("-----BEGIN PUBLIC KEY-----"));
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(app.jwks().await[0].clone()).unwrap();

    let header = decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.typ.as_deref(), Some("JWT"));
    assert_eq!(header.kid, jwk.common.key_id);
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_issuer(&["storno.ro"]);
    validation.set_required_spec_claims(&["exp", "iss", "sub", "iat"]);
    for public in [
        DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap(),
        DecodingKey::from_jwk(&jwk).unwrap(),
    ] {
        let claims = decode::<Value>(jwt, &public, &validation).unwrap().claims;
        assert_eq!(claims["sub"], owner.organization_id.as_str());
        assert_eq!(claims["plan"], "business");
        assert_eq!(claims["orgName"], "Acme");
        assert_eq!(claims["features"]["selfHostingLicense"], true);
        assert_eq!(claims["features"].as_object().unwrap().len(), 22);
        assert_eq!(
            claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
            86_400
        );
        assert_eq!(
            chrono::DateTime::from_timestamp(claims["exp"].as_i64().unwrap(), 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%S+00:00")
                .to_string(),
            issued["expiresAt"].as_str().unwrap()
        );
    }

    // As the instance's check runs a day and a second later: expired.
    let public = DecodingKey::from_rsa_pem(pem.as_bytes()).unwrap();
    let mut a_day_later = validation.clone();
    a_day_later.leeway = 0;
    a_day_later.reject_tokens_expiring_in_less_than = 86_400 + 1;
    let expired = decode::<Value>(jwt, &public, &a_day_later).unwrap_err();
    assert_eq!(
        *expired.kind(),
        jsonwebtoken::errors::ErrorKind::ExpiredSignature
    );
    // A token from another key, or altered, does not verify.
    let mut altered = jwt.to_string();
    altered.insert(jwt.find('.').unwrap() + 5, 'A');
    assert!(decode::<Value>(&altered, &public, &validation).is_err());

    // The default lifetime is 30 days; the issue is recorded and listed, never the token.
    let default: Value = issue(&app, &owner.token, key_id, json!({}))
        .await
        .json()
        .await
        .unwrap();
    let claims = decode::<Value>(default["jwt"].as_str().unwrap(), &public, &validation)
        .unwrap()
        .claims;
    assert_eq!(
        claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap(),
        30 * 86_400
    );
    let listed = app
        .get_json(
            &format!("/api/v1/licensing/keys/{key_id}/jwt"),
            &owner.token,
            None,
        )
        .await;
    let listed = listed["offlineLicenses"].as_array().unwrap();
    assert_eq!(listed.len(), 2);
    assert_eq!(listed[0]["issuedBy"], "ana@acme.test");
    assert_eq!(listed[0]["expiresAt"], default["expiresAt"]);
    assert!(!listed[0].to_string().contains("eyJ"));
    let audit = app.get_json("/api/v1/audit", &owner.token, None).await;
    assert!(actions(&audit).contains(&"license_key.offline_license_issued".to_string()));
    assert!(
        !audit.to_string().contains(jwt),
        "the audit log never holds the token"
    );
    assert!(!captured_logs().contains(jwt), "nor does the log");

    // Revoking the key answers exactly as the contract says; its offline licenses,
    // which it cannot recall, stay listed with their expiry.
    let revoked: Value = app
        .api
        .delete(app.url(&format!("/api/v1/licensing/keys/{key_id}")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(revoked, json!({"status": "revoked"}));
    let still_listed = app
        .get_json(
            &format!("/api/v1/licensing/keys/{key_id}/jwt"),
            &owner.token,
            None,
        )
        .await;
    assert_eq!(still_listed["offlineLicenses"].as_array().unwrap().len(), 2);
    assert_error(
        issue(&app, &owner.token, key_id, json!({})).await,
        reqwest::StatusCode::CONFLICT,
        "license_key_revoked",
    )
    .await;
}

#[tokio::test]
async fn offline_licenses_are_refused_clearly_from_every_side() {
    let app = app_signing_offline_licenses().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (key_id, _) = app.new_key(&owner.token, "Air-gapped").await;
    let key_id = key_id.as_str();
    let stranger = app.register("eve@evil.test", "Evil").await;
    app.set_plan(&stranger.organization_id, "business");
    let member = app.member_of(&owner, "bob@acme.test", "admin").await;

    // A plan without self-hosting gets no offline license either.
    let refused = assert_error(
        issue(&app, &owner.token, key_id, json!({})).await,
        reqwest::StatusCode::FORBIDDEN,
        "plan_excludes_self_hosting",
    )
    .await;
    assert_eq!(refused["plan"], "community");
    app.set_plan(&owner.organization_id, "business");
    for days in [json!(0), json!(366), json!(-1), json!(1.5), json!("30")] {
        let response = issue(&app, &owner.token, key_id, json!({ "days": days })).await;
        assert_eq!(response.status(), 422, "days {days}");
    }
    assert_error(
        issue(&app, &stranger.token, key_id, json!({})).await,
        reqwest::StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;
    let as_member = app
        .api
        .post(app.url(&format!("/api/v1/licensing/keys/{key_id}/jwt")))
        .bearer_auth(&member.token)
        .header("X-Organization", &owner.organization_id)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(as_member, reqwest::StatusCode::FORBIDDEN, "forbidden").await;
    let anonymous = app
        .api
        .post(app.url(&format!("/api/v1/licensing/keys/{key_id}/jwt")))
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_error(anonymous, reqwest::StatusCode::UNAUTHORIZED, "unauthorized").await;
    let listed = app
        .api
        .get(app.url(&format!("/api/v1/licensing/keys/{key_id}/jwt")))
        .bearer_auth(&stranger.token)
        .send()
        .await
        .unwrap();
    assert_error(
        listed,
        reqwest::StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;
}

#[tokio::test]
async fn without_a_signing_key_offline_licenses_answer_503_not_500() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (key_id, _) = app.new_key(&owner.token, "Air-gapped").await;
    let key_id = key_id.as_str();
    assert_error(
        issue(&app, &owner.token, key_id, json!({})).await,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "offline_licenses_disabled",
    )
    .await;
    let pem = app
        .api
        .get(app.url("/api/v1/licensing/public-key.pem"))
        .send()
        .await
        .unwrap();
    assert_error(
        pem,
        reqwest::StatusCode::SERVICE_UNAVAILABLE,
        "offline_licenses_disabled",
    )
    .await;
    // The JWKS still publishes the keys that sign validate's answers, and no RSA key.
    let jwks = app.jwks().await;
    let types: Vec<&str> = jwks.iter().map(|k| k["kty"].as_str().unwrap()).collect();
    assert_eq!(types, ["OKP"]);
    // A key file that is not an RSA key stops the server at start-up, with the reason.
    let directory = tempfile::tempdir().unwrap();
    let not_a_key = directory.path().join("key.pem");
    std::fs::write(&not_a_key, "not a key").unwrap();
    let (code, stderr) = app
        .serve_refusing_to_start(&[("LICENSE_JWT_PRIVATE_KEY_FILE", not_a_key.to_str().unwrap())])
        .await;
    assert_eq!(code, Some(1));
    assert!(stderr.contains("LICENSE_JWT_PRIVATE_KEY_FILE"), "{stderr}");
    assert!(
        !stderr.contains("not a key"),
        "the file's content is never echoed: {stderr}"
    );
}
