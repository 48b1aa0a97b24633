//! Validate's answers: a code and the nonce in each, signed by a published key,
//! metrics clamped.

use crate::helpers::*;
use crate::usage::{app_with_key, usage};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn every_validate_answer_has_a_code_and_echoes_the_nonce() {
    let (app, owner, _, key) = app_with_key().await;
    let valid: Value = app
        .validate(json!({"licenseKey": key, "nonce": "n-1"}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        (valid["code"].as_str(), valid["nonce"].as_str()),
        (Some("valid"), Some("n-1"))
    );
    assert_eq!(valid["refreshAfter"], 3600, "business syncs hourly");
    let grace_until =
        storno_licensing::clock::parse_rfc3339(valid["graceUntil"].as_str().unwrap()).unwrap();
    let in_seven_days = storno_licensing::clock::now() + 7 * 86_400;
    assert!((grace_until - in_seven_days).abs() <= 5, "{valid}");
    let without: Value = app
        .validate(json!({"licenseKey": key, "nonce": null}))
        .await
        .json()
        .await
        .unwrap();
    assert!(without.get("nonce").is_none());

    let unknown = app
        .validate(json!({"licenseKey": "0".repeat(64), "nonce": "n-2"}))
        .await;
    let body = assert_error(unknown, StatusCode::UNAUTHORIZED, "invalid_license_key").await;
    assert_eq!(
        (body["valid"].as_bool(), body["nonce"].as_str()),
        (Some(false), Some("n-2"))
    );
    app.set_plan(&owner.organization_id, "community");
    let refused = app
        .validate(json!({"licenseKey": key, "nonce": "n-3"}))
        .await;
    let body = assert_error(refused, StatusCode::FORBIDDEN, "plan_excludes_self_hosting").await;
    assert_eq!(body["nonce"], "n-3");
    let malformed = app
        .validate(json!({"licenseKey": "short", "nonce": "n-4"}))
        .await;
    assert_eq!(
        assert_error(malformed, StatusCode::BAD_REQUEST, "invalid_request").await["nonce"],
        "n-4"
    );
    let bad_nonce = app
        .validate(json!({"licenseKey": key, "nonce": "has space"}))
        .await;
    assert_error(bad_nonce, StatusCode::BAD_REQUEST, "invalid_request").await;
}

#[tokio::test]
async fn every_validate_answer_is_signed_by_a_published_key() {
    let (app, owner, _, key) = app_with_key().await;
    let jwks = app.jwks().await;
    let okp: Vec<&Value> = jwks.iter().filter(|k| k["kty"] == "OKP").collect();
    assert_eq!(okp.len(), 1, "{jwks:?}");
    assert_eq!(okp[0]["crv"], "Ed25519");
    let public_key = ed25519_compact::PublicKey::from_slice(
        &URL_SAFE_NO_PAD
            .decode(okp[0]["x"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();

    app.set_plan(&owner.organization_id, "community");
    let answers = [
        app.validate(json!({"licenseKey": key})).await, // 403
        app.validate(json!({"licenseKey": "f".repeat(64)})).await, // 401
        app.validate(json!({"nonce": 1})).await,        // 400
    ];
    app.set_plan(&owner.organization_id, "business");
    let valid = app.validate(json!({"licenseKey": key})).await;
    for answer in answers.into_iter().chain([valid]) {
        let status = answer.status();
        let header = answer.headers()["storno-signature"]
            .to_str()
            .unwrap()
            .to_string();
        let body = answer.bytes().await.unwrap();
        let field = |name: &str| {
            header
                .split(',')
                .find_map(|part| part.strip_prefix(name))
                .unwrap_or_else(|| panic!("{name} in {header}"))
                .to_string()
        };
        assert_eq!(field("keyid="), okp[0]["kid"].as_str().unwrap());
        let ts: i64 = field("ts=").parse().unwrap();
        assert!((ts - storno_licensing::clock::now()).abs() <= 5);
        let signature =
            ed25519_compact::Signature::from_slice(&URL_SAFE_NO_PAD.decode(field("sig=")).unwrap())
                .unwrap();
        let signed = [format!("{ts}.").as_bytes(), &body].concat();
        public_key
            .verify(&signed, &signature)
            .unwrap_or_else(|e| panic!("{status}: {e}"));
        // A changed body, or the same body under another time, does not verify.
        let mut forged = signed.clone();
        *forged.last_mut().unwrap() ^= 1;
        assert!(public_key.verify(&forged, &signature).is_err());
        let replayed = [format!("{}.", ts + 1).as_bytes(), &body].concat();
        assert!(public_key.verify(&replayed, &signature).is_err());
    }
}

#[tokio::test]
async fn a_rotated_answer_key_is_published_beside_the_old_one_and_signs() {
    let old = "11".repeat(32);
    let new = "22".repeat(32);
    let app = spawn_app_with(|settings| {
        settings.licensing.answer_signing_keys = Some(format!("{old},{new}").into());
    })
    .await;
    let jwks = app.jwks().await;
    let ids: Vec<&str> = jwks.iter().map(|k| k["kid"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    let answer = app.validate(json!({"licenseKey": "0".repeat(64)})).await;
    let header = answer.headers()["storno-signature"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        header.starts_with(&format!("keyid={},", ids[1])),
        "{header} {ids:?}"
    );
}

#[tokio::test]
async fn absurd_metrics_are_clamped_and_the_key_page_still_draws() {
    let (app, owner, id, key) = app_with_key().await;
    for (users, invoices) in [(i64::MAX, i64::MIN), (-5, i64::MAX)] {
        let answer = app
            .validate(json!({
                "licenseKey": key,
                "metrics": {
                    "userCount": users,
                    "companyCount": i64::MAX,
                    "invoicesThisMonth": invoices,
                    "orgCount": -1
                }
            }))
            .await;
        assert_eq!(answer.status(), StatusCode::OK);
    }
    let history = usage(&app, &owner, &id, "").await;
    let metrics = &history["days"][0]["metrics"];
    let max = storno_licensing::licensing::plans::InstanceMetrics::MAX_VALUE;
    assert_eq!(metrics["userCount"]["max"], max, "{history}");
    assert_eq!(
        metrics["userCount"]["last"], 0,
        "a negative count is none: {history}"
    );
    assert_eq!(metrics["invoicesThisMonth"]["max"], max);
    assert_eq!(metrics["companyCount"]["max"], max);

    let cookie = app.session_cookie(&owner).await;
    let page = app.page(&cookie, &format!("/keys/{id}")).await;
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    assert!(html.contains("<svg"), "the charts draw");
}
