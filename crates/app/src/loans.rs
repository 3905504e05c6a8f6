//! Checking a device out and taking it back: one command each, for the device's
//! page and the API alike.
//!
//! Each runs in one write transaction: it reads the facts as they are there, asks
//! `kitroom_core::loan` (and the checklist's and accessories' rules) to decide,
//! and writes the decision with its events and notifications. Nothing here is
//! decided twice: the views show what these decisions allow.

use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::calendar::{Calendar, SchoolDue};
use kitroom_core::checklist;
use kitroom_core::device::{parse_date, DeviceStatus, StatusChange};
use kitroom_core::incident::{IncidentKind, ReportDetails};
use kitroom_core::loan::{
    self, BorrowerFacts, CheckOutRefusal, CheckOutRequest, DeviceFacts, ReturnCondition,
    ReturnRequest,
};
use kitroom_core::school::SchoolId;
use kitroom_core::settings::Settings;
use kitroom_core::Invalid;
use kitroom_store::accessories::{Lent, Taking};
use kitroom_store::db::Actor;
use kitroom_store::devices::Device;
use kitroom_store::events::{append, append_after};
use kitroom_store::incidents::Incident;
use kitroom_store::loans::{Closing, Loan, NewLoan};
use kitroom_store::people::Person;
use kitroom_store::policies::Borrower;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accessories::{counted_back, give_back_in, AccessoryBack, BackOf};
use crate::input::{Answer, Flag, Number};
use crate::{App, Error, Refusal};

/// An accessory asked for with a check-out: by name (and place, when more than one
/// place keeps it), as the API sends it, or by its stock row, as the page's "also
/// taking" list sends it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AccessoryAsk {
    /// The accessory's name, as the business manager lists it.
    #[serde(alias = "type")]
    pub name: String,
    /// The place it is taken from, when more than one place keeps it.
    pub from: Option<String>,
    /// How many; 1 when missing.
    #[serde(alias = "quantity", alias = "out")]
    #[schema(value_type = Option<i64>, minimum = 1)]
    pub count: Number,
}

/// A check-out as sent, from the device page's form or as the API's JSON body.
/// A field it does not know is refused, not ignored.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CheckOutInput {
    /// A username or a full name; the token's owner when empty. A manager may name
    /// anyone.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub borrower: String,
    /// When it is due back, RFC 3339; the end of the school day when missing.
    #[schema(format = DateTime)]
    pub due_at: Option<String>,
    /// The day it is due back (the page's form); the end of that school day.
    #[schema(format = Date)]
    pub due_on: String,
    /// A period's name: due at its end (on `due_on`, or at its next end).
    pub due_period: String,
    /// Up to 200 characters.
    pub purpose: String,
    /// Taking it off the school site.
    #[schema(value_type = bool)]
    pub off_site: Flag,
    /// Accessories going out with it (the API).
    pub accessories: Vec<AccessoryAsk>,
    /// "Also taking" on the page's form: an accessory's stock row.
    pub also: String,
    /// "Also taking" on the page's form: how many.
    pub also_count: String,
}

/// When a loan is due, as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Due {
    /// The end of the school day (or the next school day's, when today's is over).
    Default,
    At(DateTime<Utc>),
    /// The end of a period, on a day or at its next end; or the end of a day.
    Day {
        day: Option<NaiveDate>,
        period: Option<String>,
    },
}

/// A check-out, read and checked.
#[derive(Debug, Clone)]
pub struct CheckOut {
    pub borrower: String,
    pub due: Due,
    pub purpose: String,
    pub off_site: bool,
    pub accessories: Vec<AccessoryAsk>,
    pub also: Option<Taking>,
}

impl TryFrom<CheckOutInput> for CheckOut {
    type Error = Invalid;

