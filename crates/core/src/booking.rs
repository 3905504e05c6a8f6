//! Bookings: a device, a set, or any N devices of a kind, held for a period or a
//! time range. The rules here: a time slot is sensible; a device is never held by
//! two bookings whose times overlap; the person may borrow at all (the check-out
//! rules that do not depend on the device being in the room now); and the life of
//! a booking: booked → collected (it became a loan), cancelled, or released (not
//! collected in time).

use chrono::{DateTime, Duration, Utc};

use crate::device::{DeviceKind, DeviceStatus};
use crate::kit::KitRefusal;
use crate::loan::{BorrowerFacts, CheckOutRefusal, PolicyStanding};

/// A stretch of time, start included, end excluded: a lesson from 11:15 to 12:15
/// and the next from 12:15 do not overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
}

impl Slot {
    pub fn overlaps(&self, other: &Slot) -> bool {
        self.starts_at < other.ends_at && other.starts_at < self.ends_at
    }
}

/// What is booked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target<D, K> {
    Device(D),
    Set(K),
    /// Any `count` devices of this kind.
    Kind {
        kind: DeviceKind,
        count: u32,
    },
}

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingStatus {
    Booked,
    Collected,
    Cancelled,
    Released,
}

impl BookingStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            BookingStatus::Booked => "booked",
            BookingStatus::Collected => "collected",
            BookingStatus::Cancelled => "cancelled",
            BookingStatus::Released => "released",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            BookingStatus::Booked => "Booked",
            BookingStatus::Collected => "Collected",
            BookingStatus::Cancelled => "Cancelled",
            BookingStatus::Released => "Released: not collected",
        }
    }

    /// Whether the booking still holds its devices for its time.
    pub fn holds_devices(self) -> bool {
        matches!(self, BookingStatus::Booked | BookingStatus::Collected)
    }
}

impl std::str::FromStr for BookingStatus {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(match s {
            "booked" => BookingStatus::Booked,
            "collected" => BookingStatus::Collected,
            "cancelled" => BookingStatus::Cancelled,
            "released" => BookingStatus::Released,
            other => return Err(format!("“{other}” is not a booking status.")),
        })
    }
}

/// Something that happens to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BookingChange {
    Collect,
    Cancel,
    Release,
}

/// Why a booking was refused or could not change. Each says what to do next.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BookingRefusal {
    #[error("The end must be later than the start.")]
    EndsBeforeStart,
    #[error("That time has already passed. Choose a time from now on.")]
    InThePast,
    #[error("A booking can last at most 14 days. For longer, check the device out instead.")]
    TooLong,
    #[error("Bookings can be made up to a year ahead.")]
    TooFarAhead,
    #[error("Book at least one device, and at most 200.")]
    BadCount,
    #[error("{what} is already booked for part of that time.")]
    Clash { what: String },
    #[error("Only {free} {kind} {are} free for all of that time, and you asked for {wanted}.", are = if *.free == 1 { "is" } else { "are" })]
    NotEnough {
        kind: String,
        wanted: u32,
        free: u32,
    },
    #[error(transparent)]
    Borrower(CheckOutRefusal),
    #[error("This booking can be collected from {from}.")]
    TooEarly { from: String },
    #[error("This booking is {0}, so it cannot be changed.")]
    Closed(&'static str),
    /// A set that cannot be booked as it is (it has no devices).
    #[error(transparent)]
    Set(KitRefusal),
}

