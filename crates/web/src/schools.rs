//! Choosing the school to work in, for someone who holds roles in several (a teacher
//! at two schools, the trust's own staff): every page, form and API call then acts
//! in that school alone. A deployment with one school never shows it.

use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;

use crate::auth::{set_flash, Ctx};
use crate::input::FormBody;
use crate::session::SCHOOL_KEY;
use crate::views::schools as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/schools", get(list))
        .route("/schools/switch", post(switch))
}

/// The schools the person may work in, each with a button to switch to it.
async fn list(ctx: Ctx) -> Result<Response, AppError> {
    Ok(v::list(&ctx).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct SwitchForm {
    /// The school's short name.
    school: String,
}

/// Works in another school from now on, in this session. A school the person holds
/// no role in is not found, as one that does not exist.
async fn switch(ctx: Ctx, FormBody(form): FormBody<SwitchForm>) -> Result<Response, AppError> {
    let Some(school) = ctx.schools.iter().find(|s| s.slug == form.school.trim()) else {
        return Err(AppError::NotFound);
    };
    ctx.session.insert(SCHOOL_KEY, school.id).await?;
    set_flash(
        &ctx.session,
        format!("You are working in {} now.", school.name),
    )
    .await?;
    Ok(Redirect::to("/").into_response())
}
