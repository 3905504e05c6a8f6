//! Bookings made, collected and cancelled: one command each, for the pages and the
//! API.
//!
//! A booking is made in one transaction: the devices it could hold are read with
//! whether anything has them for part of its time, `kitroom_core::booking::book`
//! decides, and the booking, the devices it holds and its event are written; a
//! refusal for want of something free carries what is free instead.
//!
//! A collection turns a booking into loans in one transaction, each device lent by
//! [`crate::loans::lend_in`] and a set by [`crate::sets::check_out_set_in`], so
//! every check-out rule is checked again for every device, due back when the
//! booking ends.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use kitroom_core::booking::{self, Asked, BookingChange, BookingRefusal, Slot, Target};
use kitroom_core::calendar::Calendar;
use kitroom_core::device::{parse_date, DeviceKind, DeviceStatus};
use kitroom_core::invalid::text;
use kitroom_core::kit::KitRefusal;
use kitroom_core::loan::{BorrowerFacts, CheckOutRefusal};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::bookings::{booking_in, booking_subject, Alternatives, Booked, Booking, Hold};
use kitroom_store::db::time_text;
use kitroom_store::events::append;
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::input::{text_or_null, Number};
use crate::loans::{AccessoryAsk, Lending};
use crate::{App, Error, Kind, Refusal};

/// A booking as asked, from the booking page's form or as the API's JSON body:
/// exactly one of `device`, `set` and `kind`; the time as `starts_at` and `ends_at`,
/// or a `date` with a `period` or with `from` and `to` times. A field it does not
/// know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BookingInput {
    /// A device's tag.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub device: String,
    /// A set's id or name.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub set: String,
    /// A kind of device (`ipad`, `laptop`, …): any `count` of them.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub kind: String,
    /// How many of `kind`, 1 to 200; 1 when missing.
    #[schema(value_type = Option<i64>, minimum = 1, maximum = 200)]
    pub count: Number,
    /// A username or a full name; oneself when empty. A manager may name anyone.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub borrower: String,
    /// When it starts, RFC 3339 (with `ends_at`).
    #[schema(format = DateTime)]
    pub starts_at: Option<String>,
    /// When it ends, RFC 3339 (with `starts_at`).
    #[schema(format = DateTime)]
    pub ends_at: Option<String>,
    /// The day, with a `period` or `from` and `to`.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>, format = Date)]
    pub date: String,
    /// A period's name on `date`.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub period: String,
    /// The time it starts on `date`, like 11:15, when no period is chosen.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub from: String,
    /// The time it ends on `date`, like 12:15.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub to: String,
    /// Up to 200 characters.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub purpose: String,
}

/// What to book, as typed: found in the register when the booking is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum What {
    Device(String),
    /// A set's id or name.
    Set(String),
    Kind {
        kind: DeviceKind,
        count: u32,
    },
}

/// When, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum When {
    Times(Slot),
    Period { day: NaiveDate, name: String },
}

/// A booking, read and checked.
#[derive(Debug, Clone)]
pub struct Book {
    pub what: What,
    pub when: When,
    pub borrower: String,
    pub purpose: String,
}

/// A booking as far as it reads: each part that reads well, and every problem
/// with the others, beside its field (so that a name still to be looked up is
/// checked even when another field is wrong).
struct Read {
    what: Option<What>,
    when: Option<When>,
    purpose: Option<String>,
    borrower: String,
    invalid: Invalid,
}

impl TryFrom<BookingInput> for Book {
    type Error = Invalid;

    /// Every problem at once, each beside its field.
    fn try_from(i: BookingInput) -> Result<Self, Invalid> {
        let r = read(i);
        r.invalid.into_result()?;
        match (r.what, r.when, r.purpose) {
            (Some(what), Some(when), Some(purpose)) => Ok(Book {
                what,
                when,
                borrower: r.borrower,
                purpose,
            }),
            _ => Err(Invalid::one("device", "Check the booking and try again.")),
        }
    }
}

