//! Opening the database and running writes.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures_util::FutureExt;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use sqlx::sqlite::{
    SqliteArguments, SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::Arguments;
use sqlx::{Connection, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

/// The migrations in `migrations/`, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

/// What can go wrong in the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The thing asked for does not exist.
    #[error("not found")]
    NotFound,
    /// The change clashes with what is stored (a tag already in use, say), worded
    /// against the field at fault.
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error("database error")]
    Db(#[from] sqlx::Error),
    #[error("could not apply the database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value no longer reads as what it should be.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("could not create the data directory {0}")]
    DataDir(PathBuf, #[source] std::io::Error),
    /// The health check's test file beside the database could not be written.
    #[error("could not write a test file in {0}")]
    SpaceProbe(PathBuf, #[source] std::io::Error),
    /// A write ended without an answer: it panicked, or the writer had stopped.
    #[error("the write stopped unexpectedly")]
    WriteLost,
    /// What ended a group of writes that were committed together (see
    /// [`Store::transaction`]), given to each write of the group that had succeeded
    /// on its own: none of them was committed.
    #[error(transparent)]
    Group(Arc<StoreError>),
}

impl StoreError {
    /// True when the disk holding the database (or a backup) is full: SQLite's
    /// SQLITE_FULL, or the operating system's "no space left on device".
    pub fn is_storage_full(&self) -> bool {
        match self {
            StoreError::Group(e) => e.is_storage_full(),
            StoreError::Db(sqlx::Error::Database(e)) => {
                e.code()
                    .and_then(|c| c.parse::<i32>().ok())
                    .is_some_and(|c| c & 0xff == 13)
                    || e.message().contains("disk is full")
            }
            StoreError::Db(sqlx::Error::Io(e))
            | StoreError::DataDir(_, e)
            | StoreError::SpaceProbe(_, e) => {
                e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
            }
            _ => false,
        }
    }

    /// True when SQLite refused a write because a unique index already holds the value.
    pub fn is_unique_violation(&self) -> bool {
        match self {
            StoreError::Db(sqlx::Error::Database(e)) => e.is_unique_violation(),
            StoreError::Group(e) => e.is_unique_violation(),
            _ => false,
        }
    }
}

/// Who made a change, as the activity log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub username: String,
    /// The school they act in, which their events belong to; `None` for Kitroom
    /// itself and the command line (the event then takes the school of what it is
    /// about).
    pub school: Option<kitroom_core::school::SchoolId>,
}

impl Actor {
    /// Kitroom itself, or someone at the server's command line.
    pub fn system() -> Actor {
        Actor {
            id: None,
            username: "system".into(),
            school: None,
        }
    }

    pub fn person(id: Uuid, username: &str) -> Actor {
        Actor {
            id: Some(id),
            username: username.to_owned(),
            school: None,
        }
    }
}

/// The future a write's closure returns.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The connection a write runs on, inside its transaction.
pub type Conn = SqliteConnection;

/// An error a write can end in: the store's own, or a caller's type that can hold
/// one (the application layer's, whose refusals roll the write back too).
pub trait WriteError: From<StoreError> + Send + 'static {
    /// True when the disk is full (see [`Store::storage_full`]).
    fn is_storage_full(&self) -> bool;
}

impl WriteError for StoreError {
    fn is_storage_full(&self) -> bool {
        StoreError::is_storage_full(self)
    }
}

/// The database: one writer connection and a pool of readers.
#[derive(Debug, Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
    path: PathBuf,
    /// The queue of writes waiting for the writer (see [`Store::transaction`]).
    queue: mpsc::UnboundedSender<Box<dyn Queued>>,
    stats: Arc<WriteStats>,
    /// Writer connections found still inside a transaction when handed back, and
    /// closed instead of reused.
    discarded: Arc<AtomicU64>,
    /// The latest write failed for want of disk space (see `storage_full`).
    full: Arc<AtomicBool>,
}

/// The writer connection's state, for the health check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WriterState {
    /// The idle writer connection is inside a transaction: every write would fail.
    pub in_transaction: bool,
    /// How many writer connections were found inside a transaction when handed back
    /// since Kitroom started (each was closed and replaced).
    pub discarded: u64,
}

