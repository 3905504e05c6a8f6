//! Disposals: retiring a device with the record the governors and auditors need.

use chrono::{DateTime, Utc};
use kitroom_core::disposal::DisposalDetails;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{time_text, Actor, Store, StoreError};

/// A disposal, for the governors' report.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct DisposalRow {
    pub tag: String,
    pub name: String,
    pub disposed_on: String,
    pub method: String,
    pub recipient: String,
    pub recipient_reference: String,
    pub wipe_evidence: Option<String>,
    pub authorised_by: String,
    pub cost_pence: Option<i64>,
    pub purchased_on: Option<String>,
}

/// Records the disposal of `device` inside the caller's transaction (the device's
/// retirement and its event are the status machine's, written by
/// [`crate::devices::apply_change`]).
pub async fn insert_disposal_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    device: Uuid,
    d: &DisposalDetails,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into disposal (device_id, authorised_by, disposed_on, method, recipient, recipient_reference, wipe_evidence,
           recorded_by, recorded_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(device.to_string())
    .bind(&d.authorised_by)
    .bind(d.disposed_on.to_string())
    .bind(d.method.as_str())
    .bind(&d.recipient)
    .bind(&d.recipient_reference)
    .bind(&d.wipe_evidence)
    .bind(actor.id.map(|a| a.to_string()))
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What the activity log records of a disposal, with the retirement.
pub fn disposal_event(d: &DisposalDetails) -> serde_json::Value {
    json!({
        "note": "disposed of", "authorised_by": d.authorised_by, "disposed_on": d.disposed_on, "method": d.method,
        "recipient": d.recipient, "recipient_reference": d.recipient_reference, "wipe_evidence": d.wipe_evidence,
    })
}

impl Store {
    /// Disposals with their original cost, newest first; `year` limits them to the
    /// school year that starts on 1 September of that year.
    pub async fn disposals(
        &self,
        school: kitroom_core::school::SchoolId,
        year: Option<i32>,
    ) -> Result<Vec<DisposalRow>, StoreError> {
        let (from, to) = match year {
            Some(y) => (format!("{y}-09-01"), format!("{}-09-01", y + 1)),
            None => ("0000-01-01".into(), "9999-12-31".into()),
        };
        Ok(sqlx::query_as(
            "select d.tag, trim(d.kind || ' ' || d.make || ' ' || d.model) as name, x.disposed_on, x.method, x.recipient,
               x.recipient_reference, x.wipe_evidence, x.authorised_by, d.cost_pence, d.purchased_on
             from disposal x join device d on d.id = x.device_id
             where x.disposed_on >= ? and x.disposed_on < ? and d.school_id = ?
             order by x.disposed_on desc",
        )
        .bind(from)
        .bind(to)
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }

    /// A device's disposal record, if it was disposed of.
    pub async fn disposal_of(&self, device: Uuid) -> Result<Option<DisposalRow>, StoreError> {
        Ok(sqlx::query_as(
            "select d.tag, trim(d.kind || ' ' || d.make || ' ' || d.model) as name, x.disposed_on, x.method, x.recipient,
               x.recipient_reference, x.wipe_evidence, x.authorised_by, d.cost_pence, d.purchased_on
             from disposal x join device d on d.id = x.device_id where x.device_id = ?",
        )
        .bind(device.to_string())
        .fetch_optional(self.reader())
        .await?)
    }
}
