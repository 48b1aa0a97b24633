//! Bench-only: the least an axum + sqlx endpoint can do to create a license key,
//! and to validate one, with the same durability as the real one (same pragmas,
//! same pool size), so `bench/run.sh` can tell where the real endpoint's time
//! goes. Validation (`POST /api/v1/licensing/validate` with `BENCH_KEY`) looks the
//! key up with its organization and plan and records the visit with the day's
//! usage (one more validation), as the real one does: every validation changes the
//! row, so each is a real commit. Two modes for creation:
//!
//! - `BARE_SQL=row` (default): inserts the key row, nothing else.
//! - `BARE_SQL=same`: runs the real endpoint's own statement (token and owner
//!   check and key row) with fixed inputs: the database work of the real
//!   endpoint without its HTTP, extraction and service layers.
//!
//!   DATABASE_URL=sqlite://... BENCH_ADDR=127.0.0.1:4000 [BARE_SQL=same] bare_create

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::USER_AGENT;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::Sha256;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use storno_licensing::db::Engine;

/// Built as the real server is built: the same allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct Bare {
    pool: Pool,
    organization_id: String,
    user_id: String,
    same_sql: bool,
}

/// The HMAC that the `same` mode's fixed token is stored under.
const TOKEN_HASH: &str = "bench-token-hash";

/// The key `validate` is asked about (`bench/run.sh` sends it).
const BENCH_KEY: &str = "ab0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd";

