//! Reports for the business manager: inventory, encryption compliance, overdue loans,
//! audits, incident costs, utilisation, a person's history.
//!
//! Every figure is counted by SQLite with `group by` over indexed columns, never by
//! a subquery per row (and never over the activity log). The lists beside the
//! figures (devices not encrypted, loans overdue) are plain indexed reads. Turning
//! the rows into school terms, percentages and pounds is left to the caller.
//!
//! A person's record ([`PersonRecord`]) is what a subject-access request is answered
//! with: everything Kitroom holds on that person and nothing about anyone else. Where
//! one of their records names another person (who lent them a device, who decided
//! their request), that person is written as [`SOMEONE_ELSE`].

use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::device::{DeviceKind, DeviceStatus, EncryptionState};
use kitroom_core::incident::IncidentKind;
use kitroom_core::school::SchoolId;
use serde::Serialize;
use serde_json::{json, Value};
use sqlx::{QueryBuilder, Sqlite};

use crate::db::{parse_time, parse_word, time_text, Store, StoreError};
use crate::events::{append, Subject};
use crate::people::Person;

/// What a person's record says instead of naming someone else.
pub const SOMEONE_ELSE: &str = "someone else";

/// Which devices a report covers. Every part is optional.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The school whose devices are counted; every school when `None` (the trust's
    /// own reports).
    pub school: Option<SchoolId>,
    /// A location's name.
    pub location: Option<String>,
    pub kind: Option<DeviceKind>,
    pub status: Option<DeviceStatus>,
}

/// Adds the scope's conditions to a query over `device d join location l`.
fn push_scope(qb: &mut QueryBuilder<'_, Sqlite>, scope: &Scope) {
    if let Some(school) = scope.school {
        qb.push(" and d.school_id = ").push_bind(school.0);
    }
    if let Some(location) = &scope.location {
        qb.push(" and l.name = ")
            .push_bind(location.clone())
            .push(" collate nocase");
    }
    if let Some(kind) = scope.kind {
        qb.push(" and d.kind = ").push_bind(kind.as_str());
    }
    if let Some(status) = scope.status {
        qb.push(" and d.status = ").push_bind(status.as_str());
    }
}

fn date(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.map(|s| {
        s.parse::<NaiveDate>()
            .map_err(|_| StoreError::Corrupt(format!("date {s:?}")))
    })
    .transpose()
}

/// How many devices of one kind, in one status, at one location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InventoryCount {
    pub school: SchoolId,
    pub kind: DeviceKind,
    pub status: DeviceStatus,
    pub location: String,
    pub devices: i64,
}

#[derive(sqlx::FromRow)]
struct InventoryRow {
    school_id: i64,
    kind: String,
    status: String,
    location: String,
    devices: i64,
}

/// Whether a device's encryption is on record as verified recently enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Compliance {
    /// Encrypted, and verified within the chosen age.
    Verified,
    /// Encrypted, but last verified before the chosen age.
    VerificationOld,
    /// Recorded as encrypted, but never verified.
    NeverVerified,
    NotEncrypted,
    Unknown,
}

impl Compliance {
    pub const ALL: &'static [Compliance] = &[
        Compliance::Verified,
        Compliance::VerificationOld,
        Compliance::NeverVerified,
        Compliance::NotEncrypted,
        Compliance::Unknown,
    ];

    /// The rule, in one place: only an encrypted device verified on or after
    /// `since` counts as compliant. `verified_on` is compared with `since` by the
    /// caller (or by SQL) and passed as `Some(recent)`, `None` when never verified.
    pub fn of(state: EncryptionState, verified_recently: Option<bool>) -> Compliance {
        match (state, verified_recently) {
            (EncryptionState::Encrypted, Some(true)) => Compliance::Verified,
            (EncryptionState::Encrypted, Some(false)) => Compliance::VerificationOld,
            (EncryptionState::Encrypted, None) => Compliance::NeverVerified,
            (EncryptionState::NotEncrypted, _) => Compliance::NotEncrypted,
            (EncryptionState::Unknown, _) => Compliance::Unknown,
        }
    }

    /// The word used in CSV files.
    pub fn as_str(self) -> &'static str {
        match self {
            Compliance::Verified => "verified",
            Compliance::VerificationOld => "verification_old",
            Compliance::NeverVerified => "never_verified",
            Compliance::NotEncrypted => "not_encrypted",
            Compliance::Unknown => "unknown",
        }
    }

    /// The words shown to a person.
    pub fn label(self) -> &'static str {
        match self {
            Compliance::Verified => "Encrypted and verified",
            Compliance::VerificationOld => "Encrypted, verification too old",
            Compliance::NeverVerified => "Encrypted, never verified",
            Compliance::NotEncrypted => "Not encrypted",
            Compliance::Unknown => "Unknown",
        }
    }
}

