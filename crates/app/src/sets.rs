//! Sets and trolleys: checked out and returned as one, from the set's page and
//! the API alike.
//!
//! A set's check-out is one loan per available device, each lent by
//! [`crate::loans::lend_in`] (every check-out rule holds for each device, and a
//! refusal of one refuses the set, naming the device), all in one transaction with
//! the set's own loan. Its return takes each device back by
//! [`crate::loans::take_back_in`], asks the return checklist once per kind, counts
//! the accessories back, and reports each device that did not come back lost.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kitroom_core::calendar::SchoolDue;
use kitroom_core::checklist;
use kitroom_core::device::{DeviceKind, DeviceStatus};
use kitroom_core::incident::{IncidentKind, ReportDetails};
use kitroom_core::kit::{self, KitRefusal};
use kitroom_core::loan::{self, CheckOutRefusal, ReturnCondition, ReturnRequest};
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::db::{time_text, Actor};
use kitroom_store::events::append;
use kitroom_store::kits::{Kit, LoanGroup, NewGroup};
use kitroom_store::people::Person;
use kitroom_store::policies::Borrower;
use kitroom_store::Conn;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::accessories::AccessoryBack;
use crate::accessories::{counted_back, give_back_in, BackOf};
use crate::input::{Answer, Flag, Number};
use crate::loans::{CheckOut, CheckOutInput, Lending};
use crate::{App, Error, Refusal};

/// The set `s` names: its id, or its name (any case), as a scanned label or the
/// API gives it.
pub async fn set(app: &App, school: SchoolId, s: &str) -> Result<Kit, Error> {
    let k = match Uuid::parse_str(s.trim()) {
        Ok(id) => app.store().kit(school, id).await?,
        Err(_) => app.store().kit_by_name(school, s).await?,
    };
    k.ok_or_else(|| Refusal::not_found("That set").into())
}

/// A set that went out, and the devices that stayed with their status.
#[derive(Debug, Clone)]
pub struct SetCheckedOut {
    pub group: LoanGroup,
    pub staying: Vec<(String, DeviceStatus)>,
    pub borrower: Person,
}

/// Lends the set `s` as `input` asks (the same input as a device's check-out; a
/// set does not go off site), on behalf of `caller`.
pub async fn check_out(
    app: &App,
    caller: &Person,
    s: &str,
    input: CheckOutInput,
) -> Result<SetCheckedOut, Error> {
    let parsed = CheckOut::try_from(input);
    let k = set(app, caller.school, s).await?;
    let typed = match &parsed {
        Ok(c) => c.borrower.clone(),
        Err(_) => String::new(),
    };
    let borrower = crate::people::borrower(app, caller, &typed).await?;
    let cmd = parsed?;
    let mut taking = crate::loans::accessories_asked(app, caller.school, &cmd.accessories).await?;
    taking.extend(cmd.also);
    let actor = caller.actor();
    let for_someone_else = borrower.id != caller.id;
    let person = borrower.clone();
    let school = caller.school;
    let (group, staying) = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let settings = kitroom_store::settings::settings_in(conn, school).await?;
                let calendar = kitroom_store::calendar::calendar_in(conn, school).await?;
                let asked = crate::loans::due_at(&cmd.due, &calendar, &settings, now)?;
                let due = calendar.school_due(asked, settings.day_ends_at);
                let borrower =
                    kitroom_store::policies::borrower_in(conn, school, person.id).await?;
                let out =
                    match check_out_set_in(conn, &actor, k.id, &borrower, &cmd.purpose, &due, now)
                        .await?
                    {
                        Ok(out) => out,
                        Err(refusal) => {
                            return Err(set_refusal(refusal, &borrower.person, for_someone_else))
                        }
                    };
                crate::accessories::take_in(
                    conn,
                    &actor,
                    &k.subject(),
                    None,
                    Some(out.0.id),
                    &taking,
                    now,
                )
                .await?;
                Ok::<_, Error>(out)
            })
        })
        .await?;
    Ok(SetCheckedOut {
        group,
        staying,
        borrower,
    })
}

