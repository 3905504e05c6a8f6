//! A person's bookings as iCalendar (RFC 5545), for the calendar feed. The
//! `icalendar` crate writes it (content lines ending in CRLF, text escaped, long
//! lines folded at 75 octets); this module says what goes in: a VCALENDAR of
//! VEVENTs in UTC, each with a stable UID so calendar programs update rather than
//! duplicate.

use chrono::{DateTime, Utc};
use icalendar::{Component, EventLike, EventStatus};

/// One event in the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcsEvent {
    /// Stable across refreshes, so calendar programs update rather than duplicate.
    pub uid: String,
    pub stamp: DateTime<Utc>,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub summary: String,
    pub description: String,
    pub location: String,
    /// Sent as `STATUS:CANCELLED`, so calendar programs take it off the calendar.
    pub cancelled: bool,
    /// The event's revision (RFC 5545 `SEQUENCE`): a calendar program replaces its
    /// copy only with a higher one, so a cancellation must raise it.
    pub sequence: u32,
}

/// A whole calendar: `name` is what the calendar program shows for the feed.
pub fn calendar(name: &str, events: &[IcsEvent]) -> String {
    let mut cal = icalendar::Calendar::empty();
    cal.append_property(("VERSION", "2.0"));
    cal.append_property(("PRODID", "-//Kitroom//Bookings//EN"));
    cal.append_property(("CALSCALE", "GREGORIAN"));
    cal.append_property(("METHOD", "PUBLISH"));
    cal.name(name);
    for e in events {
        let mut event = icalendar::Event::new();
        event
            .uid(&e.uid)
            .timestamp(e.stamp)
            .starts(e.starts_at)
            .ends(e.ends_at)
            .summary(&e.summary)
            .sequence(e.sequence)
            .status(if e.cancelled {
                EventStatus::Cancelled
            } else {
                EventStatus::Confirmed
            })
            .add_property("TRANSP", "OPAQUE");
        if !e.description.is_empty() {
            event.description(&e.description);
        }
        if !e.location.is_empty() {
            event.location(&e.location);
        }
        cal.push(event.done());
    }
    cal.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn event(summary: &str, description: &str) -> IcsEvent {
        IcsEvent {
            uid: "b1@kitroom".into(),
            stamp: t("2026-11-23T09:00:00Z"),
            starts_at: t("2027-04-12T10:15:00Z"),
            ends_at: t("2027-04-12T11:15:00Z"),
            summary: summary.into(),
            description: description.into(),
            location: String::new(),
            cancelled: false,
            sequence: 0,
        }
    }

    #[test]
    fn text_is_escaped_and_long_lines_fold_at_75_octets_without_splitting_a_character() {
        let ics = calendar(
            "Kitroom",
            &[event(
                &"é".repeat(60),
                "6B; science, room 4\\5\nbring chargers",
            )],
        );
        assert!(
            ics.contains("DESCRIPTION:6B\\; science\\, room 4\\\\5\\nbring chargers\r\n"),
            "{ics}"
        );
        for l in ics.trim_end_matches("\r\n").split("\r\n") {
            assert!(l.len() <= 75, "{} octets: {l}", l.len());
        }
        // unfolding gives the summary back whole (each piece is valid UTF-8, so no
        // character was split)
        let unfolded = ics.replace("\r\n ", "");
        assert!(
            unfolded.contains(&format!("SUMMARY:{}\r\n", "é".repeat(60))),
            "{ics}"
        );
    }

    #[test]
    fn a_booking_is_one_event_in_utc_with_crlf_lines() {
        let ics = calendar(
            "Kitroom: Jo's bookings",
            &[event("iPad trolley A", "Period 3, 6B science")],
        );
        assert!(
            ics.starts_with("BEGIN:VCALENDAR\r\nVERSION:2.0\r\n"),
            "{ics}"
        );
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(ics.contains("\r\nDTSTART:20270412T101500Z\r\n"), "{ics}");
        assert!(ics.contains("\r\nDTEND:20270412T111500Z\r\n"), "{ics}");
        assert!(ics.contains("\r\nDTSTAMP:20261123T090000Z\r\n"), "{ics}");
        assert!(ics.contains("\r\nUID:b1@kitroom\r\n"), "{ics}");
        assert!(ics.contains("\r\nSTATUS:CONFIRMED\r\n"), "{ics}");
        assert!(
            ics.contains("\r\nX-WR-CALNAME:Kitroom: Jo's bookings\r\n"),
            "{ics}"
        );
        assert!(ics.contains("DESCRIPTION:Period 3\\, 6B science\r\n"));
        assert!(
            !ics.replace("\r\n", "").contains('\n'),
            "every line ends in CRLF"
        );
        assert_eq!(ics.matches("BEGIN:VEVENT").count(), 1);
    }

    #[test]
    fn a_cancelled_booking_is_sent_cancelled_with_a_higher_sequence() {
        let mut e = event("iPad trolley A", "");
        let ics = calendar("Kitroom", std::slice::from_ref(&e));
        assert!(ics.contains("\r\nSEQUENCE:0\r\n"), "{ics}");
        e.cancelled = true;
        e.sequence = 1;
        let ics = calendar("Kitroom", &[e]);
        assert!(ics.contains("\r\nSTATUS:CANCELLED\r\n"), "{ics}");
        assert!(ics.contains("\r\nSEQUENCE:1\r\n"), "{ics}");
    }
}
