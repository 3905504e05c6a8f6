//! The school calendar: periods, terms and holidays, saved as a whole.

use chrono::{NaiveDate, NaiveTime, Utc};
use kitroom_core::calendar::{Calendar, CalendarInput, Days, Period};
use serde_json::json;
use sqlx::SqliteConnection;

use kitroom_core::school::SchoolId;

use crate::db::{Actor, Store, StoreError};
use crate::events::{append, Subject};

/// Every entry of the calendar, as [`calendar_from_rows`] reads them.
pub(crate) const ENTRIES: &str =
    "select kind, name, starts, ends from calendar_entry where school_id = ? order by id";

/// Every entry of the calendar as one JSON array in one row (as
/// [`crate::settings::ALL_AS_ONE`]), read by [`calendar_from_one`].
pub(crate) const ENTRIES_AS_ONE: &str =
    "select json_group_array(json_array(kind, name, starts, ends))
     from (select kind, name, starts, ends from calendar_entry where school_id = ? order by id)";

/// The calendar from the row of [`ENTRIES_AS_ONE`].
pub(crate) fn calendar_from_one(rows: &[sqlx::sqlite::SqliteRow]) -> Result<Calendar, StoreError> {
    use sqlx::Row;
    let text: String = match rows.first() {
        Some(row) => row.try_get(0)?,
        None => "[]".to_owned(),
    };
    calendar_from_rows(
        serde_json::from_str(&text)
            .map_err(|e| StoreError::Corrupt(format!("calendar as JSON: {e}")))?,
    )
}

/// Reads the calendar inside a transaction (or from a reader).
pub async fn calendar_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
) -> Result<Calendar, StoreError> {
    let rows: Vec<(String, String, String, String)> = sqlx::query_as(ENTRIES)
        .bind(school.0)
        .fetch_all(&mut *conn)
        .await?;
    calendar_from_rows(rows)
}

/// The calendar from the rows of [`ENTRIES`].
pub(crate) fn calendar_from_rows(
    rows: Vec<(String, String, String, String)>,
) -> Result<Calendar, StoreError> {
    let bad = |v: &str| StoreError::Corrupt(format!("calendar value {v:?}"));
    let mut c = Calendar::default();
    for (kind, name, starts, ends) in rows {
        match kind.as_str() {
            "period" => c.periods.push(Period {
                name,
                starts: NaiveTime::parse_from_str(&starts, "%H:%M").map_err(|_| bad(&starts))?,
                ends: NaiveTime::parse_from_str(&ends, "%H:%M").map_err(|_| bad(&ends))?,
            }),
            other => {
                let days = Days {
                    name,
                    first: NaiveDate::parse_from_str(&starts, "%Y-%m-%d")
                        .map_err(|_| bad(&starts))?,
                    last: NaiveDate::parse_from_str(&ends, "%Y-%m-%d").map_err(|_| bad(&ends))?,
                };
                if other == "term" {
                    c.terms.push(days);
                } else {
                    c.holidays.push(days);
                }
            }
        }
    }
    Ok(c)
}

impl Store {
    /// `school`'s calendar.
    pub async fn calendar(&self, school: SchoolId) -> Result<Calendar, StoreError> {
        let mut conn = self.reader().acquire().await?;
        calendar_in(&mut conn, school).await
    }

    /// Replaces the whole calendar: see [`save_calendar_in`].
    /// Replaces `school`'s calendar: see [`save_calendar_in`].
    pub async fn save_calendar(
        &self,
        actor: Actor,
        school: SchoolId,
        calendar: Calendar,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(
                async move { save_calendar_in(conn, &actor, school, &calendar, Utc::now()).await },
            )
        })
        .await
    }
}

/// Replaces the whole calendar and records it, as typed, in the activity log
/// (`calendar.changed`, only when it changed), inside the caller's transaction.
pub async fn save_calendar_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    calendar: &Calendar,
    now: chrono::DateTime<Utc>,
) -> Result<(), StoreError> {
    let before = CalendarInput::from(&calendar_in(conn, school).await?);
    sqlx::query("delete from calendar_entry where school_id = ?")
        .bind(school.0)
        .execute(&mut *conn)
        .await?;
    let mut rows: Vec<(&str, String, String, String)> = Vec::new();
    for p in &calendar.periods {
        rows.push((
            "period",
            p.name.clone(),
            p.starts.format("%H:%M").to_string(),
            p.ends.format("%H:%M").to_string(),
        ));
    }
    for (kind, list) in [("term", &calendar.terms), ("holiday", &calendar.holidays)] {
        for d in list {
            rows.push((
                kind,
                d.name.clone(),
                d.first.to_string(),
                d.last.to_string(),
            ));
        }
    }
    for (kind, name, starts, ends) in rows {
        sqlx::query(
            "insert into calendar_entry (school_id, kind, name, starts, ends) values (?, ?, ?, ?, ?)",
        )
        .bind(school.0)
        .bind(kind)
            .bind(name)
            .bind(starts)
            .bind(ends)
            .execute(&mut *conn)
            .await?;
    }
    let after = CalendarInput::from(calendar);
    if after != before {
        let subject = Subject::school(school, "calendar");
        append(
            conn,
            actor,
            "calendar.changed",
            &subject,
            json!({"periods": after.periods, "terms": after.terms, "holidays": after.holidays}),
            now,
        )
        .await?;
    }
    Ok(())
}