/// A set's refusal, worded for whoever asked: a device's own refusal (other than
/// "not available") is told as for a single check-out, and a manager lending to a
/// teacher who has not signed is told who must sign.
fn set_refusal(refusal: KitRefusal, borrower: &Person, for_someone_else: bool) -> Error {
    match refusal {
        KitRefusal::CheckOut {
            refusal: CheckOutRefusal::PolicyNotSigned { version_label },
            ..
        } if for_someone_else => {
            let r = CheckOutRefusal::PolicyNotSigned {
                version_label: version_label.clone(),
            };
            let mut r = Refusal::from(r);
            r.message = format!(
                "{} has not signed the acceptable-use policy ({version_label}) yet, so they cannot borrow. Ask them to sign it in Kitroom first.",
                borrower.full_name
            );
            r.into()
        }
        KitRefusal::CheckOut { refusal, .. }
            if !matches!(refusal, CheckOutRefusal::NotAvailable(_)) =>
        {
            refusal.into()
        }
        other => other.into(),
    }
}

/// A set's check-out inside the caller's transaction, for the set's page, the
/// API and a booking's collection alike: its available devices go, each lent by
/// [`crate::loans::lend_in`] under every rule; the others stay and are named. The
/// inner `Err` is the refusal (of the set, or of one device, naming it); the
/// transaction is to be rolled back then.
pub async fn check_out_set_in(
    conn: &mut Conn,
    actor: &Actor,
    kit: Uuid,
    borrower: &Borrower,
    purpose: &str,
    due: &SchoolDue,
    now: DateTime<Utc>,
) -> Result<Result<(LoanGroup, Vec<(String, DeviceStatus)>), KitRefusal>, Error> {
    let person = &borrower.person;
    // The set of the school the borrower was found in.
    let k = kitroom_store::kits::kit_in(conn, person.school, kit).await?;
    if k.open.is_some() {
        return Ok(Err(KitRefusal::AlreadyOut));
    }
    let members: Vec<_> = k.devices.iter().map(|d| (d.clone(), d.status)).collect();
    let (going, staying) = match kit::split_for_check_out(&members) {
        Ok(split) => split,
        Err(r) => return Ok(Err(r)),
    };
    let group = Uuid::new_v4();
    let written = kitroom_store::kits::insert_group_in(
        conn,
        &NewGroup {
            id: group,
            kit,
            borrower: person.id,
            issued_by: actor.id.unwrap_or(person.id),
            out_at: now,
            due_at: due.due_at,
            purpose,
        },
    )
    .await?;
    if !written {
        return Ok(Err(KitRefusal::AlreadyOut));
    }
    let lending = Lending {
        purpose,
        off_site: false,
        due,
        group: Some(group),
    };
    for d in &going {
        let device = kitroom_store::devices::get_device(conn, d.id).await?;
        if let Err(refusal) =
            crate::loans::lend_in(conn, actor, &device, borrower, &lending, now).await?
        {
            return Ok(Err(KitRefusal::CheckOut {
                tag: d.tag.clone(),
                refusal,
            }));
        }
    }
    if let Some((_, why)) = due.moved.as_ref().filter(|_| actor.id != Some(person.id)) {
        let body = format!(
            "The set {} is due back {}. {why}",
            k.name,
            kitroom_core::time::school_time(due.due_at)
        );
        kitroom_store::notifications::notify_in(
            conn,
            person.id,
            &body,
            &format!("/sets/{kit}"),
            now,
        )
        .await?;
    }
    let staying: Vec<(String, DeviceStatus)> =
        staying.into_iter().map(|(d, s)| (d.tag, s)).collect();
    append(
        conn,
        actor,
        "kit.checked_out",
        &k.subject(),
        json!({
            "set_loan": group, "borrower": person.username, "due_at": time_text(due.due_at), "purpose": purpose,
            "devices": going.iter().map(|d| d.tag.as_str()).collect::<Vec<_>>(),
            "left_behind": staying.iter().map(|(t, s)| json!({"device": t, "status": s.as_str()})).collect::<Vec<_>>(),
        }),
        now,
    )
    .await?;
    let group = kitroom_store::kits::open_group_in(conn, kit)
        .await?
        .ok_or_else(|| Error::from(Refusal::not_found("That set's loan")))?;
    Ok(Ok((group, staying)))
}

/// One kind's checklist answers on a set's return: each question's yes/no in
/// order, and for each question the tags a "no" is about, as typed.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct KindAnswers {
    /// Each question's answer, in the checklist's order (`null`: not answered).
    #[schema(value_type = Vec<Option<bool>>)]
    pub answers: Vec<Answer>,
    /// For each question answered no, the tags it is about (comma separated);
    /// empty: every device of the kind that came back.
    pub devices: Vec<String>,
}

