//! Sets and trolleys: devices grouped to be lent and returned as one.
//!
//! A set's check-out is a `loan_group` with one ordinary loan per device that went.
//! Persistence only: making a set, putting devices in and taking them out are
//! decided by `kitroom_app::set_admin`, the check-out and return by
//! `kitroom_app::sets`, through the functions here and in `loans`.

use chrono::{DateTime, Utc};
use kitroom_core::device::DeviceStatus;
use kitroom_core::school::SchoolId;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, parse_word, time_text, Store, StoreError};
use crate::events::Subject;
use crate::loans::Loan;

/// A set in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitSummary {
    pub id: Uuid,
    pub name: String,
    pub devices: i64,
    pub available: i64,
    /// Who has it, when it is out.
    pub out_to: Option<String>,
}

/// One device of a set, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitDevice {
    pub id: Uuid,
    pub tag: String,
    pub name: String,
    pub kind: String,
    pub status: DeviceStatus,
}

/// One check-out of a set and its loans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanGroup {
    pub id: Uuid,
    pub kit_id: Uuid,
    pub kit_name: String,
    pub borrower: String,
    pub borrower_name: String,
    pub out_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub purpose: String,
    pub returned_at: Option<DateTime<Utc>>,
    /// The device loans, by tag.
    pub loans: Vec<Loan>,
}

/// A set with its devices and its open check-out, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kit {
    pub id: Uuid,
    pub name: String,
    pub notes: String,
    pub devices: Vec<KitDevice>,
    pub open: Option<LoanGroup>,
}

impl Kit {
    pub fn subject(&self) -> Subject {
        kit_subject(self.id, &self.name)
    }
}

pub fn kit_subject(id: Uuid, name: &str) -> Subject {
    Subject {
        key: format!("kit:{id}"),
        label: name.to_owned(),
    }
}

/// A device that did not come back with its set and is still lost: for the
/// manager's desk.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MissingFromSet {
    pub tag: String,
    pub kit_name: String,
    pub borrower_name: String,
    pub returned_at: String,
    pub incident_id: Option<String>,
}

async fn kit_devices_in(
    conn: &mut SqliteConnection,
    kit: Uuid,
) -> Result<Vec<KitDevice>, StoreError> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "select d.id, d.tag, trim(d.make || ' ' || d.model), d.kind, d.status from kit_device k
         join device d on d.id = k.device_id where k.kit_id = ? order by d.tag collate nocase",
    )
    .bind(kit.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id, tag, name, kind, status)| {
            Ok(KitDevice {
                id: parse_uuid(&id)?,
                tag,
                name,
                kind,
                status: parse_word(&status)?,
            })
        })
        .collect()
}

type GroupRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

async fn group_in(conn: &mut SqliteConnection, row: GroupRow) -> Result<LoanGroup, StoreError> {
    let (id, kit_id, kit_name, borrower, borrower_name, out_at, due_at, purpose, returned_at) = row;
    let loans = crate::loans::loans_of_group_in(conn, &id).await?;
    Ok(LoanGroup {
        id: parse_uuid(&id)?,
        kit_id: parse_uuid(&kit_id)?,
        kit_name,
        borrower,
        borrower_name,
        out_at: parse_time(&out_at)?,
        due_at: parse_time(&due_at)?,
        purpose,
        returned_at: returned_at.as_deref().map(parse_time).transpose()?,
        loans,
    })
}

const GROUP: &str = "select g.id, g.kit_id, k.name, b.username, b.full_name, g.out_at, g.due_at, g.purpose, g.returned_at
    from loan_group g join kit k on k.id = g.kit_id join person b on b.id = g.borrower_id";

/// A set's open check-out, inside the caller's transaction.
pub async fn open_group_in(
    conn: &mut SqliteConnection,
    kit: Uuid,
) -> Result<Option<LoanGroup>, StoreError> {
    let row: Option<GroupRow> = sqlx::query_as(&format!(
        "{GROUP} where g.kit_id = ? and g.returned_at is null"
    ))
    .bind(kit.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) => Ok(Some(group_in(conn, r).await?)),
        None => Ok(None),
    }
}

