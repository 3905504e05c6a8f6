//! Reading dates as spreadsheets and other systems write them, without guessing in
//! silence.
//!
//! A date like `3/1/23` means 3 January in a UK spreadsheet and 1 March in a US one,
//! and its year could be 2023 or the year 23. So an imported column is read as a
//! whole ([`DateColumn::read`]): a value that can only be month-first (`2/13/23`)
//! makes the column month-first, one that can only be day-first (`13/2/23`) makes it
//! day-first, both at once is a problem on each line that says so, and when no value
//! tells, the column is read day-first (UK) with a note saying so. A two-digit year
//! goes to the century that puts it nearest today.
//!
//! Dates that need no order are read as they are, wherever a date is asked: ISO dates
//! (`2025-09-03`, `2025/09/03`), ISO timestamps with `T` or a space, fractional
//! seconds and `Z` or an offset (`2026-11-30 08:14:22.0000000` from Intune,
//! `2026-11-20T10:23:45.123Z` from Google), and months by name (`3 Jan 2023`,
//! `Jan 3, 2023`). A timestamp is taken as the day it was in Europe/London; one
//! without a zone is taken as UTC, which is what device-management consoles export.
//!
//! [`check_range`] keeps dates that must be mistakes out of the register: a purchase
//! before 1990 or in the future, a warranty ending before 1990 or more than fifteen
//! years ahead.

use std::collections::HashMap;

use chrono::{Datelike, FixedOffset, Months, NaiveDate, NaiveDateTime, NaiveTime, TimeZone};
use chrono_tz::Europe::London;

/// Which of the first two numbers of `3/1/23` is the day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// `3/1/23` is 3 January: the UK's way, and Kitroom's when nothing says otherwise.
    DayFirst,
    /// `3/1/23` is 1 March: the US way, and Snipe-IT's.
    MonthFirst,
}

impl Order {
    pub fn words(self) -> &'static str {
        match self {
            Order::DayFirst => "day-first (UK)",
            Order::MonthFirst => "month-first (US)",
        }
    }
}

/// A year as written: in full, or its last two digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Year {
    Full(i32),
    Short(i32),
}

impl Year {
    /// The year itself; two digits go to the century that puts them nearest `today`
    /// (a tie goes to the past).
    fn resolve(self, today: NaiveDate) -> i32 {
        match self {
            Year::Full(y) => y,
            Year::Short(yy) => {
                let now = today.year();
                let base = now - now.rem_euclid(100);
                [base - 100 + yy, base + yy, base + 100 + yy]
                    .into_iter()
                    .min_by_key(|y| ((y - now).abs(), *y > now))
                    .unwrap_or(base + yy)
            }
        }
    }
}

/// The date part of a value as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Day {
    /// Day and month are known: ISO, or a month by name.
    Fixed { year: Year, month: u32, day: u32 },
    /// `a/b/year`: which is the day depends on the column's order.
    Either { first: u32, second: u32, year: Year },
}

/// One cell read as far as it can be without knowing the column's order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Written {
    day: Day,
    /// A time of day and its zone (`None`: no zone written, taken as UTC).
    time: Option<(NaiveTime, Option<FixedOffset>)>,
}

impl Written {
    /// The day this means in `order`, or `None` when it is no real date that way.
    fn date(&self, order: Order, today: NaiveDate) -> Option<NaiveDate> {
        let (year, month, day) = match self.day {
            Day::Fixed { year, month, day } => (year, month, day),
            Day::Either {
                first,
                second,
                year,
            } => match order {
                Order::DayFirst => (year, second, first),
                Order::MonthFirst => (year, first, second),
            },
        };
        let date = NaiveDate::from_ymd_opt(year.resolve(today), month, day)?;
        match self.time {
            None => Some(date),
            Some((time, offset)) => {
                let offset = offset.unwrap_or(FixedOffset::east_opt(0)?);
                let at = offset
                    .from_local_datetime(&NaiveDateTime::new(date, time))
                    .single()?;
                Some(at.with_timezone(&London).date_naive())
            }
        }
    }

