//! Bookings collected and cancelled: one command each, for the pages and the API.
//!
//! A collection turns a booking into loans in one transaction, each device lent by
//! [`crate::loans::lend_in`] and a set by [`crate::sets::check_out_set_in`], so
//! every check-out rule is checked again for every device, due back when the
//! booking ends.

use chrono::Utc;
use kitroom_core::booking::{self, BookingChange, BookingRefusal};
use kitroom_core::device::DeviceStatus;
use kitroom_core::kit::KitRefusal;
use kitroom_core::loan::CheckOutRefusal;
use kitroom_core::person::Permission;
use kitroom_store::bookings::{booking_in, booking_subject, Booked, Booking};
use kitroom_store::db::time_text;
use kitroom_store::events::append;
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::loans::{AccessoryAsk, Lending};
use crate::{App, Error, Refusal};

/// Whether `person` may act on booking `b`: their own, or someone who lends to
/// anyone. The one rule, for views too.
pub fn may_act(person: &Person, b: &Booking) -> bool {
    b.person.eq_ignore_ascii_case(&person.username) || person.role.may(Permission::LendToAnyone)
}

/// The booking `id` names, if `caller` may act on it: not found for a mistyped
/// id, not allowed for someone else's.
pub async fn owned(app: &App, caller: &Person, id: &str) -> Result<Booking, Error> {
    let id = Uuid::parse_str(id.trim()).map_err(|_| Refusal::not_found("That booking"))?;
    let b = app
        .store()
        .booking(id)
        .await?
        .ok_or_else(|| Refusal::not_found("That booking"))?;
    if !may_act(caller, &b) {
        return Err(Refusal::not_allowed().into());
    }
    Ok(b)
}

/// Cancels booking `id`, not yet collected, on behalf of `caller`.
pub async fn cancel(app: &App, caller: &Person, id: &str) -> Result<Booking, Error> {
    let b = owned(app, caller, id).await?;
    let actor = caller.actor();
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let b = booking_in(conn, b.id).await?;
                let next = booking::change(b.status, BookingChange::Cancel, &b.slot, now)?;
                kitroom_store::bookings::end_booking_in(conn, b.id, next, now).await?;
                append(
                    conn,
                    &actor,
                    "booking.cancelled",
                    &booking_subject(&b),
                    json!({"booking": b.id, "for": b.person, "what": b.booked.describe(), "starts_at": time_text(b.slot.starts_at)}),
                    now,
                )
                .await?;
                Ok::<_, Error>(booking_in(conn, b.id).await?)
            })
        })
        .await
}

/// What a collection may ask for besides the booking: accessories going out with
/// it, by name (the API) or by stock row (the page's "also taking"). A field it
/// does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CollectInput {
    /// Accessories going out with it.
    pub accessories: Vec<AccessoryAsk>,
    /// "Also taking" on the page's form: an accessory's stock row.
    pub also: String,
    /// "Also taking" on the page's form: how many.
    pub also_count: String,
}

