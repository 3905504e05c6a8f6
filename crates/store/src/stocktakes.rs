//! Stocktakes, persisted: a stocktake's row, the marks of devices seen (several
//! people at once), the result frozen when it closes, and reads of all three.
//!
//! What may happen, and what it means, is decided in `kitroom_core::stocktake`
//! and run by `kitroom_app::stocktakes`; the functions here only read the facts
//! and write the decisions, inside the caller's transaction.

use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::school::SchoolId;
use kitroom_core::stocktake::{Expected, Mark, Outcome};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, parse_word, time_text, Store, StoreError};
use crate::events::Subject;

/// A stocktake with its progress.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stocktake {
    pub id: Uuid,
    pub number: i64,
    pub location_id: Option<Uuid>,
    /// The location's name, or "Whole school".
    pub scope: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub closed_at: Option<DateTime<Utc>>,
    pub expected: i64,
    pub seen: i64,
}

impl Stocktake {
    pub fn is_open(&self) -> bool {
        self.closed_at.is_none()
    }

    /// How the activity log names it.
    pub fn subject(&self) -> Subject {
        Subject {
            key: format!("stocktake:{}", self.id),
            label: format!("Stocktake {}", self.number),
        }
    }
}

#[derive(sqlx::FromRow)]
struct StocktakeRow {
    number: i64,
    location_id: Option<String>,
    scope: Option<String>,
    opened_by: String,
    opened_at: String,
    closed_at: Option<String>,
    seen: i64,
}

const STOCKTAKE: &str = "select s.id, s.number, s.location_id, l.name as scope, p.username as opened_by, s.opened_at, s.closed_at,
    (select count(*) from stocktake_mark m join device d on d.id = m.device_id
        where m.stocktake_id = s.id and d.status <> 'retired'
        and (s.location_id is null or d.location_id = s.location_id)) as seen
    from stocktake s join person p on p.id = s.opened_by left join location l on l.id = s.location_id";

/// The devices a stocktake of `school`'s `location` (or the whole school) expects:
/// every device there that is not retired.
pub async fn expected_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    location: Option<Uuid>,
) -> Result<Vec<Expected>, StoreError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select id, location_id, status from device
         where school_id = ?2 and status <> 'retired' and (?1 is null or location_id = ?1)",
    )
    .bind(location.map(|l| l.to_string()))
    .bind(school.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id, home, status)| {
            Ok(Expected {
                device: parse_uuid(&id)?,
                home: parse_uuid(&home)?,
                status: parse_word(&status)?,
            })
        })
        .collect()
}

/// A stocktake with its progress, as it is inside the transaction.
/// `school`'s stocktake with this id, if there is one.
pub async fn stocktake_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Option<Stocktake>, StoreError> {
    match get_stocktake(conn, school, id).await {
        Ok(s) => Ok(Some(s)),
        Err(StoreError::NotFound) => Ok(None),
        Err(e) => Err(e),
    }
}

async fn get_stocktake(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Stocktake, StoreError> {
    let r: StocktakeRow =
        sqlx::query_as(&format!("{STOCKTAKE} where s.id = ? and s.school_id = ?"))
            .bind(id.to_string())
            .bind(school.0)
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
    let location_id = r.location_id.as_deref().map(parse_uuid).transpose()?;
    // Progress counts only the devices in scope: a device that belongs elsewhere,
    // scanned here, is in the result (seen in another location) but is not one of
    // the expected, so it never raises "4 of 5 seen".
    let (expected, seen) = match r.closed_at {
        // Once closed, both come from the frozen result, so the closed page's
        // "3 of 5 seen" agrees with its "3 seen, 2 missing".
        Some(_) => {
            sqlx::query_as::<_, (i64, i64)>(
                "select count(*), coalesce(sum(outcome in ('seen', 'seen_elsewhere')), 0)
                 from stocktake_result where stocktake_id = ?1 and (?2 is null or home_location_id = ?2)",
            )
            .bind(id.to_string())
            .bind(location_id.map(|l| l.to_string()))
            .fetch_one(&mut *conn)
            .await?
        }
        None => (
            expected_in(conn, school, location_id).await?.len() as i64,
            r.seen,
        ),
    };
    Ok(Stocktake {
        id,
        number: r.number,
        location_id,
        scope: r.scope.unwrap_or_else(|| "Whole school".into()),
        opened_by: r.opened_by,
        opened_at: parse_time(&r.opened_at)?,
        closed_at: r.closed_at.as_deref().map(parse_time).transpose()?,
        expected,
        seen,
    })
}

/// One device's line in a closed stocktake's result.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ResultRow {
    pub device_id: String,
    pub tag: String,
    pub name: String,
    pub outcome: String,
    pub home: String,
    pub seen_at: Option<String>,
    /// Where the device lives now (after any "move it here").
    pub current_home: String,
}