fn key_hash(key: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap();
    mac.update(key.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// The key with its organization and plan, as the real validation reads it.
const LOOKUP: &str = "SELECT k.id, o.id, o.name, o.plan, p.features, k.usage_today \
    FROM license_keys k JOIN organizations o ON o.id = k.organization_id \
    JOIN plans p ON p.name = o.plan JOIN plans f ON f.name = 'free' \
    WHERE k.key_hash = $1 AND k.revoked_at IS NULL";

/// The visit, recorded as the real validation records a routine one: the report
/// and the day's usage rollup with this validation counted.
const RECORD: &str = "UPDATE license_keys SET last_validated_at = $1, \
    activated_at = COALESCE(activated_at, $1), instance_url = COALESCE($2, instance_url), \
    last_violations = $3, usage_day = $5, usage_today = $6 WHERE id = $4";

/// The day's rollup with one more validation (the bench's key reports one URL).
fn counted(usage_today: Option<&str>, instance_url: Option<&str>) -> String {
    let mut usage: Value = usage_today
        .and_then(|text| serde_json::from_str(text).ok())
        .unwrap_or_else(
            || json!({"validations": 0, "instanceUrls": [], "metrics": {}, "violations": []}),
        );
    usage["validations"] = json!(usage["validations"].as_i64().unwrap_or(0) + 1);
    if let Some(url) = instance_url {
        usage["instanceUrls"] = json!([url]);
    }
    usage.to_string()
}

async fn validate(State(bare): State<Arc<Bare>>, body: Bytes) -> Result<Json<Value>, StatusCode> {
    let request: Value = serde_json::from_slice(&body).map_err(|_| StatusCode::BAD_REQUEST)?;
    let key = request["licenseKey"]
        .as_str()
        .ok_or(StatusCode::BAD_REQUEST)?;
    let instance_url = request["instanceUrl"].as_str();
    let hash = key_hash(key);
    let now = chrono::Utc::now().timestamp();
    macro_rules! run {
        ($pool:expr) => {{
            // All rows (one at most), so the statement is done and its read ends
            // before the UPDATE: a read still open on the connection would make the
            // UPDATE fail at once whenever another connection committed meanwhile.
            let rows: Vec<(String, String, String, String, String, Option<String>)> =
                sqlx::query_as(LOOKUP)
                    .bind(&hash)
                    .fetch_all($pool)
                    .await
                    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            let row = rows.into_iter().next();
            let row = row.ok_or(StatusCode::UNAUTHORIZED)?;
            sqlx::query(RECORD)
                .bind(now)
                .bind(instance_url)
                .bind("[]")
                .bind(&row.0)
                .bind(now.div_euclid(86_400))
                .bind(counted(row.5.as_deref(), instance_url))
                .execute($pool)
                .await
                .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
            row
        }};
    }
    let (_, organization_id, name, plan, features, _) = match &bare.pool {
        Pool::Sqlite(pool) => run!(pool),
        Pool::Postgres(pool) => run!(pool),
    };
    let features: Value =
        serde_json::from_str(&features).map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    Ok(Json(json!({
        "valid": true, "plan": plan, "features": features, "organizationId": organization_id,
        "organizationName": name, "billingUrl": "http://127.0.0.1/settings/billing", "violations": []
    })))
}

const INSERT: &str = "INSERT INTO license_keys \
    (id, organization_id, key_hash, masked_key, instance_name, created_by, created_at, \
     created_ip, created_user_agent) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

/// The creation record the real endpoint keeps: where the request came from.
struct Origin {
    ip: &'static str,
    user_agent: Option<String>,
}

async fn create(
    State(bare): State<Arc<Bare>>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<Value>), StatusCode> {
    // Every request comes over loopback; the real endpoint stores the peer's address.
    let origin = Origin {
        ip: "127.0.0.1",
        user_agent: headers
            .get(USER_AGENT)
            .and_then(|value| value.to_str().ok())
            .map(str::to_string),
    };
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let hash = key_hash(&key);
    let masked = format!("{}...{}", &key[..8], &key[56..]);
    let id = uuid::Uuid::now_v7().to_string();
    let now = chrono::Utc::now().timestamp();
    if bare.same_sql {
        same_statement(&bare, &id, &hash, &masked, now, &origin).await?;
    } else {
        insert_row(&bare, &id, &hash, &masked, now, &origin).await?;
    }
    let created_at = chrono::DateTime::<chrono::Utc>::from_timestamp(now, 0)
        .unwrap()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string();
    Ok((
        StatusCode::CREATED,
        Json(
            json!({"id": id, "licenseKey": key, "instanceName": null, "active": true, "createdAt": created_at}),
        ),
    ))
}

async fn insert_row(
    bare: &Bare,
    id: &str,
    hash: &str,
    masked: &str,
    now: i64,
    origin: &Origin,
) -> Result<(), StatusCode> {
    macro_rules! run {
        ($pool:expr) => {
            sqlx::query(INSERT)
                .bind(id)
                .bind(&bare.organization_id)
                .bind(hash)
                .bind(masked)
                .bind(None::<String>)
                .bind(&bare.user_id)
                .bind(now)
                .bind(origin.ip)
                .bind(origin.user_agent.as_deref())
                .execute($pool)
                .await
                .map(|_| ())
        };
    }
    match &bare.pool {
        Pool::Sqlite(pool) => run!(pool),
        Pool::Postgres(pool) => run!(pool),
    }
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)
}

/// The real endpoint's statement, bound and run as the real endpoint runs it.
async fn same_statement(
    bare: &Bare,
    id: &str,
    hash: &str,
    masked: &str,
    now: i64,
    origin: &Origin,
) -> Result<(), StatusCode> {
    const CREATE_WITH_TOKEN: &str = include_str!("../src/licensing/create_with_token.sql");
    macro_rules! run {
        ($pool:expr) => {
            sqlx::query_as::<_, (String, String)>(CREATE_WITH_TOKEN)
                .bind(TOKEN_HASH)
                .bind(now)
                .bind("")
                .bind(id)
                .bind(hash)
                .bind(masked)
                .bind(None::<String>)
                .bind(origin.ip)
                .bind(origin.user_agent.as_deref())
                .fetch_all($pool)
                .await
        };
    }
    let rows = match &bare.pool {
        Pool::Sqlite(pool) => run!(pool),
        Pool::Postgres(pool) => run!(pool),
    }
    .map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
    if rows.len() == 1 {
        Ok(())
    } else {
        Err(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let address = std::env::var("BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:4000".into());
    // The schema comes from the real migrations; nothing else of the app is used.
    storno_licensing::db::Db::connect(&url, None)
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    // The real server's pool: the same size setting and defaults, and (SQLite) no
    // liveness ping before each query, as the real server's.
    let max_connections = std::env::var("DATABASE_MAX_CONNECTIONS")
        .ok()
        .map(|value| value.trim().parse().expect("DATABASE_MAX_CONNECTIONS"))
        .unwrap_or(Engine::of(&url).unwrap().default_max_connections());
    let pool = if url.starts_with("sqlite") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap()
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        Pool::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(max_connections)
                .test_before_acquire(false)
                .connect_with(options)
                .await
                .unwrap(),
        )
    } else {
        Pool::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(max_connections)
                .connect(&url)
                .await
                .unwrap(),
        )
    };
    let (organization_id, user_id) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let membership_id = uuid::Uuid::now_v7().to_string();
    let setup = [
        format!("INSERT INTO users (id, email, password_hash, created_at) VALUES ('{user_id}', 'bench@example.test', 'x', 0)"),
        format!("INSERT INTO organizations (id, name, plan, created_at) VALUES ('{organization_id}', 'Bench', 'business', 0)"),
        format!("INSERT INTO memberships (id, organization_id, user_id, role, created_at) VALUES ('{membership_id}', '{organization_id}', '{user_id}', 'owner', 0)"),
        format!("INSERT INTO api_tokens (id, user_id, token_hash, created_at, expires_at) VALUES ('{membership_id}', '{user_id}', '{TOKEN_HASH}', 0, 9999999999)"),
        format!("INSERT INTO license_keys (id, organization_id, key_hash, masked_key, created_by, created_at) VALUES ('{membership_id}', '{organization_id}', '{}', 'ab012345...6789abcd', '{user_id}', 0)", key_hash(BENCH_KEY)),
    ];
    for statement in setup {
        match &pool {
            Pool::Sqlite(p) => sqlx::query(&statement).execute(p).await.map(|_| ()),
            Pool::Postgres(p) => sqlx::query(&statement).execute(p).await.map(|_| ()),
        }
        .unwrap();
    }
    let state = Arc::new(Bare {
        pool,
        organization_id,
        user_id,
        same_sql: std::env::var("BARE_SQL").is_ok_and(|mode| mode == "same"),
    });
    let router = Router::new()
        .route("/api/v1/licensing/keys", post(create))
        .route("/api/v1/licensing/validate", post(validate))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(&address).await.unwrap();
    println!(
        "bare handler listening on http://{}",
        listener.local_addr().unwrap()
    );
    axum::serve(listener, router).await.unwrap();
}
