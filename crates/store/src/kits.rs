//! Sets and trolleys: devices grouped to be lent and returned as one.
//!
//! A set's check-out is a `loan_group` with one ordinary loan per device that went,
//! each written by the same code as a single check-out (so every rule holds for
//! each device), all in one transaction. Its return closes the loans of the devices
//! that came back, as a single return does, and reports each missing one lost: that
//! opens a loss incident, closes its loan as lost, and tells the managers at once.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kitroom_core::device::DeviceStatus;
use kitroom_core::incident::{IncidentKind, ReportDetails};
use kitroom_core::kit::{self, KitRefusal};
use kitroom_core::loan::{CheckOutRequest, ReturnCondition, ReturnRequest};
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, parse_word, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};
use crate::loans::{check_out_in, return_in, Loan};

/// A set in the list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitSummary {
    pub id: Uuid,
    pub name: String,
    pub devices: i64,
    pub available: i64,
    /// Who has it, when it is out.
    pub out_to: Option<String>,
}

/// One device of a set, as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitDevice {
    pub id: Uuid,
    pub tag: String,
    pub name: String,
    pub kind: String,
    pub status: DeviceStatus,
}

/// One check-out of a set and its loans.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoanGroup {
    pub id: Uuid,
    pub kit_id: Uuid,
    pub kit_name: String,
    pub borrower: String,
    pub borrower_name: String,
    pub out_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub purpose: String,
    pub returned_at: Option<DateTime<Utc>>,
    /// The device loans, by tag.
    pub loans: Vec<Loan>,
}

/// A set with its devices and its open check-out, if any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kit {
    pub id: Uuid,
    pub name: String,
    pub notes: String,
    pub devices: Vec<KitDevice>,
    pub open: Option<LoanGroup>,
}

impl Kit {
    pub fn subject(&self) -> Subject {
        kit_subject(self.id, &self.name)
    }
}

fn kit_subject(id: Uuid, name: &str) -> Subject {
    Subject {
        key: format!("kit:{id}"),
        label: name.to_owned(),
    }
}

/// What a set's return did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KitReturned {
    pub back: Vec<String>,
    /// Tag, and the loss incident opened for it.
    pub missing: Vec<(String, Uuid)>,
    /// Tag, and the damage report the return checklist opened for it.
    pub damaged: Vec<(String, Uuid)>,
}

/// One kind's checklist answers on a set's return: each question's yes/no in
/// order, and for each question the tags a "no" is about, as typed.
pub type KindAnswers = (Vec<Option<bool>>, Vec<String>);

/// What the person returning a set confirms.
#[derive(Debug, Clone, Default)]
pub struct KitReturnRequest {
    /// The devices that came back.
    pub came_back: Vec<Uuid>,
    /// Battery level by device, where given.
    pub battery: BTreeMap<Uuid, i64>,
    pub location: String,
    pub on_charge: bool,
    pub images_cleared: bool,
    /// The return checklist's answers, by the kind's word (`ipad`): each question's
    /// yes/no in order, and for each question the tags a "no" is about. `None`
    /// when the checklist was not asked (the API's return, like a single device's).
    pub checklist: Option<BTreeMap<String, KindAnswers>>,
    /// How many of each accessory lent with the set came back, by its
    /// `loan_accessory` id. `None` when they were not counted (the API's return):
    /// then none is recorded as back, so they show on the manager's desk.
    pub accessories_back: Option<BTreeMap<i64, i64>>,
}

/// A device that did not come back with its set and is still lost: for the
/// manager's desk.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct MissingFromSet {
    pub tag: String,
    pub kit_name: String,
    pub borrower_name: String,
    pub returned_at: String,
    pub incident_id: Option<String>,
}

async fn kit_devices_in(
    conn: &mut SqliteConnection,
    kit: Uuid,
) -> Result<Vec<KitDevice>, StoreError> {
    let rows: Vec<(String, String, String, String, String)> = sqlx::query_as(
        "select d.id, d.tag, trim(d.make || ' ' || d.model), d.kind, d.status from kit_device k
         join device d on d.id = k.device_id where k.kit_id = ? order by d.tag collate nocase",
    )
    .bind(kit.to_string())
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(id, tag, name, kind, status)| {
            Ok(KitDevice {
                id: parse_uuid(&id)?,
                tag,
                name,
                kind,
                status: parse_word(&status)?,
            })
        })
        .collect()
}

type GroupRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    Option<String>,
);