impl BookingRefusal {
    /// The stable name for the API's problem `type`. A borrower refusal keeps the
    /// check-out's own code, so scripts see the same words for the same rule.
    pub fn code(&self) -> &'static str {
        match self {
            BookingRefusal::EndsBeforeStart => "ends-before-start",
            BookingRefusal::InThePast => "booking-in-past",
            BookingRefusal::TooLong => "booking-too-long",
            BookingRefusal::TooFarAhead => "booking-too-far",
            BookingRefusal::BadCount => "bad-count",
            BookingRefusal::Clash { .. } => "booking-clash",
            BookingRefusal::NotEnough { .. } => "booking-clash",
            BookingRefusal::Borrower(r) => r.code(),
            BookingRefusal::TooEarly { .. } => "too-early-to-collect",
            BookingRefusal::Closed(_) => "booking-closed",
            BookingRefusal::Set(r) => r.code(),
        }
    }

    /// A clash with what is booked already (409), rather than a refused request (422).
    pub fn is_conflict(&self) -> bool {
        matches!(
            self,
            BookingRefusal::Clash { .. }
                | BookingRefusal::NotEnough { .. }
                | BookingRefusal::Closed(_)
                | BookingRefusal::TooEarly { .. }
                | BookingRefusal::Borrower(CheckOutRefusal::NotAvailable(_))
        ) || matches!(self, BookingRefusal::Set(r) if r.is_conflict())
    }

    /// Whether what is free instead is worth offering with it: the time and the
    /// borrower were fine, but what was asked for is not free.
    pub fn offers_alternatives(&self) -> bool {
        matches!(
            self,
            BookingRefusal::Clash { .. }
                | BookingRefusal::NotEnough { .. }
                | BookingRefusal::Borrower(CheckOutRefusal::NotAvailable(_))
        )
    }
}

/// How early before its start a booking may be collected.
pub const COLLECT_EARLY_MINUTES: i64 = 15;

/// The rules for a new booking's time, at `now`.
pub fn check_slot(slot: &Slot, now: DateTime<Utc>) -> Result<(), BookingRefusal> {
    if slot.ends_at <= slot.starts_at {
        return Err(BookingRefusal::EndsBeforeStart);
    }
    if slot.ends_at <= now {
        return Err(BookingRefusal::InThePast);
    }
    if slot.ends_at - slot.starts_at > Duration::days(14) {
        return Err(BookingRefusal::TooLong);
    }
    if slot.starts_at > now + Duration::days(366) {
        return Err(BookingRefusal::TooFarAhead);
    }
    Ok(())
}

/// The check-out rules that hold whatever the device: the account is active and
/// has signed the policy in force. Checked when booking and again at collection.
pub fn may_borrow(borrower: &BorrowerFacts) -> Result<(), BookingRefusal> {
    if !borrower.active {
        return Err(BookingRefusal::Borrower(CheckOutRefusal::AccountInactive));
    }
    match &borrower.policy {
        PolicyStanding::NoPolicy => Err(BookingRefusal::Borrower(CheckOutRefusal::NoPolicy)),
        PolicyStanding::NotSigned { version_label } => {
            Err(BookingRefusal::Borrower(CheckOutRefusal::PolicyNotSigned {
                version_label: version_label.clone(),
            }))
        }
        PolicyStanding::Signed => Ok(()),
    }
}

/// Whether a device in this state can be booked at all: not lost, retired, in
/// repair or gone for disposal (one out on loan now may be back by then).
pub fn bookable(status: DeviceStatus) -> bool {
    matches!(
        status,
        DeviceStatus::Available | DeviceStatus::OnLoan | DeviceStatus::ReturnedCharging
    )
}

/// A device a new booking could hold, with whether something else has it for
/// part of the booking's time (another booking, or a loan due back after it starts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate<T> {
    pub id: T,
    pub tag: String,
    pub status: DeviceStatus,
    pub busy: bool,
}

/// What a new booking asks for, with the facts about each device it could hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Asked<T> {
    Device(Candidate<T>),
    /// A set by its name, with all its devices.
    Set {
        name: String,
        members: Vec<Candidate<T>>,
    },
    /// Any `count` of a kind, from every device of that kind (in the order to
    /// choose them).
    Kind {
        kind: DeviceKind,
        count: u32,
        candidates: Vec<Candidate<T>>,
    },
}

