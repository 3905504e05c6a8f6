//! The JSON API for bookings and sets: list, create, cancel, collect; making a
//! set, renaming it and putting devices in or taking them out; a set's check-out
//! and return. Refusals are the same problem types as a device's
//! check-out (`policy-not-signed`, `device-not-available`, …), and a clash is
//! `booking-clash` with the `alternatives` that are free instead.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::{DateTime, Utc};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::bookings::{Booked, Booking, BookingFilter};
use kitroom_store::kits::{Kit, LoanGroup};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::api::{created, loan_json, JsonBody, OptionalJsonBody, QueryParams};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The bookings and sets operations, each registered with its OpenAPI
/// description (see [`crate::openapi`]).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, cancel))
        .routes(routes!(collect))
        .routes(routes!(sets, set_create))
        .routes(routes!(set, set_edit))
        .routes(routes!(set_add_device))
        .routes(routes!(set_remove_device))
        .routes(routes!(set_check_out))
        .routes(routes!(set_return))
}

pub fn booking_json(b: &Booking) -> Value {
    let (device, set, kind, count) = match &b.booked {
        Booked::Device { tag, .. } => (Some(tag.clone()), None, None, 1),
        Booked::Set { id, name } => (None, Some(json!({"id": id, "name": name})), None, 1),
        Booked::Kind { kind, count } => (None, None, Some(kind.as_str()), *count),
    };
    json!({
        "id": b.id,
        "person": b.person,
        "made_by": b.made_by,
        "device": device,
        "set": set,
        "kind": kind,
        "count": count,
        "starts_at": b.slot.starts_at,
        "ends_at": b.slot.ends_at,
        "purpose": b.purpose,
        "status": b.status.as_str(),
        "devices": b.devices,
        "loan": b.loan_id,
        "set_loan": b.group_id,
    })
}

fn id(s: &str) -> Result<uuid::Uuid, ApiError> {
    uuid::Uuid::parse_str(s).map_err(|_| ApiError::not_found("That booking"))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    person: Option<String>,
}

#[utoipa::path(
    get,
    path = "/bookings",
    tag = "bookings",
    summary = "Bookings that hold devices, by start; `from` is now by default",
    params(ListQuery),
responses(
        (status = 200, description = "`items`, `total`, `page`, `per_page`.", body = Object),
        (status = 403, description = "This account may not borrow."),
    )
)]
/// Bookings that are booked or collected, by start; `from` defaults to now. Anyone
/// may see what is booked and by whom, as on the calendar page.
async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    // An empty name filters nothing, as an empty filter does on every list.
    let person = match q.person.as_deref().filter(|p| !p.trim().is_empty()) {
        Some(name) => match state
            .store()
            .person_by_username(user.0.school, name)
            .await?
        {
            Some(p) => Some(p.id),
            // Staff who keep the accounts are told of a typo; anyone else gets the
            // empty list a person without bookings gets, so a name cannot be
            // probed for an account.
            None if user.0.role.may(Permission::ViewAllLoans) => {
                return Err(ApiError::invalid(Invalid::one(
                    "person",
                    format!("Nobody has the username “{name}”."),
                )))
            }
            None => Some(uuid::Uuid::nil()),
        },
        None => None,
    };
    let items = state
        .store()
        .list_bookings(&BookingFilter {
            school: Some(user.0.school),
            from: Some(q.from.unwrap_or_else(Utc::now)),
            to: q.to,
            person,
            holding: true,
            limit: 2000,
            ..Default::default()
        })
        .await?;
    let n = items.len();
    Ok(Json(json!({
        "items": items.iter().map(booking_json).collect::<Vec<_>>(),
        "total": n, "page": 1, "per_page": n.max(1),
    }))
    .into_response())
}

#[utoipa::path(
    post,
    path = "/bookings",
    tag = "bookings",
    summary = "Book a device, a set or any N of a kind, for `starts_at`-`ends_at` or a `date` and `period`",
    request_body = kitroom_app::bookings::BookingInput,