async fn group_in(conn: &mut SqliteConnection, row: GroupRow) -> Result<LoanGroup, StoreError> {
    let (id, kit_id, kit_name, borrower, borrower_name, out_at, due_at, purpose, returned_at) = row;
    let loans = crate::loans::loans_of_group_in(conn, &id).await?;
    Ok(LoanGroup {
        id: parse_uuid(&id)?,
        kit_id: parse_uuid(&kit_id)?,
        kit_name,
        borrower,
        borrower_name,
        out_at: parse_time(&out_at)?,
        due_at: parse_time(&due_at)?,
        purpose,
        returned_at: returned_at.as_deref().map(parse_time).transpose()?,
        loans,
    })
}

const GROUP: &str = "select g.id, g.kit_id, k.name, b.username, b.full_name, g.out_at, g.due_at, g.purpose, g.returned_at
    from loan_group g join kit k on k.id = g.kit_id join person b on b.id = g.borrower_id";

async fn open_group_in(
    conn: &mut SqliteConnection,
    kit: Uuid,
) -> Result<Option<LoanGroup>, StoreError> {
    let row: Option<GroupRow> = sqlx::query_as(&format!(
        "{GROUP} where g.kit_id = ? and g.returned_at is null"
    ))
    .bind(kit.to_string())
    .fetch_optional(&mut *conn)
    .await?;
    match row {
        Some(r) => Ok(Some(group_in(conn, r).await?)),
        None => Ok(None),
    }
}

async fn kit_in(conn: &mut SqliteConnection, id: Uuid) -> Result<Kit, StoreError> {
    let (name, notes): (String, String) =
        sqlx::query_as("select name, notes from kit where id = ?")
            .bind(id.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound)?;
    Ok(Kit {
        id,
        name,
        notes,
        devices: kit_devices_in(conn, id).await?,
        open: open_group_in(conn, id).await?,
    })
}

