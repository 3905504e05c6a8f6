//! Return checklists, kept as settings (`checklist.<kind>`, one question a line),
//! and a return that answers them: the return, its answers and any damage report
//! they open commit together.

use std::collections::BTreeMap;

use chrono::Utc;
use kitroom_core::checklist::{self, Question};
use kitroom_core::device::DeviceKind;
use kitroom_core::incident::{IncidentKind, ReportDetails};
use kitroom_core::loan::ReturnRequest;
use kitroom_core::Invalid;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{Actor, Store, StoreError};
use crate::devices::get_device;
use crate::events::{append, Subject};
use crate::incidents::{report_incident_in, Incident};
use crate::loans::{return_in, Loan};

pub async fn questions_in(
    conn: &mut SqliteConnection,
    kind: DeviceKind,
) -> Result<Vec<Question>, StoreError> {
    let text: Option<String> = sqlx::query_scalar("select value from setting where key = ?")
        .bind(format!("checklist.{}", kind.as_str()))
        .fetch_optional(&mut *conn)
        .await?;
    // a stored checklist was checked when saved; one that no longer reads asks nothing
    Ok(text
        .and_then(|t| checklist::parse_questions(&t).ok())
        .unwrap_or_default())
}

impl Store {
    /// The questions asked when a device of this kind comes back.
    pub async fn checklist(&self, kind: DeviceKind) -> Result<Vec<Question>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        questions_in(&mut conn, kind).await
    }

    /// Every kind's questions, by the kind's word.
    pub async fn checklists(&self) -> Result<BTreeMap<&'static str, Vec<Question>>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        let mut out = BTreeMap::new();
        for kind in DeviceKind::ALL {
            out.insert(kind.as_str(), questions_in(&mut conn, *kind).await?);
        }
        Ok(out)
    }

    /// Saves every kind's questions and records which kinds changed.
    pub async fn save_checklists(
        &self,
        actor: Actor,
        lists: BTreeMap<&'static str, Vec<Question>>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let mut changed = serde_json::Map::new();
                for kind in DeviceKind::ALL {
                    let before = checklist::questions_text(&questions_in(conn, *kind).await?);
                    let after = checklist::questions_text(lists.get(kind.as_str()).map(Vec::as_slice).unwrap_or(&[]));
                    if before != after {
                        changed.insert(kind.as_str().into(), json!({"from": before, "to": after}));
                        sqlx::query("insert into setting (key, value) values (?, ?) on conflict (key) do update set value = excluded.value")
                            .bind(format!("checklist.{}", kind.as_str()))
                            .bind(&after)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                if !changed.is_empty() {
                    let subject = Subject { key: "checklists".into(), label: "Return checklists".into() };
                    append(conn, &actor, "checklist.changed", &subject, changed.into(), now).await?;
                }
                Ok(())
            })
        })
        .await
    }

    /// A return with its checklist's answers (in the questions' order): refused
    /// unless every question is answered; a "no" to a question about damage opens
    /// a damage report, pre-filled, in the same transaction as the return. The
    /// accessories lent with the loan come back as counted in `accessories_back`
    /// (by their `loan_accessory` id; one not named came back as none).
    #[allow(clippy::too_many_arguments)]
    pub async fn return_device_checked(
        &self,
        actor: Actor,
        reporter_name: String,
        device_id: Uuid,
        location: String,
        request: ReturnRequest,
        answers: Vec<Option<bool>>,
        accessories_back: BTreeMap<i64, i64>,
        link_base: Option<kitroom_core::link::PublicUrl>,
    ) -> Result<(Loan, Option<Incident>), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let device = get_device(conn, device_id).await?;
                let questions = questions_in(conn, device.details.kind).await?;
                let damage = checklist::check_answers(&questions, &answers)
                    .map_err(|r| Invalid::one("checklist", r.to_string()))?;
                let loan = return_in(conn, &actor, device_id, &location, request, now).await?;
                crate::accessories::give_back_in(conn, &actor, &device.subject(), Some(loan.id), None, &accessories_back, now).await?;
                if !questions.is_empty() {
                    let given: Vec<_> = questions
                        .iter()
                        .zip(&answers)
                        .map(|(q, a)| json!({"question": q.text, "answer": if *a == Some(true) { "yes" } else { "no" }}))
                        .collect();
                    append(conn, &actor, "loan.checklist", &device.subject(), json!({"loan": loan.id, "answers": given}), now).await?;
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
                    let reporter = actor.id.ok_or(StoreError::NotFound)?;
                    Some(report_incident_in(conn, &actor, reporter, &reporter_name, device_id, &details, link_base.as_ref(), now).await?)
                };
                Ok((loan, incident))
            })
        })
        .await
    }
}
