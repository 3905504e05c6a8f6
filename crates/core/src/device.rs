//! Devices: the asset tag on the label, what kind of thing it is, where it is in its
//! life (the status machine), and whether its storage is encrypted.

use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::dates::{self, DateUse, Order};
use crate::invalid::{self, Invalid};

/// Declares a closed list of words, with their wire form (API, CSV and database) and
/// the words a person reads.
macro_rules! words {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($variant:ident = $wire:literal, $label:literal;)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The word used in the API, CSV files and the database.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $wire),+ }
            }

            /// The words shown to a person.
            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s.trim() {
                    $($wire => Ok($name::$variant),)+
                    other => {
                        let allowed: Vec<&str> = vec![$($wire),+];
                        Err(format!("“{}” is not a {}. Choose one of: {}.", other, $what, allowed.join(", ")))
                    }
                }
            }
        }
    };
}
pub(crate) use words;

words!(
    /// What sort of device it is.
    DeviceKind, "device kind" {
        Ipad = "ipad", "iPad";
        Tablet = "tablet", "Tablet";
        Laptop = "laptop", "Laptop";
        Chromebook = "chromebook", "Chromebook";
        Desktop = "desktop", "Desktop";
        Camera = "camera", "Camera";
        Phone = "phone", "Phone";
        Other = "other", "Other";
    }
);

words!(
    /// Where a device is in its life. The moves between them are [`StatusChange`]s.
    DeviceStatus, "device status" {
        Available = "available", "Available";
        OnLoan = "on_loan", "On loan";
        ReturnedCharging = "returned_charging", "Returned, charging";
        InRepair = "in_repair", "In repair";
        Lost = "lost", "Lost";
        Retired = "retired", "Retired";
    }
);

words!(
    /// The physical state of a device.
    Condition, "condition" {
        Good = "good", "Good";
        Fair = "fair", "Fair";
        Poor = "poor", "Poor";
        Damaged = "damaged", "Damaged";
    }
);

words!(
    /// Whether the device's storage is encrypted, as far as the school knows.
    EncryptionState, "encryption state" {
        Encrypted = "encrypted", "Encrypted";
        NotEncrypted = "not_encrypted", "Not encrypted";
        Unknown = "unknown", "Unknown";
    }
);

words!(
    /// How the device's storage is encrypted.
    EncryptionMethod, "encryption method" {
        Bitlocker = "bitlocker", "BitLocker";
        Filevault = "filevault", "FileVault";
        Chromeos = "chromeos", "ChromeOS";
        Ipados = "ipados", "iPadOS data protection";
        Other = "other", "Other";
    }
);

/// A named move in a device's life. The status machine is defined by which statuses
/// each move may start from and where it leads, and lives nowhere else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatusChange {
    /// Lent to someone.
    CheckOut,
    /// Brought back to the computer room and put on charge.
    Return,
    /// Charged and checked: ready to lend again.
    MarkReady,
    /// Sent away to be mended.
    SendToRepair,
    /// Back from repair; it goes on charge before it is lent again.
    BackFromRepair,
    /// Reported lost or stolen.
    ReportLost,
    /// A lost device turned up again; it is charged and checked before lending.
    Found,
    /// Disposed of or written off. There is no way back.
    Retire,
}

