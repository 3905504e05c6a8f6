//! Loans: the rules for lending a device and taking it back.
//!
//! Every rule at check-out and at return lives here, as pure functions of the facts
//! and the time. Each refusal says which rule it is, in words a teacher understands,
//! and carries a stable code for the API.

use chrono::{DateTime, Duration, NaiveTime, Utc};

use crate::device::{DeviceKind, DeviceStatus, Encryption, EncryptionState};

/// Where the borrower stands with the acceptable-use policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyStanding {
    /// No policy has been published yet, so nobody can borrow.
    NoPolicy,
    /// A policy is in force and this person has not signed it.
    NotSigned { version_label: String },
    /// They have signed the version in force.
    Signed,
}

/// What the rules need to know about the borrower.
#[derive(Debug, Clone)]
pub struct BorrowerFacts {
    pub active: bool,
    pub policy: PolicyStanding,
}

/// What the rules need to know about the device.
#[derive(Debug, Clone)]
pub struct DeviceFacts<'a> {
    pub kind: DeviceKind,
    pub status: DeviceStatus,
    pub encryption: &'a Encryption,
    pub holds_personal_data: bool,
    pub captures_images: bool,
}

/// What the person asked for.
#[derive(Debug, Clone)]
pub struct CheckOutRequest {
    pub due_at: DateTime<Utc>,
    pub purpose: String,
    pub off_site: bool,
    /// The head teacher has approved taking this device off site for this person.
    pub head_authorised: bool,
}

/// Why a check-out was refused. Each names the rule it broke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckOutRefusal {
    #[error("This device is {}, so it cannot be checked out.", .0.label().to_lowercase())]
    NotAvailable(DeviceStatus),
    #[error("This account is deactivated, so it cannot borrow devices.")]
    AccountInactive,
    #[error("Kitroom has no acceptable-use policy yet, so no device can be lent. The business manager must publish one first.")]
    NoPolicy,
    #[error("You need to sign the acceptable-use policy ({version_label}) before you can borrow a device.")]
    PolicyNotSigned { version_label: String },
    #[error("The return time must be later than now.")]
    DueInPast,
    #[error("A loan can last at most a year. Choose an earlier return date.")]
    DueTooFar,
    #[error("This {kind} is not recorded as encrypted, so it cannot leave the school site. Ask the business manager to verify its encryption.", kind = .0.label_lower())]
    NotEncryptedOffSite(DeviceKind),
    #[error("This {kind}'s encryption has never been verified, so it cannot leave the school site. Ask the business manager to check it and record the date.", kind = .0.label_lower())]
    EncryptionNotVerified(DeviceKind),
    #[error("This {kind} may hold personal data, so it can leave the school site only with the head teacher's authorisation. Ask the head teacher from this page.", kind = .0.label_lower())]
    HeadAuthorisationRequired(DeviceKind),
    #[error("The purpose must be 200 characters or fewer.")]
    PurposeTooLong,
}

impl CheckOutRefusal {
    /// The stable name of the rule, for the API's problem `type`.
    pub fn code(&self) -> &'static str {
        match self {
            CheckOutRefusal::NotAvailable(_) => "device-not-available",
            CheckOutRefusal::AccountInactive => "account-inactive",
            CheckOutRefusal::NoPolicy => "no-policy",
            CheckOutRefusal::PolicyNotSigned { .. } => "policy-not-signed",
            CheckOutRefusal::DueInPast => "due-in-past",
            CheckOutRefusal::DueTooFar => "due-too-far",
            CheckOutRefusal::NotEncryptedOffSite(_) => "not-encrypted-off-site",
            CheckOutRefusal::EncryptionNotVerified(_) => "encryption-not-verified",
            CheckOutRefusal::HeadAuthorisationRequired(_) => "head-authorisation-required",
            CheckOutRefusal::PurposeTooLong => "purpose-too-long",
        }
    }
}

