//! Sets and trolleys ("kits"): devices grouped to be lent, returned and booked as
//! one. A set goes out with whichever of its devices are available (one in repair
//! stays behind, and the loan says so); coming back, every device that went is
//! either back or missing, and a missing one is reported lost at once.

use crate::device::DeviceStatus;
use crate::invalid;
use crate::loan::{CheckOutRefusal, ReturnRefusal};

/// A set's name, checked.
pub fn kit_name(s: &str) -> Result<String, String> {
    invalid::required_text(s, "Name", 80)
}

/// A set's notes, checked.
pub fn kit_notes(s: &str) -> Result<String, String> {
    invalid::text(s, "Notes", 500)
}

/// The tag typed or scanned to add a device to a set: a scanned label gives the
/// device's address (`…/d/IPAD-1`), whose last part is the tag.
pub fn scanned_tag(typed: &str) -> Result<String, String> {
    let typed = typed.trim();
    let tag = typed
        .rsplit_once("/d/")
        .map(|(_, t)| t)
        .unwrap_or(typed)
        .trim();
    if tag.is_empty() {
        return Err("Enter the device's asset tag, or scan its label.".into());
    }
    invalid::text(tag, "The tag", 200)
}

/// Why a set could not be made, renamed or have a device put in or taken out. Each
/// is about one field: `name` or `tag`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SetChangeRefusal {
    #[error("There is already a set called {name}. Choose another name.")]
    NameTaken { name: String },
    #[error("No device has the tag “{tag}”. Check the label.")]
    UnknownTag { tag: String },
    #[error("{tag} is already in this set.")]
    AlreadyInThisSet { tag: String },
    #[error("{tag} is already in the set {set}. Take it out of that set first.")]
    InAnotherSet { tag: String, set: String },
    #[error("{tag} is not in this set.")]
    NotInThisSet { tag: String },
    #[error("{tag} is out with this set. Take it out of the set once it is back.")]
    OutWithTheSet { tag: String },
}

impl SetChangeRefusal {
    /// The stable name of the rule, for the API's problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            SetChangeRefusal::NameTaken { .. } => "set-name-taken",
            SetChangeRefusal::UnknownTag { .. } => "unknown-tag",
            SetChangeRefusal::AlreadyInThisSet { .. } => "already-in-this-set",
            SetChangeRefusal::InAnotherSet { .. } => "in-another-set",
            SetChangeRefusal::NotInThisSet { .. } => "not-in-this-set",
            SetChangeRefusal::OutWithTheSet { .. } => "out-with-the-set",
        }
    }

    /// The field the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            SetChangeRefusal::NameTaken { .. } => "name",
            _ => "tag",
        }
    }

    /// Whether the refusal is about the state of things (409: the device is out
    /// with the set just now) rather than what was asked (422).
    pub fn is_conflict(&self) -> bool {
        matches!(self, SetChangeRefusal::OutWithTheSet { .. })
    }

    /// Whether the device named is not in the set at all (404: nothing to take out).
    pub fn is_not_found(&self) -> bool {
        matches!(self, SetChangeRefusal::NotInThisSet { .. })
    }
}

/// A set's name may be used if no other set has it (whatever its case): `taken`
/// says whether one does.
pub fn may_use_name(name: &str, taken: bool) -> Result<(), SetChangeRefusal> {
    if taken {
        return Err(SetChangeRefusal::NameTaken {
            name: name.to_owned(),
        });
    }
    Ok(())
}

/// Which set a device is in now, seen from the set it is to join.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InSet<'a> {
    Nowhere,
    This,
    /// Another set, by name.
    Other(&'a str),
}

/// Whether the device `tag` (as registered) may join a set: a device is in one set
/// at most, so it must be in none yet.
pub fn may_join(tag: &str, now_in: InSet<'_>) -> Result<(), SetChangeRefusal> {
    match now_in {
        InSet::Nowhere => Ok(()),
        InSet::This => Err(SetChangeRefusal::AlreadyInThisSet {
            tag: tag.to_owned(),
        }),
        InSet::Other(set) => Err(SetChangeRefusal::InAnotherSet {
            tag: tag.to_owned(),
            set: set.to_owned(),
        }),
    }
}

