//! Damage, loss and theft, and change requests: one command each, for the pages
//! and the API alike.
//!
//! A report, a move on (investigating, resolved with how, at what cost), the data
//! protection decision, a note and a police reference are each checked by
//! `kitroom_core::incident` on the incident as it is inside the write transaction,
//! and written with their event. A change request goes to the head teacher, who
//! decides it once.

use chrono::{DateTime, Utc};
use kitroom_core::change::ChangeDetails;
use kitroom_core::device::Pence;
use kitroom_core::incident::{
    self, BreachDecision, DataFacts, IncidentKind, IncidentStatus, ReportDetails, Resolution,
};
use kitroom_core::invalid::{required_text, text};
use kitroom_core::link::PublicUrl;
use kitroom_core::mail::MailKind;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::db::time_text;
use kitroom_store::devices::get_device;
use kitroom_store::events::append;
use kitroom_store::incidents::{ChangeRequest, Incident, IncidentNote, IncidentUpdate};
use kitroom_store::notifications::{notify_managers_in, ManagersEmail};
use kitroom_store::people::Person;
use kitroom_store::{Actor, Conn};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::input::{Answer, Number};
use crate::{App, Error, Refusal};

pub(crate) use crate::heads::id_of;
pub use crate::heads::{Decision, DecisionInput};

/// A report as sent: the page's form (a day and a time of day) or the API's JSON
/// body (`occurred_at`, RFC 3339).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ReportInput {
    /// `damage`, `loss` or `theft`.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>, example = "damage")]
    pub kind: String,
    /// When it happened, RFC 3339 (the API); now when missing.
    #[schema(format = DateTime)]
    pub occurred_at: Option<String>,
    /// The day it happened (the page's form); today when empty.
    #[schema(format = Date)]
    pub occurred_on: String,
    /// Roughly when, "14:20" (the page's form); optional.
    pub occurred_time: String,
    /// Where it happened.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub place: String,
    /// What happened, in a sentence or two.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub description: String,
    /// The police crime reference (theft only).
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub police_reference: String,
}

impl ReportInput {
    /// The report as the page's form shows it again.
    pub fn as_typed(&self) -> kitroom_core::incident::ReportInput {
        kitroom_core::incident::ReportInput {
            kind: self.kind.clone(),
            occurred_on: self.occurred_on.clone(),
            occurred_time: self.occurred_time.clone(),
            place: self.place.clone(),
            description: self.description.clone(),
            police_reference: self.police_reference.clone(),
        }
    }
}

/// A report, read and checked (against the time it is read).
#[derive(Debug, Clone)]
pub struct Report(pub ReportDetails);

impl TryFrom<ReportInput> for Report {
    type Error = Invalid;

    fn try_from(i: ReportInput) -> Result<Self, Invalid> {
        let now = Utc::now();
        let mut typed = i.as_typed();
        let mut invalid = Invalid::new();
        if let Some(at) = i
            .occurred_at
            .as_deref()
            .map(str::trim)
            .filter(|t| !t.is_empty())
        {
            match DateTime::parse_from_rfc3339(at) {
                Ok(at) if at.with_timezone(&Utc) > now + chrono::Duration::minutes(5) => {
                    invalid.add("occurred_at", "It cannot have happened in the future.")
                }
                Ok(at) => {
                    let london = at.with_timezone(&chrono_tz::Europe::London);
                    typed.occurred_on = london.date_naive().to_string();
                    typed.occurred_time = london.format("%H:%M").to_string();
                }
                Err(_) => invalid.add(
                    "occurred_at",
                    format!("“{at}” is not a date and time such as 2026-09-14T15:30:00Z."),
                ),
            }
        }
        match typed.parse(now) {
            Ok(d) if invalid.is_empty() => Ok(Report(d)),
            Ok(_) => Err(invalid),
            Err(more) => {
                for e in more.0 {
                    invalid.add(e.field, e.message);
                }
                Err(invalid)
            }
        }
    }
}

/// Records a report of damage, loss or theft of the device `tag` by `caller`: the
/// breach risk assessed on the device's facts, the device marked lost or damaged,
/// the managers told in the app and by email, in one transaction.
pub async fn report(
    app: &App,
    caller: &Person,
    tag: &str,
    input: ReportInput,
) -> Result<Incident, Error> {
    if !caller.role.may(Permission::Report) {
        return Err(Refusal::not_allowed().into());
    }
    let device = crate::devices::device(app, caller.school, tag).await?;
    let Report(details) = Report::try_from(input)?;
    let reporter = caller.clone();
    let link_base = app.link_base().cloned();
    let incident = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let i = report_in(
                    conn,
                    &reporter.actor(),
                    reporter.id,
                    &reporter.full_name,
                    device.id,
                    &details,
                    link_base.as_ref(),
                    now,
                )
                .await?;
                Ok::<_, Error>(i)
            })
        })
        .await?;
    app.wake_mailer();
    Ok(incident)
}