    /// Every problem at once, each beside its field.
    fn try_from(i: CheckOutInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let due = match i.due_at.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
            Some(t) => invalid
                .check(
                    "due_at",
                    DateTime::parse_from_rfc3339(t)
                        .map(|t| Due::At(t.with_timezone(&Utc)))
                        .map_err(|_| {
                            format!("“{t}” is not a date and time such as 2026-09-14T15:30:00Z.")
                        }),
                )
                .unwrap_or(Due::Default),
            None => {
                let day = invalid
                    .check("due_on", parse_date(&i.due_on, "Return date"))
                    .flatten();
                let period = Some(i.due_period.trim().to_owned()).filter(|p| !p.is_empty());
                if day.is_none() && period.is_none() {
                    Due::Default
                } else {
                    Due::Day { day, period }
                }
            }
        };
        let also = match i.also.trim() {
            "" => None,
            stock => {
                let stock = invalid.check(
                    "accessories",
                    stock
                        .parse::<i64>()
                        .map_err(|_| "Choose the accessory from the list.".to_owned()),
                );
                let count = match i.also_count.trim() {
                    "" => Some(1),
                    n => invalid.check(
                        "accessories",
                        kitroom_core::accessory::parse_count(n, "How many accessories", 1),
                    ),
                };
                stock
                    .zip(count)
                    .map(|(stock, count)| Taking { stock, count })
            }
        };
        invalid.into_result()?;
        Ok(CheckOut {
            borrower: i.borrower,
            due,
            purpose: i.purpose.trim().to_owned(),
            off_site: i.off_site.0,
            accessories: i.accessories,
            also,
        })
    }
}

/// A device that went out.
#[derive(Debug, Clone)]
pub struct CheckedOut {
    pub loan: Loan,
    pub borrower: Person,
    /// Where it goes back to.
    pub return_location: String,
    /// The accessories lent with it.
    pub accessories: Vec<Lent>,
}

/// The accessories lent with `loan`, as committed.
async fn lent_with(app: &App, loan: Uuid) -> Result<Vec<Lent>, Error> {
    Ok(app
        .store()
        .accessories_of_loans(&[loan])
        .await?
        .remove(&loan)
        .unwrap_or_default())
}

pub(crate) fn facts(d: &Device) -> DeviceFacts<'_> {
    DeviceFacts {
        kind: d.details.kind,
        status: d.status,
        encryption: &d.details.encryption,
        holds_personal_data: d.details.holds_personal_data,
        captures_images: d.details.captures_images,
    }
}

/// Whether this device may go off site, as check-out will decide it.
pub fn off_site(device: &Device) -> loan::OffSite {
    loan::off_site(&facts(device))
}

