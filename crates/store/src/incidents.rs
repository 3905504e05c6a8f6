//! Incidents (damage, loss, theft), the notifications and emails they raise (through
//! [`crate::outbox`]), and
//! change requests.
//!
//! A report, its effect on the device, its event, the managers' notifications and
//! the emails to them are written in one transaction: a report is never saved
//! without the people who must act on it being told, and an email is never lost
//! because the mail server was down (it waits in the outbox).

use chrono::{DateTime, Utc};
use kitroom_core::change::ChangeDetails;
use kitroom_core::device::Pence;
use kitroom_core::incident::{
    self, BreachDecision, IncidentKind, IncidentStatus, ReportDetails, Resolution, Risk,
};
use kitroom_core::school::SchoolId;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, parse_word, time_text, Actor, Store, StoreError};

/// An incident, with the names a page needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Incident {
    pub id: Uuid,
    pub number: i64,
    pub device_id: Uuid,
    pub device_tag: String,
    pub device_name: String,
    pub kind: IncidentKind,
    pub status: IncidentStatus,
    pub reported_by: String,
    pub reporter_name: String,
    pub reported_at: DateTime<Utc>,
    pub occurred_at: DateTime<Utc>,
    pub place: String,
    pub description: String,
    pub police_reference: Option<String>,
    pub risk: Risk,
    pub breach_reason: String,
    pub decide_by: Option<DateTime<Utc>>,
    pub decision: Option<Decision>,
    pub resolution: Option<Resolution>,
    pub cost: Option<Pence>,
    pub claim_reference: String,
    pub resolved_at: Option<DateTime<Utc>>,
}

/// The recorded data protection decision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub reportable: bool,
    pub reason: String,
    pub decided_by: String,
    pub decided_at: DateTime<Utc>,
}

impl Incident {
    /// A possible breach still waiting for its decision.
    pub fn decision_pending(&self) -> bool {
        self.risk == Risk::Possible && self.decision.is_none()
    }
}

#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: String,
    number: i64,
    device_id: String,
    device_tag: String,
    device_name: String,
    kind: String,
    status: String,
    reported_by: String,
    reporter_name: String,
    reported_at: String,
    occurred_at: String,
    place: String,
    description: String,
    police_reference: Option<String>,
    breach_risk: String,
    breach_reason: String,
    decide_by: Option<String>,
    breach_reportable: Option<bool>,
    breach_decision_reason: Option<String>,
    decided_by: Option<String>,
    breach_decided_at: Option<String>,
    resolution: Option<String>,
    cost_pence: Option<i64>,
    claim_reference: String,
    resolved_at: Option<String>,
}

impl TryFrom<IncidentRow> for Incident {
    type Error = StoreError;
    fn try_from(r: IncidentRow) -> Result<Self, StoreError> {
        let decision = match (
            r.breach_reportable,
            r.breach_decision_reason,
            r.decided_by,
            r.breach_decided_at,
        ) {
            (Some(reportable), Some(reason), Some(decided_by), Some(at)) => Some(Decision {
                reportable,
                reason,
                decided_by,
                decided_at: parse_time(&at)?,
            }),
            _ => None,
        };
        Ok(Incident {
            id: parse_uuid(&r.id)?,
            number: r.number,
            device_id: parse_uuid(&r.device_id)?,
            device_tag: r.device_tag,
            device_name: r.device_name,
            kind: parse_word(&r.kind)?,
            status: parse_word(&r.status)?,
            reported_by: r.reported_by,
            reporter_name: r.reporter_name,
            reported_at: parse_time(&r.reported_at)?,
            occurred_at: parse_time(&r.occurred_at)?,
            place: r.place,
            description: r.description,
            police_reference: r.police_reference,
            risk: parse_word(&r.breach_risk)?,
            breach_reason: r.breach_reason,
            decide_by: r.decide_by.as_deref().map(parse_time).transpose()?,
            decision,
            resolution: r.resolution.as_deref().map(parse_word).transpose()?,
            cost: r.cost_pence.map(Pence),
            claim_reference: r.claim_reference,
            resolved_at: r.resolved_at.as_deref().map(parse_time).transpose()?,
        })
    }
}

const INCIDENT: &str = "select i.id, i.number, i.device_id, d.tag as device_tag, trim(d.make || ' ' || d.model) as device_name,
    i.kind, i.status, p.username as reported_by, p.full_name as reporter_name, i.reported_at, i.occurred_at, i.place,
    i.description, i.police_reference, i.breach_risk, i.breach_reason, i.decide_by, i.breach_reportable,
    i.breach_decision_reason, h.username as decided_by, i.breach_decided_at, i.resolution, i.cost_pence,
    i.claim_reference, i.resolved_at
    from incident i join device d on d.id = i.device_id join person p on p.id = i.reported_by
    left join person h on h.id = i.breach_decided_by";

