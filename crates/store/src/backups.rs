//! Automatic backups: a checked copy of the database in the data directory's
//! `backups` folder, keeping the newest few. The rules (names, when one is due,
//! which to delete) are in `kitroom_core::backup`.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use kitroom_core::backup;

use crate::db::{Store, StoreError};

/// One automatic backup on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackupFile {
    pub path: PathBuf,
    pub taken_at: DateTime<Utc>,
    pub bytes: u64,
}

/// The automatic backups in `folder`, newest first.
pub fn list_backups(folder: &Path) -> Vec<BackupFile> {
    let Ok(entries) = std::fs::read_dir(folder) else {
        return Vec::new();
    };
    let mut out: Vec<BackupFile> = entries
        .filter_map(|e| {
            let e = e.ok()?;
            let name = e.file_name().into_string().ok()?;
            let taken_at = backup::taken_at(&name)?;
            Some(BackupFile {
                path: e.path(),
                taken_at,
                bytes: e.metadata().map(|m| m.len()).unwrap_or(0),
            })
        })
        .collect();
    out.sort_by_key(|b| std::cmp::Reverse(b.taken_at));
    out
}

impl Store {
    /// Writes a consistent copy of the live database to `to` (which must not exist),
    /// while the app keeps running: `VACUUM INTO` reads one snapshot through a reader
    /// connection, so writers are not held up. With `key`, the copy carries the sealed
    /// witness of its newest event ([`crate::witness::seal_into_backup`]).
    pub async fn backup_to(
        &self,
        to: &Path,
        key: Option<&kitroom_core::witness::WitnessKey>,
    ) -> Result<(), StoreError> {
        let target = to
            .to_str()
            .ok_or_else(|| StoreError::Corrupt("the backup path is not valid UTF-8".into()))?;
        let result = sqlx::query("vacuum into ?")
            .bind(target)
            .execute(self.reader())
            .await;
        if let Err(e) = result {
            // Never leave half a backup that could be mistaken for a whole one.
            let _ = std::fs::remove_file(to);
            return Err(e.into());
        }
        if let Some(key) = key {
            if let Err(e) = crate::witness::seal_into_backup(to, key).await {
                let _ = std::fs::remove_file(to);
                return Err(e);
            }
        }
        Ok(())
    }

    /// Writes a backup into `folder` (made if missing) under a dated name, carrying
    /// the log witness sealed with `key`, checks
    /// it (SQLite's integrity check and the activity log's hash chain), and only then
    /// gives it its final name; then deletes all but the newest `keep` backups. A
    /// backup that fails is deleted, never left to be mistaken for a good one.
    pub async fn automatic_backup(
        &self,
        folder: &Path,
        now: DateTime<Utc>,
        keep: u32,
        key: Option<&kitroom_core::witness::WitnessKey>,
    ) -> Result<BackupFile, StoreError> {
        std::fs::create_dir_all(folder).map_err(|e| StoreError::DataDir(folder.to_owned(), e))?;
        let name = backup::file_name(now);
        let partial = folder.join(format!(".partial-{name}"));
        let remove_partial = || {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
            }
        };
        remove_partial();
        self.backup_to(&partial, key).await?;
        let checked = async {
            let copy = Store::open_file(&partial).await?;
            let integrity = copy.integrity_check().await;
            let chain = copy.verify_log().await;
            copy.close().await;
            let integrity = integrity?;
            if integrity != ["ok"] {
                return Err(StoreError::Corrupt(format!(
                    "the backup failed SQLite's integrity check: {}",
                    integrity.join("; ")
                )));
            }
            chain?.map_err(|b| {
                StoreError::Corrupt(format!("the backup's activity log does not verify: {b}"))
            })?;
            Ok(())
        }
        .await;
        if let Err(e) = checked {
            remove_partial();
            return Err(e);
        }
        for suffix in ["-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", partial.display()));
        }
        let path = folder.join(&name);
        if let Err(e) = std::fs::rename(&partial, &path) {
            remove_partial();
            return Err(StoreError::DataDir(path, e));
        }
        let names = list_backups(folder)
            .into_iter()
            .filter_map(|b| b.path.file_name()?.to_str().map(str::to_owned))
            .collect();
        for old in backup::to_delete(names, keep.max(1)) {
            if let Err(e) = std::fs::remove_file(folder.join(&old)) {
                tracing::warn!(file = %old, error = %e, "could not delete an old backup");
            }
        }
        let bytes = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok(BackupFile {
            path,
            taken_at: now,
            bytes,
        })
    }
}
