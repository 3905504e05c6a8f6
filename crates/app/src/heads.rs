//! The head teacher's decisions: a request (to take a device off site, to change a
//! device) is approved or declined once, with a note, and the decision is recorded
//! on the device's history. One way for both kinds of request.

use chrono::{DateTime, Utc};
use kitroom_core::change;
use kitroom_core::invalid::text;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::devices::get_device;
use kitroom_store::events::append;
use kitroom_store::incidents::ChangeRequest;
use kitroom_store::loans::OffsiteRequest;
use kitroom_store::people::Person;
use kitroom_store::{BoxFuture, Conn, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::input::Answer;
use crate::{App, Error, Refusal};

/// A kind of request the head teacher decides.
pub(crate) trait HeadsRequest: Sized + Send + 'static {
    /// Who may decide it.
    const PERMISSION: Permission;
    /// The events' prefix: `offsite.approved`, `change.declined`…
    const EVENT: &'static str;
    /// `school`'s request with this id; another school's is not found.
    fn load(
        conn: &mut Conn,
        school: SchoolId,
        id: Uuid,
    ) -> BoxFuture<'_, Result<Option<Self>, StoreError>>;
    fn record<'a>(
        conn: &'a mut Conn,
        id: Uuid,
        status: &'static str,
        by: Option<Uuid>,
        note: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), StoreError>>;
    fn status(&self) -> &str;
    fn device_id(&self) -> &str;
    /// What the event records besides the request and the note.
    fn details(&self) -> (&'static str, Value);
}

impl HeadsRequest for OffsiteRequest {
    const PERMISSION: Permission = Permission::AuthoriseOffsite;
    const EVENT: &'static str = "offsite";
    fn load(
        conn: &mut Conn,
        school: SchoolId,
        id: Uuid,
    ) -> BoxFuture<'_, Result<Option<Self>, StoreError>> {
        Box::pin(kitroom_store::loans::offsite_in(conn, school, id))
    }
    fn record<'a>(
        conn: &'a mut Conn,
        id: Uuid,
        status: &'static str,
        by: Option<Uuid>,
        note: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(kitroom_store::loans::decide_offsite_in(
            conn, id, status, by, note, now,
        ))
    }
    fn status(&self) -> &str {
        &self.status
    }
    fn device_id(&self) -> &str {
        &self.device_id
    }
    fn details(&self) -> (&'static str, Value) {
        ("borrower", json!(self.person))
    }
}

impl HeadsRequest for ChangeRequest {
    const PERMISSION: Permission = Permission::DecideChanges;
    const EVENT: &'static str = "change";
    fn load(
        conn: &mut Conn,
        school: SchoolId,
        id: Uuid,
    ) -> BoxFuture<'_, Result<Option<Self>, StoreError>> {
        Box::pin(kitroom_store::incidents::change_in(conn, school, id))
    }
    fn record<'a>(
        conn: &'a mut Conn,
        id: Uuid,
        status: &'static str,
        by: Option<Uuid>,
        note: &'a str,
        now: DateTime<Utc>,
    ) -> BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(kitroom_store::incidents::decide_change_in(
            conn, id, status, by, note, now,
        ))
    }
    fn status(&self) -> &str {
        &self.status
    }
    fn device_id(&self) -> &str {
        &self.device_id
    }
    fn details(&self) -> (&'static str, Value) {
        ("what", json!(self.what))
    }
}

/// The head teacher approves or declines the request `id` of kind `R`, once, with
/// a note its asker sees; recorded on the device as `<kind>.approved` or
/// `<kind>.declined`. The decision is made on the request as read inside the
/// write, so two heads deciding at once decide it once.
pub(crate) async fn decide<R: HeadsRequest>(
    app: &App,
    caller: &Person,
    id: &str,
    input: DecisionInput,
) -> Result<R, Error> {
    if !caller.role.may(R::PERMISSION) {
        return Err(Refusal::not_allowed().into());
    }
    let id = id_of(id, "That request")?;
    let cmd = Decision::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let request = R::load(conn, school, id)
                    .await?
                    .ok_or_else(|| Refusal::not_found("That request"))?;
                let status = change::decide(request.status(), cmd.approve)?;
                R::record(conn, id, status, actor.id, &cmd.note, now).await?;
                let device_id = Uuid::parse_str(request.device_id())
                    .map_err(|_| Refusal::not_found("That device"))?;
                let device = get_device(conn, device_id).await?;
                let outcome = if cmd.approve { "approved" } else { "declined" };
                let (key, value) = request.details();
                let mut details = json!({"request": id, "note": cmd.note});
                details[key] = value;
                append(
                    conn,
                    &actor,
                    &format!("{}.{outcome}", R::EVENT),
                    &device.subject(),
                    details,
                    now,
                )
                .await?;
                Ok::<_, Error>(
                    R::load(conn, school, id)
                        .await?
                        .ok_or_else(|| Refusal::not_found("That request"))?,
                )
            })
        })
        .await
}

/// An id from a path: one that is not an id names nothing.
pub(crate) fn id_of(id: &str, what: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id.trim()).map_err(|_| Refusal::not_found(what).into())
}

/// The head's decision on a request, as sent: the page's `decision` (`approve` or
/// `decline`) or the API's `approve` (`true` or `false`), and a note.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DecisionInput {
    /// `approve` or `decline` (the page's buttons); or send `approve`.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub decision: String,
    /// Approve (`true`) or decline (`false`).
    #[schema(value_type = Option<bool>)]
    pub approve: Answer,
    /// A note to the person who asked.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub note: String,
}

/// A decision, read and checked.
#[derive(Debug, Clone)]
pub struct Decision {
    pub approve: bool,
    pub note: String,
}

impl TryFrom<DecisionInput> for Decision {
    type Error = Invalid;

    fn try_from(i: DecisionInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let approve = match (i.approve.0, i.decision.trim()) {
            (Some(a), _) => Some(a),
            (None, "approve") => Some(true),
            (None, "decline") => Some(false),
            (None, _) => {
                invalid.add("decision", "Choose approve or decline.");
                None
            }
        };
        let note = invalid.check("note", text(&i.note, "Note", 500));
        invalid.into_result()?;
        match (approve, note) {
            (Some(approve), Some(note)) => Ok(Decision { approve, note }),
            _ => unreachable!("every field was checked above"),
        }
    }
}
