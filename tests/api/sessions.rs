//! Browser sessions: rotated at sign-in, ended on the server, by idle and absolute
//! timeouts; forged cookies and cross-site posts refused; secure over HTTPS.

use crate::helpers::*;
use crate::pages::{member_acting_in_acme, session_of};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn cross_site_posts_to_server_functions_are_refused() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;

    let forged_origin = app
        .api
        .post(app.url("/rpc/create_license_key"))
        .header("Cookie", &cookie)
        .header("Origin", "https://evil.example")
        .form(&[("instance_name", "csrf")])
        .send()
        .await
        .unwrap();
    assert_error(forged_origin, StatusCode::FORBIDDEN, "cross_site_request").await;

    let cross_site_fetch = app
        .api
        .post(app.url("/rpc/create_license_key"))
        .header("Cookie", &cookie)
        .header("Origin", &app.address)
        .header("Sec-Fetch-Site", "cross-site")
        .form(&[("instance_name", "csrf")])
        .send()
        .await
        .unwrap();
    assert_eq!(cross_site_fetch.status(), StatusCode::FORBIDDEN);

    let no_origin = app
        .api
        .post(app.url("/rpc/create_license_key"))
        .header("Cookie", &cookie)
        .form(&[("instance_name", "csrf")])
        .send()
        .await
        .unwrap();
    assert_eq!(no_origin.status(), StatusCode::FORBIDDEN);

    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"], json!([]), "no key was created");
}

