//! Damage, loss and theft: the report (a minute on a phone), what the reporter is
//! told, the manager's handling of it, notifications, and change requests.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use kitroom_core::change::ChangeInput;
use kitroom_core::device::Pence;
use kitroom_core::incident::{breach_decision, IncidentStatus, ReportInput, Resolution};
use kitroom_core::invalid::{required_text, text};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::devices::Device;
use kitroom_store::incidents::{Incident, IncidentFilter};
use kitroom_store::loans::LoanFilter;
use kitroom_store::StoreError;
use serde::Deserialize;

use crate::auth::{parse_id, set_flash, Ctx, FormBody, QueryParams};
use crate::paths::{device_url, incident_url};
use crate::views::incidents as v;
use crate::views::incidents::IncidentsQuery;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/report", get(choose_device))
        .route("/devices/{tag}/report", get(report_form).post(report))
        .route("/devices/{tag}/change-request", post(request_change))
        .route("/incidents", get(list))
        .route("/incidents/{id}", get(show))
        .route("/incidents/{id}/decision", post(decide_breach))
        .route("/incidents/{id}/status", post(move_on))
        .route("/incidents/{id}/notes", post(add_note))
        .route("/incidents/{id}/police-reference", post(police_reference))
        .route("/notifications", get(notifications))
        .route("/notifications/read", post(mark_read))
        .route("/changes/{id}", post(decide_change))
}

async fn device(state: &AppState, tag: &str) -> Result<Device, AppError> {
    state
        .store()
        .device_by_tag(tag)
        .await?
        .ok_or(AppError::NotFound)
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChooseQuery {
    tag: String,
}

/// "Report a problem", from every page: find the device by its tag (typed or
/// scanned) or among one's own loans.
async fn choose_device(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ChooseQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Report)?;
    let tag = q.tag.trim();
    let tag = tag.rsplit_once("/d/").map(|(_, t)| t).unwrap_or(tag);
    if !tag.is_empty() {
        return match state.store().device_by_tag(tag).await? {
            Some(d) => Ok(
                Redirect::to(&format!("{}/report", device_url(d.details.tag.as_str())))
                    .into_response(),
            ),
            None => {
                let mine = state
                    .store()
                    .list_loans(&LoanFilter {
                        open: true,
                        borrower: Some(ctx.user.id),
                        ..Default::default()
                    })
                    .await?;
                let message =
                    format!("No device has the tag “{tag}”. Check the label and try again.");
                Ok((
                    StatusCode::NOT_FOUND,
                    v::choose(&ctx, &mine, q.tag.trim(), Some(&message)),
                )
                    .into_response())
            }
        };
    }
    let mine = state
        .store()
        .list_loans(&LoanFilter {
            open: true,
            borrower: Some(ctx.user.id),
            ..Default::default()
        })
        .await?;
    Ok(v::choose(&ctx, &mine, "", None).into_response())
}

async fn report_form(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Report)?;
    let device = device(&state, &tag).await?;
    Ok(v::report_form(&ctx, &device, &ReportInput::default(), &Invalid::new()).into_response())
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn report(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(input): FormBody<ReportInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Report)?;
    let device = device(&state, &tag).await?;
    let details = match input.parse(Utc::now()) {
        Ok(d) => d,
        Err(invalid) => {
            return Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                v::report_form(&ctx, &device, &input, &invalid),
            )
                .into_response())
        }
    };
    let incident = state
        .store()
        .report_incident(&ctx.user, device.id, details, state.email_link_base())
        .await?;
    state.wake_mailer();
    Ok(Redirect::to(&format!("{}?reported=1", incident_url(&incident))).into_response())
}

