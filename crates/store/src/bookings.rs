//! Bookings: devices, sets and "any N of a kind" held for a time, collected as a
//! loan, cancelled, or released when nobody collects them.
//!
//! Persistence only: the rules of a new booking are `kitroom_core::booking::book`'s,
//! asked by `kitroom_app::bookings::book` inside the write transaction on the facts
//! read here ([`candidates_in`]), so two people booking the same slot at once
//! cannot both win. The `booking_device_no_overlap` trigger refuses an overlapping
//! row as well ([`hold_in`]).

use chrono::{DateTime, Utc};
use kitroom_core::booking::{self, BookingChange, BookingStatus, Candidate, Slot, Target};
use kitroom_core::device::{DeviceKind, DeviceStatus};
use kitroom_core::school::SchoolId;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, parse_word, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};

/// What a booking is for, with the names a page needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Booked {
    Device { id: Uuid, tag: String },
    Set { id: Uuid, name: String },
    Kind { kind: DeviceKind, count: u32 },
}

impl Booked {
    /// "IPAD-1", "iPad trolley A", "10 Chromebooks".
    pub fn describe(&self) -> String {
        match self {
            Booked::Device { tag, .. } => tag.clone(),
            Booked::Set { name, .. } => name.clone(),
            Booked::Kind { kind, count } => {
                format!("{count} {}", booking::kind_plural(*kind, *count))
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Booking {
    pub id: Uuid,
    pub person: String,
    pub person_name: String,
    pub made_by: String,
    pub booked: Booked,
    pub slot: Slot,
    pub purpose: String,
    pub status: BookingStatus,
    /// The tags of the devices it holds (none once cancelled or released).
    pub devices: Vec<String>,
    pub loan_id: Option<Uuid>,
    pub group_id: Option<Uuid>,
    /// When it was cancelled, released or collected.
    pub closed_at: Option<DateTime<Utc>>,
}

/// Which bookings to list.
#[derive(Debug, Clone, Default)]
pub struct BookingFilter {
    /// The school's bookings; every school's when `None` (one person's own calendar
    /// feed, which follows them to every school).
    pub school: Option<SchoolId>,
    /// Bookings that end after this...
    pub from: Option<DateTime<Utc>>,
    /// ...and start before this.
    pub to: Option<DateTime<Utc>>,
    pub person: Option<Uuid>,
    pub kit: Option<Uuid>,
    /// Only booked and collected ones (not cancelled or released)...
    pub holding: bool,
    /// ...and, with `holding`, also those cancelled after this time: the calendar
    /// feed keeps a cancelled booking for a while, so calendar programs remove it.
    pub cancelled_since: Option<DateTime<Utc>>,
    pub limit: i64,
}

/// What is free for a slot: for the calendar view.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Free {
    /// Devices free by kind, in the kinds' order.
    pub kinds: Vec<(DeviceKind, i64)>,
    pub sets: Vec<(Uuid, String)>,
}

#[derive(sqlx::FromRow)]
struct BookingRow {
    id: String,
    person: String,
    person_name: String,
    made_by: String,
    device_id: Option<String>,
    device_tag: Option<String>,
    kit_id: Option<String>,
    kit_name: Option<String>,
    kind: Option<String>,
    count: i64,
    starts_at: String,
    ends_at: String,
    purpose: String,
    status: String,
    loan_id: Option<String>,
    group_id: Option<String>,
    closed_at: Option<String>,
    devices: Option<String>,
}

impl TryFrom<BookingRow> for Booking {
    type Error = StoreError;
    fn try_from(r: BookingRow) -> Result<Self, StoreError> {
        let booked = match (r.device_id, r.kit_id, r.kind) {
            (Some(id), _, _) => Booked::Device {
                id: parse_uuid(&id)?,
                tag: r.device_tag.unwrap_or_default(),
            },
            (_, Some(id), _) => Booked::Set {
                id: parse_uuid(&id)?,
                name: r.kit_name.unwrap_or_default(),
            },
            (_, _, Some(kind)) => Booked::Kind {
                kind: parse_word(&kind)?,
                count: r.count.clamp(1, 200) as u32,
            },
            _ => {
                return Err(StoreError::Corrupt(format!(
                    "booking {} books nothing",
                    r.id
                )))
            }
        };
        let mut devices: Vec<String> = r
            .devices
            .map(|d| d.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default();
        devices.sort();
        Ok(Booking {
            id: parse_uuid(&r.id)?,
            person: r.person,
            person_name: r.person_name,
            made_by: r.made_by,
            booked,
            slot: Slot {
                starts_at: parse_time(&r.starts_at)?,
                ends_at: parse_time(&r.ends_at)?,
            },
            purpose: r.purpose,
            status: parse_word(&r.status)?,
            devices,
            loan_id: r.loan_id.as_deref().map(parse_uuid).transpose()?,
            group_id: r.group_id.as_deref().map(parse_uuid).transpose()?,
            closed_at: r.closed_at.as_deref().map(parse_time).transpose()?,
        })
    }
}

const BOOKING: &str = "select b.id, p.username as person, p.full_name as person_name, m.username as made_by,
    b.device_id, d.tag as device_tag, b.kit_id, k.name as kit_name, b.kind, b.count, b.starts_at, b.ends_at,
    b.purpose, b.status, b.loan_id, b.group_id, b.closed_at,
    (select group_concat(dd.tag, char(31)) from booking_device bd join device dd on dd.id = bd.device_id
       where bd.booking_id = b.id) as devices
    from booking b join person p on p.id = b.person_id join person m on m.id = b.made_by
    left join device d on d.id = b.device_id left join kit k on k.id = b.kit_id";

/// One of `school`'s bookings, inside the caller's transaction.
pub async fn booking_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Booking, StoreError> {
    fetch_booking(conn, Some(school), id).await
}

/// A booking of whichever school: for the release of bookings nobody collected,
/// which runs for every school at once.
async fn any_booking_in(conn: &mut SqliteConnection, id: Uuid) -> Result<Booking, StoreError> {
    fetch_booking(conn, None, id).await
}

async fn fetch_booking(
    conn: &mut SqliteConnection,
    school: Option<SchoolId>,
    id: Uuid,
) -> Result<Booking, StoreError> {
    sqlx::query_as::<_, BookingRow>(&format!(
        "{BOOKING} where b.id = ? and (?2 is null or b.school_id = ?2)"
    ))
    .bind(id.to_string())
    .bind(school.map(|s| s.0))
    .fetch_optional(&mut *conn)
    .await?
    .ok_or(StoreError::NotFound)?
    .try_into()
}

/// What a booking's events are about: the device, the set, or the booking.
pub fn booking_subject(b: &Booking) -> Subject {
    match &b.booked {
        Booked::Device { id, tag } => Subject::device(*id, tag),
        Booked::Set { id, name } => Subject {
            key: format!("kit:{id}"),
            label: name.clone(),
        },
        Booked::Kind { .. } => Subject {
            key: format!("booking:{}", b.id),
            label: b.booked.describe(),
        },
    }
}

/// The devices busy for some of `slot`: held by a booking, or out on a loan due
/// back after the slot starts.
async fn busy_in(conn: &mut SqliteConnection, slot: &Slot) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "select device_id from booking_device where starts_at < ?1 and ends_at > ?2
         union select device_id from loan where returned_at is null and out_at < ?1 and due_at > ?2",
    )
    .bind(time_text(slot.ends_at))
    .bind(time_text(slot.starts_at))
    .fetch_all(&mut *conn)
    .await?)
}

/// Devices that can be booked at all, for the calendar's lists of what is free:
/// the SQL twin of `kitroom_core::booking::bookable`.
const BOOKABLE: &str = "status in ('available', 'on_loan', 'returned_charging')";

/// What is free instead of something refused, for the whole of a time.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Alternatives {
    /// Devices of the same kind free for the whole time.
    pub devices: Vec<String>,
    /// Sets whose every device is free for the whole time: (id, name).
    pub sets: Vec<(Uuid, String)>,
}

