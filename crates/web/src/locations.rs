//! Locations: the rooms and places devices live in.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::StoreError;
use serde::Deserialize;

use crate::auth::{parse_id, set_flash, Ctx, FormBody};
use crate::views::locations as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/locations", get(list).post(create))
        .route("/locations/{id}/rename", post(rename))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NameForm {
    name: String,
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let locations = state.store().list_locations().await?;
    Ok(v::list(&ctx, &locations, "", &Invalid::new(), None).into_response())
}

async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<NameForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    match state
        .store()
        .create_location(ctx.user.actor(), &form.name)
        .await
    {
        Ok(_) => {
            set_flash(
                &ctx.session,
                format!("Location “{}” added.", form.name.trim()),
            )
            .await?;
            Ok(Redirect::to("/locations").into_response())
        }
        Err(StoreError::Invalid(invalid)) => {
            let locations = state.store().list_locations().await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                v::list(&ctx, &locations, &form.name, &invalid, None),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
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
    match state
        .store()
        .rename_location(ctx.user.actor(), id, &form.name)
        .await
    {
        Ok(()) => {
            set_flash(
                &ctx.session,
                format!("Location renamed to “{}”.", form.name.trim()),
            )
            .await?;
            Ok(Redirect::to("/locations").into_response())
        }
        Err(StoreError::Invalid(invalid)) => {
            let locations = state.store().list_locations().await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                v::list(&ctx, &locations, "", &invalid, Some((id, &form.name))),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}
