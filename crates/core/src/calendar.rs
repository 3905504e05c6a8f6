//! The school calendar: the periods of the school day, the term dates and the
//! holidays, and the arithmetic of when a loan is due in school time.
//!
//! Times of day are Europe/London wall-clock times; instants are UTC. A period "from
//! 11:15" is 11:15 in London whether the clocks are on GMT or BST, so every
//! conversion goes through [`Calendar::at`], which knows the March and October
//! clock changes.
//!
//! With no terms set, every weekday is a school day (apart from the holidays); with
//! terms set, only weekdays inside a term are.

use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Utc, Weekday,
};
use chrono_tz::Europe::London;

use crate::device::parse_date;
use crate::invalid::Invalid;

/// One period of the school day, such as "Period 3, 11:15–12:15".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Period {
    pub name: String,
    pub starts: NaiveTime,
    pub ends: NaiveTime,
}

/// A named run of days, first and last included: a term or a holiday.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Days {
    pub name: String,
    pub first: NaiveDate,
    pub last: NaiveDate,
}

impl Days {
    pub fn contains(&self, day: NaiveDate) -> bool {
        self.first <= day && day <= self.last
    }

    /// "Half term (26 Oct – 30 Oct 2026)".
    pub fn describe(&self) -> String {
        format!(
            "{} ({} – {})",
            self.name,
            self.first.format("%-d %b"),
            self.last.format("%-d %b %Y")
        )
    }
}

/// The school's calendar, as the admin set it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Calendar {
    /// In the order of the day.
    pub periods: Vec<Period>,
    pub terms: Vec<Days>,
    pub holidays: Vec<Days>,
}

/// Why there is no school on a day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoSchool {
    Weekend,
    Holiday(Days),
    /// Terms are set and this day is in none of them.
    OutOfTerm,
}

impl std::fmt::Display for NoSchool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NoSchool::Weekend => f.write_str("it is a weekend"),
            NoSchool::Holiday(h) => write!(f, "it is in the holiday {}", h.describe()),
            NoSchool::OutOfTerm => f.write_str("it is outside term time"),
        }
    }
}

/// A due time after the calendar has had its say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolDue {
    pub due_at: DateTime<Utc>,
    /// Set when the asked-for time fell when the school is shut: the time asked for
    /// and why it was moved, in words for the borrower.
    pub moved: Option<(DateTime<Utc>, String)>,
}

/// How far ahead the calendar looks for a school day before giving up (a
/// calendar with no school days at all in two years is a mistake, not a reason
/// to loop for ever).
const LOOK_AHEAD_DAYS: u32 = 730;

impl Calendar {
    /// The instant at `time` on `day`, London time. In the spring-forward gap (01:00
    /// to 02:00 on the last Sunday of March) the hour that does not exist is read as
    /// the hour after; in the autumn repeat the first of the two is taken.
    pub fn at(day: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
        let local = day.and_time(time);
        match London.from_local_datetime(&local) {
            LocalResult::Single(t) => t.with_timezone(&Utc),
            LocalResult::Ambiguous(a, _) => a.with_timezone(&Utc),
            LocalResult::None => London
                .from_local_datetime(&(local + Duration::hours(1)))
                .earliest()
                .map(|t| t.with_timezone(&Utc))
                .unwrap_or_else(|| local.and_utc()),
        }
    }

    /// The London date of an instant.
    pub fn day_of(t: DateTime<Utc>) -> NaiveDate {
        t.with_timezone(&London).date_naive()
    }

    /// Why the school is shut on `day`, or `None` on a school day.
    pub fn no_school(&self, day: NaiveDate) -> Option<NoSchool> {
        if let Some(h) = self.holidays.iter().find(|h| h.contains(day)) {
            return Some(NoSchool::Holiday(h.clone()));
        }
        if matches!(day.weekday(), Weekday::Sat | Weekday::Sun) {
            return Some(NoSchool::Weekend);
        }
        if !self.terms.is_empty() && !self.terms.iter().any(|t| t.contains(day)) {
            return Some(NoSchool::OutOfTerm);
        }
        None
    }

    pub fn is_school_day(&self, day: NaiveDate) -> bool {
        self.no_school(day).is_none()
    }

    /// The first school day on or after `day`.
    pub fn school_day_from(&self, day: NaiveDate) -> NaiveDate {
        let mut d = day;
        for _ in 0..LOOK_AHEAD_DAYS {
            if self.is_school_day(d) {
                return d;
            }
            match d.succ_opt() {
                Some(next) => d = next,
                None => break,
            }
        }
        day
    }

    /// The first school day whose `time` is later than `now`.
    fn next_at(&self, now: DateTime<Utc>, time: NaiveTime) -> DateTime<Utc> {
        let mut day = self.school_day_from(Self::day_of(now));
        for _ in 0..LOOK_AHEAD_DAYS {
            let t = Self::at(day, time);
            if t > now {
                return t;
            }
            day = self.school_day_from(day.succ_opt().unwrap_or(day));
        }
        Self::at(day, time)
    }

