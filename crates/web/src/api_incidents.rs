//! The JSON API for incidents (report, read, move on, the data protection
//! decision, notes), change requests and the head's off-site authorisations. Each
//! is the same `kitroom_app` command as its page, with the same roles.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kitroom_app::incidents::{self, IncidentRecord};
use kitroom_app::offsite;
use kitroom_core::person::Permission;
use kitroom_store::incidents::ChangeRequest;
use kitroom_store::loans::OffsiteRequest;
use serde_json::{json, Value};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{created, incident_json, list_answer, JsonBody};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The incident, change-request and off-site request operations, each registered
/// with its OpenAPI description (see [`crate::openapi`]).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(read))
        .routes(routes!(progress))
        .routes(routes!(decide_breach))
        .routes(routes!(add_note))
        .routes(routes!(police_reference))
        .routes(routes!(request_change))
        .routes(routes!(changes))
        .routes(routes!(decide_change))
        .routes(routes!(request_offsite))
        .routes(routes!(offsite_requests))
        .routes(routes!(decide_offsite))
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

/// The incident as it stands now, with its notes, as the answer to reading or
/// changing it (seen as `user` may see it).
async fn incident_answer(state: &AppState, user: &ApiUser, id: &str) -> Result<Response, ApiError> {
    let record = incidents::incident(state.app(), &user.0, id).await?;
    Ok(Json(record_json(&record)).into_response())
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
#[utoipa::path(
    post,
    path = "/devices/{tag}/incidents",
    tag = "incidents",
    summary = "Report damage, loss or theft of a device",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = incidents::ReportInput,
    responses(
        (status = 201, description = "The incident, with its breach assessment.", body = Object),
        (status = 403, description = "This account may not report incidents."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "The incident cannot be recorded in the device's current state."),
        (status = 422, description = "A kind other than `damage`, `loss` or `theft`, no description, or a time in the future."),
    )
)]
async fn report(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<incidents::ReportInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Report)?;
    let incident = incidents::report(state.app(), &user.0, &tag, body).await?;
    Ok(created(incident_json(&incident)))
}

/// An incident with its notes, breach assessment and decision: for those who
/// handle incidents and for its reporter.
#[utoipa::path(
    get,
    path = "/incidents/{id}",
    tag = "incidents",
    summary = "An incident with its notes, breach assessment and decision",
    params(("id" = String, Path, description = "The incident's id.")),
    responses(
        (status = 200, description = "The incident, with `notes`.", body = Object),
        (status = 403, description = "Only those who handle incidents, and its reporter, may see it."),
        (status = 404, description = "No incident has that id."),
    )
)]
async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    incident_answer(&state, &user, &id).await
}

/// Moves an incident on: investigating, or resolved with a `resolution`, a
/// `cost_pence` and a `claim_reference`, with a `note`.
#[utoipa::path(
    post,
    path = "/incidents/{id}/progress",
    tag = "incidents",
    summary = "Move an incident on: investigating, or resolved with how and at what cost",
    params(("id" = String, Path, description = "The incident's id.")),
    request_body = incidents::ProgressInput,
    responses(
        (status = 200, description = "The incident, with `notes`.", body = Object),
        (status = 403, description = "Only those who handle incidents may move one on."),
        (status = 404, description = "No incident has that id."),
        (status = 409, description = "It is resolved already."),
        (status = 422, description = "An unknown status or resolution, a resolution that does not fit the kind, a cost that is not an amount, or a possible breach without its decision."),
    )
)]
async fn progress(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<incidents::ProgressInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::HandleIncidents)?;
    incidents::progress(state.app(), &user.0, &id, body).await?;
    incident_answer(&state, &user, &id).await
}

/// The data protection decision: `reportable` and `reason`.
#[utoipa::path(
    post,
    path = "/incidents/{id}/decision",
    tag = "incidents",
    summary = "Record the data protection decision on a possible breach",
    params(("id" = String, Path, description = "The incident's id.")),
    request_body = incidents::BreachInput,
    responses(
        (status = 200, description = "The incident, with `notes`.", body = Object),
        (status = 403, description = "Only those who handle incidents may decide."),
        (status = 404, description = "No incident has that id."),
        (status = 409, description = "Decided already, or it is not a possible breach."),
        (status = 422, description = "No answer to `reportable`, or no reason."),
    )
)]
async fn decide_breach(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<incidents::BreachInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::HandleIncidents)?;
    incidents::decide_breach(state.app(), &user.0, &id, body).await?;
    incident_answer(&state, &user, &id).await
}

/// A note: `body`.
#[utoipa::path(
    post,
    path = "/incidents/{id}/notes",
    tag = "incidents",
    summary = "Add a note to an incident",
    params(("id" = String, Path, description = "The incident's id.")),
    request_body = incidents::NoteInput,
    responses(
        (status = 201, description = "The incident, with `notes`.", body = Object),
        (status = 403, description = "Only those who handle incidents may add notes."),
        (status = 404, description = "No incident has that id."),
        (status = 422, description = "No note, or one too long."),
    )
)]
async fn add_note(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<incidents::NoteInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::HandleIncidents)?;
    let record = incidents::add_note(state.app(), &user.0, &id, body).await?;
    Ok(created(record_json(&record)))
}

