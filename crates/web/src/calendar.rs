//! The school calendar, for the IT administrator: periods, term dates and holidays.
//! Due times default from it, and a loan due when the school is shut moves to the
//! next school day.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use kitroom_core::calendar::CalendarInput;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use serde::Deserialize;

use crate::auth::{set_flash, Ctx, FormBody};
use crate::views::calendar as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/calendar", get(show).post(save))
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CalendarForm {
    periods: String,
    terms: String,
    holidays: String,
}

async fn show(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageSettings)?;
    let calendar = state.store().calendar().await?;
    Ok(v::form(&ctx, &CalendarInput::from(&calendar), &Invalid::new()).into_response())
}

async fn save(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<CalendarForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageSettings)?;
    let input = CalendarInput {
        periods: form.periods,
        terms: form.terms,
        holidays: form.holidays,
    };
    match input.parse() {
        Ok(calendar) => {
            state
                .store()
                .save_calendar(ctx.user.actor(), calendar)
                .await?;
            set_flash(&ctx.session, "School calendar saved.").await?;
            Ok(Redirect::to("/calendar").into_response())
        }
        Err(invalid) => Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v::form(&ctx, &input, &invalid),
        )
            .into_response()),
    }
}