/// Whether the device `tag` may be taken out of a set: it must be in it, and a
/// device out with the set stays in it until it is back (so the set's return still
/// expects it).
pub fn may_leave(tag: &str, in_this_set: bool, out_with_set: bool) -> Result<(), SetChangeRefusal> {
    if !in_this_set {
        return Err(SetChangeRefusal::NotInThisSet {
            tag: tag.to_owned(),
        });
    }
    if out_with_set {
        return Err(SetChangeRefusal::OutWithTheSet {
            tag: tag.to_owned(),
        });
    }
    Ok(())
}

/// Why a set could not go out or come back. A refusal about one device names it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KitRefusal {
    #[error("This set has no devices yet. Add its devices first.")]
    Empty,
    #[error("None of this set's devices is available to lend just now.")]
    NothingAvailable,
    #[error("This set is already checked out. It must be returned before it goes out again.")]
    AlreadyOut,
    #[error("This set is not checked out, so there is nothing to return.")]
    NotOut,
    #[error("Tick the devices that came back. If the whole set is missing, report it lost from each device's page.")]
    NothingCameBack,
    #[error("{tag} did not go out with this set, so it cannot come back with it.")]
    NotInThisLoan { tag: String },
    #[error("{tag}: {refusal}")]
    CheckOut {
        tag: String,
        refusal: CheckOutRefusal,
    },
    #[error("{tag}: {refusal}")]
    Return { tag: String, refusal: ReturnRefusal },
}

impl KitRefusal {
    /// The stable name of the rule, for the API's problem `type`: a device's own
    /// refusal keeps the code a single check-out or return gives.
    pub fn code(&self) -> &'static str {
        match self {
            KitRefusal::Empty => "set-empty",
            KitRefusal::NothingAvailable => "device-not-available",
            KitRefusal::AlreadyOut => "set-already-out",
            KitRefusal::NotOut => "set-not-out",
            KitRefusal::NothingCameBack => "nothing-came-back",
            KitRefusal::NotInThisLoan { .. } => "not-in-this-loan",
            KitRefusal::CheckOut { refusal, .. } => refusal.code(),
            KitRefusal::Return { refusal, .. } => refusal.code(),
        }
    }

    /// Whether the refusal is about the state of things (409) rather than what was
    /// asked (422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            KitRefusal::NothingAvailable
                | KitRefusal::AlreadyOut
                | KitRefusal::NotOut
                | KitRefusal::CheckOut {
                    refusal: CheckOutRefusal::NotAvailable(_),
                    ..
                }
        )
    }
}

/// The devices that go out, and those that stay with their status.
pub type GoingAndStaying<T> = (Vec<T>, Vec<(T, DeviceStatus)>);

/// Which of a set's devices go out: the available ones. The others stay, with
/// their status, so the loan can say which ones went.
pub fn split_for_check_out<T: Clone>(
    members: &[(T, DeviceStatus)],
) -> Result<GoingAndStaying<T>, KitRefusal> {
    if members.is_empty() {
        return Err(KitRefusal::Empty);
    }
    let (going, staying): (Vec<_>, Vec<_>) = members
        .iter()
        .cloned()
        .partition(|(_, s)| *s == DeviceStatus::Available);
    if going.is_empty() {
        return Err(KitRefusal::NothingAvailable);
    }
    Ok((going.into_iter().map(|(t, _)| t).collect(), staying))
}

