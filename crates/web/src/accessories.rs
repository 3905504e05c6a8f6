//! Accessories, for the business manager: the types with their counts at each
//! location, a new type, and a count changed with its reason. Also the helpers that
//! read "Also taking" on a check-out form and the counts back on a return form.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::accessory;
use kitroom_core::person::Permission;
use kitroom_store::accessories::Taking;
use kitroom_store::StoreError;
use serde::Deserialize;

use crate::auth::{parse_id, set_flash, Ctx, FormBody};
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewForm {
    name: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AdjustForm {
    location: String,
    change: String,
    reason: String,
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let all = state.store().list_accessories().await?;
    Ok(v::list(&ctx, &all, &AccessoryForms::default()).into_response())
}

async fn refused(ctx: &Ctx, state: &AppState, forms: AccessoryForms) -> Result<Response, AppError> {
    let all = state.store().list_accessories().await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, v::list(ctx, &all, &forms)).into_response())
}

async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<NewForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let mut forms = AccessoryForms {
        name: form.name.clone(),
        ..Default::default()
    };
    let Some(name) = forms
        .invalid
        .check("name", accessory::accessory_name(&form.name))
    else {
        return refused(&ctx, &state, forms).await;
    };
    match state
        .store()
        .create_accessory(ctx.user.actor(), name.clone())
        .await
    {
        Ok(_) => {
            set_flash(
                &ctx.session,
                format!("{name} added. Type how many there are at each place below."),
            )
            .await?;
            Ok(Redirect::to("/accessories").into_response())
        }
        Err(StoreError::Invalid(i)) => {
            forms.invalid = i;
            refused(&ctx, &state, forms).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn adjust(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<AdjustForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let id = parse_id(&id)?;
    let mut forms = AccessoryForms {
        adjusting: Some(id.to_string()),
        location: form.location.clone(),
        change: form.change.clone(),
        reason: form.reason.clone(),
        ..Default::default()
    };
    let input = kitroom_app::accessories::AdjustInput {
        location: form.location,
        change: kitroom_app::input::Number(form.change),
        reason: form.reason,
    };
    match kitroom_app::accessories::adjust(state.app(), &ctx.user, &id.to_string(), input).await {
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
        Err(e) => {
            let refusal = crate::error::page_refusal(e)?;
            forms.invalid = crate::error::refusal_fields(&refusal, "change");
            refused(&ctx, &state, forms).await
        }
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
    let mut forms = AccessoryForms {
        renaming: Some(id.to_string()),
        rename: form.rename.clone(),
        ..Default::default()
    };
    let Some(name) = forms
        .invalid
        .check("rename", accessory::accessory_name(&form.rename))
    else {
        return refused(&ctx, &state, forms).await;
    };
    match state
        .store()
        .rename_accessory(ctx.user.actor(), id, name.clone())
        .await
    {
        Ok(()) => {
            set_flash(&ctx.session, format!("Renamed: {name}.")).await?;
            Ok(Redirect::to("/accessories").into_response())
        }
        Err(StoreError::Invalid(i)) => {
            forms.invalid = i;
            refused(&ctx, &state, forms).await
        }
        Err(e) => Err(e.into()),
    }
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
    let name = state
        .store()
        .retire_accessory(ctx.user.actor(), id, retired)
        .await?;
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
    let id: i64 = id.parse().map_err(|_| AppError::NotFound)?;
    state.store().accessory_found(ctx.user.actor(), id).await?;
    set_flash(&ctx.session, "The accessory is back in the count.").await?;
    Ok(Redirect::to("/").into_response())
}

/// "Also taking" on a check-out form: `also` names a stock row, `also_count` how
/// many (1 when left empty). Nothing chosen takes nothing.
pub fn taking(also: &str, also_count: &str) -> Result<Vec<Taking>, String> {
    let also = also.trim();
    if also.is_empty() {
        return Ok(Vec::new());
    }
    let stock = also
        .parse::<i64>()
        .map_err(|_| "Choose the accessory from the list.".to_owned())?;
    let count = match also_count.trim() {
        "" => 1,
        n => accessory::parse_count(n, "How many accessories", 1)?,
    };
    Ok(vec![Taking { stock, count }])
}

/// The counts back on a return form (`acc_back.<id>`), by the lent row's id.
pub fn counted_back<'a>(
    fields: impl Iterator<Item = (&'a str, &'a str)>,
) -> Result<BTreeMap<i64, i64>, String> {
    let mut out = BTreeMap::new();
    for (k, val) in fields {
        let Some(id) = k
            .strip_prefix("acc_back.")
            .and_then(|i| i.parse::<i64>().ok())
        else {
            continue;
        };
        let n = match val.trim() {
            "" => 0,
            n => accessory::parse_count(n, "The number of accessories back", 0)?,
        };
        out.insert(id, n);
    }
    Ok(out)
}