/// A set's return as sent, from the set's page or as the API's JSON body. A field
/// it does not know is refused, and `came_back` must be sent (`[]` when nothing
/// came back), so that a body missing it does not report every device lost.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetReturnInput {
    /// The tags that came back; every other device that went is reported lost.
    pub came_back: Vec<String>,
    /// Where it came back to; the school's return place when empty.
    #[serde(default, deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub location: String,
    /// They are plugged in and charging.
    #[serde(default)]
    #[schema(value_type = bool)]
    pub on_charge: Flag,
    /// Their photos and videos are moved to the school network and deleted.
    #[serde(default)]
    #[schema(value_type = bool)]
    pub images_cleared: Flag,
    /// Battery percentage by tag, 0 to 100.
    #[serde(default)]
    #[schema(value_type = BTreeMap<String, i64>)]
    pub battery: BTreeMap<String, Number>,
    /// The return checklist's answers by the kind's word (`ipad`), asked once per
    /// kind of device that came back.
    #[serde(default)]
    pub checklist: BTreeMap<String, KindAnswers>,
    /// How many of each accessory lent with the set came back; one not named came
    /// back as none.
    #[serde(default)]
    pub accessories: Vec<AccessoryBack>,
}

impl SetReturnInput {
    /// The set page's return form: `back=TAG` for each device ticked,
    /// `battery.TAG`, `check.<kind>.<i>=yes|no`, `which.<kind>.<i>=tags` and
    /// `acc_back.<id>=n`.
    pub fn from_form(pairs: &[(String, String)]) -> SetReturnInput {
        let field = |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let ticked = |name: &str| {
            Flag(field(name).is_some_and(|v| matches!(v.as_str(), "on" | "true" | "1" | "yes")))
        };
        let mut input = SetReturnInput {
            location: field("location").unwrap_or_default(),
            on_charge: ticked("on_charge"),
            images_cleared: ticked("images_cleared"),
            ..Default::default()
        };
        for (k, v) in pairs {
            if k == "back" {
                input.came_back.push(v.clone());
            } else if let Some(tag) = k.strip_prefix("battery.") {
                input.battery.insert(tag.to_owned(), Number(v.clone()));
            } else if let Some(id) = k
                .strip_prefix("acc_back.")
                .and_then(|i| i.parse::<i64>().ok())
            {
                input.accessories.push(AccessoryBack {
                    id: Some(id),
                    name: None,
                    count: Number(v.clone()),
                });
            } else if let Some((which, rest)) = k
                .strip_prefix("check.")
                .map(|r| (false, r))
                .or_else(|| k.strip_prefix("which.").map(|r| (true, r)))
            {
                let Some((kind, i)) = rest.rsplit_once('.') else {
                    continue;
                };
                let Some(i) = i.parse::<usize>().ok().filter(|i| *i < 200) else {
                    continue;
                };
                let entry = input.checklist.entry(kind.to_owned()).or_default();
                if which {
                    if entry.devices.len() <= i {
                        entry.devices.resize(i + 1, String::new());
                    }
                    entry.devices[i] = v.clone();
                } else {
                    if entry.answers.len() <= i {
                        entry.answers.resize(i + 1, Answer(None));
                    }
                    entry.answers[i] = Answer(match v.as_str() {
                        "yes" => Some(true),
                        "no" => Some(false),
                        _ => None,
                    });
                }
            }
        }
        input
    }
}

/// A set's return, read and checked.
#[derive(Debug, Clone)]
pub struct SetReturn {
    pub came_back: Vec<String>,
    pub location: Option<String>,
    pub on_charge: bool,
    pub images_cleared: bool,
    /// Battery by tag, lower case.
    pub battery: BTreeMap<String, i64>,
    pub checklist: BTreeMap<String, (Vec<Option<bool>>, Vec<String>)>,
    /// The accessories counted back (names are found in the set's loan).
    pub back: Vec<(BackOf, i64)>,
}

impl TryFrom<SetReturnInput> for SetReturn {
    type Error = Invalid;

    /// Every problem at once, each beside its field.
    fn try_from(i: SetReturnInput) -> Result<Self, Invalid> {
        let (ret, invalid) = SetReturn::read(i);
        invalid.into_result()?;
        Ok(ret)
    }
}