fn read(i: BookingInput) -> Read {
    let mut invalid = Invalid::new();
    let (device, set, kind) = (i.device.trim(), i.set.trim(), i.kind.trim());
    let chosen = [device, set, kind].iter().filter(|s| !s.is_empty()).count();
    let what = if chosen != 1 {
        invalid.add(
            "device",
            "Choose what to book: one device, one set, or a number of devices of a kind.",
        );
        None
    } else if !device.is_empty() {
        Some(What::Device(device.to_owned()))
    } else if !set.is_empty() {
        Some(What::Set(set.to_owned()))
    } else {
        let kind = invalid.check(
            "kind",
            kind.parse::<DeviceKind>()
                .map_err(|_| "Choose a kind of device, such as iPad or laptop.".to_owned()),
        );
        let count = invalid.check(
            "count",
            match i.count.0.trim() {
                "" => Ok(1),
                c => c.parse::<u32>(),
            }
            .ok()
            .filter(|c| (1..=200).contains(c))
            .ok_or_else(|| "Enter how many devices, from 1 to 200.".to_owned()),
        );
        kind.zip(count)
            .map(|(kind, count)| What::Kind { kind, count })
    };
    let when = match (i.starts_at.as_deref(), i.ends_at.as_deref()) {
        (Some(a), Some(b)) => {
            let time = |field: &'static str, t: &str, invalid: &mut Invalid| {
                invalid.check(
                    field,
                    DateTime::parse_from_rfc3339(t.trim())
                        .map(|t| t.with_timezone(&Utc))
                        .map_err(|_| {
                            format!("“{t}” is not a date and time such as 2026-09-14T11:15:00Z.")
                        }),
                )
            };
            let a = time("starts_at", a, &mut invalid);
            let b = time("ends_at", b, &mut invalid);
            a.zip(b)
                .map(|(starts_at, ends_at)| When::Times(Slot { starts_at, ends_at }))
        }
        (Some(_), None) | (None, Some(_)) => {
            invalid.add(
                "ends_at",
                "Send both starts_at and ends_at, or a date and a period.",
            );
            None
        }
        (None, None) => match parse_date(&i.date, "The date") {
            Ok(None) => {
                invalid.add("date", "Enter the date of the booking.");
                None
            }
            Err(m) => {
                invalid.add("date", m);
                None
            }
            Ok(Some(day)) if !i.period.trim().is_empty() => Some(When::Period {
                day,
                name: i.period.trim().to_owned(),
            }),
            Ok(Some(day)) => {
                let time = |s: &str| NaiveTime::parse_from_str(s.trim(), "%H:%M").ok();
                match (time(&i.from), time(&i.to)) {
                    (Some(a), Some(b)) => Some(When::Times(Slot {
                        starts_at: Calendar::at(day, a),
                        ends_at: Calendar::at(day, b),
                    })),
                    _ => {
                        invalid.add(
                                "from",
                                "Choose a period, or enter the times it starts and ends, like 11:15 and 12:15.",
                            );
                        None
                    }
                }
            }
        },
    };
    let purpose = invalid.check("purpose", text(&i.purpose, "Purpose", 200));
    Read {
        what,
        when,
        purpose,
        borrower: i.borrower,
        invalid,
    }
}