/// When a loan asked for at `now` is due: the end of a period (on the chosen day,
/// or its next end on a school day), the end of the chosen day, or by default the
/// end of the school day. A time in a holiday is moved afterwards, by the calendar.
pub fn due_at(
    due: &Due,
    calendar: &Calendar,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, Invalid> {
    Ok(match due {
        Due::At(t) => *t,
        Due::Default => calendar.default_due(now, settings.day_ends_at),
        Due::Day { day, period } => match period {
            Some(name) => {
                let p = calendar.period(name).ok_or_else(|| {
                    Invalid::one(
                        "due_period",
                        format!(
                            "The school day has no period called “{name}”. Choose one from the list."
                        ),
                    )
                })?;
                calendar.end_of_period(p, *day, now)
            }
            None => match day {
                Some(day) => Calendar::at(*day, settings.day_ends_at),
                None => calendar.default_due(now, settings.day_ends_at),
            },
        },
    })
}

/// Finds the stock each named accessory is taken from: the place named, or else
/// the place with the most left. Whether there are enough is checked when they are
/// taken, in the loan's own transaction, so nothing is lent when one is short.
pub async fn accessories_asked(
    app: &App,
    school: SchoolId,
    asks: &[AccessoryAsk],
) -> Result<Vec<Taking>, Error> {
    if asks.is_empty() {
        return Ok(Vec::new());
    }
    let refuse = |m: String| -> Error { Invalid::one("accessories", m).into() };
    let all = app.store().list_accessories(school).await?;
    let mut out = Vec::new();
    for ask in asks {
        let name = ask.name.trim();
        let count = kitroom_core::accessory::parse_count(
            ask.count.0.trim(),
            &format!("How many × {name}"),
            1,
        )
        .map_err(refuse)?;
        let Some(a) = all
            .iter()
            .find(|a| a.name.eq_ignore_ascii_case(name) && !a.retired)
        else {
            return Err(refuse(format!(
                "No accessory in use is called “{name}”. The business manager lists them under Sets → Accessories."
            )));
        };
        let stock = match ask.from.as_deref().map(str::trim) {
            Some(place) if !place.is_empty() => a
                .stock
                .iter()
                .find(|s| s.location.eq_ignore_ascii_case(place)),
            _ => a.stock.iter().max_by_key(|s| s.count),
        };
        let Some(stock) = stock else {
            return Err(refuse(format!(
                "No {} is counted {}, so none can go out.",
                a.name,
                ask.from
                    .as_deref()
                    .map(|p| format!("in the {}", p.trim()))
                    .unwrap_or_else(|| "anywhere".to_owned())
            )));
        };
        out.push(Taking {
            stock: stock.id,
            count,
        });
    }
    Ok(out)
}

/// Lends the device `tag` as `input` asks, on behalf of `caller`.
///
/// The rules are `kitroom_core::loan::check_out`'s, on the facts as they are inside
/// the transaction: the device available, the borrower active and signed up to the
/// policy in force, a device leaving the site encrypted and verified, personal data
/// off site only with the head's authorisation. A second open loan is refused by
/// the database too (a race), as not available. A due time on a day the school is
/// shut moves to the next school day, and the loan says so.
pub async fn check_out(
    app: &App,
    caller: &Person,
    tag: &str,
    input: CheckOutInput,
) -> Result<CheckedOut, Error> {
    let parsed = CheckOut::try_from(input);
    let typed = match &parsed {
        Ok(c) => c.borrower.clone(),
        Err(_) => String::new(),
    };
    let asked = async {
        let borrower = crate::people::borrower(app, caller, &typed).await?;
        let cmd = parsed?;
        let mut taking = accessories_asked(app, caller.school, &cmd.accessories).await?;
        taking.extend(cmd.also);
        Ok::<_, Error>((cmd, borrower, taking))
    };
    let (cmd, borrower, taking) = match asked.await {
        Ok(asked) => asked,
        Err(e) => {
            // The device is found inside the write; a tag no device has is told
            // before any other problem, as for anything done to a device.
            crate::devices::device(app, caller.school, tag).await?;
            return Err(e);
        }
    };
    let took_accessories = !taking.is_empty();
    let actor = caller.actor();
    let for_someone_else = borrower.id != caller.id;
    let lent_to = borrower.clone();
    let school = caller.school;
    let tag = tag.to_owned();
    let (loan, return_location) = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                // The device, the borrower, the settings and the calendar, read
                // together: one round trip.
                let facts = kitroom_store::loans::lending_facts_in(conn, school, &tag, lent_to.id)
                    .await?
                    .ok_or_else(|| Refusal::not_found("That device"))?;
                let (device, borrower, settings) = (facts.device, facts.borrower, facts.settings);
                let asked = due_at(&cmd.due, &facts.calendar, &settings, now)?;
                let due = facts.calendar.school_due(asked, settings.day_ends_at);
                let lending = Lending {
                    purpose: &cmd.purpose,
                    off_site: cmd.off_site,
                    due: &due,
                    group: None,
                };
                let loan = match lend_in(conn, &actor, &device, &borrower, &lending, now).await? {
                    Ok(loan) => loan,
                    Err(refusal) => {
                        return Err(check_out_refusal(
                            refusal,
                            &borrower.person,
                            for_someone_else,
                        ))
                    }
                };
                if !taking.is_empty() {
                    crate::accessories::take_in(
                        conn,
                        &actor,
                        &device.subject(),
                        Some(loan.id),
                        None,
                        &taking,
                        now,
                    )
                    .await?;
                }
                let back_to =
                    loan::return_place(&device.details.location, &settings.return_location)
                        .to_owned();
                Ok::<_, Error>((loan, back_to))
            })
        })
        .await?;
    let accessories = if took_accessories {
        lent_with(app, loan.id).await?
    } else {
        Vec::new()
    };
    Ok(CheckedOut {
        loan,
        borrower,
        return_location,
        accessories,
    })
}