/// What is free for the whole of `slot`: up to ten of `school`'s devices of `kind`
/// (when given) and every set whose devices are all free.
pub async fn alternatives_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    slot: &Slot,
    kind: Option<DeviceKind>,
) -> Result<Alternatives, StoreError> {
    let busy = busy_in(conn, slot).await?;
    free_besides(conn, school, kind, &busy).await
}

async fn free_besides(
    conn: &mut SqliteConnection,
    school: SchoolId,
    kind: Option<DeviceKind>,
    busy: &[String],
) -> Result<Alternatives, StoreError> {
    let mut alt = Alternatives::default();
    if let Some(kind) = kind {
        let devices: Vec<(String, String)> = sqlx::query_as(&format!(
            "select id, tag from device where school_id = ? and kind = ? and {BOOKABLE}
             order by tag collate nocase limit 2000"
        ))
        .bind(school.0)
        .bind(kind.as_str())
        .fetch_all(&mut *conn)
        .await?;
        alt.devices = devices
            .into_iter()
            .filter(|(id, _)| !busy.contains(id))
            .map(|(_, tag)| tag)
            .take(10)
            .collect();
    }
    let kits: Vec<(String, String, String)> = sqlx::query_as(&format!(
        "select k.id, k.name, group_concat(d.id) from kit k join kit_device kd on kd.kit_id = k.id
         join device d on d.id = kd.device_id where d.{BOOKABLE} group by k.id order by k.name collate nocase"
    ))
    .fetch_all(&mut *conn)
    .await?;
    for (id, name, members) in kits {
        if members.split(',').all(|m| !busy.iter().any(|b| b == m)) {
            alt.sets.push((parse_uuid(&id)?, name));
        }
    }
    Ok(alt)
}