/// A device not yet seen in an open stocktake.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Unseen {
    pub tag: String,
    pub name: String,
    pub home: String,
    pub status: String,
}

impl Store {
    /// `school`'s stocktake with this id, if there is one.
    pub async fn stocktake(
        &self,
        school: SchoolId,
        id: Uuid,
    ) -> Result<Option<Stocktake>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        match get_stocktake(&mut conn, school, id).await {
            Ok(s) => Ok(Some(s)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every stocktake of `school`, newest first.
    pub async fn list_stocktakes(&self, school: SchoolId) -> Result<Vec<Stocktake>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "select id from stocktake where school_id = ? order by number desc limit 200",
        )
        .bind(school.0)
        .fetch_all(self.reader())
        .await?;
        let mut conn = self.reader().acquire().await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(get_stocktake(&mut conn, school, parse_uuid(&id)?).await?);
        }
        Ok(out)
    }

    /// `school`'s open stocktakes whose scope includes a device at `home`.
    pub async fn open_stocktakes_for(
        &self,
        school: SchoolId,
        home: &str,
    ) -> Result<Vec<Stocktake>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "select s.id from stocktake s left join location l on l.id = s.location_id
             where s.school_id = ? and s.closed_at is null and (s.location_id is null or l.name = ?)
             order by s.number",
        )
        .bind(school.0)
        .bind(home)
        .fetch_all(self.reader())
        .await?;
        let mut conn = self.reader().acquire().await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(get_stocktake(&mut conn, school, parse_uuid(&id)?).await?);
        }
        Ok(out)
    }

    /// Devices in `school`'s open stocktake's scope not seen yet, by tag.
    pub async fn unseen(
        &self,
        school: SchoolId,
        stocktake: Uuid,
    ) -> Result<Vec<Unseen>, StoreError> {
        let s = self
            .stocktake(school, stocktake)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(sqlx::query_as(
            "select d.tag, trim(d.kind || ' ' || d.make || ' ' || d.model) as name, l.name as home, d.status
             from device d join location l on l.id = d.location_id
             where d.school_id = ?3 and d.status <> 'retired' and (?1 is null or d.location_id = ?1)
               and not exists (select 1 from stocktake_mark m where m.stocktake_id = ?2 and m.device_id = d.id)
             order by d.tag collate nocase limit 2000",
        )
        .bind(s.location_id.map(|l| l.to_string()))
        .bind(stocktake.to_string())
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }

    /// `school`'s closed stocktake's result, by outcome then tag.
    pub async fn stocktake_results(
        &self,
        school: SchoolId,
        stocktake: Uuid,
    ) -> Result<Vec<ResultRow>, StoreError> {
        Ok(sqlx::query_as(
            "select r.device_id, d.tag, trim(d.kind || ' ' || d.make || ' ' || d.model) as name, r.outcome, h.name as home,
               s.name as seen_at, c.name as current_home
             from stocktake_result r join device d on d.id = r.device_id join location h on h.id = r.home_location_id
             left join location s on s.id = r.seen_location_id join location c on c.id = d.location_id
             where r.stocktake_id = ?
               and r.stocktake_id in (select id from stocktake where school_id = ?)
             order by r.outcome, d.tag collate nocase",
        )
        .bind(stocktake.to_string())
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }
}

/// Whether a stocktake was opened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opened {
    Written,
    /// One of the same scope is open already: the database's unique index
    /// `stocktake_one_open` refused a second (two managers opening at once too).
    ScopeAlreadyOpen,
}

/// Writes a new open stocktake of `school`'s `location` (or the whole school),
/// numbered next (numbers run across the trust's schools: `number` is unique).
pub async fn insert_stocktake_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
    location: Option<Uuid>,
    opened_by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<Opened, StoreError> {
    let number: i64 = sqlx::query_scalar("select coalesce(max(number), 0) + 1 from stocktake")
        .fetch_one(&mut *conn)
        .await?;
    let inserted = sqlx::query(
        "insert into stocktake (id, school_id, number, location_id, opened_by, opened_at) values (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(school.0)
    .bind(number)
    .bind(location.map(|l| l.to_string()))
    .bind(opened_by.map(|a| a.to_string()))
    .bind(time_text(now))
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(Opened::ScopeAlreadyOpen),
        other => other.map(|_| Opened::Written).map_err(Into::into),
    }
}

/// `school`'s location named by its id or its name (any case): its id and name.
pub async fn location_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id_or_name: &str,
) -> Result<Option<(Uuid, String)>, StoreError> {
    let row: Option<(String, String)> = sqlx::query_as(
        "select id, name from location where school_id = ?2 and (id = ?1 or name = ?1 collate nocase)
         order by id = ?1 desc limit 1",
    )
    .bind(id_or_name.trim())
    .bind(school.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(id, name)| Ok((parse_uuid(&id)?, name)))
        .transpose()
}

