//! Each school's settings, as key/value pairs. Those read before a school is chosen
//! (the sign-in choices) or for the whole database (backups, how long leavers are
//! kept) are the deployment's ([`DEPLOYMENT_KEYS`]): stored with the first school's
//! and read from there for every school.

use chrono::Utc;
use kitroom_core::settings::{Settings, DEPLOYMENT_KEYS};
use serde_json::{json, Map};

use kitroom_core::school::SchoolId;

use crate::db::{Actor, Store, StoreError};
use crate::events::{append, Subject};

/// The rows that make the settings of the school `?`: its own, and the deployment's
/// from the first school's.
static OF_SCHOOL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    let keys = DEPLOYMENT_KEYS
        .iter()
        .map(|k| format!("'{k}'"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "from setting where (school_id = ? and key not in ({keys})) or (school_id = {} and key in ({keys}))",
        SchoolId::FIRST.0
    )
});

/// Every setting of the school `?`, a row each.
static ALL: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("select key, value {}", *OF_SCHOOL));

/// `school`'s settings as they are inside a transaction.
pub async fn settings_in(
    conn: &mut sqlx::SqliteConnection,
    school: SchoolId,
) -> Result<Settings, StoreError> {
    let rows: Vec<(String, String)> = sqlx::query_as(ALL.as_str())
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
pub(crate) static ALL_AS_ONE: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("select json_group_object(key, value) {}", *OF_SCHOOL));

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
/// caller's transaction. The deployment's own ([`DEPLOYMENT_KEYS`]) go with the
/// first school's; whether the actor may change them is the caller's to judge.
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
        let home = if DEPLOYMENT_KEYS.contains(&key.as_str()) {
            SchoolId::FIRST
        } else {
            school
        };
        sqlx::query("insert into setting (school_id, key, value) values (?, ?, ?) on conflict (school_id, key) do update set value = excluded.value")
            .bind(home.0)
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
