//! Routine validations: one guarded UPDATE each, written together in the app's
//! write turn.

use super::super::*;
use super::*;
use crate::db::Turn;
use sqlx::AnyConnection;
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::oneshot;

/// The violations a routine validation is answered with once written; `None` when
/// its guarded UPDATE did not land (it is then recorded in a transaction).
pub(super) type Routine = Result<Option<Vec<String>>, AppError>;

/// A routine validation waiting for its write.
pub(super) struct RoutineWrite {
    pub(super) key_id: String,
    pub(super) now: i64,
    /// The day's rollup as the request read it, used when this app wrote none since.
    pub(super) read: String,
    pub(super) report: Report,
    pub(super) violations: Vec<String>,
    pub(super) answer: oneshot::Sender<Routine>,
}

/// Routine validations waiting for the app's write turn (SQLite only).
#[derive(Clone, Default)]
pub(in crate::licensing::service) struct PendingRoutines(Arc<Mutex<Vec<RoutineWrite>>>);

impl PendingRoutines {
    pub(super) fn push(&self, write: RoutineWrite) {
        self.lock().push(write);
    }

    pub(super) fn take(&self) -> Vec<RoutineWrite> {
        std::mem::take(&mut *self.lock())
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, Vec<RoutineWrite>> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// Writes `batch` (in the write turn its caller holds, on SQLite) and answers each:
/// one validation alone is one guarded UPDATE, as ever; several are one transaction.
/// Validations whose requests are gone are left out, as if they never came.
pub(super) async fn write_batch(pool: &AnyPool, days: &WrittenDays, batch: Vec<RoutineWrite>) {
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
pub(super) async fn land_all(
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
pub(super) async fn land(
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

pub(super) fn written_outcome(outcome: Result<Routine, oneshot::error::RecvError>) -> Routine {
    outcome
        .map_err(|_| AppError::Internal("a routine validation's write ended unanswered".into()))?
}

impl LicensingService {
    /// A routine validation (the key active, its instance URL known, its day begun):
    /// one guarded UPDATE (see `land`). When another write is under way (SQLite) it
    /// waits with the others for the app's write turn; whichever gets the turn
    /// writes all those waiting.
    pub(super) async fn record_routine(
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
    pub(super) fn write_in_background(&self, batch: Vec<RoutineWrite>, turn: Turn) {
        let (pool, days) = (self.pool.clone(), self.written_days.clone());
        tokio::spawn(async move {
            write_batch(&pool, &days, batch).await;
            drop(turn);
        });
    }
}
