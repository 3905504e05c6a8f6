//! Incidents: damage, loss and theft of a device, what happens to the device, and
//! whether a loss may be a personal data breach.
//!
//! The breach assessment is made from the facts on record at the moment of the
//! report, and a possible breach carries a deadline: UK data protection law gives a
//! school 72 hours from becoming aware of a breach to decide whether to report it.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;

use crate::device::{words, DeviceStatus, Encryption, EncryptionState, StatusChange};
use crate::invalid::{self, Invalid};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

words!(
    /// What happened to the device.
    IncidentKind, "kind of incident" {
        Damage = "damage", "Damage";
        Loss = "loss", "Loss";
        Theft = "theft", "Theft";
    }
);

words!(
    /// Where the manager is with an incident.
    IncidentStatus, "incident status" {
        Open = "open", "Open";
        Investigating = "investigating", "Investigating";
        Resolved = "resolved", "Resolved";
    }
);

words!(
    /// How an incident ended.
    Resolution, "resolution" {
        Repaired = "repaired", "Repaired";
        Recovered = "recovered", "Recovered";
        WrittenOff = "written_off", "Written off";
    }
);

words!(
    /// How likely a loss is to be a personal data breach.
    Risk, "risk" {
        None = "none", "No data risk";
        Low = "low", "Low risk";
        Possible = "possible", "Possible personal data breach";
    }
);

/// How long the school has to decide whether a possible breach is reportable.
pub const DECISION_HOURS: i64 = 72;

/// The assessment made when the incident is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachAssessment {
    pub risk: Risk,
    /// In plain words: "Low risk: encrypted with BitLocker, verified 3 Sep 2025".
    pub reason: String,
    /// For a possible breach, when the decision is due.
    pub decide_by: Option<DateTime<Utc>>,
}

/// The facts about the device that the assessment uses, as they are on record.
#[derive(Debug, Clone)]
pub struct DataFacts<'a> {
    pub encryption: &'a Encryption,
    pub holds_personal_data: bool,
    pub captures_images: bool,
}

fn date_words(d: NaiveDate) -> String {
    d.format("%-d %b %Y").to_string()
}

/// Assesses whether an incident may be a personal data breach.
pub fn assess_breach(
    kind: IncidentKind,
    facts: &DataFacts<'_>,
    reported_at: DateTime<Utc>,
) -> BreachAssessment {
    if kind == IncidentKind::Damage {
        return BreachAssessment {
            risk: Risk::None,
            reason:
                "No data risk: the device is damaged, not lost, and still in the school's hands."
                    .into(),
            decide_by: None,
        };
    }
    let mut holds = Vec::new();
    if facts.holds_personal_data {
        holds.push("it may hold personal data");
    }
    if facts.captures_images {
        holds.push("it takes photos, which may show pupils");
    }
    let holds = if holds.is_empty() {
        String::new()
    } else {
        format!(", and {}", holds.join(" and "))
    };
    let e = facts.encryption;
    let possible = |why: String| BreachAssessment {
        risk: Risk::Possible,
        reason: format!("Possible personal data breach: {why}{holds}.{DECISION_ASKED}"),
        decide_by: Some(reported_at + Duration::hours(DECISION_HOURS)),
    };
    match (e.state, e.verified_on) {
        (EncryptionState::Encrypted, Some(verified)) => {
            let method = e
                .method
                .map(|m| format!(" with {}", m.label()))
                .unwrap_or_default();
            BreachAssessment {
                risk: Risk::Low,
                reason: format!(
                    "Low risk: encrypted{method}, verified {}.",
                    date_words(verified)
                ),
                decide_by: None,
            }
        }
        (EncryptionState::Encrypted, None) => {
            possible("recorded as encrypted, but the encryption was never verified".into())
        }
        (EncryptionState::NotEncrypted, _) => possible("not encrypted".into()),
        (EncryptionState::Unknown, _) => possible("not recorded as encrypted".into()),
    }
}