/// `school`'s incident with this id, inside the caller's transaction; another
/// school's is not found.
pub async fn incident_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Incident, StoreError> {
    sqlx::query_as::<_, IncidentRow>(&format!("{INCIDENT} where i.id = ? and i.school_id = ?"))
        .bind(id.to_string())
        .bind(school.0)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
}

/// A note on an incident.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct IncidentNote {
    pub at: String,
    pub author: String,
    pub body: String,
}

/// A change request, with names.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ChangeRequest {
    pub id: String,
    pub device_id: String,
    pub device_tag: String,
    pub device_name: String,
    pub person: String,
    pub person_name: String,
    pub what: String,
    pub why: String,
    pub requested_at: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub note: String,
}

const CHANGE: &str = "select c.id, c.device_id, d.tag as device_tag, trim(d.make || ' ' || d.model) as device_name, p.username as person,
    p.full_name as person_name, c.what, c.why, c.requested_at, c.status, h.username as decided_by, c.note
    from change_request c join device d on d.id = c.device_id join person p on p.id = c.person_id
    left join person h on h.id = c.decided_by";

/// Which incidents to list.
#[derive(Debug, Clone, Default)]
pub struct IncidentFilter {
    pub status: Option<IncidentStatus>,
    /// Open and investigating, not resolved.
    pub unresolved: bool,
    pub device: Option<Uuid>,
    pub reported_by: Option<Uuid>,
    pub limit: i64,
}

/// The desk's count of devices whose encryption needs attention (`?1`: checked
/// before this date is too long ago), from two tallies kept by triggers: the device
/// tally for those not encrypted (or not known), and the encryption tally
/// (migration 0019_desk_counts) for encrypted ones last checked before `?1`, never
/// checked included (`''` sorts before every date). Neither reads the register.
/// `?2` is the school.
pub const ENCRYPTION_GAPS: &str =
    "select (select coalesce(sum(devices), 0) from device_tally where school_id = ?2 and status <> 'retired'
               and encryption_state in ('not_encrypted', 'unknown'))
          + (select coalesce(sum(devices), 0) from device_encryption_tally
             where school_id = ?2 and verified_on < ?1)";

/// The school and `f` as the `where` clause of [`INCIDENT`].
fn push_incident_filter(qb: &mut QueryBuilder<'_, Sqlite>, school: SchoolId, f: &IncidentFilter) {
    // A device's or a reporter's incidents are found by their own index, and the
    // school only checks those (`+`: see `loans::push_loan_filter`).
    let narrow = f.device.is_some() || f.reported_by.is_some();
    qb.push(if narrow {
        " where +i.school_id = "
    } else {
        " where i.school_id = "
    })
    .push_bind(school.0);
    if let Some(s) = f.status {
        qb.push(" and i.status = ").push_bind(s.as_str());
    }
    if f.unresolved {
        qb.push(" and i.status <> 'resolved'");
    }
    if let Some(d) = f.device {
        qb.push(" and i.device_id = ").push_bind(d.to_string());
    }
    if let Some(p) = f.reported_by {
        qb.push(" and i.reported_by = ").push_bind(p.to_string());
    }
}

/// What needs the manager: the counts on their desk.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeskCounts {
    pub new_incidents: i64,
    pub open_incidents: i64,
    pub pending_decisions: i64,
    pub overdue_loans: i64,
    pub charging: i64,
    pub encryption_gaps: i64,
    pub pending_changes: i64,
    pub pending_offsite: i64,
}

