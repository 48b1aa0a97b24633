//! The connection pool for SQLite or PostgreSQL, chosen by the URL, and the
//! migrations applied at start-up. The rest of the code sees one `AnyPool` and
//! writes SQL that both engines accept.

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{Any, AnyPool, Executor, Transaction};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    pub fn of(url: &str) -> Result<Self, String> {
        if url.starts_with("sqlite:") {
            Ok(Engine::Sqlite)
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Ok(Engine::Postgres)
        } else {
            Err("DATABASE_URL must start with sqlite:// or postgres://".into())
        }
    }

    /// Connections for requests when `DATABASE_MAX_CONNECTIONS` is unset: SQLite
    /// writes one at a time, so more would only wait.
    pub fn default_max_connections(self) -> u32 {
        match self {
            Engine::Sqlite => 8,
            Engine::Postgres => 16,
        }
    }
}

/// Where a SQLite URL keeps its file, when it names one.
pub(crate) fn sqlite_file(url: &str) -> Option<PathBuf> {
    let path = url
        .strip_prefix("sqlite://")
        .or_else(|| url.strip_prefix("sqlite:"))?;
    let path = path.split('?').next().unwrap_or_default();
    (!path.is_empty() && path != ":memory:").then(|| PathBuf::from(path))
}

/// SQLite creates its file on first run (`mode=rwc`) unless the URL says otherwise.
fn with_create_mode(url: &str) -> String {
    if url.contains("mode=") {
        url.to_string()
    } else if url.contains('?') {
        format!("{url}&mode=rwc")
    } else {
        format!("{url}?mode=rwc")
    }
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

#[derive(Clone, Debug)]
pub struct Db {
    pub pool: AnyPool,
    pub engine: Engine,
    /// Where this app's writers wait for SQLite's write lock.
    pub(crate) writes: WriteQueue,
}

impl Db {
    /// Opens the database with at most `max_connections` (`None`: the engine's
    /// default) connections for requests.
    pub async fn connect(url: &str, max_connections: Option<u32>) -> Result<Db, String> {
        sqlx::any::install_default_drivers();
        let engine = Engine::of(url)?;
        let max_connections = max_connections.unwrap_or(engine.default_max_connections());
        let url = match engine {
            Engine::Sqlite => {
                if let Some(parent) = sqlite_file(url).as_deref().and_then(|p| p.parent()) {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent)
                            .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
                    }
                }
                with_create_mode(url)
            }
            Engine::Postgres => url.to_string(),
        };
        let options = AnyConnectOptions::from_str(&url).map_err(|e| e.to_string())?;
        let pool = open_pool(engine, options, max_connections)
            .await
            .map_err(|e| format!("cannot open the database: {e}"))?;
        if engine == Engine::Sqlite {
            pool.execute("PRAGMA journal_mode = WAL;")
                .await
                .map_err(|e| format!("cannot enable WAL: {e}"))?;
        }
        Ok(Db {
            pool,
            engine,
            writes: WriteQueue::for_engine(engine),
        })
    }

    /// Applies the schema's migrations.
    pub async fn migrate(&self) -> Result<(), String> {
        MIGRATOR
            .run(&self.pool)
            .await
            .map_err(|e| format!("migrations failed: {e}"))
    }
}

