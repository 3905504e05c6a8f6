//! The JSON API for stocktakes: list, open, read (what is not seen yet, or the
//! result), scan a tag, close, and "move it here". The same commands as the
//! stocktake pages, so the same rules and the same events; a token needs the role
//! the pages need (a manager's or an admin's).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kitroom_app::stocktakes::{MoveHereInput, OpenInput, Read, ScanInput, ScanResult};
use kitroom_core::person::Permission;
use kitroom_core::stocktake::{progress, Outcome};
use kitroom_store::stocktakes::Stocktake;
use serde_json::{json, Value};

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{created, list_answer, JsonBody};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The stocktake operations, each registered with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, open))
        .routes(routes!(read))
        .routes(routes!(scan))
        .routes(routes!(close))
        .routes(routes!(move_here))
}

/// A stocktake and its progress.
pub fn stocktake_json(s: &Stocktake) -> Value {
    json!({
        "id": s.id,
        "number": s.number,
        "scope": if s.location_id.is_some() { "location" } else { "whole_school" },
        "location": s.location_id.map(|_| s.scope.clone()),
        "status": if s.is_open() { "open" } else { "closed" },
        "opened_by": s.opened_by,
        "opened_at": s.opened_at,
        "closed_at": s.closed_at,
        "expected": s.expected,
        "seen": s.seen,
        "progress": progress(s.seen as usize, s.expected as usize),
    })
}

/// A stocktake as its page shows it: while open, the devices not seen yet; once
/// closed, each device's outcome and how many had each.
fn read_json(r: &Read) -> Value {
    let mut body = stocktake_json(&r.stocktake);
    if r.stocktake.is_open() {
        body["unseen"] = r
            .unseen
            .iter()
            .map(|u| json!({"device": u.tag, "name": u.name, "home": u.home, "status": u.status}))
            .collect();
    } else {
        let counts: serde_json::Map<String, Value> = Outcome::ALL
            .iter()
            .map(|o| {
                let n = r.results.iter().filter(|x| x.outcome == o.as_str()).count();
                (o.as_str().to_owned(), json!(n))
            })
            .collect();
        body["counts"] = Value::Object(counts);
        body["results"] = r
            .results
            .iter()
            .map(|x| {
                json!({
                    "device": x.tag,
                    "name": x.name,
                    "outcome": x.outcome,
                    "home": x.home,
                    "seen_in": x.seen_at,
                    "location_now": x.current_home,
                })
            })
            .collect();
    }
    body
}

#[utoipa::path(get, path = "/stocktakes", tag = "stocktakes",
    summary = "Every stocktake, newest first, with its progress",
    responses(
        (status = 200, description = "`{items, total}`.", body = Object),
        (status = 403, description = "Only a manager or an admin runs stocktakes."),
    ))]
async fn list(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::Stocktake)?;
    let all = kitroom_app::stocktakes::list(state.app(), &user.0).await?;
    Ok(list_answer(all.iter().map(stocktake_json)))
}

/// `{"location": "Library"}` (a name or an id) or `{"scope": "whole_school"}`;
/// an empty body counts the whole school, as the page's first choice does.
#[utoipa::path(post, path = "/stocktakes", tag = "stocktakes",
    summary = "Open a stocktake of one location or the whole school",
    request_body = OpenInput,
    responses(
        (status = 201, description = "The stocktake.", body = Object),
        (status = 403, description = "Only a manager or an admin runs stocktakes."),
        (status = 409, description = "One of the same scope is open already."),
        (status = 422, description = "No location has that name or id."),
    ))]
async fn open(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<OpenInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Stocktake)?;
    let s = kitroom_app::stocktakes::open(state.app(), &user.0, body).await?;
    Ok(created(stocktake_json(&s)))
}

