//! The operator's command line, run as a script would: the real binary against
//! the test's database, reading its output and exit code.

use crate::helpers::*;
use serde_json::json;
use std::process::Output;

fn storno_licensing(app: &TestApp, args: &[&str]) -> Output {
    app.operator_command(args).output().unwrap()
}

fn lines(output: &Output) -> Vec<Vec<String>> {
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| line.split('\t').map(str::to_string).collect())
        .collect()
}

#[tokio::test]
async fn org_list_and_show_find_organizations_with_their_owner_and_keys() {
    let app = spawn_app().await;
    let acme = app.register("ana@acme.test", "Acme Corp").await;
    let globex = app.register("hank@globex.test", "Globex 100%_off").await;
    app.create_key(&acme.token, json!({})).await;
    app.create_key(&acme.token, json!({})).await;

    let all = storno_licensing(&app, &["org", "list"]);
    assert!(all.status.success());
    assert_eq!(
        lines(&all),
        [
            vec![
                acme.organization_id.clone(),
                "Acme Corp".into(),
                "community".into(),
                "ana@acme.test".into(),
                "2".into()
            ],
            vec![
                globex.organization_id.clone(),
                "Globex 100%_off".into(),
                "community".into(),
                "hank@globex.test".into(),
                "0".into()
            ],
        ]
    );
    // Any case, by name, by owner's email, by id; LIKE's wildcards are literal.
    for (search, expected) in [
        ("ACME", &acme.organization_id),
        ("globex.test", &globex.organization_id),
        (&acme.organization_id[..13], &acme.organization_id),
        ("100%_", &globex.organization_id),
    ] {
        let found = lines(&storno_licensing(
            &app,
            &["org", "list", "--search", search],
        ));
        assert_eq!(found.len(), 1, "{search}");
        assert_eq!(&found[0][0], expected, "{search}");
    }
    // "a_m" would match "Acme" if "_" were a wildcard.
    assert!(lines(&storno_licensing(&app, &["org", "list", "--search", "a_m"])).is_empty());

    let shown = storno_licensing(&app, &["org", "show", &acme.organization_id]);
    assert!(shown.status.success());
    let fields: std::collections::HashMap<String, String> = lines(&shown)
        .into_iter()
        .map(|f| (f[0].clone(), f[1].clone()))
        .collect();
    assert_eq!(fields["name"], "Acme Corp");
    assert_eq!(fields["owner"], "ana@acme.test");
    assert_eq!(fields["active"], "true");
    assert_eq!(fields["keys"], "2");
    assert_eq!(fields["active_keys"], "2");
    assert_eq!(fields["members"], "1");
    assert_eq!(fields["current_period_end"], "none");
}

#[tokio::test]
async fn user_list_finds_users_and_their_organizations() {
    let app = spawn_app().await;
    let ana = app.register("ana@acme.test", "Acme").await;
    app.member_of(&ana, "bob@acme.test", "member").await;
    let all = lines(&storno_licensing(&app, &["user", "list"]));
    let summary: Vec<(&str, &str)> = all.iter().map(|u| (u[1].as_str(), u[3].as_str())).collect();
    assert_eq!(summary, [("ana@acme.test", "1"), ("bob@acme.test", "2")]);
    assert!(all.iter().all(|u| is_contract_timestamp(&u[2])));
    let bob = lines(&storno_licensing(
        &app,
        &["user", "list", "--search", "BOB@"],
    ));
    assert_eq!(bob.len(), 1);
    assert_eq!(bob[0][1], "bob@acme.test");
}

#[tokio::test]
async fn exit_codes_and_messages_a_script_can_rely_on() {
    let app = spawn_app().await;
    let acme = app.register("ana@acme.test", "Acme").await;
    let unknown = uuid::Uuid::now_v7().to_string();
    let cases: [(&[&str], i32, &str); 6] = [
        (&["org", "show", &unknown], 3, "Organization not found"),
        (
            &["org", "set-plan", &unknown, "business"],
            3,
            "Organization not found",
        ),
        (
            &["org", "set-plan", &acme.organization_id, "platinum"],
            4,
            "plan must be one of",
        ),
        (
            &["org", "set-trial-end", &acme.organization_id, "tomorrow"],
            4,
            "RFC 3339",
        ),
        (&["org", "show", "not-a-uuid"], 2, "invalid value"),
        (&["org", "frobnicate"], 2, "unrecognized subcommand"),
    ];
    for (args, code, message) in cases {
        let output = storno_licensing(&app, args);
        assert_eq!(output.status.code(), Some(code), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(message), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}");
    }
    let done = storno_licensing(
        &app,
        &["org", "set-plan", &acme.organization_id, "business"],
    );
    assert_eq!(done.status.code(), Some(0));
    let shown = String::from_utf8_lossy(
        &storno_licensing(&app, &["org", "show", &acme.organization_id]).stdout,
    )
    .to_string();
    assert!(shown.contains("plan\tbusiness"), "{shown}");
    for help in [&["--help"][..], &["org", "--help"], &["user", "--help"]] {
        let output = storno_licensing(&app, help);
        assert_eq!(output.status.code(), Some(0));
        assert!(String::from_utf8_lossy(&output.stdout).contains("Usage"));
    }
}