/// One device's loan as asked: the same for a single check-out, a set's (one per
/// device, with the set's check-out as `group`) and a booking's collection.
#[derive(Debug, Clone)]
pub struct Lending<'a> {
    pub purpose: &'a str,
    pub off_site: bool,
    /// When it is due, already moved out of any day the school is shut.
    pub due: &'a SchoolDue,
    /// The set's check-out it is part of.
    pub group: Option<Uuid>,
}

/// Lends `device` to `person` inside the caller's transaction: asks
/// `kitroom_core::loan::check_out` on the facts as they are there, then writes the
/// loan, uses up the head's authorisation where it was needed, records
/// `loan.checked_out`, and tells the borrower when someone else lent it and its due
/// time moved (a set's check-out tells them once, for the set). The rule's refusal
/// comes back as the inner `Err`, for the caller to word (naming the device in a
/// set, say); nothing has been written then.
pub async fn lend_in(
    conn: &mut kitroom_store::Conn,
    actor: &Actor,
    device: &Device,
    borrower: &Borrower,
    lending: &Lending<'_>,
    now: DateTime<Utc>,
) -> Result<Result<Loan, CheckOutRefusal>, Error> {
    let Borrower { person, policy } = borrower;
    let authorisation = if lending.off_site {
        kitroom_store::loans::approved_authorisation_in(conn, person.id, device.id).await?
    } else {
        None
    };
    let due = lending.due;
    let request = CheckOutRequest {
        due_at: due.due_at,
        purpose: lending.purpose.to_owned(),
        off_site: lending.off_site,
        head_authorised: authorisation.is_some(),
    };
    let decided = loan::check_out(
        &facts(device),
        &BorrowerFacts {
            active: person.active,
            policy: policy.clone(),
        },
        &request,
        now,
    );
    if let Err(refusal) = decided {
        return Ok(Err(refusal));
    }
    // An authorisation is used up only where it was needed.
    let used = authorisation.filter(|_| device.details.holds_personal_data);
    // The status machine is asked, even though only an available device gets
    // this far.
    device.status.apply(StatusChange::CheckOut)?;
    let id = Uuid::new_v4();
    let moved = due.moved.as_ref().map(|(f, why)| (*f, why.as_str()));
    let new = NewLoan {
        id,
        school: device.school,
        device: device.id,
        borrower: person.id,
        issued_by: actor.id.unwrap_or(person.id),
        out_at: now,
        due_at: request.due_at,
        purpose: &request.purpose,
        off_site: request.off_site,
        authorisation: used.as_deref(),
        group: lending.group,
        due_moved: moved,
    };
    let issuer = match actor.id {
        Some(_) => &actor.username,
        None => &person.username,
    };
    let loan = Loan::opened(&new, device, person, issuer)?;
    // The loan, its device's move and the event, in one round trip.
    let written = append_after(
        conn,
        kitroom_store::loans::insert_loan(&new),
        actor,
        "loan.checked_out",
        &device.subject(),
        json!({
            "loan": id, "borrower": person.username,
            "due_at": kitroom_store::db::time_text(request.due_at),
            "purpose": request.purpose, "off_site": request.off_site,
            "head_authorisation": used,
            "due_moved_from": due.moved.as_ref().map(|(f, _)| kitroom_store::db::time_text(*f)),
            "set_loan": lending.group,
        }),
        now,
    )
    .await;
    match written {
        Err(e) if kitroom_store::loans::is_second_open_loan(&e) => {
            return Ok(Err(CheckOutRefusal::NotAvailable(DeviceStatus::OnLoan)))
        }
        written => written?,
    };
    if let Some((_, why)) = &due.moved {
        if actor.id != Some(person.id) && lending.group.is_none() {
            let body = format!(
                "{} is due back {}. {why}",
                device.details.tag,
                kitroom_core::time::school_time(due.due_at)
            );
            kitroom_store::notifications::notify_in(
                conn,
                person.id,
                &body,
                &format!("/devices/{}", device.details.tag),
                now,
            )
            .await?;
        }
    }
    Ok(Ok(loan))
}

