//! Stocktakes: which devices were expected, which were seen where, and the result.
//!
//! A stocktake covers the whole school or one location. Every device in scope
//! (not retired) is expected. Closing it sorts each into one outcome: seen where it
//! belongs, seen somewhere else, away on loan (expected away), or missing.

use std::collections::HashMap;

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
}