/// Starts a transaction that writes. On SQLite it takes the write lock first
/// (`BEGIN IMMEDIATE`, waiting under the busy timeout): a transaction that reads and
/// then writes would otherwise fail at once with "database is locked" whenever
/// another connection wrote in between, and no busy timeout helps it. The
/// transaction's turn in `writes` lasts until the returned `Turn` is dropped.
pub(crate) async fn begin_write(
    pool: &AnyPool,
    writes: &WriteQueue,
) -> Result<(Turn, Transaction<'static, Any>), sqlx::Error> {
    let turn = writes.turn().await;
    // Started in its own task, so a request cancelled meanwhile (its client gone)
    // cannot cancel the BEGIN halfway: sqlx 0.8's begin is not cancel-safe (on
    // PostgreSQL the session stays in a transaction nothing will end; upstream's fix,
    // transact-rs/sqlx#4394, is not in 0.8). A transaction nobody awaits any more is
    // dropped, and so rolled back, instead.
    let pool = pool.clone();
    let begun = tokio::spawn(async move {
        if pool.connect_options().database_url.scheme() == "sqlite" {
            pool.begin_with("BEGIN IMMEDIATE").await
        } else {
            pool.begin().await
        }
    });
    // A join error means the task panicked: no transaction, as if the BEGIN failed.
    let tx = begun.await.map_err(|_| sqlx::Error::WorkerCrashed)??;
    Ok((turn, tx))
}

/// SQLite has one writer at a time and makes the others poll for its lock, sleeping
/// up to 100 ms between tries: under load a writer can lose every try for seconds
/// and fail with "database is locked". This app's writers queue here instead and
/// take their turns in order. PostgreSQL locks rows, so it has no queue.
#[derive(Clone, Debug)]
pub(crate) struct WriteQueue(Option<Arc<tokio::sync::Mutex<()>>>);

/// A writer's turn in the queue; the next writer's starts when it is dropped.
pub(crate) type Turn = Option<tokio::sync::OwnedMutexGuard<()>>;

impl WriteQueue {
    pub(crate) fn for_engine(engine: Engine) -> Self {
        WriteQueue((engine == Engine::Sqlite).then(Default::default))
    }

    /// This writer's turn at once, if nobody holds it or waits for it (on
    /// PostgreSQL, always).
    pub(crate) fn try_turn(&self) -> Option<Turn> {
        match &self.0 {
            Some(queue) => Arc::clone(queue).try_lock_owned().ok().map(Some),
            None => Some(None),
        }
    }

    /// Waits for this writer's turn (taken before a connection, so a writer never
    /// holds one while it waits).
    pub(crate) async fn turn(&self) -> Turn {
        match &self.0 {
            Some(queue) => Some(Arc::clone(queue).lock_owned().await),
            None => None,
        }
    }
}

/// A page of a list read newest first by id (UUIDv7 ids sort by creation): the
/// rows older than `before` (from the newest without it), at most `limit` of them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Page {
    before: Option<String>,
    limit: i64,
}

impl Page {
    /// Rows per page when the caller does not say, and the most a page holds.
    pub(crate) const DEFAULT: i64 = 50;
    pub(crate) const MAX: i64 = 200;

    /// `limit` defaults to `DEFAULT` and is clamped to 1..=`MAX`.
    pub(crate) fn new(before: Option<String>, limit: Option<i64>) -> Self {
        Page {
            before,
            limit: limit.unwrap_or(Self::DEFAULT).clamp(1, Self::MAX),
        }
    }

    /// The cursor to bind: ids below it are on this page ("~" sorts after every id).
    pub(crate) fn before(&self) -> &str {
        self.before.as_deref().unwrap_or("~")
    }

    /// How many rows to fetch: one beyond the page, to tell whether more follow.
    pub(crate) fn fetch(&self) -> i64 {
        self.limit + 1
    }

    /// The page's rows, and the cursor of the next page when more follow.
    pub(crate) fn split<T>(
        &self,
        mut rows: Vec<T>,
        id: impl Fn(&T) -> &str,
    ) -> (Vec<T>, Option<String>) {
        if rows.len() as i64 <= self.limit {
            return (rows, None);
        }
        rows.truncate(self.limit as usize);
        let next = rows.last().map(|row| id(row).to_string());
        (rows, next)
    }
}