impl Store {
    /// `school`'s incident with this id, if there is one.
    pub async fn incident(
        &self,
        school: SchoolId,
        id: Uuid,
    ) -> Result<Option<Incident>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        match incident_in(&mut conn, school, id).await {
            Ok(i) => Ok(Some(i)),
            Err(StoreError::NotFound) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `school`'s incidents, newest first.
    pub async fn list_incidents(
        &self,
        school: SchoolId,
        f: &IncidentFilter,
    ) -> Result<Vec<Incident>, StoreError> {
        let mut qb = QueryBuilder::new(INCIDENT);
        push_incident_filter(&mut qb, school, f);
        qb.push(" order by i.reported_at desc limit ")
            .push_bind(if f.limit > 0 { f.limit.min(5000) } else { 500 });
        qb.build_query_as::<IncidentRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(Incident::try_from)
            .collect()
    }

    pub async fn incident_notes(&self, id: Uuid) -> Result<Vec<IncidentNote>, StoreError> {
        Ok(sqlx::query_as(
            "select n.at, p.username as author, n.body from incident_note n join person p on p.id = n.author
             where n.incident_id = ? order by n.at",
        )
        .bind(id.to_string())
        .fetch_all(self.reader())
        .await?)
    }

    /// `school`'s change requests, newest first: all of them, or only those still
    /// pending.
    pub async fn change_requests(
        &self,
        school: SchoolId,
        pending_only: bool,
    ) -> Result<Vec<ChangeRequest>, StoreError> {
        let filter = if pending_only {
            "and c.status = 'pending'"
        } else {
            ""
        };
        Ok(sqlx::query_as(&format!(
            "{CHANGE} where c.school_id = ? {filter} order by c.requested_at desc limit 1000"
        ))
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }

    /// `school`'s change requests waiting for the head teacher, oldest first.
    pub async fn pending_changes(
        &self,
        school: SchoolId,
    ) -> Result<Vec<ChangeRequest>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{CHANGE} where c.school_id = ? and c.status = 'pending' order by c.requested_at"
        ))
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }

    /// A device's change requests, newest first.
    pub async fn changes_of_device(&self, device: Uuid) -> Result<Vec<ChangeRequest>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{CHANGE} where c.device_id = ? order by c.requested_at desc"
        ))
        .bind(device.to_string())
        .fetch_all(self.reader())
        .await?)
    }

    /// What needs `school`'s manager now.
    pub async fn desk_counts(
        &self,
        school: SchoolId,
        now: DateTime<Utc>,
        verified_since: chrono::NaiveDate,
    ) -> Result<DeskCounts, StoreError> {
        let r = self.reader();
        let one = |sql: &'static str| sqlx::query_scalar::<_, i64>(sql).bind(school.0);
        Ok(DeskCounts {
            new_incidents: one("select count(*) from incident where +school_id = ? and status = 'open'").fetch_one(r).await?,
            open_incidents: one("select count(*) from incident where school_id = ? and status <> 'resolved'")
                .fetch_one(r)
                .await?,
            pending_decisions: one(
                "select count(*) from incident where +school_id = ? and decide_by is not null and breach_decided_at is null",
            )
            .fetch_one(r)
            .await?,
            overdue_loans: sqlx::query_scalar(
                "select count(*) from loan where school_id = ? and returned_at is null and due_at < ?",
            )
                .bind(school.0)
                .bind(time_text(now))
                .fetch_one(r)
                .await?,
            charging: one(
                "select coalesce(sum(devices), 0) from device_tally where school_id = ? and status = 'returned_charging'",
            )
            .fetch_one(r)
            .await?,
            encryption_gaps: sqlx::query_scalar(ENCRYPTION_GAPS)
                .bind(verified_since.to_string())
                .bind(school.0)
            .fetch_one(r)
            .await?,
            pending_changes: one("select count(*) from change_request where school_id = ? and status = 'pending'")
                .fetch_one(r)
                .await?,
            pending_offsite: one("select count(*) from offsite_request where school_id = ? and status = 'pending'")
                .fetch_one(r)
                .await?,
        })
    }
}

/// A report to insert, with the breach assessment already made.
pub struct NewIncident<'a> {
    pub device: &'a crate::devices::Device,
    pub reporter_id: Uuid,
    pub details: &'a ReportDetails,
    pub assessment: &'a incident::BreachAssessment,
}

/// Inserts a report of damage, loss or theft inside the caller's transaction,
/// numbered next; its id and number.
pub async fn insert_incident_in(
    conn: &mut SqliteConnection,
    r: NewIncident<'_>,
    now: DateTime<Utc>,
) -> Result<(Uuid, i64), StoreError> {
    let (d, assessment) = (r.details, r.assessment);
    let number: i64 = sqlx::query_scalar("select coalesce(max(number), 0) + 1 from incident")
        .fetch_one(&mut *conn)
        .await?;
    let id = Uuid::new_v4();
    sqlx::query(
        "insert into incident (id, number, school_id, device_id, kind, reported_by, reported_at, occurred_at, place,
           description, police_reference, device_status_before, breach_risk, breach_reason, decide_by)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(number)
    .bind(r.device.school.0)
    .bind(r.device.id.to_string())
    .bind(d.kind.as_str())
    .bind(r.reporter_id.to_string())
    .bind(time_text(now))
    .bind(time_text(d.occurred_at))
    .bind(&d.place)
    .bind(&d.description)
    .bind(&d.police_reference)
    .bind(r.device.status.as_str())
    .bind(assessment.risk.as_str())
    .bind(&assessment.reason)
    .bind(assessment.decide_by.map(time_text))
    .execute(&mut *conn)
    .await?;
    Ok((id, number))
}

pub async fn add_note_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    incident: Uuid,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into incident_note (id, incident_id, at, author, body) values (?, ?, ?, ?, ?)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(incident.to_string())
    .bind(time_text(now))
    .bind(actor.id.map(|a| a.to_string()))
    .bind(body)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Records the data protection decision on an incident, as decided.
