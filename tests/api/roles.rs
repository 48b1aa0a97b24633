//! Roles: members leave, owners remove and change roles, and an organization
//! always keeps its one owner, even under races.

use crate::helpers::*;
use crate::memberships::call;
use reqwest::StatusCode;
use serde_json::{json, Value};

#[tokio::test]
async fn members_leave_owners_remove_and_change_roles_and_the_owner_stays() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let bob = app.member_of(&owner, "bob@acme.test", "member").await;
    let cy = app.member_of(&owner, "cy@acme.test", "member").await;
    let members_path = format!("/api/v1/organizations/{}/members", owner.organization_id);
    let members = app.get_json(&members_path, &bob.token, None).await;
    let listed = members["members"].as_array().unwrap();
    assert_eq!(listed.len(), 3, "any member may list the members");
    assert!(listed
        .iter()
        .all(|m| is_contract_timestamp(m["joinedAt"].as_str().unwrap())));
    let (owner_id, bob_id, cy_id) = (
        user_id_in(&members, "ana@acme.test"),
        user_id_in(&members, "bob@acme.test"),
        user_id_in(&members, "cy@acme.test"),
    );

    // A member cannot remove someone else, or change roles.
    let remove_cy = format!("{members_path}/{cy_id}");
    assert_error(
        call(&app, "DELETE", &remove_cy, &bob.token).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;
    let promote = |token: &str, user: &str, role: &str| {
        app.api
            .patch(app.url(&format!("{members_path}/{user}")))
            .bearer_auth(token.to_string())
            .json(&json!({"role": role}))
            .send()
    };
    assert_error(
        promote(&bob.token, &bob_id, "admin").await.unwrap(),
        StatusCode::FORBIDDEN,
        "forbidden",
    )
    .await;

    // The owner cannot leave or be removed while they are the owner.
    let owner_leaves = call(
        &app,
        "DELETE",
        &format!("{members_path}/{owner_id}"),
        &owner.token,
    )
    .await;
    assert_error(owner_leaves, StatusCode::CONFLICT, "owner_cannot_leave").await;
    // Ownership goes only to an admin.
    let to_member = promote(&owner.token, &bob_id, "owner").await.unwrap();
    assert_error(
        to_member,
        StatusCode::UNPROCESSABLE_ENTITY,
        "validation_failed",
    )
    .await;
    let made_admin = promote(&owner.token, &bob_id, "admin").await.unwrap();
    assert_eq!(made_admin.status(), StatusCode::OK);
    assert_eq!(made_admin.json::<Value>().await.unwrap()["role"], "admin");
    let transferred = promote(&owner.token, &bob_id, "owner").await.unwrap();
    assert_eq!(transferred.status(), StatusCode::OK);
    let roles = app.get_json(&members_path, &owner.token, None).await;
    let roles: Vec<(&str, &str)> = roles["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["email"].as_str().unwrap(), m["role"].as_str().unwrap()))
        .collect();
    assert_eq!(
        roles,
        [
            ("bob@acme.test", "owner"),
            ("ana@acme.test", "admin"),
            ("cy@acme.test", "member")
        ]
    );

    // Now Ana, an admin, may leave; Bob, the owner, removes Cy.
    assert_eq!(
        call(
            &app,
            "DELETE",
            &format!("{members_path}/{owner_id}"),
            &owner.token
        )
        .await
        .status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        call(&app, "DELETE", &remove_cy, &bob.token).await.status(),
        StatusCode::NO_CONTENT
    );
    assert_error(
        call(&app, "GET", &members_path, &cy.token).await,
        StatusCode::NOT_FOUND,
        "organization_not_found",
    )
    .await;
    assert_error(
        call(&app, "DELETE", &remove_cy, &bob.token).await,
        StatusCode::NOT_FOUND,
        "member_not_found",
    )
    .await;
    let audit = app
        .get_json("/api/v1/audit", &bob.token, Some(&owner.organization_id))
        .await;
    assert_eq!(
        &actions(&audit)[..4],
        [
            "member.removed",
            "member.left",
            "ownership.transferred",
            "member.role_changed"
        ]
    );
}

/// The organization's owners, as its members list shows them.
async fn owners(app: &TestApp, members_path: &str, token: &str) -> Vec<String> {
    let members = app.get_json(members_path, token, None).await;
    members["members"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["role"] == "owner")
        .map(|m| m["email"].as_str().unwrap().to_string())
        .collect()
}

#[tokio::test]
async fn a_transfer_racing_a_leave_or_a_role_change_never_leaves_an_organization_without_its_one_owner(
) {
    let app = spawn_app_with(|settings| settings.rate_limits.sign_up_per_ip = 1000).await;
    for round in 0..8 {
        let owner = app.register(&format!("ana{round}@acme.test"), "Acme").await;
        let bob = app
            .member_of(&owner, &format!("bob{round}@acme.test"), "admin")
            .await;
        let members_path = format!("/api/v1/organizations/{}/members", owner.organization_id);
        let members = app.get_json(&members_path, &owner.token, None).await;
        let bob_id = user_id_in(&members, &bob.email);
        let bob_path = app.url(&format!("{members_path}/{bob_id}"));
        let set_role = |role: &'static str| {
            app.api
                .patch(&bob_path)
                .bearer_auth(&owner.token)
                .json(&json!({ "role": role }))
                .send()
        };
        let leave = app.api.delete(&bob_path).bearer_auth(&bob.token).send();
        let (transfer, left, demoted) = tokio::join!(set_role("owner"), leave, set_role("member"));
        for answer in [transfer, left, demoted] {
            let status = answer.unwrap().status();
            assert!(!status.is_server_error(), "round {round}: {status}");
        }
        let owners = owners(&app, &members_path, &owner.token).await;
        assert_eq!(owners.len(), 1, "round {round}: {owners:?}");
    }
}
