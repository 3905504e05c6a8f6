//! Accessories: chargers, cables, styluses, cases and memory cards, counted per
//! location rather than tagged one by one. They go out with a loan and come back
//! with it; the count at a location never falls below none.

use crate::invalid;

/// The most of one accessory a single change or loan may move.
pub const MOST_AT_ONCE: i64 = 500;

/// An accessory type's name ("USB-C charger"), checked.
pub fn accessory_name(s: &str) -> Result<String, String> {
    invalid::required_text(s, "Name", 80)
}

/// A count typed on a form: a whole number from `least` to [`MOST_AT_ONCE`].
pub fn parse_count(s: &str, what: &str, least: i64) -> Result<i64, String> {
    match s.trim().trim_start_matches('+').parse::<i64>() {
        Ok(n) if (least..=MOST_AT_ONCE).contains(&n) => Ok(n),
        _ => Err(format!(
            "{what} must be a whole number from {least} to {MOST_AT_ONCE}."
        )),
    }
}

/// A change to a count as typed: "+5" adds, "-2" takes away; never zero.
pub fn parse_change(s: &str) -> Result<i64, String> {
    match s.trim().trim_start_matches('+').parse::<i64>() {
        Ok(n) if n != 0 && n.abs() <= MOST_AT_ONCE => Ok(n),
        _ => Err(format!(
            "Type the change as a number such as 5 to add or -2 to take away (at most {MOST_AT_ONCE})."
        )),
    }
}

/// Why an accessory count could not change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessoryRefusal {
    #[error("Only {have} × {name} left in the {location}, so {asked} cannot go out. Take fewer, or take them from another place.")]
    NotEnough {
        name: String,
        location: String,
        have: i64,
        asked: i64,
    },
    #[error("The {location} has {have} × {name}: taking away {asked} would leave fewer than none. Count them again.")]
    BelowNone {
        name: String,
        location: String,
        have: i64,
        asked: i64,
    },
    #[error("{out} × {name} went out, so at most {out} can come back.")]
    MoreBackThanWent { name: String, out: i64 },
}

impl AccessoryRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            AccessoryRefusal::NotEnough { .. } => "accessory-not-enough",
            AccessoryRefusal::BelowNone { .. } => "accessory-below-none",
            AccessoryRefusal::MoreBackThanWent { .. } => "accessory-more-back",
        }
    }
}

/// The count left after `asked` go out with a loan.
pub fn take(have: i64, asked: i64, name: &str, location: &str) -> Result<i64, AccessoryRefusal> {
    if asked > have {
        return Err(AccessoryRefusal::NotEnough {
            name: name.to_owned(),
            location: location.to_owned(),
            have,
            asked,
        });
    }
    Ok(have - asked)
}

/// The count after a manager's change (positive adds, negative takes away).
pub fn adjust(have: i64, change: i64, name: &str, location: &str) -> Result<i64, AccessoryRefusal> {
    if have + change < 0 {
        return Err(AccessoryRefusal::BelowNone {
            name: name.to_owned(),
            location: location.to_owned(),
            have,
            asked: -change,
        });
    }
    Ok(have + change)
}

/// How many came back of `out`, checked: from none to all of them.
pub fn came_back(out: i64, back: i64, name: &str) -> Result<i64, AccessoryRefusal> {
    if !(0..=out).contains(&back) {
        return Err(AccessoryRefusal::MoreBackThanWent {
            name: name.to_owned(),
            out,
        });
    }
    Ok(back)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_charger_cannot_go_out_when_none_is_left() {
        assert_eq!(take(2, 1, "Charger", "ICT room"), Ok(1));
        let r = take(1, 2, "Charger", "ICT room").unwrap_err();
        assert_eq!(r.code(), "accessory-not-enough");
        assert!(r
            .to_string()
            .starts_with("Only 1 × Charger left in the ICT room"));
    }

    #[test]
    fn a_count_is_typed_as_a_whole_number_and_a_change_is_never_zero() {
        assert_eq!(parse_count(" 3 ", "How many", 1), Ok(3));
        assert!(parse_count("0", "How many", 1).is_err());
        assert!(parse_count("two", "How many", 1).is_err());
        assert_eq!(parse_change("+5"), Ok(5));
        assert_eq!(parse_change("-2"), Ok(-2));
        assert!(parse_change("0").is_err());
        assert!(came_back(1, 2, "Charger").is_err());
    }

    proptest! {
        #[test]
        fn no_sequence_of_changes_and_loans_leaves_a_count_below_none(
            steps in proptest::collection::vec((any::<bool>(), -20i64..20), 0..60),
        ) {
            let mut have = 0i64;
            for (loan, n) in steps {
                let r = if loan { take(have, n.abs(), "C", "L") } else { adjust(have, n, "C", "L") };
                if let Ok(left) = r { have = left; }
                prop_assert!(have >= 0);
            }
        }
    }
}
