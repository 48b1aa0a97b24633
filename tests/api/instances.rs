//! Real server processes: several stateless instances on one database, and a
//! `kill -9` in the middle of writes. They run on the suite's engine (SQLite, or
//! PostgreSQL with TEST_DATABASE_URL).

use crate::helpers::*;
use reqwest::{Client, StatusCode};
use serde_json::{json, Value};
use std::collections::HashSet;
use std::process::Stdio;
use std::sync::Arc;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

pub struct Instance {
    pub address: String,
    pub process: Child,
}

/// Starts the `storno-licensing` binary on a free port and waits until it serves.
async fn start_instance(database_url: &str) -> Instance {
    start_instance_with(database_url, &[]).await
}

/// The same, with `env` added to its environment.
pub async fn start_instance_with(database_url: &str, env: &[(&str, &str)]) -> Instance {
    let mut command = Command::new(env!("CARGO_BIN_EXE_storno-licensing"));
    command
        .envs(env.iter().copied())
        .env("DATABASE_URL", database_url)
        .env("LEPTOS_SITE_ADDR", "127.0.0.1:0")
        .env("LEPTOS_OUTPUT_NAME", "storno-licensing")
        .env("RUST_LOG", "warn")
        .env("RATE_LIMIT_KEYS_PER_ORGANIZATION", "1000000")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true);
    if postgres_server().is_some() {
        command
            .env("LICENSING_KEY_PEPPER", "07".repeat(32))
            .env("ANSWER_SIGNING_KEYS", TEST_ANSWER_SIGNING_KEY);
    }
    let mut process = command.spawn().expect("the server binary starts");
    let mut lines = BufReader::new(process.stdout.take().unwrap()).lines();
    let address = loop {
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the server announces its URL in time")
            .unwrap()
            .expect("the server exited before serving");
        if let Some(url) = line.split("open ").nth(1) {
            break url.trim().to_string();
        }
    };
    Instance { address, process }
}