/// Where a device comes back to: the name as asked, and the location of that name
/// if it was already found (created the first time the name is used, otherwise).
#[derive(Debug, Clone)]
pub struct Place {
    pub name: String,
    pub found: Option<(Uuid, String)>,
}

impl Place {
    /// A place not looked up yet.
    pub fn named(name: String) -> Place {
        Place { name, found: None }
    }
}

/// Takes `device` back from its open loan `open` inside the caller's transaction,
/// for a single return and each device of a set's alike: asks
/// `kitroom_core::loan::return_device`, closes the loan where it came back to,
/// moves the device on (to charging, or damaged), and records `loan.returned`.
/// The rule's refusal comes back as the inner `Err`, nothing written.
pub async fn take_back_in(
    conn: &mut kitroom_store::Conn,
    actor: &Actor,
    device: &Device,
    open: &Loan,
    place: &Place,
    request: &ReturnRequest,
    now: DateTime<Utc>,
) -> Result<Result<Loan, loan::ReturnRefusal>, Error> {
    if let Err(refusal) = loan::return_device(&facts(device), request) {
        return Ok(Err(refusal));
    }
    let (location_id, stored_location) = match &place.found {
        Some(found) => found.clone(),
        None => {
            kitroom_store::locations::find_or_create_named(
                conn,
                actor,
                device.school,
                &place.name,
                now,
            )
            .await?
        }
    };
    let location = place.name.as_str();
    let status = device.status.apply(StatusChange::Return)?;
    let images_cleared = device
        .details
        .captures_images
        .then_some(request.images_cleared);
    // The loan's close, its device's move and the event, in one round trip.
    let closing = Closing {
        loan: open.id,
        device: device.id,
        at: now,
        location: location_id,
        received_by: actor.id,
        condition: request.condition,
        battery_percent: request.battery_percent,
        on_charge: request.on_charge,
        images_cleared,
        status,
    };
    append_after(
        conn,
        kitroom_store::loans::close_loan(&closing),
        actor,
        "loan.returned",
        &device.subject(),
        json!({
            "loan": open.id, "borrower": open.borrower, "location": location,
            "condition": request.condition.as_str(), "battery_percent": request.battery_percent,
            "on_charge": request.on_charge,
            "images_cleared": images_cleared,
        }),
        now,
    )
    .await?;
    let received_by = actor.id.map(|_| actor.username.as_str());
    Ok(Ok(open.clone().closed(
        &closing,
        &stored_location,
        received_by,
    )?))
}

/// A check-out rule's refusal, worded for whoever asked: a manager lending to a
/// teacher who has not signed is told who must sign.
fn check_out_refusal(refusal: CheckOutRefusal, borrower: &Person, for_someone_else: bool) -> Error {
    let mut r = Refusal::from(refusal.clone());
    match &refusal {
        CheckOutRefusal::PolicyNotSigned { version_label } if for_someone_else => {
            r.message = format!(
                "{} has not signed the acceptable-use policy ({version_label}) yet, so they cannot borrow. Ask them to sign it in Kitroom first.",
                borrower.full_name
            );
        }
        // The borrower can ask the head from the device's page.
        CheckOutRefusal::HeadAuthorisationRequired(_) if !for_someone_else => {
            r.extra = Some(("may_ask_head", json!(true)));
        }
        _ => {}
    }
    r.into()
}