/// How many devices of one kind are in one state of compliance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplianceCount {
    pub school: SchoolId,
    pub kind: DeviceKind,
    pub compliance: Compliance,
    pub devices: i64,
}

#[derive(sqlx::FromRow)]
struct ComplianceRow {
    school_id: i64,
    kind: String,
    encryption_state: String,
    recent: Option<bool>,
    devices: i64,
}

/// A device as a report lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceLine {
    pub tag: String,
    pub kind: DeviceKind,
    pub make: String,
    pub model: String,
    pub location: String,
    pub status: DeviceStatus,
    pub encryption_state: EncryptionState,
    pub encryption_verified_on: Option<NaiveDate>,
    pub last_audited_on: Option<NaiveDate>,
}

impl DeviceLine {
    pub fn name(&self) -> String {
        format!("{} {}", self.make, self.model).trim().to_owned()
    }

    /// Where this device stands, verified recently meaning on or after `since`.
    pub fn compliance(&self, since: NaiveDate) -> Compliance {
        Compliance::of(
            self.encryption_state,
            self.encryption_verified_on.map(|d| d >= since),
        )
    }
}

#[derive(sqlx::FromRow)]
struct DeviceLineRow {
    tag: String,
    kind: String,
    make: String,
    model: String,
    location: String,
    status: String,
    encryption_state: String,
    encryption_verified_on: Option<String>,
    last_audited_on: Option<String>,
}

impl TryFrom<DeviceLineRow> for DeviceLine {
    type Error = StoreError;
    fn try_from(r: DeviceLineRow) -> Result<Self, StoreError> {
        Ok(DeviceLine {
            tag: r.tag,
            kind: parse_word(&r.kind)?,
            make: r.make,
            model: r.model,
            location: r.location,
            status: parse_word(&r.status)?,
            encryption_state: parse_word(&r.encryption_state)?,
            encryption_verified_on: date(r.encryption_verified_on)?,
            last_audited_on: date(r.last_audited_on)?,
        })
    }
}

const DEVICE_LINE: &str =
    "select d.tag, d.kind, d.make, d.model, l.name as location, d.status, d.encryption_state,
    d.encryption_verified_on, d.last_audited_on
    from device d join location l on l.id = d.location_id";

/// A loan past its due time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverdueLoan {
    pub school: SchoolId,
    pub tag: String,
    pub kind: DeviceKind,
    pub make: String,
    pub model: String,
    pub location: String,
    pub borrower: String,
    pub borrower_name: String,
    pub out_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub off_site: bool,
    pub purpose: String,
}

#[derive(sqlx::FromRow)]
struct OverdueRow {
    school_id: i64,
    tag: String,
    kind: String,
    make: String,
    model: String,
    location: String,
    borrower: String,
    borrower_name: String,
    out_at: String,
    due_at: String,
    off_site: bool,
    purpose: String,
}

/// Which incidents the cost report counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IncidentScope {
    /// The school whose incidents are counted; every school when `None`.
    pub school: Option<SchoolId>,
    /// Happened at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Happened before this instant.
    pub until: Option<DateTime<Utc>>,
    pub kind: Option<IncidentKind>,
    /// The device's home location.
    pub location: Option<String>,
}

/// Incidents of one kind that happened in one hour (UTC), with their cost. Hours,
/// not days, so the caller can place each in the right school day in London.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentTally {
    pub school: SchoolId,
    /// The start of the hour it happened in.
    pub hour: DateTime<Utc>,
    pub kind: IncidentKind,
    pub incidents: i64,
    /// How many of them have a cost recorded.
    pub costed: i64,
    pub cost_pence: i64,
}

#[derive(sqlx::FromRow)]
struct TallyRow {
    school_id: i64,
    hour: String,
    kind: String,
    incidents: i64,
    costed: i64,
    cost_pence: i64,
}

/// How often one device was lent in a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceUse {
    pub tag: String,
    pub kind: DeviceKind,
    pub make: String,
    pub model: String,
    pub location: String,
    pub status: DeviceStatus,
    pub loans: i64,
    pub last_out_at: Option<DateTime<Utc>>,
}

impl DeviceUse {
    pub fn name(&self) -> String {
        format!("{} {}", self.make, self.model).trim().to_owned()
    }
}

