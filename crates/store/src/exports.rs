//! Exports: every table a school hands to auditors, read in batches by key so that
//! millions of rows stream in constant memory.

use sqlx::Row;

use crate::db::{Store, StoreError};

/// What can be exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportKind {
    Devices,
    Loans,
    Incidents,
    Signatures,
    Events,
}

impl ExportKind {
    pub const ALL: &'static [ExportKind] = &[
        ExportKind::Devices,
        ExportKind::Loans,
        ExportKind::Incidents,
        ExportKind::Signatures,
        ExportKind::Events,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ExportKind::Devices => "devices",
            ExportKind::Loans => "loans",
            ExportKind::Incidents => "incidents",
            ExportKind::Signatures => "signatures",
            ExportKind::Events => "events",
        }
    }

    pub fn parse(s: &str) -> Option<ExportKind> {
        ExportKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }

    /// The CSV header: the same field names as the API and the import.
    pub fn header(self) -> &'static [&'static str] {
        match self {
            ExportKind::Devices => &[
                "tag",
                "kind",
                "make",
                "model",
                "serial",
                "location",
                "status",
                "condition",
                "purchased_on",
                "cost_pence",
                "supplier",
                "warranty_until",
                "notes",
                "encryption_state",
                "encryption_method",
                "encryption_verified_on",
                "encryption_verified_by",
                "passcode_enforced",
                "holds_personal_data",
                "captures_images",
                "last_audited_on",
            ],
            ExportKind::Loans => &[
                "id",
                "device",
                "borrower",
                "issued_by",
                "out_at",
                "due_at",
                "purpose",
                "off_site",
                "head_authorised",
                "returned_at",
                "outcome",
                "location",
                "received_by",
                "condition",
                "battery_percent",
                "on_charge",
                "images_cleared",
            ],
            ExportKind::Incidents => &[
                "number",
                "device",
                "kind",
                "status",
                "reported_by",
                "reported_at",
                "occurred_at",
                "place",
                "description",
                "police_reference",
                "breach_risk",
                "breach_reason",
                "decide_by",
                "breach_reportable",
                "breach_decision_reason",
                "resolution",
                "cost_pence",
                "claim_reference",
                "resolved_at",
            ],
            ExportKind::Signatures => &[
                "policy_version",
                "username",
                "full_name",
                "position",
                "signed_on",
                "signed_at",
            ],
            ExportKind::Events => &[
                "seq",
                "at",
                "actor",
                "action",
                "subject",
                "subject_label",
                "details",
                "prev_hash",
                "hash",
                "hash_version",
                "salt",
                "personal_hash",
            ],
        }
    }

    /// Every column as text, keyed by rowid, from just after `?1`, `?2` rows at most,
    /// of the school `?3`.
    fn query(self) -> &'static str {
        match self {
            ExportKind::Devices => {
                "select d.rowid, d.tag, d.kind, d.make, d.model, d.serial, l.name, d.status, d.condition, d.purchased_on,
                   cast(d.cost_pence as text), d.supplier, d.warranty_until, d.notes, d.encryption_state, d.encryption_method,
                   d.encryption_verified_on, v.username, case when d.passcode_enforced then 'true' else 'false' end, case when d.holds_personal_data then 'true' else 'false' end,
                   case when d.captures_images then 'true' else 'false' end, d.last_audited_on
                 from device d join location l on l.id = d.location_id left join person v on v.id = d.encryption_verified_by
                 where d.rowid > ?1 and d.school_id = ?3 order by d.rowid limit ?2"
            }
            ExportKind::Loans => {
                "select l.rowid, l.id, d.tag, b.username, i.username, l.out_at, l.due_at, l.purpose, case when l.off_site then 'true' else 'false' end,
                   case when l.authorisation_id is not null then 'true' else 'false' end, l.returned_at, l.outcome, rl.name, r.username, l.return_condition,
                   cast(l.battery_percent as text), case l.on_charge when 1 then 'true' when 0 then 'false' end, case l.images_cleared when 1 then 'true' when 0 then 'false' end
                 from loan l join device d on d.id = l.device_id join person b on b.id = l.borrower_id join person i on i.id = l.issued_by
                 left join person r on r.id = l.received_by left join location rl on rl.id = l.return_location_id
                 where l.rowid > ?1 and l.school_id = ?3 order by l.rowid limit ?2"
            }
            ExportKind::Incidents => {
                "select x.rowid, cast(x.number as text), d.tag, x.kind, x.status, p.username, x.reported_at, x.occurred_at, x.place,
                   x.description, x.police_reference, x.breach_risk, x.breach_reason, x.decide_by, case x.breach_reportable when 1 then 'true' when 0 then 'false' end,
                   x.breach_decision_reason, x.resolution, cast(x.cost_pence as text), x.claim_reference, x.resolved_at
                 from incident x join device d on d.id = x.device_id join person p on p.id = x.reported_by
                 where x.rowid > ?1 and x.school_id = ?3 order by x.rowid limit ?2"
            }
            ExportKind::Signatures => {
                "select s.rowid, p.version_label, u.username, s.full_name, s.position, s.signed_on, s.signed_at
                 from signature s join policy p on p.id = s.policy_id join person u on u.id = s.person_id
                 where s.rowid > ?1 and (p.school_id = ?3 or (p.school_id = 0 and (u.trust_role is not null
                   or exists (select 1 from membership m where m.person_id = u.id and m.school_id = ?3))))
                 order by s.rowid limit ?2"
            }
            ExportKind::Events => {
                "select seq, cast(seq as text), at, actor, action, subject, subject_label, details, prev_hash, hash,
                    cast(hash_version as text), coalesce(salt, ''), coalesce(personal_hash, '')
                 from event where seq > ?1 and school_id = ?3 order by seq limit ?2"
            }
        }
    }
}

/// One batch of an export: the key to continue after, and the rows.
pub struct Batch {
    pub last_key: i64,
    pub rows: Vec<Vec<String>>,
}

impl Store {
    /// Records in the activity log that someone downloaded an export.
    pub async fn record_export(
        &self,
        actor: crate::db::Actor,
        what: String,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let subject = crate::events::Subject {
                    key: "export".into(),
                    label: what.clone(),
                };
                crate::events::append(
                    conn,
                    &actor,
                    "export.downloaded",
                    &subject,
                    serde_json::json!({"export": what}),
                    chrono::Utc::now(),
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// The next batch of an export after `after` (0 to start). An empty batch means
    /// the export is complete.
    pub async fn export_batch(
        &self,
        kind: ExportKind,
        school: kitroom_core::school::SchoolId,
        after: i64,
        limit: i64,
    ) -> Result<Batch, StoreError> {
        let rows = sqlx::query(kind.query())
            .bind(after)
            .bind(limit)
            .bind(school.0)
            .fetch_all(self.reader())
            .await?;
        let mut last_key = after;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            last_key = row.try_get::<i64, _>(0)?;
            let mut cells = Vec::with_capacity(row.len() - 1);
            for i in 1..row.len() {
                cells.push(row.try_get::<Option<String>, _>(i)?.unwrap_or_default());
            }
            out.push(cells);
        }
        Ok(Batch {
            last_key,
            rows: out,
        })
    }
}
