//! The head teacher's authorisations to take a device off site: a borrower asks,
//! the head approves or declines once, and an approval is used up by the
//! check-out that needs it (see [`crate::loans::check_out`]).

use chrono::Utc;
use kitroom_core::invalid::required_text;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::events::append;
use kitroom_store::loans::OffsiteRequest;
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

pub use crate::heads::{Decision, DecisionInput};
use crate::{App, Error, Refusal};

/// A request to take a device off site, as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OffsiteInput {
    /// Why it needs to leave the site.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub reason: String,
}

/// A request, read and checked.
#[derive(Debug, Clone)]
pub struct Offsite {
    pub reason: String,
}

impl TryFrom<OffsiteInput> for Offsite {
    type Error = Invalid;

    fn try_from(i: OffsiteInput) -> Result<Self, Invalid> {
        let reason =
            required_text(&i.reason, "Reason", 500).map_err(|m| Invalid::one("reason", m))?;
        Ok(Offsite { reason })
    }
}

/// A request asked for: the new one, or the one already waiting or approved.
#[derive(Debug, Clone)]
pub struct Asked {
    pub request: OffsiteRequest,
    /// False when one was already waiting or approved (nothing new was written).
    pub created: bool,
}

/// `caller` asks the head teacher to take the device `tag` off site. Asking again
/// while a request is waiting, or approved and not yet used, changes nothing.
pub async fn request(
    app: &App,
    caller: &Person,
    tag: &str,
    input: OffsiteInput,
) -> Result<Asked, Error> {
    if !caller.role.may(Permission::Borrow) {
        return Err(Refusal::not_allowed().into());
    }
    let device = crate::devices::device(app, caller.school, tag).await?;
    let cmd = Offsite::try_from(input)?;
    let actor = caller.actor();
    let person = caller.id;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                if let Some(request) =
                    kitroom_store::loans::open_offsite_in(conn, person, device.id).await?
                {
                    return Ok(Asked {
                        request,
                        created: false,
                    });
                }
                let id = Uuid::new_v4();
                kitroom_store::loans::insert_offsite_in(
                    conn,
                    id,
                    device.id,
                    person,
                    &cmd.reason,
                    now,
                )
                .await?;
                append(
                    conn,
                    &actor,
                    "offsite.requested",
                    &device.subject(),
                    json!({"request": id, "reason": cmd.reason}),
                    now,
                )
                .await?;
                let request = kitroom_store::loans::offsite_in(conn, device.school, id)
                    .await?
                    .ok_or_else(|| Refusal::not_found("That request"))?;
                Ok::<_, Error>(Asked {
                    request,
                    created: true,
                })
            })
        })
        .await
}

/// The head teacher approves or declines the request `id`, once, with a note the
/// borrower sees.
pub async fn decide(
    app: &App,
    caller: &Person,
    id: &str,
    input: DecisionInput,
) -> Result<OffsiteRequest, Error> {
    crate::heads::decide(app, caller, id, input).await
}

/// Requests to take a device off site, newest first, for the head who decides
/// them: those waiting, or all of them.
pub async fn requests(
    app: &App,
    caller: &Person,
    pending_only: bool,
) -> Result<Vec<OffsiteRequest>, Error> {
    if !caller.role.may(Permission::AuthoriseOffsite) {
        return Err(Refusal::not_allowed().into());
    }
    Ok(app
        .store()
        .offsite_requests(caller.school, pending_only)
        .await?)
}
