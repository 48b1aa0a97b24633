//! Whole flows through the pages: inviting and joining, someone in no
//! organization, billing, offline licenses, forms without JavaScript.

use crate::helpers::*;
use crate::sessions::session_rows;
use reqwest::StatusCode;
use serde_json::{json, Value};

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