#[utoipa::path(get, path = "/stocktakes/{id}", tag = "stocktakes",
    summary = "A stocktake: what is not seen yet, or its result",
    params(("id" = String, Path, description = "The stocktake's id.")),
    responses(
        (status = 200, description = "The stocktake, with `unseen` while open, `counts` and `results` once closed.", body = Object),
        (status = 403, description = "Only a manager or an admin runs stocktakes."),
        (status = 404, description = "No stocktake has that id."),
    ))]
async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Stocktake)?;
    let r = kitroom_app::stocktakes::read(state.app(), &user.0, &id).await?;
    Ok(Json(read_json(&r)).into_response())
}

/// `{"tag": "LAP-0042"}` (or the label's address), and for a whole-school
/// stocktake optionally `"at"`: where the scanner is. 201 when the device is
/// marked seen now, 200 when someone had already scanned it.
#[utoipa::path(post, path = "/stocktakes/{id}/scans", tag = "stocktakes",
    summary = "Mark a device seen, by its tag or its label's address",
    params(("id" = String, Path, description = "The stocktake's id.")),
    request_body = ScanInput,
    responses(
        (status = 201, description = "Marked seen now.", body = Object),
        (status = 200, description = "Someone had already scanned it.", body = Object),
        (status = 403, description = "Only a manager or an admin runs stocktakes."),
        (status = 404, description = "No stocktake has that id."),
        (status = 409, description = "The stocktake is closed."),
        (status = 422, description = "No device has that tag (`unknown-tag`), or no location is called `at`."),
    ))]
async fn scan(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<ScanInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Stocktake)?;
    let scanned = kitroom_app::stocktakes::scan(state.app(), &user.0, &id, body).await?;
    let (status, result, elsewhere, lost) = match scanned.result {
        ScanResult::Seen { elsewhere, lost } => (StatusCode::CREATED, "seen", elsewhere, lost),
        ScanResult::AlreadySeen => (StatusCode::OK, "already_seen", false, false),
    };
    Ok((
        status,
        Json(json!({
            "device": scanned.tag,
            "result": result,
            "elsewhere": elsewhere,
            "lost": lost,
            "message": scanned.message(),
            "stocktake": stocktake_json(&scanned.stocktake),
        })),
    )
        .into_response())
}

/// Closes it and answers with the result.
#[utoipa::path(post, path = "/stocktakes/{id}/close", tag = "stocktakes",
    summary = "Close a stocktake: each device's outcome is frozen",
    params(("id" = String, Path, description = "The stocktake's id.")),
    responses(
        (status = 200, description = "The result.", body = Object),
        (status = 403, description = "Only a manager or an admin runs stocktakes."),
        (status = 404, description = "No stocktake has that id."),
        (status = 409, description = "It was closed already."),
    ))]
async fn close(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::Stocktake)?;
    kitroom_app::stocktakes::close(state.app(), &user.0, &id).await?;
    let r = kitroom_app::stocktakes::read(state.app(), &user.0, &id).await?;
    Ok(Json(read_json(&r)).into_response())
}

/// `{"tag": "LIB-1"}`: a device the closed stocktake saw in another location
/// gets that location as its home, as the result page's "Move it here" does.
#[utoipa::path(post, path = "/stocktakes/{id}/move-here", tag = "stocktakes",
    summary = "Give a device seen elsewhere the place it was seen as its home",
    params(("id" = String, Path, description = "The stocktake's id.")),
    request_body = MoveHereInput,
    responses(
        (status = 200, description = "`{device, from, to}`.", body = Object),
        (status = 403, description = "Only a manager or an admin runs stocktakes."),
        (status = 404, description = "No stocktake has that id, or the device is not in its result."),
        (status = 409, description = "The device was seen where it belongs, or was moved already."),
    ))]
async fn move_here(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<MoveHereInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Stocktake)?;
    let moved = kitroom_app::stocktakes::move_here(state.app(), &user.0, &id, body).await?;
    Ok(Json(json!({"device": moved.tag, "from": moved.from, "to": moved.to})).into_response())
}