/// Records a report of damage, loss or theft inside the caller's transaction:
/// assesses the breach risk from the device's facts as they are now (`core`),
/// marks a lost or stolen device lost (ending its loan), marks a damaged one
/// damaged, and tells the managers. `link_base`, the configured public address,
/// starts the email's link; without it the email names the page instead (never an
/// address from a request). The one way a report is filed: by hand, by a failed
/// return checklist, by a set coming back short.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn report_in(
    conn: &mut Conn,
    actor: &Actor,
    reporter_id: Uuid,
    reporter_name: &str,
    device_id: Uuid,
    d: &ReportDetails,
    link_base: Option<&PublicUrl>,
    now: DateTime<Utc>,
) -> Result<Incident, Error> {
    let device = get_device(conn, device_id).await?;
    let facts = DataFacts {
        encryption: &device.details.encryption,
        holds_personal_data: device.details.holds_personal_data,
        captures_images: device.details.captures_images,
    };
    let assessment = incident::assess_breach(d.kind, &facts, now);
    let (id, number) = kitroom_store::incidents::insert_incident_in(
        conn,
        kitroom_store::incidents::NewIncident {
            device: &device,
            reporter_id,
            details: d,
            assessment: &assessment,
        },
        now,
    )
    .await?;
    append(
                    conn,
                    actor,
                    "incident.reported",
                    &device.subject(),
                    json!({
                        "incident": number, "kind": d.kind, "occurred_at": time_text(d.occurred_at), "place": d.place,
                        "description": d.description, "police_reference": d.police_reference,
                        "breach_risk": assessment.risk, "breach_reason": assessment.reason,
                    }),
                    now,
                )
                .await?;
    if let Some(change) = incident::status_change_on_report(d.kind, device.status) {
        crate::devices::move_in(
            conn,
            actor,
            &device,
            change,
            json!({"note": format!("{} reported (incident {number})", d.kind.label())}),
            now,
        )
        .await?;
    }
    if d.kind == IncidentKind::Damage {
        kitroom_store::incidents::set_device_condition_in(conn, device_id, "damaged", now).await?;
    }
    let tag = device.details.tag.to_string();
    let link = format!("/incidents/{id}");
    let body = format!("{} of {tag} reported by {reporter_name}", d.kind.label());
    let subject = format!(
        "Kitroom: {} of {tag} reported (incident {number})",
        d.kind.label().to_lowercase()
    );
    let email = format!(
                    "{reporter_name} has reported the {kind} of {tag} ({make} {model}).\n\nWhat happened: {desc}\nWhen: {when}\nWhere: {place}\n{police}\nData protection: {reason}\n\n{open}\n",
                    kind = d.kind.label().to_lowercase(),
                    make = device.details.make,
                    model = device.details.model,
                    desc = d.description,
                    when = kitroom_core::time::school_time(d.occurred_at),
                    place = if d.place.is_empty() { "not given" } else { d.place.as_str() },
                    police = d.police_reference.as_deref().map(|p| format!("Police reference: {p}\n")).unwrap_or_default(),
                    reason = assessment.reason,
                    open = kitroom_core::link::email_pointer(
                        link_base,
                        "Open the incident",
                        &link,
                        "Incidents",
                        &format!(" and choose incident {number}."),
                    ),
                );
    let thread = kitroom_store::outbox::incident_thread(id);
    let email = ManagersEmail {
        subject: &subject,
        body: &email,
        kind: MailKind::Incident,
        thread: Some(&thread),
    };
    notify_managers_in(conn, device.school, &body, &link, email, now).await?;
    Ok(kitroom_store::incidents::incident_in(conn, device.school, id).await?)
}

/// An incident with its notes.
#[derive(Debug, Clone)]
pub struct IncidentRecord {
    pub incident: Incident,
    pub notes: Vec<IncidentNote>,
}

/// Whether `caller` may see `incident`: those who handle incidents, and the person
/// who reported it.
pub fn may_see(caller: &Person, incident: &Incident) -> bool {
    caller.role.may(Permission::ViewIncidents) || incident.reported_by == caller.username
}