responses(
        (status = 201, description = "The booking.", body = Object),
        (status = 403, description = "This account may not book, or may not book for someone else."),
        (status = 404, description = "The device or set named was not found."),
        (status = 409, description = "`booking-clash`: a device needed is held for part of the time; `alternatives` lists what is free."),
        (status = 422, description = "A check-out rule refuses the borrower (the same problem types as a check-out), or a field was wrong."),
    )
)]
async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<kitroom_app::bookings::BookingInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let b = kitroom_app::bookings::book(state.app(), &user.0, body).await?;
    Ok(created(booking_json(&b)))
}

#[utoipa::path(
    get,
    path = "/bookings/{id}",
    tag = "bookings",
    summary = "One booking",
    params(("id" = String, Path, description = "The booking's id.")),
responses(
        (status = 200, description = "The booking.", body = Object),
        (status = 403, description = "This account may not borrow."),
        (status = 404, description = "No booking has that id."),
    )
)]
async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(b): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let b = state
        .store()
        .booking(user.0.school, id(&b)?)
        .await?
        .ok_or_else(|| ApiError::not_found("That booking"))?;
    Ok(Json(booking_json(&b)).into_response())
}

#[utoipa::path(
    delete,
    path = "/bookings/{id}",
    tag = "bookings",
    summary = "Cancel a booking (its person, or a manager or admin)",
    params(("id" = String, Path, description = "The booking's id.")),
responses(
        (status = 200, description = "The cancelled booking.", body = Object),
        (status = 403, description = "The booking is someone else's."),
        (status = 404, description = "No booking has that id."),
        (status = 409, description = "The booking can no longer be cancelled."),
    )
)]
async fn cancel(
    user: ApiUser,
    State(state): State<AppState>,
    Path(b): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let b = kitroom_app::bookings::cancel(state.app(), &user.0, &b).await?;
    Ok(Json(booking_json(&b)).into_response())
}

#[utoipa::path(
    post,
    path = "/bookings/{id}/collect",
    tag = "bookings",
    summary = "Collect a booking: it becomes a loan (or a set's loan) now, every check-out rule checked again; the body may be left out",
    params(("id" = String, Path, description = "The booking's id.")),
    request_body(content = Option<kitroom_app::bookings::CollectInput>, description = "Optional: accessories going out with it."),
responses(
        (status = 200, description = "The collected booking with its `loans`.", body = Object),
        (status = 403, description = "The booking is someone else's."),
        (status = 404, description = "No booking has that id."),
        (status = 409, description = "Not collectable now, a device is not available, or too few of an accessory are left."),
        (status = 422, description = "A check-out rule refused it."),
    )
)]
/// Collects a booking: it becomes a loan (or a set's loan) at once, with every
/// check-out rule checked again. The answer carries the loans made.
async fn collect(
    user: ApiUser,
    State(state): State<AppState>,
    Path(b): Path<String>,
    // The body is optional: a plain POST collects the booking alone.
    OptionalJsonBody(asked): OptionalJsonBody<kitroom_app::bookings::CollectInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let b = kitroom_app::bookings::collect(state.app(), &user.0, &b, asked).await?;
    let mut body = booking_json(&b);
    let person = state
        .store()
        .person_by_username(user.0.school, &b.person)
        .await?
        .map(|p| p.id);
    let loans = state
        .store()
        .list_loans(
            user.0.school,
            &kitroom_store::loans::LoanFilter {
                open: true,
                borrower: person,
                limit: 1000,
                ..Default::default()
            },
        )
        .await?;
    let made: Vec<_> = loans
        .into_iter()
        .filter(|l| b.devices.contains(&l.device_tag) || Some(l.id) == b.loan_id)
        .collect();
    body["loans"] = json!(crate::api::loans_json(&state, &made).await?);
    if let Some(group) = b.group_id {
        body["accessories"] =
            crate::api::lent_json(&state.store().accessories_lent(None, Some(group)).await?);
    }
    Ok(Json(body).into_response())
}

/// A set's loan with the accessories lent with it.
async fn group_json_with_accessories(state: &AppState, g: &LoanGroup) -> Result<Value, ApiError> {
    let mut v = group_json(g);
    v["accessories"] =
        crate::api::lent_json(&state.store().accessories_lent(None, Some(g.id)).await?);
    Ok(v)
}

