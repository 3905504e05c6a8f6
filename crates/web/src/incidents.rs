//! Damage, loss and theft: the report (a minute on a phone), what the reporter is
//! told, the manager's handling of it, notifications, and change requests.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use kitroom_app::incidents::ChangeInput;
use kitroom_core::incident::ReportInput;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::incidents::{Incident, IncidentFilter};
use kitroom_store::loans::LoanFilter;
use serde::Deserialize;

use crate::auth::{set_flash, Ctx};
use crate::devices::device;
use crate::error::{page_refusal, refusal_fields, status_of};
use crate::input::{FormBody, QueryParams};
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
        return match state.store().device_by_tag(ctx.user.school, tag).await? {
            Some(d) => Ok(
                Redirect::to(&format!("{}/report", device_url(d.details.tag.as_str())))
                    .into_response(),
            ),
            None => {
                let mine = state
                    .store()
                    .list_loans(
                        ctx.user.school,
                        &LoanFilter {
                            open: true,
                            borrower: Some(ctx.user.id),
                            ..Default::default()
                        },
                    )
                    .await?;
                let message =
                    format!("No device has the tag “{tag}”. Check the label and try again.");
                Ok((
                    StatusCode::NOT_FOUND,
                    v::choose(
                        &ctx,
                        &mine,
                        q.tag.trim(),
                        &kitroom_core::Invalid::one("tag", message),
                    ),
                )
                    .into_response())
            }
        };
    }
    let mine = state
        .store()
        .list_loans(
            ctx.user.school,
            &LoanFilter {
                open: true,
                borrower: Some(ctx.user.id),
                ..Default::default()
            },
        )
        .await?;
    Ok(v::choose(&ctx, &mine, "", &kitroom_core::Invalid::new()).into_response())
}

async fn report_form(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Report)?;
    let device = device(&state, ctx.user.school, &tag).await?;
    Ok(v::report_form(&ctx, &device, &ReportInput::default(), &Invalid::new()).into_response())
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn report(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(input): FormBody<kitroom_app::incidents::ReportInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Report)?;
    match kitroom_app::incidents::report(state.app(), &ctx.user, &tag, input.clone()).await {
        Ok(incident) => {
            Ok(Redirect::to(&format!("{}?reported=1", incident_url(&incident))).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let device = device(&state, ctx.user.school, &tag).await?;
            Ok((
                status_of(refusal.kind),
                v::report_form(
                    &ctx,
                    &device,
                    &input.as_typed(),
                    &refusal_fields(&refusal, "status"),
                ),
            )
                .into_response())
        }
    }
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
    let incidents = state
        .store()
        .list_incidents(ctx.user.school, &filter)
        .await?;
    Ok(v::list(&ctx, &q, &incidents, Utc::now()).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ShowQuery {
    reported: Option<String>,
}

/// The incident, for those who handle incidents and for the person who reported it.
async fn incident_for(ctx: &Ctx, state: &AppState, id: &str) -> Result<Incident, AppError> {
    Ok(kitroom_app::incidents::incident(state.app(), &ctx.user, id)
        .await?
        .incident)
}

async fn render(
    ctx: &Ctx,
    state: &AppState,
    incident: &Incident,
    just_reported: bool,
    status: StatusCode,
    invalid: &Invalid,
) -> Result<Response, AppError> {
    let notes = state.store().incident_notes(incident.id).await?;
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
        StatusCode::OK,
        &Invalid::new(),
    )
    .await
}

/// After a change to an incident: a flash and back to it, or the incident shown
/// again with the refusal beside its field.
async fn after(
    ctx: &Ctx,
    state: &AppState,
    id: &str,
    outcome: Result<String, kitroom_app::Error>,
) -> Result<Response, AppError> {
    match outcome {
        Ok(flash) => {
            set_flash(&ctx.session, flash).await?;
            let incident = incident_for(ctx, state, id).await?;
            Ok(Redirect::to(&incident_url(&incident)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let incident = incident_for(ctx, state, id).await?;
            render(
                ctx,
                state,
                &incident,
                false,
                status_of(refusal.kind),
                &refusal_fields(&refusal, "status"),
            )
            .await
        }
    }
}

async fn decide_breach(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<kitroom_app::incidents::BreachInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::HandleIncidents)?;
    let outcome = kitroom_app::incidents::decide_breach(state.app(), &ctx.user, &id, form)
        .await
        .map(|_| "The data protection decision is recorded.".to_owned());
    after(&ctx, &state, &id, outcome).await
}

/// Moving an incident on. Writing a device off retires it, which cannot be
/// undone: the page asks first, and acts only when the form comes back with
/// `confirm=yes`. (The API's move on is explicit already.)
async fn move_on(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    ctx.require(Permission::HandleIncidents)?;
    let crate::input::Confirmable {
        confirmed,
        fields,
        input: form,
    } = crate::input::Confirmable::<kitroom_app::incidents::ProgressInput>::read(pairs)?;
    let writes_off =
        kitroom_app::incidents::Progress::try_from(form.clone()).is_ok_and(|p| p.writes_off());
    if writes_off && !confirmed {
        let incident = incident_for(&ctx, &state, &id).await?;
        if incident.status != kitroom_core::incident::IncidentStatus::Resolved {
            return Ok(v::confirm_write_off(&ctx, &incident, &fields).into_response());
        }
    }
    let outcome = kitroom_app::incidents::progress(state.app(), &ctx.user, &id, form)
        .await
        .map(|i| {
            format!(
                "Incident {} is now {}.",
                i.number,
                i.status.label().to_lowercase()
            )
        });
    after(&ctx, &state, &id, outcome).await
}

async fn add_note(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<kitroom_app::incidents::NoteInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::HandleIncidents)?;
    let outcome = kitroom_app::incidents::add_note(state.app(), &ctx.user, &id, form)
        .await
        .map(|_| "Note added.".to_owned());
    after(&ctx, &state, &id, outcome).await
}

async fn police_reference(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<kitroom_app::incidents::PoliceInput>,
) -> Result<Response, AppError> {
    let outcome = kitroom_app::incidents::add_police_reference(state.app(), &ctx.user, &id, form)
        .await
        .map(|_| "Police reference saved. Thank you.".to_owned());
    after(&ctx, &state, &id, outcome).await
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
    match kitroom_app::incidents::request_change(state.app(), &ctx.user, &tag, input.clone()).await
    {
        Ok(request) => {
            set_flash(&ctx.session, "Your request has gone to the head teacher. Do not make the change until it is approved.").await?;
            Ok(Redirect::to(&device_url(&request.device_tag)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let device = device(&state, ctx.user.school, &tag).await?;
            Ok((
                status_of(refusal.kind),
                v::change_form_page(
                    &ctx,
                    &device,
                    &input.into(),
                    &refusal_fields(&refusal, "status"),
                ),
            )
                .into_response())
        }
    }
}

async fn decide_change(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<kitroom_app::incidents::DecisionInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::DecideChanges)?;
    let request = kitroom_app::incidents::decide_change(state.app(), &ctx.user, &id, form).await?;
    crate::loans::back_to_approvals(
        &ctx,
        &request.status,
        "Change approved.",
        "Change declined.",
    )
    .await
}
