//! The audit log stays bounded: retention, a key's newest events, instances
//! taking turns.

use crate::usage::{app_with_key, count, db, usage};
use reqwest::StatusCode;
use serde_json::json;

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