fn group_json(g: &LoanGroup) -> Value {
    json!({
        "id": g.id,
        "borrower": g.borrower,
        "out_at": g.out_at,
        "due_at": g.due_at,
        "purpose": g.purpose,
        "returned_at": g.returned_at,
        "loans": g.loans.iter().map(loan_json).collect::<Vec<_>>(),
    })
}

fn set_json(k: &Kit) -> Value {
    json!({
        "id": k.id,
        "name": k.name,
        "notes": k.notes,
        "devices": k.devices.iter().map(|d| json!({"tag": d.tag, "kind": d.kind, "status": d.status})).collect::<Vec<_>>(),
        "set_loan": k.open.as_ref().map(group_json),
    })
}

#[utoipa::path(
    get,
    path = "/sets",
    tag = "sets",
    summary = "Sets and trolleys",
    responses(
        (status = 200, description = "`items`, `total`, `page`, `per_page`.", body = Object),
        (status = 403, description = "This account may not borrow."),
    )
)]
async fn sets(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let kits = state.store().list_kits(user.0.school).await?;
    let n = kits.len();
    Ok(Json(json!({
        "items": kits.iter().map(|k| json!({"id": k.id, "name": k.name, "devices": k.devices, "available": k.available, "out_to": k.out_to})).collect::<Vec<_>>(),
        "total": n, "page": 1, "per_page": n.max(1),
    }))
    .into_response())
}

#[utoipa::path(
    get,
    path = "/sets/{id}",
    tag = "sets",
    summary = "A set with its devices and its open loan",
    params(("id" = String, Path, description = "The set's id or name.")),
responses(
        (status = 200, description = "The set.", body = Object),
        (status = 403, description = "This account may not borrow."),
        (status = 404, description = "No set has that id or name."),
    )
)]
async fn set(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let k = kitroom_app::sets::set(state.app(), user.0.school, &s).await?;
    let mut v = set_json(&k);
    if let Some(g) = &k.open {
        v["set_loan"] = group_json_with_accessories(&state, g).await?;
    }
    Ok(Json(v).into_response())
}

#[utoipa::path(
    post,
    path = "/sets",
    tag = "sets",
    summary = "Make a new, empty set, as the sets page does (a manager or admin)",
    request_body = kitroom_app::set_admin::NewSetInput,
    responses(
        (status = 201, description = "The set, with no devices yet.", body = Object),
        (status = 403, description = "Only a manager or admin may make a set."),
        (status = 422, description = "The name is missing or too long, another set has it (`set-name-taken`), or the notes are too long."),
    )
)]
async fn set_create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<kitroom_app::set_admin::NewSetInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let k = kitroom_app::set_admin::create(state.app(), &user.0, body).await?;
    Ok(created(set_json(&k)))
}

#[utoipa::path(
    patch,
    path = "/sets/{id}",
    tag = "sets",
    summary = "Rename a set or change its notes (a manager or admin); a field left out stays as it is",
    params(("id" = String, Path, description = "The set's id or name.")),
    request_body = kitroom_app::set_admin::EditSetInput,
    responses(
        (status = 200, description = "The set.", body = Object),
        (status = 403, description = "Only a manager or admin may change a set."),
        (status = 404, description = "No set has that id or name."),
        (status = 422, description = "The name is empty or too long, another set has it (`set-name-taken`), or the notes are too long."),
    )
)]
async fn set_edit(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::set_admin::EditSetInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let k = kitroom_app::set_admin::edit(state.app(), &user.0, &s, body).await?;
    Ok(Json(set_json(&k)).into_response())
}

#[utoipa::path(
    post,
    path = "/sets/{id}/devices",
    tag = "sets",
    summary = "Put a device into a set by its tag or its label's scanned address, as the set's page does (a manager or admin); a device is in one set at most",
    params(("id" = String, Path, description = "The set's id or name.")),
    request_body = kitroom_app::set_admin::AddDeviceInput,
    responses(
        (status = 200, description = "The set with its devices.", body = Object),
        (status = 403, description = "Only a manager or admin may change a set."),
        (status = 404, description = "No set has that id or name."),
        (status = 422, description = "`tag`: no tag was sent, no device has it (`unknown-tag`), or the device is already in this set or another (`already-in-this-set`, `in-another-set`)."),
    )
)]
async fn set_add_device(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::set_admin::AddDeviceInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let (k, _) = kitroom_app::set_admin::add_device(state.app(), &user.0, &s, body).await?;
    Ok(Json(set_json(&k)).into_response())
}