#[derive(sqlx::FromRow)]
struct UseRow {
    tag: String,
    kind: String,
    make: String,
    model: String,
    location: String,
    status: String,
    loans: i64,
    last_out_at: Option<String>,
}

/// The account itself, without its password hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct AccountRecord {
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub position: String,
    pub kind: String,
    pub role: String,
    pub active: bool,
    /// Whether a password is set (the hash itself is never shown).
    pub password_set: bool,
    pub signed_in_sessions: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// One of the person's API tokens: its name and dates, never its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct TokenRecord {
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// Something the person borrowed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoanRecord {
    /// The school that lent it (its short name).
    pub school: String,
    pub device_tag: String,
    pub device_kind: String,
    pub device_name: String,
    pub out_at: String,
    pub due_at: String,
    pub purpose: String,
    pub off_site: bool,
    pub off_site_authorised: bool,
    /// The person themselves, or [`SOMEONE_ELSE`].
    pub issued_by: String,
    pub returned_at: Option<String>,
    /// `returned` or `lost`.
    pub outcome: Option<String>,
    pub returned_to: Option<String>,
    pub received_by: Option<String>,
    pub return_condition: Option<String>,
    pub battery_percent: Option<i64>,
    pub on_charge: Option<bool>,
    pub images_cleared: Option<bool>,
}

#[derive(sqlx::FromRow)]
struct LoanRecordRow {
    school: String,
    device_tag: String,
    device_kind: String,
    device_name: String,
    out_at: String,
    due_at: String,
    purpose: String,
    off_site: bool,
    off_site_authorised: bool,
    issued_by_self: bool,
    returned_at: Option<String>,
    outcome: Option<String>,
    returned_to: Option<String>,
    received_by_self: Option<bool>,
    return_condition: Option<String>,
    battery_percent: Option<i64>,
    on_charge: Option<bool>,
    images_cleared: Option<bool>,
}

/// Damage, loss or theft the person reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IncidentRecord {
    /// The school it was reported to (its short name).
    pub school: String,
    pub number: i64,
    pub device_tag: String,
    pub kind: String,
    pub status: String,
    pub reported_at: String,
    pub occurred_at: String,
    pub place: String,
    pub description: String,
    pub police_reference: Option<String>,
    pub breach_risk: String,
    pub breach_reason: String,
    pub breach_reportable: Option<bool>,
    pub breach_decided_at: Option<String>,
    pub resolution: Option<String>,
    pub cost_pence: Option<i64>,
    pub resolved_at: Option<String>,
}

#[derive(sqlx::FromRow)]
struct IncidentRecordRow {
    school: String,
    number: i64,
    device_tag: String,
    kind: String,
    status: String,
    reported_at: String,
    occurred_at: String,
    place: String,
    description: String,
    police_reference: Option<String>,
    breach_risk: String,
    breach_reason: String,
    breach_reportable: Option<bool>,
    breach_decided_at: Option<String>,
    resolution: Option<String>,
    cost_pence: Option<i64>,
    resolved_at: Option<String>,
}

/// A signature on a version of the acceptable-use policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct SignatureRecord {
    /// The school whose policy it is (its short name), or `trust` for the trust's
    /// one policy for every school.
    pub school: String,
    pub policy_title: String,
    pub policy_version: String,
    pub full_name: String,
    pub position: String,
    pub signed_on: String,
    pub signed_at: String,
}

/// A request to the head teacher: to change a device, or to take it off site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RequestRecord {
    /// The school the device belongs to (its short name).
    pub school: String,
    pub device_tag: String,
    /// For a change: what to install or alter.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub what: Option<String>,
    /// Why it is needed.
    pub reason: String,
    pub requested_at: String,
    pub status: String,
    /// The person themselves, [`SOMEONE_ELSE`], or nobody yet.
    pub decided_by: Option<String>,
    pub decided_at: Option<String>,
    pub note: String,
}

#[derive(sqlx::FromRow)]
struct RequestRow {
    school: String,
    device_tag: String,
    what: Option<String>,
    reason: String,
    requested_at: String,
    status: String,
    decided_by_self: Option<bool>,
    decided_at: Option<String>,
    note: String,
}

/// A notification in the person's list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, sqlx::FromRow)]
pub struct NotificationRecord {
    pub created_at: String,
    pub body: String,
    pub link: String,
    pub read_at: Option<String>,
}