/// A return as sent, from the device page's form or as the API's JSON body.
/// A field it does not know is refused, not ignored.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReturnInput {
    /// Where it came back to; the device's home when empty (the school's return place
    /// for a device with no home).
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub location: String,
    /// `fine` or `damaged`; fine when empty.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>, example = "fine")]
    pub condition: String,
    /// The battery level, 0 to 100.
    #[schema(value_type = Option<i64>)]
    pub battery_percent: Number,
    /// It is plugged in and charging (required unless it came back damaged).
    #[schema(value_type = bool)]
    pub on_charge: Flag,
    /// Its photos and videos are moved to the school network and deleted from it.
    #[schema(value_type = bool)]
    pub images_cleared: Flag,
    /// The answers to the return checklist of the device's kind, in its order.
    #[schema(value_type = Vec<Option<bool>>)]
    pub checklist: Vec<Answer>,
    /// How many of each accessory lent with the loan came back; one not named came
    /// back as none.
    pub accessories: Vec<AccessoryBack>,
}

impl ReturnInput {
    /// The page's return form: its fixed fields, the checklist's answers as
    /// `check.0=yes`, `check.1=no`, … and the accessories back as `acc_back.<id>=2`.
    pub fn from_form(pairs: &[(String, String)]) -> ReturnInput {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let mut checklist = Vec::new();
        for (k, v) in pairs {
            if let Some(i) = k
                .strip_prefix("check.")
                .and_then(|i| i.parse::<usize>().ok())
            {
                if i < 200 {
                    if checklist.len() <= i {
                        checklist.resize(i + 1, Answer(None));
                    }
                    checklist[i] = Answer(match v.as_str() {
                        "yes" => Some(true),
                        "no" => Some(false),
                        _ => None,
                    });
                }
            }
        }
        let accessories = pairs
            .iter()
            .filter_map(|(k, v)| {
                let id = k.strip_prefix("acc_back.")?.parse::<i64>().ok()?;
                Some(AccessoryBack {
                    id: Some(id),
                    name: None,
                    count: Number(v.clone()),
                })
            })
            .collect();
        let ticked = |name: &str| {
            Flag(field(name).is_some_and(|v| matches!(v.as_str(), "on" | "true" | "1" | "yes")))
        };
        ReturnInput {
            location: field("location").unwrap_or_default(),
            condition: field("condition").unwrap_or_default(),
            battery_percent: Number(field("battery_percent").unwrap_or_default()),
            on_charge: ticked("on_charge"),
            images_cleared: ticked("images_cleared"),
            checklist,
            accessories,
        }
    }
}

/// A return, read and checked.
#[derive(Debug, Clone)]
pub struct Return {
    /// `None`: where the device lives (see `loan::return_place`).
    pub location: Option<String>,
    pub request: ReturnRequest,
    pub answers: Vec<Option<bool>>,
    /// The accessories counted back (names are found in the loan).
    pub back: Vec<(BackOf, i64)>,
}

impl TryFrom<ReturnInput> for Return {
    type Error = Invalid;

    /// Every problem at once, each beside its field.
    fn try_from(i: ReturnInput) -> Result<Self, Invalid> {
        let (ret, invalid) = Return::read(i);
        invalid.into_result()?;
        Ok(ret)
    }
}

impl Return {
    /// Reads a return as far as it can be read, with every problem found: the
    /// return then adds the checklist's and the rules' problems, so that all of
    /// them are told in one answer. A value that could not be read is left out
    /// (no battery level, say) rather than refused twice.
    pub fn read(i: ReturnInput) -> (Return, Invalid) {
        let mut invalid = Invalid::new();
        let battery = invalid
            .check(
                "battery_percent",
                i.battery_percent
                    .whole("The battery level")
                    .map_err(|_| "The battery level must be a number from 0 to 100.".to_owned()),
            )
            .flatten();
        let condition = invalid
            .check("condition", i.condition.parse::<ReturnCondition>())
            .unwrap_or(ReturnCondition::Fine);
        let location = match i.location.trim() {
            "" => None,
            l => invalid.check("location", kitroom_core::device::location_name(l)),
        };
        let back = counted_back(&i.accessories, &mut invalid);
        let ret = Return {
            location,
            request: ReturnRequest {
                condition,
                battery_percent: battery,
                on_charge: i.on_charge.0,
                images_cleared: i.images_cleared.0,
            },
            answers: i.checklist.iter().map(|a| a.0).collect(),
            back,
        };
        (ret, invalid)
    }
}