/// How the writes since Kitroom started were committed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteCounts {
    /// Writes run (committed, refused or failed).
    pub writes: u64,
    /// Commits (and so flushes to disk) they took.
    pub commits: u64,
    /// The most writes one commit carried.
    pub largest_group: u64,
}

#[derive(Debug, Default)]
struct WriteStats {
    writes: AtomicU64,
    commits: AtomicU64,
    largest_group: AtomicU64,
}

/// Statements sent to SQLite in one round trip and run there in order; the first
/// that fails stops the rest (SQLite undoes that statement, the write's savepoint
/// what ran before it). Inside the writer each round trip is time every other write
/// waits, so statements that go together go as one: a loan's insert, its device's
/// move and the event that records them (see `events::append_after`).
#[derive(Default)]
pub struct Batch {
    sql: String,
    args: SqliteArguments<'static>,
    /// A value that could not be bound, told when the batch runs.
    unbound: Option<sqlx::error::BoxDynError>,
}

impl Batch {
    /// A batch of one statement.
    pub fn new(sql: &str) -> Batch {
        Batch::default().then(sql)
    }

    /// Adds a statement, run after those before it; its `?` take the values bound
    /// after it.
    pub fn then(mut self, sql: &str) -> Batch {
        if !self.sql.is_empty() {
            self.sql.push_str(";\n");
        }
        self.sql.push_str(sql);
        self
    }

    /// Binds the next `?`.
    pub fn bind<T>(mut self, value: T) -> Batch
    where
        T: sqlx::Encode<'static, sqlx::Sqlite> + sqlx::Type<sqlx::Sqlite> + 'static,
    {
        if let Err(e) = self.args.add(value) {
            self.unbound.get_or_insert(e);
        }
        self
    }

    /// Runs every statement.
    pub async fn execute(self, conn: &mut SqliteConnection) -> Result<(), sqlx::Error> {
        if let Some(e) = self.unbound {
            return Err(sqlx::Error::Encode(e));
        }
        if self.sql.is_empty() {
            return Ok(());
        }
        sqlx::query_with(&self.sql, self.args)
            .execute(conn)
            .await
            .map(|_| ())
    }

    /// Runs every statement and gives the rows of each, statement by statement:
    /// `N` is how many statements the batch holds.
    pub async fn fetch<const N: usize>(
        self,
        conn: &mut SqliteConnection,
    ) -> Result<[Vec<sqlx::sqlite::SqliteRow>; N], StoreError> {
        use futures_util::TryStreamExt;
        if let Some(e) = self.unbound {
            return Err(sqlx::Error::Encode(e).into());
        }
        let mut out = vec![Vec::new()];
        // sqlx deprecates several statements in one query because only SQLite runs
        // them (its issue 3108); the PostgreSQL store will say the same in one
        // statement.
        #[allow(deprecated)]
        let mut results = sqlx::query_with(&self.sql, self.args).fetch_many(conn);
        while let Some(next) = results.try_next().await? {
            match next {
                sqlx::Either::Left(_) => out.push(Vec::new()),
                sqlx::Either::Right(row) => out.last_mut().expect("never empty").push(row),
            }
        }
        // The last statement's end leaves an empty list after it.
        out.pop();
        let got = out.len();
        out.try_into()
            .map_err(|_| StoreError::Corrupt(format!("{N} statements gave {got} results")))
    }
}

/// A group that holds the writer this long is written to the log, with its size:
/// every write queued behind it waited as long. (A full group of 64 check-outs
/// takes about 25 ms.)
const SLOW_GROUP: Duration = Duration::from_millis(100);

/// The most writes one commit carries. Fifty clients checking out at once form
/// groups of a few dozen; the bound keeps any one write's wait for its group short.
pub const MAX_GROUP: usize = 64;