/// An entry in the activity log that the person made or that is about them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EventRecord {
    pub seq: i64,
    pub at: String,
    /// The person themselves, `system`, or [`SOMEONE_ELSE`].
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub subject_label: String,
    pub details: Value,
}

#[derive(sqlx::FromRow)]
struct EventRow {
    seq: i64,
    at: String,
    actor_id: Option<String>,
    actor: String,
    action: String,
    subject: String,
    subject_label: String,
    details: String,
}

/// Everything Kitroom holds on one person, and nothing about anyone else.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PersonRecord {
    pub account: AccountRecord,
    pub api_tokens: Vec<TokenRecord>,
    pub loans: Vec<LoanRecord>,
    pub incidents_reported: Vec<IncidentRecord>,
    pub signatures: Vec<SignatureRecord>,
    pub change_requests: Vec<RequestRecord>,
    pub offsite_requests: Vec<RequestRecord>,
    pub notifications: Vec<NotificationRecord>,
    pub events: Vec<EventRecord>,
}

/// Keys in an event's details that name a person.
const PERSON_KEYS: &[&str] = &[
    "actor",
    "borrower",
    "decided_by",
    "email",
    "full_name",
    "issued_by",
    "person",
    "received_by",
    "reported_by",
    "reporter",
    "username",
];

