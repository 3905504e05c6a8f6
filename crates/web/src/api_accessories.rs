//! The JSON API for accessories and return checklists, for the business manager: the types with their
//! counts at each place, a new type, a count changed with its reason, a rename or
//! retirement, and those not returned turning up. The same commands as the
//! accessories page.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_store::accessories::Accessory;
use serde_json::{json, Value};

use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{created, list_answer, JsonBody};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The accessories and return checklists operations, each registered with its
/// OpenAPI description (see [`crate::openapi`]).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(change))
        .routes(routes!(adjust))
        .routes(routes!(found))
        .routes(routes!(checklists))
        .routes(routes!(set_checklist))
}

fn questions_json(q: &[kitroom_core::checklist::Question]) -> Value {
    json!(q
        .iter()
        .map(|q| json!({"text": q.text, "damage": q.damage}))
        .collect::<Vec<_>>())
}

/// Every kind's return checklist.
#[utoipa::path(
    get,
    path = "/checklists",
    tag = "checklists",
    summary = "Every kind's return checklist",
    responses(
        (status = 200, description = "`items` (each `kind` with its `questions`: `text`, `damage`) and `total`.", body = Object),
        (status = 403, description = "Only a manager or admin may see the checklists here."),
    )
)]
async fn checklists(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let all = state.store().checklists(user.0.school).await?;
    Ok(list_answer(all.iter().map(
        |(kind, q)| json!({"kind": kind, "questions": questions_json(q)}),
    )))
}

/// Sets one kind's return checklist, as the checklists page does.
#[utoipa::path(
    put,
    path = "/checklists/{kind}",
    tag = "checklists",
    summary = "Set one kind's return checklist, as the checklists page does; the other kinds keep theirs",
    params(("kind" = String, Path, description = "The device kind's word, such as `ipad` or `laptop`.")),
    request_body = kitroom_app::checklists::ChecklistInput,
    responses(
        (status = 200, description = "The kind with its `questions` as saved.", body = Object),
        (status = 403, description = "Only a manager or admin may change a checklist."),
        (status = 404, description = "No device kind has that word."),
        (status = 422, description = "A question was wrong (empty, too long, too many)."),
    )
)]
async fn set_checklist(
    user: ApiUser,
    State(state): State<AppState>,
    Path(kind): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::checklists::ChecklistInput>,
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

async fn one(state: &AppState, school: SchoolId, id: uuid::Uuid) -> Result<Value, ApiError> {
    let all = state.store().list_accessories(school).await?;
    all.iter()
        .find(|a| a.id == id)
        .map(accessory_json)
        .ok_or_else(|| ApiError::not_found("That accessory"))
}

#[utoipa::path(
    get,
    path = "/accessories",
    tag = "accessories",
    summary = "The accessory types with their counts at each place",
    responses(
        (status = 200, description = "`items` (each with `id`, `name`, `retired` and `stock`: `location`, `count`) and `total`.", body = Object),
        (status = 403, description = "Only a manager or admin may see the accessories here."),
    )
)]
async fn list(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let all = state.store().list_accessories(user.0.school).await?;
    Ok(Json(json!({
        "items": all.iter().map(accessory_json).collect::<Vec<_>>(),
        "total": all.len(),
    }))
    .into_response())
}

#[utoipa::path(
    post,
    path = "/accessories",
    tag = "accessories",
    summary = "Add a type of accessory, with none anywhere yet",
    request_body = kitroom_app::accessories::NewAccessoryInput,
    responses(
        (status = 201, description = "The accessory.", body = Object),
        (status = 403, description = "Only a manager or admin may add an accessory."),
        (status = 422, description = "The name is empty, too long or already taken."),
    )
)]
async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<kitroom_app::accessories::NewAccessoryInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let (id, _) = kitroom_app::accessories::create(state.app(), &user.0, body).await?;
    Ok(created(one(&state, user.0.school, id).await?))
}

#[utoipa::path(
    patch,
    path = "/accessories/{id}",
    tag = "accessories",
    summary = "Rename an accessory type, retire it or put it back in use; its counts, loans and history keep it",
    params(("id" = String, Path, description = "The accessory's id.")),
    request_body = kitroom_app::accessories::ChangeInput,
    responses(
        (status = 200, description = "The accessory.", body = Object),
        (status = 403, description = "Only a manager or admin may change an accessory."),
        (status = 404, description = "No accessory has that id."),
        (status = 422, description = "The new name is empty, too long or already taken."),
    )
)]
async fn change(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::accessories::ChangeInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    kitroom_app::accessories::change(state.app(), &user.0, &id, body).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found("That accessory"))?;
    Ok(Json(one(&state, user.0.school, id).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/accessories/{id}/adjust",
    tag = "accessories",
    summary = "Change an accessory's count at a place, with the reason; never below none",
    params(("id" = String, Path, description = "The accessory's id.")),
    request_body = kitroom_app::accessories::AdjustInput,
    responses(
        (status = 200, description = "The accessory with its counts now.", body = Object),
        (status = 403, description = "Only a manager or admin may change a count."),
        (status = 404, description = "No accessory has that id."),
        (status = 422, description = "Every field problem at once: the place, the change (such as `+2` or `-1`; not below none) and the reason."),
    )
)]
async fn adjust(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::accessories::AdjustInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    kitroom_app::accessories::adjust(state.app(), &user.0, &id, body).await?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| ApiError::not_found("That accessory"))?;
    Ok(Json(one(&state, user.0.school, id).await?).into_response())
}

#[utoipa::path(
    post,
    path = "/accessories/lent/{id}/found",
    tag = "accessories",
    summary = "Accessories lent and not returned have turned up: they are counted back where they were taken from",
    params(("id" = i64, Path, description = "The lent row's id, as a loan's `accessories` list it.")),
    responses(
        (status = 204, description = "Counted back."),
        (status = 403, description = "Only a manager or admin may count them back."),
        (status = 404, description = "Nothing not returned has that id."),
    )
)]
async fn found(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    kitroom_app::accessories::found(state.app(), &user.0, &id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}