/// When to copy the write-ahead log back into the database file.
///
/// SQLite's own automatic checkpoint runs inside whichever commit takes the log past
/// 1,000 pages, so every 65th check-out or so waited 7-25 ms for it. It is off on the
/// writer (`wal_autocheckpoint = 0`). Instead:
/// - once [`Checkpoints::SOON`] writes have gone by and no other write is waiting,
///   the writer wakes the checkpointer ([`checkpoint_apart`]), which copies the log
///   back on a connection of its own while the writer goes on writing (a write
///   arriving meanwhile no longer waits for the copy);
/// - under a steady queue of writes, it wakes the checkpointer after
///   [`Checkpoints::AT_MOST`] writes (the writer copying 4,000 pages itself held
///   every write behind it for 20-25 ms);
/// - when the checkpointer found the log past [`Checkpoints::LONG_LOG`] pages
///   (writes kept coming while it copied, so the log cannot start again), the
///   writer checkpoints itself between two groups: most of the log is copied
///   already, no write can be added meanwhile, so the copy completes quickly and the
///   next write starts the log again from the beginning, and the file stays small.
#[derive(Debug, Default)]
struct Checkpoints {
    /// Writes committed since the last checkpoint.
    since: u64,
    /// Wakes the checkpointer; `None` (or closed) where there is none, and the
    /// writer checkpoints itself.
    apart: Option<mpsc::Sender<()>>,
    /// Set by the checkpointer when the log has grown past [`Checkpoints::LONG_LOG`].
    long: Arc<AtomicBool>,
}

impl Checkpoints {
    /// About 15 pages a check-out: a few hundred pages, a millisecond or two to copy.
    const SOON: u64 = 16;
    /// Bounds the log at about 4,000 pages (16 MiB) under a steady queue of writes.
    const AT_MOST: u64 = 256;
    /// A log this long (pages, 16 MiB, as [`Checkpoints::AT_MOST`] bounds it) after
    /// the checkpointer's copy is copied back by the writer itself at the next gap,
    /// which restarts it: writes that kept coming while the checkpointer copied
    /// leave a tail it cannot restart from. Most of the log is copied already, so
    /// the writer's own copy is short. (At 1,000 pages the writer copied every third
    /// of a second at 200 writes a second, and write p99 rose from 8.9 to 10.7 ms.)
    const LONG_LOG: i64 = 4000;
    /// The shortest time between two of the checkpointer's copies while the log
    /// keeps starting again (it held at most [`Checkpoints::RESTARTING_LOG`] pages).
    const APART: Duration = Duration::from_millis(100);
    /// A log no longer than this at a copy (pages) has been starting again between
    /// copies: at 200 writes a second, 100 ms of writes are about 300 pages.
    const RESTARTING_LOG: i64 = 1000;

    async fn after_commit(&mut self, conn: &mut SqliteConnection, writes: u64, idle: bool) {
        self.since += writes;
        // Also with no write waiting: writes awaited one after another (a sweep, a
        // script) never leave the checkpointer a gap to finish in, and the log
        // grew to 25 MiB over 300 of them when the writer left it alone then.
        let long = self.long.swap(false, Ordering::Relaxed);
        if !long && (self.since < Self::SOON || (!idle && self.since < Self::AT_MOST)) {
            return;
        }
        self.since = 0;
        if !long {
            if let Some(apart) = &self.apart {
                match apart.try_send(()) {
                    // Already woken: it copies what this commit added as well.
                    Ok(()) | Err(mpsc::error::TrySendError::Full(())) => return,
                    Err(mpsc::error::TrySendError::Closed(())) => self.apart = None,
                }
            }
        }
        // PASSIVE never waits for readers: pages a reader still needs stay in the log
        // until a later checkpoint.
        if let Err(e) = sqlx::query("pragma wal_checkpoint(PASSIVE)")
            .execute(&mut *conn)
            .await
        {
            tracing::warn!(error = %e, "checkpoint of the write-ahead log failed; the next one will retry");
        }
    }
}