impl SetReturn {
    /// Reads a set's return as far as it can be read, with every problem found:
    /// the return then adds the checklist's and the rules' problems, so that all
    /// of them are told in one answer. A value that could not be read is left out.
    pub fn read(i: SetReturnInput) -> (SetReturn, Invalid) {
        let mut invalid = Invalid::new();
        let location = match i.location.trim() {
            "" => None,
            l => invalid.check("location", kitroom_core::device::location_name(l)),
        };
        let mut battery = BTreeMap::new();
        for (tag, n) in &i.battery {
            let read = invalid.check(
                "battery",
                n.whole("The battery level").map_err(|_| {
                    format!("The battery level of {tag} must be a number from 0 to 100.")
                }),
            );
            if let Some(Some(n)) = read {
                battery.insert(tag.trim().to_lowercase(), n);
            }
        }
        let back = counted_back(&i.accessories, &mut invalid);
        let ret = SetReturn {
            came_back: i.came_back,
            location,
            on_charge: i.on_charge.0,
            images_cleared: i.images_cleared.0,
            battery,
            checklist: i
                .checklist
                .into_iter()
                .map(|(kind, a)| (kind, (a.answers.iter().map(|a| a.0).collect(), a.devices)))
                .collect(),
            back,
        };
        (ret, invalid)
    }
}

/// Where a field sits on the set's return form, top to bottom, so that the
/// problems are listed in the order the person meets the fields.
fn set_return_field_rank(field: &str) -> usize {
    match field {
        "battery" => 0,
        f if f.starts_with("checklist") => 1,
        "accessories" => 2,
        "location" => 3,
        "on_charge" => 4,
        "images_cleared" => 5,
        _ => 6,
    }
}

/// What a set's return did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetReturned {
    pub back: Vec<String>,
    /// Tag, and the loss incident opened for it.
    pub missing: Vec<(String, Uuid)>,
    /// Tag, and the damage report the return checklist opened for it.
    pub damaged: Vec<(String, Uuid)>,
    /// Where it came back to.
    pub location: String,
    pub on_charge: bool,
}

