//! Disposal: retiring a device with the record the governors and auditors need,
//! one command for the disposal page and the API alike.
//!
//! The rules are core's: the disposal's fields and the wipe-evidence rule
//! (`kitroom_core::disposal`), and whether the device may be retired from where it
//! is (the status machine's `retire`).

use chrono::Utc;
use kitroom_core::device::StatusChange;
use kitroom_core::disposal;
use kitroom_core::person::Permission;
use kitroom_store::devices::{get_device, Device};
use kitroom_store::disposals::DisposalRow;
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{App, Error, Refusal};

/// A disposal as sent: the disposal page's form or the API's JSON body. A field it
/// does not know is refused, not ignored.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DisposalInput {
    /// Who authorised it: name and role, for example "Ruth Okafor, head teacher".
    #[serde(deserialize_with = "crate::input::text_or_null")]
    pub authorised_by: String,
    /// The day it went, `YYYY-MM-DD` (today when empty).
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>, format = Date)]
    pub disposed_on: String,
    /// `recycled`, `sold`, `donated`, `destroyed` or `returned_to_lessor`.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(example = "recycled")]
    pub method: String,
    /// The recycler, buyer, charity or lessor who received it.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    pub recipient: String,
    /// Their reference, for example a waste carrier's licence number.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub recipient_reference: String,
    /// Evidence its data was wiped or destroyed (a certificate number); required
    /// for a device that may hold personal data.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub wipe_evidence: String,
}

impl From<DisposalInput> for disposal::DisposalInput {
    fn from(i: DisposalInput) -> Self {
        disposal::DisposalInput {
            authorised_by: i.authorised_by,
            disposed_on: i.disposed_on,
            method: i.method,
            recipient: i.recipient,
            recipient_reference: i.recipient_reference,
            wipe_evidence: i.wipe_evidence,
        }
    }
}

impl From<&DisposalInput> for disposal::DisposalInput {
    fn from(i: &DisposalInput) -> Self {
        i.clone().into()
    }
}

/// A device disposed of, and its record.
#[derive(Debug, Clone)]
pub struct Disposed {
    pub device: Device,
    pub record: Option<DisposalRow>,
}

/// Checks a disposal as [`dispose`] would, without making it: the device it
/// would retire, or every problem with the record (and a device that cannot be
/// retired from where it is). The page asks for confirmation only of a disposal
/// that would go through.
pub async fn check(
    app: &App,
    caller: &Person,
    tag: &str,
    input: DisposalInput,
) -> Result<Device, Error> {
    if !caller.role.may(Permission::Dispose) {
        return Err(Refusal::not_allowed().into());
    }
    let device = crate::devices::device(app, caller.school, tag).await?;
    let today = kitroom_core::time::school_day(Utc::now());
    disposal::DisposalInput::from(input).parse(device.details.holds_personal_data, today)?;
    device.status.decide(StatusChange::Retire)?;
    Ok(device)
}

/// Retires the device `tag` and records its disposal, as `caller` (who may dispose
/// of devices). Every problem with the record is told at once (422), the missing
/// evidence of wiping for a device that may hold personal data among them; a
/// device that cannot be retired from where it is (on loan, already retired) is a
/// conflict (409). Recorded as the retirement's `device.status_changed`.
pub async fn dispose(
    app: &App,
    caller: &Person,
    tag: &str,
    input: DisposalInput,
) -> Result<Disposed, Error> {
    if !caller.role.may(Permission::Dispose) {
        return Err(Refusal::not_allowed().into());
    }
    let device = crate::devices::device(app, caller.school, tag).await?;
    let actor = caller.actor();
    let input = disposal::DisposalInput::from(input);
    let today = kitroom_core::time::school_day(Utc::now());
    let device = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let device = get_device(conn, device.id).await?;
                let details = input.parse(device.details.holds_personal_data, today)?;
                let mv = device.status.decide(StatusChange::Retire)?;
                kitroom_store::disposals::insert_disposal_in(
                    conn, &actor, device.id, &details, now,
                )
                .await?;
                Ok::<_, Error>(
                    kitroom_store::devices::apply_change(
                        conn,
                        &actor,
                        &device,
                        mv,
                        kitroom_store::disposals::disposal_event(&details),
                        now,
                    )
                    .await?,
                )
            })
        })
        .await?;
    let record = app.store().disposal_of(device.id).await?;
    Ok(Disposed { device, record })
}