/// What a report does to the device: a loss or theft marks it lost (closing any
/// loan); damage leaves its status alone (the manager decides on repair).
pub fn status_change_on_report(kind: IncidentKind, status: DeviceStatus) -> Option<StatusChange> {
    match kind {
        IncidentKind::Loss | IncidentKind::Theft
            if status.apply(StatusChange::ReportLost).is_ok() =>
        {
            Some(StatusChange::ReportLost)
        }
        _ => None,
    }
}

/// Why a move of an incident was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IncidentRefusal {
    #[error("This incident is already resolved.")]
    AlreadyResolved,
    #[error("Choose how it was resolved.")]
    ResolutionMissing,
    #[error("A damaged device is repaired or written off, not recovered.")]
    RecoveredDamage,
    #[error("A lost or stolen device is recovered or written off, not repaired.")]
    RepairedLoss,
    #[error("Record the data protection decision before resolving a possible breach.")]
    DecisionMissing,
    #[error("Only a possible breach needs a data protection decision.")]
    NoBreachRisk,
    #[error("The decision has already been recorded.")]
    AlreadyDecided,
    #[error("Only a theft has a police reference.")]
    NotATheft,
}

impl IncidentRefusal {
    /// Stable and machine-readable.
    pub fn code(&self) -> &'static str {
        match self {
            IncidentRefusal::AlreadyResolved => "incident-resolved",
            IncidentRefusal::ResolutionMissing => "resolution-missing",
            IncidentRefusal::RecoveredDamage => "damage-not-recovered",
            IncidentRefusal::RepairedLoss => "loss-not-repaired",
            IncidentRefusal::DecisionMissing => "breach-decision-missing",
            IncidentRefusal::NoBreachRisk => "no-breach-risk",
            IncidentRefusal::AlreadyDecided => "breach-already-decided",
            IncidentRefusal::NotATheft => "not-a-theft",
        }
    }

    /// The field of the form it belongs beside.
    pub fn field(&self) -> &'static str {
        match self {
            IncidentRefusal::NoBreachRisk | IncidentRefusal::AlreadyDecided => "reportable",
            IncidentRefusal::NotATheft => "police_reference",
            _ => "status",
        }
    }
}

/// Whether the data protection decision may be recorded now: only on a possible
/// breach, and only once.
pub fn may_decide_breach(risk: Risk, decided: bool) -> Result<(), IncidentRefusal> {
    if risk != Risk::Possible {
        return Err(IncidentRefusal::NoBreachRisk);
    }
    if decided {
        return Err(IncidentRefusal::AlreadyDecided);
    }
    Ok(())
}

/// Whether a police reference may be added: only to a theft.
pub fn may_add_police_reference(kind: IncidentKind) -> Result<(), IncidentRefusal> {
    if kind != IncidentKind::Theft {
        return Err(IncidentRefusal::NotATheft);
    }
    Ok(())
}

/// Checks a move to `to` (with `resolution` when resolving), and says what it does
/// to the device.
pub fn move_incident(
    kind: IncidentKind,
    from: IncidentStatus,
    to: IncidentStatus,
    resolution: Option<Resolution>,
    breach_pending: bool,
    device: DeviceStatus,
) -> Result<Option<StatusChange>, IncidentRefusal> {
    if from == IncidentStatus::Resolved {
        return Err(IncidentRefusal::AlreadyResolved);
    }
    if to != IncidentStatus::Resolved {
        return Ok(None);
    }
    if breach_pending {
        return Err(IncidentRefusal::DecisionMissing);
    }
    let resolution = resolution.ok_or(IncidentRefusal::ResolutionMissing)?;
    let change = match (kind, resolution) {
        (IncidentKind::Damage, Resolution::Recovered) => {
            return Err(IncidentRefusal::RecoveredDamage)
        }
        (IncidentKind::Loss | IncidentKind::Theft, Resolution::Repaired) => {
            return Err(IncidentRefusal::RepairedLoss)
        }
        (_, Resolution::WrittenOff) => StatusChange::Retire,
        (_, Resolution::Recovered) => StatusChange::Found,
        (_, Resolution::Repaired) => StatusChange::BackFromRepair,
    };
    // A move the device is not in a state for (a repaired device that never went to
    // repair) simply leaves it where it is.
    Ok(device.apply(change).is_ok().then_some(change))
}