impl Store {
    /// Makes a new, empty set.
    pub async fn create_kit(
        &self,
        actor: Actor,
        name: String,
        notes: String,
    ) -> Result<Uuid, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = Uuid::new_v4();
                let r = sqlx::query(
                    "insert into kit (id, name, notes, created_at) values (?, ?, ?, ?)",
                )
                .bind(id.to_string())
                .bind(&name)
                .bind(&notes)
                .bind(time_text(now))
                .execute(&mut *conn)
                .await;
                match r {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(kitroom_core::Invalid::one(
                            "name",
                            format!("There is already a set called {name}. Choose another name."),
                        )
                        .into())
                    }
                    other => other?,
                };
                append(
                    conn,
                    &actor,
                    "kit.created",
                    &kit_subject(id, &name),
                    json!({"name": name, "notes": notes}),
                    now,
                )
                .await?;
                Ok(id)
            })
        })
        .await
    }

    /// Puts a device into a set. A device is in one set at most.
    pub async fn add_to_kit(&self, actor: Actor, kit: Uuid, tag: String) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let k = kit_in(conn, kit).await?;
                let device: Option<(String, String)> = sqlx::query_as("select id, tag from device where tag = ? collate nocase")
                    .bind(tag.trim())
                    .fetch_optional(&mut *conn)
                    .await?;
                let Some((device_id, tag)) = device else {
                    return Err(kitroom_core::Invalid::one("tag", format!("No device has the tag “{}”. Check the label.", tag.trim())).into());
                };
                let other: Option<String> = sqlx::query_scalar("select k.name from kit_device kd join kit k on k.id = kd.kit_id where kd.device_id = ?")
                    .bind(&device_id)
                    .fetch_optional(&mut *conn)
                    .await?;
                if let Some(other) = other {
                    let message = if other == k.name { format!("{tag} is already in this set.") } else { format!("{tag} is already in the set {other}. Take it out of that set first.") };
                    return Err(kitroom_core::Invalid::one("tag", message).into());
                }
                sqlx::query("insert into kit_device (kit_id, device_id) values (?, ?)")
                    .bind(kit.to_string())
                    .bind(&device_id)
                    .execute(&mut *conn)
                    .await?;
                append(conn, &actor, "kit.device_added", &k.subject(), json!({"device": tag}), now).await?;
                Ok(())
            })
        })
        .await
    }

    /// Takes a device out of a set. A device out with the set stays until it is back.
    pub async fn remove_from_kit(
        &self,
        actor: Actor,
        kit: Uuid,
        tag: String,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let k = kit_in(conn, kit).await?;
                let device = k
                    .devices
                    .iter()
                    .find(|d| d.tag.eq_ignore_ascii_case(&tag))
                    .ok_or(StoreError::NotFound)?;
                if k.open.as_ref().is_some_and(|g| {
                    g.loans
                        .iter()
                        .any(|l| l.device_id == device.id && l.is_open())
                }) {
                    return Err(kitroom_core::Invalid::one(
                        "tag",
                        format!(
                            "{} is out with this set. Take it out of the set once it is back.",
                            device.tag
                        ),
                    )
                    .into());
                }
                sqlx::query("delete from kit_device where kit_id = ? and device_id = ?")
                    .bind(kit.to_string())
                    .bind(device.id.to_string())
                    .execute(&mut *conn)
                    .await?;
                append(
                    conn,
                    &actor,
                    "kit.device_removed",
                    &k.subject(),
                    json!({"device": device.tag}),
                    now,
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    pub async fn list_kits(&self) -> Result<Vec<KitSummary>, StoreError> {
        let rows: Vec<(String, String, i64, i64, Option<String>)> = sqlx::query_as(
            "select k.id, k.name,
               (select count(*) from kit_device kd where kd.kit_id = k.id),
               (select count(*) from kit_device kd join device d on d.id = kd.device_id where kd.kit_id = k.id and d.status = 'available'),
               (select p.full_name from loan_group g join person p on p.id = g.borrower_id where g.kit_id = k.id and g.returned_at is null)
             from kit k order by k.name collate nocase",
        )
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(id, name, devices, available, out_to)| {
                Ok(KitSummary {
                    id: parse_uuid(&id)?,
                    name,
                    devices,
                    available,
                    out_to,
                })
            })
            .collect()
    }

    pub async fn kit(&self, id: Uuid) -> Result<Option<Kit>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        match kit_in(&mut conn, id).await {
            Ok(k) => Ok(Some(k)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A set by name (any case), for a scanned label or the API.
    pub async fn kit_by_name(&self, name: &str) -> Result<Option<Kit>, StoreError> {
        let id: Option<String> =
            sqlx::query_scalar("select id from kit where name = ? collate nocase")
                .bind(name.trim())
                .fetch_optional(self.reader())
                .await?;
        match id {
            Some(id) => self.kit(parse_uuid(&id)?).await,
            None => Ok(None),
        }
    }

    /// Lends a set: every available device goes, each through every check-out rule,
    /// in one transaction; devices not available stay and are named. A rule that
    /// refuses one device refuses the whole set, naming the device.
    pub async fn check_out_kit(
        &self,
        actor: Actor,
        kit: Uuid,
        borrower: Uuid,
        request: CheckOutRequest,
        accessories: Vec<crate::accessories::Taking>,
    ) -> Result<(LoanGroup, Vec<(String, DeviceStatus)>), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let out = check_out_kit_in(conn, &actor, kit, borrower, request, now).await?;
                let subject = kit_subject(kit, &out.0.kit_name);
                crate::accessories::take_in(
                    conn,
                    &actor,
                    &subject,
                    None,
                    Some(out.0.id),
                    &accessories,
                    now,
                )
                .await?;
                Ok(out)
            })
        })
        .await
    }

    /// Takes a set back: the devices ticked come back as single returns do, on
    /// charge; every other device that went is reported lost at once, which opens a
    /// loss report and tells the managers. `reporter` is who returned it.
    pub async fn return_kit(
        &self,
        actor: Actor,
        reporter_name: String,
        kit: Uuid,
        request: KitReturnRequest,
        link_base: Option<kitroom_core::link::PublicUrl>,
    ) -> Result<KitReturned, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                return_kit_in(
                    conn,
                    &actor,
                    &reporter_name,
                    kit,
                    request,
                    link_base.as_ref(),
                    now,
                )
                .await
            })
        })
        .await
    }

    /// Devices that did not come back with their set and are still lost, newest first.
    pub async fn missing_from_sets(&self) -> Result<Vec<MissingFromSet>, StoreError> {
        Ok(sqlx::query_as(
            "select d.tag, k.name as kit_name, b.full_name as borrower_name, g.returned_at,
               (select i.id from incident i where i.device_id = d.id and i.kind = 'loss' and i.status <> 'resolved'
                  order by i.reported_at desc limit 1) as incident_id
             from loan l join loan_group g on g.id = l.group_id join kit k on k.id = g.kit_id
             join device d on d.id = l.device_id join person b on b.id = l.borrower_id
             where l.missing_on_return = 1 and d.status = 'lost'
             order by g.returned_at desc limit 200",
        )
        .fetch_all(self.reader())
        .await?)
    }
}

