//! Slow and idle connections are dropped; a mixed load never answers 5xx.

use crate::helpers::*;
use futures::StreamExt;
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn a_mixed_load_of_writes_and_validations_never_answers_5xx() {
    let app = spawn_app_with(|settings| settings.rate_limits.sign_up_per_ip = 1000).await;
    let owner = app.register("ana@acme.test", "Acme").await;
    app.set_plan(&owner.organization_id, "business");
    let mut keys = Vec::new();
    for _ in 0..12 {
        let key = app.created_key(&owner.token, json!({})).await;
        keys.push((
            key["id"].as_str().unwrap().to_string(),
            key["licenseKey"].as_str().unwrap().to_string(),
        ));
    }
    let mut requests = Vec::new();
    for round in 0..60 {
        let (id, key) = keys[round % keys.len()].clone();
        requests.push(app.api.post(app.url("/api/v1/licensing/validate")).json(
            &json!({"licenseKey": key, "instanceUrl": format!("https://erp{round}.test"), "metrics": {"userCount": 2}}),
        ));
        if round % 3 == 0 {
            requests.push(
                app.api
                    .post(app.url("/api/v1/licensing/keys"))
                    .bearer_auth(&owner.token)
                    .json(&json!({})),
            );
        }
        if round % 10 == 0 {
            requests.push(
                app.api
                    .post(app.url(&format!("/api/v1/licensing/keys/{id}/rotate")))
                    .bearer_auth(&owner.token)
                    .json(&json!({})),
            );
        }
        if round % 10 == 5 {
            requests.push(
                app.api
                    .delete(app.url(&format!("/api/v1/licensing/keys/{id}")))
                    .bearer_auth(&owner.token),
            );
        }
        if round % 12 == 0 {
            requests.push(app.api.post(app.url("/api/v1/auth/register")).json(&json!({
                "email": format!("user{round}@acme.test"),
                "password": "correct horse battery staple",
                "organizationName": "Load"
            })));
        }
    }
    let statuses: Vec<StatusCode> = futures::stream::iter(requests)
        .map(|request| async move { request.send().await.unwrap().status() })
        .buffer_unordered(40)
        .collect()
        .await;
    let errors: Vec<&StatusCode> = statuses.iter().filter(|s| s.is_server_error()).collect();
    assert!(
        errors.is_empty(),
        "{} of {} answered 5xx: {errors:?}",
        errors.len(),
        statuses.len()
    );
    assert!(
        statuses
            .iter()
            .filter(|s| **s == StatusCode::CREATED)
            .count()
            >= 20
    );
}

/// Reads from `stream` until the server closes it; how long that took, or `None`
/// if it was still open after `within`.
async fn closed_within(
    stream: &mut (impl tokio::io::AsyncRead + Unpin),
    within: std::time::Duration,
) -> Option<std::time::Duration> {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut buffer = [0u8; 4096];
    tokio::time::timeout(within, async {
        while !matches!(stream.read(&mut buffer).await, Ok(0) | Err(_)) {}
    })
    .await
    .ok()
    .map(|()| started.elapsed())
}

async fn app_with_idle_timeout_of_2_seconds() -> (TestApp, String) {
    let app = spawn_app_with(|settings| {
        settings.connection_idle_timeout = std::time::Duration::from_secs(2);
    })
    .await;
    let address = app.address.trim_start_matches("http://").to_string();
    (app, address)
}

#[tokio::test]
async fn a_client_that_never_finishes_its_headers_is_dropped_even_trickling() {
    use tokio::io::AsyncWriteExt;
    let (_app, address) = app_with_idle_timeout_of_2_seconds().await;
    let stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let (mut reader, mut writer) = stream.into_split();
    writer
        .write_all(b"GET /sign-in HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        .await
        .unwrap();
    // A byte every 300 ms: a timer that only waits for silence would never fire.
    tokio::spawn(async move {
        while writer.write_all(b"a").await.is_ok() {
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        }
    });
    let closed = closed_within(&mut reader, std::time::Duration::from_secs(15)).await;
    let closed = closed.expect("the server dropped the connection");
    assert!(
        closed >= std::time::Duration::from_millis(1500),
        "{closed:?}"
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_dropped_after_its_request() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let (_app, address) = app_with_idle_timeout_of_2_seconds().await;
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    stream
        .write_all(b"GET /api/v1/version HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 4096];
    let read = stream.read(&mut answer).await.unwrap();
    assert!(
        answer[..read].starts_with(b"HTTP/1.1 "),
        "{:?}",
        String::from_utf8_lossy(&answer[..read])
    );
    let closed = closed_within(&mut stream, std::time::Duration::from_secs(15)).await;
    assert!(closed.is_some(), "an idle connection is not held open");
}