/// The pool of request connections for `engine`.
async fn open_pool(
    engine: Engine,
    options: AnyConnectOptions,
    max_connections: u32,
) -> Result<AnyPool, sqlx::Error> {
    match engine {
        Engine::Sqlite => {
            AnyPoolOptions::new()
                .max_connections(max_connections)
                // A file needs no "is the connection still alive?" round trip
                // to SQLite's worker thread before every query (bench/records/).
                .test_before_acquire(false)
                .after_connect(|conn, _meta| {
                    Box::pin(async move {
                        // Durability first: a 201 means the row is on disk.
                        conn.execute(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 5000; \
                             PRAGMA synchronous = FULL;",
                        )
                        .await?;
                        Ok(())
                    })
                })
                .connect_with(options)
                .await
        }
        Engine::Postgres => {
            AnyPoolOptions::new()
                .max_connections(max_connections)
                .acquire_timeout(Duration::from_secs(10))
                .connect_with(options)
                .await
        }
    }
}

/// Runs `sweep` now and every five minutes after, for stored data that must not
/// outlive its promised lifetime by much; a failed round is logged and retried.
pub(crate) fn sweep_every_few_minutes<Sweep, Round, E>(what: &'static str, sweep: Sweep)
where
    Sweep: Fn() -> Round + Send + 'static,
    Round: std::future::Future<Output = Result<(), E>> + Send,
    E: std::fmt::Display,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(300));
        loop {
            tick.tick().await;
            if let Err(error) = sweep().await {
                tracing::warn!(%error, "could not {what}");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn sqlite_writers_take_turns_in_order_and_postgres_writers_do_not_queue() {
        let queue = WriteQueue::for_engine(Engine::Sqlite);
        let first = queue.turn().await;
        assert!(first.is_some());
        let order = Arc::new(std::sync::Mutex::new(Vec::new()));
        let waiters: Vec<_> = (1..=3)
            .map(|n| {
                let (queue, order) = (queue.clone(), Arc::clone(&order));
                tokio::spawn(async move {
                    let _turn = queue.turn().await;
                    order.lock().unwrap().push(n);
                })
            })
            .collect();
        for _ in 0..3 {
            tokio::task::yield_now().await;
        }
        assert!(
            order.lock().unwrap().is_empty(),
            "nobody writes during a turn"
        );
        drop(first);
        for waiter in waiters {
            waiter.await.unwrap();
        }
        assert_eq!(*order.lock().unwrap(), vec![1, 2, 3]);

        let postgres = WriteQueue::for_engine(Engine::Postgres);
        let (a, b) = (postgres.turn().await, postgres.turn().await);
        assert!(a.is_none() && b.is_none());
    }

    /// `.cargo/config.toml` builds the bundled SQLite without its memory-usage
    /// counters, whose lock every allocation took (bench/records/).
    #[tokio::test]
    async fn the_bundled_sqlite_keeps_no_memory_usage_counters() {
        let db = Db::connect("sqlite::memory:", Some(1)).await.unwrap();
        let used: i64 =
            sqlx::query_scalar("SELECT sqlite_compileoption_used('DEFAULT_MEMSTATUS=0')")
                .fetch_one(&db.pool)
                .await
                .unwrap();
        assert_eq!(used, 1);
    }

    #[test]
    fn a_page_is_clamped_and_knows_whether_more_follow() {
        assert_eq!(Page::new(None, None).fetch(), Page::DEFAULT + 1);
        assert_eq!(Page::new(None, Some(0)).fetch(), 2);
        assert_eq!(Page::new(None, Some(10_000)).fetch(), Page::MAX + 1);
        assert_eq!(Page::new(None, None).before(), "~");
        let page = Page::new(Some("b".into()), Some(2));
        assert_eq!(page.before(), "b");
        let two = vec!["3".to_string(), "2".into()];
        assert_eq!(page.split(two.clone(), String::as_str), (two, None));
        let (rows, next) = page.split(
            vec!["3".to_string(), "2".into(), "1".into()],
            String::as_str,
        );
        assert_eq!((rows.len(), next.as_deref()), (2, Some("2")));
    }
}
