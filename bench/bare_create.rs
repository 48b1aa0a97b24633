//! Bench-only: the least an axum + sqlx endpoint can do to create a license key
//! with the same durability as the real one (same row, same pragmas, same pool
//! size), so `bench/run.sh` can tell what the real endpoint's extra work costs:
//! authentication, organization and role checks, input parsing, the Any driver.
//!
//!   DATABASE_URL=sqlite://... BENCH_ADDR=127.0.0.1:4000 bare_create

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use axum::{Json, Router};
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{json, Value};
use sha2::Sha256;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

struct Bare {
    pool: Pool,
    organization_id: String,
    user_id: String,
}

const INSERT: &str = "INSERT INTO license_keys \
    (id, organization_id, key_hash, masked_key, instance_name, created_by, created_at) \
    VALUES ($1, $2, $3, $4, $5, $6, $7)";

async fn create(State(bare): State<Arc<Bare>>) -> Result<(StatusCode, Json<Value>), StatusCode> {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    let key = hex::encode(bytes);
    let mut mac = Hmac::<Sha256>::new_from_slice(&[7; 32]).unwrap();
    mac.update(key.as_bytes());
    let hash = hex::encode(mac.finalize().into_bytes());
    let masked = format!("{}...{}", &key[..8], &key[56..]);
    let id = uuid::Uuid::now_v7().to_string();
    let now = chrono::Utc::now().timestamp();
    let inserted = match &bare.pool {
        Pool::Sqlite(pool) => sqlx::query(INSERT)
            .bind(&id)
            .bind(&bare.organization_id)
            .bind(&hash)
            .bind(&masked)
            .bind(None::<String>)
            .bind(&bare.user_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()),
        Pool::Postgres(pool) => sqlx::query(INSERT)
            .bind(&id)
            .bind(&bare.organization_id)
            .bind(&hash)
            .bind(&masked)
            .bind(None::<String>)
            .bind(&bare.user_id)
            .bind(now)
            .execute(pool)
            .await
            .map(|_| ()),
    };
    inserted.map_err(|_| StatusCode::INTERNAL_SERVER_ERROR)?;
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

#[tokio::main]
async fn main() {
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let address = std::env::var("BENCH_ADDR").unwrap_or_else(|_| "127.0.0.1:4000".into());
    // The schema comes from the real migrations; nothing else of the app is used.
    storno_licensing::db::Db::connect(&url)
        .await
        .unwrap()
        .migrate()
        .await
        .unwrap();
    let pool = if url.starts_with("sqlite") {
        let options = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
            .unwrap()
            .journal_mode(sqlx::sqlite::SqliteJournalMode::Wal)
            .synchronous(sqlx::sqlite::SqliteSynchronous::Full)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        Pool::Sqlite(
            sqlx::sqlite::SqlitePoolOptions::new()
                .max_connections(8)
                .connect_with(options)
                .await
                .unwrap(),
        )
    } else {
        Pool::Postgres(
            sqlx::postgres::PgPoolOptions::new()
                .max_connections(16)
                .connect(&url)
                .await
                .unwrap(),
        )
    };
    let (organization_id, user_id) = (
        uuid::Uuid::now_v7().to_string(),
        uuid::Uuid::now_v7().to_string(),
    );
    let setup = [
        format!("INSERT INTO users (id, email, password_hash, created_at) VALUES ('{user_id}', 'bench@example.test', 'x', 0)"),
        format!("INSERT INTO organizations (id, name, created_at) VALUES ('{organization_id}', 'Bench', 0)"),
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
    });
    let router = Router::new()
        .route("/api/v1/licensing/keys", post(create))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(&address).await.unwrap();
    println!(
        "bare handler listening on http://{}",
        listener.local_addr().unwrap()
    );
    axum::serve(listener, router).await.unwrap();
}
