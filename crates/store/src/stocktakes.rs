//! Stocktakes: opening one for a scope, marking devices seen (several people at
//! once), closing it with a frozen result, and moving misplaced devices home.

use chrono::{DateTime, Utc};
use kitroom_core::stocktake::{self, Expected, Mark, Outcome};
use kitroom_core::Invalid;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, parse_word, time_text, Actor, Store, StoreError};
use crate::devices::get_device;
use crate::events::{append, Subject};

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

    fn subject(&self) -> Subject {
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
    (select count(*) from stocktake_mark m where m.stocktake_id = s.id) as seen
    from stocktake s join person p on p.id = s.opened_by left join location l on l.id = s.location_id";

async fn expected_in(
    conn: &mut SqliteConnection,
    location: Option<Uuid>,
) -> Result<Vec<Expected>, StoreError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        "select id, location_id, status from device where status <> 'retired' and (?1 is null or location_id = ?1)",
    )
    .bind(location.map(|l| l.to_string()))
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

async fn get_stocktake(conn: &mut SqliteConnection, id: Uuid) -> Result<Stocktake, StoreError> {
    let r: StocktakeRow = sqlx::query_as(&format!("{STOCKTAKE} where s.id = ?"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let location_id = r.location_id.as_deref().map(parse_uuid).transpose()?;
    let expected = match r.closed_at {
        // Once closed, the expected set is the frozen result.
        Some(_) => {
            sqlx::query_scalar("select count(*) from stocktake_result where stocktake_id = ?1 and (?2 is null or home_location_id = ?2)")
                .bind(id.to_string())
                .bind(location_id.map(|l| l.to_string()))
                .fetch_one(&mut *conn)
                .await?
        }
        None => expected_in(conn, location_id).await?.len() as i64,
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
        seen: r.seen,
    })
}

/// What happened when a tag was scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scan {
    /// Marked as seen now. `lost`: the register says it was lost or stolen.
    Seen {
        tag: String,
        elsewhere: bool,
        lost: bool,
    },
    /// Someone had already scanned it.
    AlreadySeen { tag: String },
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
    /// Opens a stocktake of one location, or of the whole school.
    pub async fn open_stocktake(
        &self,
        actor: Actor,
        location: Option<Uuid>,
    ) -> Result<Stocktake, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let number: i64 = sqlx::query_scalar("select coalesce(max(number), 0) + 1 from stocktake").fetch_one(&mut *conn).await?;
                let id = Uuid::new_v4();
                let inserted = sqlx::query("insert into stocktake (id, number, location_id, opened_by, opened_at) values (?, ?, ?, ?, ?)")
                    .bind(id.to_string())
                    .bind(number)
                    .bind(location.map(|l| l.to_string()))
                    .bind(actor.id.map(|a| a.to_string()))
                    .bind(time_text(now))
                    .execute(&mut *conn)
                    .await;
                match inserted {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(Invalid::one("location", "A stocktake of that location is already open. Join it from the list instead.").into())
                    }
                    other => other?,
                };
                let s = get_stocktake(conn, id).await?;
                append(conn, &actor, "stocktake.opened", &s.subject(), json!({"scope": s.scope, "expected": s.expected}), now).await?;
                Ok(s)
            })
        })
        .await
    }

    pub async fn stocktake(&self, id: Uuid) -> Result<Option<Stocktake>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        match get_stocktake(&mut conn, id).await {
            Ok(s) => Ok(Some(s)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every stocktake, newest first.
    pub async fn list_stocktakes(&self) -> Result<Vec<Stocktake>, StoreError> {
        let ids: Vec<String> =
            sqlx::query_scalar("select id from stocktake order by number desc limit 200")
                .fetch_all(self.reader())
                .await?;
        let mut conn = self.reader().acquire().await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(get_stocktake(&mut conn, parse_uuid(&id)?).await?);
        }
        Ok(out)
    }

    /// Open stocktakes whose scope includes a device at `home`.
    pub async fn open_stocktakes_for(&self, home: &str) -> Result<Vec<Stocktake>, StoreError> {
        let ids: Vec<String> = sqlx::query_scalar(
            "select s.id from stocktake s left join location l on l.id = s.location_id
             where s.closed_at is null and (s.location_id is null or l.name = ?) order by s.number",
        )
        .bind(home)
        .fetch_all(self.reader())
        .await?;
        let mut conn = self.reader().acquire().await?;
        let mut out = Vec::new();
        for id in ids {
            out.push(get_stocktake(&mut conn, parse_uuid(&id)?).await?);
        }
        Ok(out)
    }

    /// Marks the device with `tag` as seen at `seen_at` (the stocktake's location
    /// when it has one; otherwise where the scanner is, or the device's home).
    pub async fn mark_seen(
        &self,
        actor: Actor,
        stocktake: Uuid,
        tag: String,
        seen_at: Option<Uuid>,
    ) -> Result<Scan, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let s = get_stocktake(conn, stocktake).await?;
                if !s.is_open() {
                    return Err(Invalid::one("tag", "This stocktake is closed.").into());
                }
                let device_id: Option<String> = sqlx::query_scalar("select id from device where tag = ? collate nocase")
                    .bind(tag.trim())
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some(device_id) = device_id else {
                    return Err(Invalid::one("tag", format!("No device has the tag “{}”. Check the label; if it is new, register it first.", tag.trim())).into());
                };
                let device = get_device(conn, parse_uuid(&device_id)?).await?;
                let home: String = sqlx::query_scalar("select location_id from device where id = ?").bind(&device_id).fetch_one(&mut *conn).await?;
                let home = parse_uuid(&home)?;
                let at = s.location_id.or(seen_at).unwrap_or(home);
                let done = sqlx::query(
                    "insert into stocktake_mark (stocktake_id, device_id, seen_location_id, seen_by, seen_at) values (?, ?, ?, ?, ?)
                     on conflict do nothing",
                )
                .bind(stocktake.to_string())
                .bind(&device_id)
                .bind(at.to_string())
                .bind(actor.id.map(|a| a.to_string()))
                .bind(time_text(now))
                .execute(&mut *conn)
                .await?;
                let tag = device.details.tag.to_string();
                if done.rows_affected() == 0 {
                    return Ok(Scan::AlreadySeen { tag });
                }
                append(conn, &actor, "stocktake.seen", &device.subject(), json!({"stocktake": s.number, "elsewhere": at != home}), now).await?;
                Ok(Scan::Seen { tag, elsewhere: at != home, lost: device.status == kitroom_core::device::DeviceStatus::Lost })
            })
        })
        .await
    }

    /// Devices in an open stocktake's scope not seen yet, by tag.
    pub async fn unseen(&self, stocktake: Uuid) -> Result<Vec<Unseen>, StoreError> {
        let s = self
            .stocktake(stocktake)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(sqlx::query_as(
            "select d.tag, trim(d.kind || ' ' || d.make || ' ' || d.model) as name, l.name as home, d.status
             from device d join location l on l.id = d.location_id
             where d.status <> 'retired' and (?1 is null or d.location_id = ?1)
               and not exists (select 1 from stocktake_mark m where m.stocktake_id = ?2 and m.device_id = d.id)
             order by d.tag collate nocase limit 2000",
        )
        .bind(s.location_id.map(|l| l.to_string()))
        .bind(stocktake.to_string())
        .fetch_all(self.reader())
        .await?)
    }

    /// Closes a stocktake: freezes every device's outcome and stamps each device
    /// seen with today's date as last audited.
    pub async fn close_stocktake(
        &self,
        actor: Actor,
        stocktake: Uuid,
        today: chrono::NaiveDate,
    ) -> Result<Stocktake, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let s = get_stocktake(conn, stocktake).await?;
                if !s.is_open() {
                    return Err(Invalid::one("stocktake", "This stocktake is already closed.").into());
                }
                let expected = expected_in(conn, s.location_id).await?;
                let marks: Vec<(String, String)> = sqlx::query_as("select device_id, seen_location_id from stocktake_mark where stocktake_id = ?")
                    .bind(stocktake.to_string())
                    .fetch_all(&mut *conn)
                    .await?;
                let marks: Vec<Mark> =
                    marks.into_iter().map(|(d, l)| Ok(Mark { device: parse_uuid(&d)?, seen_at: parse_uuid(&l)? })).collect::<Result<_, StoreError>>()?;
                let mut counts = std::collections::BTreeMap::<&str, i64>::new();
                for (device, outcome, seen_at) in stocktake::outcomes(&expected, &marks) {
                    let home: String = sqlx::query_scalar("select location_id from device where id = ?").bind(device.to_string()).fetch_one(&mut *conn).await?;
                    sqlx::query(
                        "insert into stocktake_result (stocktake_id, device_id, outcome, home_location_id, seen_location_id) values (?, ?, ?, ?, ?)",
                    )
                    .bind(stocktake.to_string())
                    .bind(device.to_string())
                    .bind(outcome.as_str())
                    .bind(home)
                    .bind(seen_at.map(|l| l.to_string()))
                    .execute(&mut *conn)
                    .await?;
                    if matches!(outcome, Outcome::Seen | Outcome::SeenElsewhere) {
                        sqlx::query("update device set last_audited_on = ? where id = ?").bind(today.to_string()).bind(device.to_string()).execute(&mut *conn).await?;
                    }
                    *counts.entry(outcome.as_str()).or_default() += 1;
                }
                sqlx::query("update stocktake set closed_at = ?, closed_by = ? where id = ?")
                    .bind(time_text(now))
                    .bind(actor.id.map(|a| a.to_string()))
                    .bind(stocktake.to_string())
                    .execute(&mut *conn)
                    .await?;
                append(conn, &actor, "stocktake.closed", &s.subject(), json!(counts), now).await?;
                get_stocktake(conn, stocktake).await
            })
        })
        .await
    }

    /// A closed stocktake's result, by outcome then tag.
    pub async fn stocktake_results(&self, stocktake: Uuid) -> Result<Vec<ResultRow>, StoreError> {
        Ok(sqlx::query_as(
            "select r.device_id, d.tag, trim(d.kind || ' ' || d.make || ' ' || d.model) as name, r.outcome, h.name as home,
               s.name as seen_at, c.name as current_home
             from stocktake_result r join device d on d.id = r.device_id join location h on h.id = r.home_location_id
             left join location s on s.id = r.seen_location_id join location c on c.id = d.location_id
             where r.stocktake_id = ? order by r.outcome, d.tag collate nocase",
        )
        .bind(stocktake.to_string())
        .fetch_all(self.reader())
        .await?)
    }

    /// "Move it here": a device seen in another location than recorded gets that
    /// location as its home.
    pub async fn move_to_seen_location(
        &self,
        actor: Actor,
        stocktake: Uuid,
        device: Uuid,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let row: Option<(String, Option<String>)> =
                    sqlx::query_as("select outcome, seen_location_id from stocktake_result where stocktake_id = ? and device_id = ?")
                        .bind(stocktake.to_string())
                        .bind(device.to_string())
                        .fetch_optional(&mut *conn)
                        .await?;
                let (outcome, Some(seen)) = row.ok_or(StoreError::NotFound)? else {
                    return Err(Invalid::one("device", "This device was not seen in this stocktake.").into());
                };
                if outcome != Outcome::SeenElsewhere.as_str() {
                    return Err(Invalid::one("device", "This device was seen where it belongs.").into());
                }
                let d = get_device(conn, device).await?;
                let to: String = sqlx::query_scalar("select name from location where id = ?").bind(&seen).fetch_one(&mut *conn).await?;
                sqlx::query("update device set location_id = ?, updated_at = ? where id = ?")
                    .bind(&seen)
                    .bind(time_text(now))
                    .bind(device.to_string())
                    .execute(&mut *conn)
                    .await?;
                append(
                    conn,
                    &actor,
                    "device.updated",
                    &d.subject(),
                    json!({"location": {"from": d.details.location, "to": to}, "note": "moved to where the stocktake found it"}),
                    now,
                )
                .await?;
                Ok(())
            })
        })
        .await
    }
}