#[tokio::test]
async fn a_forged_cookie_is_a_signed_out_visitor() {
    let app = spawn_app().await;
    let forged = "storno_session=AAAAAAAAAAAAAAAAAAAAAA";
    let page = app
        .api
        .get(app.url("/keys"))
        .header("Cookie", forged)
        .header("Accept", "text/html")
        .send()
        .await
        .unwrap();
    assert!(page.status().is_redirection());
    assert_eq!(page.headers()["location"], "/sign-in");
    // The answer has the browser forget a cookie that names no session.
    let cleared = page.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cleared.starts_with("storno_session=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    let create = app
        .api
        .post(app.url("/rpc/create_license_key"))
        .header("Cookie", forged)
        .header("Origin", &app.address)
        .form(&[("instance_name", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(create.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn sign_in_rotates_the_session_and_sign_out_ends_it_on_the_server() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let first = app.session_cookie(&owner).await;
    let second = app.session_cookie(&owner).await;
    assert_ne!(first, second);
    assert_eq!(session_of(&app, &second).await["email"], "ana@acme.test");

    let signed_out = app.rpc(&second, "sign_out", &[]).await;
    assert!(signed_out.status().is_redirection() || signed_out.status().is_success());
    // Replaying the old cookie does not bring the session back.
    assert_eq!(session_of(&app, &second).await, Value::Null);
}

#[tokio::test]
async fn sessions_end_after_the_idle_and_the_absolute_timeout() {
    use std::time::{Duration, Instant};
    let idle = spawn_app_with(|settings| {
        settings.session_idle_timeout = Duration::from_secs(3);
    })
    .await;
    let owner = idle.register("ana@acme.test", "Acme").await;
    let cookie = idle.session_cookie(&owner).await;
    assert_eq!(session_of(&idle, &cookie).await["email"], "ana@acme.test");
    let last_used = Instant::now();
    tokio::time::sleep_until((last_used + Duration::from_millis(4500)).into()).await;
    assert_eq!(
        session_of(&idle, &cookie).await,
        Value::Null,
        "idle too long"
    );

    let absolute = spawn_app_with(|settings| {
        settings.session_absolute_timeout = Duration::from_secs(3);
    })
    .await;
    let owner = absolute.register("ana@acme.test", "Acme").await;
    let cookie = absolute.session_cookie(&owner).await;
    let signed_in = Instant::now();
    // Busy all along: each call renews the idle timeout, not the absolute one.
    for _ in 0..4 {
        assert_eq!(
            session_of(&absolute, &cookie).await["email"],
            "ana@acme.test"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    tokio::time::sleep_until((signed_in + Duration::from_millis(4500)).into()).await;
    assert_eq!(
        session_of(&absolute, &cookie).await,
        Value::Null,
        "signed in too long ago"
    );
}

#[tokio::test]
async fn a_session_in_use_outlives_its_idle_timeout() {
    use std::time::{Duration, Instant};
    let app = spawn_app_with(|settings| {
        settings.session_idle_timeout = Duration::from_secs(3);
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let mut renewed_cookies = Vec::new();
    // Used every 400 ms for twice the idle timeout.
    let mut last_used = Instant::now();
    for _ in 0..15 {
        let answer = app.rpc(&cookie, "session", &[]).await;
        last_used = Instant::now();
        if let Some(set_cookie) = answer.headers().get("set-cookie") {
            renewed_cookies.push(set_cookie.to_str().unwrap().to_string());
        }
        let body: Value = answer.json().await.unwrap();
        assert_eq!(body["email"], "ana@acme.test", "signed out while in use");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    // The browser's cookie is renewed too: the same session, three seconds more.
    assert!(!renewed_cookies.is_empty());
    for set_cookie in &renewed_cookies {
        assert!(
            set_cookie.starts_with(&format!("{cookie};")),
            "{set_cookie}"
        );
        assert!(set_cookie.contains("Max-Age=3"), "{set_cookie}");
    }
    tokio::time::sleep_until((last_used + Duration::from_millis(4500)).into()).await;
    assert_eq!(
        session_of(&app, &cookie).await,
        Value::Null,
        "idle too long"
    );
}

/// A session's row names its signed-in user in a column of its own (what a page's
/// one query joins on), keeps the session's values beside it, and opens nothing
/// once its time is up, whatever the cookie says.
#[tokio::test]
async fn a_session_row_names_its_user_and_ends_with_its_time() {
    let app = spawn_app().await;
    let (owner, cookie) = member_acting_in_acme(&app).await;

    let db = storno_licensing::db::Db::connect(&app.database_url, None)
        .await
        .unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT u.email, s.data FROM browser_sessions s JOIN users u ON u.id = s.user_id",
    )
    .fetch_all(&db.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 1, "{rows:?}");
    let (email, data) = &rows[0];
    assert_eq!(email, "bob@acme.test");
    let values: Value = serde_json::from_str(data).unwrap();
    assert_eq!(values["organization_id"], owner.organization_id.as_str());
    assert_eq!(session_of(&app, &cookie).await["current"]["name"], "Acme");

    sqlx::query("UPDATE browser_sessions SET expires_at = $1")
        .bind(chrono::Utc::now().timestamp() - 1)
        .execute(&db.pool)
        .await
        .unwrap();
    assert_eq!(session_of(&app, &cookie).await, Value::Null);
}

pub(crate) async fn session_rows(database_url: &str) -> i64 {
    let db = storno_licensing::db::Db::connect(database_url, None)
        .await
        .unwrap();
    let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM browser_sessions")
        .fetch_one(&db.pool)
        .await
        .unwrap();
    rows
}

#[tokio::test]
async fn ended_sessions_are_deleted_from_the_database() {
    let first = spawn_app_with(|settings| {
        settings.session_idle_timeout = std::time::Duration::from_secs(1);
    })
    .await;
    let owner = first.register("ana@acme.test", "Acme").await;
    first.session_cookie(&owner).await;
    assert_eq!(session_rows(&first.database_url).await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        session_rows(&first.database_url).await,
        1,
        "ended, not yet swept"
    );

    // The sweep runs when a server starts, then every few minutes.
    let database_url = first.database_url.clone();
    let _second = spawn_app_with(|settings| settings.database_url = database_url).await;
    let mut rows = 1;
    for _ in 0..200 {
        rows = session_rows(&first.database_url).await;
        if rows == 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(rows, 0);
}

#[tokio::test]
async fn over_https_the_cookie_is_secure_and_only_the_public_origin_is_trusted() {
    let app = spawn_app_with(|settings| {
        settings.public_url = Some("https://licensing.example.test".into());
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let sign_in = |origin: String| {
        app.api
            .post(app.url("/rpc/sign_in"))
            .header("Origin", origin)
            .form(&[
                ("email", owner.email.as_str()),
                ("password", owner.password.as_str()),
            ])
            .send()
    };
    // The app's own host is no longer enough once a public URL is configured.
    let refused = sign_in(app.address.clone()).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);

    let response = sign_in("https://licensing.example.test".into())
        .await
        .unwrap();
    let cookies: Vec<&str> = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    let device = cookies
        .iter()
        .find(|cookie| cookie.starts_with("storno_device="))
        .unwrap();
    assert!(device.contains("Secure"), "{device}");
    let cookie = cookies
        .iter()
        .find(|cookie| !cookie.starts_with("storno_device="))
        .unwrap();
    assert!(cookie.starts_with("__Host-storno_session="), "{cookie}");
    assert!(cookie.contains("Secure"), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    assert!(!cookie.contains("Domain="), "{cookie}");
}

#[tokio::test]
async fn viewing_a_page_does_not_write_the_session() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    for path in [
        "/keys",
        "/organization",
        "/activity",
        "/account",
        "/settings/billing",
    ] {
        let response = app
            .api
            .get(app.url(path))
            .header("Cookie", &cookie)
            .header("Accept", "text/html")
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        assert!(
            response.headers().get("set-cookie").is_none(),
            "{path} saved the session (a database write per page view; a session in use is renewed at most once a minute)"
        );
    }
}
