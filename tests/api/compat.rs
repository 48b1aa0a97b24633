//! The deployed Storno license client, spoken exactly: raw request bytes as it sends
//! them (a base URL ending in `/`, so `//api/...`; JSON with `\/`-escaped slashes;
//! whole-number metrics; no Authorization header), and only the fields, types and
//! statuses it reads. Offline licenses are checked as an instance checks them:
//! plain RS256 with the served public key.

use crate::helpers::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A response as read off the socket.
pub(crate) struct Raw {
    status: u16,
    headers: Vec<(String, String)>,
    body: Value,
}

impl Raw {
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Sends `method path` with `body` as the client does, byte for byte.
pub(crate) async fn raw(app: &TestApp, method: &str, path: &str, body: Option<&str>) -> Raw {
    let host = app.address.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(host).await.unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: Storno-LicenseClient\r\nAccept: application/json\r\nConnection: close\r\n"
    );
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    request.push_str("\r\n");
    request.push_str(body.unwrap_or(""));
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap();
    let mut lines = head.lines();
    let status = lines.next().unwrap().split(' ').nth(1).unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(": "))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Raw {
        status: status.parse().unwrap(),
        headers,
        body: serde_json::from_str(&body).unwrap_or(Value::Null),
    }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let size = usize::from_str_radix(size.trim(), 16).unwrap();
        if size == 0 {
            break;
        }
        out.push_str(&rest[..size]);
        body = &rest[size + 2..];
    }
    out
}

/// What the client's sync sends: PHP's json_encode escapes every `/`.
fn validation_body(key: &str) -> String {
    format!(
        r#"{{"licenseKey":"{key}","instanceUrl":"https:\/\/erp.acme.test\/","metrics":{{"orgCount":1,"userCount":2,"companyCount":1,"invoicesThisMonth":14}}}}"#
    )
}

/// The client acts only on a 200 with a truthy `valid` and a `plan`; it stores
/// `plan` verbatim, matches `organizationId` against its organizations, and its
/// sync command parses `currentPeriodEnd` when present.
fn assert_the_client_can_use(answer: &Raw, organization_id: &str) {
    assert_eq!(answer.status, 200, "{}", answer.body);
    let body = &answer.body;
    assert_eq!(body["valid"], true);
    let plan = body["plan"].as_str().unwrap();
    assert!(
        [
            "community",
            "freemium",
            "starter",
            "professional",
            "business",
            "free"
        ]
        .contains(&plan),
        "{plan}"
    );
    assert_eq!(body["organizationId"], organization_id);
    assert_eq!(
        body["organizationId"].as_str().unwrap(),
        body["organizationId"].as_str().unwrap().to_lowercase()
    );
    if let Some(end) = body.get("currentPeriodEnd") {
        assert!(chrono::DateTime::parse_from_rfc3339(end.as_str().unwrap()).is_ok());
    }
    let features = body["features"].as_object().unwrap();
    assert_eq!(features.len(), 22);
    for limit in [
        "maxCompanies",
        "maxUsersPerOrg",
        "maxInvoicesPerMonth",
        "syncIntervalSeconds",
    ] {
        assert!(features[limit].is_u64(), "{limit} is a whole number");
    }
    for (name, value) in features {
        assert!(
            name.starts_with("max") || name == "syncIntervalSeconds" || value.is_boolean(),
            "{name}"
        );
    }
    assert!(body["violations"]
        .as_array()
        .unwrap()
        .iter()
        .all(Value::is_string));
    assert!(body["billingUrl"].is_string());
}

#[tokio::test]
async fn the_deployed_client_validates_twice_through_a_trailing_slash_base_url() {
    let app = spawn_app().await;
    let owner = app.register("ana@acme.test", "Acme").await;
    let (_, key) = app.new_key(&owner.token, "Production").await;
    let key = key.as_str();
    let path = "//api/v1/licensing/validate";

    // On community (the default plan) the client sees what upstream sends: not valid.
    let refused = raw(&app, "POST", path, Some(&validation_body(key))).await;
    assert_eq!(refused.status, 403);
    assert_eq!(refused.body["valid"], false);
    assert_eq!(refused.body["plan"], "community");

    app.set_plan(&owner.organization_id, "business");
    app.operator(&[
        "org",
        "set-period-end",
        &owner.organization_id,
        "2099-01-01T00:00:00+00:00",
    ]);
    // One sync: a validation, then the sync validates again, at once. With the
    // default rate limits neither is refused.
    for _ in 0..2 {
        let answer = raw(&app, "POST", path, Some(&validation_body(key))).await;
        assert_the_client_can_use(&answer, &owner.organization_id);
        assert_eq!(answer.body["plan"], "business");
        assert_eq!(answer.body["currentPeriodEnd"], "2099-01-01T00:00:00+00:00");
        assert_eq!(answer.body["violations"], json!([]));
    }
    // The escaped URL is stored as the URL it is.
    let listed: Value = app.list_keys(&owner.token).await.json().await.unwrap();
    assert_eq!(listed["keys"][0]["instanceUrl"], "https://erp.acme.test/");
    assert_eq!(
        listed["keys"][0]["instanceMetrics"]["invoicesThisMonth"],
        14
    );

    // Revoked: a status the client treats as "not valid", never a 200.
    let id = listed["keys"][0]["id"].as_str().unwrap();
    app.api
        .delete(app.url(&format!("/api/v1/licensing/keys/{id}")))
        .bearer_auth(&owner.token)
        .send()
        .await
        .unwrap();
    let revoked = raw(&app, "POST", path, Some(&validation_body(key))).await;
    assert_eq!(revoked.status, 401);
    assert_eq!(revoked.body["valid"], false);
}

#[tokio::test]
async fn the_version_endpoint_answers_404_until_the_operator_announces_a_release() {
    let app = spawn_app().await;
    let before = raw(&app, "GET", "//api/v1/version", None).await;
    assert_eq!(before.status, 404);
    assert_eq!(before.body["code"], "release_not_published");
    assert_eq!(before.header("cache-control"), Some("no-store"));

    let refused = app
        .operator_command(&["release", "set", "2.7", "--min", "2.6.0"])
        .output()
        .unwrap();
    assert_eq!(
        refused.status.code(),
        Some(4),
        "a malformed version is refused"
    );
    app.operator(&[
        "release",
        "set",
        "2.7.6",
        "--download-url",
        "https://get.storno.test/storno-2.7.6.tar.gz",
        "--min",
        "2.6.0",
        "--release-notes",
        "Faster e-Factura sync",
    ]);
    let answer = raw(&app, "GET", "//api/v1/version", None).await;
    assert_eq!(answer.status, 200);
    assert_eq!(
        answer.body,
        json!({
            "version": "2.7.6",
            "downloadUrl": "https://get.storno.test/storno-2.7.6.tar.gz",
            "web": {"latest": "2.7.6", "min": "2.6.0", "releaseNotes": "Faster e-Factura sync"}
        })
    );
    assert_eq!(answer.header("cache-control"), Some("public, max-age=300"));

    // A later announcement replaces it; the download URL may be left out.
    app.operator(&[
        "release", "set", "2.8.0", "--min", "2.7.0", "--latest", "2.8.1",
    ]);
    let answer = raw(&app, "GET", "/api/v1/version", None).await;
    assert_eq!(answer.body["version"], "2.8.0");
    assert_eq!(answer.body["downloadUrl"], Value::Null);
    assert_eq!(answer.body["web"]["latest"], "2.8.1");
    assert_eq!(answer.body["web"]["releaseNotes"], Value::Null);
}
