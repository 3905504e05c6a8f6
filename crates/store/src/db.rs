//! Opening the database and running writes.

use std::future::Future;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use kitroom_core::device::IllegalMove;
use kitroom_core::Invalid;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{SqliteConnection, SqlitePool};
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
    /// The status machine refused the move.
    #[error(transparent)]
    IllegalMove(#[from] IllegalMove),
    /// A rule refused the check-out.
    #[error(transparent)]
    CheckOut(#[from] kitroom_core::loan::CheckOutRefusal),
    /// A rule refused the return.
    #[error(transparent)]
    Return(#[from] kitroom_core::loan::ReturnRefusal),
    /// A set could not go out or come back; a refusal about one device names it.
    #[error(transparent)]
    Kit(#[from] kitroom_core::kit::KitRefusal),
    /// A booking was refused or could not change; carries what is free instead.
    #[error("{}", .0.refusal)]
    Booking(Box<crate::bookings::BookingRefused>),
    #[error("database error")]
    Db(#[from] sqlx::Error),
    #[error("could not apply the database migrations")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A stored value no longer reads as what it should be.
    #[error("stored data is not valid: {0}")]
    Corrupt(String),
    #[error("could not create the data directory {0}")]
    DataDir(PathBuf, #[source] std::io::Error),
    #[error("the write task stopped unexpectedly")]
    WriteTask(#[from] tokio::task::JoinError),
}

impl StoreError {
    /// True when SQLite refused a write because a unique index already holds the value.
    pub fn is_unique_violation(&self) -> bool {
        matches!(self, StoreError::Db(sqlx::Error::Database(e)) if e.is_unique_violation())
    }
}

/// Who made a change, as the activity log records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub id: Option<Uuid>,
    pub username: String,
}

impl Actor {
    /// Kitroom itself, or someone at the server's command line.
    pub fn system() -> Actor {
        Actor {
            id: None,
            username: "system".into(),
        }
    }

    pub fn person(id: Uuid, username: &str) -> Actor {
        Actor {
            id: Some(id),
            username: username.to_owned(),
        }
    }
}

pub(crate) type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The database: one writer connection and a pool of readers.
#[derive(Debug, Clone)]
pub struct Store {
    writer: SqlitePool,
    reader: SqlitePool,
    path: PathBuf,
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
        let writer = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.clone())
            .await?;
        MIGRATOR.run(&writer).await?;
        let reader = SqlitePoolOptions::new()
            .max_connections(4)
            .acquire_timeout(Duration::from_secs(30))
            .connect_with(options.read_only(true).pragma("cache_size", "-16000"))
            .await?;
        Ok(Store {
            writer,
            reader,
            path: path.to_owned(),
        })
    }

    /// The pool for reads.
    pub fn reader(&self) -> &SqlitePool {
        &self.reader
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Runs `f` in one transaction on the writer connection, in a task of its own, and
    /// commits only if it succeeds. A dropped caller cannot leave a write half done.
    pub(crate) async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, Result<T, StoreError>>
            + Send
            + 'static,
    {
        let pool = self.writer.clone();
        tokio::spawn(async move {
            let mut tx = pool.begin().await?;
            let out = f(&mut tx).await?;
            tx.commit().await?;
            Ok(out)
        })
        .await?
    }

    /// Writes a consistent copy of the live database to `to` (which must not exist),
    /// while the app keeps running: `VACUUM INTO` reads one snapshot through a reader
    /// connection, so writers are not held up.
    pub async fn backup_to(&self, to: &Path) -> Result<(), StoreError> {
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the backup path is not valid UTF-8".into()))?;
        sqlx::query("vacuum into ?")
            .bind(target)
            .execute(self.reader())
            .await?;
        Ok(())
    }

    /// A write that changes nothing, to prove the writer connection is free and out
    /// of any transaction: what a health check asks.
    pub async fn probe_write(&self) -> Result<(), StoreError> {
        self.write(|conn| {
            Box::pin(async move {
                sqlx::query("insert into setting (key, value) values ('health.probe', '') on conflict (key) do update set value = ''")
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Closes both pools, checkpointing the WAL into the main file.
    pub async fn close(&self) {
        self.reader.close().await;
        self.writer.close().await;
    }
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
