//! The browser's door: pages and server functions, with the session cookie.

use crate::helpers::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The session as the page's `session` server function reports it for `cookie`.
async fn session_of(app: &TestApp, cookie: &str) -> Value {
    app.rpc(cookie, "session", &[]).await.json().await.unwrap()
}

/// Bob, a plain member of Ana's Acme, signed in and switched to Acme (he owns an
/// organization of his own, his default): Ana, and Bob's session cookie.
async fn member_acting_in_acme(app: &TestApp) -> (Owner, String) {
    let owner = app.register("ana@acme.test", "Acme").await;
    let member = app.member_of(&owner, "bob@acme.test", "member").await;
    let cookie = app.session_cookie(&member).await;
    let switched = app
        .rpc(
            &cookie,
            "switch_organization",
            &[("organization_id", owner.organization_id.as_str())],
        )
        .await;
    assert!(switched.status().is_success(), "{}", switched.status());
    (owner, cookie)
}

#[tokio::test]
async fn signed_out_visitors_are_sent_to_sign_in() {
    let app = spawn_app().await;
    for path in ["/keys", "/organization", "/"] {
        let response = app.browser.get(app.url(path)).send().await.unwrap();
        assert!(
            response.status().is_redirection(),
            "{path}: {}",
            response.status()
        );
        assert_eq!(response.headers()["location"], "/sign-in", "{path}");
    }
    let sign_in = app.browser.get(app.url("/sign-in")).send().await.unwrap();
    assert_eq!(sign_in.status(), StatusCode::OK);
    let html = sign_in.text().await.unwrap();
    assert!(
        html.contains("<label for=\"password\">"),
        "the sign-in form renders"
    );
}

#[tokio::test]
async fn an_unknown_path_is_the_not_found_page_with_the_visitors_header() {
    let app = spawn_app().await;
    let owner = app.register("alice@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let signed_in = app.page(&cookie, "/no-such-page").await;
    assert_eq!(signed_in.status(), StatusCode::NOT_FOUND);
    let html = signed_in.text().await.unwrap();
    assert!(html.contains("Page not found"), "{html}");
    assert!(
        html.contains("<span class=\"who\">alice@acme.test"),
        "the header shows who is signed in: {html}"
    );

    let signed_out = app
        .browser
        .get(app.url("/no-such-page"))
        .send()
        .await
        .unwrap();
    assert_eq!(signed_out.status(), StatusCode::NOT_FOUND);
    let html = signed_out.text().await.unwrap();
    assert!(html.contains("Page not found") && html.contains("href=\"/sign-in\""));
    assert!(!html.contains("class=\"who\""));

    // Any method: a form posted to a path that is not there gets the page too.
    let posted = app
        .api
        .post(app.url("/no-such-page"))
        .header("Origin", &app.address)
        .header("Cookie", &cookie)
        .form(&[("name", "value")])
        .send()
        .await
        .unwrap();
    assert_eq!(posted.status(), StatusCode::NOT_FOUND);
    assert!(posted.text().await.unwrap().contains("Page not found"));
}

#[tokio::test]
async fn the_page_and_the_api_share_one_service() {
    let app = spawn_app().await;
    let signed_up = app
        .server_fn(
            "sign_up",
            &[
                ("email", "ana@acme.test"),
                ("password", "correct horse battery"),
                ("organization_name", "Acme"),
            ],
        )
        .await;
    assert!(signed_up.status().is_redirection() || signed_up.status().is_success());

    let page = app.browser.get(app.url("/keys")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("Create license key"));

    let created = app
        .server_fn("create_license_key", &[("instance_name", " Production ")])
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    assert_eq!(created.headers()["cache-control"], "no-store");
    let created: Value = created.json().await.unwrap();
    let key = created["licenseKey"].as_str().unwrap();
    assert!(is_lower_hex(key, 64));
    assert_eq!(created["instanceName"], "Production");

    // The API, with a token for the same person, lists exactly that key, masked.
    let token = app
        .new_token("ana@acme.test", "correct horse battery")
        .await;
    let listed: Value = app.list_keys(&token).await.json().await.unwrap();
    assert_eq!(listed["keys"][0]["id"], created["id"]);
    assert_eq!(
        listed["keys"][0]["licenseKey"],
        format!("{}...{}", &key[..8], &key[56..])
    );

    // And the page's list shows the masked key, never the full one.
    let from_page: Value = app
        .server_fn("list_license_keys", &[])
        .await
        .json()
        .await
        .unwrap();
    // Row by row the same keys as the API's, with only what a row shows.
    let shown = |keys: &Value, fields: [&str; 5]| -> Vec<Vec<Value>> {
        let keys = keys.as_array().unwrap();
        keys.iter()
            .map(|key| fields.iter().map(|field| key[*field].clone()).collect())
            .collect()
    };
    assert_eq!(
        shown(
            &from_page["keys"],
            [
                "id",
                "masked_key",
                "instance_name",
                "instance_url",
                "created_at"
            ]
        ),
        shown(
            &listed["keys"],
            [
                "id",
                "licenseKey",
                "instanceName",
                "instanceUrl",
                "createdAt"
            ]
        ),
    );
    let row = from_page["keys"][0].as_object().unwrap();
    assert_eq!(row["state"], "NeverUsed");
    let mut fields: Vec<&str> = row.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        [
            "created_at",
            "id",
            "instance_name",
            "instance_url",
            "last_validated",
            "masked_key",
            "state"
        ]
    );
    let html = text_of(app.browser.get(app.url("/keys"))).await;
    assert!(html.contains(&format!("{}...{}", &key[..8], &key[56..])));
    assert!(!html.contains(key));
}

