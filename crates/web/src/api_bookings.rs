//! The JSON API for bookings and sets: list, create, cancel, collect; a set's
//! check-out and return. Refusals are the same problem types as a device's
//! check-out (`policy-not-signed`, `device-not-available`, …), and a clash is
//! `booking-clash` with the `alternatives` that are free instead.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::bookings::{Booked, Booking, BookingFilter};
use kitroom_store::kits::{Kit, LoanGroup};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::{loan_json, JsonBody, JsonCommand};
use crate::auth::ApiUser;
use crate::bookings::{booking_request, BookingForm, BookingFormError};
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/bookings", get(list).post(create))
        .route("/bookings/{id}", get(read).delete(cancel))
        .route("/bookings/{id}/collect", post(collect))
        .route("/sets", get(sets))
        .route("/sets/{id}", get(set))
        .route("/sets/{id}/checkout", post(set_check_out))
        .route("/sets/{id}/return", post(set_return))
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    person: Option<String>,
}

/// Bookings that are booked or collected, by start; `from` defaults to now. Anyone
/// may see what is booked and by whom, as on the calendar page.
async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let Query(q) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed-query", e.body_text()))?;
    let person = match q.person.as_deref() {
        Some(name) => match state.store().person_by_username(name).await? {
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

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct CreateBody {
    device: Option<String>,
    set: Option<String>,
    kind: Option<String>,
    count: Option<u32>,
    borrower: Option<String>,
    starts_at: Option<DateTime<Utc>>,
    ends_at: Option<DateTime<Utc>>,
    date: Option<String>,
    period: Option<String>,
    #[serde(default)]
    purpose: String,
}

async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let form = BookingForm {
        device: body.device.unwrap_or_default(),
        set: body.set.unwrap_or_default(),
        kind: body.kind.unwrap_or_default(),
        count: body.count.map(|c| c.to_string()).unwrap_or_default(),
        borrower: body.borrower.unwrap_or_default(),
        date: body.date.unwrap_or_default(),
        period: body.period.unwrap_or_default(),
        purpose: body.purpose,
        ..Default::default()
    };
    let times = match (body.starts_at, body.ends_at) {
        (Some(a), Some(b)) => Some((a, b)),
        (None, None) => None,
        _ => {
            return Err(ApiError::invalid(Invalid::one(
                "ends_at",
                "Send both starts_at and ends_at, or a date and a period.",
            )))
        }
    };
    let request = match booking_request(&state, &user.0, &form, times).await {
        Ok(r) => r,
        Err(BookingFormError::Invalid(i)) => return Err(ApiError::invalid(i)),
        Err(BookingFormError::Forbidden) => return Err(ApiError::forbidden()),
        Err(BookingFormError::Store(e)) => return Err(e.into()),
    };
    let b = state.store().book(user.0.actor(), request).await?;
    Ok((StatusCode::CREATED, Json(booking_json(&b))).into_response())
}

async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(b): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let b = state
        .store()
        .booking(id(&b)?)
        .await?
        .ok_or_else(|| ApiError::not_found("That booking"))?;
    Ok(Json(booking_json(&b)).into_response())
}

async fn cancel(
    user: ApiUser,
    State(state): State<AppState>,
    Path(b): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let b = kitroom_app::bookings::cancel(state.app(), &user.0, &b).await?;
    Ok(Json(booking_json(&b)).into_response())
}

/// Collects a booking: it becomes a loan (or a set's loan) at once, with every
/// check-out rule checked again. The answer carries the loans made.
async fn collect(
    user: ApiUser,
    State(state): State<AppState>,
    Path(b): Path<String>,
    body: axum::body::Bytes,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    // The body is optional: a plain POST collects the booking alone.
    let asked: kitroom_app::bookings::CollectInput = if body.iter().all(u8::is_ascii_whitespace) {
        Default::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed-body", e.to_string()))?
    };
    let b = kitroom_app::bookings::collect(state.app(), &user.0, &b, asked).await?;
    let mut body = booking_json(&b);
    let person = state
        .store()
        .person_by_username(&b.person)
        .await?
        .map(|p| p.id);
    let loans = state
        .store()
        .list_loans(&kitroom_store::loans::LoanFilter {
            open: true,
            borrower: person,
            limit: 1000,
            ..Default::default()
        })
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

async fn sets(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let kits = state.store().list_kits().await?;
    let n = kits.len();
    Ok(Json(json!({
        "items": kits.iter().map(|k| json!({"id": k.id, "name": k.name, "devices": k.devices, "available": k.available, "out_to": k.out_to})).collect::<Vec<_>>(),
        "total": n, "page": 1, "per_page": n.max(1),
    }))
    .into_response())
}

async fn set(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let k = kitroom_app::sets::set(state.app(), &s).await?;
    let mut v = set_json(&k);
    if let Some(g) = &k.open {
        v["set_loan"] = group_json_with_accessories(&state, g).await?;
    }
    Ok(Json(v).into_response())
}

/// Lends a set, as the set's page does: the same input as a device's check-out.
async fn set_check_out(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
    JsonCommand(body): JsonCommand<kitroom_app::loans::CheckOutInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let out = kitroom_app::sets::check_out(state.app(), &user.0, &s, body).await?;
    let mut v = group_json_with_accessories(&state, &out.group).await?;
    v["left_behind"] = json!(out
        .staying
        .iter()
        .map(|(t, s)| json!({"device": t, "status": s}))
        .collect::<Vec<_>>());
    Ok((StatusCode::CREATED, Json(v)).into_response())
}

/// Takes a set back, as the set's page does: the devices that came back, the
/// return checklist once per kind, and the accessories counted back.
async fn set_return(
    user: ApiUser,
    State(state): State<AppState>,
    Path(s): Path<String>,
    JsonCommand(body): JsonCommand<kitroom_app::sets::SetReturnInput>,
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