    /// The order this value can only be read in, when it is a real date one way only.
    fn tells(&self, today: NaiveDate) -> Option<Order> {
        match self.day {
            Day::Fixed { .. } => None,
            Day::Either { .. } => match (
                self.date(Order::DayFirst, today),
                self.date(Order::MonthFirst, today),
            ) {
                (Some(_), None) => Some(Order::DayFirst),
                (None, Some(_)) => Some(Order::MonthFirst),
                _ => None,
            },
        }
    }

    /// Read both ways, it gives two different real dates.
    fn ambiguous(&self, today: NaiveDate) -> bool {
        match (
            self.date(Order::DayFirst, today),
            self.date(Order::MonthFirst, today),
        ) {
            (Some(a), Some(b)) => a != b,
            _ => false,
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// January is 1: a month's name in full or cut short to three letters or more
/// ("Jan", "Sept").
fn month_named(word: &str) -> Option<u32> {
    let w = word.trim_end_matches('.').to_lowercase();
    if w.len() < 3 {
        return None;
    }
    MONTHS
        .iter()
        .position(|m| m.starts_with(&w))
        .map(|i| i as u32 + 1)
}

fn number(s: &str, max_digits: usize) -> Option<u32> {
    if s.is_empty() || s.len() > max_digits || !s.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn year(s: &str) -> Option<Year> {
    match s.len() {
        4 => number(s, 4).map(|y| Year::Full(y as i32)),
        2 => number(s, 2).map(|y| Year::Short(y as i32)),
        _ => None,
    }
}

/// A time of day: `08:14`, `08:14:22`, `08:14:22.0000000`, `8:14 PM`, with an
/// optional zone after it: `Z`, `UTC`, `GMT`, `+01:00`, `+0100`, `+01`.
fn time_of_day(s: &str) -> Option<(NaiveTime, Option<FixedOffset>)> {
    let s = s.trim();
    let lower = s.to_ascii_lowercase();
    let (rest, zone) = if let Some(r) = lower.strip_suffix('z') {
        (r.trim_end(), Some(0))
    } else if let Some(r) = lower
        .strip_suffix("utc")
        .or_else(|| lower.strip_suffix("gmt"))
    {
        (r.trim_end(), Some(0))
    } else if let Some(i) = lower.rfind(['+', '-']) {
        let (sign, hhmm) = (&lower[i..i + 1], lower[i + 1..].replace(':', ""));
        if !hhmm.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let (h, m) = match hhmm.len() {
            2 => (number(&hhmm, 2)?, 0),
            4 => (number(&hhmm[..2], 2)?, number(&hhmm[2..], 2)?),
            _ => return None,
        };
        if h > 23 || m > 59 {
            return None;
        }
        let secs = (h * 3600 + m * 60) as i32;
        (
            lower[..i].trim_end(),
            Some(if sign == "-" { -secs } else { secs }),
        )
    } else {
        (lower.as_str(), None)
    };
    let (clock, pm) = if let Some(c) = rest.strip_suffix("pm") {
        (c.trim_end(), Some(true))
    } else if let Some(c) = rest.strip_suffix("am") {
        (c.trim_end(), Some(false))
    } else {
        (rest, None)
    };
    let mut parts = clock.splitn(3, ':');
    let h = number(parts.next()?, 2)?;
    let m = number(parts.next()?, 2)?;
    let (sec, nano) = match parts.next() {
        None => (0, 0),
        Some(sf) => {
            let (sec, frac) = sf.split_once('.').unwrap_or((sf, ""));
            let nano = if frac.is_empty() {
                0
            } else {
                let digits: String = frac.chars().chain("000000000".chars()).take(9).collect();
                if !frac.chars().all(|c| c.is_ascii_digit()) {
                    return None;
                }
                digits.parse().ok()?
            };
            (number(sec, 2)?, nano)
        }
    };
    let h = match pm {
        None => h,
        Some(_) if h == 0 || h > 12 => return None,
        Some(true) => h % 12 + 12,
        Some(false) => h % 12,
    };
    let time = NaiveTime::from_hms_nano_opt(h, m, sec, nano)?;
    let zone = match zone {
        Some(secs) => Some(FixedOffset::east_opt(secs)?),
        None => None,
    };
    Some((time, zone))
}

/// The date part: `2025-09-03`, `2025/9/3`, `3/9/2025`, `3.9.25`, `3-9-25`,
/// `3 Sep 2025`, `03-Sep-25`, `Sep 3, 2025`, `3rd September 2025`.
fn day_part(s: &str) -> Option<Day> {
    let tokens: Vec<&str> = s
        .split(|c: char| c == '/' || c == '-' || c == '.' || c == ',' || c.is_whitespace())
        .filter(|t| !t.is_empty())
        .collect();
    if tokens.len() != 3 {
        return None;
    }
    let named = tokens.iter().position(|t| month_named(t).is_some());
    if let Some(i) = named {
        let month = month_named(tokens[i])?;
        let others: Vec<&str> = (0..3).filter(|j| *j != i).map(|j| tokens[j]).collect();
        let ordinal = |t: &str| {
            let t = t.to_ascii_lowercase();
            let t = ["st", "nd", "rd", "th"]
                .iter()
                .find_map(|x| t.strip_suffix(x))
                .map(str::to_owned)
                .unwrap_or(t);
            number(&t, 2)
        };
        // 2025 Sep 3, or the day then the year (3 Sep 2025, Sep 3 2025).
        let (day, y) = if others[0].len() == 4 {
            (ordinal(others[1])?, year(others[0])?)
        } else {
            (ordinal(others[0])?, year(others[1])?)
        };
        return Some(Day::Fixed {
            year: y,
            month,
            day,
        });
    }
    if tokens[0].len() == 4 {
        return Some(Day::Fixed {
            year: year(tokens[0])?,
            month: number(tokens[1], 2)?,
            day: number(tokens[2], 2)?,
        });
    }
    Some(Day::Either {
        first: number(tokens[0], 2)?,
        second: number(tokens[1], 2)?,
        year: year(tokens[2])?,
    })
}

/// One cell, read as far as it can be without its column: `None` when it cannot be
/// read as a date at all.
fn written(s: &str) -> Option<Written> {
    let s = s.trim();
    // Where a time starts: an ISO `T`, or the word holding the first colon.
    let (day, time) = match s.find(':') {
        None => (s, None),
        Some(colon) => {
            let before = &s[..colon];
            // (a space may be wider than a byte: start after the whole character)
            let start = before
                .char_indices()
                .rfind(|(_, c)| c.is_whitespace() || *c == 'T' || *c == 't')
                .map(|(i, c)| i + c.len_utf8())
                .unwrap_or(0);
            let day = s[..start].trim_end_matches(['T', 't']).trim();
            // Jamf writes "2024-03-05 at 10:41 AM".
            let day = day
                .strip_suffix(" at")
                .or_else(|| day.strip_suffix(','))
                .unwrap_or(day)
                .trim();
            (day, Some(time_of_day(&s[start..])?))
        }
    };
    Some(Written {
        day: day_part(day)?,
        time,
    })
}

fn unreadable(s: &str, label: &str) -> String {
    format!(
        "{label} must be a real date, like 2025-09-03 (“{}” is not one).",
        s.trim()
    )
}

/// One date on its own, as a form or a search sends it: anything [`DateColumn`]
/// reads, numbers day-first (UK), a two-digit year going to the nearest century.
/// `None` for an empty cell.
pub fn read_date(
    s: &str,
    order: Order,
    today: NaiveDate,
    label: &str,
) -> Result<Option<NaiveDate>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    written(s)
        .and_then(|w| w.date(order, today))
        .map(Some)
        .ok_or_else(|| unreadable(s, label))
}

/// One date on its own where no today is at hand: as [`read_date`] day-first, but a
/// year must be written in full.
pub fn read_date_alone(s: &str, label: &str) -> Result<Option<NaiveDate>, String> {
    if s.trim().is_empty() {
        return Ok(None);
    }
    let w = written(s).ok_or_else(|| unreadable(s, label))?;
    let short = matches!(
        w.day,
        Day::Fixed {
            year: Year::Short(_),
            ..
        } | Day::Either {
            year: Year::Short(_),
            ..
        }
    );
    if short {
        return Err(format!(
            "{label} needs its year in full, like 2025-09-03 (“{}” has only two digits).",
            s.trim()
        ));
    }
    // Any today will do: the year is written in full.
    w.date(Order::DayFirst, NaiveDate::MIN)
        .map(Some)
        .ok_or_else(|| unreadable(s, label))
}

/// How a date is used, which decides the dates it may hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DateUse {
    /// When a device was bought: from 1990 to today.
    Purchase,
    /// When a warranty (or a device's supported life) ends: from 1990 to fifteen
    /// years ahead.
    Warranty,
    /// When something was checked, such as encryption: from 1990 to today.
    Checked,
}

/// "3 January 2023".
pub fn in_words(d: NaiveDate) -> String {
    d.format("%-d %B %Y").to_string()
}

/// The earliest date Kitroom keeps for a device: nothing a school lends was bought
/// earlier, so an earlier date is a misread one.
pub fn earliest() -> NaiveDate {
    NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or(NaiveDate::MIN)
}

/// Refuses a date that must be a mistake for its use; `label` starts the message
/// ("Purchase date").
pub fn check_range(
    d: NaiveDate,
    used: DateUse,
    today: NaiveDate,
    label: &str,
) -> Result<NaiveDate, String> {
    if d < earliest() {
        return Err(format!(
            "{label} {} is before 1990, so it must be a mistake. Check the year.",
            in_words(d)
        ));
    }
    match used {
        DateUse::Purchase | DateUse::Checked if d > today => {
            Err(format!("{label} {} is in the future.", in_words(d)))
        }
        DateUse::Warranty
            if today
                .checked_add_months(Months::new(15 * 12))
                .is_some_and(|last| d > last) =>
        {
            Err(format!(
                "{label} {} is more than 15 years ahead, so it must be a mistake. Check the year.",
                in_words(d)
            ))
        }
        _ => Ok(d),
    }
}

/// How a column's numbers were found to be ordered.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Reading {
    /// No value depends on the order (all ISO, or day and month alike).
    Plain,
    /// Some values read two ways and none tells: read day-first.
    Assumed,
    /// This value on this line can only be read in this order, and none the other.
    Told {
        order: Order,
        line: u64,
        value: String,
    },
    /// Values tell both ways: each of those lines is a problem.
    Mixed,
}

/// A date column of an imported file, read as a whole: the order its numbers are in,
/// decided once from all its values, and the lines where values contradict it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DateColumn {
    reading: Reading,
    /// The problem on each line whose value contradicts others in the column.
    conflicts: HashMap<u64, String>,
}

