//! Return checklists, for the business manager: per kind of device, the questions
//! asked when one comes back.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use kitroom_core::checklist;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;

use crate::auth::{set_flash, Ctx, FormBody};
use crate::views::checklists as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/checklists", get(show).post(save))
}

async fn show(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let typed: BTreeMap<String, String> = state
        .store()
        .checklists()
        .await?
        .into_iter()
        .map(|(k, q)| (k.to_owned(), checklist::questions_text(&q)))
        .collect();
    Ok(v::form(&ctx, &typed, &Invalid::new()).into_response())
}

async fn save(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let typed: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("checklist.")
                .map(|k| (k.to_owned(), v.clone()))
        })
        .collect();
    match checklist::parse_all(&typed) {
        Ok(lists) => {
            state
                .store()
                .save_checklists(ctx.user.actor(), lists)
                .await?;
            set_flash(&ctx.session, "Return checklists saved.").await?;
            Ok(Redirect::to("/checklists").into_response())
        }
        Err(invalid) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v::form(&ctx, &typed, &invalid),
        )
            .into_response()),
    }
}