/// Takes the set `s` back as `input` says, on behalf of `caller`: only its
/// borrower or someone who receives any device ([`loan::may_receive`]). The
/// devices ticked come back as single returns do; the return checklist is asked
/// once per kind (a "no" about damage opens a damage report for each device it
/// names); the accessories lent with the set come back as counted; every other
/// device that went is reported lost at once, which tells the managers.
pub async fn return_set(
    app: &App,
    caller: &Person,
    s: &str,
    input: SetReturnInput,
) -> Result<SetReturned, Error> {
    let parsed = SetReturn::read(input);
    let k = set(app, caller.school, s).await?;
    let Some(open) = &k.open else {
        return Err(KitRefusal::NotOut.into());
    };
    if !loan::may_receive(open.borrower == caller.username, caller.role) {
        return Err(Refusal::not_allowed().into());
    }
    let (cmd, invalid) = parsed;
    let actor = caller.actor();
    let school = caller.school;
    let caller = caller.clone();
    let link_base = app.link_base().cloned();
    let returned = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let k = kitroom_store::kits::kit_in(conn, school, k.id).await?;
                let group = k.open.clone().ok_or(KitRefusal::NotOut)?;
                let out: Vec<_> = group.loans.iter().filter(|l| l.is_open()).collect();
                let went: Vec<Uuid> = out.iter().map(|l| l.device_id).collect();
                let tag_of = |id: Uuid| {
                    k.devices
                        .iter()
                        .find(|d| d.id == id)
                        .map(|d| d.tag.clone())
                        .unwrap_or_else(|| id.to_string())
                };
                let mut came_back = Vec::new();
                for tag in &cmd.came_back {
                    match k.devices.iter().find(|d| d.tag.eq_ignore_ascii_case(tag.trim())) {
                        Some(d) => came_back.push(d.id),
                        None => return Err(KitRefusal::NotInThisLoan { tag: tag.clone() }.into()),
                    }
                }
                // every device already came back on its own: the set's loan just closes
                let (back, missing) = if went.is_empty() {
                    (Vec::new(), Vec::new())
                } else {
                    kit::split_on_return(&went, &came_back).map_err(|e| match e {
                        KitRefusal::NotInThisLoan { tag } => KitRefusal::NotInThisLoan {
                            tag: Uuid::parse_str(&tag).map(tag_of).unwrap_or(tag),
                        },
                        other => other,
                    })?
                };
                // Every problem before anything is written, all told at once: what
                // could not be read, the return checklist (each kind's questions
                // once, for the devices of that kind that came back), and the rules
                // at return of each device (a set's boxes are ticked once for all,
                // so each rule is told once, naming its devices).
                let mut invalid = invalid;
                let mut codes: Vec<&'static str> = invalid.0.iter().map(|_| "validation").collect();
                let mut asked = Vec::new();
                for kind in DeviceKind::ALL {
                    let of_kind: Vec<String> = back
                        .iter()
                        .filter(|id| k.devices.iter().any(|d| d.id == **id && d.kind == kind.as_str()))
                        .map(|id| tag_of(*id))
                        .collect();
                    if of_kind.is_empty() {
                        continue;
                    }
                    let questions = kitroom_store::checklists::questions_in(conn, school, *kind).await?;
                    if questions.is_empty() {
                        continue;
                    }
                    let (answers, which) = cmd.checklist.get(kind.as_str()).cloned().unwrap_or_default();
                    for (i, r) in checklist::set_answer_problems(&questions, &answers, &which, &of_kind) {
                        let field = match &r {
                            checklist::ChecklistRefusal::Unanswered(_) => checklist::set_answer_field(*kind, i),
                            _ => checklist::set_devices_field(*kind, i),
                        };
                        invalid.add(field, format!("{}: {r}", kind.label()));
                        codes.push(r.code());
                    }
                    asked.push((*kind, questions, answers, which, of_kind));
                }
                // each device's battery level is its own; the boxes are ticked once
                // for the set, so each of their rules is told once, naming the first
                // device and then the others
                let mut flags: Vec<(loan::ReturnRefusal, Vec<String>)> = Vec::new();
                for id in &back {
                    let tag = tag_of(*id);
                    let device = kitroom_store::devices::get_device(conn, *id).await?;
                    let request = ReturnRequest {
                        condition: ReturnCondition::Fine,
                        battery_percent: cmd.battery.get(&tag.to_lowercase()).copied(),
                        on_charge: cmd.on_charge,
                        images_cleared: cmd.images_cleared,
                    };
                    for refusal in loan::return_problems(&crate::loans::facts(&device), &request) {
                        match refusal {
                            loan::ReturnRefusal::NotOnLoan => {
                                return Err(KitRefusal::Return { tag, refusal }.into());
                            }
                            loan::ReturnRefusal::BatteryOutOfRange => {
                                invalid.add("battery", format!("{tag}: {refusal}"));
                                codes.push(refusal.code());
                            }
                            _ => match flags.iter_mut().find(|(r, _)| *r == refusal) {
                                Some((_, tags)) => tags.push(tag.clone()),
                                None => flags.push((refusal, vec![tag.clone()])),
                            },
                        }
                    }
                }
                for (r, tags) in flags {
                    let mut message = format!("{}: {r}", tags[0]);
                    if tags.len() > 1 {
                        message.push_str(&format!(" The same goes for {}.", tags[1..].join(", ")));
                    }
                    invalid.add(r.field(), message);
                    codes.push(r.code());
                }
                if !invalid.is_empty() {
                    invalid.0.sort_by_key(|e| set_return_field_rank(e.field));
                    return Err(crate::loans::every_problem(invalid, &codes));
                }
                let mut answered = Vec::new();
                let mut damaged: BTreeMap<String, Vec<checklist::Question>> = BTreeMap::new();
                for (kind, questions, answers, which, of_kind) in &asked {
                    let found = checklist::check_set_answers(questions, answers, which, of_kind)
                        .map_err(|r| {
                            let mut refusal = Refusal::invalid(Invalid::one(
                                "checklist",
                                format!("{}: {r}", kind.label()),
                            ));
                            refusal.code = r.code();
                            Error::from(refusal)
                        })?;
                    for (tag, qs) in found {
                        damaged.insert(tag, qs.into_iter().cloned().collect());
                    }
                    let given: Vec<_> = questions
                        .iter()
                        .zip(answers.iter().chain(std::iter::repeat(&None)))
                        .zip(which.iter().map(String::as_str).chain(std::iter::repeat("")))
                        .map(|((q, a), w)| json!({"question": q.text, "answer": if *a == Some(true) { "yes" } else { "no" }, "devices": w.trim()}))
                        .collect();
                    answered.push(json!({"kind": kind.as_str(), "devices": of_kind, "answers": given}));
                }
                let settings = kitroom_store::settings::settings_in(conn, school).await?;
                let location = cmd.location.clone().unwrap_or(settings.return_location);
                let mut returned = SetReturned {
                    back: Vec::new(),
                    missing: Vec::new(),
                    damaged: Vec::new(),
                    location: location.clone(),
                    on_charge: cmd.on_charge,
                };
                for id in back {
                    let tag = tag_of(id);
                    let request = ReturnRequest {
                        condition: ReturnCondition::Fine,
                        battery_percent: cmd.battery.get(&tag.to_lowercase()).copied(),
                        on_charge: cmd.on_charge,
                        images_cleared: cmd.images_cleared,
                    };
                    let device = kitroom_store::devices::get_device(conn, id).await?;
                    let open = kitroom_store::loans::open_loan_of_in(conn, id)
                        .await?
                        .ok_or(loan::ReturnRefusal::NotOnLoan)?;
                    if let Err(refusal) =
                        crate::loans::take_back_in(conn, &actor, &device, &open, &crate::loans::Place::named(location.clone()), &request, now).await?
                    {
                        return Err(KitRefusal::Return { tag, refusal }.into());
                    }
                    returned.back.push(tag);
                }
                if !answered.is_empty() {
                    append(conn, &actor, "kit.checklist", &k.subject(), json!({"set_loan": group.id, "answers": answered}), now).await?;
                }
                for (tag, questions) in &damaged {
                    let Some(device) = k.devices.iter().find(|d| &d.tag == tag) else {
                        continue;
                    };
                    let qs: Vec<&checklist::Question> = questions.iter().collect();
                    let details = ReportDetails {
                        kind: IncidentKind::Damage,
                        occurred_at: now,
                        place: location.clone(),
                        description: format!(
                            "{} It came back with the set {}.",
                            checklist::damage_description(tag, &qs),
                            k.name
                        ),
                        police_reference: None,
                    };
                    let incident = crate::incidents::report_in(
                        conn, &actor, caller.id, &caller.full_name, device.id, &details, link_base.as_ref(), now,
                    )
                    .await?;
                    returned.damaged.push((tag.clone(), incident.id));
                }
                for id in missing {
                    let tag = tag_of(id);
                    kitroom_store::kits::mark_missing_in(conn, group.id, id).await?;
                    let details = ReportDetails {
                        kind: IncidentKind::Loss,
                        occurred_at: now,
                        place: String::new(),
                        description: format!(
                            "{tag} did not come back when the set {} was returned by {}. It went out with the set to {} on {}.",
                            k.name,
                            caller.full_name,
                            group.borrower_name,
                            kitroom_core::time::school_time(group.out_at)
                        ),
                        police_reference: None,
                    };
                    let incident = crate::incidents::report_in(
                        conn, &actor, caller.id, &caller.full_name, id, &details, link_base.as_ref(), now,
                    )
                    .await?;
                    returned.missing.push((tag, incident.id));
                }
                let out = kitroom_store::accessories::still_out_in(conn, None, Some(group.id)).await?;
                give_back_in(conn, &actor, &k.subject(), None, Some(group.id), out, &cmd.back, now).await?;
                kitroom_store::kits::close_group_in(conn, group.id, now, actor.id).await?;
                append(
                    conn,
                    &actor,
                    "kit.returned",
                    &k.subject(),
                    json!({
                        "set_loan": group.id, "borrower": group.borrower, "location": location,
                        "back": returned.back, "missing": returned.missing.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
                    }),
                    now,
                )
                .await?;
                Ok::<_, Error>(returned)
            })
        })
        .await?;
    if !returned.damaged.is_empty() || !returned.missing.is_empty() {
        app.wake_mailer();
    }
    Ok(returned)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set's return typed on the page and sent as JSON read the same.
    #[test]
    fn a_sets_return_reads_the_same_from_a_form_and_from_json() {
        let form = SetReturnInput::from_form(&[
            ("back".into(), "IPAD-1".into()),
            ("battery.IPAD-1".into(), "40%".into()),
            ("check.ipad.1".into(), "no".into()),
            ("which.ipad.1".into(), "IPAD-1".into()),
            ("check.ipad.0".into(), "yes".into()),
            ("acc_back.7".into(), "1".into()),
        ]);
        let json: SetReturnInput = serde_json::from_str(
            r#"{"came_back": ["IPAD-1"], "battery": {"IPAD-1": 40},
                "checklist": {"ipad": {"answers": [true, false], "devices": ["", "IPAD-1"]}},
                "accessories": [{"id": 7, "count": 1}]}"#,
        )
        .unwrap();
        let (a, b) = (
            SetReturn::try_from(form).unwrap(),
            SetReturn::try_from(json).unwrap(),
        );
        assert_eq!(a.came_back, b.came_back);
        assert_eq!(a.battery, b.battery);
        assert_eq!(a.checklist, b.checklist);
        assert_eq!(a.back, b.back);
        assert_eq!(a.battery.get("ipad-1"), Some(&40));
    }
}
