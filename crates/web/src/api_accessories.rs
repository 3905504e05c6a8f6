//! The JSON API for accessories and return checklists, for the business manager: the types with their
//! counts at each place, a new type, a count changed with its reason, a rename or
//! retirement, and those not returned turning up. The same commands as the
//! accessories page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Json, Router};
use kitroom_core::person::Permission;
use kitroom_store::accessories::Accessory;
use serde_json::{json, Value};

use crate::api::JsonCommand;
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accessories", get(list).post(create))
        .route("/accessories/{id}", patch(change))
        .route("/accessories/{id}/adjust", post(adjust))
        .route("/accessories/lent/{id}/found", post(found))
        .route("/checklists", get(checklists))
        .route("/checklists/{kind}", put(set_checklist))
}

fn questions_json(q: &[kitroom_core::checklist::Question]) -> Value {
    json!(q
        .iter()
        .map(|q| json!({"text": q.text, "damage": q.damage}))
        .collect::<Vec<_>>())
}

/// Every kind's return checklist.
async fn checklists(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let all = state.store().checklists().await?;
    let items: Vec<Value> = all
        .iter()
        .map(|(kind, q)| json!({"kind": kind, "questions": questions_json(q)}))
        .collect();
    Ok(Json(json!({"total": items.len(), "items": items})).into_response())
}

/// Sets one kind's return checklist, as the checklists page does.
async fn set_checklist(
    user: ApiUser,
    State(state): State<AppState>,
    Path(kind): Path<String>,
    JsonCommand(body): JsonCommand<kitroom_app::checklists::ChecklistInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let saved = kitroom_app::checklists::set(state.app(), &user.0, &kind, body).await?;
    Ok(Json(json!({"kind": kind, "questions": questions_json(&saved)})).into_response())
}

fn accessory_json(a: &Accessory) -> Value {
    json!({
        "id": a.id,
        "name": a.name,
        "retired": a.retired,
        "stock": a.stock.iter().map(|s| json!({"location": s.location, "count": s.count})).collect::<Vec<_>>(),
    })
}

async fn one(state: &AppState, id: uuid::Uuid) -> Result<Value, ApiError> {
    let all = state.store().list_accessories().await?;
    all.iter()
        .find(|a| a.id == id)
        .map(accessory_json)
        .ok_or_else(|| ApiError::not_found("That accessory"))
}

async fn list(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let all = state.store().list_accessories().await?;
    Ok(Json(json!({
        "items": all.iter().map(accessory_json).collect::<Vec<_>>(),
        "total": all.len(),
    }))
    .into_response())
}

async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonCommand(body): JsonCommand<kitroom_app::accessories::NewAccessoryInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let (id, _) = kitroom_app::accessories::create(state.app(), &user.0, body).await?;
    Ok((StatusCode::CREATED, Json(one(&state, id).await?)).into_response())
}

async fn change(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<kitroom_app::accessories::ChangeInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    kitroom_app::accessories::change(state.app(), &user.0, &id, body).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found("That accessory"))?;
    Ok(Json(one(&state, id).await?).into_response())
}

async fn adjust(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<kitroom_app::accessories::AdjustInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    kitroom_app::accessories::adjust(state.app(), &user.0, &id, body).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found("That accessory"))?;
    Ok(Json(one(&state, id).await?).into_response())
}

async fn found(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    kitroom_app::accessories::found(state.app(), &user.0, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