impl StatusChange {
    pub const ALL: &'static [StatusChange] = &[
        StatusChange::CheckOut,
        StatusChange::Return,
        StatusChange::MarkReady,
        StatusChange::SendToRepair,
        StatusChange::BackFromRepair,
        StatusChange::ReportLost,
        StatusChange::Found,
        StatusChange::Retire,
    ];

    /// The statuses this move may start from.
    pub fn from(self) -> &'static [DeviceStatus] {
        use DeviceStatus::*;
        match self {
            StatusChange::CheckOut => &[Available],
            StatusChange::Return => &[OnLoan],
            StatusChange::MarkReady => &[ReturnedCharging],
            StatusChange::SendToRepair => &[Available, ReturnedCharging],
            StatusChange::BackFromRepair => &[InRepair],
            StatusChange::ReportLost => &[Available, OnLoan, ReturnedCharging, InRepair],
            StatusChange::Found => &[Lost],
            StatusChange::Retire => &[Available, ReturnedCharging, InRepair, Lost],
        }
    }

    /// Where the move leads.
    pub fn to(self) -> DeviceStatus {
        use DeviceStatus::*;
        match self {
            StatusChange::CheckOut => OnLoan,
            StatusChange::Return => ReturnedCharging,
            StatusChange::MarkReady => Available,
            StatusChange::SendToRepair => InRepair,
            StatusChange::BackFromRepair => ReturnedCharging,
            StatusChange::ReportLost => Lost,
            StatusChange::Found => ReturnedCharging,
            StatusChange::Retire => Retired,
        }
    }

    /// The word for this move in the URL and the activity log.
    pub fn as_str(self) -> &'static str {
        match self {
            StatusChange::CheckOut => "check_out",
            StatusChange::Return => "return",
            StatusChange::MarkReady => "mark_ready",
            StatusChange::SendToRepair => "send_to_repair",
            StatusChange::BackFromRepair => "back_from_repair",
            StatusChange::ReportLost => "report_lost",
            StatusChange::Found => "found",
            StatusChange::Retire => "retire",
        }
    }

    /// The words on the button.
    pub fn label(self) -> &'static str {
        match self {
            StatusChange::CheckOut => "Check out",
            StatusChange::Return => "Return",
            StatusChange::MarkReady => "Mark ready to lend",
            StatusChange::SendToRepair => "Send to repair",
            StatusChange::BackFromRepair => "Back from repair",
            StatusChange::ReportLost => "Mark as lost",
            StatusChange::Found => "Found again",
            StatusChange::Retire => "Retire",
        }
    }
}

impl FromStr for StatusChange {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        StatusChange::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| format!("“{s}” is not a status change."))
    }
}

/// A move that the status machine does not allow from where the device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("This device is {status_label}, so it cannot be {verb}.", status_label = .from.label().to_lowercase(), verb = verb(*.change))]
pub struct IllegalMove {
    pub from: DeviceStatus,
    pub change: StatusChange,
}

fn verb(change: StatusChange) -> &'static str {
    match change {
        StatusChange::CheckOut => "checked out",
        StatusChange::Return => "returned",
        StatusChange::MarkReady => "marked ready",
        StatusChange::SendToRepair => "sent to repair",
        StatusChange::BackFromRepair => "brought back from repair",
        StatusChange::ReportLost => "marked as lost",
        StatusChange::Found => "marked as found",
        StatusChange::Retire => "retired",
    }
}

/// A move the status machine has allowed: only [`DeviceStatus::decide`] makes one,
/// so whatever writes a status change holds proof that it was decided here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Move {
    from: DeviceStatus,
    change: StatusChange,
}

impl Move {
    pub fn from(self) -> DeviceStatus {
        self.from
    }

    pub fn change(self) -> StatusChange {
        self.change
    }

    pub fn to(self) -> DeviceStatus {
        self.change.to()
    }
}

impl DeviceStatus {
    /// Applies a move, or says why it is not allowed from here.
    pub fn apply(self, change: StatusChange) -> Result<DeviceStatus, IllegalMove> {
        self.decide(change).map(Move::to)
    }

    /// Decides a move from here: the allowed [`Move`], or why it is not allowed.
    pub fn decide(self, change: StatusChange) -> Result<Move, IllegalMove> {
        if change.from().contains(&self) {
            Ok(Move { from: self, change })
        } else {
            Err(IllegalMove { from: self, change })
        }
    }

    /// The moves a manager may make by hand from this status. Checking out and
    /// returning happen through loans, and retiring through disposal, so they are not
    /// offered here.
    pub fn manual_changes(self) -> Vec<StatusChange> {
        [
            StatusChange::MarkReady,
            StatusChange::SendToRepair,
            StatusChange::BackFromRepair,
            StatusChange::ReportLost,
            StatusChange::Found,
        ]
        .into_iter()
        .filter(|c| c.from().contains(&self))
        .collect()
    }
}

/// The label on the device: letters, digits and `-`, `_`, `.` or `/`, at most 32
/// characters. Unique across the school regardless of case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct AssetTag(String);

impl AssetTag {
    pub const MAX_LEN: usize = 32;