impl DateColumn {
    /// Decides the order of a column from every value in it, each with its line.
    pub fn read<'a>(
        values: impl IntoIterator<Item = (u64, &'a str)>,
        today: NaiveDate,
    ) -> DateColumn {
        let mut day_first: Vec<(u64, &str)> = Vec::new();
        let mut month_first: Vec<(u64, &str)> = Vec::new();
        let mut ambiguous = false;
        for (line, value) in values {
            let Some(w) = written(value) else { continue };
            match w.tells(today) {
                Some(Order::DayFirst) => day_first.push((line, value.trim())),
                Some(Order::MonthFirst) => month_first.push((line, value.trim())),
                None => ambiguous |= w.ambiguous(today),
            }
        }
        let mut conflicts = HashMap::new();
        let reading = match (day_first.first(), month_first.first()) {
            (Some(d), Some(m)) => {
                let say = |(_, value): (u64, &str), order: Order, other: (u64, &str)| {
                    format!(
                        "The dates in this column are written both ways: {value} can only be {}, but {} on line {} can only be {}. Write every date the same way, or as 2025-09-03.",
                        order.words(),
                        other.1,
                        other.0,
                        order_other(order).words()
                    )
                };
                for v in &day_first {
                    conflicts.insert(v.0, say(*v, Order::DayFirst, *m));
                }
                for v in &month_first {
                    conflicts.insert(v.0, say(*v, Order::MonthFirst, *d));
                }
                Reading::Mixed
            }
            (Some(&(line, value)), None) => Reading::Told {
                order: Order::DayFirst,
                line,
                value: value.to_owned(),
            },
            (None, Some(&(line, value))) => Reading::Told {
                order: Order::MonthFirst,
                line,
                value: value.to_owned(),
            },
            (None, None) if ambiguous => Reading::Assumed,
            (None, None) => Reading::Plain,
        };
        DateColumn { reading, conflicts }
    }

