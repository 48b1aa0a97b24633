//! The contract's "Email" section: verified addresses, invitations only for a
//! verified owner of the address, password reset, email change, all through
//! emails the outbox writes (`.eml` files in the test app's mail folder).

use crate::helpers::{assert_error, spawn_app, user_id_in};
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn an_account_is_unverified_until_the_emailed_link_is_opened_and_the_link_works_once() {
    let app = spawn_app().await;
    let ana = app.register_unverified("ana@example.com", "Acme").await;
    let account = app.get_json("/api/v1/account", &ana.token, None).await;
    assert_eq!(account["email"], "ana@example.com");
    assert_eq!(account["emailVerified"], false);
    let token = app
        .emailed_token(
            "ana@example.com",
            "Verify your email address",
            "/verify-email",
        )
        .await;
    assert_eq!(token.len(), 64);
    let verify = |token: String| {
        app.api
            .post(app.url("/api/v1/auth/verify-email"))
            .json(&json!({ "token": token }))
            .send()
    };
    let first = verify(token.clone()).await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    assert_eq!(
        first.json::<Value>().await.unwrap(),
        json!({"emailVerified": true})
    );
    let account = app.get_json("/api/v1/account", &ana.token, None).await;
    assert_eq!(account["emailVerified"], true);
    assert_error(
        verify(token).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
    assert_error(
        verify("00".repeat(32)).await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
}

#[tokio::test]
async fn someone_who_registered_another_persons_address_cannot_see_or_take_its_invitation() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.example", "Acme").await;
    // The attacker registers bob's address first; the link goes to bob's inbox.
    let attacker = app.register_unverified("bob@corp.example", "Mine").await;
    let invited: Value = app
        .invite(&owner, "bob@corp.example", "admin")
        .await
        .json()
        .await
        .unwrap();
    let invitation = invited["id"].as_str().unwrap();
    let email = app
        .email_to(
            "bob@corp.example",
            "owner@acme.example invites you to Acme on Storno Licensing",
        )
        .await;
    assert!(
        email.contains("as admin") && email.contains("/account"),
        "{email}"
    );
    let listed = app
        .api
        .get(app.url("/api/v1/invitations"))
        .bearer_auth(&attacker.token)
        .send()
        .await
        .unwrap();
    assert_error(listed, StatusCode::FORBIDDEN, "email_not_verified").await;
    for answer in ["accept", "decline"] {
        let response = app
            .api
            .post(app.url(&format!("/api/v1/invitations/{invitation}/{answer}")))
            .bearer_auth(&attacker.token)
            .send()
            .await
            .unwrap();
        assert_error(response, StatusCode::FORBIDDEN, "email_not_verified").await;
    }
    let members = app
        .get_json(
            &format!("/api/v1/organizations/{}/members", owner.organization_id),
            &owner.token,
            None,
        )
        .await;
    assert_eq!(members["members"].as_array().unwrap().len(), 1, "{members}");
}

#[tokio::test]
async fn accepting_shows_the_organization_no_address_or_browser_of_the_invitee() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.example", "Acme").await;
    let member = app.member_of(&owner, "bob@corp.example", "member").await;
    let members = app
        .get_json(
            &format!("/api/v1/organizations/{}/members", owner.organization_id),
            &owner.token,
            None,
        )
        .await;
    assert!(!user_id_in(&members, &member.email).is_empty());
    let audit = app.get_json("/api/v1/audit", &owner.token, None).await;
    let joined = audit["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|event| event["action"] == "member.joined")
        .cloned()
        .unwrap_or_else(|| panic!("member.joined in {audit}"));
    assert!(
        joined["ip"].is_null() && joined["userAgent"].is_null(),
        "{joined}"
    );
}

#[tokio::test]
async fn a_password_reset_answers_alike_for_every_address_and_its_link_ends_every_session() {
    let app = spawn_app().await;
    let ana = app.register_unverified("ana@example.com", "Acme").await;
    let cookie = app.session_cookie(&ana).await;
    let reset = |email: &str| {
        app.api
            .post(app.url("/api/v1/auth/password-reset"))
            .json(&json!({ "email": email }))
            .send()
    };
    let known = reset("ana@example.com").await.unwrap();
    let unknown = reset("nobody@example.com").await.unwrap();
    assert_eq!(known.status(), StatusCode::ACCEPTED);
    assert_eq!(unknown.status(), StatusCode::ACCEPTED);
    assert_eq!(known.text().await.unwrap(), unknown.text().await.unwrap());
    let token = app
        .emailed_token("ana@example.com", "Reset your password", "/reset-password")
        .await;
    let confirm = |token: &str, password: &str| {
        app.api
            .post(app.url("/api/v1/auth/password-reset/confirm"))
            .json(&json!({ "token": token, "password": password }))
            .send()
    };
    assert_error(
        confirm(&token, "short").await.unwrap(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let done = confirm(&token, "a brand new long password").await.unwrap();
    assert_eq!(done.status(), StatusCode::OK);
    assert_error(
        confirm(&token, "another long password").await.unwrap(),
        StatusCode::BAD_REQUEST,
        "invalid_token",
    )
    .await;
    // The old token and the old browser session are over; the new password works.
    let old = app
        .api
        .get(app.url("/api/v1/account"))
        .bearer_auth(&ana.token)
        .send()
        .await
        .unwrap();
    assert_eq!(old.status(), StatusCode::UNAUTHORIZED);
    let page = app.page_html(&cookie, "/account").await;
    assert!(
        !page.contains("ana@example.com"),
        "the session ended: {page}"
    );
    let fresh = app
        .new_token("ana@example.com", "a brand new long password")
        .await;
    let account = app.get_json("/api/v1/account", &fresh, None).await;
    assert_eq!(
        account["emailVerified"], true,
        "the link proved the address"
    );
    let notice = app
        .email_to("ana@example.com", "Your password was changed")
        .await;
    assert!(!notice.contains("a brand new long password"));
    let no_mail_to_nobody = std::fs::read_dir(app.mail_dir())
        .unwrap()
        .flatten()
        .all(|entry| {
            !std::fs::read_to_string(entry.path())
                .unwrap()
                .contains("nobody@example.com")
        });
    assert!(no_mail_to_nobody);
}

#[tokio::test]
async fn an_email_change_happens_when_the_new_address_is_verified_and_the_old_one_is_told() {
    let app = spawn_app().await;
    let ana = app.register("ana@example.com", "Acme").await;
    app.register("taken@example.com", "Other").await;
    let change = |email: &str, password: &str| {
        app.api
            .post(app.url("/api/v1/account/email"))
            .bearer_auth(&ana.token)
            .json(&json!({ "email": email, "password": password }))
            .send()
    };
    assert_error(
        change("new@example.com", "wrong password!").await.unwrap(),
        StatusCode::FORBIDDEN,
        "wrong_password",
    )
    .await;
    assert_eq!(
        change("new@example.com", &ana.password)
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    let notice = app
        .email_to("ana@example.com", "Your email address is being changed")
        .await;
    assert!(notice.contains("new@example.com"));
    assert_eq!(
        app.get_json("/api/v1/account", &ana.token, None).await["email"],
        "ana@example.com"
    );
    app.verify_email("new@example.com").await;
    let account = app.get_json("/api/v1/account", &ana.token, None).await;
    assert_eq!(
        (
            account["email"].as_str(),
            account["emailVerified"].as_bool()
        ),
        (Some("new@example.com"), Some(true))
    );
    // An address another account holds: 202 all the same; its link then fails.
    assert_eq!(
        change("taken@example.com", &ana.password)
            .await
            .unwrap()
            .status(),
        StatusCode::ACCEPTED
    );
    let token = app
        .nth_emailed_token(
            "taken@example.com",
            "Verify your email address",
            "/verify-email",
            2,
        )
        .await;
    let taken = app.open_verification_link(&token).await;
    assert_error(taken, StatusCode::CONFLICT, "email_taken").await;
}

#[tokio::test]
async fn concurrent_invitations_of_one_email_all_succeed() {
    let app = spawn_app().await;
    let owner = app.register("owner@acme.example", "Acme").await;
    let invites = (0..8).map(|_| app.invite(&owner, "bob@corp.example", "member"));
    for response in futures::future::join_all(invites).await {
        assert_eq!(response.status(), StatusCode::CREATED);
    }
    let pending = app
        .get_json(
            &format!(
                "/api/v1/organizations/{}/invitations",
                owner.organization_id
            ),
            &owner.token,
            None,
        )
        .await;
    assert_eq!(
        pending["invitations"].as_array().unwrap().len(),
        1,
        "{pending}"
    );
}