    pub fn parse(s: &str) -> Result<AssetTag, String> {
        let s = s.trim();
        if s.is_empty() {
            return Err("Enter the asset tag shown on the device's label.".into());
        }
        if s.chars().count() > Self::MAX_LEN {
            return Err(format!(
                "An asset tag must be {} characters or fewer.",
                Self::MAX_LEN
            ));
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | '/'))
        {
            return Err("An asset tag can only contain letters, digits, and - _ . /".into());
        }
        Ok(AssetTag(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AssetTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An amount of money in pence. Parsed from pounds as people write them: "349.99",
/// "£1,299.00", "1299", "£45", "£ 45.5", "GBP 45"; or pence marked as such: "45p".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Pence(pub i64);

impl Pence {
    /// Commas may only group thousands ("1,299.00"): "12,50" could be twelve pounds
    /// fifty written the European way, so it is refused rather than read as £1,250.
    pub fn parse(s: &str) -> Result<Pence, String> {
        let written = s.trim();
        let bad = || format!("“{written}” is not an amount of money. Write it like 349.99");
        let lower = written.to_lowercase();
        let (text, in_pence) = match lower.strip_suffix('p') {
            Some(p) if !p.contains(['£', '.']) && !p.starts_with("gbp") => (p.trim(), true),
            _ => (lower.as_str(), false),
        };
        let text = text
            .strip_prefix('£')
            .or_else(|| text.strip_prefix("gbp"))
            .unwrap_or(text)
            .trim();
        let text = text.strip_suffix("gbp").unwrap_or(text).trim();
        let (whole, fraction) = match text.split_once('.') {
            Some((w, f)) if !in_pence => (w, Some(f)),
            Some(_) => return Err(bad()),
            None => (text, None),
        };
        let groups: Vec<&str> = whole.split(',').collect();
        let grouped = groups.len() == 1
            || (!groups[0].is_empty()
                && groups[0].len() <= 3
                && groups[1..].iter().all(|g| g.len() == 3));
        if whole.is_empty()
            || !grouped
            || !groups.iter().all(|g| g.chars().all(|c| c.is_ascii_digit()))
        {
            return Err(bad());
        }
        let digits: String = groups.concat();
        let hundredths = match fraction {
            None => 0,
            Some(f) if (1..=2).contains(&f.len()) && f.chars().all(|c| c.is_ascii_digit()) => {
                format!("{f:0<2}").parse::<i64>().map_err(|_| bad())?
            }
            Some(_) => return Err(bad()),
        };
        let too_large = || "That amount is too large for one device.".to_string();
        let number: i64 = digits.parse().map_err(|_| too_large())?;
        let pence = if in_pence {
            Some(number)
        } else {
            number
                .checked_mul(100)
                .and_then(|p| p.checked_add(hundredths))
        };
        pence
            .filter(|p| *p <= 10_000_000_000)
            .map(Pence)
            .ok_or_else(too_large)
    }
}

impl fmt::Display for Pence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pounds = self.0 / 100;
        let pence = self.0 % 100;
        let digits = pounds.to_string();
        let mut grouped = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                grouped.push(',');
            }
            grouped.push(c);
        }
        write!(f, "£{grouped}.{pence:02}")
    }
}

/// A date typed by a person: `2025-09-03` (what a date input sends), `03/09/2025`
/// (day-first), or any other form [`dates::read_date_alone`] reads. A year must be
/// written in full: `3/9/25` is refused rather than stored as the year 25.
pub fn parse_date(s: &str, label: &str) -> Result<Option<NaiveDate>, String> {
    dates::read_date_alone(s, label)
}

/// A device's date as a form, the API or an import sends it, kept to the dates that
/// use allows ([`dates::check_range`]).
fn device_date(
    s: &str,
    used: DateUse,
    today: NaiveDate,
    label: &str,
) -> Result<Option<NaiveDate>, String> {
    match dates::read_date(s, Order::DayFirst, today, label)? {
        Some(d) => dates::check_range(d, used, today, label).map(Some),
        None => Ok(None),
    }
}

/// What the school knows about a device's encryption.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Encryption {
    pub state: EncryptionState,
    pub method: Option<EncryptionMethod>,
    pub verified_on: Option<NaiveDate>,
}

/// A device's details as typed into the form or sent to the API, before checking.
/// Every field is text, exactly as received, so a refused form can be shown again
/// with the person's input.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct DeviceInput {
    pub tag: String,
    pub kind: String,
    pub make: String,
    pub model: String,
    pub serial: String,
    pub location: String,
    pub condition: String,
    pub purchased_on: String,
    pub cost: String,
    pub supplier: String,
    pub warranty_until: String,
    pub notes: String,
    pub encryption_state: String,
    pub encryption_method: String,
    pub encryption_verified_on: String,
    pub passcode_enforced: bool,
    pub holds_personal_data: bool,
    pub captures_images: bool,
}

