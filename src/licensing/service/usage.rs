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
use crate::db::Turn;
use crate::licensing::usage::{DayUsage, KnownUrls, UsageDayDto, MAX_DAYS};
use sqlx::any::AnyArguments;
use sqlx::{Any, AnyConnection};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

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

/// The day number `at` (Unix seconds) falls on, in UTC.
pub fn day_of(at: i64) -> i64 {
    at.div_euclid(SECONDS_PER_DAY)
}

/// A day number as `YYYY-MM-DD`.
pub fn date_of(day: i64) -> String {
    clock::rfc3339(day * SECONDS_PER_DAY)[..10].to_string()
}

fn parse_usage(text: &str) -> Result<DayUsage, AppError> {
    serde_json::from_str(text).map_err(|e| AppError::Internal(format!("stored usage: {e}")))
}

/// The day's rollup this app last wrote for each key (the text stored), so a routine
/// validation, in the app's turn, guards its UPDATE with what the row holds rather
/// than with what it read before its turn, when another validation may have written.
#[derive(Clone, Default)]
pub(super) struct WrittenDays(Arc<Mutex<Remembered>>);

#[derive(Default)]
struct Remembered {
    days: HashMap<String, (i64, String)>,
    /// The bytes of the keys and rollups held.
    bytes: usize,
}

impl WrittenDays {
    /// Keys remembered at most, and their bytes at most; past either the memory
    /// starts over (each key's next validation reads its row, as without it).
    const MAX_KEYS: usize = 10_000;
    const MAX_BYTES: usize = 16 << 20;

    fn get(&self, key_id: &str, day: i64) -> Option<String> {
        self.lock()
            .days
            .get(key_id)
            .filter(|(written, _)| *written == day)
            .map(|(_, usage)| usage.clone())
    }

    fn remember(&self, key_id: &str, day: i64, usage: String) {
        let mut remembered = self.lock();
        let size = key_id.len() + usage.len();
        let full = remembered.days.len() >= Self::MAX_KEYS && !remembered.days.contains_key(key_id);
        if full || remembered.bytes + size > Self::MAX_BYTES {
            *remembered = Remembered::default();
        }
        if let Some((_, old)) = remembered.days.insert(key_id.to_string(), (day, usage)) {
            remembered.bytes -= key_id.len() + old.len();
        }
        remembered.bytes += size;
    }

    #[cfg(test)]
    fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Remembered> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
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

/// The violations a routine validation is answered with once written; `None` when
/// its guarded UPDATE did not land (it is then recorded in a transaction).
type Routine = Result<Option<Vec<String>>, AppError>;

/// A routine validation waiting for its write.
struct RoutineWrite {
    key_id: String,
    now: i64,
    /// The day's rollup as the request read it, used when this app wrote none since.
    read: String,
    report: Report,
    violations: Vec<String>,
    answer: oneshot::Sender<Routine>,
}

/// Routine validations waiting for the app's write turn (SQLite only).
#[derive(Clone, Default)]
pub(super) struct PendingRoutines(Arc<Mutex<Vec<RoutineWrite>>>);

impl PendingRoutines {
    fn push(&self, write: RoutineWrite) {
        self.lock().push(write);
    }