/// Replaces every value under a key that names a person with [`SOMEONE_ELSE`],
/// unless it names `me` (by username, full name or email).
fn redact_people(v: &mut Value, me: &[&str]) {
    match v {
        Value::Object(map) => {
            for (k, v) in map.iter_mut() {
                if PERSON_KEYS.contains(&k.as_str()) {
                    redact_value(v, me);
                } else {
                    redact_people(v, me);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| redact_people(v, me)),
        _ => {}
    }
}

/// Redacts every string in `v` that is not one of `me`.
fn redact_value(v: &mut Value, me: &[&str]) {
    match v {
        Value::String(s) if !me.iter().any(|m| m.eq_ignore_ascii_case(s)) => {
            *s = SOMEONE_ELSE.to_owned();
        }
        Value::Object(map) => map.values_mut().for_each(|v| redact_value(v, me)),
        Value::Array(items) => items.iter_mut().for_each(|v| redact_value(v, me)),
        _ => {}
    }
}

/// `text` with every other person's full name replaced by [`SOMEONE_ELSE`]. For
/// text Kitroom wrote itself (notifications), which names people by full name.
fn redact_names(text: &str, others: &[String]) -> String {
    let mut out = text.to_owned();
    for name in others {
        if name.chars().count() >= 3 && out.contains(name.as_str()) {
            out = out.replace(name.as_str(), SOMEONE_ELSE);
        }
    }
    out
}

impl Store {
    /// Devices counted by kind, status and location.
    pub async fn inventory(&self, scope: &Scope) -> Result<Vec<InventoryCount>, StoreError> {
        let mut qb = QueryBuilder::new(
            "select d.school_id, d.kind, d.status, l.name as location, count(*) as devices
             from device d join location l on l.id = d.location_id where 1 = 1",
        );
        push_scope(&mut qb, scope);
        qb.push(" group by d.kind, d.status, l.id, d.school_id order by l.name collate nocase");
        qb.build_query_as::<InventoryRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(|r| {
                Ok(InventoryCount {
                    school: SchoolId(r.school_id),
                    kind: parse_word(&r.kind)?,
                    status: parse_word(&r.status)?,
                    location: r.location,
                    devices: r.devices,
                })
            })
            .collect()
    }

    /// Devices that are not retired, counted by kind and [`Compliance`], verified
    /// recently meaning on or after `since`.
    pub async fn encryption_compliance(
        &self,
        scope: &Scope,
        since: NaiveDate,
    ) -> Result<Vec<ComplianceCount>, StoreError> {
        let mut qb = QueryBuilder::new(
            "select d.school_id, d.kind, d.encryption_state, d.encryption_verified_on >= ",
        );
        qb.push_bind(since.to_string()).push(
            " as recent, count(*) as devices
             from device d join location l on l.id = d.location_id where d.status <> 'retired'",
        );
        push_scope(&mut qb, scope);
        qb.push(" group by d.kind, d.encryption_state, recent, d.school_id");
        let rows = qb
            .build_query_as::<ComplianceRow>()
            .fetch_all(self.reader())
            .await?;
        let mut out: Vec<ComplianceCount> = Vec::new();
        for r in rows {
            let school = SchoolId(r.school_id);
            let kind = parse_word(&r.kind)?;
            let compliance = Compliance::of(parse_word(&r.encryption_state)?, r.recent);
            match out
                .iter_mut()
                .find(|c| c.school == school && c.kind == kind && c.compliance == compliance)
            {
                Some(c) => c.devices += r.devices,
                None => out.push(ComplianceCount {
                    school,
                    kind,
                    compliance,
                    devices: r.devices,
                }),
            }
        }
        Ok(out)
    }

    /// Devices that are not retired, by tag; only those not verified as encrypted
    /// since `since` when `gaps_only`.
    pub async fn encryption_devices(
        &self,
        scope: &Scope,
        since: NaiveDate,
        gaps_only: bool,
    ) -> Result<Vec<DeviceLine>, StoreError> {
        let mut qb = QueryBuilder::new(DEVICE_LINE);
        qb.push(" where d.status <> 'retired'");
        if gaps_only {
            // The complement of `Compliance::Verified`.
            qb.push(" and not (d.encryption_state = 'encrypted' and coalesce(d.encryption_verified_on >= ")
                .push_bind(since.to_string())
                .push(", 0))");
        }
        push_scope(&mut qb, scope);
        qb.push(" order by d.tag collate nocase");
        qb.build_query_as::<DeviceLineRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(DeviceLine::try_from)
            .collect()
    }

    /// Open loans due before `now`, the longest overdue first.
    pub async fn overdue_loans(
        &self,
        scope: &Scope,
        now: DateTime<Utc>,
    ) -> Result<Vec<OverdueLoan>, StoreError> {
        let mut qb = QueryBuilder::new(
            "select d.school_id, d.tag, d.kind, d.make, d.model, l.name as location, b.username as borrower,
                b.full_name as borrower_name, lo.out_at, lo.due_at, lo.off_site, lo.purpose
             from loan lo join device d on d.id = lo.device_id join location l on l.id = d.location_id
             join person b on b.id = lo.borrower_id
             where lo.returned_at is null and lo.due_at < ",
        );
        qb.push_bind(time_text(now));
        push_scope(&mut qb, scope);
        qb.push(" order by lo.due_at");
        qb.build_query_as::<OverdueRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(|r| {
                Ok(OverdueLoan {
                    school: SchoolId(r.school_id),
                    tag: r.tag,
                    kind: parse_word(&r.kind)?,
                    make: r.make,
                    model: r.model,
                    location: r.location,
                    borrower: r.borrower,
                    borrower_name: r.borrower_name,
                    out_at: parse_time(&r.out_at)?,
                    due_at: parse_time(&r.due_at)?,
                    off_site: r.off_site,
                    purpose: r.purpose,
                })
            })
            .collect()
    }

    /// Devices that are not retired and have not been audited on or after `since`:
    /// never audited first, then the longest ago.
    pub async fn unaudited_devices(
        &self,
        scope: &Scope,
        since: NaiveDate,
    ) -> Result<Vec<DeviceLine>, StoreError> {
        let mut qb = QueryBuilder::new(DEVICE_LINE);
        qb.push(
            " where d.status <> 'retired' and (d.last_audited_on is null or d.last_audited_on < ",
        )
        .push_bind(since.to_string())
        .push(")");
        push_scope(&mut qb, scope);
        qb.push(" order by d.last_audited_on is not null, d.last_audited_on, d.tag collate nocase");
        qb.build_query_as::<DeviceLineRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(DeviceLine::try_from)
            .collect()
    }

    /// Incidents counted, with their cost, by the hour they happened in and kind.
    pub async fn incident_tallies(
        &self,
        scope: &IncidentScope,
    ) -> Result<Vec<IncidentTally>, StoreError> {
        let mut qb = QueryBuilder::new(
            "select i.school_id, substr(i.occurred_at, 1, 13) as hour, i.kind, count(*) as incidents,
                count(i.cost_pence) as costed, coalesce(sum(i.cost_pence), 0) as cost_pence
             from incident i join device d on d.id = i.device_id join location l on l.id = d.location_id
             where 1 = 1",
        );
        if let Some(school) = scope.school {
            qb.push(" and i.school_id = ").push_bind(school.0);
        }
        if let Some(from) = scope.from {
            qb.push(" and i.occurred_at >= ").push_bind(time_text(from));
        }
        if let Some(until) = scope.until {
            qb.push(" and i.occurred_at < ").push_bind(time_text(until));
        }
        if let Some(kind) = scope.kind {
            qb.push(" and i.kind = ").push_bind(kind.as_str());
        }
        if let Some(location) = &scope.location {
            qb.push(" and l.name = ")
                .push_bind(location.clone())
                .push(" collate nocase");
        }
        qb.push(" group by i.school_id, hour, i.kind order by hour");
        qb.build_query_as::<TallyRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(|r| {
                Ok(IncidentTally {
                    school: SchoolId(r.school_id),
                    hour: parse_time(&format!("{}:00:00Z", r.hour))?,
                    kind: parse_word(&r.kind)?,
                    incidents: r.incidents,
                    costed: r.costed,
                    cost_pence: r.cost_pence,
                })
            })
            .collect()
    }

    /// Every device that is not retired (and any retired one lent in the period),
    /// with how many loans began in `[from, until)`: most lent first.
    pub async fn utilisation(
        &self,
        scope: &Scope,
        from: DateTime<Utc>,
        until: DateTime<Utc>,
    ) -> Result<Vec<DeviceUse>, StoreError> {
        let mut qb = QueryBuilder::new(
            "select d.tag, d.kind, d.make, d.model, l.name as location, d.status, count(lo.id) as loans,
                max(lo.out_at) as last_out_at
             from device d join location l on l.id = d.location_id
             left join loan lo on lo.device_id = d.id and lo.out_at >= ",
        );
        qb.push_bind(time_text(from))
            .push(" and lo.out_at < ")
            .push_bind(time_text(until))
            .push(" where 1 = 1");
        push_scope(&mut qb, scope);
        qb.push(
            " group by d.id having d.status <> 'retired' or count(lo.id) > 0
              order by loans desc, d.tag collate nocase",
        );
        qb.build_query_as::<UseRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(|r| {
                Ok(DeviceUse {
                    tag: r.tag,
                    kind: parse_word(&r.kind)?,
                    make: r.make,
                    model: r.model,
                    location: r.location,
                    status: parse_word(&r.status)?,
                    loans: r.loans,
                    last_out_at: r.last_out_at.as_deref().map(parse_time).transpose()?,
                })
            })
            .collect()
    }

    /// Everything Kitroom holds on `person`, with other people written as
    /// [`SOMEONE_ELSE`]: the answer to a subject-access request. Their loans,
    /// incidents, signatures, requests, tokens and log entries at `school` only;
    /// at every school when `None`. The account and its notifications are the
    /// account's, whichever school asks.
    pub async fn person_record(
        &self,
        person: &Person,
        school: Option<SchoolId>,
    ) -> Result<PersonRecord, StoreError> {
        let id = person.id.to_string();
        let school = school.map(|s| s.0);
        let db = self.reader();
        let account: AccountRecord = sqlx::query_as(
            "select username, full_name, email, position, kind,
                coalesce(trust_role, (select group_concat(s.slug || ': ' || m.role, ', ')
                    from membership m join school s on s.id = m.school_id
                    where m.person_id = p.id)) as role,
                active,
                password_hash is not null as password_set,
                (select count(*) from session s where s.person_id = p.id) as signed_in_sessions,
                created_at, updated_at
             from person p where id = ?",
        )
        .bind(&id)
        .fetch_optional(db)
        .await?
        .ok_or(StoreError::NotFound)?;
        let me_name = account.full_name.clone();
        let me_email = account.email.clone().unwrap_or_default();
        let me = [
            account.username.as_str(),
            me_name.as_str(),
            me_email.as_str(),
        ];
        let me: Vec<&str> = me.into_iter().filter(|s| !s.is_empty()).collect();
        let someone = |is_self: bool| {
            if is_self {
                account.username.clone()
            } else {
                SOMEONE_ELSE.to_owned()
            }
        };

        let api_tokens: Vec<TokenRecord> = sqlx::query_as(
            "select name, created_at, last_used_at, revoked_at from api_token
             where person_id = ?1 and (?2 is null or school_id = ?2) order by created_at",
        )
        .bind(&id)
        .bind(school)
        .fetch_all(db)
        .await?;

        let loans = sqlx::query_as::<_, LoanRecordRow>(
            "select sc.slug as school, d.tag as device_tag, d.kind as device_kind, trim(d.make || ' ' || d.model) as device_name,
                l.out_at, l.due_at, l.purpose, l.off_site, l.authorisation_id is not null as off_site_authorised,
                l.issued_by = l.borrower_id as issued_by_self, l.returned_at, l.outcome, rl.name as returned_to,
                l.received_by = l.borrower_id as received_by_self, l.return_condition, l.battery_percent,
                l.on_charge, l.images_cleared
             from loan l join device d on d.id = l.device_id join school sc on sc.id = d.school_id
             left join location rl on rl.id = l.return_location_id
             where l.borrower_id = ?1 and (?2 is null or d.school_id = ?2) order by l.out_at",
        )
        .bind(&id)
        .bind(school)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|r| LoanRecord {
            school: r.school,
            device_tag: r.device_tag,
            device_kind: r.device_kind,
            device_name: r.device_name,
            out_at: r.out_at,
            due_at: r.due_at,
            purpose: r.purpose,
            off_site: r.off_site,
            off_site_authorised: r.off_site_authorised,
            issued_by: someone(r.issued_by_self),
            returned_at: r.returned_at,
            outcome: r.outcome,
            returned_to: r.returned_to,
            received_by: r.received_by_self.map(someone),
            return_condition: r.return_condition,
            battery_percent: r.battery_percent,
            on_charge: r.on_charge,
            images_cleared: r.images_cleared,
        })
        .collect();

        let incidents_reported = sqlx::query_as::<_, IncidentRecordRow>(
            "select sc.slug as school, i.number, d.tag as device_tag, i.kind, i.status, i.reported_at, i.occurred_at, i.place,
                i.description, i.police_reference, i.breach_risk, i.breach_reason, i.breach_reportable,
                i.breach_decided_at, i.resolution, i.cost_pence, i.resolved_at
             from incident i join device d on d.id = i.device_id join school sc on sc.id = i.school_id
             where i.reported_by = ?1 and (?2 is null or i.school_id = ?2) order by i.reported_at",
        )
        .bind(&id)
        .bind(school)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|r| IncidentRecord {
            school: r.school,
            number: r.number,
            device_tag: r.device_tag,
            kind: r.kind,
            status: r.status,
            reported_at: r.reported_at,
            occurred_at: r.occurred_at,
            place: r.place,
            description: r.description,
            police_reference: r.police_reference,
            breach_risk: r.breach_risk,
            breach_reason: r.breach_reason,
            breach_reportable: r.breach_reportable,
            breach_decided_at: r.breach_decided_at,
            resolution: r.resolution,
            cost_pence: r.cost_pence,
            resolved_at: r.resolved_at,
        })
        .collect();

        let signatures: Vec<SignatureRecord> = sqlx::query_as(
            "select coalesce(sc.slug, 'trust') as school, p.title as policy_title, p.version_label as policy_version, s.full_name, s.position,
                s.signed_on, s.signed_at
             from signature s join policy p on p.id = s.policy_id left join school sc on sc.id = p.school_id
             where s.person_id = ?1 and (?2 is null or p.school_id in (?2, 0)) order by s.signed_at",
        )
        .bind(&id)
        .bind(school)
        .fetch_all(db)
        .await?;

        let request = |r: RequestRow| RequestRecord {
            school: r.school,
            device_tag: r.device_tag,
            what: r.what,
            reason: r.reason,
            requested_at: r.requested_at,
            status: r.status,
            decided_by: r.decided_by_self.map(someone),
            decided_at: r.decided_at,
            note: r.note,
        };
        let change_requests = sqlx::query_as::<_, RequestRow>(
            "select sc.slug as school, d.tag as device_tag, c.what, c.why as reason, c.requested_at, c.status,
                c.decided_by = c.person_id as decided_by_self, c.decided_at, c.note
             from change_request c join device d on d.id = c.device_id join school sc on sc.id = d.school_id
             where c.person_id = ?1 and (?2 is null or d.school_id = ?2) order by c.requested_at",
        )
        .bind(&id)
        .bind(school)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(request)
        .collect();
        let offsite_requests = sqlx::query_as::<_, RequestRow>(
            "select sc.slug as school, d.tag as device_tag, null as what, o.reason, o.requested_at, o.status,
                o.decided_by = o.person_id as decided_by_self, o.decided_at, o.note
             from offsite_request o join device d on d.id = o.device_id join school sc on sc.id = d.school_id
             where o.person_id = ?1 and (?2 is null or d.school_id = ?2) order by o.requested_at",
        )
        .bind(&id)
        .bind(school)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(request)
        .collect();

        // Kitroom's own notifications name people by full name ("reported by …").
        let mut notifications: Vec<NotificationRecord> = sqlx::query_as(
            "select created_at, body, link, read_at from notification
             where person_id = ? order by created_at",
        )
        .bind(&id)
        .fetch_all(db)
        .await?;
        if !notifications.is_empty() {
            let mut others: Vec<String> =
                sqlx::query_scalar("select full_name from person where id <> ? and full_name <> ?")
                    .bind(&id)
                    .bind(&account.full_name)
                    .fetch_all(db)
                    .await?;
            // Longest first, so "Jo Smith-Jones" goes before "Jo Smith".
            others.sort_by_key(|n| std::cmp::Reverse(n.len()));
            for n in &mut notifications {
                n.body = redact_names(&n.body, &others);
            }
        }

        // Two indexed reads joined by `union`: what they did, and what was done
        // to their account.
        let subject = format!("person:{id}");
        let events = sqlx::query_as::<_, EventRow>(
            "select seq, at, actor_id, actor, action, subject, subject_label, details from event
             where actor_id = ?1 and (?3 is null or school_id = ?3)
             union
             select seq, at, actor_id, actor, action, subject, subject_label, details from event
             where subject = ?2 and (?3 is null or school_id = ?3)
             order by seq",
        )
        .bind(&id)
        .bind(&subject)
        .bind(school)
        .fetch_all(db)
        .await?
        .into_iter()
        .map(|r| {
            let mine = r.actor_id.as_deref() == Some(id.as_str());
            let actor = match (&r.actor_id, mine) {
                (_, true) => account.username.clone(),
                (None, false) => r.actor,
                (Some(_), false) => SOMEONE_ELSE.to_owned(),
            };
            let mut details: Value = serde_json::from_str(&r.details).unwrap_or(Value::Null);
            if r.subject == subject {
                // About them: everything in it is theirs.
                EventRecord {
                    seq: r.seq,
                    at: r.at,
                    actor,
                    action: r.action,
                    subject: r.subject,
                    subject_label: r.subject_label,
                    details,
                }
            } else if r.subject.starts_with("person:") {
                // Something they did to another person's account.
                EventRecord {
                    seq: r.seq,
                    at: r.at,
                    actor,
                    action: r.action,
                    subject: "person".into(),
                    subject_label: SOMEONE_ELSE.into(),
                    details: json!({"left_out": "This entry is about someone else."}),
                }
            } else {
                // Something they did to a device or a location: keep it, without
                // anyone else it names.
                redact_people(&mut details, &me);
                EventRecord {
                    seq: r.seq,
                    at: r.at,
                    actor,
                    action: r.action,
                    subject: r.subject,
                    subject_label: r.subject_label,
                    details,
                }
            }
        })
        .collect();

        Ok(PersonRecord {
            account,
            api_tokens,
            loans,
            incidents_reported,
            signatures,
            change_requests,
            offsite_requests,
            notifications,
            events,
        })
    }

    /// Records in the activity log that `person`'s record was exported, and in
    /// which format, so a subject-access export never goes unnoticed.
    pub async fn record_person_export(
        &self,
        actor: crate::Actor,
        person: &Person,
        format: &'static str,
    ) -> Result<(), StoreError> {
        let subject: Subject = person.subject();
        self.write(move |conn| {
            Box::pin(async move {
                append(
                    conn,
                    &actor,
                    "person.exported",
                    &subject,
                    json!({"format": format}),
                    Utc::now(),
                )
                .await?;
                Ok(())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_recently_verified_encrypted_device_is_compliant() {
        use EncryptionState::*;
        assert_eq!(Compliance::of(Encrypted, Some(true)), Compliance::Verified);
        assert_eq!(
            Compliance::of(Encrypted, Some(false)),
            Compliance::VerificationOld
        );
        assert_eq!(Compliance::of(Encrypted, None), Compliance::NeverVerified);
        assert_eq!(
            Compliance::of(NotEncrypted, Some(true)),
            Compliance::NotEncrypted
        );
        assert_eq!(Compliance::of(Unknown, None), Compliance::Unknown);
    }

    #[test]
    fn other_people_named_in_an_event_are_left_out() {
        let mut v = json!({"borrower": "kim", "loan": "x", "nested": {"full_name": "Jo Test", "email": "k@x"}});
        redact_people(&mut v, &["jo", "Jo Test"]);
        assert_eq!(
            v,
            json!({"borrower": SOMEONE_ELSE, "loan": "x", "nested": {"full_name": "Jo Test", "email": SOMEONE_ELSE}})
        );
    }

    #[test]
    fn other_peoples_names_in_a_notification_are_left_out() {
        let others = vec!["Kim Test".to_owned()];
        assert_eq!(
            redact_names("Loss of LAP-9 reported by Kim Test", &others),
            "Loss of LAP-9 reported by someone else"
        );
    }
}