impl DeviceKind {
    /// The kind in running text: "laptop", "iPad".
    pub fn label_lower(self) -> String {
        match self {
            DeviceKind::Ipad => "iPad".into(),
            DeviceKind::Chromebook => "Chromebook".into(),
            DeviceKind::Other => "device".into(),
            other => other.label().to_lowercase(),
        }
    }
}

/// Whether this device may leave the site for this person, apart from the head's
/// authorisation: encrypted, with a verification on record.
pub fn may_leave_site(device: &DeviceFacts<'_>) -> Result<(), CheckOutRefusal> {
    if device.encryption.state != EncryptionState::Encrypted {
        return Err(CheckOutRefusal::NotEncryptedOffSite(device.kind));
    }
    if device.encryption.verified_on.is_none() {
        return Err(CheckOutRefusal::EncryptionNotVerified(device.kind));
    }
    Ok(())
}

/// Whether a device may go off site, as the check-out rules decide it: what a page
/// shows beside "taking it off the school site", without deciding again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffSite {
    /// Not encrypted, or never verified: it stays in school.
    MustStay,
    /// It may hold personal data: only with the head teacher's authorisation.
    WithHeadsAuthorisation,
    /// Encrypted and verified: it may leave.
    MayLeave,
}

/// Where `device` stands for leaving the site (see [`check_out`], which refuses by
/// the same facts).
pub fn off_site(device: &DeviceFacts<'_>) -> OffSite {
    if may_leave_site(device).is_err() {
        OffSite::MustStay
    } else if device.holds_personal_data {
        OffSite::WithHeadsAuthorisation
    } else {
        OffSite::MayLeave
    }
}

/// The rules at check-out. `Ok` means the loan may be written as asked.
pub fn check_out(
    device: &DeviceFacts<'_>,
    borrower: &BorrowerFacts,
    request: &CheckOutRequest,
    now: DateTime<Utc>,
) -> Result<(), CheckOutRefusal> {
    if device.status != DeviceStatus::Available {
        return Err(CheckOutRefusal::NotAvailable(device.status));
    }
    if !borrower.active {
        return Err(CheckOutRefusal::AccountInactive);
    }
    match &borrower.policy {
        PolicyStanding::NoPolicy => return Err(CheckOutRefusal::NoPolicy),
        PolicyStanding::NotSigned { version_label } => {
            return Err(CheckOutRefusal::PolicyNotSigned {
                version_label: version_label.clone(),
            })
        }
        PolicyStanding::Signed => {}
    }
    if request.due_at <= now {
        return Err(CheckOutRefusal::DueInPast);
    }
    if request.due_at > now + Duration::days(366) {
        return Err(CheckOutRefusal::DueTooFar);
    }
    if request.purpose.chars().count() > 200 {
        return Err(CheckOutRefusal::PurposeTooLong);
    }
    if request.off_site {
        may_leave_site(device)?;
        if off_site(device) == OffSite::WithHeadsAuthorisation && !request.head_authorised {
            return Err(CheckOutRefusal::HeadAuthorisationRequired(device.kind));
        }
    }
    Ok(())
}

/// How a device came back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReturnCondition {
    Fine,
    Damaged,
}

impl std::str::FromStr for ReturnCondition {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "fine" | "" => Ok(ReturnCondition::Fine),
            "damaged" => Ok(ReturnCondition::Damaged),
            other => Err(format!(
                "“{other}” is not a condition. Choose fine or damaged."
            )),
        }
    }
}

impl ReturnCondition {
    pub fn as_str(self) -> &'static str {
        match self {
            ReturnCondition::Fine => "fine",
            ReturnCondition::Damaged => "damaged",
        }
    }
}

/// What the person returning the device confirms.
#[derive(Debug, Clone)]
pub struct ReturnRequest {
    pub condition: ReturnCondition,
    pub battery_percent: Option<i64>,
    pub on_charge: bool,
    pub images_cleared: bool,
}

