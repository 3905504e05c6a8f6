//! School time: instants are UTC everywhere but on the page and in email, where
//! they are Europe/London, summer time included.

use chrono::{DateTime, Utc};
use chrono_tz::Europe::London;

/// "Mon 23 Nov 2026, 09:15", in school time.
pub fn school_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&London)
        .format("%a %-d %b %Y, %H:%M")
        .to_string()
}

/// The school's date at `t` (in London, so just after midnight in summer is the
/// new day).
pub fn school_date(t: DateTime<Utc>) -> chrono::NaiveDate {
    t.with_timezone(&London).date_naive()
}