    /// When a loan made at `now` is due back by default: the end of today's school
    /// day, or of the next school day when today is not one or its day has ended.
    pub fn default_due(&self, now: DateTime<Utc>, day_ends_at: NaiveTime) -> DateTime<Utc> {
        self.next_at(now, day_ends_at)
    }

    /// The period called `name` (any case), if the calendar has one.
    pub fn period(&self, name: &str) -> Option<&Period> {
        self.periods
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
    }

    /// The end of this period on `day` when given, otherwise at its next end after
    /// `now` on a school day: "return at the end of period 3".
    pub fn end_of_period(
        &self,
        period: &Period,
        day: Option<NaiveDate>,
        now: DateTime<Utc>,
    ) -> DateTime<Utc> {
        match day {
            Some(d) => Self::at(d, period.ends),
            None => self.next_at(now, period.ends),
        }
    }

    /// This period's start and end on `day`, as instants.
    pub fn period_on(&self, period: &Period, day: NaiveDate) -> (DateTime<Utc>, DateTime<Utc>) {
        (Self::at(day, period.starts), Self::at(day, period.ends))
    }

    /// A due time as the school can take it: one falling in a holiday, or outside
    /// the terms when terms are set, moves to the end of the first school day after.
    /// Weekends are left alone here (the default due time already skips them, and a
    /// manager may agree a Saturday return for an event).
    pub fn school_due(&self, due_at: DateTime<Utc>, day_ends_at: NaiveTime) -> SchoolDue {
        let day = Self::day_of(due_at);
        match self.no_school(day) {
            Some(why @ (NoSchool::Holiday(_) | NoSchool::OutOfTerm)) => {
                let to_day = self.school_day_from(day);
                if to_day == day {
                    return SchoolDue {
                        due_at,
                        moved: None,
                    };
                }
                let to = Self::at(to_day, day_ends_at);
                SchoolDue {
                    due_at: to,
                    moved: Some((
                        due_at,
                        format!(
                            "The return date fell when the school is shut ({why}), so it was moved to the first school day after, {}.",
                            to_day.format("%A %-d %B")
                        ),
                    )),
                }
            }
            _ => SchoolDue {
                due_at,
                moved: None,
            },
        }
    }
}

/// The calendar form as typed: one entry a line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CalendarInput {
    /// "Period 3, 11:15-12:15"
    pub periods: String,
    /// "Autumn term, 2026-09-03 to 2026-12-18"
    pub terms: String,
    /// "Half term, 2026-10-26 to 2026-10-30"
    pub holidays: String,
}

