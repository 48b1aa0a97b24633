//! The browser's door: pages and server functions, with the session cookie.

use crate::helpers::*;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// The session as the page's `session` server function reports it for `cookie`.
pub(crate) async fn session_of(app: &TestApp, cookie: &str) -> Value {
    app.rpc(cookie, "session", &[]).await.json().await.unwrap()
}

/// Bob, a plain member of Ana's Acme, signed in and switched to Acme (he owns an
/// organization of his own, his default): Ana, and Bob's session cookie.
pub(crate) async fn member_acting_in_acme(app: &TestApp) -> (Owner, String) {
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

// Sessions end in whole seconds (a row's `expires_at`, a sign-in's time), so a
// timeout of N seconds ends a session between N - 1 and N seconds after its last
// use. The timeouts below leave a loaded machine two seconds for a request, and
// each check that a session has ended waits from when it was last used.

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