    /// The order the column's numbers are read in: day-first unless a value said
    /// otherwise.
    pub fn order(&self) -> Order {
        match self.reading {
            Reading::Told { order, .. } => order,
            _ => Order::DayFirst,
        }
    }

    /// What the preview says about how the column was read, naming it as the file
    /// does; `None` when no value could have been read another way.
    pub fn note(&self, column: &str) -> Option<String> {
        match &self.reading {
            Reading::Plain | Reading::Mixed => None,
            Reading::Assumed => Some(format!(
                "Dates in {column} read as day-first (UK): no value said otherwise."
            )),
            Reading::Told { order, line, value } => Some(format!(
                "Dates in {column} read as {}: {value} on line {line} can only be read that way.",
                order.words()
            )),
        }
    }

    /// The date in this column's cell on `line`: `None` for an empty cell, a problem
    /// when it is no date, or when the column's values contradict each other on
    /// this line. In a column written both ways, a value that could be either is
    /// left unread (the file is refused for the lines that contradict each other).
    pub fn date(
        &self,
        line: u64,
        value: &str,
        today: NaiveDate,
        label: &str,
    ) -> Result<Option<NaiveDate>, String> {
        if let Some(problem) = self.conflicts.get(&line) {
            return Err(problem.clone());
        }
        if value.trim().is_empty() {
            return Ok(None);
        }
        let w = written(value).ok_or_else(|| unreadable(value, label))?;
        if self.reading == Reading::Mixed && w.ambiguous(today) {
            return Ok(None);
        }
        w.date(self.order(), today)
            .map(Some)
            .ok_or_else(|| unreadable(value, label))
    }
}