/// Where a field sits on the return form, top to bottom, so that the problems
/// are listed in the order the person meets the fields.
fn return_field_rank(field: &str) -> usize {
    match field {
        "location" => 0,
        "condition" => 1,
        "battery_percent" => 2,
        f if f.starts_with("checklist") => 3,
        "accessories" => 4,
        "on_charge" => 5,
        "images_cleared" => 6,
        _ => 7,
    }
}

/// Every problem with a return: what could not be read (`read`), each checklist
/// question left unanswered, and each rule at return that refuses it. `None` when
/// there are none. The refusal's code is the rules' own when they all share one
/// (`checklist-unanswered`), `validation` otherwise.
fn return_refusal(
    mut invalid: Invalid,
    questions: &[kitroom_core::checklist::Question],
    cmd: &Return,
    device: &Device,
) -> Result<(), Error> {
    let mut codes: Vec<&'static str> = invalid.0.iter().map(|_| "validation").collect();
    for (i, r) in checklist::unanswered(questions, &cmd.answers) {
        invalid.add(checklist::answer_field(i), r.to_string());
        codes.push(r.code());
    }
    for r in loan::return_problems(&facts(device), &cmd.request) {
        if r == loan::ReturnRefusal::NotOnLoan {
            return Err(r.into());
        }
        invalid.add(r.field(), r.to_string());
        codes.push(r.code());
    }
    if invalid.is_empty() {
        return Ok(());
    }
    invalid.0.sort_by_key(|e| return_field_rank(e.field));
    Err(every_problem(invalid, &codes))
}

/// Every problem found, as one refusal: its code is the rules' own when they all
/// share one (`checklist-unanswered`), `validation` otherwise. For a device's
/// return and a set's alike.
pub(crate) fn every_problem(invalid: Invalid, codes: &[&'static str]) -> Error {
    let code = match codes.split_first() {
        Some((first, rest)) if rest.iter().all(|c| c == first) => *first,
        _ => "validation",
    };
    let mut refusal = Refusal::invalid(invalid);
    refusal.code = code;
    refusal.into()
}

/// A device that came back.
#[derive(Debug, Clone)]
pub struct Returned {
    pub loan: Loan,
    /// Where it came back to.
    pub location: String,
    /// The damage report the checklist opened, if a damage question was answered no.
    pub incident: Option<Incident>,
    /// The accessories lent with it, as counted back.
    pub accessories: Vec<Lent>,
}

/// Takes the device `tag` back, as `input` says, on behalf of `caller`: only its
/// borrower or someone who receives any device ([`loan::may_receive`]). The
/// return checklist of its kind must be answered; a "no" to a damage question
/// opens a pre-filled damage report in the same transaction. The accessories lent
/// with it come back as counted (one not named came back as none), and any short
/// shows on the loan and the manager's desk.
pub async fn return_device(
    app: &App,
    caller: &Person,
    tag: &str,
    input: ReturnInput,
) -> Result<Returned, Error> {
    let (cmd, invalid) = Return::read(input);
    let actor = caller.actor();
    let caller = caller.clone();
    let link_base = app.link_base().cloned();
    let tag = tag.to_owned();
    let (loan, location, incident, lent) = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                // The device, its loan, the settings with its kind's checklist and
                // the places it may come back to, read together: one round trip.
                let facts = kitroom_store::loans::return_facts_in(
                    conn,
                    caller.school,
                    &tag,
                    cmd.location.as_deref(),
                )
                .await?
                    .ok_or_else(|| Refusal::not_found("That device"))?;
                let device = &facts.device;
                let open = facts.open.clone().ok_or(loan::ReturnRefusal::NotOnLoan)?;
                if !loan::may_receive(open.borrower == caller.username, caller.role) {
                    return Err(Refusal::not_allowed().into());
                }
                let questions = &facts.questions;
                return_refusal(invalid, questions, &cmd, device)?;
                let damage = checklist::check_answers(questions, &cmd.answers).map_err(|r| {
                    let mut refusal = Refusal::invalid(Invalid::one("checklist", r.to_string()));
                    refusal.code = r.code();
                    Error::from(refusal)
                })?;
                let location = cmd.location.clone().unwrap_or_else(|| {
                    loan::return_place(&device.details.location, &facts.settings.return_location)
                        .to_owned()
                });
                let place = Place {
                    found: facts.place(&location),
                    name: location.clone(),
                };
                let closed =
                    take_back_in(conn, &actor, device, &open, &place, &cmd.request, now)
                        .await??;
                let lent = !facts.still_out.is_empty();
                give_back_in(
                    conn,
                    &actor,
                    &device.subject(),
                    Some(open.id),
                    None,
                    facts.still_out,
                    &cmd.back,
                    now,
                )
                .await?;
                if !questions.is_empty() {
                    let given: Vec<_> = questions
                        .iter()
                        .zip(&cmd.answers)
                        .map(|(q, a)| json!({"question": q.text, "answer": if *a == Some(true) { "yes" } else { "no" }}))
                        .collect();
                    append(conn, &actor, "loan.checklist", &device.subject(), json!({"loan": open.id, "answers": given}), now).await?;
                }
                let incident = if damage.is_empty() {
                    None
                } else {
                    let details = ReportDetails {
                        kind: IncidentKind::Damage,
                        occurred_at: now,
                        place: location.clone(),
                        description: checklist::damage_description(device.details.tag.as_str(), &damage),
                        police_reference: None,
                    };
                    Some(
                        crate::incidents::report_in(
                            conn,
                            &actor,
                            caller.id,
                            &caller.full_name,
                            device.id,
                            &details,
                            link_base.as_ref(),
                            now,
                        )
                        .await?,
                    )
                };
                Ok::<_, Error>((closed, location, incident, lent))
            })
        })
        .await?;
    if incident.is_some() {
        app.wake_mailer();
    }
    let accessories = if lent {
        lent_with(app, loan.id).await?
    } else {
        Vec::new()
    };
    Ok(Returned {
        loan,
        location,
        incident,
        accessories,
    })
}