/// A report as typed, before checking.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ReportInput {
    pub kind: String,
    /// The day it happened; today when empty.
    pub occurred_on: String,
    /// Roughly when, "14:20"; optional.
    pub occurred_time: String,
    /// Where it happened.
    pub place: String,
    pub description: String,
    pub police_reference: String,
}

/// A report, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDetails {
    pub kind: IncidentKind,
    pub occurred_at: DateTime<Utc>,
    pub place: String,
    pub description: String,
    pub police_reference: Option<String>,
}

impl ReportInput {
    pub fn parse(&self, now: DateTime<Utc>) -> Result<ReportDetails, Invalid> {
        let mut invalid = Invalid::new();
        let kind = invalid.check(
            "kind",
            if self.kind.trim().is_empty() {
                Err("Choose what happened: damage, loss or theft.".to_string())
            } else {
                self.kind.parse()
            },
        );
        let today = now.with_timezone(&London).date_naive();
        let day = invalid
            .check(
                "occurred_on",
                crate::device::parse_date(&self.occurred_on, "The date"),
            )
            .map(|d| d.unwrap_or(today));
        let time = invalid.check(
            "occurred_time",
            match self.occurred_time.trim() {
                "" => Ok(None),
                t => NaiveTime::parse_from_str(t, "%H:%M")
                    .map(Some)
                    .map_err(|_| "Write the time like 14:20, or leave it empty.".to_string()),
            },
        );
        let place = invalid.check("place", invalid::text(&self.place, "Where", 200));
        let description = invalid.check(
            "description",
            invalid::text(&self.description, "The description", 4000).and_then(|d| {
                if d.is_empty() {
                    Err("Describe what happened, in a sentence or two.".to_string())
                } else {
                    Ok(d)
                }
            }),
        );
        let police = invalid.check(
            "police_reference",
            invalid::text(&self.police_reference, "Police reference", 60),
        );
        let occurred_at = match (day, time) {
            (Some(day), Some(time)) => {
                let local = day.and_time(time.unwrap_or(NaiveTime::MIN));
                let at = London
                    .from_local_datetime(&local)
                    .earliest()
                    .map(|t| t.with_timezone(&Utc))
                    .unwrap_or(now);
                // With no time given, the start of a day in the past is fine; today, "now".
                let at = if time.is_none() && day == today {
                    now
                } else {
                    at
                };
                if at > now + Duration::minutes(5) {
                    invalid.add("occurred_on", "It cannot have happened in the future.");
                }
                Some(at.min(now))
            }
            _ => None,
        };
        invalid.into_result()?;
        match (kind, occurred_at, place, description, police) {
            (Some(kind), Some(occurred_at), Some(place), Some(description), Some(police)) => {
                Ok(ReportDetails {
                    kind,
                    occurred_at,
                    place,
                    description,
                    police_reference: Some(police)
                        .filter(|p| !p.is_empty() && kind == IncidentKind::Theft),
                })
            }
            _ => unreachable!("every field was checked above"),
        }
    }
}

/// The data protection decision on a possible breach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BreachDecision {
    pub reportable: bool,
    pub reason: String,
}

pub fn breach_decision(reportable: &str, reason: &str) -> Result<BreachDecision, Invalid> {
    let mut invalid = Invalid::new();
    let reportable = match reportable {
        "yes" | "true" => Some(true),
        "no" | "false" => Some(false),
        _ => {
            invalid.add(
                "reportable",
                "Choose whether the breach is reportable to the ICO.",
            );
            None
        }
    };
    let reason = invalid.check("reason", invalid::required_text(reason, "The reason", 2000));
    invalid.into_result()?;
    match (reportable, reason) {
        (Some(reportable), Some(reason)) => Ok(BreachDecision { reportable, reason }),
        _ => unreachable!("every field was checked above"),
    }
}

/// Time left until `deadline`, in words: "2 days 5 hours left", "3 hours overdue".
/// The sentence of a possible breach's reason that asks the manager for the
/// decision, and its deadline.
const DECISION_ASKED: &str = " Decide within 72 hours whether to report it to the ICO.";

