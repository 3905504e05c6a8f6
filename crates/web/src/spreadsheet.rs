//! What every CSV downloaded from a page has in common, in one place, so that each
//! download reads right in the spreadsheet program a school already uses.
//!
//! - The file starts with a UTF-8 byte-order mark: without it Excel on Windows reads
//!   the file in the old Windows code page and shows "£" as "Â£". The command line's
//!   `kitroom export` writes no mark, because scripts do not expect one; Kitroom's
//!   own importer skips it, so a downloaded register goes back in unchanged.
//! - The file is named with the day it was made at the school:
//!   `kitroom-devices-2026-12-06.csv`.
//! - A report gives money in pounds with two decimals (`329.10`, a number any
//!   spreadsheet adds up) and times in school time with their offset from UTC, to
//!   the second (`2026-07-01T09:00:00+01:00`).
//!
//! The data exports (`/export/…`) keep the register's own columns and values
//! (`cost_pence`, times in UTC as stored), the same as the API, `kitroom export`
//! and the importer, so they round-trip; they only gain the mark and the dated name.

use axum::body::{Body, Bytes};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, Utc};
use chrono_tz::Europe::London;
use futures_util::{Stream, StreamExt};

/// The UTF-8 byte-order mark that tells Excel the file is UTF-8.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Money in pounds with two decimals and no symbol: `329.10`, `-5.00`.
pub fn pounds(pence: i64) -> String {
    let sign = if pence < 0 { "-" } else { "" };
    let p = pence.unsigned_abs();
    format!("{sign}{}.{:02}", p / 100, p % 100)
}

/// A time in school time with its offset, to the second:
/// `2026-07-01T09:00:00+01:00` in summer, `2026-12-01T08:00:00+00:00` in winter.
pub fn school_time(t: DateTime<Utc>) -> String {
    t.with_timezone(&London)
        .format("%Y-%m-%dT%H:%M:%S%:z")
        .to_string()
}

/// A stored RFC 3339 time as [`school_time`]; any other text is left as it is.
pub fn school_time_text(s: &str) -> String {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => school_time(t.with_timezone(&Utc)),
        Err(_) => s.to_owned(),
    }
}

/// `kitroom-{what}-{day}.csv`, with anything but letters, digits and dashes in
/// `what` made a dash, so the name is safe in a header and on any disk.
pub fn file_name(what: &str, day: NaiveDate) -> String {
    let what: String = what
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("kitroom-{what}-{day}.csv")
}

/// A CSV download of `body` (the CSV text, without the mark), named
/// [`file_name`] for today at the school.
pub fn download(what: &str, body: Vec<u8>) -> Response {
    let mut bytes = Vec::with_capacity(BOM.len() + body.len());
    bytes.extend_from_slice(BOM);
    bytes.extend_from_slice(&body);
    respond(what, Body::from(bytes))
}

/// A CSV download streamed chunk by chunk, after the mark.
pub fn download_stream<S>(what: &str, chunks: S) -> Response
where
    S: Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static,
{
    let body = futures_util::stream::once(async { Ok(Bytes::from_static(BOM)) }).chain(chunks);
    respond(what, Body::from_stream(body))
}

fn respond(what: &str, body: Body) -> Response {
    let name = file_name(what, crate::time::today());
    (
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        body,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn money_is_pounds_with_two_decimals() {
        assert_eq!(pounds(32_910), "329.10");
        assert_eq!(pounds(5), "0.05");
        assert_eq!(pounds(0), "0.00");
        assert_eq!(pounds(-500), "-5.00");
        assert_eq!(pounds(129_900), "1299.00");
    }

    #[test]
    fn times_are_school_time_with_the_offset_of_their_season_to_the_second() {
        assert_eq!(
            school_time(t("2026-07-01T08:00:00.123456Z")),
            "2026-07-01T09:00:00+01:00"
        );
        assert_eq!(
            school_time(t("2026-12-01T08:00:00Z")),
            "2026-12-01T08:00:00+00:00"
        );
        assert_eq!(
            school_time_text("2026-03-29T01:30:00.000001Z"),
            "2026-03-29T02:30:00+01:00"
        );
        assert_eq!(school_time_text("not a time"), "not a time");
    }

    #[test]
    fn a_file_is_named_with_its_day_and_nothing_unsafe() {
        let day = NaiveDate::from_ymd_opt(2026, 12, 6).unwrap();
        assert_eq!(file_name("devices", day), "kitroom-devices-2026-12-06.csv");
        assert_eq!(
            file_name("signatures-2027/28 \"v2\"", day),
            "kitroom-signatures-2027-28--v2--2026-12-06.csv"
        );
    }
}
