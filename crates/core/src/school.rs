//! Schools: a trust's Kitroom holds several in one deployment, and every device,
//! location, loan and report belongs to one of them. A deployment with one school
//! never shows it: that school is [`SchoolId::FIRST`], the one every database had
//! before there were schools (migration `0021_schools`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which school a record belongs to, or a request acts in. Every store function that
/// reads or writes a school's records takes one, so that one school's page, form or
/// API call never reaches another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SchoolId(pub i64);

impl SchoolId {
    /// The school a deployment starts with, which holds what was there before schools.
    pub const FIRST: SchoolId = SchoolId(1);
    /// Not a school: the trust itself, as the owner of what it keeps for every
    /// school (its acceptable-use policy, when it keeps one for all).
    pub const TRUST: SchoolId = SchoolId(0);
}

impl fmt::Display for SchoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A school's short name, given at the command line (`--school st-marys`): one to
/// 40 lower-case letters, digits and hyphens, starting with a letter or a digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SchoolSlug(String);

impl SchoolSlug {
    pub const MAX: usize = 40;

    /// Checks a short name as typed (its case and surrounding spaces aside).
    pub fn parse(s: &str) -> Result<SchoolSlug, String> {
        let s = s.trim().to_ascii_lowercase();
        let fits = !s.is_empty()
            && s.len() <= Self::MAX
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if fits {
            Ok(SchoolSlug(s))
        } else {
            Err(format!(
                "A school's short name is 1 to {} lower-case letters, digits and hyphens, like “st-marys”.",
                Self::MAX
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SchoolSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What stops a device moving to another school of the trust, in words for the
/// person moving it; `None` when it may go. Whatever is still open about it (a
/// loan, a set, bookings) belongs to the school it is in, so that ends first; a
/// lost or retired device keeps its story where it happened.
pub fn transfer_refusal(
    status: crate::device::DeviceStatus,
    in_set: Option<&str>,
    bookings_ahead: usize,
) -> Option<String> {
    use crate::device::DeviceStatus;
    match status {
        DeviceStatus::OnLoan => {
            return Some("It is on loan: take it back before moving it to another school.".into())
        }
        DeviceStatus::Lost => {
            return Some(
                "It is lost: a lost device stays on the register of the school that lost it."
                    .into(),
            )
        }
        DeviceStatus::Retired => return Some(
            "It is retired: a retired device stays on the register of the school that retired it."
                .into(),
        ),
        _ => {}
    }
    if let Some(set) = in_set {
        return Some(format!(
            "It is in the set “{set}”: take it out of the set first."
        ));
    }
    if bookings_ahead > 0 {
        return Some(format!(
            "It is booked {bookings_ahead} time{} from now on: cancel {} first.",
            if bookings_ahead == 1 { "" } else { "s" },
            if bookings_ahead == 1 {
                "that booking"
            } else {
                "those bookings"
            }
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::DeviceStatus;

    #[test]
    fn a_device_moves_school_only_with_nothing_open_at_the_old_one() {
        assert_eq!(transfer_refusal(DeviceStatus::Available, None, 0), None);
        assert_eq!(transfer_refusal(DeviceStatus::InRepair, None, 0), None);
        assert_eq!(
            transfer_refusal(DeviceStatus::ReturnedCharging, None, 0),
            None
        );
        for s in [
            DeviceStatus::OnLoan,
            DeviceStatus::Lost,
            DeviceStatus::Retired,
        ] {
            assert!(transfer_refusal(s, None, 0).is_some(), "{s:?}");
        }
        assert!(
            transfer_refusal(DeviceStatus::Available, Some("Trolley"), 0)
                .unwrap()
                .contains("Trolley")
        );
        assert!(transfer_refusal(DeviceStatus::Available, None, 2)
            .unwrap()
            .contains("2 times"));
    }

    #[test]
    fn a_short_name_is_lower_case_letters_digits_and_hyphens() {
        assert_eq!(
            SchoolSlug::parse(" St-Marys ").unwrap().as_str(),
            "st-marys"
        );
        assert_eq!(SchoolSlug::parse("school2").unwrap().as_str(), "school2");
        for bad in ["", "-x", "st marys", "é", "a/b", &"a".repeat(41)] {
            assert!(SchoolSlug::parse(bad).is_err(), "{bad:?}");
        }
    }
}