/// The checkpointer: each time the writer wakes it, copies the write-ahead log back
/// into the database file on its own connection, PASSIVE (it neither waits for nor
/// holds up the writer or the readers), and tells the writer when the log is still
/// long after it (writes kept coming). Ends, closing its connection, when the
/// writer stops.
async fn checkpoint_apart(
    options: SqliteConnectOptions,
    mut wake: mpsc::Receiver<()>,
    long: Arc<AtomicBool>,
) {
    use sqlx::ConnectOptions;
    // Opened at the first wake: a server that only reads holds no connection for it.
    let mut conn: Option<SqliteConnection> = None;
    while wake.recv().await.is_some() {
        if conn.is_none() {
            // A copy needs no page cache of its own.
            match options.clone().pragma("cache_size", "-64").connect().await {
                Ok(c) => conn = Some(c),
                Err(e) => {
                    // The writer finds the channel closed and checkpoints itself.
                    tracing::warn!(error = %e, "the checkpointer could not open the database; the writer checkpoints instead");
                    return;
                }
            }
        }
        let Some(c) = conn.as_mut() else { return };
        let started = tokio::time::Instant::now();
        match sqlx::query_as::<_, (i64, i64, i64)>("pragma wal_checkpoint(PASSIVE)")
            .fetch_one(&mut *c)
            .await
        {
            Ok((_, log, _)) => {
                long.store(log > Checkpoints::LONG_LOG, Ordering::Relaxed);
                // While the log starts again after each copy (writes leave gaps), at
                // most one copy per [`Checkpoints::APART`]: a wake meanwhile waits
                // (the channel holds one), and the copy's flush to disk meets the
                // commits' less often. Writes back to back never let the log start
                // again: then every wake is taken at once, or it grows between them.
                if log <= Checkpoints::RESTARTING_LOG {
                    tokio::time::sleep_until(started + Checkpoints::APART).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "checkpoint of the write-ahead log failed; the next one will retry")
            }
        }
    }
    if let Some(c) = conn {
        let _ = c.close().await;
    }
}

/// A write waiting in the writer's queue: its closure and where its answer goes.
trait Queued: Send {
    /// Runs the write on the connection, inside its own savepoint; what it returns
    /// holds the outcome until the group's commit decides it.
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Box<dyn Ran>>;
    /// Answers without running: the writer could not start a transaction.
    fn refuse(self: Box<Self>, why: Arc<StoreError>);
}

/// A write that has run, waiting for its group's commit.
trait Ran: Send {
    /// It succeeded on its own, so its changes stay in the group.
    fn succeeded(&self) -> bool;
    /// Answers the caller: with its own outcome once the group is committed (a
    /// refusal always stands), or, if the group could not commit, with why.
    fn answer(self: Box<Self>, group: Result<(), Arc<StoreError>>);
}

struct Waiting<F, T, E> {
    f: F,
    answer: oneshot::Sender<Result<T, E>>,
}

struct Done<T, E> {
    result: Result<T, E>,
    answer: oneshot::Sender<Result<T, E>>,
}

impl<F, T, E> Queued for Waiting<F, T, E>
where
    T: Send + 'static,
    E: WriteError,
    F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
{
    fn run<'c>(self: Box<Self>, conn: &'c mut SqliteConnection) -> BoxFuture<'c, Box<dyn Ran>> {
        let Waiting { f, answer } = *self;
        Box::pin(async move {
            let result = f(conn).await;
            Box::new(Done { result, answer }) as Box<dyn Ran>
        })
    }

    fn refuse(self: Box<Self>, why: Arc<StoreError>) {
        let _ = self.answer.send(Err(StoreError::Group(why).into()));
    }
}

impl<T: Send, E: WriteError> Ran for Done<T, E> {
    fn succeeded(&self) -> bool {
        self.result.is_ok()
    }

    fn answer(self: Box<Self>, group: Result<(), Arc<StoreError>>) {
        let result = match (self.result, group) {
            (Ok(_), Err(why)) => Err(StoreError::Group(why).into()),
            (result, _) => result,
        };
        // The caller may have gone: the write stands (or not) all the same.
        let _ = self.answer.send(result);
    }
}

