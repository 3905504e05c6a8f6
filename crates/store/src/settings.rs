//! Each school's settings, as key/value pairs. Those read before a school is chosen
//! (the sign-in choices) or for the whole database (backups, how long leavers are
//! kept) are the first school's.

use chrono::Utc;
use kitroom_core::settings::Settings;
use serde_json::{json, Map};

use kitroom_core::school::SchoolId;

use crate::db::{Actor, Store, StoreError};
use crate::events::{append, Subject};

/// Every setting of the school `?`, a row each.
pub(crate) const ALL: &str = "select key, value from setting where school_id = ?";

/// `school`'s settings as they are inside a transaction.
pub async fn settings_in(
    conn: &mut sqlx::SqliteConnection,
    school: SchoolId,
) -> Result<Settings, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(ALL)
        .bind(school.0)
        .fetch_all(&mut *conn)
        .await?;
    Ok(Settings::from_pairs(
        rows.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
}

/// Every setting of the school `?` as one JSON object in one row, for a read
/// inside the writer: a row is a hand-over between threads, so one row costs less
/// than twenty.
pub(crate) const ALL_AS_ONE: &str =
    "select json_group_object(key, value) from setting where school_id = ?";

/// The stored pairs from the row of [`ALL_AS_ONE`], and the settings they make.
pub(crate) fn settings_from_one(
    rows: &[sqlx::sqlite::SqliteRow],
) -> Result<(Settings, std::collections::BTreeMap<String, String>), StoreError> {
    use sqlx::Row;
    let text: String = match rows.first() {
        Some(row) => row.try_get(0)?,
        None => "{}".to_owned(),
    };
    let pairs: std::collections::BTreeMap<String, String> = serde_json::from_str(&text)
        .map_err(|e| StoreError::Corrupt(format!("settings as JSON: {e}")))?;
    let settings = Settings::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok((settings, pairs))
}

impl Store {
    /// `school`'s settings.
    pub async fn settings(&self, school: SchoolId) -> Result<Settings, StoreError> {
        let mut conn = self.reader().acquire().await?;
        settings_in(&mut conn, school).await
    }

    /// Saves `school`'s settings: see [`save_settings_in`].
    pub async fn save_settings(
        &self,
        actor: Actor,
        school: SchoolId,
        settings: Settings,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(
                async move { save_settings_in(conn, &actor, school, &settings, Utc::now()).await },
            )
        })
        .await
    }
}

/// Saves the settings and records which changed (`settings.changed`), inside the
/// caller's transaction.
pub async fn save_settings_in(
    conn: &mut sqlx::SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    settings: &Settings,
    now: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    let before = settings_in(conn, school).await?.to_pairs();
    let mut changes = Map::new();
    for (key, value) in settings.to_pairs() {
        let old = before
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone());
        if old.as_deref() != Some(value.as_str()) {
            changes.insert(key.clone(), json!({"from": old, "to": value}));
        }
        sqlx::query("insert into setting (school_id, key, value) values (?, ?, ?) on conflict (school_id, key) do update set value = excluded.value")
            .bind(school.0)
            .bind(&key)
            .bind(&value)
            .execute(&mut *conn)
            .await?;
    }
    if !changes.is_empty() {
        let subject = Subject::school(school, "settings");
        append(
            conn,
            actor,
            "settings.changed",
            &subject,
            changes.into(),
            now,
        )
        .await?;
    }
    Ok(())
}