/// The devices a new booking of `target` could hold, by tag, each with its status
/// and whether something has it for part of `slot`: the one device, a set's
/// devices, or every device of a kind of `school`'s. Not found for a device that
/// does not exist.
pub async fn candidates_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    target: &Target<Uuid, Uuid>,
    slot: &Slot,
) -> Result<Vec<Candidate<Uuid>>, StoreError> {
    let busy = busy_in(conn, slot).await?;
    let rows: Vec<(String, String, String)> = match target {
        Target::Device(id) => {
            sqlx::query_as("select id, tag, status from device where id = ?")
                .bind(id.to_string())
                .fetch_all(&mut *conn)
                .await?
        }
        Target::Set(kit) => sqlx::query_as(
            "select d.id, d.tag, d.status from kit_device kd join device d on d.id = kd.device_id
                 where kd.kit_id = ? order by d.tag collate nocase",
        )
        .bind(kit.to_string())
        .fetch_all(&mut *conn)
        .await?,
        Target::Kind { kind, .. } => {
            sqlx::query_as(
                "select id, tag, status from device where school_id = ? and kind = ?
                 order by tag collate nocase limit 5000",
            )
            .bind(school.0)
            .bind(kind.as_str())
            .fetch_all(&mut *conn)
            .await?
        }
    };
    if rows.is_empty() && matches!(target, Target::Device(_)) {
        return Err(StoreError::NotFound);
    }
    rows.into_iter()
        .map(|(id, tag, status)| {
            Ok(Candidate {
                busy: busy.contains(&id),
                id: parse_uuid(&id)?,
                tag,
                status: parse_word(&status)?,
            })
        })
        .collect()
}

/// A new booking as decided, to be written.
#[derive(Debug, Clone)]
pub struct NewBooking<'a> {
    pub id: Uuid,
    pub school: SchoolId,
    pub person: Uuid,
    pub made_by: Uuid,
    pub target: &'a Target<Uuid, Uuid>,
    pub slot: Slot,
    pub purpose: &'a str,
    pub created_at: DateTime<Utc>,
}