/// A set's check-out inside the caller's transaction (a booking's collection uses it too).
pub(crate) async fn check_out_kit_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    kit: Uuid,
    borrower: Uuid,
    request: CheckOutRequest,
    now: DateTime<Utc>,
) -> Result<(LoanGroup, Vec<(String, DeviceStatus)>), StoreError> {
    let k = kit_in(conn, kit).await?;
    if k.open.is_some() {
        return Err(KitRefusal::AlreadyOut.into());
    }
    let members: Vec<(KitDevice, DeviceStatus)> =
        k.devices.iter().map(|d| (d.clone(), d.status)).collect();
    let (going, staying) = kit::split_for_check_out(&members)?;
    let settings = crate::settings::settings_in(conn).await?;
    let due = crate::calendar::calendar_in(conn)
        .await?
        .school_due(request.due_at, settings.day_ends_at);
    let group = Uuid::new_v4();
    let inserted = sqlx::query(
        "insert into loan_group (id, kit_id, borrower_id, issued_by, out_at, due_at, purpose) values (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(group.to_string())
    .bind(kit.to_string())
    .bind(borrower.to_string())
    .bind(actor.id.unwrap_or(borrower).to_string())
    .bind(time_text(now))
    .bind(time_text(due.due_at))
    .bind(&request.purpose)
    .execute(&mut *conn)
    .await;
    match inserted {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            return Err(KitRefusal::AlreadyOut.into())
        }
        other => other?,
    };
    for d in &going {
        match check_out_in(
            conn,
            actor,
            d.id,
            borrower,
            request.clone(),
            &due,
            Some(group),
            now,
        )
        .await
        {
            Ok(_) => {}
            Err(StoreError::CheckOut(refusal)) => {
                return Err(KitRefusal::CheckOut {
                    tag: d.tag.clone(),
                    refusal,
                }
                .into())
            }
            Err(e) => return Err(e),
        }
    }
    if let Some((_, why)) = due.moved.as_ref().filter(|_| actor.id != Some(borrower)) {
        let body = format!(
            "The set {} is due back {}. {why}",
            k.name,
            kitroom_core::time::school_time(due.due_at)
        );
        crate::notifications::notify_in(conn, borrower, &body, &format!("/sets/{kit}"), now)
            .await?;
    }
    let staying: Vec<(String, DeviceStatus)> =
        staying.into_iter().map(|(d, s)| (d.tag, s)).collect();
    let username: String = sqlx::query_scalar("select username from person where id = ?")
        .bind(borrower.to_string())
        .fetch_one(&mut *conn)
        .await?;
    append(
        conn,
        actor,
        "kit.checked_out",
        &k.subject(),
        json!({
            "set_loan": group, "borrower": username, "due_at": time_text(due.due_at), "purpose": request.purpose,
            "devices": going.iter().map(|d| d.tag.as_str()).collect::<Vec<_>>(),
            "left_behind": staying.iter().map(|(t, s)| json!({"device": t, "status": s.as_str()})).collect::<Vec<_>>(),
        }),
        now,
    )
    .await?;
    let group = open_group_in(conn, kit)
        .await?
        .ok_or(StoreError::NotFound)?;
    Ok((group, staying))
}

