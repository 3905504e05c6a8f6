//! Stocktakes: open one for the school or a room, scan labels into it (a USB
//! scanner types the tag and Enter; several people at once), tick what is left,
//! close it, read and download the result.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kitroom_core::person::Permission;
use kitroom_store::stocktakes::{Scan, Stocktake};
use kitroom_store::StoreError;
use serde::Deserialize;
use serde_json::json;

use crate::auth::{parse_id, set_flash, Ctx, FormBody, QueryParams};
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

async fn stocktake(state: &AppState, id: &str) -> Result<Stocktake, AppError> {
    state
        .store()
        .stocktake(parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let stocktakes = state.store().list_stocktakes().await?;
    let locations = state.store().list_locations().await?;
    Ok(v::list(&ctx, &stocktakes, &locations, None).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct OpenForm {
    location: String,
}

async fn open(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<OpenForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let location = if form.location.is_empty() {
        None
    } else {
        Some(parse_id(&form.location)?)
    };
    match state
        .store()
        .open_stocktake(ctx.user.actor(), location)
        .await
    {
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
        Err(StoreError::Invalid(invalid)) => {
            let stocktakes = state.store().list_stocktakes().await?;
            let locations = state.store().list_locations().await?;
            Ok((
                StatusCode::CONFLICT,
                v::list(&ctx, &stocktakes, &locations, Some(&invalid.to_string())),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
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
    let s = stocktake(&state, &id).await?;
    if s.is_open() {
        let unseen = state.store().unseen(s.id).await?;
        let locations = state.store().list_locations().await?;
        Ok(v::open(&ctx, &s, &unseen, &locations, &q.at).into_response())
    } else {
        let results = state.store().stocktake_results(s.id).await?;
        Ok(v::closed(&ctx, &s, &results).into_response())
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ScanForm {
    tag: String,
    at: String,
}

#[tracing::instrument(skip_all, fields(device.tag = %form.tag))]
async fn scan(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<ScanForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let s = stocktake(&state, &id).await?;
    let at = if form.at.is_empty() {
        None
    } else {
        Some(parse_id(&form.at)?)
    };
    // A phone camera may read the label's whole address rather than the tag.
    let tag = form.tag.trim();
    let tag = tag
        .rsplit_once("/d/")
        .map(|(_, t)| t)
        .unwrap_or(tag)
        .to_owned();
    let message = match state
        .store()
        .mark_seen(ctx.user.actor(), s.id, tag, at)
        .await
    {
        Ok(Scan::Seen {
            tag, lost: true, ..
        }) => {
            format!("⚠ {tag} IS RECORDED AS LOST. Keep it safe and tell the business manager now, so its incident can be closed as recovered.")
        }
        Ok(Scan::Seen {
            tag,
            elsewhere: false,
            ..
        }) => format!("✓ {tag} seen."),
        Ok(Scan::Seen {
            tag,
            elsewhere: true,
            ..
        }) => format!("✓ {tag} seen, but it belongs somewhere else: the result will say so."),
        Ok(Scan::AlreadySeen { tag }) => format!("{tag} was already seen."),
        Err(StoreError::Invalid(invalid)) => format!("✗ {invalid}"),
        Err(e) => return Err(e.into()),
    };
    set_flash(&ctx.session, message).await?;
    let back = if form.at.is_empty() {
        stocktake_url(&s)
    } else {
        format!("{}?at={}", stocktake_url(&s), form.at)
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
    let s = stocktake(&state, &id).await?;
    Ok(Json(json!({"seen": s.seen, "expected": s.expected, "text": kitroom_core::stocktake::progress(s.seen as usize, s.expected as usize)})).into_response())
}

async fn close(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Stocktake)?;
    let s = stocktake(&state, &id).await?;
    let closed = state
        .store()
        .close_stocktake(ctx.user.actor(), s.id, crate::time::today())
        .await?;
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
    let s = stocktake(&state, &id).await?;
    let results = state.store().stocktake_results(s.id).await?;
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
        w.write_record(row.map(crate::csv_safe))
            .map_err(AppError::internal)?;
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
    let s = stocktake(&state, &id).await?;
    state
        .store()
        .move_to_seen_location(ctx.user.actor(), s.id, parse_id(&device)?)
        .await?;
    set_flash(&ctx.session, "Its home location is now where it was found.").await?;
    Ok(Redirect::to(&stocktake_url(&s)).into_response())
}