/// Whether `person` may take back the device on `loan`: the one rule, for views too.
pub fn may_receive(person: &Person, loan: &Loan) -> bool {
    loan::may_receive(loan.borrower == person.username, person.role)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A form's return and a JSON return with the same answers read the same.
    #[test]
    fn a_return_reads_the_same_from_a_form_and_from_json() {
        let form = ReturnInput::from_form(&[
            ("condition".into(), "damaged".into()),
            ("battery_percent".into(), "40%".into()),
            ("check.1".into(), "no".into()),
            ("check.0".into(), "yes".into()),
            ("acc_back.7".into(), "1".into()),
        ]);
        let json: ReturnInput = serde_json::from_str(
            r#"{"condition": "damaged", "battery_percent": 40, "checklist": [true, false],
                "accessories": [{"id": 7, "count": 1}]}"#,
        )
        .unwrap();
        let (a, b) = (
            Return::try_from(form).unwrap(),
            Return::try_from(json).unwrap(),
        );
        assert_eq!(a.answers, vec![Some(true), Some(false)]);
        assert_eq!(a.answers, b.answers);
        assert_eq!(a.back, b.back);
        assert_eq!(a.request.battery_percent, Some(40));
        assert_eq!(a.request.condition, ReturnCondition::Damaged);
    }

    /// Every problem with a check-out is told at once, beside its field.
    #[test]
    fn a_check_out_names_every_field_at_fault() {
        let bad = CheckOutInput {
            due_on: "31/02/2026".into(),
            also: "charger".into(),
            ..Default::default()
        };
        let invalid = CheckOut::try_from(bad).unwrap_err();
        assert!(invalid.for_field("due_on").is_some(), "{invalid:?}");
        assert!(invalid.for_field("accessories").is_some(), "{invalid:?}");
    }
}