/// The writer: takes every write waiting in the queue (up to [`MAX_GROUP`]) and runs
/// them in one transaction, each inside its own savepoint, so a write that is refused
/// or fails is rolled back alone; then one commit, one flush to disk, for the group,
/// and only then are its callers answered. Runs until every [`Store`] is dropped.
async fn write_groups(
    pool: SqlitePool,
    mut queue: mpsc::UnboundedReceiver<Box<dyn Queued>>,
    stats: Arc<WriteStats>,
    mut checkpoints: Checkpoints,
) {
    let mut group: Vec<Box<dyn Queued>> = Vec::with_capacity(MAX_GROUP);
    while queue.recv_many(&mut group, MAX_GROUP).await > 0 {
        let writes = group.len() as u64;
        let mut conn = match pool.acquire().await {
            Ok(conn) => conn,
            Err(e) => {
                let why = Arc::new(StoreError::from(e));
                group.drain(..).for_each(|w| w.refuse(why.clone()));
                continue;
            }
        };
        let started = std::time::Instant::now();
        let committed = run_group(&mut conn, group.drain(..)).await;
        let took = started.elapsed();
        if took >= SLOW_GROUP {
            tracing::info!(
                ms = took.as_millis() as u64,
                writes,
                committed,
                "a group of writes held the writer"
            );
        }
        stats.writes.fetch_add(writes, Ordering::Relaxed);
        if committed {
            stats.commits.fetch_add(1, Ordering::Relaxed);
            stats.largest_group.fetch_max(writes, Ordering::Relaxed);
            checkpoints
                .after_commit(&mut conn, writes, queue.is_empty())
                .await;
        }
    }
}

tokio::task_local! {
    /// The activity log's last event as the writer's current group left it, while
    /// the writer's task runs a group; `None` until the group's first append reads it.
    static HEAD: std::cell::RefCell<Option<(i64, String)>>;
}

/// The head of the event chain, known to the writer inside a group of writes, so
/// only a group's first append reads it from the database: the group holds the
/// write lock, so no other process can append in between. Outside the writer's
/// task (the benchmark's bulk seed, a test's own connection) nothing is known and
/// every append reads the head.
pub(crate) struct ChainHead;

impl ChainHead {
    /// The head as the writes before this one in the group left it, if known.
    pub(crate) fn known() -> Option<(i64, String)> {
        HEAD.try_with(|h| h.borrow().clone()).ok().flatten()
    }

    /// An append wrote event `seq` with `hash`.
    pub(crate) fn wrote(seq: i64, hash: String) {
        let _ = HEAD.try_with(|h| *h.borrow_mut() = Some((seq, hash)));
    }

    /// Sets what is known: the head before a write that was rolled back, or
    /// nothing at the start and end of a group (another process may append
    /// between groups).
    fn set(head: Option<(i64, String)>) {
        let _ = HEAD.try_with(|h| *h.borrow_mut() = head);
    }
}

/// Runs SQL that returns no rows (statements separated by `;`).
async fn exec(conn: &mut SqliteConnection, sql: &'static str) -> Result<(), sqlx::Error> {
    sqlx::query(sql).execute(conn).await.map(|_| ())
}

