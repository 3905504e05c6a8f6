//! Locations: the rooms and places devices live in.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;

use crate::auth::{parse_id, set_flash, Ctx, FormBody};
use crate::error::page_refusal;
use crate::error::status_of;
use crate::views::locations as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/locations", get(list).post(create))
        .route("/locations/{id}/rename", post(rename))
}

type NameForm = kitroom_app::locations::LocationInput;

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let locations = state.store().list_locations(ctx.user.school).await?;
    Ok(v::list(&ctx, &locations, "", &Invalid::new(), None).into_response())
}

async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<NameForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    match kitroom_app::locations::create(state.app(), &ctx.user, form.clone()).await {
        Ok(l) => {
            set_flash(&ctx.session, format!("Location “{}” added.", l.name)).await?;
            Ok(Redirect::to("/locations").into_response())
        }
        Err(e) => refused(&ctx, &state, page_refusal(e)?, &form.name, None).await,
    }
}

async fn rename(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<NameForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let id = parse_id(&id)?;
    match kitroom_app::locations::rename(state.app(), &ctx.user, id, form.clone()).await {
        Ok(l) => {
            set_flash(&ctx.session, format!("Location renamed to “{}”.", l.name)).await?;
            Ok(Redirect::to("/locations").into_response())
        }
        Err(e) => refused(&ctx, &state, page_refusal(e)?, "", Some((id, &form.name))).await,
    }
}

/// The locations page again after a refusal: the name typed to add (`new_name`) or
/// the location being renamed, with the problems beside it.
async fn refused(
    ctx: &Ctx,
    state: &AppState,
    refusal: kitroom_app::Refusal,
    new_name: &str,
    renaming: Option<(uuid::Uuid, &str)>,
) -> Result<Response, AppError> {
    let locations = state.store().list_locations(ctx.user.school).await?;
    let invalid = refusal.fields.unwrap_or_default();
    let page = v::list(ctx, &locations, new_name, &invalid, renaming);
    Ok((status_of(refusal.kind), page).into_response())
}