/// An assessment's reason as the person who reported the incident reads it: the
/// facts, without the manager's request for a decision (that is not theirs to make).
pub fn reason_for_reporter(reason: &str) -> &str {
    reason.strip_suffix(DECISION_ASKED).unwrap_or(reason)
}

pub fn time_left(deadline: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let d = deadline - now;
    let (d, suffix) = if d < Duration::zero() {
        (-d, "overdue")
    } else {
        (d, "left")
    };
    let hours = d.num_hours();
    let minutes = d.num_minutes() % 60;
    match hours {
        0 => format!("{minutes} min {suffix}"),
        h if h < 24 => format!("{h} h {minutes} min {suffix}"),
        h => format!("{} days {} h {suffix}", h / 24, h % 24),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_reporter_reads_the_facts_without_the_managers_deadline() {
        assert_eq!(DECISION_HOURS, 72, "the sentence names 72 hours");
        let r = "Possible personal data breach: not encrypted. Decide within 72 hours whether to report it to the ICO.";
        assert_eq!(
            reason_for_reporter(r),
            "Possible personal data breach: not encrypted."
        );
        assert_eq!(reason_for_reporter("No risk."), "No risk.");
    }
    use crate::device::EncryptionMethod;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T10:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn enc(
        state: EncryptionState,
        method: Option<EncryptionMethod>,
        verified: Option<(i32, u32, u32)>,
    ) -> Encryption {
        Encryption {
            state,
            method,
            verified_on: verified.map(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d).unwrap()),
        }
    }

    #[test]
    fn a_lost_encrypted_and_verified_laptop_is_low_risk() {
        let e = enc(
            EncryptionState::Encrypted,
            Some(EncryptionMethod::Bitlocker),
            Some((2025, 9, 3)),
        );
        let a = assess_breach(
            IncidentKind::Loss,
            &DataFacts {
                encryption: &e,
                holds_personal_data: true,
                captures_images: false,
            },
            now(),
        );
        assert_eq!(a.risk, Risk::Low);
        assert_eq!(
            a.reason,
            "Low risk: encrypted with BitLocker, verified 3 Sep 2025."
        );
        assert_eq!(a.decide_by, None);
    }

    #[test]
    fn every_combination_of_encryption_and_data_is_assessed() {
        let states = [
            enc(
                EncryptionState::Encrypted,
                Some(EncryptionMethod::Filevault),
                Some((2025, 1, 2)),
            ),
            enc(
                EncryptionState::Encrypted,
                Some(EncryptionMethod::Filevault),
                None,
            ),
            enc(EncryptionState::NotEncrypted, None, None),
            enc(EncryptionState::Unknown, None, None),
        ];
        for kind in IncidentKind::ALL {
            for e in &states {
                for personal in [false, true] {
                    for images in [false, true] {
                        let a = assess_breach(
                            *kind,
                            &DataFacts {
                                encryption: e,
                                holds_personal_data: personal,
                                captures_images: images,
                            },
                            now(),
                        );
                        let expected = match (kind, e.state, e.verified_on.is_some()) {
                            (IncidentKind::Damage, _, _) => Risk::None,
                            (_, EncryptionState::Encrypted, true) => Risk::Low,
                            _ => Risk::Possible,
                        };
                        assert_eq!(a.risk, expected, "{kind:?} {e:?} {personal} {images}");
                        assert_eq!(a.decide_by.is_some(), expected == Risk::Possible);
                        if expected == Risk::Possible {
                            assert_eq!(a.decide_by, Some(now() + Duration::hours(72)));
                            assert!(a.reason.starts_with("Possible personal data breach: "));
                            assert_eq!(a.reason.contains("may hold personal data"), personal);
                            assert_eq!(a.reason.contains("takes photos"), images);
                        }
                    }
                }
            }
        }
        let unknown = enc(EncryptionState::Unknown, None, None);
        let a = assess_breach(
            IncidentKind::Theft,
            &DataFacts {
                encryption: &unknown,
                holds_personal_data: false,
                captures_images: false,
            },
            now(),
        );
        assert!(a
            .reason
            .starts_with("Possible personal data breach: not recorded as encrypted."));
    }

    #[test]
    fn a_loss_marks_the_device_lost_but_damage_does_not() {
        assert_eq!(
            status_change_on_report(IncidentKind::Loss, DeviceStatus::OnLoan),
            Some(StatusChange::ReportLost)
        );
        assert_eq!(
            status_change_on_report(IncidentKind::Theft, DeviceStatus::Available),
            Some(StatusChange::ReportLost)
        );
        assert_eq!(
            status_change_on_report(IncidentKind::Damage, DeviceStatus::OnLoan),
            None
        );
        assert_eq!(
            status_change_on_report(IncidentKind::Loss, DeviceStatus::Lost),
            None,
            "already lost"
        );
    }

    #[test]
    fn resolving_moves_the_device_as_the_school_expects() {
        use IncidentStatus::*;
        let r = |kind, res, device| {
            move_incident(kind, Investigating, Resolved, Some(res), false, device)
        };
        assert_eq!(
            r(
                IncidentKind::Loss,
                Resolution::Recovered,
                DeviceStatus::Lost
            ),
            Ok(Some(StatusChange::Found))
        );
        assert_eq!(
            r(
                IncidentKind::Theft,
                Resolution::WrittenOff,
                DeviceStatus::Lost
            ),
            Ok(Some(StatusChange::Retire))
        );
        assert_eq!(
            r(
                IncidentKind::Damage,
                Resolution::Repaired,
                DeviceStatus::InRepair
            ),
            Ok(Some(StatusChange::BackFromRepair))
        );
        assert_eq!(
            r(
                IncidentKind::Damage,
                Resolution::Repaired,
                DeviceStatus::Available
            ),
            Ok(None)
        );
        assert_eq!(
            r(
                IncidentKind::Damage,
                Resolution::Recovered,
                DeviceStatus::Available
            ),
            Err(IncidentRefusal::RecoveredDamage)
        );
        assert_eq!(
            move_incident(
                IncidentKind::Loss,
                Open,
                Resolved,
                None,
                false,
                DeviceStatus::Lost
            ),
            Err(IncidentRefusal::ResolutionMissing)
        );
        assert_eq!(
            move_incident(
                IncidentKind::Loss,
                Open,
                Resolved,
                Some(Resolution::Recovered),
                true,
                DeviceStatus::Lost
            ),
            Err(IncidentRefusal::DecisionMissing)
        );
        assert_eq!(
            move_incident(
                IncidentKind::Loss,
                Resolved,
                Open,
                None,
                false,
                DeviceStatus::Lost
            ),
            Err(IncidentRefusal::AlreadyResolved)
        );
        assert_eq!(
            move_incident(
                IncidentKind::Loss,
                Open,
                Investigating,
                None,
                true,
                DeviceStatus::Lost
            ),
            Ok(None)
        );
    }

    #[test]
    fn a_report_needs_what_happened_and_not_a_future_date() {
        let input = ReportInput {
            kind: "theft".into(),
            occurred_on: "2026-12-25".into(),
            ..Default::default()
        };
        let err = input.parse(now()).unwrap_err();
        assert!(err.for_field("description").is_some());
        assert!(err.for_field("occurred_on").unwrap().contains("future"));
        let ok = ReportInput {
            kind: "theft".into(),
            occurred_on: "2026-11-22".into(),
            occurred_time: "18:30".into(),
            place: "Car park".into(),
            description: "Taken from my car".into(),
            police_reference: "CR/123/26".into(),
        }
        .parse(now())
        .unwrap();
        assert_eq!(ok.occurred_at.to_rfc3339(), "2026-11-22T18:30:00+00:00");
        assert_eq!(ok.police_reference.as_deref(), Some("CR/123/26"));
    }

    #[test]
    fn time_left_reads_naturally() {
        assert_eq!(
            time_left(now() + Duration::hours(50), now()),
            "2 days 2 h left"
        );
        assert_eq!(
            time_left(now() + Duration::minutes(90), now()),
            "1 h 30 min left"
        );
        assert_eq!(
            time_left(now() - Duration::hours(3), now()),
            "3 h 0 min overdue"
        );
    }
}