#[utoipa::path(
    delete,
    path = "/sets/{id}/devices/{tag}",
    tag = "sets",
    summary = "Take a device out of a set, as the set's page does (a manager or admin); a device out with the set stays until it is back",
    params(
        ("id" = String, Path, description = "The set's id or name."),
        ("tag" = String, Path, description = "The device's asset tag (any case)."),
    ),
    responses(
        (status = 200, description = "The set with its devices.", body = Object),
        (status = 403, description = "Only a manager or admin may change a set."),
        (status = 404, description = "No set has that id or name, or the device is not in it (`not-in-this-set`)."),
        (status = 409, description = "The device is out with the set just now (`out-with-the-set`)."),
    )
)]
async fn set_remove_device(
    user: ApiUser,
    State(state): State<AppState>,
    Path((s, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let (k, _) = kitroom_app::set_admin::remove_device(state.app(), &user.0, &s, &tag).await?;
    Ok(Json(set_json(&k)).into_response())
}

#[utoipa::path(
    post,
    path = "/sets/{id}/checkout",
    tag = "sets",
    summary = "Check a set out, as the set's page does: every available device goes, each under the check-out rules; the same body as a device's check-out (a set does not go off site)",
    params(("id" = String, Path, description = "The set's id or name.")),
    request_body = kitroom_app::loans::CheckOutInput,
responses(
        (status = 201, description = "The set's loan with `loans`, `left_behind` and `accessories`.", body = Object),
        (status = 403, description = "This account may not borrow, or may not lend to someone else."),
        (status = 404, description = "No set has that id or name."),
        (status = 409, description = "The set is out, or too few of an accessory are left."),
        (status = 422, description = "A check-out rule refused it, or a field was wrong."),
    )
)]
async fn set_check_out(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::loans::CheckOutInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let out = kitroom_app::sets::check_out(state.app(), &user.0, &s, body).await?;
    let mut v = group_json_with_accessories(&state, &out.group).await?;
    v["left_behind"] = json!(out
        .staying
        .iter()
        .map(|(t, s)| json!({"device": t, "status": s}))
        .collect::<Vec<_>>());
    Ok(created(v))
}

#[utoipa::path(
    post,
    path = "/sets/{id}/return",
    tag = "sets",
    summary = "Return a set, as the set's page does: the devices in `came_back` come back, the return checklist is answered once per kind and the accessories are counted back; every other device that went is reported lost at once",
    params(("id" = String, Path, description = "The set's id or name.")),
    request_body = kitroom_app::sets::SetReturnInput,
responses(
        (status = 200, description = "`back` (tags), `missing` (tag and loss incident), `damaged` (tag and the damage report a \"no\" opened) and `location`.", body = Object),
        (status = 403, description = "The set's loan is someone else's."),
        (status = 404, description = "No set has that id or name."),
        (status = 409, description = "The set is not out."),
        (status = 422, description = "A tag in `came_back` did not go out with this loan (`not-in-this-loan`); or every other problem at once, each in `errors` with its `field`: `battery` (a level that is not a number from 0 to 100, naming its tag), `checklist.<kind>.answers.<i>` (a question unanswered), `checklist.<kind>.devices.<i>` (a \"no\" about damage that names none of the devices back), `accessories`, `location`, `on_charge`, `images_cleared`. The `type` is the rule's own when all are the same rule (unanswered questions alone are `checklist-unanswered`), `validation` otherwise."),
    )
)]
async fn set_return(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::sets::SetReturnInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let done = kitroom_app::sets::return_set(state.app(), &user.0, &s, body).await?;
    Ok(Json(json!({
        "back": done.back,
        "missing": done.missing.iter().map(|(t, i)| json!({"device": t, "incident": i})).collect::<Vec<_>>(),
        "damaged": done.damaged.iter().map(|(t, i)| json!({"device": t, "incident": i})).collect::<Vec<_>>(),
        "location": done.location,
    }))
    .into_response())
}
