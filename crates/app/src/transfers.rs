//! Moving a device to another school of the trust: one command for the device page
//! and the API alike, for the trust's own staff.
//!
//! Whether the device may go is `kitroom_core::school::transfer_refusal`'s alone:
//! nothing may be open about it at the school it leaves (a loan, a set, bookings).
//! It arrives at the new school's return room, and the move is recorded in both
//! schools' activity logs and told to both schools' managers. Its loans, incidents
//! and requests stay with the school they happened in.

use chrono::Utc;
use kitroom_core::mail::MailKind;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::devices::{get_device, Device};
use kitroom_store::events::append;
use kitroom_store::notifications::{notify_managers_in, ManagersEmail};
use kitroom_store::people::Person;
use kitroom_store::Actor;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::{App, Error, Refusal};

/// Where to move a device, as sent: the device page's form or the API's JSON body.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TransferInput {
    /// The short name of the school it moves to, like `st-marys`.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(example = "st-marys")]
    pub school: String,
}

/// A device moved, and the school it is now at.
#[derive(Debug, Clone)]
pub struct Transferred {
    pub device: Device,
    pub to: kitroom_store::schools::School,
}

/// Moves the device `tag` of the school `caller` works in to another school, as
/// `caller` (a trust role). A school that does not exist, or the one it is at, is
/// refused beside the `school` field; a device with something still open about it,
/// or whose tag the other school uses already, is a conflict (409).
pub async fn transfer(
    app: &App,
    caller: &Person,
    tag: &str,
    input: TransferInput,
) -> Result<Transferred, Error> {
    if !caller.role.may(Permission::TransferDevice) {
        return Err(Refusal::not_allowed().into());
    }
    let device = crate::devices::device(app, caller.school, tag).await?;
    let schools = app.store().schools().await?;
    let wanted = input.school.trim().to_ascii_lowercase();
    let Some(to) = schools.iter().find(|s| s.slug == wanted).cloned() else {
        return Err(Invalid::one(
            "school",
            format!("No school is called “{}”.", input.school.trim()),
        )
        .into());
    };
    let Some(from) = schools.into_iter().find(|s| s.id == caller.school) else {
        return Err(Refusal::not_found("Your school").into());
    };
    if to.id == from.id {
        return Err(Invalid::one("school", format!("It is at {} already.", to.name)).into());
    }
    let here = caller.actor();
    let there = Actor {
        school: Some(to.id),
        ..caller.actor()
    };
    let who = caller.full_name.clone();
    let to_school = to.clone();
    let device = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let d = get_device(conn, device.id).await?;
                let (set, bookings) =
                    kitroom_store::schools::transfer_facts_in(conn, d.id, now).await?;
                if let Some(m) =
                    kitroom_core::school::transfer_refusal(d.status, set.as_deref(), bookings)
                {
                    return Err(Refusal::conflict("cannot-transfer", m).into());
                }
                let room = kitroom_store::settings::settings_in(conn, to.id)
                    .await?
                    .return_location;
                let location =
                    kitroom_store::locations::find_or_create(conn, &there, to.id, &room, now)
                        .await?;
                let tag = d.details.tag.to_string();
                if !kitroom_store::schools::move_device_in(conn, d.id, to.id, location, now)
                    .await?
                {
                    return Err(Refusal::conflict(
                        "tag-taken",
                        format!("{} already has a device tagged {tag}: change one of the tags first.", to.name),
                    )
                    .into());
                }
                // Recorded in both schools' logs: the one it left, the one it joined.
                let subject = kitroom_store::events::Subject::device(d.id, &tag);
                append(conn, &here, "device.transferred", &subject,
                    json!({"from": from.slug, "to": to.slug, "location": room}), now).await?;
                append(conn, &there, "device.transferred", &subject,
                    json!({"from": from.slug, "to": to.slug, "location": room}), now).await?;
                for (school, body, link) in [
                    (from.id, format!("{tag} was moved to {} by {who}", to.name), "/devices".to_owned()),
                    (to.id, format!("{tag} arrived from {} ({room}), moved by {who}", from.name), format!("/devices/{tag}")),
                ] {
                    let subject_line = format!("Kitroom: {tag} moved from {} to {}", from.name, to.name);
                    let email = ManagersEmail {
                        subject: &subject_line,
                        body: &format!("{body}.\n\nThis message was sent by Kitroom, the trust's device register."),
                        kind: MailKind::Other,
                        thread: None,
                    };
                    notify_managers_in(conn, school, &body, &link, email, now).await?;
                }
                Ok::<_, Error>(get_device(conn, d.id).await?)
            })
        })
        .await?;
    app.wake_mailer();
    Ok(Transferred {
        device,
        to: to_school,
    })
}