/// Books a device, a set or any N of a kind on behalf of `caller`, for them or
/// (for those who lend to anyone) for the person named. Every problem with what was
/// typed comes back at once, beside its field; a device or set needed that is held
/// for part of the time is refused with what is free instead (`alternatives`).
pub async fn book(app: &App, caller: &Person, input: BookingInput) -> Result<Booking, Error> {
    let Read {
        what,
        when,
        purpose,
        borrower: typed,
        mut invalid,
    } = read(input);
    let person = match crate::people::borrower(app, caller, &typed).await {
        Ok(p) => Some(p),
        Err(Error::Refused(r)) if r.kind == Kind::Invalid => {
            match r.fields {
                Some(f) => invalid.0.extend(f.0),
                None => invalid.add("borrower", r.message),
            }
            None
        }
        Err(e) => return Err(e),
    };
    // What and when, found in the register and the school day.
    let store = app.store();
    let mut name = String::new();
    let target = match &what {
        Some(What::Device(tag)) => match store.device_by_tag(caller.school, tag).await? {
            Some(d) => Some((Target::Device(d.id), Some(d.details.kind))),
            None => {
                invalid.add("device", format!("No device has the tag “{tag}”."));
                None
            }
        },
        Some(What::Set(set)) => {
            let kit = match Uuid::parse_str(set) {
                Ok(id) => store.kit(caller.school, id).await?,
                Err(_) => store.kit_by_name(caller.school, set).await?,
            };
            match kit {
                Some(k) => {
                    name = k.name;
                    Some((Target::Set(k.id), None))
                }
                None => {
                    invalid.add("set", format!("There is no set called “{set}”."));
                    None
                }
            }
        }
        Some(What::Kind { kind, count }) => Some((
            Target::Kind {
                kind: *kind,
                count: *count,
            },
            Some(*kind),
        )),
        None => None,
    };
    let slot = match &when {
        None => None,
        Some(When::Times(slot)) => Some(*slot),
        Some(When::Period { day, name }) => {
            let calendar = store.calendar(caller.school).await?;
            match calendar.period(name) {
                Some(p) => {
                    let (starts_at, ends_at) = calendar.period_on(p, *day);
                    Some(Slot { starts_at, ends_at })
                }
                None => {
                    invalid.add(
                        "period",
                        format!("The school day has no period called “{name}”."),
                    );
                    None
                }
            }
        }
    };
    let found = target.zip(slot);
    invalid.into_result()?;
    let (Some(purpose), Some(person), Some(((target, kind), slot))) = (purpose, person, found)
    else {
        return Err(Invalid::one("device", "Check the booking and try again.").into());
    };
    let actor = caller.actor();
    let made_by = caller.id;
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let kitroom_store::policies::Borrower { person, policy } =
                    kitroom_store::policies::borrower_in(conn, school, person.id).await?;
                let candidates =
                    kitroom_store::bookings::candidates_in(conn, school, &target, &slot).await?;
                let asked = match target {
                    Target::Device(_) => match candidates.into_iter().next() {
                        Some(d) => Asked::Device(d),
                        None => return Err(Refusal::not_found("That device").into()),
                    },
                    Target::Set(_) => Asked::Set {
                        name,
                        members: candidates,
                    },
                    Target::Kind { kind, count } => Asked::Kind {
                        kind,
                        count,
                        candidates,
                    },
                };
                let borrower = BorrowerFacts {
                    active: person.active,
                    policy,
                };
                let held = match booking::book(&slot, now, &borrower, &asked) {
                    Ok(held) => held,
                    Err(r) => {
                        let alt = if r.offers_alternatives() {
                            kitroom_store::bookings::alternatives_in(conn, school, &slot, kind)
                                .await?
                        } else {
                            Alternatives::default()
                        };
                        return Err(
                            crate::error::booking_refusal(&r, &alt.devices, &alt.sets).into()
                        );
                    }
                };
                let id = Uuid::new_v4();
                kitroom_store::bookings::insert_booking_in(
                    conn,
                    &kitroom_store::bookings::NewBooking {
                        school,
                        id,
                        person: person.id,
                        made_by,
                        target: &target,
                        slot,
                        purpose: &purpose,
                        created_at: now,
                    },
                )
                .await?;
                for device in &held {
                    if let Hold::HeldElsewhere { tag } =
                        kitroom_store::bookings::hold_in(conn, id, &device.to_string(), &slot)
                            .await?
                    {
                        return Err(BookingRefusal::Clash { what: tag }.into());
                    }
                }
                let b = booking_in(conn, school, id).await?;
                append(
                    conn,
                    &actor,
                    "booking.made",
                    &booking_subject(&b),
                    json!({
                        "booking": id, "for": b.person, "what": b.booked.describe(),
                        "starts_at": time_text(slot.starts_at), "ends_at": time_text(slot.ends_at),
                        "purpose": b.purpose, "devices": b.devices,
                    }),
                    now,
                )
                .await?;
                Ok::<_, Error>(b)
            })
        })
        .await
}