/// The incident `id` with its notes, for those who may see it.
pub async fn incident(app: &App, caller: &Person, id: &str) -> Result<IncidentRecord, Error> {
    let id = id_of(id, "That incident")?;
    let incident = app
        .store()
        .incident(caller.school, id)
        .await?
        .ok_or_else(|| Refusal::not_found("That incident"))?;
    if !may_see(caller, &incident) {
        return Err(Refusal::not_allowed().into());
    }
    let notes = app.store().incident_notes(id).await?;
    Ok(IncidentRecord { incident, notes })
}

/// Moving an incident on, as sent: the page's form (`cost` in pounds) or the API's
/// JSON body (`cost_pence`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ProgressInput {
    /// `open`, `investigating` or `resolved`.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>, example = "investigating")]
    pub status: String,
    /// How it was resolved: `repaired`, `recovered` or `written_off`.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub resolution: String,
    /// What it cost, in pounds ("89.50", the page's form).
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub cost: String,
    /// What it cost, in pence (the API).
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub cost_pence: Number,
    /// The insurance or claim reference.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub claim_reference: String,
    /// A note kept with the incident.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub note: String,
}

/// A move on, read and checked.
#[derive(Debug, Clone)]
pub struct Progress {
    pub status: IncidentStatus,
    pub resolution: Option<Resolution>,
    pub cost: Option<Pence>,
    pub claim_reference: String,
    pub note: String,
}

impl TryFrom<ProgressInput> for Progress {
    type Error = Invalid;

    fn try_from(i: ProgressInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let status = invalid.check("status", i.status.trim().parse::<IncidentStatus>());
        let resolution = invalid
            .check(
                "resolution",
                match i.resolution.trim() {
                    "" => Ok(None),
                    r => r.parse::<Resolution>().map(Some),
                },
            )
            .flatten();
        let cost = if !i.cost_pence.is_blank() {
            invalid
                .check(
                    "cost_pence",
                    i.cost_pence
                        .whole("The cost in pence")
                        .and_then(|p| match p {
                            Some(p) if p < 0 => Err("The cost cannot be negative.".to_owned()),
                            p => Ok(p.map(Pence)),
                        }),
                )
                .flatten()
        } else if i.cost.trim().is_empty() {
            None
        } else {
            invalid.check("cost", Pence::parse(&i.cost))
        };
        let claim_reference = invalid.check(
            "claim_reference",
            text(&i.claim_reference, "Claim reference", 100),
        );
        let note = invalid.check("note", text(&i.note, "Note", 4000));
        invalid.into_result()?;
        match (status, claim_reference, note) {
            (Some(status), Some(claim_reference), Some(note)) => Ok(Progress {
                status,
                resolution,
                cost,
                claim_reference,
                note,
            }),
            _ => unreachable!("every field was checked above"),
        }
    }
}

impl Progress {
    /// Resolving it as written off, which retires the device: it cannot be undone.
    pub fn writes_off(&self) -> bool {
        self.status == IncidentStatus::Resolved && self.resolution == Some(Resolution::WrittenOff)
    }
}

/// Loads `school`'s incident `id` and its device inside a transaction, or not found.
async fn incident_in(
    conn: &mut kitroom_store::Conn,
    school: SchoolId,
    id: Uuid,
) -> Result<(Incident, kitroom_store::devices::Device), Error> {
    let i = kitroom_store::incidents::incident_in(conn, school, id)
        .await
        .map_err(|e| match e {
            kitroom_store::StoreError::NotFound => Refusal::not_found("That incident").into(),
            other => Error::from(other),
        })?;
    let device = get_device(conn, i.device_id).await?;
    Ok((i, device))
}

/// Moves the incident `id` on, as `caller` (who handles incidents) asks: to
/// investigating, or resolved with how (the device follows: found, back from
/// repair, or retired), with a note, a cost and a claim reference.
pub async fn progress(
    app: &App,
    caller: &Person,
    id: &str,
    input: ProgressInput,
) -> Result<Incident, Error> {
    if !caller.role.may(Permission::HandleIncidents) {
        return Err(Refusal::not_allowed().into());
    }
    let id = id_of(id, "That incident")?;
    let cmd = Progress::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let (i, device) = incident_in(conn, school, id).await?;
                let change = incident::move_incident(
                    i.kind,
                    i.status,
                    cmd.status,
                    cmd.resolution,
                    i.decision_pending(),
                    device.status,
                )?;
                let resolved = cmd.status == IncidentStatus::Resolved;
                let resolution = cmd.resolution.filter(|_| resolved);
                kitroom_store::incidents::update_incident_in(
                    conn,
                    &IncidentUpdate {
                        id,
                        status: cmd.status,
                        resolution,
                        cost: cmd.cost,
                        claim_reference: &cmd.claim_reference,
                        resolved: resolved.then_some((actor.id, now)),
                    },
                )
                .await?;
                if !cmd.note.is_empty() {
                    kitroom_store::incidents::add_note_in(conn, &actor, id, &cmd.note, now).await?;
                }
                append(
                    conn,
                    &actor,
                    "incident.updated",
                    &device.subject(),
                    json!({"incident": i.number, "from": i.status, "to": cmd.status, "resolution": resolution,
                           "cost_pence": cmd.cost.map(|c| c.0), "claim_reference": cmd.claim_reference, "note": cmd.note}),
                    now,
                )
                .await?;
                if let Some(change) = change {
                    crate::devices::move_in(
                        conn,
                        &actor,
                        &device,
                        change,
                        json!({"note": format!("incident {}", i.number)}),
                        now,
                    )
                    .await?;
                    if resolution == Some(Resolution::Repaired) {
                        kitroom_store::incidents::set_device_condition_in(conn, device.id, "good", now)
                            .await?;
                    }
                }
                Ok::<_, Error>(kitroom_store::incidents::incident_in(conn, school, id).await?)
            })
        })
        .await
}