/// Writes a new booking's row (its devices are held by [`hold_in`]).
pub async fn insert_booking_in(
    conn: &mut SqliteConnection,
    b: &NewBooking<'_>,
) -> Result<(), StoreError> {
    let (device_id, kit_id, kind, count) = match b.target {
        Target::Device(d) => (Some(d.to_string()), None, None, 1),
        Target::Set(k) => (None, Some(k.to_string()), None, 1),
        Target::Kind { kind, count } => (None, None, Some(kind.as_str()), *count),
    };
    sqlx::query(
        "insert into booking (id, school_id, person_id, made_by, device_id, kit_id, kind, count, starts_at, ends_at, purpose, created_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(b.id.to_string())
    .bind(b.school.0)
    .bind(b.person.to_string())
    .bind(b.made_by.to_string())
    .bind(device_id)
    .bind(kit_id)
    .bind(kind)
    .bind(i64::from(count))
    .bind(time_text(b.slot.starts_at))
    .bind(time_text(b.slot.ends_at))
    .bind(b.purpose)
    .bind(time_text(b.created_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Whether a device was held for a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    Held,
    /// The `booking_device_no_overlap` trigger refused it: another booking holds
    /// the device (tagged so) for part of that time.
    HeldElsewhere {
        tag: String,
    },
}

/// Holds one device for a booking's time. The trigger refuses an overlap, answered
/// as [`Hold::HeldElsewhere`] for the caller to word.
pub async fn hold_in(
    conn: &mut SqliteConnection,
    booking: Uuid,
    device: &str,
    slot: &Slot,
) -> Result<Hold, StoreError> {
    let r = sqlx::query("insert into booking_device (booking_id, device_id, starts_at, ends_at) values (?, ?, ?, ?)")
        .bind(booking.to_string())
        .bind(device)
        .bind(time_text(slot.starts_at))
        .bind(time_text(slot.ends_at))
        .execute(&mut *conn)
        .await;
    match r {
        Err(sqlx::Error::Database(e)) if e.message().contains("booked twice") => {
            let tag: String = sqlx::query_scalar("select tag from device where id = ?")
                .bind(device)
                .fetch_one(&mut *conn)
                .await?;
            Ok(Hold::HeldElsewhere { tag })
        }
        other => {
            other?;
            Ok(Hold::Held)
        }
    }
}

/// Writes a booking's end as decided (cancelled or released): its devices are
/// free again.
pub async fn end_booking_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    status: BookingStatus,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("update booking set status = ?, closed_at = ? where id = ?")
        .bind(status.as_str())
        .bind(time_text(at))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    sqlx::query("delete from booking_device where booking_id = ?")
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Releases a booking nobody collected: its devices are free again.
async fn close_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    id: Uuid,
    change: BookingChange,
    now: DateTime<Utc>,
) -> Result<Booking, StoreError> {
    let b = any_booking_in(conn, id).await?;
    // Only a booking still booked is released (the caller chose those).
    let next = booking::change(b.status, change, &b.slot, now)
        .map_err(|r| StoreError::Corrupt(format!("booking {id} could not change: {r}")))?;
    end_booking_in(conn, id, next, now).await?;
    let action = if change == BookingChange::Cancel {
        "booking.cancelled"
    } else {
        "booking.released"
    };
    append(
        conn,
        actor,
        action,
        &booking_subject(&b),
        json!({"booking": id, "for": b.person, "what": b.booked.describe(), "starts_at": time_text(b.slot.starts_at)}),
        now,
    )
    .await?;
    any_booking_in(conn, id).await
}

/// Whom a booking is for.
pub async fn person_of_booking_in(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> Result<Uuid, StoreError> {
    let person: Option<String> = sqlx::query_scalar("select person_id from booking where id = ?")
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
    parse_uuid(&person.ok_or(StoreError::NotFound)?)
}

/// The devices a booking holds, by tag, with their status now.
pub async fn held_in(
    conn: &mut SqliteConnection,
    booking: Uuid,
) -> Result<Vec<(Uuid, DeviceStatus)>, StoreError> {
    let held: Vec<(String, String)> = sqlx::query_as(
        "select d.id, d.status from booking_device bd join device d on d.id = bd.device_id where bd.booking_id = ? order by d.tag collate nocase",
    )
    .bind(booking.to_string())
    .fetch_all(&mut *conn)
    .await?;
    held.into_iter()
        .map(|(id, status)| Ok((parse_uuid(&id)?, parse_word(&status)?)))
        .collect()
}

/// Lets a booking stop holding one device.
pub async fn release_held_in(
    conn: &mut SqliteConnection,
    booking: Uuid,
    device: Uuid,
) -> Result<(), StoreError> {
    sqlx::query("delete from booking_device where booking_id = ? and device_id = ?")
        .bind(booking.to_string())
        .bind(device.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// An available device of `school`'s of `kind` that nothing holds or has for any
/// of `slot`.
pub async fn spare_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    kind: DeviceKind,
    slot: &Slot,
) -> Result<Option<Uuid>, StoreError> {
    let busy = busy_in(conn, slot).await?;
    let spare: Vec<String> = sqlx::query_scalar(
        "select id from device where school_id = ? and kind = ? and status = 'available'
         order by tag collate nocase limit 5000",
    )
    .bind(school.0)
    .bind(kind.as_str())
    .fetch_all(&mut *conn)
    .await?;
    spare
        .into_iter()
        .find(|s| !busy.contains(s))
        .map(|s| parse_uuid(&s))
        .transpose()
}

/// Records a booking as collected, with the loan or the set's loan it became.
pub async fn mark_collected_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    status: BookingStatus,
    at: DateTime<Utc>,
    loan: Option<Uuid>,
    group: Option<Uuid>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update booking set status = ?, closed_at = ?, loan_id = ?, group_id = ? where id = ?",
    )
    .bind(status.as_str())
    .bind(time_text(at))
    .bind(loan.map(|l| l.to_string()))
    .bind(group.map(|g| g.to_string()))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// Releases every booking not collected `release_after_minutes` after it
    /// started, freeing its devices and telling its person. Returns how many.
    pub async fn release_uncollected(
        &self,
        school: SchoolId,
        release_after_minutes: u32,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                // The open bookings' index drives (`+`): the school's own would walk
                // every booking it ever had.
                let rows: Vec<(String, String, String)> = sqlx::query_as(
                    "select id, starts_at, ends_at from booking where status = 'booked' and starts_at <= ? and +school_id = ?",
                )
                .bind(time_text(now))
                .bind(school.0)
                .fetch_all(&mut *conn)
                .await?;
                let mut n = 0;
                for (id, starts, ends) in rows {
                    let slot = Slot { starts_at: parse_time(&starts)?, ends_at: parse_time(&ends)? };
                    if booking::due_for_release(&slot, release_after_minutes, now) {
                        let b = close_in(conn, &Actor::system(), parse_uuid(&id)?, BookingChange::Release, now).await?;
                        let person: String = sqlx::query_scalar("select person_id from booking where id = ?").bind(&id).fetch_one(&mut *conn).await?;
                        let body = format!(
                            "Your booking of {} for {} was not collected, so it has been released for others.",
                            b.booked.describe(),
                            kitroom_core::time::school_time(b.slot.starts_at)
                        );
                        crate::notifications::notify_in(conn, parse_uuid(&person)?, &body, "/bookings", now).await?;
                        n += 1;
                    }
                }
                Ok(n)
            })
        })
        .await
    }

    /// One of `school`'s bookings.
    pub async fn booking(&self, school: SchoolId, id: Uuid) -> Result<Option<Booking>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        match booking_in(&mut conn, school, id).await {
            Ok(b) => Ok(Some(b)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Bookings by start time.
    pub async fn list_bookings(&self, f: &BookingFilter) -> Result<Vec<Booking>, StoreError> {
        let mut qb = sqlx::QueryBuilder::<sqlx::Sqlite>::new(BOOKING);
        qb.push(" where 1 = 1");
        if let Some(school) = f.school {
            // One person's bookings start from theirs (`+` keeps SQLite there).
            let column = if f.person.is_some() {
                " and +b.school_id = "
            } else {
                " and b.school_id = "
            };
            qb.push(column).push_bind(school.0);
        }
        if let Some(from) = f.from {
            qb.push(" and b.ends_at > ").push_bind(time_text(from));
        }
        if let Some(to) = f.to {
            qb.push(" and b.starts_at < ").push_bind(time_text(to));
        }
        if let Some(p) = f.person {
            qb.push(" and b.person_id = ").push_bind(p.to_string());
        }
        if let Some(k) = f.kit {
            qb.push(" and b.kit_id = ").push_bind(k.to_string());
        }
        match (f.holding, f.cancelled_since) {
            (true, Some(since)) => {
                qb.push(" and (b.status in ('booked', 'collected') or (b.status = 'cancelled' and b.closed_at > ")
                    .push_bind(time_text(since))
                    .push("))");
            }
            (true, None) => {
                qb.push(" and b.status in ('booked', 'collected')");
            }
            (false, _) => {}
        }
        qb.push(" order by b.starts_at, b.created_at limit ")
            .push_bind(if f.limit > 0 { f.limit.min(2000) } else { 500 });
        qb.build_query_as::<BookingRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(Booking::try_from)
            .collect()
    }

    /// Gives a person a new calendar feed address (only the token's hash is kept);
    /// any earlier address stops working.
    pub async fn set_feed_token(
        &self,
        actor: Actor,
        person: Uuid,
        token_hash: String,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                sqlx::query(
                    "insert into calendar_feed (person_id, token_hash, created_at) values (?, ?, ?)
                     on conflict (person_id) do update set token_hash = excluded.token_hash, created_at = excluded.created_at",
                )
                .bind(person.to_string())
                .bind(&token_hash)
                .bind(time_text(now))
                .execute(&mut *conn)
                .await?;
                let username: String = sqlx::query_scalar("select username from person where id = ?").bind(person.to_string()).fetch_one(&mut *conn).await?;
                let subject = Subject::person(person, &username);
                append(conn, &actor, "feed.created", &subject, json!({}), now).await?;
                Ok(())
            })
        })
        .await
    }

    /// Whose feed this token opens, if it is live and its owner is active.
    pub async fn feed_owner(&self, token_hash: &str) -> Result<Option<Uuid>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "select f.person_id from calendar_feed f join person p on p.id = f.person_id where f.token_hash = ? and p.active = 1",
        )
        .bind(token_hash)
        .fetch_optional(self.reader())
        .await?;
        id.as_deref().map(parse_uuid).transpose()
    }

    pub async fn has_feed(&self, person: Uuid) -> Result<bool, StoreError> {
        let n: i64 = sqlx::query_scalar("select count(*) from calendar_feed where person_id = ?")
            .bind(person.to_string())
            .fetch_one(self.reader())
            .await?;
        Ok(n > 0)
    }

    /// What of `school`'s is free for the whole of `slot`: devices by kind, and
    /// whole sets.
    pub async fn free_for(&self, school: SchoolId, slot: Slot) -> Result<Free, StoreError> {
        let mut conn = self.reader().acquire().await?;
        let busy = busy_in(&mut conn, &slot).await?;
        let counts: Vec<(String, i64)> = sqlx::query_as(&format!(
            "select kind, count(*) from device d where school_id = ?3 and {BOOKABLE} and not exists (
               select 1 from booking_device b where b.device_id = d.id and b.starts_at < ?1 and b.ends_at > ?2)
             and not exists (select 1 from loan l where l.device_id = d.id and l.returned_at is null and l.out_at < ?1 and l.due_at > ?2)
             group by kind"
        ))
        .bind(time_text(slot.ends_at))
        .bind(time_text(slot.starts_at))
        .bind(school.0)
        .fetch_all(&mut *conn)
        .await?;
        let alt = free_besides(&mut conn, school, None, &busy).await?;
        Ok(Free {
            kinds: DeviceKind::ALL
                .iter()
                .filter_map(|k| {
                    counts
                        .iter()
                        .find(|(w, _)| w == k.as_str())
                        .map(|(_, n)| (*k, *n))
                })
                .collect(),
            sets: alt.sets,
        })
    }
}
