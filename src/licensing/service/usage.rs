//! What a validation leaves behind: the key's latest report and its day's usage
//! rollup, and the history an owner reads back.
//!
//! The day in progress lives on the key's row (`usage_day`, `usage_today`), so a
//! routine validation is the one UPDATE it always was. That UPDATE only lands if the
//! day's rollup is still the one this request read; otherwise (another validation
//! got there first, a new day, a first activation or a new instance URL) the
//! validation is recorded in a transaction that holds the key's row, moving a
//! finished day into `key_usage_days` first.
//!
//! On SQLite, routine validations that arrive while another write is being made
//! wait together and are committed together, by whichever of them gets the app's
//! write turn first: one transaction and one `fsync` for all of them, each answered
//! only after that commit (group commit). PostgreSQL locks rows; there each one
//! writes on its own.

use super::*;
use crate::licensing::usage::{DayUsage, KnownUrls, MAX_DAYS};
use sqlx::any::AnyArguments;
use sqlx::Any;

const SECONDS_PER_DAY: i64 = 86_400;

/// Updates the key with what this validation reported; `$7` and `$8` are the
/// day's usage rollup.
macro_rules! update_key_sql {
    () => {
        "UPDATE license_keys SET last_validated_at = $1, \
             activated_at = COALESCE(activated_at, $1), \
             reported_instance_name = COALESCE($2, reported_instance_name), \
             instance_url = COALESCE($3, instance_url), \
             instance_metrics = COALESCE($4, instance_metrics), last_violations = $5, \
             usage_day = $7, usage_today = $8 \
         WHERE id = $6"
    };
}

mod history;
mod routine;
mod written_days;
pub(super) use routine::PendingRoutines;
pub(super) use written_days::WrittenDays;

/// The day number `at` (Unix seconds) falls on, in UTC.
pub fn day_of(at: i64) -> i64 {
    at.div_euclid(SECONDS_PER_DAY)
}

/// A day number as `YYYY-MM-DD`.
pub(crate) fn date_of(day: i64) -> String {
    clock::rfc3339(day * SECONDS_PER_DAY)[..10].to_string()
}

fn parse_usage(text: &str) -> Result<DayUsage, AppError> {
    serde_json::from_str(text).map_err(|e| AppError::Internal(format!("stored usage: {e}")))
}

/// A key's day in progress, as its row holds it.
#[derive(sqlx::FromRow)]
struct StoredDay {
    usage_day: Option<i64>,
    usage_today: Option<String>,
}

/// What a validation reported, as its key's row keeps it.
struct Report {
    instance_name: Option<String>,
    instance_url: Option<String>,
    metrics: Option<InstanceMetrics>,
}

impl Report {
    fn of(request: &ValidationRequest) -> Self {
        Report {
            instance_name: request.instance_name.clone(),
            instance_url: request.instance_url.clone(),
            metrics: request.metrics.clone(),
        }
    }
}

/// What one validation writes to its key's row: its report, and its day's usage
/// with this validation added.
struct KeyUpdate<'a> {
    report: &'a Report,
    now: i64,
    /// The day's rollup with this validation added, as the row stores it.
    usage: String,
    /// The answer's violations (with the shared-key one, when it applies).
    violations: Vec<String>,
}

impl<'a> KeyUpdate<'a> {
    fn new(report: &'a Report, violations: Vec<String>, now: i64, mut usage: DayUsage) -> Self {
        let violations = usage.record(
            report.instance_url.as_deref(),
            report.metrics.iter().flat_map(InstanceMetrics::reported),
            violations,
        );
        KeyUpdate {
            report,
            now,
            usage: json!(usage).to_string(),
            violations,
        }
    }

    fn query<'q>(
        &self,
        sql: &'q str,
        key_id: &str,
    ) -> sqlx::query::Query<'q, Any, AnyArguments<'q>> {
        sqlx::query(sql)
            .bind(self.now) // $1
            .bind(self.report.instance_name.clone()) // $2
            .bind(self.report.instance_url.clone()) // $3
            .bind(self.report.metrics.as_ref().map(|m| json!(m).to_string())) // $4
            .bind(json!(self.violations).to_string()) // $5
            .bind(key_id.to_string()) // $6
            .bind(day_of(self.now)) // $7
            .bind(self.usage.clone()) // $8
    }
}

/// What an instance's validation did of note (its key's activation, a new URL).
fn instance_event(
    row: &ValidationRow,
    request: &ValidationRequest,
    action: &'static str,
) -> Result<AuditEvent, AppError> {
    Ok(AuditEvent {
        organization: Some(stored_id(&row.organization_id)?),
        actor: None,
        action,
        target: Some(row.id.clone()),
        details: request
            .instance_url
            .as_ref()
            .map(|url| json!({"instanceUrl": url})),
    })
}