/// The data protection decision, as sent: `reportable` yes or no (a form's "yes"
/// or "no", JSON `true` or `false`) and the reason.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct BreachInput {
    /// Whether the school is reporting it to the ICO.
    #[schema(value_type = Option<bool>)]
    pub reportable: Answer,
    /// Why.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub reason: String,
}

impl TryFrom<BreachInput> for BreachDecision {
    type Error = Invalid;

    fn try_from(i: BreachInput) -> Result<Self, Invalid> {
        let reportable = match i.reportable.0 {
            Some(true) => "yes",
            Some(false) => "no",
            None => "",
        };
        incident::breach_decision(reportable, &i.reason)
    }
}

/// Records the data protection decision on the possible breach `id`: once, by
/// someone who handles incidents, with whether it was within the deadline.
pub async fn decide_breach(
    app: &App,
    caller: &Person,
    id: &str,
    input: BreachInput,
) -> Result<Incident, Error> {
    if !caller.role.may(Permission::HandleIncidents) {
        return Err(Refusal::not_allowed().into());
    }
    let id = id_of(id, "That incident")?;
    let decision = BreachDecision::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let (i, device) = incident_in(conn, school, id).await?;
                incident::may_decide_breach(i.risk, i.decision.is_some())?;
                kitroom_store::incidents::record_decision_in(conn, id, &decision, actor.id, now)
                    .await?;
                append(
                    conn,
                    &actor,
                    "incident.breach_decided",
                    &device.subject(),
                    json!({"incident": i.number, "reportable": decision.reportable, "reason": decision.reason,
                           "decided_within_deadline": i.decide_by.map(|d| now <= d)}),
                    now,
                )
                .await?;
                Ok::<_, Error>(kitroom_store::incidents::incident_in(conn, school, id).await?)
            })
        })
        .await
}

/// A note on an incident, as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NoteInput {
    /// The note.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub body: String,
}

/// Adds a note to the incident `id`, by someone who handles incidents.
pub async fn add_note(
    app: &App,
    caller: &Person,
    id: &str,
    input: NoteInput,
) -> Result<IncidentRecord, Error> {
    if !caller.role.may(Permission::HandleIncidents) {
        return Err(Refusal::not_allowed().into());
    }
    let id = id_of(id, "That incident")?;
    let body = required_text(&input.body, "Note", 4000).map_err(|m| Invalid::one("body", m))?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let (i, device) = incident_in(conn, school, id).await?;
                kitroom_store::incidents::add_note_in(conn, &actor, id, &body, now).await?;
                append(
                    conn,
                    &actor,
                    "incident.note_added",
                    &device.subject(),
                    json!({"incident": i.number, "note": body}),
                    now,
                )
                .await?;
                let notes = kitroom_store::incidents::notes_in(conn, id).await?;
                Ok::<_, Error>(IncidentRecord { incident: i, notes })
            })
        })
        .await
}

/// A police reference, as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PoliceInput {
    /// The police crime reference.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub police_reference: String,
}

/// Records the police reference of the theft `id`, often known only later: by its
/// reporter or someone who handles incidents.
pub async fn add_police_reference(
    app: &App,
    caller: &Person,
    id: &str,
    input: PoliceInput,
) -> Result<Incident, Error> {
    let record = incident(app, caller, id).await?;
    if record.incident.reported_by != caller.username
        && !caller.role.may(Permission::HandleIncidents)
    {
        return Err(Refusal::not_allowed().into());
    }
    let id = record.incident.id;
    let reference = required_text(&input.police_reference, "Police reference", 60)
        .map_err(|m| Invalid::one("police_reference", m))?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let (i, device) = incident_in(conn, school, id).await?;
                incident::may_add_police_reference(i.kind)?;
                kitroom_store::incidents::set_police_reference_in(conn, id, &reference).await?;
                append(
                    conn,
                    &actor,
                    "incident.police_reference",
                    &device.subject(),
                    json!({"incident": i.number, "police_reference": reference}),
                    now,
                )
                .await?;
                Ok::<_, Error>(kitroom_store::incidents::incident_in(conn, school, id).await?)
            })
        })
        .await
}