/// A device's details, every one checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceDetails {
    pub tag: AssetTag,
    pub kind: DeviceKind,
    pub make: String,
    pub model: String,
    pub serial: String,
    /// The name of its home location.
    pub location: String,
    pub condition: Condition,
    pub purchased_on: Option<NaiveDate>,
    pub cost: Option<Pence>,
    pub supplier: String,
    pub warranty_until: Option<NaiveDate>,
    pub notes: String,
    pub encryption: Encryption,
    pub passcode_enforced: bool,
    pub holds_personal_data: bool,
    pub captures_images: bool,
}

impl DeviceInput {
    /// Checks every field and reports every problem at once. `today` keeps dates of
    /// purchase and verification out of the future.
    pub fn parse(&self, today: NaiveDate) -> Result<DeviceDetails, Invalid> {
        let mut invalid = Invalid::new();
        let tag = invalid.check("tag", AssetTag::parse(&self.tag));
        let kind = invalid.check(
            "kind",
            if self.kind.trim().is_empty() {
                Err("Choose what kind of device this is.".to_string())
            } else {
                self.kind.parse()
            },
        );
        let make = invalid.check("make", invalid::text(&self.make, "Make", 80));
        let model = invalid.check("model", invalid::text(&self.model, "Model", 80));
        let serial = invalid.check("serial", invalid::text(&self.serial, "Serial number", 80));
        let location = invalid.check("location", location_name(&self.location));
        let condition = invalid.check(
            "condition",
            if self.condition.trim().is_empty() {
                Ok(Condition::Good)
            } else {
                self.condition.parse()
            },
        );
        let purchased_on = invalid.check(
            "purchased_on",
            device_date(
                &self.purchased_on,
                DateUse::Purchase,
                today,
                "Purchase date",
            ),
        );
        let cost = invalid.check(
            "cost",
            if self.cost.trim().is_empty() {
                Ok(None)
            } else {
                Pence::parse(&self.cost).map(Some)
            },
        );
        let supplier = invalid.check("supplier", invalid::text(&self.supplier, "Supplier", 120));
        let warranty_until = invalid.check(
            "warranty_until",
            device_date(
                &self.warranty_until,
                DateUse::Warranty,
                today,
                "Warranty end",
            ),
        );
        let notes = invalid.check("notes", invalid::text(&self.notes, "Notes", 4000));
        let state = invalid.check(
            "encryption_state",
            if self.encryption_state.trim().is_empty() {
                Ok(EncryptionState::Unknown)
            } else {
                self.encryption_state.parse()
            },
        );
        let method = invalid.check(
            "encryption_method",
            if self.encryption_method.trim().is_empty() {
                Ok(None)
            } else {
                self.encryption_method.parse().map(Some)
            },
        );
        let verified_on = invalid.check(
            "encryption_verified_on",
            device_date(
                &self.encryption_verified_on,
                DateUse::Checked,
                today,
                "Verification date",
            ),
        );
        if let (Some(EncryptionState::Encrypted), Some(None)) = (state, method) {
            invalid.add(
                "encryption_method",
                "Choose how the device is encrypted, or set encryption to unknown.",
            );
        }
        if let (Some(EncryptionState::NotEncrypted | EncryptionState::Unknown), Some(Some(_))) =
            (state, method)
        {
            invalid.add("encryption_method", "Only an encrypted device has an encryption method. Clear the method, or mark the device as encrypted.");
        }
        if let (Some(Some(bought)), Some(Some(warranty))) = (purchased_on, warranty_until) {
            if warranty < bought {
                invalid.add(
                    "warranty_until",
                    "The warranty cannot end before the device was bought.",
                );
            }
        }
        invalid.into_result()?;
        // Every field passed, so each `Option` holds its value.
        let (
            Some(tag),
            Some(kind),
            Some(make),
            Some(model),
            Some(serial),
            Some(location),
            Some(condition),
        ) = (tag, kind, make, model, serial, location, condition)
        else {
            unreachable!("checked above")
        };
        let (
            Some(purchased_on),
            Some(cost),
            Some(supplier),
            Some(warranty_until),
            Some(notes),
            Some(state),
            Some(method),
            Some(verified_on),
        ) = (
            purchased_on,
            cost,
            supplier,
            warranty_until,
            notes,
            state,
            method,
            verified_on,
        )
        else {
            unreachable!("checked above")
        };
        Ok(DeviceDetails {
            tag,
            kind,
            make,
            model,
            serial,
            location,
            condition,
            purchased_on,
            cost,
            supplier,
            warranty_until,
            notes,
            encryption: Encryption {
                state,
                method,
                verified_on,
            },
            passcode_enforced: self.passcode_enforced,
            holds_personal_data: self.holds_personal_data,
            captures_images: self.captures_images,
        })
    }
}

