//! How pages render: on the server for their owner only, each tenant its own,
//! while other apps start, with a header that marks and counts.

use crate::helpers::*;
use crate::pages::session_of;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

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