/// The id of `school`'s device with `tag` (any case), if there is one.
pub async fn device_id_by_tag_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    tag: &str,
) -> Result<Option<Uuid>, StoreError> {
    let id: Option<String> =
        sqlx::query_scalar("select id from device where school_id = ? and tag = ? collate nocase")
            .bind(school.0)
            .bind(tag.trim())
            .fetch_optional(&mut *conn)
            .await?;
    id.as_deref().map(parse_uuid).transpose()
}

/// The id of the location a device lives in.
pub async fn home_of_in(conn: &mut SqliteConnection, device: Uuid) -> Result<Uuid, StoreError> {
    let home: String = sqlx::query_scalar("select location_id from device where id = ?")
        .bind(device.to_string())
        .fetch_one(&mut *conn)
        .await?;
    parse_uuid(&home)
}

/// Marks a device seen at `at`. False when it had been marked already (whoever
/// scanned it first keeps the mark).
pub async fn insert_mark_in(
    conn: &mut SqliteConnection,
    stocktake: Uuid,
    device: Uuid,
    at: Uuid,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "insert into stocktake_mark (stocktake_id, device_id, seen_location_id, seen_by, seen_at) values (?, ?, ?, ?, ?)
         on conflict do nothing",
    )
    .bind(stocktake.to_string())
    .bind(device.to_string())
    .bind(at.to_string())
    .bind(by.map(|a| a.to_string()))
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}

/// Every device marked seen in a stocktake, and where.
pub async fn marks_in(
    conn: &mut SqliteConnection,
    stocktake: Uuid,
) -> Result<Vec<Mark>, StoreError> {
    let marks: Vec<(String, String)> = sqlx::query_as(
        "select device_id, seen_location_id from stocktake_mark where stocktake_id = ?",
    )
    .bind(stocktake.to_string())
    .fetch_all(&mut *conn)
    .await?;
    marks
        .into_iter()
        .map(|(d, l)| {
            Ok(Mark {
                device: parse_uuid(&d)?,
                seen_at: parse_uuid(&l)?,
            })
        })
        .collect()
}

/// Freezes one device's outcome in a closing stocktake's result, with its home now.
pub async fn insert_result_in(
    conn: &mut SqliteConnection,
    stocktake: Uuid,
    device: Uuid,
    outcome: Outcome,
    seen_at: Option<Uuid>,
) -> Result<(), StoreError> {
    let home = home_of_in(conn, device).await?;
    sqlx::query(
        "insert into stocktake_result (stocktake_id, device_id, outcome, home_location_id, seen_location_id) values (?, ?, ?, ?, ?)",
    )
    .bind(stocktake.to_string())
    .bind(device.to_string())
    .bind(outcome.as_str())
    .bind(home.to_string())
    .bind(seen_at.map(|l| l.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Stamps a device's last-audited date.
pub async fn stamp_audited_in(
    conn: &mut SqliteConnection,
    device: Uuid,
    on: NaiveDate,
) -> Result<(), StoreError> {
    sqlx::query("update device set last_audited_on = ? where id = ?")
        .bind(on.to_string())
        .bind(device.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Marks a stocktake closed.
pub async fn close_in(
    conn: &mut SqliteConnection,
    stocktake: Uuid,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("update stocktake set closed_at = ?, closed_by = ? where id = ?")
        .bind(time_text(now))
        .bind(by.map(|a| a.to_string()))
        .bind(stocktake.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// One device's frozen outcome in a closed stocktake, and where it was seen; none
/// when the result has no line for it (or the stocktake is still open).
pub async fn result_of_in(
    conn: &mut SqliteConnection,
    stocktake: Uuid,
    device: Uuid,
) -> Result<Option<(Outcome, Option<Uuid>)>, StoreError> {
    let row: Option<(String, Option<String>)> = sqlx::query_as(
        "select outcome, seen_location_id from stocktake_result where stocktake_id = ? and device_id = ?",
    )
    .bind(stocktake.to_string())
    .bind(device.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(o, seen)| {
        Ok((
            parse_word(&o)?,
            seen.as_deref().map(parse_uuid).transpose()?,
        ))
    })
    .transpose()
}

/// Gives a device a new home location. Returns the new home's name.
pub async fn set_home_in(
    conn: &mut SqliteConnection,
    device: Uuid,
    location: Uuid,
    now: DateTime<Utc>,
) -> Result<String, StoreError> {
    let name: String = sqlx::query_scalar("select name from location where id = ?")
        .bind(location.to_string())
        .fetch_one(&mut *conn)
        .await?;
    sqlx::query("update device set location_id = ?, updated_at = ? where id = ?")
        .bind(location.to_string())
        .bind(time_text(now))
        .bind(device.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(name)
}
