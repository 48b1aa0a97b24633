//! The email section's pages, as a browser without JavaScript uses them: the links'
//! pages change nothing when opened, their forms do; each success lands on a page
//! that says so, each failure returns to its form with the message.

use crate::helpers::spawn_app;
use crate::helpers::{text_of, TestApp};
use reqwest::{Response, StatusCode};

/// Posts a form as a browser does by itself (no JavaScript): from `page`, with
/// `cookie` when signed in. Returns the path the server sends the browser to next.
async fn post_form(
    app: &TestApp,
    cookie: Option<&str>,
    server_fn: &str,
    page: &str,
    form: &[(&str, &str)],
) -> String {
    let mut request = app
        .api
        .post(app.url(&format!("/rpc/{server_fn}")))
        .header("Origin", &app.address)
        .header("Referer", app.url(page))
        .header("Accept", "text/html")
        .form(form);
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response: Response = request.send().await.unwrap();
    assert!(
        response.status().is_redirection(),
        "{server_fn}: {}",
        response.status()
    );
    let location = response.headers()["location"].to_str().unwrap();
    location
        .strip_prefix(&app.address)
        .unwrap_or(location)
        .to_string()
}

async fn email_verified(app: &TestApp, token: &str) -> bool {
    app.get_json("/api/v1/account", token, None).await["emailVerified"] == true
}

#[tokio::test]
async fn opening_the_verification_link_changes_nothing_until_its_form_is_posted_once() {
    let app = spawn_app().await;
    let ana = app.register_unverified("ana@example.com", "Acme").await;
    let token = app
        .emailed_token(
            "ana@example.com",
            "Verify your email address",
            "/verify-email",
        )
        .await;
    let page = text_of(
        app.api
            .get(app.url(&format!("/verify-email?token={token}"))),
    )
    .await;
    assert!(page.contains("Confirm your email address"), "{page}");
    assert!(page.contains(&format!("value=\"{token}\"")));
    assert!(
        !email_verified(&app, &ana.token).await,
        "a mail scanner fetching the link verifies nothing"
    );

    let page_url = format!("/verify-email?token={token}");
    let next = post_form(&app, None, "verify_email", &page_url, &[("token", &token)]).await;
    assert_eq!(next, "/verify-email?verified=1");
    assert!(email_verified(&app, &ana.token).await);
    let done = text_of(app.api.get(app.url(&next))).await;
    assert!(done.contains("Your email address is verified"), "{done}");

    let again = post_form(&app, None, "verify_email", &page_url, &[("token", &token)]).await;
    assert!(again.contains("__err="), "{again}");
    let refused = text_of(app.api.get(app.url(&again))).await;
    assert!(
        refused.contains("This link is invalid, already used or expired"),
        "{refused}"
    );
}

#[tokio::test]
async fn a_forgotten_password_is_reset_from_the_emailed_link_with_the_pages_alone() {
    let app = spawn_app().await;
    let ana = app.register("ana@example.com", "Acme").await;
    let cookie = app.session_cookie(&ana).await;
    let sent = post_form(
        &app,
        None,
        "forgot_password",
        "/forgot-password",
        &[("email", "ana@example.com")],
    )
    .await;
    let unknown = post_form(
        &app,
        None,
        "forgot_password",
        "/forgot-password",
        &[("email", "nobody@example.com")],
    )
    .await;
    assert_eq!(sent, "/forgot-password?sent=1");
    assert_eq!(unknown, sent, "an unknown address gets the same answer");
    let page = text_of(app.api.get(app.url(&sent))).await;
    assert!(page.contains("If an account has that address"), "{page}");

    let token = app
        .emailed_token("ana@example.com", "Reset your password", "/reset-password")
        .await;
    let page_url = format!("/reset-password?token={token}");
    let form = text_of(app.api.get(app.url(&page_url))).await;
    assert!(form.contains("Choose a new password"), "{form}");
    let weak = post_form(
        &app,
        None,
        "reset_password",
        &page_url,
        &[("token", &token), ("password", "short")],
    )
    .await;
    assert!(
        weak.contains("__err=") && weak.contains("/reset-password?token="),
        "{weak}"
    );
    let next = post_form(
        &app,
        None,
        "reset_password",
        &page_url,
        &[("token", &token), ("password", "a brand new long password")],
    )
    .await;
    assert_eq!(next, "/sign-in?reset=1");
    let sign_in = text_of(app.api.get(app.url(&next))).await;
    assert!(sign_in.contains("Your password is changed"), "{sign_in}");
    assert!(sign_in.contains("href=\"/forgot-password\""));

    let old_session = app.page_html(&cookie, "/account").await;
    assert!(!old_session.contains("Signed in as"), "every session ended");
    app.new_token("ana@example.com", "a brand new long password")
        .await;
}