async fn list(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<IncidentsQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewIncidents)?;
    let filter = match q.status.as_str() {
        "" => IncidentFilter {
            unresolved: true,
            ..Default::default()
        },
        "all" => IncidentFilter::default(),
        s => IncidentFilter {
            status: s.parse().ok(),
            ..Default::default()
        },
    };
    let incidents = state.store().list_incidents(&filter).await?;
    Ok(v::list(&ctx, &q, &incidents, Utc::now()).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShowQuery {
    reported: Option<String>,
}

/// The incident, for those who handle incidents and for the person who reported it.
async fn incident_for(ctx: &Ctx, state: &AppState, id: &str) -> Result<Incident, AppError> {
    let incident = state
        .store()
        .incident(parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    if !ctx.may(Permission::ViewIncidents) && incident.reported_by != ctx.user.username {
        return Err(AppError::Forbidden);
    }
    Ok(incident)
}

async fn render(
    ctx: &Ctx,
    state: &AppState,
    incident: &Incident,
    just_reported: bool,
    invalid: &Invalid,
) -> Result<Response, AppError> {
    let notes = state.store().incident_notes(incident.id).await?;
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        v::show(ctx, incident, &notes, just_reported, invalid, Utc::now()),
    )
        .into_response())
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<ShowQuery>,
) -> Result<Response, AppError> {
    let incident = incident_for(&ctx, &state, &id).await?;
    render(
        &ctx,
        &state,
        &incident,
        q.reported.is_some(),
        &Invalid::new(),
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DecisionForm {
    reportable: String,
    reason: String,
}

async fn decide_breach(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<DecisionForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::HandleIncidents)?;
    let incident = incident_for(&ctx, &state, &id).await?;
    let decision = match breach_decision(&form.reportable, &form.reason) {
        Ok(d) => d,
        Err(invalid) => return render(&ctx, &state, &incident, false, &invalid).await,
    };
    match state
        .store()
        .record_breach_decision(ctx.user.actor(), incident.id, decision)
        .await
    {
        Ok(_) => {
            set_flash(&ctx.session, "The data protection decision is recorded.").await?;
            Ok(Redirect::to(&incident_url(&incident)).into_response())
        }
        Err(StoreError::Invalid(invalid)) => render(&ctx, &state, &incident, false, &invalid).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct StatusForm {
    status: String,
    resolution: String,
    cost: String,
    claim_reference: String,
    note: String,
}

async fn move_on(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<StatusForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::HandleIncidents)?;
    let incident = incident_for(&ctx, &state, &id).await?;
    let mut invalid = Invalid::new();
    let to: Option<IncidentStatus> = invalid.check("status", form.status.parse());
    let resolution: Option<Option<Resolution>> = invalid.check(
        "resolution",
        if form.resolution.is_empty() {
            Ok(None)
        } else {
            form.resolution.parse().map(Some)
        },
    );
    let cost = invalid.check(
        "cost",
        if form.cost.trim().is_empty() {
            Ok(None)
        } else {
            Pence::parse(&form.cost).map(Some)
        },
    );
    let claim = invalid.check(
        "claim_reference",
        text(&form.claim_reference, "Claim reference", 100),
    );
    let note = invalid.check("note", text(&form.note, "Note", 4000));
    let (Some(to), Some(resolution), Some(cost), Some(claim), Some(note), true) =
        (to, resolution, cost, claim, note, invalid.is_empty())
    else {
        return render(&ctx, &state, &incident, false, &invalid).await;
    };
    match state
        .store()
        .move_incident(
            ctx.user.actor(),
            incident.id,
            to,
            resolution,
            cost,
            claim,
            note,
        )
        .await
    {
        Ok(i) => {
            set_flash(
                &ctx.session,
                format!(
                    "Incident {} is now {}.",
                    i.number,
                    i.status.label().to_lowercase()
                ),
            )
            .await?;
            Ok(Redirect::to(&incident_url(&i)).into_response())
        }
        Err(StoreError::Invalid(invalid)) => render(&ctx, &state, &incident, false, &invalid).await,
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NoteForm {
    body: String,
}

async fn add_note(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<NoteForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::HandleIncidents)?;
    let incident = incident_for(&ctx, &state, &id).await?;
    let body = match required_text(&form.body, "Note", 4000) {
        Ok(b) => b,
        Err(m) => return render(&ctx, &state, &incident, false, &Invalid::one("body", m)).await,
    };
    state
        .store()
        .add_incident_note(ctx.user.actor(), incident.id, body)
        .await?;
    set_flash(&ctx.session, "Note added.").await?;
    Ok(Redirect::to(&incident_url(&incident)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PoliceForm {
    police_reference: String,
}

async fn police_reference(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<PoliceForm>,
) -> Result<Response, AppError> {
    let incident = incident_for(&ctx, &state, &id).await?;
    if incident.reported_by != ctx.user.username && !ctx.may(Permission::HandleIncidents) {
        return Err(AppError::Forbidden);
    }
    let reference = match required_text(&form.police_reference, "Police reference", 60) {
        Ok(r) => r,
        Err(m) => {
            return render(
                &ctx,
                &state,
                &incident,
                false,
                &Invalid::one("police_reference", m),
            )
            .await
        }
    };
    match state
        .store()
        .set_police_reference(ctx.user.actor(), incident.id, reference)
        .await
    {
        Ok(()) => {
            set_flash(&ctx.session, "Police reference saved. Thank you.").await?;
            Ok(Redirect::to(&incident_url(&incident)).into_response())
        }
        Err(StoreError::Invalid(invalid)) => render(&ctx, &state, &incident, false, &invalid).await,
        Err(e) => Err(e.into()),
    }
}

async fn notifications(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    let list = state.store().notifications(ctx.user.id, 100).await?;
    Ok(v::notifications(&ctx, &list).into_response())
}

async fn mark_read(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    state.store().mark_notifications_read(ctx.user.id).await?;
    Ok(Redirect::to("/notifications").into_response())
}

async fn request_change(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(input): FormBody<ChangeInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Report)?;
    let device = device(&state, &tag).await?;
    match input.parse() {
        Ok(d) => {
            state
                .store()
                .request_change(ctx.user.actor(), device.id, d)
                .await?;
            set_flash(&ctx.session, "Your request has gone to the head teacher. Do not make the change until it is approved.").await?;
            Ok(Redirect::to(&device_url(device.details.tag.as_str())).into_response())
        }
        Err(invalid) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v::change_form_page(&ctx, &device, &input, &invalid),
        )
            .into_response()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ChangeDecisionForm {
    decision: String,
    note: String,
}

async fn decide_change(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<ChangeDecisionForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::DecideChanges)?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(AppError::BadRequest("Choose approve or decline.".into())),
    };
    let note = text(&form.note, "Note", 500).map_err(AppError::BadRequest)?;
    state
        .store()
        .decide_change(ctx.user.actor(), parse_id(&id)?, approve, note)
        .await?;
    set_flash(
        &ctx.session,
        if approve {
            "Change approved."
        } else {
            "Change declined."
        },
    )
    .await?;
    Ok(Redirect::to("/approvals").into_response())
}