/// `school`'s set `id` with its devices and open check-out, inside the caller's
/// transaction.
pub async fn kit_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Kit, StoreError> {
    let (name, notes): (String, String) =
        sqlx::query_as("select name, notes from kit where id = ? and school_id = ?")
            .bind(id.to_string())
            .bind(school.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
    Ok(Kit {
        id,
        name,
        notes,
        devices: kit_devices_in(conn, id).await?,
        open: open_group_in(conn, id).await?,
    })
}

/// Whether another set of `school` than `except` has the name `name`, whatever its
/// case.
pub async fn name_taken_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, StoreError> {
    let found: Option<String> = sqlx::query_scalar(
        "select id from kit where school_id = ? and name = ? collate nocase and id <> ?",
    )
    .bind(school.0)
    .bind(name)
    .bind(except.map(|i| i.to_string()).unwrap_or_default())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(found.is_some())
}

/// Writes a new, empty set. `false` when the name is taken after all (the
/// database's unique index refused it: two managers naming sets at once).
pub async fn insert_kit_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
    name: &str,
    notes: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "insert into kit (id, school_id, name, notes, created_at) values (?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(school.0)
    .bind(name)
    .bind(notes)
    .bind(time_text(now))
    .execute(&mut *conn)
    .await;
    match r {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        other => other.map(|_| true).map_err(Into::into),
    }
}

/// Writes a set's name and notes. `false` when the name is taken after all.
pub async fn update_kit_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    name: &str,
    notes: &str,
) -> Result<bool, StoreError> {
    let r = sqlx::query("update kit set name = ?, notes = ? where id = ?")
        .bind(name)
        .bind(notes)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await;
    match r {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        other => other.map(|_| true).map_err(Into::into),
    }
}

/// A device, found by its tag (any case), and the set it is in, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInSet {
    pub id: Uuid,
    /// The tag as registered.
    pub tag: String,
    /// The set's id and name.
    pub set: Option<(Uuid, String)>,
}

/// `school`'s device with the tag `tag` (any case) and its set, inside the
/// caller's transaction.
pub async fn device_in_set_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    tag: &str,
) -> Result<Option<DeviceInSet>, StoreError> {
    let row: Option<(String, String, Option<String>, Option<String>)> = sqlx::query_as(
        "select d.id, d.tag, k.id, k.name from device d
         left join kit_device kd on kd.device_id = d.id left join kit k on k.id = kd.kit_id
         where d.school_id = ? and d.tag = ? collate nocase",
    )
    .bind(school.0)
    .bind(tag)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(id, tag, kit, name)| {
        Ok(DeviceInSet {
            id: parse_uuid(&id)?,
            tag,
            set: match (kit, name) {
                (Some(k), Some(n)) => Some((parse_uuid(&k)?, n)),
                _ => None,
            },
        })
    })
    .transpose()
}