/// Starting an app finds its routes by rendering it with resource loading switched
/// off process-wide (a Leptos global): a page another app rendered meanwhile waited
/// forever for its data. Routes are now found once per process.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn pages_load_while_other_apps_start() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    let starts = futures::future::join_all((0..12).map(|_| spawn_app()));
    let pages = futures::stream::iter(0..60)
        .map(|_| async {
            let page = app
                .api
                .get(app.url("/keys"))
                .header("Cookie", &cookie)
                .send();
            tokio::time::timeout(std::time::Duration::from_secs(10), page)
                .await
                .is_ok()
        })
        .buffer_unordered(8)
        .collect::<Vec<bool>>();
    let (_, pages) = tokio::join!(starts, pages);
    let stuck = pages.iter().filter(|loaded| !**loaded).count();
    assert_eq!(stuck, 0, "{stuck} of {} pages never came", pages.len());
}

#[tokio::test]
async fn server_fn_errors_carry_their_status() {
    let app = spawn_app().await;
    let invalid = app
        .server_fn(
            "sign_up",
            &[
                ("email", "nope"),
                ("password", "correct horse battery"),
                ("organization_name", "Acme"),
            ],
        )
        .await;
    assert_eq!(invalid.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = invalid.json().await.unwrap();
    assert_eq!(body["code"], "validation_failed");
    assert_eq!(body["message"], "Enter a valid email address");

    let signed_out = app
        .server_fn("create_license_key", &[("instance_name", "x")])
        .await;
    assert_eq!(signed_out.status(), StatusCode::UNAUTHORIZED);

    let wrong = app
        .server_fn(
            "sign_in",
            &[("email", "ana@acme.test"), ("password", "not the password")],
        )
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
}

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

// Sessions end in whole seconds (a row's `expires_at`, a sign-in's time), so a
// timeout of N seconds ends a session between N - 1 and N seconds after its last
// use. The timeouts below leave a loaded machine two seconds for a request, and
// each check that a session has ended waits from when it was last used.

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

async fn session_rows(database_url: &str) -> i64 {
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
async fn pages_allow_only_their_own_scripts_under_a_fresh_nonce() {
    let app = spawn_app().await;
    let policy_and_html = || async {
        let response = app.browser.get(app.url("/sign-in")).send().await.unwrap();
        let policy = response.headers()["content-security-policy"]
            .to_str()
            .unwrap()
            .to_string();
        (policy, response.text().await.unwrap())
    };
    let (policy, html) = policy_and_html().await;
    for directive in [
        "default-src 'self'",
        "style-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "frame-ancestors 'none'",
        "'wasm-unsafe-eval'",
    ] {
        assert!(policy.contains(directive), "{directive} in {policy}");
    }
    assert!(!policy.contains("unsafe-inline"), "{policy}");
    let nonce = policy
        .split("'nonce-")
        .nth(1)
        .and_then(|rest| rest.split('\'').next())
        .unwrap()
        .to_string();
    let scripts: Vec<&str> = html.split("<script").skip(1).collect();
    assert!(!scripts.is_empty(), "the page has its hydration script");
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        assert!(tag.contains(&format!("nonce=\"{nonce}\"")), "{tag}");
    }
    let (again, _) = policy_and_html().await;
    assert_ne!(again, policy, "a new nonce for every page");

    let api = app
        .api
        .get(app.url("/api/v1/openapi.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        api.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'"
    );
}

#[tokio::test]
async fn members_see_why_they_cannot_manage_keys() {
    let app = spawn_app().await;
    let (owner, cookie) = member_acting_in_acme(&app).await;
    assert_eq!(session_of(&app, &cookie).await["current"]["name"], "Acme");

    let html = app.page_html(&cookie, "/keys").await;
    assert!(html.contains("Only the owner can manage license keys"));
    assert!(!html.contains("Create license key"));

    let create = app
        .rpc(
            &cookie,
            "create_license_key",
            &[("instance_name", "sneaky")],
        )
        .await;
    assert_eq!(create.status(), StatusCode::FORBIDDEN);
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"], json!([]));

    // Switching to an organization he does not belong to is refused.
    let stranger = app.register("eve@evil.test", "Evil").await;
    let refused = app
        .rpc(
            &cookie,
            "switch_organization",
            &[("organization_id", stranger.organization_id.as_str())],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn pages_carry_security_headers() {
    let app = spawn_app().await;
    let response = app.browser.get(app.url("/sign-in")).send().await.unwrap();
    let headers = response.headers();
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert_eq!(headers["x-frame-options"], "DENY");
    assert_eq!(headers["cache-control"], "no-store");
    assert!(headers["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
}

/// The header's count of invitations, as a page render reads it (with the user in
/// one query) and as the session server function reads it: only unexpired ones.
#[tokio::test]
async fn the_header_counts_the_invitations_that_still_wait() {
    let app = spawn_app().await;
    let acme = app.register("ana@acme.test", "Acme").await;
    let globex = app.register("gil@globex.test", "Globex").await;
    let bob = app.register("bob@mail.test", "Bob's").await;
    app.invite(&acme, "bob@mail.test", "member").await;
    app.invite(&globex, "bob@mail.test", "admin").await;
    let db = storno_licensing::db::Db::connect(&app.database_url, None)
        .await
        .unwrap();
    sqlx::query(
        "UPDATE invitations SET expires_at = 1 WHERE organization_id = \
         (SELECT organization_id FROM memberships m JOIN users u ON u.id = m.user_id \
          WHERE u.email = 'gil@globex.test')",
    )
    .execute(&db.pool)
    .await
    .unwrap();

    let cookie = app.session_cookie(&bob).await;
    let html = app.page_html(&cookie, "/keys").await;
    // The badge's text, without the markers hydration leaves in it.
    let counted = html
        .split_once(r#"title="Invitations waiting for you""#)
        .and_then(|(_, rest)| rest.split_once('>'))
        .and_then(|(_, rest)| rest.split_once("</span>"))
        .map(|(text, _)| text.replace("<!---->", "").replace("<!>", ""));
    assert_eq!(counted.as_deref(), Some("1"), "{html}");
    assert_eq!(session_of(&app, &cookie).await["pending_invitations"], 1);
}

#[tokio::test]
async fn the_header_marks_the_link_of_the_page_shown() {
    let app = spawn_app().await;
    let ana = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&ana).await;
    let current = |html: &str| {
        html.split("<a href=\"")
            .skip(1)
            .filter(|link| {
                link.split_once('>')
                    .is_some_and(|(tag, _)| tag.contains(r#"aria-current="page""#))
            })
            .map(|link| link.split_once('"').unwrap().0.to_string())
            .collect::<Vec<_>>()
    };
    for (path, link) in [
        ("/keys", "/keys"),
        ("/organization", "/organization"),
        ("/settings/billing", "/settings/billing"),
    ] {
        let html = app.page_html(&cookie, path).await;
        assert_eq!(current(&html), [link], "{path}: {html}");
    }
    let key = app
        .created_key(&ana.token, json!({"instanceName": "Prod"}))
        .await;
    let key_page = format!("/keys/{}", key["id"].as_str().unwrap());
    assert_eq!(current(&app.page_html(&cookie, &key_page).await), ["/keys"]);
    let sign_up = app.browser.get(app.url("/sign-up")).send().await.unwrap();
    assert_eq!(current(&sign_up.text().await.unwrap()), ["/sign-up"]);
}

#[tokio::test]
async fn the_organization_page_invites_and_the_invitee_accepts_on_the_account_page() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let bob = app.register("bob@acme.test", "Bob's").await;
    let owner_cookie = app.session_cookie(&owner).await;

    let invited = app
        .rpc(
            &owner_cookie,
            "invite_member",
            &[("email", "bob@acme.test"), ("role", "admin")],
        )
        .await;
    assert_eq!(invited.status(), StatusCode::OK);
    let invited: Value = invited.json().await.unwrap();
    assert_eq!(invited["role"], "admin");
    let as_owner = app
        .rpc(
            &owner_cookie,
            "invite_member",
            &[("email", "cy@acme.test"), ("role", "owner")],
        )
        .await;
    assert_eq!(as_owner.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let organization = app.page_html(&owner_cookie, "/organization").await;
    assert!(organization.contains("Send invitation"), "{organization}");
    assert!(organization.contains(r#"data-invitation="bob@acme.test""#));

    // Bob sees the invitation (the header counts it), accepts it, and acts in Acme.
    let bob_cookie = app.session_cookie(&bob).await;
    let account = app.page_html(&bob_cookie, "/account").await;
    assert!(
        account.contains("Acme") && account.contains("invites you as admin"),
        "{account}"
    );
    assert!(account.contains("Invitations waiting for you"));
    let accepted = app
        .rpc(
            &bob_cookie,
            "accept_invitation",
            &[("id", invited["id"].as_str().unwrap())],
        )
        .await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let members: Value = app
        .rpc(&bob_cookie, "list_members", &[])
        .await
        .json()
        .await
        .unwrap();
    let listed: Vec<(&str, &str)> = members
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        listed,
        [("ana@acme.test", "owner"), ("bob@acme.test", "admin")]
    );

    // Bob, an admin of Acme, cannot invite; his page says why and offers to leave.
    let refused = app
        .rpc(
            &bob_cookie,
            "invite_member",
            &[("email", "cy@acme.test"), ("role", "member")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let page = app.page_html(&bob_cookie, "/organization").await;
    assert!(page.contains("Only the owner can invite"), "{page}");
    assert!(page.contains("Leave organization"));
    assert!(!page.contains("Send invitation"));
    // Bob's own activity is on his Account page, not in Acme's log.
    let log: Value = app
        .rpc(&owner_cookie, "list_activity", &[])
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(actions(&log), ["member.joined", "invitation.created"]);
}

#[tokio::test]
async fn someone_in_no_organization_is_told_how_to_get_one() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let bob = app.member_of(&owner, "bob@acme.test", "admin").await;
    // Bob hands his own organization to Ana and leaves both.
    let bobs_org = &bob.organization_id;
    let ana_in_bobs = app.invite(&bob, "ana@acme.test", "admin").await;
    let ana_in_bobs: Value = ana_in_bobs.json().await.unwrap();
    app.api
        .post(app.url(&format!(
            "/api/v1/invitations/{}/accept",
            ana_in_bobs["id"].as_str().unwrap()
        )))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    let members: Value = app
        .get_json(
            &format!("/api/v1/organizations/{bobs_org}/members"),
            &bob.token,
            None,
        )
        .await;
    let (ana_id, bob_id) = (
        user_id_in(&members, "ana@acme.test"),
        user_id_in(&members, "bob@acme.test"),
    );
    let transfer = app
        .api
        .patch(app.url(&format!(
            "/api/v1/organizations/{bobs_org}/members/{ana_id}"
        )))
        .bearer_auth(&bob.token)
        .json(&serde_json::json!({"role": "owner"}))
        .send()
        .await
        .unwrap();
    assert_eq!(transfer.status(), StatusCode::OK);
    for organization in [bobs_org.as_str(), owner.organization_id.as_str()] {
        let left = app
            .api
            .delete(app.url(&format!(
                "/api/v1/organizations/{organization}/members/{bob_id}"
            )))
            .bearer_auth(&bob.token)
            .send()
            .await
            .unwrap();
        assert_eq!(left.status(), StatusCode::NO_CONTENT);
    }
    let cookie = app.session_cookie(&bob).await;
    for path in ["/keys", "/organization", "/activity"] {
        let response = app.page(&cookie, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
        let page = response.text().await.unwrap();
        assert!(
            page.contains("You are not a member of any organization"),
            "{path}: {page}"
        );
    }
    let created = app
        .rpc(&cookie, "create_organization", &[("name", "Bob Again")])
        .await;
    assert_eq!(created.status(), StatusCode::OK);
    let keys = app.page_html(&cookie, "/keys").await;
    assert!(keys.contains("Create license key"));
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
async fn the_billing_page_compares_plans_and_says_how_to_upgrade_to_the_owner_only() {
    let app = spawn_app_with(|settings| {
        settings.licensing.upgrade_text = Some("Write to sales@storno.test for Business.".into());
        settings.licensing.upgrade_url = Some("https://storno.test/upgrade".into());
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let cookie = app.session_cookie(&owner).await;
    // Hydration markers (`<!>`) aside, the page as a person reads it.
    let html = app
        .page_html(&cookie, "/settings/billing")
        .await
        .replace("<!>", "");
    assert!(html.contains("Your plan: community"), "{html}");
    assert!(html.contains("without self-hosting"));
    assert!(html.contains("Write to sales@storno.test for Business."));
    assert!(html.contains("href=\"https://storno.test/upgrade\""));
    for plan in [
        "community",
        "freemium",
        "starter",
        "professional",
        "business",
        "free",
    ] {
        assert!(
            html.contains(&format!(">{plan}</th>"))
                || html.contains(&format!(">{plan} (yours)</th>")),
            "{plan} column"
        );
    }
    assert!(html.contains("self hosting license"));
    assert!(html.contains("unlimited"), "0 reads as unlimited");

    // The plan is the operator's to change; the page follows.
    app.set_plan(&owner.organization_id, "business");
    let html = app
        .page_html(&cookie, "/settings/billing")
        .await
        .replace("<!>", "");
    assert!(html.contains("Your plan: business"));
    assert!(html.contains("includes self-hosting"));

    // A member is told why, not shown the owner's page; the server function refuses.
    let member_cookie = app.member_session(&owner, "bob@acme.test", "admin").await;
    let html = app.page_html(&member_cookie, "/settings/billing").await;
    assert!(html.contains("Only the owner can see billing"));
    assert!(!html.contains("Plans side by side"));
    let refused = app.rpc(&member_cookie, "billing_overview", &[]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn the_keys_page_issues_offline_licenses_and_lists_them_beside_their_key() {
    let app = spawn_app_with(|settings| {
        settings.licensing.jwt_private_key_file = Some(
            concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/fixtures/offline-license-test-key.pem"
            )
            .into(),
        );
    })
    .await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let cookie = app.session_cookie(&owner).await;
    let key = app
        .created_key(&owner.token, json!({"instanceName": "Air-gapped"}))
        .await;
    let key_id = key["id"].as_str().unwrap();
    let html = app.page_html(&cookie, "/keys").await;
    assert!(html.contains("Download offline license"));
    assert!(!html.contains("data-testid=\"offline-licenses\""));

    let issued = app
        .rpc(
            &cookie,
            "issue_offline_license",
            &[("id", key_id), ("days", "7")],
        )
        .await;
    assert_eq!(issued.status(), StatusCode::OK);
    assert_eq!(issued.headers()["cache-control"], "no-store");
    let issued: Value = issued.json().await.unwrap();
    assert!(issued["jwt"].as_str().unwrap().starts_with("eyJ"));

    let html = app.page_html(&cookie, "/keys").await.replace("<!>", "");
    assert!(html.contains("data-testid=\"offline-licenses\""));
    assert!(html.contains("Offline license (business) until"), "{html}");
    assert!(html.contains("issued by ana@acme.test"), "{html}");
    assert!(
        !html.contains(issued["jwt"].as_str().unwrap()),
        "the token is shown once, never listed"
    );

    let refused = app
        .rpc(
            &cookie,
            "issue_offline_license",
            &[("id", key_id), ("days", "400")],
        )
        .await;
    assert_eq!(refused.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let revoked = app
        .rpc(&cookie, "revoke_license_key", &[("id", key_id)])
        .await;
    assert_eq!(revoked.status(), StatusCode::OK);
    let still_working: Value = revoked.json().await.unwrap();
    assert_eq!(still_working.as_array().unwrap().len(), 1);
    assert_eq!(still_working[0]["expiresAt"], issued["expiresAt"]);
}

#[tokio::test]
async fn without_javascript_a_failed_form_returns_to_its_page_with_the_input_but_not_the_password()
{
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let sessions_before = session_rows(&app.database_url).await;
    // As a browser posts a form by itself: Accept text/html, its page as Referer.
    let response = app
        .browser
        .post(app.url("/rpc/sign_in"))
        .header("Origin", &app.address)
        .header("Referer", app.url("/sign-in"))
        .form(&[
            ("email", owner.email.as_str()),
            ("password", "a wrong password typed"),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_redirection(), "{}", response.status());
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.contains("/sign-in?") && location.contains("__err="),
        "{location}"
    );
    assert!(
        !location.contains("wrong"),
        "the password is not in the URL"
    );
    assert_eq!(
        session_rows(&app.database_url).await,
        sessions_before,
        "an anonymous failure stores nothing on the server"
    );

    let page = text_of(app.browser.get(&location)).await;
    assert!(
        page.contains("Wrong email or password"),
        "the message is on the form"
    );
    assert!(
        page.contains(&format!("value=\"{}\"", owner.email)),
        "the email is kept"
    );
    assert!(
        !page.contains("a wrong password typed"),
        "the password is not"
    );
    // Kept for that one view only.
    let later = text_of(app.browser.get(app.url("/sign-in"))).await;
    assert!(!later.contains(&format!("value=\"{}\"", owner.email)));

    // With JavaScript (a fetch asking for JSON) the error keeps its status.
    let fetched = app
        .server_fn(
            "sign_in",
            &[
                ("email", &owner.email),
                ("password", "a wrong password typed"),
            ],
        )
        .await;
    assert_eq!(fetched.status(), StatusCode::UNAUTHORIZED);
}

/// A page loads, at its top, what any of its views might show; a member's view of
/// an owner's page is a page, not the refusal of the owner's list behind it.
#[tokio::test]
async fn a_members_view_of_an_owners_page_is_a_page_while_the_server_function_refuses() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let member = app.member_session(&owner, "bob@acme.test", "member").await;
    for path in ["/keys", "/organization", "/activity", "/settings/billing"] {
        let response = app.page(&member, path).await;
        assert_eq!(response.status(), StatusCode::OK, "{path}");
    }
    for server_fn in ["list_license_keys", "list_invitations", "list_activity"] {
        let refused = app.rpc(&member, server_fn, &[]).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{server_fn}");
    }
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

#[tokio::test]
async fn a_keys_page_is_server_rendered_for_its_owner_and_no_one_else() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "starter");
    // Starter does not self-host: the validation is refused but still recorded.
    let (id, key) = app.new_key(&owner.token, "Prod").await;
    let cookie = app.session_cookie(&owner).await;
    let html = app
        .page_html(&cookie, &format!("/keys/{id}"))
        .await
        .replace("<!>", "");
    assert!(html.contains("No validations yet"), "{html}");
    assert!(
        !html.contains("<svg"),
        "no empty chart before any validation"
    );

    app.validate(json!({"licenseKey": key, "metrics": {"userCount": 5}}))
        .await;
    let html = app
        .page_html(&cookie, &format!("/keys/{id}"))
        .await
        .replace("<!>", "");
    // One chart per metric and one of validations, in the HTML itself.
    assert_eq!(html.matches("<figure data-metric=").count(), 5, "{html}");
    assert_eq!(html.matches("<svg").count(), 5);
    assert!(
        html.contains("the red line is your plan&#x27;s limit (3)")
            || html.contains("the red line is your plan's limit (3)"),
        "starter allows 3 users: {html}"
    );
    assert!(html.contains("stroke=\"#B91C1C\""), "the limit line");
    assert!(
        html.contains("Activated (first validation)"),
        "the timeline"
    );
    assert!(html.contains("data:text/csv"), "the CSV download");

    // Another organization's owner sees no such key; a member is told why.
    let other = app.register("eve@evil.test", "Evil").await;
    let other_cookie = app.session_cookie(&other).await;
    let html = app.page_html(&other_cookie, &format!("/keys/{id}")).await;
    assert!(html.contains("License key not found"), "{html}");
    assert!(!html.contains("<svg"));
    let refused = app
        .rpc(&other_cookie, "key_overview", &[("id", id.as_str())])
        .await;
    assert_eq!(refused.status(), StatusCode::NOT_FOUND);
    let member_cookie = app.member_session(&owner, "bob@acme.test", "admin").await;
    let html = app.page_html(&member_cookie, &format!("/keys/{id}")).await;
    assert!(
        html.contains("Only the owner can see a key&#x27;s usage")
            || html.contains("Only the owner can see a key's usage"),
        "{html}"
    );
    let refused = app
        .rpc(&member_cookie, "key_overview", &[("id", id.as_str())])
        .await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

/// Two owners' pages and server-function calls at once: each sees only its own keys.
/// (A server function called over HTTP while another user's page rendered used to run
/// as a child of that render's reactive owner, found that render's cache of who is
/// signed in, and answered with the other tenant's keys: 95 of 100 calls without
/// `isolate_reactive_owner`.)
#[tokio::test]
async fn two_owners_loading_keys_at_once_each_see_only_their_own() {
    let app = spawn_app().await;
    let ana = app.register("ana@acme.test", "Acme").await;
    let bob = app.register("bob@plain.test", "Plain").await;
    app.new_key(&ana.token, "AnaKey").await;
    app.new_key(&bob.token, "BobKey").await;
    let ana_cookie = app.session_cookie(&ana).await;
    let bob_cookie = app.session_cookie(&bob).await;
    let renders = (0..400).map(|n| {
        let (cookie, own, other) = if n % 2 == 0 {
            (ana_cookie.clone(), "AnaKey", "BobKey")
        } else {
            (bob_cookie.clone(), "BobKey", "AnaKey")
        };
        let app = &app;
        async move {
            let html = if n % 4 == 0 {
                app.rpc(&cookie, "list_license_keys", &[])
                    .await
                    .text()
                    .await
                    .unwrap()
            } else {
                app.page_html(&cookie, "/keys").await
            };
            (html.contains(own), html.contains(other))
        }
    });
    let seen: Vec<(bool, bool)> = futures::stream::iter(renders)
        .buffer_unordered(16)
        .collect()
        .await;
    let leaks = seen.iter().filter(|(_, other)| *other).count();
    let missing = seen.iter().filter(|(own, _)| !*own).count();
    assert_eq!(
        (leaks, missing),
        (0, 0),
        "answers with the other tenant's key, answers without their own"
    );
}
