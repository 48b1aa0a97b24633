//! Benchmark (not a test): 300 parallel sign-ups for one existing email (each one
//! hashes a password, then answers 409), while a self-hosted instance keeps
//! validating its key every 50 ms. Prints the answers by status, the server's peak
//! memory, and the validations' latency during the flood.
//!   cargo run --release --features ssr --example signup_flood [-- SIGNUPS]
//! The sign-up rate limit is raised so that every request reaches the hasher: this
//! measures the bound on hashing work, not the rate limit.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use storno_licensing::config::{LicensingSettings, Settings};
use storno_licensing::http::Application;
use storno_licensing::rate_limit::RateLimitSettings;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PASSWORD: &str = "correct horse battery staple";

/// This process's peak resident memory (the server runs in it), in MiB.
fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|value| {
            value
                .trim()
                .trim_end_matches("kB")
                .trim()
                .parse::<f64>()
                .ok()
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::main]
async fn main() {
    let signups: usize = std::env::args()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .unwrap_or(300);
    let directory = tempfile::tempdir().unwrap();
    let settings = Settings {
        database_url: format!("sqlite://{}", directory.path().join("bench.db").display()),
        database_max_connections: None,
        pepper: None,
        public_url: None,
        trusted_proxies: Default::default(),
        token_ttl: Duration::from_secs(3600),
        session_idle_timeout: Duration::from_secs(3600),
        session_absolute_timeout: Duration::from_secs(3600),
        connection_idle_timeout: Duration::from_secs(30),
        audit_retention_days: 400,
        rate_limits: RateLimitSettings {
            validate_per_key: 100_000,
            sign_up_per_ip: 100_000,
            ..RateLimitSettings::default()
        },
        // The instance validating meanwhile must be answered 200: its plan self-hosts.
        licensing: LicensingSettings {
            default_plan: "business".into(),
            ..LicensingSettings::default()
        },
        mail: Default::default(),
        stripe: Default::default(),
        leptos: leptos::config::LeptosOptions::builder()
            .output_name("storno-licensing")
            .site_addr(std::net::SocketAddr::from(([127, 0, 0, 1], 0)))
            .build(),
    };
    let application = Application::build(settings).await.expect("the app starts");
    let base = application.local_url();
    tokio::spawn(application.run_until_stopped());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let register = |email: String| {
        client
            .post(format!("{base}/api/v1/auth/register"))
            .json(&serde_json::json!({"email": email, "password": PASSWORD, "organizationName": "Flood"}))
            .send()
    };
    let owner: serde_json::Value = register("owner@flood.test".into())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key: serde_json::Value = client
        .post(format!("{base}/api/v1/licensing/keys"))
        .bearer_auth(owner["token"].as_str().unwrap())
        .json(&serde_json::json!({}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let license_key = key["licenseKey"].as_str().unwrap().to_string();
    let rss_before = peak_rss_mib();

    // A self-hosted instance validating every 50 ms throughout.
    let flooding = Arc::new(AtomicBool::new(true));
    let prober = {
        let (client, base, flooding) = (client.clone(), base.clone(), flooding.clone());
        tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut failures = 0;
            while flooding.load(Ordering::Relaxed) {
                let started = Instant::now();
                let answer = client
                    .post(format!("{base}/api/v1/licensing/validate"))
                    .json(&serde_json::json!({"licenseKey": license_key}))
                    .send()
                    .await;
                match answer {
                    Ok(response) if response.status().is_success() => {
                        latencies.push(started.elapsed())
                    }
                    _ => failures += 1,
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (latencies, failures)
        })
    };

    let started = Instant::now();
    let flood = (0..signups).map(|_| {
        let register = register("owner@flood.test".into());
        async move {
            match register.await {
                Ok(response) => response.status().as_u16().to_string(),
                Err(error) if error.is_timeout() => "timeout (20 s)".to_string(),
                Err(_) => "connection error".to_string(),
            }
        }
    });
    let answers = futures::future::join_all(flood).await;
    let elapsed = started.elapsed();
    flooding.store(false, Ordering::Relaxed);
    let (mut latencies, failures) = prober.await.unwrap();
    latencies.sort();

    let mut by_status = BTreeMap::new();
    for answer in answers {
        *by_status.entry(answer).or_insert(0) += 1;
    }
    println!(
        "{signups} parallel sign-ups of one existing email, {:.1} s",
        elapsed.as_secs_f64()
    );
    for (status, count) in &by_status {
        println!("  {status}: {count}");
    }
    println!(
        "peak memory (server and this client, one process): {:.0} MiB before the flood, {:.0} MiB after",
        rss_before,
        peak_rss_mib()
    );
    println!(
        "validations during the flood: {} answered 200, {} failed; latency p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
        latencies.len(),
        failures,
        percentile(&latencies, 0.5).as_secs_f64() * 1000.0,
        percentile(&latencies, 0.99).as_secs_f64() * 1000.0,
        latencies.last().copied().unwrap_or_default().as_secs_f64() * 1000.0,
    );
}