pub async fn record_decision_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    decision: &BreachDecision,
    by: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update incident set breach_reportable = ?, breach_decision_reason = ?, breach_decided_by = ?, breach_decided_at = ?
         where id = ?",
    )
    .bind(decision.reportable)
    .bind(&decision.reason)
    .bind(by.map(|a| a.to_string()))
    .bind(time_text(now))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An incident moved on, as decided.
#[derive(Debug, Clone)]
pub struct IncidentUpdate<'a> {
    pub id: Uuid,
    pub status: IncidentStatus,
    /// Only when resolved.
    pub resolution: Option<Resolution>,
    /// Kept as it was when `None`.
    pub cost: Option<Pence>,
    /// Kept as it was when empty.
    pub claim_reference: &'a str,
    /// Who resolved it and when, when it is resolved.
    pub resolved: Option<(Option<Uuid>, DateTime<Utc>)>,
}

/// Writes an incident's new status, resolution, cost and claim reference.
pub async fn update_incident_in(
    conn: &mut SqliteConnection,
    u: &IncidentUpdate<'_>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update incident set status = ?, resolution = ?, cost_pence = coalesce(?, cost_pence),
           claim_reference = case when ? <> '' then ? else claim_reference end,
           resolved_at = ?, resolved_by = ? where id = ?",
    )
    .bind(u.status.as_str())
    .bind(u.resolution.map(|r| r.as_str()))
    .bind(u.cost.map(|c| c.0))
    .bind(u.claim_reference)
    .bind(u.claim_reference)
    .bind(u.resolved.map(|(_, at)| time_text(at)))
    .bind(u.resolved.and_then(|(by, _)| by).map(|a| a.to_string()))
    .bind(u.id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Sets a device's recorded condition (`good` once repaired).
pub async fn set_device_condition_in(
    conn: &mut SqliteConnection,
    device: Uuid,
    condition: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("update device set condition = ?, updated_at = ? where id = ?")
        .bind(condition)
        .bind(time_text(now))
        .bind(device.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Writes the police reference of an incident.
pub async fn set_police_reference_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    reference: &str,
) -> Result<(), StoreError> {
    sqlx::query("update incident set police_reference = ? where id = ?")
        .bind(reference)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The notes on an incident, oldest first, inside the caller's transaction.
pub async fn notes_in(
    conn: &mut SqliteConnection,
    id: Uuid,
) -> Result<Vec<IncidentNote>, StoreError> {
    Ok(sqlx::query_as(
        "select n.at, p.username as author, n.body from incident_note n join person p on p.id = n.author
         where n.incident_id = ? order by n.at",
    )
    .bind(id.to_string())
    .fetch_all(&mut *conn)
    .await?)
}

/// `school`'s change request with this id, inside the caller's transaction.
pub async fn change_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Option<ChangeRequest>, StoreError> {
    Ok(
        sqlx::query_as(&format!("{CHANGE} where c.id = ? and c.school_id = ?"))
            .bind(id.to_string())
            .bind(school.0)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Writes a new change request, pending.
pub async fn insert_change_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    device: Uuid,
    person: Uuid,
    d: &ChangeDetails,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into change_request (id, device_id, school_id, person_id, what, why, requested_at)
         values (?1, ?2, (select school_id from device where id = ?2), ?3, ?4, ?5, ?6)",
    )
    .bind(id.to_string())
    .bind(device.to_string())
    .bind(person.to_string())
    .bind(&d.what)
    .bind(&d.why)
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the head's decision on a change request.
pub async fn decide_change_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    status: &str,
    by: Option<Uuid>,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    crate::db::decide_request_in(conn, "change_request", id, status, by, note, now).await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A device's page lists its incidents and a person's page theirs: found by the
    /// device's or the reporter's index, not by walking every incident of the
    /// school in date order.
    #[tokio::test]
    async fn a_devices_or_a_reporters_incidents_are_found_by_their_own_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut conn = store.reader().acquire().await.unwrap();
        let id = Uuid::nil();
        for (f, index) in [
            (
                IncidentFilter {
                    device: Some(id),
                    ..Default::default()
                },
                "incident_device",
            ),
            (
                IncidentFilter {
                    reported_by: Some(id),
                    unresolved: true,
                    ..Default::default()
                },
                "incident_reporter",
            ),
            (IncidentFilter::default(), "incident_school"),
        ] {
            let mut qb = QueryBuilder::new(format!("explain query plan {INCIDENT}"));
            push_incident_filter(&mut qb, SchoolId::FIRST, &f);
            qb.push(" order by i.reported_at desc limit 50");
            let plan = crate::db::plan(&mut conn, qb).await;
            assert!(plan.contains(index), "{f:?}: {plan}");
        }
    }
}
