//! Where the log witness ([`kitroom_core::witness`]) is kept: `kitroom.witness` beside
//! the database, written atomically; inside every backup copy (the `log_witness`
//! table, migration 0013); and the admins' daily digest through the outbox.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use kitroom_core::witness::{LogCut, Witness, WitnessKey};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::Connection;

use crate::db::{parse_time, time_text, Store, StoreError};

/// The witness file's name in the data directory.
pub const FILE: &str = "kitroom.witness";

/// The setting that records when the admins' digest was last queued.
const DIGEST_AT: &str = "witness.digest_at";

/// The witness file's text, if there is one.
pub fn read_file(data_dir: &Path) -> std::io::Result<Option<String>> {
    match std::fs::read_to_string(data_dir.join(FILE)) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

/// Replaces the witness file with `text` so that a crash leaves the old file or the
/// new one, never half of one: a temporary file, flushed to disk, renamed over it,
/// and the folder flushed so the rename itself survives power loss.
pub fn write_file(data_dir: &Path, text: &str) -> std::io::Result<()> {
    let path = data_dir.join(FILE);
    let temp = data_dir.join(format!(".{FILE}.{}", std::process::id()));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temp, &path)?;
        #[cfg(unix)]
        std::fs::File::open(data_dir)?.sync_all()?;
        Ok(())
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

impl Store {
    /// The newest event's number and hash; `None` for an empty log.
    pub async fn log_head(&self) -> Result<Option<(i64, String)>, StoreError> {
        Ok(
            sqlx::query_as("select seq, hash from event order by seq desc limit 1")
                .fetch_optional(self.reader())
                .await?,
        )
    }

    /// Whether the log still reaches what `witness` saw.
    pub async fn compare_with(&self, witness: &Witness) -> Result<Result<(), LogCut>, StoreError> {
        let last = self.log_head().await?.map(|(seq, _)| seq);
        let hash: Option<String> = sqlx::query_scalar("select hash from event where seq = ?")
            .bind(witness.seq)
            .fetch_optional(self.reader())
            .await?;
        Ok(witness.compare(last, hash.as_deref()))
    }

    /// The witness this database carries, if it is a backup copy that has one.
    pub async fn carried_witness(&self) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("select sealed from log_witness where id = 1")
                .fetch_optional(self.reader())
                .await?,
        )
    }

    /// Queues `body` by email to every active admin with an address and records the
    /// time, in one transaction; returns how many were queued (none: nothing recorded,
    /// so it is tried again later).
    pub async fn queue_admin_digest(
        &self,
        subject: String,
        body: String,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let at = time_text(now);
                let admins: Vec<String> = sqlx::query_scalar(
                    "select p.email from person p where p.active = 1 and coalesce(p.email, '') <> ''
                       and (p.trust_role = 'trust_admin'
                            or exists (select 1 from membership m where m.person_id = p.id and m.role = 'admin'))",
                )
                .fetch_all(&mut *conn)
                .await?;
                let mut sent = 0;
                for address in admins {
                    let email = crate::outbox::Queued {
                        to: &address,
                        subject: &subject,
                        body: &body,
                        kind: kitroom_core::mail::MailKind::Digest,
                        thread: None,
                        moment: None,
                    };
                    crate::outbox::queue_email(conn, email, now).await?;
                    sent += 1;
                }
                if sent > 0 {
                    sqlx::query("insert into setting (key, value) values (?, ?) on conflict (school_id, key) do update set value = excluded.value")
                        .bind(DIGEST_AT)
                        .bind(&at)
                        .execute(&mut *conn)
                        .await?;
                }
                Ok(sent)
            })
        })
        .await
    }

    /// When the admins' digest was last queued.
    pub async fn last_digest_at(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<String> = sqlx::query_scalar("select value from setting where key = ?")
            .bind(DIGEST_AT)
            .fetch_optional(self.reader())
            .await?;
        Ok(at.and_then(|t| parse_time(&t).ok()))
    }
}

/// Writes the sealed witness of the copy's own newest event into the backup copy at
/// `copy`, so the backup carries it wherever it goes. An empty log has nothing to
/// witness.
pub async fn seal_into_backup(copy: &Path, key: &WitnessKey) -> Result<(), StoreError> {
    let options = SqliteConnectOptions::from_str("sqlite://")?
        .filename(copy)
        .create_if_missing(false);
    let mut conn = sqlx::SqliteConnection::connect_with(&options).await?;
    let head: Option<(i64, String)> =
        sqlx::query_as("select seq, hash from event order by seq desc limit 1")
            .fetch_optional(&mut conn)
            .await?;
    if let Some((seq, hash)) = head {
        let sealed = Witness {
            seq,
            hash,
            at: Utc::now(),
        }
        .seal(key);
        sqlx::query("insert into log_witness (id, sealed) values (1, ?) on conflict (id) do update set sealed = excluded.sealed")
            .bind(sealed)
            .execute(&mut conn)
            .await?;
    } else {
        sqlx::query("delete from log_witness")
            .execute(&mut conn)
            .await?;
    }
    conn.close().await?;
    Ok(())
}