/// What is free instead, as a refused booking offers it (none for other refusals).
pub fn alternatives(refusal: &Refusal) -> Alternatives {
    match &refusal.extra {
        Some(("alternatives", v)) => {
            let devices = v["devices"]
                .as_array()
                .map(|d| {
                    d.iter()
                        .filter_map(|t| t.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            let sets = v["sets"]
                .as_array()
                .map(|s| {
                    s.iter()
                        .filter_map(|k| {
                            let id = Uuid::parse_str(k["id"].as_str()?).ok()?;
                            Some((id, k["name"].as_str()?.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            Alternatives { devices, sets }
        }
        _ => Alternatives::default(),
    }
}

/// Whether `person` may act on booking `b`: their own, or someone who lends to
/// anyone. The one rule, for views too.
pub fn may_act(person: &Person, b: &Booking) -> bool {
    b.person.eq_ignore_ascii_case(&person.username) || person.role.may(Permission::LendToAnyone)
}

/// The booking `id` names, if `caller` may act on it: not found for a mistyped
/// id, not allowed for someone else's.
pub async fn owned(app: &App, caller: &Person, id: &str) -> Result<Booking, Error> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| Refusal::not_found("That booking"))?;
    let b = app
        .store()
        .booking(caller.school, id)
        .await?
        .ok_or_else(|| Refusal::not_found("That booking"))?;
    if !may_act(caller, &b) {
        return Err(Refusal::not_allowed().into());
    }
    Ok(b)
}

/// Cancels booking `id`, not yet collected, on behalf of `caller`.
pub async fn cancel(app: &App, caller: &Person, id: &str) -> Result<Booking, Error> {
    let b = owned(app, caller, id).await?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let b = booking_in(conn, school, b.id).await?;
                let next = booking::change(b.status, BookingChange::Cancel, &b.slot, now)?;
                kitroom_store::bookings::end_booking_in(conn, b.id, next, now).await?;
                append(
                    conn,
                    &actor,
                    "booking.cancelled",
                    &booking_subject(&b),
                    json!({"booking": b.id, "for": b.person, "what": b.booked.describe(), "starts_at": time_text(b.slot.starts_at)}),
                    now,
                )
                .await?;
                Ok::<_, Error>(booking_in(conn, school, b.id).await?)
            })
        })
        .await
}

/// What a collection may ask for besides the booking: accessories going out with
/// it, by name (the API) or by stock row (the page's "also taking"). A field it
/// does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CollectInput {
    /// Accessories going out with it.
    pub accessories: Vec<AccessoryAsk>,
    /// "Also taking" on the page's form: an accessory's stock row.
    pub also: String,
    /// "Also taking" on the page's form: how many.
    pub also_count: String,
}

/// Collects booking `id` on behalf of `caller`: it becomes a loan (a set's loan,
/// or one loan per device held) at once, with every check-out rule checked again,
/// due back when the booking ends. Accessories go with it (with the first
/// device's loan for "any N of a kind"); too few of one refuses it all.
pub async fn collect(
    app: &App,
    caller: &Person,
    id: &str,
    input: CollectInput,
) -> Result<Booking, Error> {
    let b = owned(app, caller, id).await?;
    let read = crate::loans::CheckOut::try_from(crate::loans::CheckOutInput {
        also: input.also,
        also_count: input.also_count,
        ..Default::default()
    })?;
    let mut taking =
        crate::loans::accessories_asked(app, caller.school, &input.accessories).await?;
    taking.extend(read.also);
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = b.id;
                let b = booking_in(conn, school, id).await?;
                let next = booking::change(b.status, BookingChange::Collect, &b.slot, now)?;
                let person = kitroom_store::bookings::person_of_booking_in(conn, id).await?;
                let borrower = kitroom_store::policies::borrower_in(conn, school, person).await?;
                let settings = kitroom_store::settings::settings_in(conn, school).await?;
                let calendar = kitroom_store::calendar::calendar_in(conn, school).await?;
                let purpose = if b.purpose.is_empty() {
                    format!("Booked: {}", b.booked.describe())
                } else {
                    b.purpose.clone()
                };
                let due = calendar.school_due(b.slot.ends_at, settings.day_ends_at);
                let lending = Lending {
                    purpose: &purpose,
                    off_site: false,
                    due: &due,
                    group: None,
                };
                let (loan_id, group_id) = match &b.booked {
                    Booked::Device { id: device, .. } => {
                        let device = kitroom_store::devices::get_device(conn, *device).await?;
                        let loan = crate::loans::lend_in(conn, &actor, &device, &borrower, &lending, now)
                            .await?
                            .map_err(BookingRefusal::Borrower)?;
                        (Some(loan.id), None)
                    }
                    Booked::Set { id: kit, .. } => {
                        let out = crate::sets::check_out_set_in(conn, &actor, *kit, &borrower, &purpose, &due, now).await?;
                        let (group, _) = out.map_err(|e| -> Error {
                            match e {
                                KitRefusal::CheckOut { refusal, .. }
                                    if !matches!(refusal, CheckOutRefusal::NotAvailable(_)) =>
                                {
                                    BookingRefusal::Borrower(refusal).into()
                                }
                                other => other.into(),
                            }
                        })?;
                        (None, Some(group.id))
                    }
                    Booked::Kind { kind, .. } => {
                        let mut first = None;
                        // each held device goes out; one that is not in the room (still
                        // charging, say) is swapped for another of the kind that is
                        // available and free
                        for (device, status) in kitroom_store::bookings::held_in(conn, id).await? {
                            let device = if status == DeviceStatus::Available {
                                device
                            } else {
                                kitroom_store::bookings::release_held_in(conn, id, device).await?;
                                match kitroom_store::bookings::spare_in(conn, school, *kind, &b.slot).await? {
                                    Some(spare) => {
                                        if let Hold::HeldElsewhere { tag } = kitroom_store::bookings::hold_in(conn, id, &spare.to_string(), &b.slot).await? {
                                            return Err(BookingRefusal::Clash { what: tag }.into());
                                        }
                                        spare
                                    }
                                    None => {
                                        let held = kitroom_store::devices::get_device(conn, device).await?;
                                        return Err(KitRefusal::CheckOut {
                                            tag: held.details.tag.to_string(),
                                            refusal: CheckOutRefusal::NotAvailable(status),
                                        }
                                        .into());
                                    }
                                }
                            };
                            let device = kitroom_store::devices::get_device(conn, device).await?;
                            let loan = crate::loans::lend_in(conn, &actor, &device, &borrower, &lending, now)
                                .await?
                                .map_err(BookingRefusal::Borrower)?;
                            first.get_or_insert(loan.id);
                        }
                        // Accessories go with the first device's loan: one place to count them back.
                        if !taking.is_empty() {
                            crate::accessories::take_in(conn, &actor, &booking_subject(&b), first, None, &taking, now).await?;
                        }
                        (None, None)
                    }
                };
                if loan_id.is_some() || group_id.is_some() {
                    crate::accessories::take_in(conn, &actor, &booking_subject(&b), loan_id, group_id, &taking, now).await?;
                }
                kitroom_store::bookings::mark_collected_in(conn, id, next, now, loan_id, group_id).await?;
                let b = booking_in(conn, school, id).await?;
                append(
                    conn,
                    &actor,
                    "booking.collected",
                    &booking_subject(&b),
                    json!({"booking": id, "for": b.person, "what": b.booked.describe(), "devices": b.devices, "due_at": time_text(due.due_at)}),
                    now,
                )
                .await?;
                Ok::<_, Error>(b)
            })
        })
        .await
}