/// Why a tag cannot be used: it is already on another device (`existing` as
/// written there, with its make and model).
pub fn tag_in_use(existing: &str, make: &str, model: &str) -> String {
    let what = format!("{make} {model}");
    let what = what.trim();
    let what = if what.is_empty() {
        String::new()
    } else {
        format!(" ({what})")
    };
    format!("The asset tag {existing} is already on another device{what}. Each device needs its own tag.")
}

/// A location's name: a room or place in the school, such as "Computer room".
pub fn location_name(s: &str) -> Result<String, String> {
    let name = invalid::required_text(s, "Location", 80)?;
    Ok(name.split_whitespace().collect::<Vec<_>>().join(" "))
}

impl From<&DeviceDetails> for DeviceInput {
    fn from(d: &DeviceDetails) -> Self {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        DeviceInput {
            tag: d.tag.to_string(),
            kind: d.kind.as_str().into(),
            make: d.make.clone(),
            model: d.model.clone(),
            serial: d.serial.clone(),
            location: d.location.clone(),
            condition: d.condition.as_str().into(),
            purchased_on: date(d.purchased_on),
            cost: d
                .cost
                .map(|p| format!("{}.{:02}", p.0 / 100, p.0 % 100))
                .unwrap_or_default(),
            supplier: d.supplier.clone(),
            warranty_until: date(d.warranty_until),
            notes: d.notes.clone(),
            encryption_state: d.encryption.state.as_str().into(),
            encryption_method: d
                .encryption
                .method
                .map(|m| m.as_str().into())
                .unwrap_or_default(),
            encryption_verified_on: date(d.encryption.verified_on),
            passcode_enforced: d.passcode_enforced,
            holds_personal_data: d.holds_personal_data,
            captures_images: d.captures_images,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn laptop() -> DeviceInput {
        DeviceInput {
            tag: "LAP-0042".into(),
            kind: "laptop".into(),
            make: "Dell".into(),
            model: "Latitude 3540".into(),
            location: "  Computer   room ".into(),
            cost: "£1,249.5".into(),
            encryption_state: "encrypted".into(),
            encryption_method: "bitlocker".into(),
            encryption_verified_on: "03/09/2025".into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_laptop_is_accepted_and_tidied() {
        let d = laptop().parse(today()).unwrap();
        assert_eq!(d.tag.as_str(), "LAP-0042");
        assert_eq!(d.location, "Computer room");
        assert_eq!(d.cost, Some(Pence(124_950)));
        assert_eq!(
            d.encryption.verified_on,
            NaiveDate::from_ymd_opt(2025, 9, 3)
        );
        assert_eq!(d.condition, Condition::Good);
    }

    #[test]
    fn every_problem_is_reported_at_once_against_its_field() {
        let input = DeviceInput {
            tag: "".into(),
            kind: "toaster".into(),
            cost: "lots".into(),
            purchased_on: "2099-01-01".into(),
            ..laptop()
        };
        let err = input.parse(today()).unwrap_err();
        assert!(err.for_field("tag").unwrap().contains("asset tag"));
        assert!(err.for_field("kind").unwrap().contains("toaster"));
        assert!(err.for_field("cost").unwrap().contains("349.99"));
        assert!(err.for_field("purchased_on").unwrap().contains("future"));
        assert_eq!(err.0.len(), 4);
    }

    #[test]
    fn an_encrypted_device_needs_its_method() {
        let input = DeviceInput {
            encryption_method: "".into(),
            ..laptop()
        };
        let err = input.parse(today()).unwrap_err();
        assert!(err.for_field("encryption_method").is_some());
    }

    #[test]
    fn a_tag_with_spaces_or_symbols_is_refused() {
        assert!(AssetTag::parse("LAP 1").is_err());
        assert!(AssetTag::parse("<script>").is_err());
        assert!(AssetTag::parse(&"A".repeat(33)).is_err());
        assert_eq!(AssetTag::parse(" ipad-07 ").unwrap().as_str(), "ipad-07");
    }

    #[test]
    fn money_is_read_and_written_in_pounds_and_pence() {
        assert_eq!(Pence::parse("349.99"), Ok(Pence(34_999)));
        assert_eq!(Pence::parse("£1,000"), Ok(Pence(100_000)));
        assert_eq!(Pence::parse("0.5"), Ok(Pence(50)));
        assert!(Pence::parse("-3").is_err());
        assert!(Pence::parse("1.234").is_err());
        assert!(Pence::parse("99999999999999999999").is_err());
        assert_eq!(Pence(12_345_678).to_string(), "£123,456.78");
        assert_eq!(Pence(5).to_string(), "£0.05");
    }

    #[test]
    fn a_device_on_loan_cannot_be_lent_again() {
        let err = DeviceStatus::OnLoan
            .apply(StatusChange::CheckOut)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "This device is on loan, so it cannot be checked out."
        );
    }

    #[test]
    fn a_returned_device_charges_before_it_is_lent_again() {
        let s = DeviceStatus::Available
            .apply(StatusChange::CheckOut)
            .unwrap();
        let s = s.apply(StatusChange::Return).unwrap();
        assert_eq!(s, DeviceStatus::ReturnedCharging);
        assert!(s.apply(StatusChange::CheckOut).is_err());
        assert_eq!(
            s.apply(StatusChange::MarkReady),
            Ok(DeviceStatus::Available)
        );
    }

    #[test]
    fn a_lost_device_found_again_goes_on_charge() {
        assert_eq!(
            DeviceStatus::Lost.apply(StatusChange::Found),
            Ok(DeviceStatus::ReturnedCharging)
        );
    }

    fn any_change() -> impl Strategy<Value = StatusChange> {
        proptest::sample::select(StatusChange::ALL)
    }

    fn any_status() -> impl Strategy<Value = DeviceStatus> {
        proptest::sample::select(DeviceStatus::ALL)
    }

    proptest! {
        #[test]
        fn a_retired_device_never_changes_again(changes in proptest::collection::vec(any_change(), 0..20)) {
            for c in changes {
                prop_assert_eq!(DeviceStatus::Retired.apply(c), Err(IllegalMove { from: DeviceStatus::Retired, change: c }));
            }
        }

        #[test]
        fn every_move_either_lands_where_it_says_or_leaves_the_device_as_it_was(
            start in any_status(),
            changes in proptest::collection::vec(any_change(), 0..40),
        ) {
            let mut status = start;
            for c in changes {
                match status.apply(c) {
                    Ok(next) => {
                        prop_assert!(c.from().contains(&status));
                        prop_assert_eq!(next, c.to());
                        status = next;
                    }
                    Err(e) => {
                        prop_assert!(!c.from().contains(&status));
                        prop_assert_eq!(e.from, status);
                        prop_assert!(!e.to_string().is_empty());
                    }
                }
            }
        }

        #[test]
        fn a_device_goes_on_loan_only_from_available_and_leaves_only_by_return_or_loss(
            changes in proptest::collection::vec(any_change(), 0..40),
        ) {
            let mut status = DeviceStatus::Available;
            for c in changes {
                let before = status;
                if let Ok(next) = status.apply(c) {
                    if next == DeviceStatus::OnLoan {
                        prop_assert_eq!(before, DeviceStatus::Available);
                    }
                    if before == DeviceStatus::OnLoan {
                        prop_assert!(matches!(c, StatusChange::Return | StatusChange::ReportLost));
                    }
                    status = next;
                }
            }
        }

        #[test]
        fn manual_changes_are_all_legal(start in any_status()) {
            for c in start.manual_changes() {
                prop_assert!(start.apply(c).is_ok());
            }
        }

        #[test]
        fn pence_written_out_reads_back_the_same(p in 0i64..10_000_000_000) {
            let shown = Pence(p).to_string();
            prop_assert_eq!(Pence::parse(&shown), Ok(Pence(p)));
        }

        #[test]
        fn parsing_any_device_input_never_panics(tag in ".{0,40}", cost in ".{0,12}", date in ".{0,12}") {
            let input = DeviceInput { tag, cost, purchased_on: date, ..laptop() };
            let _ = input.parse(today());
        }
    }
}