/// Why a return was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReturnRefusal {
    #[error("This device is not on loan, so there is nothing to return.")]
    NotOnLoan,
    #[error("Put the device on charge and tick the box to say so. Devices go back on charge as soon as they are returned.")]
    NotOnCharge,
    #[error("This device takes photos. Move its photos and videos to the school network, delete them from the device, then tick the box to confirm.")]
    ImagesNotCleared,
    #[error("The battery level must be a percentage from 0 to 100.")]
    BatteryOutOfRange,
}

impl ReturnRefusal {
    pub fn code(&self) -> &'static str {
        match self {
            ReturnRefusal::NotOnLoan => "device-not-on-loan",
            ReturnRefusal::NotOnCharge => "not-on-charge",
            ReturnRefusal::ImagesNotCleared => "images-not-cleared",
            ReturnRefusal::BatteryOutOfRange => "battery-out-of-range",
        }
    }

    /// The return form's field (and the API's key) the refusal is about.
    pub fn field(&self) -> &'static str {
        match self {
            ReturnRefusal::NotOnLoan => "device",
            ReturnRefusal::NotOnCharge => "on_charge",
            ReturnRefusal::ImagesNotCleared => "images_cleared",
            ReturnRefusal::BatteryOutOfRange => "battery_percent",
        }
    }
}

/// Who may take a device back from its loan: the borrower themself, or someone
/// whose role lends to anyone and receives any device back. The one place this is
/// decided, for pages, the API, sets and bookings alike.
pub fn may_receive(is_borrower: bool, role: crate::person::Role) -> bool {
    is_borrower || role.may(crate::person::Permission::LendToAnyone)
}

/// The rules at return: the first that refuses it.
pub fn return_device(
    device: &DeviceFacts<'_>,
    request: &ReturnRequest,
) -> Result<(), ReturnRefusal> {
    match return_problems(device, request).into_iter().next() {
        Some(refusal) => Err(refusal),
        None => Ok(()),
    }
}

/// Every rule at return that refuses it, in the order the form asks (so that the
/// person returning fixes them all in one go). A device not on loan is the one
/// problem then: nothing else about the return matters.
pub fn return_problems(device: &DeviceFacts<'_>, request: &ReturnRequest) -> Vec<ReturnRefusal> {
    if device.status != DeviceStatus::OnLoan {
        return vec![ReturnRefusal::NotOnLoan];
    }
    let mut out = Vec::new();
    if request
        .battery_percent
        .is_some_and(|b| !(0..=100).contains(&b))
    {
        out.push(ReturnRefusal::BatteryOutOfRange);
    }
    // A damaged device may be unsafe to charge; every other one goes on charge.
    if !request.on_charge && request.condition == ReturnCondition::Fine {
        out.push(ReturnRefusal::NotOnCharge);
    }
    if device.captures_images && !request.images_cleared {
        out.push(ReturnRefusal::ImagesNotCleared);
    }
    out
}

/// Where a returned device goes when the person returning it does not say: its
/// own home (an iPad lives on its trolley), or the school's return place when the
/// register knows no home for it.
pub fn return_place<'a>(home: &'a str, school_return_place: &'a str) -> &'a str {
    if home.trim().is_empty() {
        school_return_place
    } else {
        home
    }
}

/// When a loan made at `now` is due back by default: the end of today's school day,
/// or of the next school day (Monday to Friday) when today's has ended. With the
/// school's calendar, use [`crate::calendar::Calendar::default_due`], which also skips
/// holidays and the days between terms.
pub fn default_due(now: DateTime<Utc>, day_ends_at: NaiveTime) -> DateTime<Utc> {
    crate::calendar::Calendar::default().default_due(now, day_ends_at)
}

