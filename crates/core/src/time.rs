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
