//! Stocktakes: which devices were expected, which were seen where, and the result.
//!
//! A stocktake covers the whole school or one location. Every device in scope
//! (not retired) is expected. Closing it sorts each into one outcome: seen where it
//! belongs, seen somewhere else, away on loan (expected away), or missing.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;
use uuid::Uuid;

use crate::device::{words, DeviceStatus};

words!(
    /// What a stocktake found for one device.
    Outcome, "stocktake outcome" {
        Seen = "seen", "Seen";
        SeenElsewhere = "seen_elsewhere", "Seen in another location";
        OnLoan = "on_loan", "On loan (expected away)";
        Missing = "missing", "Missing";
    }
);

/// A device the stocktake expects to find.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    pub device: Uuid,
    pub home: Uuid,
    pub status: DeviceStatus,
}

/// A device marked as seen, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mark {
    pub device: Uuid,
    pub seen_at: Uuid,
}

/// Each expected device's outcome, with where it was seen. A device seen that was
/// not expected (its home is outside the scope) is reported as seen elsewhere.
pub fn outcomes(expected: &[Expected], marks: &[Mark]) -> Vec<(Uuid, Outcome, Option<Uuid>)> {
    let seen: HashMap<Uuid, Uuid> = marks.iter().map(|m| (m.device, m.seen_at)).collect();
    let mut out: Vec<(Uuid, Outcome, Option<Uuid>)> = expected
        .iter()
        .map(|e| match seen.get(&e.device) {
            Some(at) if *at == e.home => (e.device, Outcome::Seen, Some(*at)),
            Some(at) => (e.device, Outcome::SeenElsewhere, Some(*at)),
            None if e.status == DeviceStatus::OnLoan => (e.device, Outcome::OnLoan, None),
            None => (e.device, Outcome::Missing, None),
        })
        .collect();
    let expected_ids: std::collections::HashSet<Uuid> = expected.iter().map(|e| e.device).collect();
    for m in marks.iter().filter(|m| !expected_ids.contains(&m.device)) {
        out.push((m.device, Outcome::SeenElsewhere, Some(m.seen_at)));
    }
    out
}

/// "412 of 530 seen".
pub fn progress(seen: usize, expected: usize) -> String {
    format!("{seen} of {expected} seen")
}

/// Why a stocktake operation was refused, in words for the person scanning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StocktakeRefusal {
    /// A stocktake of the same scope is open already: scanners join that one,
    /// so their scans are not split across two.
    ScopeAlreadyOpen,
    /// Scanning into a stocktake that has been closed.
    Closed,
    /// Closing one that is closed already.
    AlreadyClosed,
    /// No device has this tag.
    UnknownTag(String),
    /// "Move it here" for a device the stocktake did not see.
    NotSeen,
    /// "Move it here" for a device seen where it belongs.
    SeenWhereItBelongs,
    /// "Move it here" for a device already moved there.
    AlreadyMoved,
}

impl StocktakeRefusal {
    /// A stable, machine-readable code (the API's problem type).
    pub fn code(&self) -> &'static str {
        match self {
            StocktakeRefusal::ScopeAlreadyOpen => "stocktake-already-open",
            StocktakeRefusal::Closed => "stocktake-closed",
            StocktakeRefusal::AlreadyClosed => "stocktake-already-closed",
            StocktakeRefusal::UnknownTag(_) => "unknown-tag",
            StocktakeRefusal::NotSeen => "device-not-seen",
            StocktakeRefusal::SeenWhereItBelongs => "device-seen-where-it-belongs",
            StocktakeRefusal::AlreadyMoved => "device-already-moved",
        }
    }

    /// True when the refusal is about what was typed (the tag), not the state.
    pub fn is_about_input(&self) -> bool {
        matches!(self, StocktakeRefusal::UnknownTag(_))
    }
}

impl fmt::Display for StocktakeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StocktakeRefusal::ScopeAlreadyOpen => f.write_str(
                "A stocktake of that location is already open. Join it from the list instead.",
            ),
            StocktakeRefusal::Closed => f.write_str("This stocktake is closed."),
            StocktakeRefusal::AlreadyClosed => f.write_str("This stocktake is already closed."),
            StocktakeRefusal::UnknownTag(tag) => write!(
                f,
                "No device has the tag “{tag}”. Check the label; if it is new, register it first."
            ),
            StocktakeRefusal::NotSeen => f.write_str("This device was not seen in this stocktake."),
            StocktakeRefusal::SeenWhereItBelongs => {
                f.write_str("This device was seen where it belongs.")
            }
            StocktakeRefusal::AlreadyMoved => {
                f.write_str("This device already lives where it was found.")
            }
        }
    }
}

impl std::error::Error for StocktakeRefusal {}

/// The tag in what a scanner read: a phone camera may read the label's whole
/// address (`…/d/LAP-0042`) rather than the tag.
pub fn tag_from_scan(scanned: &str) -> &str {
    let scanned = scanned.trim();
    scanned
        .rsplit_once("/d/")
        .map(|(_, t)| t.trim())
        .unwrap_or(scanned)
}

/// A device may be marked seen only while its stocktake is open.
pub fn may_scan(closed: bool) -> Result<(), StocktakeRefusal> {
    if closed {
        Err(StocktakeRefusal::Closed)
    } else {
        Ok(())
    }
}