/// Whether a loan due at `due_at` is overdue at `now`.
pub fn is_overdue(due_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now > due_at
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::device::{EncryptionMethod, StatusChange};
    use chrono::NaiveDate;
    use proptest::prelude::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn encrypted() -> Encryption {
        Encryption {
            state: EncryptionState::Encrypted,
            method: Some(EncryptionMethod::Bitlocker),
            verified_on: NaiveDate::from_ymd_opt(2025, 9, 3),
        }
    }

    fn device(e: &Encryption) -> DeviceFacts<'_> {
        DeviceFacts {
            kind: DeviceKind::Laptop,
            status: DeviceStatus::Available,
            encryption: e,
            holds_personal_data: false,
            captures_images: false,
        }
    }

    fn signed() -> BorrowerFacts {
        BorrowerFacts {
            active: true,
            policy: PolicyStanding::Signed,
        }
    }

    fn request(off_site: bool) -> CheckOutRequest {
        CheckOutRequest {
            due_at: now() + Duration::hours(5),
            purpose: "Year 4 maths".into(),
            off_site,
            head_authorised: false,
        }
    }

    #[test]
    fn a_signed_borrower_takes_an_available_device() {
        assert_eq!(
            check_out(&device(&encrypted()), &signed(), &request(false), now()),
            Ok(())
        );
    }

    #[test]
    fn nobody_borrows_before_signing_the_current_policy() {
        let b = BorrowerFacts {
            active: true,
            policy: PolicyStanding::NotSigned {
                version_label: "2026/27".into(),
            },
        };
        let err = check_out(&device(&encrypted()), &b, &request(false), now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "You need to sign the acceptable-use policy (2026/27) before you can borrow a device."
        );
        assert_eq!(err.code(), "policy-not-signed");
    }

    #[test]
    fn an_unencrypted_device_cannot_leave_the_site() {
        let e = Encryption {
            state: EncryptionState::Unknown,
            method: None,
            verified_on: None,
        };
        let err = check_out(&device(&e), &signed(), &request(true), now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "This laptop is not recorded as encrypted, so it cannot leave the school site. Ask the business manager to verify its encryption."
        );
        assert_eq!(
            check_out(&device(&e), &signed(), &request(false), now()),
            Ok(()),
            "it can still be used on site"
        );
    }

    #[test]
    fn an_encrypted_device_never_verified_cannot_leave_the_site() {
        let e = Encryption {
            verified_on: None,
            ..encrypted()
        };
        assert_eq!(
            check_out(&device(&e), &signed(), &request(true), now()),
            Err(CheckOutRefusal::EncryptionNotVerified(DeviceKind::Laptop))
        );
    }

    #[test]
    fn personal_data_leaves_the_site_only_with_the_heads_authorisation() {
        let e = encrypted();
        let d = DeviceFacts {
            holds_personal_data: true,
            ..device(&e)
        };
        assert_eq!(
            check_out(&d, &signed(), &request(true), now()),
            Err(CheckOutRefusal::HeadAuthorisationRequired(
                DeviceKind::Laptop
            ))
        );
        let authorised = CheckOutRequest {
            head_authorised: true,
            ..request(true)
        };
        assert_eq!(check_out(&d, &signed(), &authorised, now()), Ok(()));
    }

    #[test]
    fn a_due_time_in_the_past_is_refused() {
        let r = CheckOutRequest {
            due_at: now() - Duration::minutes(1),
            ..request(false)
        };
        assert_eq!(
            check_out(&device(&encrypted()), &signed(), &r, now()),
            Err(CheckOutRefusal::DueInPast)
        );
    }

    #[test]
    fn a_camera_is_not_returned_until_its_images_are_cleared() {
        let e = Encryption {
            state: EncryptionState::NotEncrypted,
            method: None,
            verified_on: None,
        };
        let d = DeviceFacts {
            kind: DeviceKind::Camera,
            status: DeviceStatus::OnLoan,
            captures_images: true,
            ..device(&e)
        };
        let r = ReturnRequest {
            condition: ReturnCondition::Fine,
            battery_percent: Some(40),
            on_charge: true,
            images_cleared: false,
        };
        assert_eq!(return_device(&d, &r), Err(ReturnRefusal::ImagesNotCleared));
        assert_eq!(
            return_device(
                &d,
                &ReturnRequest {
                    images_cleared: true,
                    ..r
                }
            ),
            Ok(())
        );
    }

    #[test]
    fn a_returned_device_goes_on_charge_unless_damaged() {
        let e = encrypted();
        let d = DeviceFacts {
            status: DeviceStatus::OnLoan,
            ..device(&e)
        };
        let r = ReturnRequest {
            condition: ReturnCondition::Fine,
            battery_percent: None,
            on_charge: false,
            images_cleared: false,
        };
        assert_eq!(return_device(&d, &r), Err(ReturnRefusal::NotOnCharge));
        let damaged = ReturnRequest {
            condition: ReturnCondition::Damaged,
            ..r
        };
        assert_eq!(return_device(&d, &damaged), Ok(()));
        let bad_battery = ReturnRequest {
            battery_percent: Some(140),
            on_charge: true,
            ..damaged
        };
        assert_eq!(
            return_device(&d, &bad_battery),
            Err(ReturnRefusal::BatteryOutOfRange)
        );
    }

    /// A camera returned flat, off charge and with its photos on it would take
    /// three tries to hand back, one refusal at a time.
    #[test]
    fn every_rule_that_refuses_a_return_is_told_at_once() {
        let e = encrypted();
        let d = DeviceFacts {
            status: DeviceStatus::OnLoan,
            captures_images: true,
            ..device(&e)
        };
        let r = ReturnRequest {
            condition: ReturnCondition::Fine,
            battery_percent: Some(150),
            on_charge: false,
            images_cleared: false,
        };
        let problems = return_problems(&d, &r);
        assert_eq!(
            problems,
            vec![
                ReturnRefusal::BatteryOutOfRange,
                ReturnRefusal::NotOnCharge,
                ReturnRefusal::ImagesNotCleared
            ]
        );
        assert_eq!(
            problems.iter().map(|p| p.field()).collect::<Vec<_>>(),
            vec!["battery_percent", "on_charge", "images_cleared"]
        );
        let away = DeviceFacts {
            status: DeviceStatus::Available,
            ..d
        };
        assert_eq!(return_problems(&away, &r), vec![ReturnRefusal::NotOnLoan]);
    }

    /// An iPad that lives on its trolley would be sent to the computer room.
    #[test]
    fn a_device_goes_back_to_its_own_home_unless_it_has_none() {
        assert_eq!(
            return_place("iPad trolley B", "Computer room"),
            "iPad trolley B"
        );
        assert_eq!(return_place("  ", "Computer room"), "Computer room");
    }

    #[test]
    fn the_default_due_time_is_the_end_of_the_school_day() {
        let end = NaiveTime::from_hms_opt(15, 30, 0).unwrap();
        // Monday 23 Nov 2026, 10:00 → 15:30 the same day (GMT)
        assert_eq!(
            default_due(now(), end).to_rfc3339(),
            "2026-11-23T15:30:00+00:00"
        );
        // after school on Friday 27 Nov → Monday 30 Nov
        let friday_evening = DateTime::parse_from_rfc3339("2026-11-27T17:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            default_due(friday_evening, end).to_rfc3339(),
            "2026-11-30T15:30:00+00:00"
        );
        // in summer time, 15:30 in London is 14:30 UTC
        let june = DateTime::parse_from_rfc3339("2026-06-10T08:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert_eq!(
            default_due(june, end).to_rfc3339(),
            "2026-06-10T14:30:00+00:00"
        );
    }

    /// One step in the life of a device, as the store would take it.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        CheckOut,
        Return,
        Ready,
        Lost,
        Found,
        Repair,
        BackFromRepair,
    }

    fn any_step() -> impl Strategy<Value = Step> {
        proptest::sample::select(vec![
            Step::CheckOut,
            Step::Return,
            Step::Ready,
            Step::Lost,
            Step::Found,
            Step::Repair,
            Step::BackFromRepair,
        ])
    }

    /// A device and its loans, moved only through the rules in this crate, as the
    /// store moves them: a check-out opens a loan, a return closes it, and a loss
    /// closes it as lost.
    struct Model {
        status: DeviceStatus,
        open_loans: u32,
        loans: u32,
    }

    impl Model {
        fn step(&mut self, step: Step, e: &Encryption) {
            let facts = DeviceFacts {
                status: self.status,
                ..device(e)
            };
            match step {
                Step::CheckOut => {
                    if check_out(&facts, &signed(), &request(false), now()).is_ok() {
                        self.status = self
                            .status
                            .apply(StatusChange::CheckOut)
                            .expect("rules agree with the machine");
                        self.open_loans += 1;
                        self.loans += 1;
                    }
                }
                Step::Return => {
                    let r = ReturnRequest {
                        condition: ReturnCondition::Fine,
                        battery_percent: Some(50),
                        on_charge: true,
                        images_cleared: true,
                    };
                    if return_device(&facts, &r).is_ok() {
                        self.status = self
                            .status
                            .apply(StatusChange::Return)
                            .expect("rules agree with the machine");
                        self.open_loans -= 1;
                    }
                }
                Step::Lost => {
                    if let Ok(s) = self.status.apply(StatusChange::ReportLost) {
                        if self.status == DeviceStatus::OnLoan {
                            self.open_loans -= 1;
                        }
                        self.status = s;
                    }
                }
                Step::Ready => {
                    self.status = self
                        .status
                        .apply(StatusChange::MarkReady)
                        .unwrap_or(self.status)
                }
                Step::Found => {
                    self.status = self
                        .status
                        .apply(StatusChange::Found)
                        .unwrap_or(self.status)
                }
                Step::Repair => {
                    self.status = self
                        .status
                        .apply(StatusChange::SendToRepair)
                        .unwrap_or(self.status)
                }
                Step::BackFromRepair => {
                    self.status = self
                        .status
                        .apply(StatusChange::BackFromRepair)
                        .unwrap_or(self.status)
                }
            }
        }
    }

    proptest! {
        #[test]
        fn the_status_and_the_open_loans_always_agree(steps in proptest::collection::vec(any_step(), 0..60)) {
            let e = encrypted();
            let mut m = Model { status: DeviceStatus::Available, open_loans: 0, loans: 0 };
            for s in steps {
                m.step(s, &e);
                prop_assert!(m.open_loans <= 1, "never two open loans");
                prop_assert_eq!(m.status == DeviceStatus::OnLoan, m.open_loans == 1);
                prop_assert!(m.loans >= m.open_loans);
            }
        }

        #[test]
        fn a_refused_check_out_always_names_a_rule(
            status in proptest::sample::select(DeviceStatus::ALL.to_vec()),
            active in any::<bool>(),
            signed_policy in any::<bool>(),
            off_site in any::<bool>(),
            personal in any::<bool>(),
            state in proptest::sample::select(EncryptionState::ALL.to_vec()),
            verified in any::<bool>(),
            authorised in any::<bool>(),
            hours in -48i64..48,
        ) {
            let e = Encryption { state, method: None, verified_on: verified.then(|| NaiveDate::from_ymd_opt(2025, 9, 3).unwrap()) };
            let d = DeviceFacts { status, holds_personal_data: personal, ..device(&e) };
            let b = BorrowerFacts {
                active,
                policy: if signed_policy { PolicyStanding::Signed } else { PolicyStanding::NotSigned { version_label: "v1".into() } },
            };
            let r = CheckOutRequest { due_at: now() + Duration::hours(hours), purpose: String::new(), off_site, head_authorised: authorised };
            match check_out(&d, &b, &r, now()) {
                Ok(()) => {
                    // every rule held
                    prop_assert_eq!(status, DeviceStatus::Available);
                    prop_assert!(active && signed_policy && hours > 0);
                    if off_site {
                        prop_assert!(state == EncryptionState::Encrypted && verified);
                        prop_assert!(!personal || authorised);
                    }
                }
                Err(refusal) => {
                    prop_assert!(!refusal.to_string().is_empty());
                    prop_assert!(!refusal.code().is_empty());
                }
            }
        }
    }
}
