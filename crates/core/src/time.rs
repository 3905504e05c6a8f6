//! School time: instants are UTC everywhere but on the page and in email, where
//! they are Europe/London, summer time included.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::London;

/// "Mon 23 Nov 2026, 09:15", in school time.
pub fn school_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&London)
        .format("%a %-d %b %Y, %H:%M")
        .to_string()
}

/// The school day an instant falls on (in London).
pub fn school_day(t: DateTime<Utc>) -> NaiveDate {
    t.with_timezone(&London).date_naive()
}

/// The instant a school day starts (midnight in London), in UTC.
pub fn start_of_day(d: NaiveDate) -> DateTime<Utc> {
    let midnight = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    London
        .from_local_datetime(&midnight)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| midnight.and_utc())
}