/// Runs one group in one transaction and answers each write. True when it committed.
async fn run_group(
    conn: &mut SqliteConnection,
    group: impl Iterator<Item = Box<dyn Queued>>,
) -> bool {
    // IMMEDIATE: the write lock is taken at the start, so a write that reads and
    // then writes never meets SQLITE_BUSY half way when another process (`kitroom
    // token create`, a restore) wrote in between; the busy timeout covers the wait.
    // Safe here because the writer's task is never cancelled (see CONVENTIONS:
    // begin_with is not cancel-safe on a pool).
    //
    // The first write's savepoint is opened in the same round trip. (Should the
    // savepoint fail after the transaction began, the pool's `after_release` finds
    // the connection inside a transaction and replaces it.)
    let mut tx = match conn.begin_with("BEGIN IMMEDIATE; SAVEPOINT write").await {
        Ok(tx) => tx,
        Err(e) => {
            let why = Arc::new(StoreError::from(e));
            group.for_each(|w| w.refuse(why.clone()));
            return false;
        }
    };
    ChainHead::set(None);
    let mut ran: Vec<Box<dyn Ran>> = Vec::with_capacity(MAX_GROUP);
    // What broke the whole transaction, if anything did: the writes after it are
    // not run, and none of the group is committed.
    let mut broken: Option<Arc<StoreError>> = None;
    // Each write runs inside the savepoint `write`, opened before it. After a
    // write that succeeded, one round trip releases the savepoint (its changes join
    // the transaction) and opens the next; after one that failed, rolling back to
    // the savepoint undoes it alone and leaves the savepoint open for the next.
    let mut group = group.peekable();
    while let Some(write) = group.next() {
        if let Some(why) = &broken {
            write.refuse(why.clone());
            continue;
        }
        let head = ChainHead::known();
        // A write that panics is rolled back alone; its caller, whose answer was
        // dropped with it, hears that the write was lost.
        let done = AssertUnwindSafe(write.run(&mut tx))
            .catch_unwind()
            .await
            .ok();
        let kept = done.as_ref().is_some_and(|d| d.succeeded());
        if !kept {
            // Its events are rolled back with it.
            ChainHead::set(head);
        }
        ran.extend(done);
        // The last write kept needs no release: the commit keeps what its open
        // savepoint holds.
        if kept && group.peek().is_none() {
            break;
        }
        // A savepoint that cannot be released or rolled back to means SQLite ended
        // the whole transaction (a full disk can): nothing of the group may commit.
        let closed = exec(
            &mut tx,
            if kept {
                "RELEASE write; SAVEPOINT write"
            } else {
                "ROLLBACK TO write"
            },
        )
        .await;
        if let Err(e) = closed {
            broken = Some(Arc::new(StoreError::from(e)));
        }
    }
    let outcome = match broken {
        Some(why) => {
            // Rolled back here rather than on drop: sqlx only queues a rollback when a
            // transaction is dropped, and the connection would go back to the pool
            // still inside the transaction (and be replaced).
            let _ = tx.rollback().await;
            Err(why)
        }
        None => tx.commit().await.map_err(|e| Arc::new(StoreError::from(e))),
    };
    ChainHead::set(None);
    let committed = outcome.is_ok();
    for done in ran {
        done.answer(outcome.clone());
    }
    committed
}

/// The database file's name inside the data directory.
pub const DB_FILE: &str = "kitroom.db";

impl Store {
    /// Opens (creating if missing) the database in `data_dir` and applies migrations.
    pub async fn open(data_dir: &Path) -> Result<Store, StoreError> {
        std::fs::create_dir_all(data_dir)
            .map_err(|e| StoreError::DataDir(data_dir.to_owned(), e))?;
        Self::open_file(&data_dir.join(DB_FILE)).await
    }