/// The rules for a new booking, in order: the time is sensible, the person may
/// borrow at all, and every device it needs is bookable and free for all of the
/// time (a set holds each of its bookable devices; "any N" the first N free).
/// Answers the devices it holds.
pub fn book<T: Clone>(
    slot: &Slot,
    now: DateTime<Utc>,
    borrower: &BorrowerFacts,
    asked: &Asked<T>,
) -> Result<Vec<T>, BookingRefusal> {
    check_slot(slot, now)?;
    may_borrow(borrower)?;
    match asked {
        Asked::Device(d) => {
            if !bookable(d.status) {
                return Err(BookingRefusal::Borrower(CheckOutRefusal::NotAvailable(
                    d.status,
                )));
            }
            if d.busy {
                return Err(BookingRefusal::Clash {
                    what: d.tag.clone(),
                });
            }
            Ok(vec![d.id.clone()])
        }
        Asked::Set { name, members } => {
            let members: Vec<&Candidate<T>> =
                members.iter().filter(|m| bookable(m.status)).collect();
            if members.is_empty() {
                return Err(BookingRefusal::Set(KitRefusal::Empty));
            }
            let clashing: Vec<&str> = members
                .iter()
                .filter(|m| m.busy)
                .map(|m| m.tag.as_str())
                .collect();
            if !clashing.is_empty() {
                return Err(BookingRefusal::Clash {
                    what: format!(
                        "{name} ({} of its devices: {})",
                        clashing.len(),
                        clashing.join(", ")
                    ),
                });
            }
            Ok(members.into_iter().map(|m| m.id.clone()).collect())
        }
        Asked::Kind {
            kind,
            count,
            candidates,
        } => {
            let candidates: Vec<(T, Vec<Slot>)> = candidates
                .iter()
                .filter(|c| bookable(c.status))
                .map(|c| (c.id.clone(), if c.busy { vec![*slot] } else { Vec::new() }))
                .collect();
            choose_free(&candidates, slot, *count, *kind)
        }
    }
}

/// Whether a device already holding `taken` slots is free for `slot`.
pub fn is_free(taken: &[Slot], slot: &Slot) -> bool {
    !taken.iter().any(|t| t.overlaps(slot))
}

/// Chooses `count` devices free for `slot` from the candidates (each with the slots
/// it is already held for), in the order given. Refuses with how many are free.
pub fn choose_free<T: Clone>(
    candidates: &[(T, Vec<Slot>)],
    slot: &Slot,
    count: u32,
    kind: DeviceKind,
) -> Result<Vec<T>, BookingRefusal> {
    if count == 0 || count > 200 {
        return Err(BookingRefusal::BadCount);
    }
    let free: Vec<T> = candidates
        .iter()
        .filter(|(_, taken)| is_free(taken, slot))
        .map(|(t, _)| t.clone())
        .collect();
    if free.len() < count as usize {
        return Err(BookingRefusal::NotEnough {
            kind: kind_plural(kind, free.len() as u32),
            wanted: count,
            free: free.len() as u32,
        });
    }
    Ok(free.into_iter().take(count as usize).collect())
}

/// "iPads", "laptops", in running text.
pub fn kind_plural(kind: DeviceKind, n: u32) -> String {
    let one = kind.label_lower();
    if n == 1 {
        one
    } else {
        format!("{one}s")
    }
}

/// The move a change makes, or why it cannot be made. A booking may be collected
/// from a few minutes before it starts until it ends.
pub fn change(
    status: BookingStatus,
    change: BookingChange,
    slot: &Slot,
    now: DateTime<Utc>,
) -> Result<BookingStatus, BookingRefusal> {
    if status != BookingStatus::Booked {
        return Err(BookingRefusal::Closed(match status {
            BookingStatus::Collected => "already collected",
            BookingStatus::Cancelled => "cancelled",
            _ => "released",
        }));
    }
    match change {
        BookingChange::Collect => {
            let from = slot.starts_at - Duration::minutes(COLLECT_EARLY_MINUTES);
            if now < from {
                return Err(BookingRefusal::TooEarly {
                    from: crate::time::school_time(from),
                });
            }
            if now >= slot.ends_at {
                return Err(BookingRefusal::Closed("over"));
            }
            Ok(BookingStatus::Collected)
        }
        BookingChange::Cancel => Ok(BookingStatus::Cancelled),
        BookingChange::Release => Ok(BookingStatus::Released),
    }
}

