//! Usage over time: the daily rollup, key states, and what every validate answer
//! carries (a code, refresh and grace times, the nonce, a signature).

use crate::helpers::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// An organization on a self-hosting plan with one key; limits out of the way.
pub(crate) async fn app_with_key() -> (TestApp, Owner, String, String) {
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

pub(crate) async fn usage(app: &TestApp, owner: &Owner, id: &str, query: &str) -> Value {
    app.get_json(
        &format!("/api/v1/licensing/keys/{id}/usage{query}"),
        &owner.token,
        Some(&owner.organization_id),
    )
    .await
}

pub(crate) async fn db(app: &TestApp) -> sqlx::AnyPool {
    storno_licensing::db::Db::connect(&app.database_url, None)
        .await
        .unwrap()
        .pool
}

pub(crate) async fn count(pool: &sqlx::AnyPool, sql: &str, id: &str) -> i64 {
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
