//! Memberships by consent, from the attacker's side: nobody is put into an
//! organization they did not accept, an invitation reveals no account, an
//! organization's activity log holds only what happened in it.

use crate::helpers::*;
use reqwest::{Response, StatusCode};
use serde_json::{json, Value};

pub(crate) async fn call(app: &TestApp, method: &str, path: &str, token: &str) -> Response {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    app.api
        .request(method, app.url(path))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
}

async fn pending_for(app: &TestApp, token: &str) -> Vec<Value> {
    let body = app.get_json("/api/v1/invitations", token, None).await;
    body["invitations"].as_array().unwrap().clone()
}

#[tokio::test]
async fn the_old_direct_add_is_gone_and_an_invitation_reveals_no_account() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.register("victim@mail.test", "Victim's").await;

    let direct = app
        .api
        .post(app.url(&format!(
            "/api/v1/organizations/{}/members",
            owner.organization_id
        )))
        .bearer_auth(&owner.token)
        .json(&json!({"email": "victim@mail.test", "role": "member"}))
        .send()
        .await
        .unwrap();
    assert_eq!(direct.status(), StatusCode::METHOD_NOT_ALLOWED);

    // Registered or not, the same answer: the owner learns nothing about accounts.
    let mut shapes = Vec::new();
    for email in ["victim@mail.test", "nobody@mail.test"] {
        let response = app.invite(&owner, email, "member").await;
        assert_eq!(response.status(), StatusCode::CREATED, "{email}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["email"], email);
        assert_eq!(body["role"], "member");
        assert!(is_contract_timestamp(body["expiresAt"].as_str().unwrap()));
        let mut keys: Vec<&str> = body
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort();
        shapes.push(keys.join(","));
    }
    assert_eq!(shapes[0], shapes[1]);

    // Invited is not a member: the victim's organizations are unchanged.
    let victim = app
        .new_token("victim@mail.test", "correct horse battery staple")
        .await;
    let organizations = app.get_json("/api/v1/organizations", &victim, None).await;
    assert_eq!(organizations["organizations"].as_array().unwrap().len(), 1);
    let members = app
        .get_json(
            &format!("/api/v1/organizations/{}/members", owner.organization_id),
            &owner.token,
            None,
        )
        .await;
    let emails: Vec<&str> = members["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["email"].as_str().unwrap())
        .collect();
    assert_eq!(emails, ["ana@acme.test"]);
}

#[tokio::test]
async fn the_organization_log_never_shows_a_members_sign_ins_or_tokens() {
    let app = spawn_app().await;
    let attacker = app.register("eve@evil.test", "Evil").await;
    let victim = app.register("victim@mail.test", "Victim's").await;
    // The victim signs in and makes tokens before and after being invited.
    app.sign_in_browser(&victim).await;
    app.new_token(&victim.email, &victim.password).await;
    app.invite(&attacker, &victim.email, "member").await;
    let audit = app.get_json("/api/v1/audit", &attacker.token, None).await;
    assert_eq!(actions(&audit), ["invitation.created"]);

    // Even once they accept, their sign-ins and tokens stay theirs.
    let invitation = pending_for(&app, &victim.token).await[0]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let accepted = call(
        &app,
        "POST",
        &format!("/api/v1/invitations/{invitation}/accept"),
        &victim.token,
    )
    .await;
    assert_eq!(accepted.status(), StatusCode::OK);
    app.new_token(&victim.email, &victim.password).await;
    let text = app
        .api
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&attacker.token)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let audit: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(actions(&audit), ["member.joined", "invitation.created"]);
    assert!(
        !text.contains("token.") && !text.contains("signed_in"),
        "{text}"
    );

    // The victim sees their own activity; nobody else's shows there.
    let own = app
        .get_json("/api/v1/account/activity", &victim.token, None)
        .await;
    assert_eq!(
        actions(&own),
        [
            "token.created",
            "token.created",
            "user.signed_in",
            "email.verified",
            "token.created"
        ]
    );
    let attackers_own = app
        .get_json("/api/v1/account/activity", &attacker.token, None)
        .await;
    assert!(attackers_own["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|event| event["actorEmail"] == "eve@evil.test"));
}

#[tokio::test]
async fn only_the_invited_email_sees_accepts_or_declines_an_invitation() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let bob = app.register("bob@acme.test", "Bob's").await;
    let eve = app.register("eve@evil.test", "Evil").await;
    let invited = app.invite(&owner, "BOB@acme.test", "admin").await;
    let invitation: Value = invited.json().await.unwrap();
    let id = invitation["id"].as_str().unwrap();

    assert!(pending_for(&app, &eve.token).await.is_empty());
    for action in ["accept", "decline"] {
        let refused = call(
            &app,
            "POST",
            &format!("/api/v1/invitations/{id}/{action}"),
            &eve.token,
        )
        .await;
        assert_error(refused, StatusCode::NOT_FOUND, "invitation_not_found").await;
    }
    let malformed = call(
        &app,
        "POST",
        "/api/v1/invitations/not-an-id/accept",
        &bob.token,
    )
    .await;
    assert_error(malformed, StatusCode::NOT_FOUND, "invitation_not_found").await;

    let mine = pending_for(&app, &bob.token).await;
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0]["organization"]["name"], "Acme");
    assert_eq!(
        mine[0]["organization"]["id"],
        owner.organization_id.as_str()
    );
    assert_eq!(mine[0]["role"], "admin");
    assert_eq!(mine[0]["invitedBy"], "ana@acme.test");

    let accepted = call(
        &app,
        "POST",
        &format!("/api/v1/invitations/{id}/accept"),
        &bob.token,
    )
    .await;
    assert_eq!(accepted.status(), StatusCode::OK);
    let membership: Value = accepted.json().await.unwrap();
    assert_eq!(membership["id"], owner.organization_id.as_str());
    assert_eq!(membership["role"], "admin");
    // An invitation is answered once.
    let again = call(
        &app,
        "POST",
        &format!("/api/v1/invitations/{id}/accept"),
        &bob.token,
    )
    .await;
    assert_error(again, StatusCode::NOT_FOUND, "invitation_not_found").await;
    assert_error(
        app.invite(&owner, "bob@acme.test", "member").await,
        StatusCode::CONFLICT,
        "already_member",
    )
    .await;

    // Declined: nothing joins, the invitation is gone.
    let cy = app.register("cy@acme.test", "Cy's").await;
    let invited: Value = app
        .invite(&owner, "cy@acme.test", "member")
        .await
        .json()
        .await
        .unwrap();
    let declined = call(
        &app,
        "POST",
        &format!(
            "/api/v1/invitations/{}/decline",
            invited["id"].as_str().unwrap()
        ),
        &cy.token,
    )
    .await;
    assert_eq!(declined.status(), StatusCode::NO_CONTENT);
    assert!(pending_for(&app, &cy.token).await.is_empty());
    let cys = app.get_json("/api/v1/organizations", &cy.token, None).await;
    assert_eq!(cys["organizations"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn only_the_owner_invites_lists_and_withdraws_and_invitations_expire() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let admin = app.member_of(&owner, "bob@acme.test", "admin").await;
    let stranger = app.register("eve@evil.test", "Evil").await;
    let invitations = format!(
        "/api/v1/organizations/{}/invitations",
        owner.organization_id
    );

    let as_admin = app
        .api
        .post(app.url(&invitations))
        .bearer_auth(&admin.token)
        .json(&json!({"email": "x@mail.test", "role": "member"}))
        .send()
        .await
        .unwrap();
    assert_error(as_admin, StatusCode::FORBIDDEN, "forbidden").await;
    assert_error(
        call(&app, "GET", &invitations, &admin.token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_error(
        call(&app, "GET", &invitations, &stranger.token).await,
        StatusCode::NOT_FOUND,
        "organization_not_found",
    )
    .await;
    let as_owner_role = app.invite(&owner, "x@mail.test", "owner").await;
    assert_error(
        as_owner_role,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;

    let first: Value = app
        .invite(&owner, "x@mail.test", "member")
        .await
        .json()
        .await
        .unwrap();
    // Inviting again renews: still one pending invitation, now as admin.
    let renewed: Value = app
        .invite(&owner, "x@mail.test", "admin")
        .await
        .json()
        .await
        .unwrap();
    let listed = app.get_json(&invitations, &owner.token, None).await;
    let listed = listed["invitations"].as_array().unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0]["id"], renewed["id"]);
    assert_eq!(listed[0]["role"], "admin");
    assert_ne!(first["id"], renewed["id"]);

    let withdraw = format!("{invitations}/{}", renewed["id"].as_str().unwrap());
    assert_error(
        call(&app, "DELETE", &withdraw, &admin.token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    assert_eq!(
        call(&app, "DELETE", &withdraw, &owner.token).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        call(&app, "DELETE", &withdraw, &owner.token).await,
        StatusCode::NOT_FOUND,
        "invitation_not_found",
    )
    .await;

    // An invitation past its seven days cannot be seen or accepted.
    let late = app.register("late@mail.test", "Late's").await;
    app.invite(&owner, "late@mail.test", "member").await;
    let db = storno_licensing::db::Db::connect(&app.database_url, None)
        .await
        .unwrap();
    sqlx::query("UPDATE invitations SET expires_at = 1 WHERE email = 'late@mail.test'")
        .execute(&db.pool)
        .await
        .unwrap();
    assert!(pending_for(&app, &late.token).await.is_empty());
    let (id,): (String,) =
        sqlx::query_as("SELECT id FROM invitations WHERE email = 'late@mail.test'")
            .fetch_one(&db.pool)
            .await
            .unwrap();
    let accepted = call(
        &app,
        "POST",
        &format!("/api/v1/invitations/{id}/accept"),
        &late.token,
    )
    .await;
    assert_error(accepted, StatusCode::NOT_FOUND, "invitation_not_found").await;
}
