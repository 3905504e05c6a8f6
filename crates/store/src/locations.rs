//! Locations: the rooms and places where devices live.

use chrono::{DateTime, Utc};
use kitroom_core::school::SchoolId;
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

/// The id of `school`'s location with this name, creating it (and logging that) the
/// first time the school uses the name.
pub async fn find_or_create(
    conn: &mut SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    Ok(find_or_create_named(conn, actor, school, name, now)
        .await?
        .0)
}

/// As [`find_or_create`], with the name as stored (which may differ from `name` in
/// case).
pub async fn find_or_create_named(
    conn: &mut SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    name: &str,
    now: DateTime<Utc>,
) -> Result<(Uuid, String), StoreError> {
    let existing: Option<(String, String)> = sqlx::query_as(
        "select id, name from location where school_id = ? and name = ? collate nocase",
    )
    .bind(school.0)
    .bind(name)
    .fetch_optional(&mut *conn)
    .await?;
    if let Some((id, stored)) = existing {
        return Ok((parse_uuid(&id)?, stored));
    }
    let id = Uuid::new_v4();
    sqlx::query("insert into location (id, school_id, name, created_at) values (?, ?, ?, ?)")
        .bind(id.to_string())
        .bind(school.0)
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
    pub async fn location_names(&self, school: SchoolId) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "select name from location where school_id = ? order by name collate nocase",
        )
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }

    /// `school`'s locations, each with how many devices call it home.
    pub async fn list_locations(&self, school: SchoolId) -> Result<Vec<Location>, StoreError> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            // The counts come from the device tally (migration 0010): one pass over a
            // few thousand rows instead of every device.
            "select l.id, l.name, coalesce(c.devices, 0)
             from location l left join (select location_id, sum(devices) as devices from device_tally
                                        where school_id = ?1 and status <> 'retired' group by location_id) c
                                  on c.location_id = l.id
             where l.school_id = ?1
             order by l.name collate nocase",
        )
        .bind(school.0)
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

/// Whether a location of `school` other than `except` is called `name` (case aside).
pub async fn name_taken_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, StoreError> {
    crate::db::name_taken_in(conn, "location", school, name, except).await
}

/// `school`'s location with this id, inside the caller's transaction; not found
/// when it is another school's.
pub async fn location_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Location, StoreError> {
    let (name, devices): (String, i64) = sqlx::query_as(
        "select l.name, coalesce((select sum(devices) from device_tally t
                                  where t.school_id = l.school_id and t.location_id = l.id
                                      and t.status <> 'retired'), 0)
         from location l where l.id = ? and l.school_id = ?",
    )
    .bind(id.to_string())
    .bind(school.0)
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