/// Collects booking `id` on behalf of `caller`: it becomes a loan (a set's loan,
/// or one loan per device held) at once, with every check-out rule checked again,
/// due back when the booking ends. Accessories go with it (with the first
/// device's loan for "any N of a kind"); too few of one refuses it all.
pub async fn collect(
    app: &App,
    caller: &Person,
    id: &str,
    input: CollectInput,
) -> Result<Booking, Error> {
    let b = owned(app, caller, id).await?;
    let read = crate::loans::CheckOut::try_from(crate::loans::CheckOutInput {
        also: input.also,
        also_count: input.also_count,
        ..Default::default()
    })?;
    let mut taking = crate::loans::accessories_asked(app, &input.accessories).await?;
    taking.extend(read.also);
    let actor = caller.actor();
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = b.id;
                let b = booking_in(conn, id).await?;
                let next = booking::change(b.status, BookingChange::Collect, &b.slot, now)?;
                let person = kitroom_store::bookings::person_of_booking_in(conn, id).await?;
                let person = kitroom_store::people::get_person(conn, person).await?;
                let settings = kitroom_store::settings::settings_in(conn).await?;
                let calendar = kitroom_store::calendar::calendar_in(conn).await?;
                let purpose = if b.purpose.is_empty() {
                    format!("Booked: {}", b.booked.describe())
                } else {
                    b.purpose.clone()
                };
                let due = calendar.school_due(b.slot.ends_at, settings.day_ends_at);
                let lending = Lending {
                    purpose: &purpose,
                    off_site: false,
                    due: &due,
                    group: None,
                };
                let (loan_id, group_id) = match &b.booked {
                    Booked::Device { id: device, .. } => {
                        let device = kitroom_store::devices::get_device(conn, *device).await?;
                        let loan = crate::loans::lend_in(conn, &actor, &device, &person, &lending, now)
                            .await?
                            .map_err(BookingRefusal::Borrower)?;
                        (Some(loan), None)
                    }
                    Booked::Set { id: kit, .. } => {
                        let out = crate::sets::check_out_set_in(conn, &actor, *kit, &person, &purpose, &due, now).await?;
                        let (group, _) = out.map_err(|e| -> Error {
                            match e {
                                KitRefusal::CheckOut { refusal, .. }
                                    if !matches!(refusal, CheckOutRefusal::NotAvailable(_)) =>
                                {
                                    BookingRefusal::Borrower(refusal).into()
                                }
                                other => other.into(),
                            }
                        })?;
                        (None, Some(group.id))
                    }
                    Booked::Kind { kind, .. } => {
                        let mut first = None;
                        // each held device goes out; one that is not in the room (still
                        // charging, say) is swapped for another of the kind that is
                        // available and free
                        for (device, status) in kitroom_store::bookings::held_in(conn, id).await? {
                            let device = if status == DeviceStatus::Available {
                                device
                            } else {
                                kitroom_store::bookings::release_held_in(conn, id, device).await?;
                                match kitroom_store::bookings::spare_in(conn, *kind, &b.slot).await? {
                                    Some(spare) => {
                                        kitroom_store::bookings::hold_in(conn, id, &spare.to_string(), &b.slot).await?;
                                        spare
                                    }
                                    None => {
                                        let held = kitroom_store::devices::get_device(conn, device).await?;
                                        return Err(KitRefusal::CheckOut {
                                            tag: held.details.tag.to_string(),
                                            refusal: CheckOutRefusal::NotAvailable(status),
                                        }
                                        .into());
                                    }
                                }
                            };
                            let device = kitroom_store::devices::get_device(conn, device).await?;
                            let loan = crate::loans::lend_in(conn, &actor, &device, &person, &lending, now)
                                .await?
                                .map_err(BookingRefusal::Borrower)?;
                            first.get_or_insert(loan);
                        }
                        // Accessories go with the first device's loan: one place to count them back.
                        if !taking.is_empty() {
                            kitroom_store::accessories::take_in(conn, &actor, &booking_subject(&b), first, None, &taking, now).await?;
                        }
                        (None, None)
                    }
                };
                if loan_id.is_some() || group_id.is_some() {
                    kitroom_store::accessories::take_in(conn, &actor, &booking_subject(&b), loan_id, group_id, &taking, now).await?;
                }
                kitroom_store::bookings::mark_collected_in(conn, id, next, now, loan_id, group_id).await?;
                let b = booking_in(conn, id).await?;
                append(
                    conn,
                    &actor,
                    "booking.collected",
                    &booking_subject(&b),
                    json!({"booking": id, "for": b.person, "what": b.booked.describe(), "devices": b.devices, "due_at": time_text(due.due_at)}),
                    now,
                )
                .await?;
                Ok::<_, Error>(b)
            })
        })
        .await
}
