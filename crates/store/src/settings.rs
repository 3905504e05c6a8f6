//! The school's settings, as key/value pairs.

use chrono::Utc;
use kitroom_core::settings::Settings;
use serde_json::{json, Map};

use crate::db::{Actor, Store, StoreError};
use crate::events::{append, Subject};

/// The settings as they are inside a transaction.
pub async fn settings_in(conn: &mut sqlx::SqliteConnection) -> Result<Settings, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as("select key, value from setting")
        .fetch_all(&mut *conn)
        .await?;
    Ok(Settings::from_pairs(
        rows.iter().map(|(k, v)| (k.as_str(), v.as_str())),
    ))
}

impl Store {
    /// The settings and the calendar, read together in one round trip: a check-out
    /// needs both.
    pub async fn settings_and_calendar(
        &self,
    ) -> Result<(Settings, kitroom_core::calendar::Calendar), StoreError> {
        use sqlx::Row;
        let mut conn = self.reader().acquire().await?;
        let rows = crate::Batch::new("select key, value from setting")
            .then(crate::calendar::ENTRIES)
            .fetch(&mut conn)
            .await?;
        let mut each = rows.into_iter();
        let (Some(settings), Some(entries), None) = (each.next(), each.next(), each.next()) else {
            return Err(StoreError::Corrupt(
                "two statements did not give two results".into(),
            ));
        };
        let pairs = settings
            .iter()
            .map(|r| Ok((r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let entries = entries
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        Ok((
            Settings::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            crate::calendar::calendar_from_rows(entries)?,
        ))
    }

    /// The settings and the return checklist of `kind`, which is kept among them:
    /// one query, for a return.
    pub async fn settings_and_checklist(
        &self,
        kind: kitroom_core::device::DeviceKind,
    ) -> Result<(Settings, Vec<kitroom_core::checklist::Question>), StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as("select key, value from setting")
            .fetch_all(self.reader())
            .await?;
        let key = crate::checklists::key(kind);
        let questions = crate::checklists::questions_from(
            rows.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.as_str()),
        );
        Ok((
            Settings::from_pairs(rows.iter().map(|(k, v)| (k.as_str(), v.as_str()))),
            questions,
        ))
    }

    pub async fn settings(&self) -> Result<Settings, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as("select key, value from setting")
            .fetch_all(self.reader())
            .await?;
        Ok(Settings::from_pairs(
            rows.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        ))
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