    pub async fn open_file(path: &Path) -> Result<Store, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite://")?
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL: an acknowledged change survives power loss, at ~0.3 ms a commit.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(Duration::from_secs(5))
            .pragma("temp_store", "memory");
        let discarded = Arc::new(AtomicU64::new(0));
        let counter = discarded.clone();
        // No ping before handing out a connection (sqlx's default): a file does not
        // hang up, and the ping was a round trip to the connection's thread before
        // every read and every group of writes.
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // A connection handed back inside a transaction (a cancelled future in
            // sqlx) would make every later write fail: close it and open a new one.
            .after_release(move |conn, _| {
                let stuck = conn.is_in_transaction();
                if stuck {
                    counter.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(
                        "the writer connection was handed back inside a transaction; replacing it"
                    );
                }
                Box::pin(async move { Ok(!stuck) })
            })
            .connect_with(
                options
                    .clone()
                    // Checkpoints between writes, not inside them (`Checkpoints`).
                    .pragma("wal_autocheckpoint", "0")
                    // After a long export held old pages, the log shrinks back.
                    .pragma("journal_size_limit", "67108864"),
            )
            .await?;
        MIGRATOR.run(&writer).await?;
        let checkpointer_options = options.clone();
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .test_before_acquire(false)
            .acquire_timeout(Duration::from_secs(30))
            // 4 MB of pages each: the operating system caches the file as well, and
            // four 16 MB caches filled to 64 MB at 100,000 devices.
            .connect_with(options.read_only(true).pragma("cache_size", "-4000"))
            .await?;
        let (queue, waiting) = mpsc::unbounded_channel();
        let stats = Arc::<WriteStats>::default();
        let (apart, wake) = mpsc::channel(1);
        let checkpoints = Checkpoints {
            apart: Some(apart),
            ..Checkpoints::default()
        };
        tokio::spawn(checkpoint_apart(
            checkpointer_options,
            wake,
            checkpoints.long.clone(),
        ));
        tokio::spawn(HEAD.scope(
            std::cell::RefCell::new(None),
            write_groups(writer.clone(), waiting, stats.clone(), checkpoints),
        ));
        Ok(Store {
            writer,
            reader,
            path: path.to_owned(),
            queue,
            stats,
            discarded,
            full: Arc::default(),
        })
    }

    /// The pool for reads.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one transaction on the writer connection (see [`Store::transaction`]).
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        self.transaction(f).await
    }

    /// Runs `f` on the one writer connection and commits it only if it returns `Ok`:
    /// any error, a refusal of the application layer's included, rolls every change
    /// of `f` back, and nothing else's.
    ///
    /// Writes waiting together are committed together (group commit): the writer's
    /// task runs each inside its own savepoint of one transaction and flushes the
    /// group to disk once; `f` is answered only after that commit. The task is never
    /// cancelled, so a caller that hangs up cannot leave a write half done. `f` sees
    /// the changes of the writes before it in its group, as it would have after
    /// their commits; events keep one chain in commit order.
    pub async fn transaction<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: WriteError,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, E>> + Send + 'static,
    {
        let (answer, answered) = oneshot::channel::<Result<T, E>>();
        let queued = self.queue.send(Box::new(Waiting { f, answer }));
        let result = match queued {
            Ok(()) => answered
                .await
                .unwrap_or_else(|_| Err(StoreError::WriteLost.into())),
            Err(_) => Err(StoreError::WriteLost.into()),
        };
        match &result {
            Err(e) if e.is_storage_full() => self.full.store(true, Ordering::SeqCst),
            Ok(_) => self.full.store(false, Ordering::SeqCst),
            Err(_) => {}
        }
        result
    }

    /// How the writes since Kitroom started were committed.
    pub fn write_counts(&self) -> WriteCounts {
        WriteCounts {
            writes: self.stats.writes.load(Ordering::Relaxed),
            commits: self.stats.commits.load(Ordering::Relaxed),
            largest_group: self.stats.largest_group.load(Ordering::Relaxed),
        }
    }

    /// True when the latest write failed because the disk is full and no write has
    /// succeeded since. A health check's one-row test write can still fit into space
    /// SQLite's log already holds while real changes cannot.
    pub fn storage_full(&self) -> bool {
        self.full.load(Ordering::SeqCst)
    }

    /// Whether the disk has room for changes: writes a test file of
    /// [`SPACE_PROBE_BYTES`] beside the database and removes it. A health check's
    /// one-row test write can still fit into space SQLite's files already hold while
    /// real changes cannot, and a small change that fitted says little either.
    ///
    /// After a change was refused for want of space (see `storage_full`) the file is
    /// also flushed to the disk, as some filesystems only find out then that the
    /// space is missing; when it fits, the "storage full" mark is cleared, so a
    /// health check turns healthy as soon as space is freed rather than after the
    /// next change someone saves.
    pub async fn probe_space(&self) -> Result<(), StoreError> {
        let dir = self
            .path
            .parent()
            .map_or_else(|| PathBuf::from("."), Path::to_owned);
        let folder = dir.clone();
        let flush = self.storage_full();
        tokio::task::spawn_blocking(move || write_space_probe(&folder, flush))
            .await
            .map_err(|_| StoreError::WriteLost)?
            .map_err(|e| StoreError::SpaceProbe(dir, e))?;
        self.full.store(false, Ordering::SeqCst);
        Ok(())
    }

    /// A write that changes nothing, to prove the writer connection is free and out
    /// of any transaction: what a health check asks.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        // The test write says nothing about room for real changes: it leaves the
        // "storage full" mark as it was.
        let full = self.storage_full();
        let result = self.write(|conn| {
            Box::pin(async move {
                sqlx::query("insert into setting (key, value) values ('health.probe', '') on conflict (school_id, key) do update set value = ''")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await;
        if full && result.is_ok() {
            self.full.store(true, Ordering::SeqCst);
        }
        result
    }

    /// Whether the idle writer connection is inside a transaction, waiting for any
    /// write in progress to finish first.
    pub async fn writer_state(&self) -> Result<WriterState, StoreError> {
        let conn = self.writer.acquire().await?;
        Ok(WriterState {
            in_transaction: conn.is_in_transaction(),
            discarded: self.discarded.load(Ordering::Relaxed),
        })
    }

    /// Closes both pools, checkpointing the WAL into the main file.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
}

/// The size of the health check's test file: room for a few changes, with their
/// log pages and indexes, and for folding the log back into the database.
pub const SPACE_PROBE_BYTES: usize = 1024 * 1024;

/// The health check's test file, in the data folder while it is being written.
pub const SPACE_PROBE_FILE: &str = "kitroom-space-probe.tmp";

fn write_space_probe(dir: &Path, flush: bool) -> std::io::Result<()> {
    use std::io::Write;
    let path = dir.join(SPACE_PROBE_FILE);
    let written = (|| {
        let mut f = std::fs::File::create(&path)?;
        let block = vec![0u8; 64 * 1024];
        for _ in 0..SPACE_PROBE_BYTES / block.len() {
            f.write_all(&block)?;
        }
        // Unflushed, a file removed at once is seldom written to the disk at all.
        if flush {
            f.sync_data()?;
        }
        Ok(())
    })();
    let _ = std::fs::remove_file(&path);
    written
}

/// Writes the head's decision (`status`, by whom, when, the note) on a request the
/// head decides: a row of `change_request` or of `offsite_request`.
pub(crate) async fn decide_request_in(
    conn: &mut SqliteConnection,
    table: &'static str,
    id: Uuid,
    status: &str,
    by: Option<Uuid>,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(&format!(
        "update {table} set status = ?, decided_by = ?, decided_at = ?, note = ? where id = ?"
    ))
    .bind(status)
    .bind(by.map(|a| a.to_string()))
    .bind(time_text(now))
    .bind(note)
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// A time as stored: RFC 3339 in UTC, to the microsecond.
pub fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

pub fn parse_time(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| StoreError::Corrupt(format!("time {s:?}")))
}

pub(crate) fn parse_word<T: FromStr>(s: &str) -> Result<T, StoreError> {
    s.parse()
        .map_err(|_| StoreError::Corrupt(format!("value {s:?}")))
}

/// Whether a row of `table` other than `except` is called `name` (case aside):
/// what is checked before a name that must be unique is written.
pub(crate) async fn name_taken_in(
    conn: &mut SqliteConnection,
    table: &'static str,
    school: SchoolId,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, StoreError> {
    Ok(sqlx::query_scalar(&format!(
        "select exists (select 1 from {table} where school_id = ? and name = ? collate nocase and id is not ?)"
    ))
    .bind(school.0)
    .bind(name)
    .bind(except.map(|id| id.to_string()))
    .fetch_one(&mut *conn)
    .await?)
}

/// How SQLite will run a query that starts `explain query plan`: its plan's lines
/// (for the plan tests).
#[cfg(test)]
pub(crate) async fn plan(
    conn: &mut SqliteConnection,
    mut qb: sqlx::QueryBuilder<'_, sqlx::Sqlite>,
) -> String {
    let rows: Vec<(i64, i64, i64, String)> =
        qb.build_query_as().fetch_all(&mut *conn).await.unwrap();
    rows.into_iter().map(|r| r.3).collect::<Vec<_>>().join("\n")
}

pub(crate) fn parse_uuid(s: &str) -> Result<Uuid, StoreError> {
    Uuid::parse_str(s).map_err(|_| StoreError::Corrupt(format!("id {s:?}")))
}

/// Escapes `%`, `_` and `\` so that text typed into a search box matches literally in
/// a `LIKE … ESCAPE '\'` pattern.
pub(crate) fn like_pattern(q: &str) -> String {
    let mut out = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_text_is_matched_literally() {
        assert_eq!(like_pattern("50%_a\\"), "%50\\%\\_a\\\\%");
    }
}