/// Splits the devices that went out into those that came back and those missing.
/// Every device that came back must have gone out, and at least one came back.
pub fn split_on_return<T: Clone + PartialEq + std::fmt::Display>(
    went: &[T],
    came_back: &[T],
) -> Result<(Vec<T>, Vec<T>), KitRefusal> {
    if let Some(stray) = came_back.iter().find(|t| !went.contains(t)) {
        return Err(KitRefusal::NotInThisLoan {
            tag: stray.to_string(),
        });
    }
    let (back, missing): (Vec<T>, Vec<T>) =
        went.iter().cloned().partition(|t| came_back.contains(t));
    if back.is_empty() {
        return Err(KitRefusal::NothingCameBack);
    }
    Ok((back, missing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_set_with_one_ipad_in_repair_still_goes_out_without_it() {
        let members = vec![
            ("IPAD-1", DeviceStatus::Available),
            ("IPAD-2", DeviceStatus::InRepair),
            ("IPAD-3", DeviceStatus::Available),
        ];
        let (going, staying) = split_for_check_out(&members).unwrap();
        assert_eq!(going, vec!["IPAD-1", "IPAD-3"]);
        assert_eq!(staying, vec![("IPAD-2", DeviceStatus::InRepair)]);
    }

    #[test]
    fn a_set_with_nothing_available_or_nothing_in_it_is_refused() {
        assert_eq!(split_for_check_out::<&str>(&[]), Err(KitRefusal::Empty));
        assert_eq!(
            split_for_check_out(&[("IPAD-1", DeviceStatus::OnLoan)]),
            Err(KitRefusal::NothingAvailable)
        );
    }

    #[test]
    fn a_device_not_ticked_on_return_is_missing() {
        let went = vec!["IPAD-1".to_owned(), "IPAD-2".into(), "IPAD-3".into()];
        let (back, missing) =
            split_on_return(&went, &["IPAD-1".to_owned(), "IPAD-3".into()]).unwrap();
        assert_eq!(back, vec!["IPAD-1", "IPAD-3"]);
        assert_eq!(missing, vec!["IPAD-2"]);
        assert_eq!(
            split_on_return(&went, &["IPAD-9".to_owned()]),
            Err(KitRefusal::NotInThisLoan {
                tag: "IPAD-9".into()
            })
        );
        assert_eq!(
            split_on_return(&went, &[]),
            Err(KitRefusal::NothingCameBack)
        );
    }

    #[test]
    fn a_devices_own_refusal_keeps_its_code_and_names_the_device() {
        let r = KitRefusal::CheckOut {
            tag: "IPAD-2".into(),
            refusal: CheckOutRefusal::NoPolicy,
        };
        assert_eq!(r.code(), "no-policy");
        assert!(r
            .to_string()
            .starts_with("IPAD-2: Kitroom has no acceptable-use policy"));
    }

    /// Scanning a label to add its device to a trolley would look for a tag no device has.
    #[test]
    fn a_scanned_label_gives_its_tag_and_nothing_typed_is_refused() {
        assert_eq!(
            scanned_tag(" https://kitroom.school.example/d/IPAD-1 ").as_deref(),
            Ok("IPAD-1")
        );
        assert_eq!(scanned_tag("ipad-2").as_deref(), Ok("ipad-2"));
        assert!(scanned_tag("  ").is_err());
        assert!(scanned_tag("https://kitroom.school.example/d/").is_err());
    }

    /// One iPad could be promised to two trolleys, or leave a trolley while out with it.
    #[test]
    fn a_device_joins_one_set_at_most_and_leaves_only_once_back() {
        assert_eq!(may_join("IPAD-1", InSet::Nowhere), Ok(()));
        assert_eq!(
            may_join("IPAD-1", InSet::This).unwrap_err().to_string(),
            "IPAD-1 is already in this set."
        );
        let other = may_join("IPAD-1", InSet::Other("iPad trolley A")).unwrap_err();
        assert_eq!(
            other.to_string(),
            "IPAD-1 is already in the set iPad trolley A. Take it out of that set first."
        );
        assert_eq!(other.field(), "tag");
        assert_eq!(may_leave("IPAD-1", true, false), Ok(()));
        assert!(may_leave("IPAD-1", false, false)
            .unwrap_err()
            .is_not_found());
        assert!(may_leave("IPAD-1", true, true).unwrap_err().is_conflict());
    }

    /// Two trolleys with one name could not be told apart when scanned or booked.
    #[test]
    fn a_name_another_set_has_is_refused_beside_the_name() {
        assert_eq!(may_use_name("Trolley", false), Ok(()));
        let r = may_use_name("Trolley", true).unwrap_err();
        assert_eq!(r.field(), "name");
        assert!(r
            .to_string()
            .starts_with("There is already a set called Trolley"));
    }

    proptest! {
        #[test]
        fn every_device_that_went_is_either_back_or_missing_never_both(
            n in 1usize..30,
            ticks in proptest::collection::vec(any::<bool>(), 30),
        ) {
            let went: Vec<String> = (0..n).map(|i| format!("IPAD-{i}")).collect();
            let came: Vec<String> = went.iter().zip(&ticks).filter(|(_, t)| **t).map(|(d, _)| d.clone()).collect();
            match split_on_return(&went, &came) {
                Ok((back, missing)) => {
                    prop_assert_eq!(back.len() + missing.len(), n);
                    prop_assert!(back.iter().all(|d| !missing.contains(d)));
                    prop_assert_eq!(back, came);
                }
                Err(e) => prop_assert!(came.is_empty() && e == KitRefusal::NothingCameBack),
            }
        }
    }
}