pub fn client() -> Client {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

pub async fn register(client: &Client, address: &str, email: &str) -> String {
    let body: Value = client
        .post(format!("{address}/api/v1/auth/register"))
        .json(&json!({"email": email, "password": "correct horse battery", "organizationName": "Acme"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["token"].as_str().unwrap().to_string()
}

/// Every key's id, page by page (`nextBefore`).
async fn list_ids(client: &Client, address: &str, token: &str) -> Vec<String> {
    let mut ids = Vec::new();
    let mut before = String::new();
    loop {
        let listed: Value = client
            .get(format!("{address}/api/v1/licensing/keys?limit=200{before}"))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        ids.extend(listed["keys"].as_array().unwrap().iter().map(|key| {
            // A whole row: every field the contract names is there and well-formed.
            assert!(key["licenseKey"].as_str().unwrap().len() == 19, "{key}");
            assert!(
                is_contract_timestamp(key["createdAt"].as_str().unwrap()),
                "{key}"
            );
            key["id"].as_str().unwrap().to_string()
        }));
        match listed["nextBefore"].as_str() {
            Some(next) => before = format!("&before={next}"),
            None => return ids,
        }
    }
}

#[tokio::test]
async fn instances_share_sessions_and_keys_through_the_database() {
    let app = spawn_app().await; // makes and migrates a fresh database
    let a = start_instance(&app.database_url).await;
    let b = start_instance(&app.database_url).await;
    assert_ne!(a.address, b.address);
    let http = client();

    // A browser session made on A is valid on B.
    let signed_up = http
        .post(format!("{}/rpc/sign_up", a.address))
        .header("Origin", &a.address)
        .form(&[
            ("email", "ana@acme.test"),
            ("password", "correct horse battery"),
            ("organization_name", "Acme"),
        ])
        .send()
        .await
        .unwrap();
    let cookie = signed_up.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_string();
    let on_b: Value = http
        .post(format!("{}/rpc/session", b.address))
        .header("Origin", &b.address)
        .header("Cookie", &cookie)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(on_b["email"], "ana@acme.test");

    // A key created through A is listed through B.
    let token: Value = http
        .post(format!("{}/api/v1/auth/token", b.address))
        .json(&json!({"email": "ana@acme.test", "password": "correct horse battery"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let token = token["token"].as_str().unwrap().to_string();
    let created: Value = http
        .post(format!("{}/api/v1/licensing/keys", a.address))
        .bearer_auth(&token)
        .json(&json!({"instanceName": "via A"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        list_ids(&http, &b.address, &token).await,
        [created["id"].as_str().unwrap()]
    );

    // 500 creates split across A and B, 32 at a time: 500 distinct keys, each listed once.
    let gate = Arc::new(tokio::sync::Semaphore::new(32));
    let mut creates = tokio::task::JoinSet::new();
    for i in 0..500 {
        let address = if i % 2 == 0 {
            a.address.clone()
        } else {
            b.address.clone()
        };
        let (http, token, gate) = (http.clone(), token.clone(), gate.clone());
        creates.spawn(async move {
            let _permit = gate.acquire().await.unwrap();
            let response = http
                .post(format!("{address}/api/v1/licensing/keys"))
                .bearer_auth(&token)
                .json(&json!({"instanceName": format!("load {i}")}))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
            let body: Value = response.json().await.unwrap();
            (
                body["id"].as_str().unwrap().to_string(),
                body["licenseKey"].as_str().unwrap().to_string(),
            )
        });
    }
    let mut ids = HashSet::new();
    let mut keys = HashSet::new();
    while let Some(result) = creates.join_next().await {
        let (id, key) = result.unwrap();
        ids.insert(id);
        keys.insert(key);
    }
    assert_eq!(ids.len(), 500);
    assert_eq!(keys.len(), 500);
    let listed = list_ids(&http, &a.address, &token).await;
    assert_eq!(listed.len(), 501);
    let listed: HashSet<String> = listed.into_iter().collect();
    assert_eq!(listed.len(), 501, "each key is listed once");
    assert!(ids.is_subset(&listed));
    drop((a.process, b.process));
}

#[tokio::test]
async fn a_killed_server_loses_no_acknowledged_key_and_leaves_no_half_row() {
    let app = spawn_app().await;
    let http = client();
    let server = start_instance(&app.database_url).await;
    let token = register(&http, &server.address, "ana@acme.test").await;

    let acknowledged = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let cut = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut writers = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let (http, token, address) = (http.clone(), token.clone(), server.address.clone());
        let (acknowledged, cut) = (acknowledged.clone(), cut.clone());
        writers.spawn(async move {
            loop {
                let sent = http
                    .post(format!("{address}/api/v1/licensing/keys"))
                    .bearer_auth(&token)
                    .json(&json!({"instanceName": "crash"}))
                    .send()
                    .await;
                let body = match sent {
                    Ok(response) if response.status() == StatusCode::CREATED => {
                        response.json::<Value>().await
                    }
                    Ok(response) => panic!("unexpected {}", response.status()),
                    Err(error) => Err(error),
                };
                match body {
                    Ok(body) => {
                        acknowledged
                            .lock()
                            .unwrap()
                            .insert(body["id"].as_str().unwrap().to_string());
                    }
                    Err(_) => {
                        // The connection was cut: this request may or may not have landed.
                        cut.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                        return;
                    }
                }
            }
        });
    }
    // Let writes flow, then kill -9 mid-stream.
    while acknowledged.lock().unwrap().len() < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let mut process = server.process;
    process.start_kill().unwrap();
    process.wait().await.unwrap();
    while writers.join_next().await.is_some() {}

    let restarted = start_instance(&app.database_url).await;
    let listed: HashSet<String> = list_ids(&http, &restarted.address, &token)
        .await
        .into_iter()
        .collect();
    let acknowledged = acknowledged.lock().unwrap().clone();
    let missing: Vec<&String> = acknowledged.difference(&listed).collect();
    assert!(missing.is_empty(), "acknowledged keys lost: {missing:?}");
    let unacknowledged = listed.len() - acknowledged.len();
    assert!(
        unacknowledged <= cut.load(std::sync::atomic::Ordering::SeqCst),
        "{unacknowledged} listed keys had neither a 201 nor a cut connection"
    );
}

/// Instances share one database server, whose connection limit bounds them all
/// together: how many connections each keeps is a setting.
#[tokio::test]
async fn each_instance_keeps_at_most_its_configured_number_of_connections() {
    use storno_licensing::db::Db;
    let directory = tempfile::tempdir().unwrap();
    let (database_url, _) = fresh_database(directory.path()).await;
    let configured = Db::connect(&database_url, Some(3)).await.unwrap();
    assert_eq!(configured.pool.options().get_max_connections(), 3);
    let default = Db::connect(&database_url, None).await.unwrap();
    assert_eq!(
        default.pool.options().get_max_connections(),
        default.engine.default_max_connections()
    );

    let refused = Command::new(env!("CARGO_BIN_EXE_storno-licensing"))
        .arg("migrate")
        .env("DATABASE_URL", &database_url)
        .env("DATABASE_MAX_CONNECTIONS", "0")
        .env("LICENSING_KEY_PEPPER", "07".repeat(32))
        .output()
        .await
        .unwrap();
    assert!(
        !refused.status.success(),
        "a pool of no connections was accepted"
    );
    let message = String::from_utf8_lossy(&refused.stderr);
    assert!(
        message.contains("DATABASE_MAX_CONNECTIONS must be a whole number from 1 to 1000"),
        "{message}"
    );
}