/// Puts a device into a set, as decided.
pub async fn add_device_in(
    conn: &mut SqliteConnection,
    kit: Uuid,
    device: Uuid,
) -> Result<(), StoreError> {
    sqlx::query("insert into kit_device (kit_id, device_id) values (?, ?)")
        .bind(kit.to_string())
        .bind(device.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Takes a device out of a set, as decided.
pub async fn remove_device_in(
    conn: &mut SqliteConnection,
    kit: Uuid,
    device: Uuid,
) -> Result<(), StoreError> {
    sqlx::query("delete from kit_device where kit_id = ? and device_id = ?")
        .bind(kit.to_string())
        .bind(device.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

impl Store {
    /// `school`'s sets, by name.
    pub async fn list_kits(&self, school: SchoolId) -> Result<Vec<KitSummary>, StoreError> {
        let rows: Vec<(String, String, i64, i64, Option<String>)> = sqlx::query_as(
            "select k.id, k.name,
               (select count(*) from kit_device kd where kd.kit_id = k.id),
               (select count(*) from kit_device kd join device d on d.id = kd.device_id where kd.kit_id = k.id and d.status = 'available'),
               (select p.full_name from loan_group g join person p on p.id = g.borrower_id where g.kit_id = k.id and g.returned_at is null)
             from kit k where k.school_id = ? order by k.name collate nocase",
        )
        .bind(school.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(id, name, devices, available, out_to)| {
                Ok(KitSummary {
                    id: parse_uuid(&id)?,
                    name,
                    devices,
                    available,
                    out_to,
                })
            })
            .collect()
    }

    /// `school`'s set `id`.
    pub async fn kit(&self, school: SchoolId, id: Uuid) -> Result<Option<Kit>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        match kit_in(&mut conn, school, id).await {
            Ok(k) => Ok(Some(k)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A set by name (any case), for a scanned label or the API.
    pub async fn kit_by_name(
        &self,
        school: SchoolId,
        name: &str,
    ) -> Result<Option<Kit>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "select id from kit where school_id = ? and name = ? collate nocase",
        )
        .bind(school.0)
        .bind(name.trim())
        .fetch_optional(self.reader())
        .await?;
        match id {
            Some(id) => self.kit(school, parse_uuid(&id)?).await,
            None => Ok(None),
        }
    }

    /// Devices that did not come back with their set and are still lost, newest first.
    pub async fn missing_from_sets(
        &self,
        school: SchoolId,
    ) -> Result<Vec<MissingFromSet>, StoreError> {
        Ok(sqlx::query_as(MISSING_FROM_SETS)
            .bind(school.0)
            .fetch_all(self.reader())
            .await?)
    }
}

/// The manager's desk's list of devices that did not come back with their set and
/// are still lost, newest first, of the school `?`. Found from the few loans marked missing (the
/// partial index `loan_missing_on_return`): `cross join` keeps SQLite from starting
/// at every lost device instead and reading each one's loans (1,000 lost devices at
/// 100,000).
pub const MISSING_FROM_SETS: &str =
    "select d.tag, k.name as kit_name, b.full_name as borrower_name, g.returned_at,
       (select i.id from incident i where i.device_id = d.id and i.kind = 'loss' and i.status <> 'resolved'
          order by i.reported_at desc limit 1) as incident_id
     from loan l cross join device d on d.id = l.device_id
     join loan_group g on g.id = l.group_id join kit k on k.id = g.kit_id join person b on b.id = l.borrower_id
     where l.missing_on_return = 1 and d.status = 'lost' and +d.school_id = ?
     order by g.returned_at desc limit 200";

/// A set's check-out to write, as decided.
#[derive(Debug, Clone)]
pub struct NewGroup<'a> {
    pub id: Uuid,
    pub kit: Uuid,
    pub borrower: Uuid,
    pub issued_by: Uuid,
    pub out_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub purpose: &'a str,
}

/// Writes a set's check-out. `false` when the set already has an open one (the
/// database's unique index refused a second: two check-outs racing).
pub async fn insert_group_in(
    conn: &mut SqliteConnection,
    g: &NewGroup<'_>,
) -> Result<bool, StoreError> {
    let inserted = sqlx::query(
        "insert into loan_group (id, kit_id, borrower_id, issued_by, out_at, due_at, purpose) values (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(g.id.to_string())
    .bind(g.kit.to_string())
    .bind(g.borrower.to_string())
    .bind(g.issued_by.to_string())
    .bind(time_text(g.out_at))
    .bind(time_text(g.due_at))
    .bind(g.purpose)
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        other => other.map(|_| true).map_err(Into::into),
    }
}

/// Marks a device's loan in a set's check-out as missing when the set came back.
pub async fn mark_missing_in(
    conn: &mut SqliteConnection,
    group: Uuid,
    device: Uuid,
) -> Result<(), StoreError> {
    sqlx::query("update loan set missing_on_return = 1 where device_id = ? and group_id = ? and returned_at is null")
        .bind(device.to_string())
        .bind(group.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Closes a set's check-out as returned.
pub async fn close_group_in(
    conn: &mut SqliteConnection,
    group: Uuid,
    at: DateTime<Utc>,
    received_by: Option<Uuid>,
) -> Result<(), StoreError> {
    sqlx::query("update loan_group set returned_at = ?, received_by = ? where id = ?")
        .bind(time_text(at))
        .bind(received_by.map(|i| i.to_string()))
        .bind(group.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}