async fn return_kit_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    reporter_name: &str,
    kit: Uuid,
    request: KitReturnRequest,
    link_base: Option<&kitroom_core::link::PublicUrl>,
    now: DateTime<Utc>,
) -> Result<KitReturned, StoreError> {
    let k = kit_in(conn, kit).await?;
    let group = k.open.clone().ok_or(KitRefusal::NotOut)?;
    let out: Vec<&Loan> = group.loans.iter().filter(|l| l.is_open()).collect();
    let went: Vec<Uuid> = out.iter().map(|l| l.device_id).collect();
    let tag_of = |id: Uuid| {
        out.iter()
            .find(|l| l.device_id == id)
            .map(|l| l.device_tag.clone())
            .unwrap_or_else(|| id.to_string())
    };
    // every device already came back on its own: the set's loan just closes
    let split = if went.is_empty() {
        Ok((Vec::new(), Vec::new()))
    } else {
        kit::split_on_return(&went, &request.came_back)
    };
    let (back, missing) = match split {
        Ok(split) => split,
        Err(KitRefusal::NotInThisLoan { tag }) => {
            let tag = parse_uuid(&tag)
                .ok()
                .and_then(|id| k.devices.iter().find(|d| d.id == id))
                .map(|d| d.tag.clone())
                .unwrap_or(tag);
            return Err(KitRefusal::NotInThisLoan { tag }.into());
        }
        Err(e) => return Err(e.into()),
    };
    // the return checklist: each kind's questions once, for the devices of that
    // kind that came back; every answer is checked before anything is written
    let mut answered = Vec::new();
    let mut damaged: BTreeMap<String, Vec<kitroom_core::checklist::Question>> = BTreeMap::new();
    let asked = request.checklist.clone();
    for kind in kitroom_core::device::DeviceKind::ALL
        .iter()
        .filter(|_| asked.is_some())
    {
        let of_kind: Vec<String> = back
            .iter()
            .filter(|id| {
                k.devices
                    .iter()
                    .any(|d| d.id == **id && d.kind == kind.as_str())
            })
            .map(|id| tag_of(*id))
            .collect();
        if of_kind.is_empty() {
            continue;
        }
        let questions = crate::checklists::questions_in(conn, *kind).await?;
        if questions.is_empty() {
            continue;
        }
        let (answers, which) = asked
            .as_ref()
            .and_then(|a| a.get(kind.as_str()))
            .cloned()
            .unwrap_or_default();
        let found =
            kitroom_core::checklist::check_set_answers(&questions, &answers, &which, &of_kind)
                .map_err(|r| {
                    kitroom_core::Invalid::one("checklist", format!("{}: {r}", kind.label()))
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
    let mut returned = KitReturned {
        back: Vec::new(),
        missing: Vec::new(),
        damaged: Vec::new(),
    };
    for id in back {
        let r = ReturnRequest {
            condition: ReturnCondition::Fine,
            battery_percent: request.battery.get(&id).copied(),
            on_charge: request.on_charge,
            images_cleared: request.images_cleared,
        };
        match return_in(conn, actor, id, &request.location, r, now).await {
            Ok(_) => returned.back.push(tag_of(id)),
            Err(StoreError::Return(refusal)) => {
                return Err(KitRefusal::Return {
                    tag: tag_of(id),
                    refusal,
                }
                .into())
            }
            Err(e) => return Err(e),
        }
    }
    let reporter_id = actor.id.ok_or(StoreError::NotFound)?;
    if !answered.is_empty() {
        append(
            conn,
            actor,
            "kit.checklist",
            &k.subject(),
            json!({"set_loan": group.id, "answers": answered}),
            now,
        )
        .await?;
    }
    for (tag, questions) in &damaged {
        let Some(device) = k.devices.iter().find(|d| &d.tag == tag) else {
            continue;
        };
        let qs: Vec<&kitroom_core::checklist::Question> = questions.iter().collect();
        let details = ReportDetails {
            kind: IncidentKind::Damage,
            occurred_at: now,
            place: request.location.clone(),
            description: format!(
                "{} It came back with the set {}.",
                kitroom_core::checklist::damage_description(tag, &qs),
                k.name
            ),
            police_reference: None,
        };
        let incident = crate::incidents::report_incident_in(
            conn,
            actor,
            reporter_id,
            reporter_name,
            device.id,
            &details,
            link_base,
            now,
        )
        .await?;
        returned.damaged.push((tag.clone(), incident.id));
    }
    for id in missing {
        let tag = tag_of(id);
        sqlx::query("update loan set missing_on_return = 1 where device_id = ? and group_id = ? and returned_at is null")
            .bind(id.to_string())
            .bind(group.id.to_string())
            .execute(&mut *conn)
            .await?;
        let details = ReportDetails {
            kind: IncidentKind::Loss,
            occurred_at: now,
            place: String::new(),
            description: format!(
                "{tag} did not come back when the set {} was returned by {reporter_name}. It went out with the set to {} on {}.",
                k.name,
                group.borrower_name,
                kitroom_core::time::school_time(group.out_at)
            ),
            police_reference: None,
        };
        let incident = crate::incidents::report_incident_in(
            conn,
            actor,
            reporter_id,
            reporter_name,
            id,
            &details,
            link_base,
            now,
        )
        .await?;
        returned.missing.push((tag, incident.id));
    }
    // not counted (the API's return): recorded as not returned, for the desk
    let back = request.accessories_back.clone().unwrap_or_default();
    crate::accessories::give_back_in(conn, actor, &k.subject(), None, Some(group.id), &back, now)
        .await?;
    sqlx::query("update loan_group set returned_at = ?, received_by = ? where id = ?")
        .bind(time_text(now))
        .bind(actor.id.map(|i| i.to_string()))
        .bind(group.id.to_string())
        .execute(&mut *conn)
        .await?;
    append(
        conn,
        actor,
        "kit.returned",
        &k.subject(),
        json!({
            "set_loan": group.id, "borrower": group.borrower, "location": request.location,
            "back": returned.back, "missing": returned.missing.iter().map(|(t, _)| t.as_str()).collect::<Vec<_>>(),
        }),
        now,
    )
    .await?;
    Ok(returned)
}
