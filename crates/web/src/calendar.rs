//! The school calendar, for the IT administrator: periods, term dates and holidays.
//! Due times default from it, and a loan due when the school is shut moves to the
//! next school day.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use kitroom_app::calendar::CalendarChange;
use kitroom_core::calendar::CalendarInput;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;

use crate::auth::{set_flash, Ctx, FormBody};
use crate::views::calendar as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar", get(show).post(save))
}

async fn show(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageSettings)?;
    let calendar = state.store().calendar(ctx.user.school).await?;
    Ok(v::form(&ctx, &CalendarInput::from(&calendar), &Invalid::new()).into_response())
}

async fn save(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<CalendarChange>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageSettings)?;
    match kitroom_app::calendar::save(state.app(), &ctx.user, form.clone()).await {
        Ok(_) => {
            set_flash(&ctx.session, "School calendar saved.").await?;
            Ok(Redirect::to("/calendar").into_response())
        }
        Err(e) => {
            let refusal = crate::error::page_refusal(e)?;
            let input = CalendarInput::from(form);
            Ok((
                crate::error::status_of(refusal.kind),
                v::form(&ctx, &input, &refusal.fields.unwrap_or_default()),
            )
                .into_response())
        }
    }
}