/// A stocktake is closed once.
pub fn may_close(closed: bool) -> Result<(), StocktakeRefusal> {
    if closed {
        Err(StocktakeRefusal::AlreadyClosed)
    } else {
        Ok(())
    }
}

/// Where a scanned device counts as seen: the stocktake's own location when it
/// covers one; otherwise where the scanner says they are, or else the device's
/// home (a whole-school count ticked from the list).
pub fn where_seen(scope: Option<Uuid>, scanner_at: Option<Uuid>, home: Uuid) -> Uuid {
    scope.or(scanner_at).unwrap_or(home)
}

/// "Move it here": only a device seen in another place than its home gets that
/// place as its home, once. `home` is where it lives now. Returns the place.
pub fn move_here(
    outcome: Outcome,
    seen_at: Option<Uuid>,
    home: Uuid,
) -> Result<Uuid, StocktakeRefusal> {
    let Some(seen_at) = seen_at else {
        return Err(StocktakeRefusal::NotSeen);
    };
    if outcome != Outcome::SeenElsewhere {
        return Err(StocktakeRefusal::SeenWhereItBelongs);
    }
    if seen_at == home {
        return Err(StocktakeRefusal::AlreadyMoved);
    }
    Ok(seen_at)
}

/// Whether closing stamps the device as audited: it was seen, wherever.
pub fn stamps_audit(outcome: Outcome) -> bool {
    matches!(outcome, Outcome::Seen | Outcome::SeenElsewhere)
}

/// The date a closing stamps as each seen device's last audit: today at the
/// school (Europe/London), not in UTC.
pub fn audit_date(now: DateTime<Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::London).date_naive()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_device_gets_one_outcome() {
        let room = Uuid::new_v4();
        let library = Uuid::new_v4();
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        let expected = vec![
            Expected {
                device: ids[0],
                home: room,
                status: DeviceStatus::Available,
            },
            Expected {
                device: ids[1],
                home: room,
                status: DeviceStatus::Available,
            },
            Expected {
                device: ids[2],
                home: room,
                status: DeviceStatus::OnLoan,
            },
            Expected {
                device: ids[3],
                home: room,
                status: DeviceStatus::Available,
            },
        ];
        let marks = vec![
            Mark {
                device: ids[0],
                seen_at: room,
            },
            Mark {
                device: ids[1],
                seen_at: library,
            },
            Mark {
                device: ids[4],
                seen_at: room,
            },
        ];
        let out = outcomes(&expected, &marks);
        let of = |id: Uuid| out.iter().find(|o| o.0 == id).map(|o| o.1);
        assert_eq!(of(ids[0]), Some(Outcome::Seen));
        assert_eq!(of(ids[1]), Some(Outcome::SeenElsewhere));
        assert_eq!(of(ids[2]), Some(Outcome::OnLoan));
        assert_eq!(of(ids[3]), Some(Outcome::Missing));
        assert_eq!(
            of(ids[4]),
            Some(Outcome::SeenElsewhere),
            "seen here though it lives elsewhere"
        );
        assert_eq!(out.len(), 5);
        assert_eq!(progress(412, 530), "412 of 530 seen");
    }

    #[test]
    fn a_scanned_label_address_gives_its_tag() {
        assert_eq!(
            tag_from_scan(" https://kit.example/d/LAP-0042 "),
            "LAP-0042"
        );
        assert_eq!(tag_from_scan(" lap-7 "), "lap-7");
    }

    #[test]
    fn only_a_device_seen_elsewhere_can_be_moved_here() {
        let (hall, library) = (Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(
            move_here(Outcome::SeenElsewhere, Some(hall), library),
            Ok(hall)
        );
        assert_eq!(
            move_here(Outcome::Seen, Some(hall), hall),
            Err(StocktakeRefusal::SeenWhereItBelongs)
        );
        assert_eq!(
            move_here(Outcome::Missing, None, library),
            Err(StocktakeRefusal::NotSeen)
        );
        assert_eq!(
            move_here(Outcome::SeenElsewhere, Some(hall), hall),
            Err(StocktakeRefusal::AlreadyMoved),
            "moved already"
        );
    }

    #[test]
    fn a_closed_stocktake_takes_no_scans_and_closes_once() {
        assert_eq!(may_scan(true), Err(StocktakeRefusal::Closed));
        assert_eq!(may_close(true), Err(StocktakeRefusal::AlreadyClosed));
        assert!(may_scan(false).is_ok() && may_close(false).is_ok());
    }

    #[test]
    fn a_device_counts_as_seen_in_the_stocktakes_room_then_the_scanners_then_its_home() {
        let (room, here, home) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        assert_eq!(where_seen(Some(room), Some(here), home), room);
        assert_eq!(where_seen(None, Some(here), home), here);
        assert_eq!(where_seen(None, None, home), home);
    }

    #[test]
    fn the_audit_date_is_the_schools_today() {
        let late_summer_evening = "2026-07-01T23:30:00Z".parse::<DateTime<Utc>>().unwrap();
        assert_eq!(audit_date(late_summer_evening).to_string(), "2026-07-02");
    }
}