fn order_other(o: Order) -> Order {
    match o {
        Order::DayFirst => Order::MonthFirst,
        Order::MonthFirst => Order::DayFirst,
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use crate::device::{DeviceDetails, Pence};
    use crate::import::{
        check_devices, check_encryption, Checked, Mapping, RegisterKeys, Row, Sheet, Table,
    };

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 2000, ..Default::default() })]

        /// Text made of the characters dates are written with, and a few wider
        /// ones, is read or refused, never a panic, alone or as a column.
        #[test]
        fn date_like_text_is_never_a_panic(
            cells in proptest::collection::vec("[0-9/:+\\- TtZzAaPpMm.,éଶ\u{a0}\u{3000}]{0,24}", 1..4)
        ) {
            for c in &cells {
                let _ = super::written(c);
                let _ = super::read_date_alone(c, "The date");
            }
            let column = super::DateColumn::read(cells.iter().enumerate().map(|(i, c)| (i as u64 + 2, c.as_str())), today());
            for (i, c) in cells.iter().enumerate() {
                let _ = column.date(i as u64 + 2, c, today(), "The date");
            }
        }
    }

    /// Any text at all, in any script, is read or refused, never a panic (a
    /// multi-byte character where a time zone or a space was expected was one).
    #[test]
    fn text_in_any_script_is_never_a_panic() {
        for s in [
            "2026-11-30 08:14+ଶଶ",
            "2026-11-30 08:14-ଶ",
            "ଶ",
            "2026-11-30\u{3000}08:14",
            "30/11/2026\u{a0}08:14",
            "08:14 +é1",
            "é:",
            "\u{3000}:",
            "ଶ2026-11-30T08:14:22Z",
        ] {
            let _ = super::written(s);
            let _ = super::read_date_alone(s, "The date");
            let _ = super::DateColumn::read([(2, s)], today());
        }
        assert_eq!(
            super::written("2026-11-30\u{3000}08:14").map(|w| w.time.is_some()),
            Some(true),
            "an ideographic space before the time is a space"
        );
    }

    fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(y, m, d)
    }

    /// A devices file with these extra columns (cells split by `|`), one device a row.
    fn devices(columns: &str, rows: &[&str]) -> Checked<DeviceDetails> {
        let headers: Vec<String> = format!("tag,kind,location,{columns}")
            .split(',')
            .map(str::to_owned)
            .collect();
        let t = Table {
            header_line: 1,
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| Row {
                    line: i as u64 + 2,
                    cells: [format!("D{}", i + 2), "laptop".into(), "Library".into()]
                        .into_iter()
                        .chain(r.split('|').map(|c| c.trim().to_owned()))
                        .collect(),
                })
                .collect(),
            headers,
        };
        check_devices(
            &t,
            Mapping::automatic(Sheet::Devices, &t.headers),
            &RegisterKeys::default(),
            today(),
        )
    }

    fn purchased(c: &Checked<DeviceDetails>) -> Vec<Option<NaiveDate>> {
        c.rows.iter().map(|r| r.value.purchased_on).collect()
    }

    fn lines(c: &Checked<DeviceDetails>) -> Vec<(u64, &str)> {
        c.problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect()
    }

    /// Snipe-IT's sample dates would be stored in the year 23 (or with day and month
    /// swapped) without a word, and every warranty and age report built on them wrong.
    #[test]
    fn snipe_it_dates_are_read_month_first_when_one_value_can_only_be_month_first() {
        let c = devices(
            "Purchase Date",
            &["3/1/23", "10/1/22", "2/10/99", "2/13/23"],
        );
        assert!(c.is_ready(), "{:?}", c.problems);
        assert_eq!(
            purchased(&c),
            vec![
                day(2023, 3, 1),
                day(2022, 10, 1),
                day(1999, 2, 10),
                day(2023, 2, 13)
            ]
        );
        assert_eq!(
            c.notes,
            vec!["Dates in Purchase Date read as month-first (US): 2/13/23 on line 5 can only be read that way.".to_owned()]
        );
    }

    /// A UK school's own register would have its ambiguous dates guessed in silence.
    #[test]
    fn a_column_where_no_value_tells_is_read_day_first_and_says_so() {
        let c = devices("Purchase Date", &["3/1/23", "10/1/22", "2/10/99"]);
        assert!(c.is_ready(), "{:?}", c.problems);
        assert_eq!(
            purchased(&c),
            vec![day(2023, 1, 3), day(2022, 1, 10), day(1999, 10, 2)]
        );
        assert_eq!(
            c.notes,
            vec![
                "Dates in Purchase Date read as day-first (UK): no value said otherwise."
                    .to_owned()
            ]
        );
        let told = devices("purchased_on", &["3/1/23", "25/12/22"]);
        assert_eq!(purchased(&told), vec![day(2023, 1, 3), day(2022, 12, 25)]);
        let iso = devices("purchased_on", &["2023-01-03"]);
        assert!(iso.notes.is_empty(), "an ISO date needs no note");
    }

    /// A file mixing UK and US dates would have half of them stored wrong.
    #[test]
    fn a_column_with_both_orders_is_a_problem_on_each_line_that_tells() {
        let c = devices(
            "Purchase Date",
            &["13/02/2023", "02/14/2023", "03/01/2023", "2023-05-06"],
        );
        assert_eq!(lines(&c), vec![(2, "Purchase Date"), (3, "Purchase Date")]);
        assert!(
            c.problems[0].message.contains("line 3"),
            "{}",
            c.problems[0]
        );
        assert!(
            c.problems[1].message.contains("line 2"),
            "{}",
            c.problems[1]
        );
        assert!(c.rows.is_empty() || !c.is_ready());
    }

    /// A two-digit year would be stored as the year 23, or a century out.
    #[test]
    fn two_digit_years_go_to_the_nearest_century() {
        let c = devices(
            "purchased_on,warranty_until",
            &["01/02/99|", "01/02/05|", "5 Jan 23|01/02/30", "|01/02/30"],
        );
        assert!(c.is_ready(), "{:?}", c.problems);
        assert_eq!(
            purchased(&c),
            vec![day(1999, 2, 1), day(2005, 2, 1), day(2023, 1, 5), None]
        );
        assert_eq!(c.rows[2].value.warranty_until, day(2030, 2, 1));
        let future = devices("purchased_on", &["01/02/30"]);
        assert_eq!(lines(&future), vec![(2, "purchased_on")]);
        assert!(
            future.problems[0].message.contains("future"),
            "{}",
            future.problems[0]
        );
    }

    /// A date typed a century out or far ahead would be stored and skew every report.
    #[test]
    fn purchase_and_warranty_dates_outside_their_range_are_problems() {
        let c = devices(
            "purchased_on,warranty_until",
            &[
                "1989-12-31|",
                "1990-01-01|",
                "2026-11-23|",
                "2026-11-24|",
                "|1989-12-31",
                "|2041-11-23",
                "|2041-11-24",
                "|0023-01-03",
            ],
        );
        assert_eq!(
            lines(&c),
            vec![
                (2, "purchased_on"),
                (5, "purchased_on"),
                (6, "warranty_until"),
                (8, "warranty_until"),
                (9, "warranty_until"),
            ],
            "{:#?}",
            c.problems
        );
        assert!(
            c.problems[0].message.contains("before 1990"),
            "{}",
            c.problems[0]
        );
        assert!(
            c.problems[1].message.contains("future"),
            "{}",
            c.problems[1]
        );
        assert!(
            c.problems[3].message.contains("15 years"),
            "{}",
            c.problems[3]
        );
    }

    /// Intune's and Google's timestamps would be refused, or land on the wrong day
    /// around midnight in summer.
    #[test]
    fn iso_timestamps_are_read_as_the_day_in_london() {
        let cases = [
            ("2026-07-01T23:30:00Z", day(2026, 7, 2)),
            ("2026-07-01 23:30:00.0000000", day(2026, 7, 2)),
            ("2026-11-22 23:30:00.0000000", day(2026, 11, 22)),
            ("2026-11-20T10:23:45.123Z", day(2026, 11, 20)),
            ("2026-07-02T00:30:00+02:00", day(2026, 7, 1)),
            ("2026-07-01T23:59:59.123456-05:00", day(2026, 7, 2)),
            ("2026-03-29 00:59:59+0000", day(2026, 3, 29)),
            ("2026-10-25T00:30:00+01:00", day(2026, 10, 25)),
            ("2026-11-22T23:30:00-01:00", day(2026, 11, 23)),
            ("2026-11-22T23:30:00-0100", day(2026, 11, 23)),
            ("2026-11-21", day(2026, 11, 21)),
        ];
        let mut register = RegisterKeys::default();
        let rows: Vec<Row> = cases
            .iter()
            .enumerate()
            .map(|(i, (at, _))| {
                register.add(&format!("D{i}"), "", "", &format!("SN-{i}"));
                Row {
                    line: i as u64 + 2,
                    cells: vec![format!("SN-{i}"), "Encrypted".into(), (*at).into()],
                }
            })
            .collect();
        let t = Table {
            header_line: 1,
            headers: vec![
                "Serial number".into(),
                "Encrypted".into(),
                "Last check-in".into(),
            ],
            rows,
        };
        let c = check_encryption(
            &t,
            Mapping::automatic(Sheet::Encryption, &t.headers),
            &register,
            today(),
        );
        assert!(c.problems.is_empty(), "{:#?}", c.problems);
        for (r, (at, want)) in c.rows.iter().zip(cases) {
            assert_eq!(Some(r.value.verified_on), want, "{at}");
        }
        let bought = devices(
            "purchased_on",
            &["2023-01-23T00:00:00Z", "2023-06-30T23:15:00Z"],
        );
        assert_eq!(purchased(&bought), vec![day(2023, 1, 23), day(2023, 7, 1)]);
    }

    /// A cost in any usual way of writing pounds would be refused, or a European
    /// "12,50" read as £1,250.
    #[test]
    fn money_is_read_as_pounds_in_any_common_form() {
        let c = devices(
            "cost",
            &[
                "2266.13",
                "£1,299.00",
                "1299",
                "£45",
                " £ 45.5 ",
                "1308.3",
                "",
                "£1,234,567.89",
                "45p",
            ],
        );
        assert!(c.is_ready(), "{:?}", c.problems);
        let costs: Vec<Option<i64>> = c.rows.iter().map(|r| r.value.cost.map(|p| p.0)).collect();
        assert_eq!(
            costs,
            vec![
                Some(226_613),
                Some(129_900),
                Some(129_900),
                Some(4_500),
                Some(4_550),
                Some(130_830),
                None,
                Some(123_456_789),
                Some(45),
            ]
        );
        let bad = devices("cost", &["12,50", "1,2345", "$45", "45 euros", "1.234"]);
        assert_eq!(bad.problems.len(), 5, "{:#?}", bad.problems);
        assert!(
            bad.problems[0].message.contains("12,50"),
            "{}",
            bad.problems[0]
        );
        assert_eq!(Pence::parse("£1,299.00"), Ok(Pence(129_900)));
        let pence = devices("cost_pence", &["34999", "1,299"]);
        assert!(pence.is_ready(), "{:?}", pence.problems);
        assert_eq!(pence.rows[0].value.cost, Some(Pence(34_999)));
        assert_eq!(pence.rows[1].value.cost, Some(Pence(1_299)));
        let pence = devices("cost_pence", &["349.99"]);
        assert_eq!(lines(&pence), vec![(2, "cost_pence")]);
    }

    /// A date typed on a form as 3/9/25 would be stored as the year 25.
    #[test]
    fn a_date_on_its_own_needs_its_year_in_full_but_may_be_written_many_ways() {
        use super::read_date_alone;
        assert!(read_date_alone("3/9/25", "The date")
            .unwrap_err()
            .contains("year in full"));
        for s in [
            "2025-09-03",
            "03/09/2025",
            "3 Sep 2025",
            "Sep 3, 2025",
            "3rd September 2025",
            "2025-09-03T12:00:00Z",
        ] {
            assert_eq!(read_date_alone(s, "The date"), Ok(day(2025, 9, 3)), "{s}");
        }
        assert_eq!(read_date_alone(" ", "The date"), Ok(None));
        assert!(read_date_alone("31/02/2025", "The date").is_err());
        assert!(read_date_alone("soon", "The date").is_err());
    }
}
