//! Accessories, for the business manager: the types with their counts at each
//! location, a new type, a count changed with its reason, a rename or retirement,
//! and those not returned turning up. Thin adapters over `kitroom_app::accessories`,
//! the commands the API calls too.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_app::accessories::{self, AdjustInput, ChangeInput, NewAccessoryInput};
use kitroom_core::person::Permission;
use serde::Deserialize;

use crate::auth::{parse_id, set_flash, Ctx, FormBody};
use crate::error::status_of;
use crate::views::accessories as v;
use crate::views::accessories::AccessoryForms;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/accessories", get(list).post(create))
        .route("/accessories/{id}/adjust", post(adjust))
        .route("/accessories/{id}/rename", post(rename))
        .route("/accessories/{id}/retire", post(retire))
        .route("/accessories/lent/{id}/found", post(found))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RenameForm {
    rename: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct RetireForm {
    /// "no" puts a retired type back in use; anything else retires it.
    retired: String,
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let all = state.store().list_accessories(ctx.user.school).await?;
    Ok(v::list(&ctx, &all, &AccessoryForms::default()).into_response())
}

/// The page again with the refused form as typed and the refusal beside its
/// field (`field` when it names none), answered with the refusal's status.
async fn refused(
    ctx: &Ctx,
    state: &AppState,
    mut forms: AccessoryForms,
    e: kitroom_app::Error,
    field: &'static str,
) -> Result<Response, AppError> {
    let refusal = crate::error::page_refusal(e)?;
    forms.invalid = crate::error::refusal_fields(&refusal, field);
    let all = state.store().list_accessories(ctx.user.school).await?;
    Ok((status_of(refusal.kind), v::list(ctx, &all, &forms)).into_response())
}

async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(input): FormBody<NewAccessoryInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let forms = AccessoryForms {
        name: input.name.clone(),
        ..Default::default()
    };
    match accessories::create(state.app(), &ctx.user, input).await {
        Ok((_, name)) => {
            set_flash(
                &ctx.session,
                format!("{name} added. Type how many there are at each place below."),
            )
            .await?;
            Ok(Redirect::to("/accessories").into_response())
        }
        Err(e) => refused(&ctx, &state, forms, e, "name").await,
    }
}

async fn adjust(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(input): FormBody<AdjustInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let id = parse_id(&id)?;
    let forms = AccessoryForms {
        adjusting: Some(id.to_string()),
        location: input.location.clone(),
        change: input.change.0.clone(),
        reason: input.reason.clone(),
        ..Default::default()
    };
    match accessories::adjust(state.app(), &ctx.user, &id.to_string(), input).await {
        Ok(done) => {
            set_flash(
                &ctx.session,
                format!(
                    "The count in the {} is changed by {:+}.",
                    done.location, done.change
                ),
            )
            .await?;
            Ok(Redirect::to("/accessories").into_response())
        }
        Err(e) => refused(&ctx, &state, forms, e, "change").await,
    }
}

async fn rename(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<RenameForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let id = parse_id(&id)?;
    let forms = AccessoryForms {
        renaming: Some(id.to_string()),
        rename: form.rename.clone(),
        ..Default::default()
    };
    let input = ChangeInput {
        name: Some(form.rename),
        retired: None,
    };
    match accessories::change(state.app(), &ctx.user, &id.to_string(), input).await {
        Ok(name) => {
            set_flash(&ctx.session, format!("Renamed: {name}.")).await?;
            Ok(Redirect::to("/accessories").into_response())
        }
        // the command's `name` is this form's `rename`
        Err(e) => refused(&ctx, &state, forms, as_rename(e), "rename").await,
    }
}

/// The command's `name` is this form's `rename`: its problems are shown there.
fn as_rename(mut e: kitroom_app::Error) -> kitroom_app::Error {
    if let kitroom_app::Error::Refused(r) = &mut e {
        for f in r.fields.iter_mut().flat_map(|i| i.0.iter_mut()) {
            if f.field == "name" {
                f.field = "rename";
            }
        }
    }
    e
}

/// Retires a type (no longer offered with a loan), or puts it back in use.
async fn retire(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<RetireForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let id = parse_id(&id)?;
    let retired = form.retired.trim() != "no";
    let input = ChangeInput {
        name: None,
        retired: Some(retired),
    };
    let name = accessories::change(state.app(), &ctx.user, &id.to_string(), input).await?;
    set_flash(
        &ctx.session,
        if retired {
            format!("{name} is retired: it is no longer offered with a loan. Its counts and history stay here, and any not returned stay on your desk.")
        } else {
            format!("{name} is back in use and can go out with a loan again.")
        },
    )
    .await?;
    Ok(Redirect::to("/accessories").into_response())
}

/// Accessories not returned have turned up: back in the count.
async fn found(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    accessories::found(state.app(), &ctx.user, &id).await?;
    set_flash(&ctx.session, "The accessory is back in the count.").await?;
    Ok(Redirect::to("/").into_response())
}
