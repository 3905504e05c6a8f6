//! Stocktakes: open one for the school or a room, scan labels into it (a USB
//! scanner types the tag and Enter; several people at once), tick what is left,
//! close it, read and download the result.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kitroom_app::stocktakes::{MoveHereInput, OpenInput, ScanInput};
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::stocktakes::Stocktake;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{parse_id, set_flash, Ctx, FormBody, QueryParams};
use crate::error::{page_refusal, refusal_fields, status_of};
use crate::paths::stocktake_url;
use crate::views::stocktakes as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/stocktakes", get(list).post(open))
        .route("/stocktakes/{id}", get(show))
        .route("/stocktakes/{id}/scan", post(scan))
        .route("/stocktakes/{id}/progress.json", get(progress))
        .route("/stocktakes/{id}/close", post(close))
        .route("/stocktakes/{id}/results.csv", get(results_csv))
        .route("/stocktakes/{id}/move/{device}", post(move_here))
}

/// `school`'s stocktake with this id, or not found.
async fn stocktake(state: &AppState, school: SchoolId, id: &str) -> Result<Stocktake, AppError> {
    state
        .store()
        .stocktake(school, parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let stocktakes = kitroom_app::stocktakes::list(state.app(), &ctx.user).await?;
    let locations = state.store().list_locations(ctx.user.school).await?;
    Ok(v::list(&ctx, &stocktakes, &locations, &Invalid::new()).into_response())
}

async fn open(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<OpenInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    match kitroom_app::stocktakes::open(state.app(), &ctx.user, form).await {
        Ok(s) => {
            set_flash(
                &ctx.session,
                format!(
                    "Stocktake {} is open: scan or tick each device you find.",
                    s.number
                ),
            )
            .await?;
            Ok(Redirect::to(&stocktake_url(&s)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let stocktakes = kitroom_app::stocktakes::list(state.app(), &ctx.user).await?;
            let locations = state.store().list_locations(ctx.user.school).await?;
            Ok((
                status_of(refusal.kind),
                v::list(
                    &ctx,
                    &stocktakes,
                    &locations,
                    &refusal_fields(&refusal, "location"),
                ),
            )
                .into_response())
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct ShowQuery {
    /// Where the scanner is, for a whole-school stocktake.
    pub at: String,
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<ShowQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let read = kitroom_app::stocktakes::read(state.app(), &ctx.user, &id).await?;
    let s = &read.stocktake;
    if s.is_open() {
        let locations = state.store().list_locations(ctx.user.school).await?;
        Ok(v::open(
            &ctx,
            s,
            &read.unseen,
            &locations,
            &q.at,
            "",
            &Invalid::new(),
        )
        .into_response())
    } else {
        Ok(v::closed(&ctx, s, &read.results).into_response())
    }
}

/// A scan (or a tick in the "not seen yet" list): what it found is told in the
/// flash and the person goes back to scanning the next label; a scan refused (a
/// tag that names no device) shows the page again with the problem beside the
/// tag, as typed.
#[tracing::instrument(skip_all, fields(device.tag = %form.tag))]
async fn scan(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<ScanInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let s = stocktake(&state, ctx.user.school, &id).await?;
    let at = form.at.clone();
    let typed = form.tag.clone();
    let message = match kitroom_app::stocktakes::scan(state.app(), &ctx.user, &id, form).await {
        Ok(scanned) => scanned.message(),
        Err(e) => {
            let refusal = page_refusal(e)?;
            let read = kitroom_app::stocktakes::read(state.app(), &ctx.user, &id).await?;
            if !read.stocktake.is_open() {
                format!("✗ {}", refusal.message)
            } else {
                let locations = state.store().list_locations(ctx.user.school).await?;
                let page = v::open(
                    &ctx,
                    &read.stocktake,
                    &read.unseen,
                    &locations,
                    &at,
                    typed.trim(),
                    &refusal_fields(&refusal, "tag"),
                );
                return Ok((status_of(refusal.kind), page).into_response());
            }
        }
    };
    set_flash(&ctx.session, message).await?;
    let back = if at.is_empty() {
        stocktake_url(&s)
    } else {
        format!(
            "{}?{}",
            stocktake_url(&s),
            serde_urlencoded::to_string([("at", &at)]).unwrap_or_default()
        )
    };
    Ok(Redirect::to(&back).into_response())
}

/// Progress for the page to refresh itself while several people scan.
async fn progress(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let s = stocktake(&state, ctx.user.school, &id).await?;
    Ok(Json(json!({"seen": s.seen, "expected": s.expected, "text": kitroom_core::stocktake::progress(s.seen as usize, s.expected as usize)})).into_response())
}

/// The close button's form: `confirm=yes` once the person has seen what closing
/// will record.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CloseForm {
    confirm: String,
}

/// Closing cannot be undone, so the page asks first: without `confirm=yes` it
/// shows what closing will record and changes nothing. (The API's close is
/// explicit already.)
async fn close(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<CloseForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    if form.confirm != "yes" {
        let read = kitroom_app::stocktakes::read(state.app(), &ctx.user, &id).await?;
        if read.stocktake.is_open() {
            return Ok(v::confirm_close(&ctx, &read.stocktake, &read.unseen).into_response());
        }
    }
    let closed = kitroom_app::stocktakes::close(state.app(), &ctx.user, &id).await?;
    set_flash(
        &ctx.session,
        format!(
            "Stocktake {} is closed. Every device seen now shows today as its last audit.",
            closed.number
        ),
    )
    .await?;
    Ok(Redirect::to(&stocktake_url(&closed)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ResultsQuery {
    outcome: String,
}

async fn results_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    QueryParams(q): QueryParams<ResultsQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let s = stocktake(&state, ctx.user.school, &id).await?;
    let results = state
        .store()
        .stocktake_results(ctx.user.school, s.id)
        .await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(["tag", "device", "outcome", "home_location", "seen_in"])
        .map_err(AppError::internal)?;
    for r in results
        .iter()
        .filter(|r| q.outcome.is_empty() || r.outcome == q.outcome)
    {
        let row = [
            r.tag.as_str(),
            r.name.as_str(),
            r.outcome.as_str(),
            r.home.as_str(),
            r.seen_at.as_deref().unwrap_or(""),
        ];
        crate::write_safe_record(&mut w, row).map_err(AppError::internal)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string().into()))?;
    let name = if q.outcome.is_empty() {
        format!("stocktake-{}", s.number)
    } else {
        format!("stocktake-{}-{}", s.number, q.outcome.replace('_', "-"))
    };
    Ok(crate::spreadsheet::download(&name, body))
}

async fn move_here(
    ctx: Ctx,
    State(state): State<AppState>,
    Path((id, device)): Path<(String, String)>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let input = MoveHereInput {
        device: Some(parse_id(&device)?),
        ..MoveHereInput::default()
    };
    kitroom_app::stocktakes::move_here(state.app(), &ctx.user, &id, input).await?;
    set_flash(&ctx.session, "Its home location is now where it was found.").await?;
    Ok(Redirect::to(&format!("/stocktakes/{id}")).into_response())
}
