//! Locations: the rooms and places where devices live.

use chrono::{DateTime, Utc};
use kitroom_core::Invalid;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_uuid, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub id: Uuid,
    pub name: String,
    /// How many devices (not retired) call it home.
    pub devices: i64,
}

/// The id of the location with this name, creating it (and logging that) the first
/// time the name is used.
pub async fn find_or_create(
    conn: &mut SqliteConnection,
    actor: &Actor,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    Ok(find_or_create_named(conn, actor, name, now).await?.0)
}

/// As [`find_or_create`], with the name as stored (which may differ from `name` in
/// case).
pub async fn find_or_create_named(
    conn: &mut SqliteConnection,
    actor: &Actor,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(Uuid, String), StoreError> {
    let existing: Option<(String, String)> =
        sqlx::query_as("select id, name from location where name = ? collate nocase")
            .bind(name)
            .fetch_optional(&mut *conn)
            .await?;
    if let Some((id, stored)) = existing {
        return Ok((parse_uuid(&id)?, stored));
    }
    let id = Uuid::new_v4();
    sqlx::query("insert into location (id, name, created_at) values (?, ?, ?)")
        .bind(id.to_string())
        .bind(name)
        .bind(time_text(now))
        .execute(&mut *conn)
        .await?;
    append(
        conn,
        actor,
        "location.created",
        &Subject::location(id, name),
        json!({"name": name}),
        now,
    )
    .await?;
    Ok((id, name.to_owned()))
}

impl Store {
    /// Just the names, in order: for drop-downs and suggestions, without counting
    /// each location's devices (which costs a scan per location on a big register).
    pub async fn location_names(&self) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("select name from location order by name collate nocase")
                .fetch_all(self.reader())
                .await?,
        )
    }

    pub async fn list_locations(&self) -> Result<Vec<Location>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            // The counts come from the device tally (migration 0010): one pass over a
            // few thousand rows instead of every device.
            "select l.id, l.name, coalesce(c.devices, 0)
             from location l left join (select location_id, sum(devices) as devices from device_tally
                                        where status <> 'retired' group by location_id) c on c.location_id = l.id
             order by l.name collate nocase",
        )
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(id, name, devices)| {
                Ok(Location {
                    id: parse_uuid(&id)?,
                    name,
                    devices,
                })
            })
            .collect()
    }
}

/// Whether a location other than `except` is called `name` (case aside).
pub async fn name_taken_in(
    conn: &mut SqliteConnection,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, StoreError> {
    crate::db::name_taken_in(conn, "location", name, except).await
}

/// A location by its id, inside the caller's transaction.
pub async fn location_in(conn: &mut SqliteConnection, id: Uuid) -> Result<Location, StoreError> {
    let (name, devices): (String, i64) = sqlx::query_as(
        "select l.name, coalesce((select sum(devices) from device_tally t
                                  where t.location_id = l.id and t.status <> 'retired'), 0)
         from location l where l.id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?;
    Ok(Location { id, name, devices })
}

/// Writes a location's new name and its `location.renamed` event. A name another
/// location has (the unique index) is told against the name field.
pub async fn rename_location_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    id: Uuid,
    old: &str,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let result = sqlx::query("update location set name = ? where id = ?")
        .bind(name)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await;
    match result {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(Invalid::one(
                "name",
                format!("There is already a location called “{name}”."),
            )
            .into())
        }
        other => other?,
    };
    append(
        conn,
        actor,
        "location.renamed",
        &Subject::location(id, name),
        json!({"from": old, "to": name}),
        now,
    )
    .await?;
    Ok(())
}
