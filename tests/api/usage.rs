//! Usage over time: the daily rollup, key states, and what every validate answer
//! carries (a code, refresh and grace times, the nonce, a signature).

use crate::helpers::*;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An organization on a self-hosting plan with one key; limits out of the way.
async fn app_with_key() -> (TestApp, Owner, String, String) {
    let app = spawn_app_with(|settings| {
        settings.rate_limits.validate_per_key = 1_000_000;
        settings.rate_limits.validate_per_ip = 1_000_000;
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let (id, key) = app.new_key(&owner.token, "Prod").await;
    (app, owner, id, key)
}

async fn usage(app: &TestApp, owner: &Owner, id: &str, query: &str) -> Value {
    app.get_json(
        &format!("/api/v1/licensing/keys/{id}/usage{query}"),
        &owner.token,
        Some(&owner.organization_id),
    )
    .await
}

async fn db(app: &TestApp) -> sqlx::AnyPool {
    storno_licensing::db::Db::connect(&app.database_url, None)
        .await
        .unwrap()
        .pool
}

async fn count(pool: &sqlx::AnyPool, sql: &str, id: &str) -> i64 {
    let (n,): (i64,) = sqlx::query_as(sql).bind(id).fetch_one(pool).await.unwrap();
    n
}

#[tokio::test]
async fn a_thousand_validations_of_one_key_in_a_day_make_one_day() {
    let (app, owner, id, key) = app_with_key().await;
    // Eight at a time, so validations race for the same day's rollup.
    let requests = (0..1000).map(|n| {
        let body = json!({
            "licenseKey": key,
            "instanceUrl": "https://erp.acme.test",
            "metrics": {"userCount": n % 7, "invoicesThisMonth": n}
        });
        let request = app
            .api
            .post(app.url("/api/v1/licensing/validate"))
            .json(&body);
        async move { request.send().await.unwrap().status() }
    });
    let statuses: Vec<StatusCode> = futures::stream::iter(requests)
        .buffer_unordered(8)
        .collect()
        .await;
    assert!(
        statuses.iter().all(|s| *s == StatusCode::OK),
        "{statuses:?}"
    );

    let history = usage(&app, &owner, &id, "").await;
    let days = history["days"].as_array().unwrap();
    assert_eq!(days.len(), 1, "{history}");
    let today = &days[0];
    assert_eq!(today["validations"], 1000, "no validation lost to a race");
    assert_eq!(
        today["date"],
        storno_licensing::clock::rfc3339(storno_licensing::clock::now())[..10]
    );
    assert_eq!(today["instanceUrls"], json!(["https://erp.acme.test"]));
    assert_eq!(today["metrics"]["userCount"]["max"], 6);
    assert_eq!(today["metrics"]["invoicesThisMonth"]["max"], 999);
    assert!(
        today["metrics"].get("companyCount").is_none(),
        "never reported"
    );
    assert_eq!(today["violations"], json!([]));

    // The day in progress is on the key's row; nothing is archived yet, and no
    // per-call rows exist anywhere.
    let pool = db(&app).await;
    let archived = "SELECT COUNT(*) FROM key_usage_days WHERE license_key_id = $1";
    assert_eq!(count(&pool, archived, &id).await, 0);
}

/// Frames in the SQLite file's write-ahead log: every commit appends the pages it
/// changed. `truncate` empties the log first (nothing else is writing then).
async fn wal_frames(connection: &mut sqlx::AnyConnection, mode: &str) -> i64 {
    let (_busy, frames, _copied): (i64, i64, i64) =
        sqlx::query_as(&format!("PRAGMA wal_checkpoint({mode})"))
            .fetch_one(&mut *connection)
            .await
            .unwrap();
    frames
}

#[tokio::test]
async fn routine_validations_waiting_for_a_write_are_committed_together() {
    let (app, owner, id, key) = app_with_key().await;
    if !app.database_url.starts_with("sqlite") {
        return; // PostgreSQL locks rows: each validation commits on its own there.
    }
    let body = json!({"licenseKey": key, "instanceUrl": "https://erp.acme.test"});
    // The first one activates the key (its own transaction, with an audit event).
    assert_eq!(app.validate(body.clone()).await.status(), StatusCode::OK);
    let pool = db(&app).await;
    let mut other = pool.acquire().await.unwrap();
    wal_frames(&mut other, "TRUNCATE").await;
    assert_eq!(app.validate(body.clone()).await.status(), StatusCode::OK);
    let frames_of_one = wal_frames(&mut other, "PASSIVE").await;
    assert!(frames_of_one > 0, "a routine validation commits");

    // Another process holds SQLite's write lock while eight validations arrive.
    wal_frames(&mut other, "TRUNCATE").await;
    sqlx::query("BEGIN IMMEDIATE")
        .execute(&mut *other)
        .await
        .unwrap();
    let validations = futures::future::join_all((0..8).map(|_| app.validate(body.clone())));
    // Held for 3 s: time for all eight to arrive on a loaded machine, and well inside
    // the 5 s busy timeout the first of them waits under.
    let release = async {
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
        sqlx::query("COMMIT").execute(&mut *other).await.unwrap();
    };
    let (answers, ()) = tokio::join!(validations, release);
    assert!(answers
        .iter()
        .all(|answer| answer.status() == StatusCode::OK));

    // The one that got the app's write turn first waits for the lock; the others
    // wait behind it and are then written in one transaction: two commits, where
    // one each would append eight times a lone validation's frames.
    let frames = wal_frames(&mut other, "PASSIVE").await;
    assert!(
        frames <= 4 * frames_of_one,
        "{frames} frames for 8 validations; one alone appends {frames_of_one}"
    );
    let history = usage(&app, &owner, &id, "").await;
    assert_eq!(history["days"][0]["validations"], 10, "every one counted");
}

#[tokio::test]
async fn a_finished_day_moves_to_the_history_and_old_days_go() {
    let (app, owner, id, key) = app_with_key().await;
    let report = |users: i64| json!({"licenseKey": key, "instanceUrl": "https://erp.acme.test", "metrics": {"userCount": users}});
    assert_eq!(app.validate(report(4)).await.status(), StatusCode::OK);
    assert_eq!(app.validate(report(5)).await.status(), StatusCode::OK);
    // As if those two were yesterday; and a day past the 400 kept.
    let pool = db(&app).await;
    sqlx::query("UPDATE license_keys SET usage_day = usage_day - 1 WHERE id = $1")
        .bind(&id)
        .execute(&pool)
        .await
        .unwrap();
    let today = storno_licensing::licensing::service::day_of(storno_licensing::clock::now());
    sqlx::query("INSERT INTO key_usage_days (license_key_id, day, usage) VALUES ($1, $2, '{}')")
        .bind(&id)
        .bind(today - 401)
        .execute(&pool)
        .await
        .unwrap();

    assert_eq!(app.validate(report(3)).await.status(), StatusCode::OK);
    let history = usage(&app, &owner, &id, "?days=2").await;
    let days = history["days"].as_array().unwrap();
    assert_eq!(days.len(), 2, "{history}");
    assert_eq!(days[0]["validations"], 2, "yesterday, oldest first");
    assert_eq!(
        days[0]["metrics"]["userCount"],
        json!({"max": 5, "last": 5})
    );
    assert_eq!(days[1]["validations"], 1);
    assert_eq!(
        days[1]["metrics"]["userCount"],
        json!({"max": 3, "last": 3})
    );
    let archived = "SELECT COUNT(*) FROM key_usage_days WHERE license_key_id = $1";
    assert_eq!(
        count(&pool, archived, &id).await,
        1,
        "yesterday kept, day 401 gone"
    );
    assert_eq!(
        usage(&app, &owner, &id, "?days=1").await["days"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "only today"
    );
}

#[tokio::test]
async fn two_instance_urls_in_a_day_make_the_key_shared_and_both_are_told() {
    let (app, owner, id, key) = app_with_key().await;
    let from = |url: &str| json!({"licenseKey": key, "instanceUrl": url});
    let first: Value = app
        .validate(from("https://a.acme.test"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(first["violations"], json!([]));
    let listed = app
        .get_json(
            &format!("/api/v1/licensing/keys/{id}"),
            &owner.token,
            Some(&owner.organization_id),
        )
        .await;
    assert_eq!(listed["state"], "active");

    let second: Value = app
        .validate(from("https://b.acme.test"))
        .await
        .json()
        .await
        .unwrap();
    let sentence = "License key used by 2 instances today; each instance needs its own key.";
    assert_eq!(second["valid"], true);
    assert_eq!(second["violations"], json!([sentence]));
    let again: Value = app
        .validate(from("https://a.acme.test"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(
        again["violations"],
        json!([sentence]),
        "the first instance hears it too"
    );

    let listed = app
        .list_keys(&owner.token)
        .await
        .json::<Value>()
        .await
        .unwrap();
    assert_eq!(listed["keys"][0]["state"], "shared");
    let day = &usage(&app, &owner, &id, "").await["days"][0];
    assert_eq!(
        day["instanceUrls"],
        json!(["https://a.acme.test", "https://b.acme.test"])
    );
    assert_eq!(day["violations"], json!([sentence]));
}

#[tokio::test]
async fn states_name_where_each_key_is() {
    let (app, owner, used, key) = app_with_key().await;
    let (unused, _) = app.new_key(&owner.token, "Spare").await;
    let (revoked, _) = app.new_key(&owner.token, "Old").await;
    app.api
        .delete(app.url(&format!("/api/v1/licensing/keys/{revoked}")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    app.validate(json!({"licenseKey": key})).await;
    let state_of = |list: &Value, id: &str| {
        list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["id"] == id)
            .unwrap()["state"]
            .clone()
    };
    let list: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(state_of(&list, &used), "active");
    assert_eq!(state_of(&list, &unused), "never_used");
    assert_eq!(state_of(&list, &revoked), "revoked");

    // Silent for longer than twice business's sync interval (1 hour) plus the
    // default grace (24 hours).
    let pool = db(&app).await;
    sqlx::query("UPDATE license_keys SET last_validated_at = last_validated_at - (26 * 3600 + 1) WHERE id = $1")
        .bind(&used)
        .execute(&pool)
        .await
        .unwrap();
    let list: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(state_of(&list, &used), "overdue");

    let rotated = app
        .api
        .post(app.url(&format!("/api/v1/licensing/keys/{used}/rotate")))
        .bearer_auth(&owner.token)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(rotated.status(), StatusCode::CREATED);
    let list: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(state_of(&list, &used), "rotating");
}

#[tokio::test]
async fn usage_is_the_owners_alone_and_days_are_checked() {
    let (app, owner, id, _) = app_with_key().await;
    let member = app.member_of(&owner, "mo@acme.test", "member").await;
    let other = app.register("eve@evil.test", "Evil").await;
    let path = format!("/api/v1/licensing/keys/{id}/usage");
    let get = |token: &str, organization: &str, query: &str| {
        app.api
            .get(app.url(&format!("{path}{query}")))
            .bearer_auth(token)
            .header("X-Organization", organization)
            .send()
    };
    assert_error(
        get(&member.token, &owner.organization_id, "")
            .await
            .unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        get(&other.token, &other.organization_id, "").await.unwrap(),
        StatusCode::NOT_FOUND,
        "license_key_not_found",
    )
    .await;
    let no_token = app.api.get(app.url(&path)).send().await.unwrap();
    assert_eq!(no_token.status(), StatusCode::UNAUTHORIZED);
    for bad in ["?days=0", "?days=401", "?days=x", "?days=1.5"] {
        assert_error(
            get(&owner.token, &owner.organization_id, bad)
                .await
                .unwrap(),
            StatusCode::BAD_REQUEST,
            "invalid_request",
        )
        .await;
    }
    let empty = get(&owner.token, &owner.organization_id, "?days=400")
        .await
        .unwrap();
    assert_eq!(empty.status(), StatusCode::OK);
    assert_eq!(empty.json::<Value>().await.unwrap(), json!({"days": []}));
}

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

#[tokio::test]
async fn events_past_the_retention_are_erased_and_a_key_shows_its_newest_events() {
    let (app, owner, id, _key) = app_with_key().await;
    let pool = db(&app).await;
    let now = storno_licensing::clock::now();
    for n in 0..600 {
        // The first hundred are older than the 400 days kept.
        let at = if n < 100 { now - 401 * 86_400 } else { now };
        sqlx::query(
            "INSERT INTO audit_events (id, organization_id, action, target_id, details, created_at) \
             VALUES ($1, $2, 'license_key.new_instance_url', $3, $4, $5)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&owner.organization_id)
        .bind(&id)
        .bind(json!({ "instanceUrl": format!("https://host{n}.test") }).to_string())
        .bind(at)
        .execute(&pool)
        .await
        .unwrap();
    }
    let log = storno_licensing::audit::service::AuditLog::new(pool.clone(), 400);
    assert_eq!(log.erase_expired().await.unwrap(), 100);
    assert_eq!(log.erase_expired().await.unwrap(), 0);
    let kept = "SELECT COUNT(*) FROM audit_events WHERE target_id = $1";
    assert_eq!(count(&pool, kept, &id).await, 500);

    let cookie = app.session_cookie(&owner).await;
    let page = app.page_html(&cookie, &format!("/keys/{id}")).await;
    assert!(
        page.contains("https://host599.test"),
        "the newest event is shown"
    );
    assert!(page.contains("https://host100.test"));
    assert!(
        !page.contains("https://host99.test"),
        "an erased one is not"
    );
}

#[tokio::test]
async fn the_server_erases_expired_events_when_it_starts() {
    let (app, owner, id, _key) = app_with_key().await;
    let pool = db(&app).await;
    sqlx::query(
        "INSERT INTO audit_events (id, organization_id, action, target_id, created_at) \
         VALUES ($1, $2, 'license_key.activated', $3, $4)",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(&owner.organization_id)
    .bind(&id)
    .bind(storno_licensing::clock::now() - 2 * 86_400)
    .execute(&pool)
    .await
    .unwrap();
    let mut command = app.operator_command(&["serve"]);
    command
        .env("AUDIT_RETENTION_DAYS", "1")
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut server = command.spawn().unwrap();
    let query = "SELECT COUNT(*) FROM audit_events WHERE target_id = $1";
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while count(&pool, query, &id).await > 0 {
        assert!(std::time::Instant::now() < deadline, "not erased");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    server.kill().unwrap();
    server.wait().unwrap();
}

#[tokio::test]
async fn instances_taking_turns_add_no_events_and_reports_are_bounded_in_bytes() {
    let (app, owner, first_id, first_key) = app_with_key().await;
    let mut keys = vec![(first_id, first_key)];
    for n in 1..10 {
        keys.push(app.new_key(&owner.token, &format!("Prod {n}")).await);
    }
    let pool = db(&app).await;
    let events = || async {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM audit_events")
            .fetch_one(&pool)
            .await
            .unwrap();
        n
    };
    let before = events().await;
    for round in 0..10 {
        for (_, key) in &keys {
            let url = if round % 2 == 0 {
                "https://a.acme.test"
            } else {
                "https://b.acme.test"
            };
            let answer = app
                .validate(json!({"licenseKey": key, "instanceUrl": url}))
                .await;
            assert_eq!(answer.status(), StatusCode::OK);
        }
    }
    // Per key: its activation and its second URL, however often they alternate.
    assert_eq!(events().await - before, 20);

    let (id, key) = &keys[0];
    let long_url = format!("https://{}.test", "é".repeat(5_000));
    let long_name = "N".repeat(5_000);
    let answer = app
        .validate(json!({"licenseKey": key, "instanceUrl": long_url, "instanceName": long_name}))
        .await;
    assert_eq!(answer.status(), StatusCode::OK);
    let (url, name): (String, String) = sqlx::query_as(
        "SELECT instance_url, reported_instance_name FROM license_keys WHERE id = $1",
    )
    .bind(id)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert!(
        url.len() <= 512 && long_url.starts_with(&url),
        "{} bytes",
        url.len()
    );
    assert!(name.len() <= 255, "{} bytes", name.len());

    // A day lists a bounded number of URLs and counts the rest.
    for n in 0..40 {
        let url = format!("https://host{n}.acme.test");
        app.validate(json!({"licenseKey": key, "instanceUrl": url}))
            .await;
    }
    let history = usage(&app, &owner, id, "").await;
    let today = &history["days"][0];
    let listed = today["instanceUrls"].as_array().unwrap().len();
    assert_eq!(
        listed,
        storno_licensing::licensing::usage::MAX_DISTINCT_PER_DAY
    );
    assert_eq!(today["moreInstanceUrls"], 3 + 40 - listed as i64, "{today}");
}