/// A change request as sent: what to install or change, and why.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeInput {
    /// What to install or change.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>, example = "Scratch 3 desktop app")]
    pub what: String,
    /// Why.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub why: String,
}

impl From<ChangeInput> for kitroom_core::change::ChangeInput {
    fn from(i: ChangeInput) -> Self {
        kitroom_core::change::ChangeInput {
            what: i.what,
            why: i.why,
        }
    }
}

/// Asks the head teacher for permission to change the device `tag`.
pub async fn request_change(
    app: &App,
    caller: &Person,
    tag: &str,
    input: ChangeInput,
) -> Result<ChangeRequest, Error> {
    if !caller.role.may(Permission::Report) {
        return Err(Refusal::not_allowed().into());
    }
    let device = crate::devices::device(app, caller.school, tag).await?;
    let d: ChangeDetails = kitroom_core::change::ChangeInput::from(input).parse()?;
    let actor = caller.actor();
    let person = caller.id;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = Uuid::new_v4();
                kitroom_store::incidents::insert_change_in(conn, id, device.id, person, &d, now)
                    .await?;
                append(
                    conn,
                    &actor,
                    "change.requested",
                    &device.subject(),
                    json!({"request": id, "what": d.what, "why": d.why}),
                    now,
                )
                .await?;
                Ok::<_, Error>(
                    kitroom_store::incidents::change_in(conn, device.school, id)
                        .await?
                        .ok_or_else(|| Refusal::not_found("That request"))?,
                )
            })
        })
        .await
}

/// The head teacher approves or declines the change request `id`, once.
pub async fn decide_change(
    app: &App,
    caller: &Person,
    id: &str,
    input: DecisionInput,
) -> Result<ChangeRequest, Error> {
    crate::heads::decide(app, caller, id, input).await
}

/// Change requests, newest first, for the head who decides them: those waiting, or
/// all of them.
pub async fn changes(
    app: &App,
    caller: &Person,
    pending_only: bool,
) -> Result<Vec<ChangeRequest>, Error> {
    if !caller.role.may(Permission::DecideChanges) {
        return Err(Refusal::not_allowed().into());
    }
    Ok(app
        .store()
        .change_requests(caller.school, pending_only)
        .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A move on reads the same from the page's form and from the API's JSON.
    #[test]
    fn a_move_on_reads_the_same_from_a_form_and_from_json() {
        let form = ProgressInput {
            status: "resolved".into(),
            resolution: "repaired".into(),
            cost: "89.50".into(),
            ..Default::default()
        };
        let json: ProgressInput = serde_json::from_str(
            r#"{"status": "resolved", "resolution": "repaired", "cost_pence": 8950, "note": null}"#,
        )
        .unwrap();
        let (a, b) = (
            Progress::try_from(form).unwrap(),
            Progress::try_from(json).unwrap(),
        );
        assert_eq!(a.cost, Some(Pence(8950)));
        assert_eq!(a.cost, b.cost);
        assert_eq!(a.resolution, b.resolution);
    }

    /// Every problem with a move on is told at once, beside its field.
    #[test]
    fn a_move_on_names_every_field_at_fault() {
        let bad: ProgressInput =
            serde_json::from_str(r#"{"status": "closed", "cost_pence": "lots"}"#).unwrap();
        let invalid = Progress::try_from(bad).unwrap_err();
        assert!(invalid.for_field("status").is_some(), "{invalid:?}");
        assert!(invalid.for_field("cost_pence").is_some(), "{invalid:?}");
    }

    /// A decision is approve or decline, from a form's word or JSON's true/false.
    #[test]
    fn a_decision_reads_from_a_word_or_a_flag() {
        let form = DecisionInput {
            decision: "approve".into(),
            ..Default::default()
        };
        let json: DecisionInput = serde_json::from_str(r#"{"approve": false}"#).unwrap();
        assert!(Decision::try_from(form).unwrap().approve);
        assert!(!Decision::try_from(json).unwrap().approve);
        assert!(Decision::try_from(DecisionInput::default())
            .unwrap_err()
            .for_field("decision")
            .is_some());
    }
}
