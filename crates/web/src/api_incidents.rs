//! The JSON API for incidents (report, read, move on, the data protection
//! decision, notes), change requests and the head's off-site authorisations. Each
//! is the same `kitroom_app` command as its page, with the same roles.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kitroom_app::incidents::{self, IncidentRecord};
use kitroom_app::offsite;
use kitroom_core::person::Permission;
use kitroom_store::incidents::ChangeRequest;
use kitroom_store::loans::OffsiteRequest;
use serde_json::{json, Value};

use crate::api::{incident_json, JsonCommand};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices/{tag}/incidents", post(report))
        .route("/incidents/{id}", get(read))
        .route("/incidents/{id}/progress", post(progress))
        .route("/incidents/{id}/decision", post(decide_breach))
        .route("/incidents/{id}/notes", post(add_note))
        .route("/incidents/{id}/police-reference", post(police_reference))
        .route("/devices/{tag}/change-requests", post(request_change))
        .route("/change-requests", get(changes))
        .route("/change-requests/{id}/decision", post(decide_change))
        .route("/devices/{tag}/offsite-requests", post(request_offsite))
        .route("/offsite-requests", get(offsite_requests))
        .route("/offsite-requests/{id}/decision", post(decide_offsite))
}

/// An incident with its notes.
fn record_json(r: &IncidentRecord) -> Value {
    let mut body = incident_json(&r.incident);
    body["notes"] = r
        .notes
        .iter()
        .map(|n| json!({"at": n.at, "author": n.author, "body": n.body}))
        .collect();
    body
}

fn change_json(c: &ChangeRequest) -> Value {
    json!({
        "id": c.id,
        "device": c.device_tag,
        "device_name": c.device_name,
        "requested_by": c.person,
        "what": c.what,
        "why": c.why,
        "requested_at": c.requested_at,
        "status": c.status,
        "decided_by": c.decided_by,
        "note": c.note,
    })
}

fn offsite_json(o: &OffsiteRequest) -> Value {
    json!({
        "id": o.id,
        "device": o.device_tag,
        "device_name": o.device_name,
        "borrower": o.person,
        "reason": o.reason,
        "requested_at": o.requested_at,
        "status": o.status,
        "decided_by": o.decided_by,
        "note": o.note,
    })
}

/// A report of damage, loss or theft: the same as the page's.
async fn report(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonCommand(body): JsonCommand<incidents::ReportInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Report)?;
    let incident = incidents::report(state.app(), &user.0, &tag, body).await?;
    Ok((StatusCode::CREATED, Json(incident_json(&incident))).into_response())
}

/// An incident with its notes, breach assessment and decision: for those who
/// handle incidents and for its reporter.
async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let record = incidents::incident(state.app(), &user.0, &id).await?;
    Ok(Json(record_json(&record)).into_response())
}

/// Moves an incident on: investigating, or resolved with a `resolution`, a
/// `cost_pence` and a `claim_reference`, with a `note`.
async fn progress(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<incidents::ProgressInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::HandleIncidents)?;
    incidents::progress(state.app(), &user.0, &id, body).await?;
    let record = incidents::incident(state.app(), &user.0, &id).await?;
    Ok(Json(record_json(&record)).into_response())
}

/// The data protection decision: `reportable` and `reason`.
async fn decide_breach(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<incidents::BreachInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::HandleIncidents)?;
    incidents::decide_breach(state.app(), &user.0, &id, body).await?;
    let record = incidents::incident(state.app(), &user.0, &id).await?;
    Ok(Json(record_json(&record)).into_response())
}

/// A note: `body`.
async fn add_note(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<incidents::NoteInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::HandleIncidents)?;
    let record = incidents::add_note(state.app(), &user.0, &id, body).await?;
    Ok((StatusCode::CREATED, Json(record_json(&record))).into_response())
}

/// The police reference of a theft, by its reporter or someone who handles
/// incidents: `police_reference`.
async fn police_reference(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<incidents::PoliceInput>,
) -> Result<Response, ApiError> {
    incidents::add_police_reference(state.app(), &user.0, &id, body).await?;
    let record = incidents::incident(state.app(), &user.0, &id).await?;
    Ok(Json(record_json(&record)).into_response())
}

/// Asks the head teacher for permission to change a device: `what` and `why`.
async fn request_change(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonCommand(body): JsonCommand<incidents::ChangeInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Report)?;
    let request = incidents::request_change(state.app(), &user.0, &tag, body).await?;
    Ok((StatusCode::CREATED, Json(change_json(&request))).into_response())
}

/// Change requests waiting for the head teacher, newest first.
async fn changes(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::DecideChanges)?;
    let items: Vec<Value> = incidents::changes(state.app(), &user.0, true)
        .await?
        .iter()
        .map(change_json)
        .collect();
    Ok(Json(json!({"total": items.len(), "items": items})).into_response())
}

/// The head teacher's decision on a change request: `approve` and `note`.
async fn decide_change(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<incidents::DecisionInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::DecideChanges)?;
    let request = incidents::decide_change(state.app(), &user.0, &id, body).await?;
    Ok(Json(change_json(&request)).into_response())
}

/// Asks the head teacher to take a device off site: `reason`. 201 with the new
/// request, or 200 with the one already waiting or approved.
async fn request_offsite(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonCommand(body): JsonCommand<offsite::OffsiteInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let asked = offsite::request(state.app(), &user.0, &tag, body).await?;
    let status = if asked.created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(offsite_json(&asked.request))).into_response())
}

/// Requests to take a device off site waiting for the head, newest first.
async fn offsite_requests(
    user: ApiUser,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    user.require(Permission::AuthoriseOffsite)?;
    let items: Vec<Value> = offsite::requests(state.app(), &user.0, true)
        .await?
        .iter()
        .map(offsite_json)
        .collect();
    Ok(Json(json!({"total": items.len(), "items": items})).into_response())
}

/// The head teacher's decision on an off-site request: `approve` and `note`.
async fn decide_offsite(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<offsite::DecisionInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::AuthoriseOffsite)?;
    let request = offsite::decide(state.app(), &user.0, &id, body).await?;
    Ok(Json(offsite_json(&request)).into_response())
}
