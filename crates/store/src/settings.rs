//! The school's settings, as key/value pairs.

use chrono::Utc;
use kitroom_core::settings::Settings;
use serde_json::{json, Map};

use crate::db::{Actor, Store, StoreError};
use crate::events::{append, Subject};

/// Every setting, as [`settings_from_rows`] reads them.
pub(crate) const ALL: &str = "select key, value from setting";

/// The settings as they are inside a transaction.
pub async fn settings_in(conn: &mut sqlx::SqliteConnection) -> Result<Settings, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(ALL).fetch_all(&mut *conn).await?;
    Ok(Settings::from_pairs(
        rows.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
}

/// The stored pairs from the rows of [`ALL`], and the settings they make.
pub(crate) fn settings_from_rows(
    rows: &[sqlx::sqlite::SqliteRow],
) -> Result<(Settings, Vec<(String, String)>), StoreError> {
    use sqlx::Row;
    let pairs = rows
        .iter()
        .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
        .collect::<Result<Vec<_>, sqlx::Error>>()?;
    let settings = Settings::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    Ok((settings, pairs))
}

impl Store {
    pub async fn settings(&self) -> Result<Settings, StoreError> {
        let mut conn = self.reader().acquire().await?;
        settings_in(&mut conn).await
    }

    /// Saves the settings: see [`save_settings_in`].
    pub async fn save_settings(&self, actor: Actor, settings: Settings) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move { save_settings_in(conn, &actor, &settings, Utc::now()).await })
        })
        .await
    }
}

/// Saves the settings and records which changed (`settings.changed`), inside the
/// caller's transaction.
pub async fn save_settings_in(
    conn: &mut sqlx::SqliteConnection,
    actor: &Actor,
    settings: &Settings,
    now: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    let before = settings_in(conn).await?.to_pairs();
    let mut changes = Map::new();
    for (key, value) in settings.to_pairs() {
        let old = before
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| v.clone());
        if old.as_deref() != Some(value.as_str()) {
            changes.insert(key.clone(), json!({"from": old, "to": value}));
        }
        sqlx::query("insert into setting (key, value) values (?, ?) on conflict (key) do update set value = excluded.value")
            .bind(&key)
            .bind(&value)
            .execute(&mut *conn)
            .await?;
    }
    if !changes.is_empty() {
        let subject = Subject {
            key: "settings".into(),
            label: "Settings".into(),
        };
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