/// Whether a booking not collected by `now` is released: `release_after` minutes
/// after it started (or when it ends, if sooner).
pub fn due_for_release(slot: &Slot, release_after_minutes: u32, now: DateTime<Utc>) -> bool {
    let at = (slot.starts_at + Duration::minutes(release_after_minutes.into())).min(slot.ends_at);
    now >= at
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn slot(a: &str, b: &str) -> Slot {
        Slot {
            starts_at: t(a),
            ends_at: t(b),
        }
    }

    #[test]
    fn back_to_back_lessons_do_not_clash_but_overlapping_ones_do() {
        let p3 = slot("2026-11-26T11:15:00Z", "2026-11-26T12:15:00Z");
        let p4 = slot("2026-11-26T12:15:00Z", "2026-11-26T13:15:00Z");
        let lunch_over = slot("2026-11-26T12:00:00Z", "2026-11-26T12:30:00Z");
        assert!(!p3.overlaps(&p4) && !p4.overlaps(&p3));
        assert!(p3.overlaps(&lunch_over) && lunch_over.overlaps(&p4));
        assert!(p3.overlaps(&p3));
    }

    #[test]
    fn any_ten_chromebooks_takes_the_free_ones_or_says_how_many_are_free() {
        let p3 = slot("2026-11-26T11:15:00Z", "2026-11-26T12:15:00Z");
        let candidates: Vec<(u32, Vec<Slot>)> = (0..12)
            .map(|i| (i, if i < 3 { vec![p3] } else { vec![] }))
            .collect();
        let chosen = choose_free(&candidates, &p3, 9, DeviceKind::Chromebook).unwrap();
        assert_eq!(chosen, (3..12).collect::<Vec<_>>());
        let err = choose_free(&candidates, &p3, 10, DeviceKind::Chromebook).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Only 9 Chromebooks are free for all of that time, and you asked for 10."
        );
        assert_eq!(err.code(), "booking-clash");
    }

    /// A teacher could book a lost iPad, or a trolley half of which is booked.
    #[test]
    fn a_booking_holds_only_bookable_free_devices_and_names_those_that_clash() {
        let p3 = slot("2026-11-26T11:15:00Z", "2026-11-26T12:15:00Z");
        let now = t("2026-11-26T08:00:00Z");
        let signed = BorrowerFacts {
            active: true,
            policy: PolicyStanding::Signed,
        };
        let c = |id: u32, status, busy| Candidate {
            id,
            tag: format!("IPAD-{id}"),
            status,
            busy,
        };
        let lost = Asked::Device(c(1, DeviceStatus::Lost, false));
        assert_eq!(
            book(&p3, now, &signed, &lost),
            Err(BookingRefusal::Borrower(CheckOutRefusal::NotAvailable(
                DeviceStatus::Lost
            )))
        );
        let out_now = Asked::Device(c(2, DeviceStatus::OnLoan, false));
        assert_eq!(book(&p3, now, &signed, &out_now), Ok(vec![2]));
        let trolley = |busy| Asked::Set {
            name: "Trolley A".into(),
            members: vec![
                c(1, DeviceStatus::Available, false),
                c(2, DeviceStatus::Retired, true),
                c(3, DeviceStatus::Available, busy),
            ],
        };
        assert_eq!(book(&p3, now, &signed, &trolley(false)), Ok(vec![1, 3]));
        let err = book(&p3, now, &signed, &trolley(true)).unwrap_err();
        assert_eq!(
            err.to_string(),
            "Trolley A (1 of its devices: IPAD-3) is already booked for part of that time."
        );
        assert!(err.offers_alternatives());
        let empty: Asked<u32> = Asked::Set {
            name: "Empty".into(),
            members: vec![c(4, DeviceStatus::Lost, false)],
        };
        assert_eq!(
            book(&p3, now, &signed, &empty),
            Err(BookingRefusal::Set(KitRefusal::Empty))
        );
        let unsigned = BorrowerFacts {
            active: true,
            policy: PolicyStanding::NoPolicy,
        };
        let refused = book(&p3, now, &unsigned, &out_now).unwrap_err();
        assert!(!refused.offers_alternatives());
    }

    #[test]
    fn a_booking_is_collected_once_from_just_before_it_starts() {
        let p3 = slot("2026-11-26T11:15:00Z", "2026-11-26T12:15:00Z");
        let early = change(
            BookingStatus::Booked,
            BookingChange::Collect,
            &p3,
            t("2026-11-26T10:00:00Z"),
        );
        assert!(matches!(early, Err(BookingRefusal::TooEarly { .. })));
        assert_eq!(
            change(
                BookingStatus::Booked,
                BookingChange::Collect,
                &p3,
                t("2026-11-26T11:05:00Z")
            ),
            Ok(BookingStatus::Collected)
        );
        assert_eq!(
            change(
                BookingStatus::Collected,
                BookingChange::Collect,
                &p3,
                t("2026-11-26T11:20:00Z")
            ),
            Err(BookingRefusal::Closed("already collected"))
        );
        assert_eq!(
            change(
                BookingStatus::Cancelled,
                BookingChange::Cancel,
                &p3,
                t("2026-11-26T11:20:00Z")
            ),
            Err(BookingRefusal::Closed("cancelled"))
        );
    }

    #[test]
    fn an_uncollected_booking_is_released_after_the_set_time() {
        let p3 = slot("2026-11-26T11:15:00Z", "2026-11-26T12:15:00Z");
        assert!(!due_for_release(&p3, 20, t("2026-11-26T11:34:00Z")));
        assert!(due_for_release(&p3, 20, t("2026-11-26T11:35:00Z")));
        assert!(
            due_for_release(&p3, 600, t("2026-11-26T12:15:00Z")),
            "at the latest when it ends"
        );
    }

    #[test]
    fn a_booking_needs_a_signed_policy_like_a_check_out() {
        let b = BorrowerFacts {
            active: true,
            policy: PolicyStanding::NotSigned {
                version_label: "v2".into(),
            },
        };
        let err = may_borrow(&b).unwrap_err();
        assert_eq!(err.code(), "policy-not-signed");
        assert_eq!(
            check_slot(
                &slot("2026-11-26T12:00:00Z", "2026-11-26T11:00:00Z"),
                t("2026-11-20T00:00:00Z")
            ),
            Err(BookingRefusal::EndsBeforeStart)
        );
    }

    /// One step in a school's day of bookings.
    #[derive(Debug, Clone)]
    enum Op {
        BookDevice { device: usize, start: i64, len: i64 },
        BookSet { start: i64, len: i64 },
        BookKind { count: u32, start: i64, len: i64 },
        Collect { booking: usize, at: i64 },
        Cancel { booking: usize },
        Return { device: usize },
        Release { at: i64 },
    }

    fn any_op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0usize..6, 0i64..20, 1i64..6).prop_map(|(device, start, len)| Op::BookDevice {
                device,
                start,
                len
            }),
            (0i64..20, 1i64..6).prop_map(|(start, len)| Op::BookSet { start, len }),
            (1u32..5, 0i64..20, 1i64..6).prop_map(|(count, start, len)| Op::BookKind {
                count,
                start,
                len
            }),
            (0usize..30, 0i64..26).prop_map(|(booking, at)| Op::Collect { booking, at }),
            (0usize..30).prop_map(|booking| Op::Cancel { booking }),
            (0usize..6).prop_map(|device| Op::Return { device }),
            (0i64..26).prop_map(|at| Op::Release { at }),
        ]
    }

    /// Six devices (the first three a set), their bookings and loans, moved only
    /// through the rules above as the store moves them.
    #[derive(Default)]
    struct School {
        bookings: Vec<(Slot, Vec<usize>, BookingStatus)>,
        /// (device, booking) for each open loan.
        open_loans: Vec<(usize, usize)>,
    }

    const SET: [usize; 3] = [0, 1, 2];

    fn hour(h: i64) -> DateTime<Utc> {
        t("2026-11-26T00:00:00Z") + Duration::hours(h)
    }

    impl School {
        fn taken(&self, device: usize) -> Vec<Slot> {
            self.bookings
                .iter()
                .filter(|(_, ds, s)| s.holds_devices() && ds.contains(&device))
                .map(|(slot, _, _)| *slot)
                .collect()
        }

        fn book(&mut self, devices: Vec<usize>, slot: Slot) {
            if check_slot(&slot, hour(0)).is_ok()
                && devices.iter().all(|d| is_free(&self.taken(*d), &slot))
            {
                self.bookings.push((slot, devices, BookingStatus::Booked));
            }
        }

        fn step(&mut self, op: Op) {
            match op {
                Op::BookDevice { device, start, len } => self.book(
                    vec![device],
                    Slot {
                        starts_at: hour(start),
                        ends_at: hour(start + len),
                    },
                ),
                Op::BookSet { start, len } => self.book(
                    SET.to_vec(),
                    Slot {
                        starts_at: hour(start),
                        ends_at: hour(start + len),
                    },
                ),
                Op::BookKind { count, start, len } => {
                    let slot = Slot {
                        starts_at: hour(start),
                        ends_at: hour(start + len),
                    };
                    let candidates: Vec<(usize, Vec<Slot>)> =
                        (0..6).map(|d| (d, self.taken(d))).collect();
                    if let Ok(chosen) = choose_free(&candidates, &slot, count, DeviceKind::Ipad) {
                        self.book(chosen, slot);
                    }
                }
                Op::Collect { booking, at } => {
                    if let Some((slot, devices, status)) = self.bookings.get(booking).cloned() {
                        // every device must be free of open loans, as the check-out rules say
                        let all_in = devices
                            .iter()
                            .all(|d| self.open_loans.iter().all(|(o, _)| o != d));
                        if let (true, Ok(next)) = (
                            all_in,
                            change(status, BookingChange::Collect, &slot, hour(at)),
                        ) {
                            for d in &devices {
                                self.open_loans.push((*d, booking));
                            }
                            self.bookings[booking].2 = next;
                        }
                    }
                }
                Op::Cancel { booking } => {
                    if let Some((slot, _, status)) = self.bookings.get(booking).cloned() {
                        if let Ok(next) = change(status, BookingChange::Cancel, &slot, hour(0)) {
                            self.bookings[booking].2 = next;
                        }
                    }
                }
                Op::Return { device } => {
                    self.open_loans.retain(|(d, _)| *d != device);
                }
                Op::Release { at } => {
                    for b in &mut self.bookings {
                        if b.2 == BookingStatus::Booked && due_for_release(&b.0, 1, hour(at)) {
                            b.2 =
                                change(b.2, BookingChange::Release, &b.0, hour(at)).unwrap_or(b.2);
                        }
                    }
                }
            }
        }
    }

    proptest! {
        #[test]
        fn no_device_is_ever_booked_twice_at_once_or_on_two_open_loans(ops in proptest::collection::vec(any_op(), 0..80)) {
            let mut school = School::default();
            for op in ops {
                school.step(op);
                for d in 0..6 {
                    let taken = school.taken(d);
                    for (i, a) in taken.iter().enumerate() {
                        for b in &taken[i + 1..] {
                            prop_assert!(!a.overlaps(b), "device {} held twice: {:?} and {:?}", d, a, b);
                        }
                    }
                }
                for d in 0..6 {
                    prop_assert!(school.open_loans.iter().filter(|(o, _)| *o == d).count() <= 1, "device {} on two open loans", d);
                }
                for (d, b) in &school.open_loans {
                    prop_assert!(school.bookings[*b].1.contains(d));
                    prop_assert_eq!(school.bookings[*b].2, BookingStatus::Collected);
                }
            }
        }
    }
}