#[tokio::test]
async fn the_account_page_shows_the_address_status_and_changes_the_password_keeping_this_session() {
    let app = spawn_app().await;
    let ana = app.register_unverified("ana@example.com", "Acme").await;
    let here = app.session_cookie(&ana).await;
    let elsewhere = app.session_cookie(&ana).await;
    let page = app.page_html(&here, "/account").await;
    assert!(page.contains("Not verified"), "{page}");
    assert!(
        page.contains("Verify your email address to see the invitations sent to it"),
        "the invitations section says why it is empty"
    );

    let resent = post_form(&app, Some(&here), "resend_verification", "/account", &[]).await;
    assert_eq!(resent, "/account?notice=verification-sent");
    app.nth_email_to("ana@example.com", "Verify your email address", 2)
        .await;
    app.verify_email("ana@example.com").await;
    let page = app.page_html(&here, &resent).await;
    assert!(page.contains("A new verification link is on its way"));
    assert!(page.contains(">Verified<"), "{page}");

    let wrong = post_form(
        &app,
        Some(&here),
        "change_password",
        "/account",
        &[
            ("current_password", "not my password"),
            ("new_password", "a brand new long password"),
        ],
    )
    .await;
    assert!(wrong.contains("__err="), "{wrong}");
    let changed = post_form(
        &app,
        Some(&here),
        "change_password",
        "/account",
        &[
            ("current_password", &ana.password),
            ("new_password", "a brand new long password"),
        ],
    )
    .await;
    assert_eq!(changed, "/account?notice=password-changed");
    let page = app.page_html(&here, &changed).await;
    assert!(
        page.contains("Your password is changed"),
        "this session stays: {page}"
    );
    let other = app.page_html(&elsewhere, "/account").await;
    assert!(!other.contains("Signed in as"), "the other session ended");
    app.email_to("ana@example.com", "Your password was changed")
        .await;
}

#[tokio::test]
async fn changing_the_email_from_the_account_page_tells_the_old_address_and_waits_for_the_new() {
    let app = spawn_app().await;
    let ana = app.register("ana@example.com", "Acme").await;
    let cookie = app.session_cookie(&ana).await;
    let wrong = post_form(
        &app,
        Some(&cookie),
        "change_email",
        "/account",
        &[
            ("email", "ana@new.example"),
            ("password", "not my password"),
        ],
    )
    .await;
    assert!(wrong.contains("__err="), "{wrong}");
    let returned = app.page_html(&cookie, &wrong).await;
    assert!(
        returned.contains("The current password is wrong"),
        "the form says why: {returned}"
    );
    let sent = post_form(
        &app,
        Some(&cookie),
        "change_email",
        "/account",
        &[("email", "ana@new.example"), ("password", &ana.password)],
    )
    .await;
    assert_eq!(sent, "/account?notice=email-change-sent");
    app.email_to("ana@example.com", "Your email address is being changed")
        .await;
    let account = app.get_json("/api/v1/account", &ana.token, None).await;
    assert_eq!(
        account["email"], "ana@example.com",
        "not changed before the link is opened"
    );
    app.verify_email("ana@new.example").await;
    let account = app.get_json("/api/v1/account", &ana.token, None).await;
    assert_eq!(account["email"], "ana@new.example");
}

#[tokio::test]
async fn signing_out_everywhere_ends_every_session_and_token() {
    let app = spawn_app().await;
    let ana = app.register("ana@example.com", "Acme").await;
    let (here, elsewhere) = (
        app.session_cookie(&ana).await,
        app.session_cookie(&ana).await,
    );
    let next = post_form(&app, Some(&here), "sign_out_everywhere", "/account", &[]).await;
    assert_eq!(next, "/sign-in");
    for cookie in [&here, &elsewhere] {
        let page = app.page_html(cookie, "/account").await;
        assert!(!page.contains("Signed in as"), "{page}");
    }
    let account = app
        .api
        .get(app.url("/api/v1/account"))
        .bearer_auth(&ana.token)
        .send()
        .await
        .unwrap();
    assert_eq!(account.status(), StatusCode::UNAUTHORIZED);
}
