//! Return checklists, for the business manager: per kind of device, the questions
//! asked when one comes back.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use kitroom_core::checklist;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;

use crate::auth::{set_flash, Ctx, FormBody};
use crate::error::{page_refusal, refusal_fields, status_of};
use crate::views::checklists as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/checklists", get(show).post(save))
}

async fn show(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let typed: BTreeMap<String, String> = state
        .store()
        .checklists(ctx.user.school)
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
    // each kind's textarea is `checklist.<kind>`
    let typed: BTreeMap<String, String> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("checklist.")
                .map(|k| (k.to_owned(), v.clone()))
        })
        .collect();
    match kitroom_app::checklists::save(state.app(), &ctx.user, typed.clone()).await {
        Ok(_) => {
            set_flash(&ctx.session, "Return checklists saved.").await?;
            Ok(Redirect::to("/checklists").into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let invalid = refusal_fields(&refusal, "checklist");
            Ok((status_of(refusal.kind), v::form(&ctx, &typed, &invalid)).into_response())
        }
    }
}
