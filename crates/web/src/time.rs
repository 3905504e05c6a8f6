//! Times are UTC in the database and Europe/London on the page.

use chrono::{DateTime, NaiveDate, Utc};

/// "Mon 23 Nov 2026, 09:15", in school time.
pub fn when(t: DateTime<Utc>) -> String {
    kitroom_core::time::school_time(t)
}

/// A stored RFC 3339 time, shown in school time; shown as stored if it does not parse.
pub fn when_text(s: &str) -> String {
    DateTime::parse_from_rfc3339(s)
        .map(|t| when(t.with_timezone(&Utc)))
        .unwrap_or_else(|_| s.to_owned())
}

/// "3 Sep 2025".
pub fn date(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// The instant a school day starts (midnight in London), in UTC.
pub fn start_of_day(d: NaiveDate) -> DateTime<Utc> {
    kitroom_core::time::start_of_day(d)
}

/// Today's date at the school.
pub fn today() -> NaiveDate {
    kitroom_core::time::school_day(Utc::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_summer_day_starts_at_eleven_the_night_before_in_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
        assert_eq!(time_text_of(start_of_day(d)), "2026-06-30T23:00:00+00:00");
        let d = NaiveDate::from_ymd_opt(2026, 12, 1).unwrap();
        assert_eq!(time_text_of(start_of_day(d)), "2026-12-01T00:00:00+00:00");
    }

    fn time_text_of(t: DateTime<Utc>) -> String {
        t.to_rfc3339()
    }

    #[test]
    fn summer_times_are_shown_in_british_summer_time() {
        let t = DateTime::parse_from_rfc3339("2026-07-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(when(t), "Wed 1 Jul 2026, 09:00");
        let t = DateTime::parse_from_rfc3339("2026-12-01T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(when(t), "Tue 1 Dec 2026, 08:00");
    }
}