/// The police reference of a theft, by its reporter or someone who handles
/// incidents: `police_reference`.
#[utoipa::path(
    post,
    path = "/incidents/{id}/police-reference",
    tag = "incidents",
    summary = "Record the police crime reference of a theft",
    params(("id" = String, Path, description = "The incident's id.")),
    request_body = incidents::PoliceInput,
    responses(
        (status = 200, description = "The incident, with `notes`.", body = Object),
        (status = 403, description = "Only its reporter and those who handle incidents may add it."),
        (status = 404, description = "No incident has that id."),
        (status = 422, description = "No reference, or the incident is not a theft."),
    )
)]
async fn police_reference(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<incidents::PoliceInput>,
) -> Result<Response, ApiError> {
    incidents::add_police_reference(state.app(), &user.0, &id, body).await?;
    incident_answer(&state, &user, &id).await
}

/// Asks the head teacher for permission to change a device: `what` and `why`.
#[utoipa::path(
    post,
    path = "/devices/{tag}/change-requests",
    tag = "change-requests",
    summary = "Ask the head teacher for permission to install or change something on a device",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = incidents::ChangeInput,
    responses(
        (status = 201, description = "The request, waiting for the head.", body = Object),
        (status = 403, description = "This account may not ask for changes."),
        (status = 404, description = "No device has that tag."),
        (status = 422, description = "No `what` or no `why`."),
    )
)]
async fn request_change(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<incidents::ChangeInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Report)?;
    let request = incidents::request_change(state.app(), &user.0, &tag, body).await?;
    Ok(created(change_json(&request)))
}

/// Change requests waiting for the head teacher, newest first.
#[utoipa::path(
    get,
    path = "/change-requests",
    tag = "change-requests",
    summary = "Change requests waiting for the head teacher, newest first",
    responses(
        (status = 200, description = "`items` and `total`.", body = Object),
        (status = 403, description = "Only the head teacher decides change requests."),
    )
)]
async fn changes(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::DecideChanges)?;
    Ok(list_answer(
        incidents::changes(state.app(), &user.0, true)
            .await?
            .iter()
            .map(change_json),
    ))
}

/// The head teacher's decision on a change request: `approve` and `note`.
#[utoipa::path(
    post,
    path = "/change-requests/{id}/decision",
    tag = "change-requests",
    summary = "Approve or decline a change request",
    params(("id" = String, Path, description = "The request's id.")),
    request_body = incidents::DecisionInput,
    responses(
        (status = 200, description = "The request as decided.", body = Object),
        (status = 403, description = "Only the head teacher decides change requests."),
        (status = 404, description = "No change request has that id."),
        (status = 409, description = "It was decided already."),
        (status = 422, description = "Neither approved nor declined."),
    )
)]
async fn decide_change(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<incidents::DecisionInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::DecideChanges)?;
    let request = incidents::decide_change(state.app(), &user.0, &id, body).await?;
    Ok(Json(change_json(&request)).into_response())
}

/// Asks the head teacher to take a device off site: `reason`. 201 with the new
/// request, or 200 with the one already waiting or approved.
#[utoipa::path(
    post,
    path = "/devices/{tag}/offsite-requests",
    tag = "offsite-requests",
    summary = "Ask the head teacher to take a device off the school site",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = offsite::OffsiteInput,
    responses(
        (status = 201, description = "The new request.", body = Object),
        (status = 200, description = "A request already waiting or approved; nothing new is asked.", body = Object),
        (status = 403, description = "This account may not borrow."),
        (status = 404, description = "No device has that tag."),
        (status = 422, description = "No reason, or one too long."),
    )
)]
async fn request_offsite(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<offsite::OffsiteInput>,
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
#[utoipa::path(
    get,
    path = "/offsite-requests",
    tag = "offsite-requests",
    summary = "Requests to take a device off site waiting for the head teacher, newest first",
    responses(
        (status = 200, description = "`items` and `total`.", body = Object),
        (status = 403, description = "Only the head teacher authorises taking devices off site."),
    )
)]
async fn offsite_requests(
    user: ApiUser,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    user.require(Permission::AuthoriseOffsite)?;
    Ok(list_answer(
        offsite::requests(state.app(), &user.0, true)
            .await?
            .iter()
            .map(offsite_json),
    ))
}

/// The head teacher's decision on an off-site request: `approve` and `note`.
#[utoipa::path(
    post,
    path = "/offsite-requests/{id}/decision",
    tag = "offsite-requests",
    summary = "Approve or decline a request to take a device off site",
    params(("id" = String, Path, description = "The request's id.")),
    request_body = offsite::DecisionInput,
    responses(
        (status = 200, description = "The request as decided.", body = Object),
        (status = 403, description = "Only the head teacher authorises taking devices off site."),
        (status = 404, description = "No off-site request has that id."),
        (status = 409, description = "It was decided already."),
        (status = 422, description = "Neither approved nor declined."),
    )
)]
async fn decide_offsite(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<offsite::DecisionInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::AuthoriseOffsite)?;
    let request = offsite::decide(state.app(), &user.0, &id, body).await?;
    Ok(Json(offsite_json(&request)).into_response())
}