impl LicensingService {
    /// Keeps what the instance reported and adds the validation to its day's
    /// usage. Returns the violations to answer with: `verdict`'s, plus the
    /// shared-key one when two or more instances validated the key today.
    pub(super) async fn record_validation(
        &self,
        row: &ValidationRow,
        request: &ValidationRequest,
        verdict: &Verdict,
        now: i64,
        meta: &RequestMeta,
    ) -> Result<Vec<String>, AppError> {
        // The URL of the last report is known: only another one reads the set.
        let unknown_url = request.instance_url.as_deref().filter(|url| {
            row.instance_url.as_deref() != Some(*url)
                && !KnownUrls::of(
                    row.known_instance_urls.as_deref(),
                    row.instance_url.as_deref(),
                )
                .contains(url)
        });
        let notable = if row.activated_at.is_none() {
            Some("license_key.activated")
        } else if unknown_url.is_some() {
            Some("license_key.new_instance_url")
        } else {
            None
        };
        let read_today = row
            .usage_today
            .as_deref()
            .filter(|_| row.usage_day == Some(day_of(now)));
        if let (None, Some(read)) = (notable, read_today) {
            if let Some(violations) = self
                .record_routine(row, request, verdict, now, read)
                .await?
            {
                return Ok(violations);
            }
        }
        let (_turn, mut tx) = begin_write(&self.pool, &self.writes).await?;
        let today = locked_day(&mut tx, &row.id, day_of(now)).await?;
        let report = Report::of(request);
        // Read again under the row's lock (before this report replaces its last
        // URL): a validation from the same new URL may have recorded it meanwhile.
        let learned = match unknown_url {
            Some(url) => learn_url(&mut tx, &row.id, url).await?,
            None => false,
        };
        let update = KeyUpdate::new(&report, verdict.violations.clone(), now, today);
        update
            .query(update_key_sql!(), &row.id)
            .execute(&mut *tx)
            .await?;
        let notable = notable.filter(|action| *action == "license_key.activated" || learned);
        if let Some(action) = notable {
            record(&mut tx, instance_event(row, request, action)?, meta).await?;
        }
        tx.commit().await?;
        self.written_days
            .remember(&row.id, day_of(now), update.usage);
        Ok(update.violations)
    }
}

/// The key's day in progress, its row held until `tx` ends (so validations landing
/// meanwhile are counted, not lost). A finished day moves to `key_usage_days`
/// (once, whoever gets there first), and days past the history's length go.
/// Adds `url` to the key's known instance URLs, in the transaction that holds its
/// row; whether it was new to them.
async fn learn_url(
    tx: &mut sqlx::Transaction<'static, Any>,
    key_id: &str,
    url: &str,
) -> Result<bool, AppError> {
    let (stored, last): (Option<String>, Option<String>) =
        sqlx::query_as("SELECT known_instance_urls, instance_url FROM license_keys WHERE id = $1")
            .bind(key_id)
            .fetch_one(&mut **tx)
            .await?;
    let known = KnownUrls::of(stored.as_deref(), last.as_deref());
    if known.contains(url) {
        return Ok(false);
    }
    sqlx::query("UPDATE license_keys SET known_instance_urls = $1 WHERE id = $2")
        .bind(known.with(url).to_json())
        .bind(key_id)
        .execute(&mut **tx)
        .await?;
    Ok(true)
}

async fn locked_day(
    tx: &mut sqlx::Transaction<'static, Any>,
    key_id: &str,
    today: i64,
) -> Result<DayUsage, AppError> {
    let stored: StoredDay = sqlx::query_as(
        "UPDATE license_keys SET usage_day = usage_day WHERE id = $1 \
         RETURNING usage_day, usage_today",
    )
    .bind(key_id)
    .fetch_one(&mut **tx)
    .await?;
    match (stored.usage_day, stored.usage_today) {
        (Some(day), Some(text)) if day == today => parse_usage(&text),
        (Some(day), Some(text)) => {
            sqlx::query(
                "INSERT INTO key_usage_days (license_key_id, day, usage) VALUES ($1, $2, $3) \
                 ON CONFLICT (license_key_id, day) DO NOTHING",
            )
            .bind(key_id)
            .bind(day)
            .bind(text)
            .execute(&mut **tx)
            .await?;
            sqlx::query("DELETE FROM key_usage_days WHERE license_key_id = $1 AND day <= $2")
                .bind(key_id)
                .bind(today - MAX_DAYS)
                .execute(&mut **tx)
                .await?;
            Ok(DayUsage::default())
        }
        _ => Ok(DayUsage::default()),
    }
}