impl From<&Calendar> for CalendarInput {
    fn from(c: &Calendar) -> Self {
        let days = |list: &[Days]| {
            list.iter()
                .map(|d| format!("{}, {} to {}", d.name, d.first, d.last))
                .collect::<Vec<_>>()
                .join("\n")
        };
        CalendarInput {
            periods: c
                .periods
                .iter()
                .map(|p| {
                    format!(
                        "{}, {}-{}",
                        p.name,
                        p.starts.format("%H:%M"),
                        p.ends.format("%H:%M")
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
            terms: days(&c.terms),
            holidays: days(&c.holidays),
        }
    }
}

/// Splits "Name, rest" at the last comma.
fn name_and_rest(line: &str) -> Option<(&str, &str)> {
    let (name, rest) = line.rsplit_once(',')?;
    let name = name.trim();
    (!name.is_empty()).then_some((name, rest.trim()))
}

fn parse_time(s: &str) -> Option<NaiveTime> {
    let s = s.trim().replace('.', ":");
    NaiveTime::parse_from_str(&s, "%H:%M").ok()
}

fn parse_period(line: &str) -> Result<Period, String> {
    let shape = "Write a period as its name, a comma and its times, like “Period 3, 11:15-12:15”.";
    let (name, rest) = name_and_rest(line).ok_or(shape)?;
    let (a, b) = rest
        .split_once(['-', '–'])
        .or_else(|| rest.split_once(" to "))
        .ok_or(shape)?;
    let (Some(starts), Some(ends)) = (parse_time(a), parse_time(b)) else {
        return Err(shape.into());
    };
    if ends <= starts {
        return Err(format!("{name} must end after it starts."));
    }
    if name.chars().count() > 60 {
        return Err("A period's name must be 60 characters or fewer.".into());
    }
    Ok(Period {
        name: name.to_owned(),
        starts,
        ends,
    })
}

fn parse_days(line: &str, what: &str, example: &str) -> Result<Days, String> {
    let shape = format!(
        "Write a {what} as its name, a comma and its first and last days, like “{example}”."
    );
    let (name, rest) = name_and_rest(line).ok_or(shape.clone())?;
    let (a, b) = rest
        .split_once(" to ")
        .or_else(|| rest.split_once(" – "))
        .or_else(|| rest.split_once(" - "))
        .unwrap_or((rest, rest));
    let first = parse_date(a, "The first day")?.ok_or(shape.clone())?;
    let last = parse_date(b, "The last day")?.ok_or(shape)?;
    if last < first {
        return Err(format!("{name} must end on or after the day it starts."));
    }
    if (last - first).num_days() > 400 {
        return Err(format!("{name} is longer than a year. Check the dates."));
    }
    if name.chars().count() > 60 {
        return Err(format!("A {what}'s name must be 60 characters or fewer."));
    }
    Ok(Days {
        name: name.to_owned(),
        first,
        last,
    })
}

fn lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
}

impl CalendarInput {
    /// Checks every line; a refusal names the line it is about.
    pub fn parse(&self) -> Result<Calendar, Invalid> {
        let mut invalid = Invalid::new();
        let mut c = Calendar::default();
        let mut errors = Vec::new();
        for (n, line) in lines(&self.periods) {
            match parse_period(line) {
                Ok(p) => {
                    if c.period(&p.name).is_some() {
                        errors.push(format!(
                            "Line {n}: there is already a period called {}.",
                            p.name
                        ));
                    } else {
                        c.periods.push(p);
                    }
                }
                Err(e) => errors.push(format!("Line {n}: {e}")),
            }
        }
        if !errors.is_empty() {
            invalid.add("periods", errors.join(" "));
        }
        c.periods.sort_by_key(|p| p.starts);
        for (field, what, example, list) in [
            (
                "terms",
                "term",
                "Autumn term, 2026-09-03 to 2026-12-18",
                &mut c.terms,
            ),
            (
                "holidays",
                "holiday",
                "Half term, 2026-10-26 to 2026-10-30",
                &mut c.holidays,
            ),
        ] {
            let text = if field == "terms" {
                &self.terms
            } else {
                &self.holidays
            };
            let mut errors = Vec::new();
            for (n, line) in lines(text) {
                match parse_days(line, what, example) {
                    Ok(d) => list.push(d),
                    Err(e) => errors.push(format!("Line {n}: {e}")),
                }
            }
            if list.len() > 100 {
                errors.push(format!("Keep to 100 {what}s or fewer; remove past ones."));
            }
            if !errors.is_empty() {
                invalid.add(field, errors.join(" "));
            }
            list.sort_by_key(|d| d.first);
        }
        if c.periods.len() > 20 {
            invalid.add("periods", "A school day has at most 20 periods here.");
        }
        invalid.into_result()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    fn hm(s: &str) -> NaiveTime {
        NaiveTime::parse_from_str(s, "%H:%M").unwrap()
    }

    /// A school year like a real one: 2026/27, with October half term straddling
    /// the autumn clock change (Sunday 25 October 2026) and the spring term ending
    /// just after the spring clock change (Sunday 28 March 2027).
    fn school() -> Calendar {
        CalendarInput {
            periods: "Period 1, 08:50-09:50\nPeriod 2, 09:50-10:50\nPeriod 3, 11:15-12:15\nPeriod 4, 12:15-13:15\nPeriod 5, 14:00-15:00".into(),
            terms: "Autumn term, 2026-09-03 to 2026-12-18\nSpring term, 2027-01-05 to 2027-03-26\nSummer term, 2027-04-12 to 2027-07-21".into(),
            holidays: "Half term, 2026-10-26 to 2026-10-30\nFebruary half term, 2027-02-15 to 2027-02-19".into(),
        }
        .parse()
        .unwrap()
    }

    #[test]
    fn a_loan_due_in_half_term_moves_to_the_monday_after() {
        // due Wednesday 28 October 2026 at 15:30 GMT (the clocks went back on the 25th)
        let due = t("2026-10-28T15:30:00Z");
        let s = school().school_due(due, hm("15:30"));
        assert_eq!(
            s.due_at,
            t("2026-11-02T15:30:00Z"),
            "Monday 2 November, 15:30 GMT"
        );
        let (from, why) = s.moved.unwrap();
        assert_eq!(from, due);
        assert!(why.contains("Half term (26 Oct – 30 Oct 2026)"), "{why}");
        assert!(why.contains("Monday 2 November"), "{why}");
    }

    #[test]
    fn a_loan_due_on_a_school_day_is_left_alone() {
        let due = t("2026-10-23T14:30:00Z"); // Friday before half term, 15:30 BST
        assert_eq!(
            school().school_due(due, hm("15:30")),
            SchoolDue {
                due_at: due,
                moved: None
            }
        );
        // with no calendar set, nothing moves
        let in_half_term = t("2026-10-28T15:30:00Z");
        assert_eq!(
            Calendar::default()
                .school_due(in_half_term, hm("15:30"))
                .moved,
            None
        );
    }

    #[test]
    fn the_end_of_the_day_before_half_term_is_in_summer_time_and_after_it_in_winter_time() {
        let c = school();
        // Friday 23 October after school: next school day is Monday 2 November
        let friday_evening = t("2026-10-23T16:00:00Z");
        assert_eq!(
            c.default_due(friday_evening, hm("15:30")),
            t("2026-11-02T15:30:00Z")
        );
        // that Friday morning it is due at 15:30 BST, which is 14:30 UTC
        assert_eq!(
            c.default_due(t("2026-10-23T08:00:00Z"), hm("15:30")),
            t("2026-10-23T14:30:00Z")
        );
    }

    #[test]
    fn across_the_spring_clock_change_and_the_end_of_term() {
        let c = school();
        // Friday 26 March 2027 is the last day of the spring term, in GMT
        assert_eq!(
            c.default_due(t("2027-03-26T09:00:00Z"), hm("15:30")),
            t("2027-03-26T15:30:00Z")
        );
        // after school that day, the next school day is the first of the summer
        // term, Monday 12 April, in BST
        assert_eq!(
            c.default_due(t("2027-03-26T16:00:00Z"), hm("15:30")),
            t("2027-04-12T14:30:00Z")
        );
        // a due date in the Easter holidays (not a named holiday: between terms)
        let easter = t("2027-04-01T14:30:00Z");
        let s = c.school_due(easter, hm("15:30"));
        assert_eq!(s.due_at, t("2027-04-12T14:30:00Z"));
        assert!(s.moved.unwrap().1.contains("outside term time"));
    }

    #[test]
    fn a_term_boundary_is_crossed_by_the_default_due_time() {
        let c = school();
        // Friday 18 December 2026, last day of autumn term, after school
        assert_eq!(
            c.default_due(t("2026-12-18T17:00:00Z"), hm("15:30")),
            t("2027-01-05T15:30:00Z")
        );
        assert!(c.is_school_day(d("2026-12-18")));
        assert!(!c.is_school_day(d("2026-12-21")));
        assert_eq!(c.no_school(d("2026-12-21")), Some(NoSchool::OutOfTerm));
        assert_eq!(c.no_school(d("2026-12-19")), Some(NoSchool::Weekend));
    }

    #[test]
    fn period_three_ends_at_1215_london_time_either_side_of_the_clock_change() {
        let c = school();
        let p3 = c.period("period 3").unwrap().clone();
        // Friday 26 March 2027 (GMT) and Monday 12 April 2027 (BST)
        assert_eq!(
            c.period_on(&p3, d("2027-03-26")),
            (t("2027-03-26T11:15:00Z"), t("2027-03-26T12:15:00Z"))
        );
        assert_eq!(
            c.period_on(&p3, d("2027-04-12")),
            (t("2027-04-12T10:15:00Z"), t("2027-04-12T11:15:00Z"))
        );
        // asked at 12:30 on a school day, "end of period 3" is tomorrow's
        assert_eq!(
            c.end_of_period(&p3, None, t("2026-11-24T12:30:00Z")),
            t("2026-11-25T12:15:00Z")
        );
        assert_eq!(
            c.end_of_period(&p3, None, t("2026-11-24T09:00:00Z")),
            t("2026-11-24T12:15:00Z")
        );
    }

    #[test]
    fn times_in_the_missing_and_the_repeated_hour_are_read_sensibly() {
        // 01:30 on 28 March 2027 does not exist in London: read as 02:30 BST
        assert_eq!(
            Calendar::at(d("2027-03-28"), hm("01:30")),
            t("2027-03-28T01:30:00Z")
        );
        // 01:30 on 25 October 2026 happens twice: the first (BST) is taken
        assert_eq!(
            Calendar::at(d("2026-10-25"), hm("01:30")),
            t("2026-10-25T00:30:00Z")
        );
    }

    #[test]
    fn the_calendar_form_reads_back_what_it_wrote_and_names_bad_lines() {
        let c = school();
        assert_eq!(CalendarInput::from(&c).parse().unwrap(), c);
        let bad = CalendarInput {
            periods: "Period 1, 09:00-10:00\nPeriod 2 at ten".into(),
            terms: "Autumn, 2026-12-18 to 2026-09-03".into(),
            holidays: "Half term, 2026-10-26 – 2026-10-30\nInset day, 2026-11-20".into(),
        };
        let err = bad.parse().unwrap_err();
        assert!(err.for_field("periods").unwrap().starts_with("Line 2:"));
        assert!(err
            .for_field("terms")
            .unwrap()
            .contains("must end on or after"));
        assert!(
            err.for_field("holidays").is_none(),
            "a one-day holiday and an en dash are fine"
        );
    }
}