    fn take(&self) -> Vec<RoutineWrite> {
        std::mem::take(&mut *self.lock())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RoutineWrite>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Writes `batch` (in the write turn its caller holds, on SQLite) and answers each:
/// one validation alone is one guarded UPDATE, as ever; several are one transaction.
/// Validations whose requests are gone are left out, as if they never came.
async fn write_batch(pool: &AnyPool, days: &WrittenDays, batch: Vec<RoutineWrite>) {
    let batch: Vec<_> = batch
        .into_iter()
        .filter(|write| !write.answer.is_closed())
        .collect();
    if batch.is_empty() {
        return;
    }
    let mut written = HashMap::new();
    match land_all(pool, days, &batch, &mut written).await {
        Ok(outcomes) => {
            for (key_id, (day, usage)) in written {
                days.remember(&key_id, day, usage);
            }
            for (write, outcome) in batch.into_iter().zip(outcomes) {
                let _ = write.answer.send(Ok(outcome));
            }
        }
        Err(error) => {
            let cause = format!("routine validations' write: {error:?}");
            for write in batch {
                let _ = write.answer.send(Err(AppError::Internal(cause.clone())));
            }
        }
    }
}

/// Lands each write of `batch` in order; `written` gathers the days written, for
/// the writes after them and for the memory once committed.
async fn land_all(
    pool: &AnyPool,
    days: &WrittenDays,
    batch: &[RoutineWrite],
    written: &mut HashMap<String, (i64, String)>,
) -> Result<Vec<Option<Vec<String>>>, AppError> {
    if let [write] = batch {
        let mut connection = pool.acquire().await?;
        return Ok(vec![land(&mut connection, days, written, write).await?]);
    }
    // Only SQLite batches (it alone has a write queue), so its own BEGIN.
    let mut tx = pool.begin_with("BEGIN IMMEDIATE").await?;
    let mut outcomes = Vec::with_capacity(batch.len());
    for write in batch {
        outcomes.push(land(&mut tx, days, written, write).await?);
    }
    tx.commit().await?;
    tracing::debug!(
        validations = batch.len(),
        "routine validations committed together"
    );
    Ok(outcomes)
}

/// One guarded UPDATE, guarded by the day last written for the key (in this batch,
/// else by this app, else as the request read it). If the row holds another
/// (another app wrote), the day is read again and the UPDATE tried once more.
/// `None` when neither landed: another app wrote again, or the day ended.
async fn land(
    connection: &mut AnyConnection,
    days: &WrittenDays,
    written: &mut HashMap<String, (i64, String)>,
    write: &RoutineWrite,
) -> Result<Option<Vec<String>>, AppError> {
    let today = day_of(write.now);
    let mut read = written
        .get(&write.key_id)
        .filter(|(day, _)| *day == today)
        .map(|(_, usage)| usage.clone())
        .or_else(|| days.get(&write.key_id, today))
        .unwrap_or_else(|| write.read.clone());
    for last_try in [false, true] {
        let usage = parse_usage(&read)?;
        let update = KeyUpdate::new(&write.report, write.violations.clone(), write.now, usage);
        // Lands only if no other validation changed the day since it was read.
        let guarded = update
            .query(
                concat!(
                    update_key_sql!(),
                    " AND usage_day = $7 AND usage_today = $9"
                ),
                &write.key_id,
            )
            .bind(&read); // $9
        if guarded.execute(&mut *connection).await?.rows_affected() == 1 {
            written.insert(write.key_id.clone(), (today, update.usage));
            return Ok(Some(update.violations));
        }
        if last_try {
            break;
        }
        let stored: StoredDay =
            sqlx::query_as("SELECT usage_day, usage_today FROM license_keys WHERE id = $1")
                .bind(&write.key_id)
                .fetch_one(&mut *connection)
                .await?;
        match (stored.usage_day, stored.usage_today) {
            (Some(day), Some(text)) if day == today => read = text,
            _ => break,
        }
    }
    Ok(None)
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

    /// A routine validation (the key active, its instance URL known, its day begun):
    /// one guarded UPDATE (see `land`). When another write is under way (SQLite) it
    /// waits with the others for the app's write turn; whichever gets the turn
    /// writes all those waiting.
    async fn record_routine(
        &self,
        row: &ValidationRow,
        request: &ValidationRequest,
        verdict: &Verdict,
        now: i64,
        read: &str,
    ) -> Routine {
        let (answer, mut answered) = oneshot::channel();
        let write = RoutineWrite {
            key_id: row.id.clone(),
            now,
            read: read.to_string(),
            report: Report::of(request),
            violations: verdict.violations.clone(),
            answer,
        };
        // Nobody writing or waiting to (always so on PostgreSQL): write it now.
        if let Some(turn) = self.writes.try_turn() {
            let mut batch = self.pending_routines.take();
            batch.push(write);
            if batch.len() == 1 {
                write_batch(&self.pool, &self.written_days, batch).await;
            } else {
                self.write_in_background(batch, turn);
            }
            return written_outcome(answered.await);
        }
        self.pending_routines.push(write);
        tokio::select! {
            biased;
            outcome = &mut answered => return written_outcome(outcome),
            turn = self.writes.turn() => {
                let batch = self.pending_routines.take();
                self.write_in_background(batch, turn);
            }
        }
        written_outcome(answered.await)
    }

    /// Writes `batch` in its own task, so a request cancelled meanwhile cannot cut
    /// it (and the others' answers) short; the turn ends with it.
    fn write_in_background(&self, batch: Vec<RoutineWrite>, turn: Turn) {
        let (pool, days) = (self.pool.clone(), self.written_days.clone());
        tokio::spawn(async move {
            write_batch(&pool, &days, batch).await;
            drop(turn);
        });
    }

    /// The key's usage for the `days` days up to today, oldest first, days without
    /// validations left out (owner only).
    pub async fn usage(
        &self,
        actor: &Membership,
        key_id: Uuid,
        days: i64,
    ) -> Result<Vec<UsageDayDto>, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let current: StoredDay = sqlx::query_as(
            "SELECT usage_day, usage_today FROM license_keys WHERE id = $1 AND organization_id = $2",
        )
        .bind(key_id.to_string())
        .bind(actor.organization_id().to_string())
        .fetch_optional(&self.pool)
        .await?
        .ok_or(AppError::LicenseKeyNotFound)?;
        self.history(key_id, days, current).await
    }

    /// All a key's page shows, each read once: the key, its organization's plan's
    /// features and the key's usage for the `days` days up to today (owner only).
    pub async fn key_usage(
        &self,
        actor: &Membership,
        key_id: Uuid,
        days: i64,
    ) -> Result<KeyUsage, AppError> {
        actor.require_owner(OWNER_ONLY)?;
        let features = self.plan_features(actor).await?;
        let key = self
            .key_record(actor, key_id, self.overdue_after(&features))
            .await?;
        let current = StoredDay {
            usage_day: key.usage_day,
            usage_today: key.usage_today.clone(),
        };
        let days = self.history(key_id, days, current).await?;
        Ok(KeyUsage {
            key,
            features,
            days,
        })
    }

    /// The finished days kept for the key, with `current` (the day on its row), for
    /// the `days` days up to today.
    async fn history(
        &self,
        key_id: Uuid,
        days: i64,
        current: StoredDay,
    ) -> Result<Vec<UsageDayDto>, AppError> {
        let first = day_of(clock::now()) - days.clamp(1, MAX_DAYS) + 1;
        let mut stored: Vec<(i64, String)> = sqlx::query_as(
            "SELECT day, usage FROM key_usage_days WHERE license_key_id = $1 AND day >= $2 \
             ORDER BY day",
        )
        .bind(key_id.to_string())
        .bind(first)
        .fetch_all(&self.pool)
        .await?;
        if let (Some(day), Some(text)) = (current.usage_day, current.usage_today) {
            if day >= first && stored.last().is_none_or(|(last, _)| *last < day) {
                stored.push((day, text));
            }
        }
        stored
            .into_iter()
            .map(|(day, text)| {
                let usage = parse_usage(&text)?;
                Ok(UsageDayDto {
                    date: date_of(day),
                    validations: usage.validations,
                    more_instance_urls: usage.further_urls.len(),
                    instance_urls: usage.instance_urls,
                    metrics: usage.metrics,
                    violations: usage.violations,
                })
            })
            .collect()
    }
}

fn written_outcome(outcome: Result<Routine, oneshot::error::RecvError>) -> Routine {
    outcome
        .map_err(|_| AppError::Internal("a routine validation's write ended unanswered".into()))?
}

/// A key with what its page needs beside it.
pub struct KeyUsage {
    pub key: LicenseKeyRecord,
    pub features: PlanFeatures,
    pub days: Vec<UsageDayDto>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_days_answer_only_for_the_day_written_and_stay_bounded() {
        let days = WrittenDays::default();
        days.remember("key", 20_000, "{\"validations\":1}".into());
        assert_eq!(
            days.get("key", 20_000).as_deref(),
            Some("{\"validations\":1}")
        );
        assert_eq!(
            days.get("key", 20_001),
            None,
            "a new day is read from the row"
        );
        assert_eq!(days.get("other", 20_000), None);
        for n in 0..WrittenDays::MAX_KEYS {
            days.remember(&format!("key-{n}"), 20_000, String::new());
        }
        assert!(days.lock().days.len() <= WrittenDays::MAX_KEYS);
    }

    #[test]
    fn written_days_stay_bounded_in_bytes() {
        let days = WrittenDays::default();
        let big = "x".repeat(12_000);
        for n in 0..5_000 {
            days.remember(&format!("key-{n}"), 20_000, big.clone());
            assert!(days.bytes() <= WrittenDays::MAX_BYTES, "after {n}");
        }
        // Rewriting a key's day replaces its bytes, not adds to them.
        let days = WrittenDays::default();
        for _ in 0..100 {
            days.remember("key", 20_000, big.clone());
        }
        assert_eq!(days.bytes(), "key".len() + big.len());
    }
}
