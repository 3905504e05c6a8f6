//! The activity log's page, for managers, the head and admins.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kitroom_core::device::parse_date;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::events::EventFilter;

use crate::auth::{Ctx, QueryParams};
use crate::views::log as v;
use crate::views::log::{LogQuery, PER_PAGE};
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new().route("/log", get(show))
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<LogQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ReadLog)?;
    let trust = q.is_trust();
    if trust {
        ctx.require(Permission::ViewTrust)?;
    }
    let mut invalid = Invalid::new();
    let mut filter = EventFilter {
        // the trust's view: every school's events and the deployment's own
        school: (!trust).then_some(ctx.user.school),
        before: q.before,
        limit: PER_PAGE,
        ..Default::default()
    };
    if !q.person.trim().is_empty() {
        let person = if trust {
            state.store().account_by_username(&q.person).await?
        } else {
            state
                .store()
                .person_by_username(ctx.user.school, &q.person)
                .await?
        };
        match person {
            Some(p) => filter.person = Some(p.id),
            None => invalid.add(
                "person",
                format!("Nobody has the username “{}”.", q.person.trim()),
            ),
        }
    }
    if !q.device.trim().is_empty() {
        match state
            .store()
            .device_by_tag(ctx.user.school, &q.device)
            .await?
        {
            Some(d) => filter.device = Some(d.id),
            None => invalid.add(
                "device",
                format!("No device has the tag “{}”.", q.device.trim()),
            ),
        }
    }
    // Dates are school days: from midnight in London to the next midnight.
    filter.from = invalid
        .check("from", parse_date(&q.from, "From"))
        .flatten()
        .map(crate::time::start_of_day);
    filter.until = invalid
        .check("to", parse_date(&q.to, "To"))
        .flatten()
        .and_then(|d| d.succ_opt())
        .map(crate::time::start_of_day);
    let events = if invalid.is_empty() {
        state.store().list_events(&filter).await?
    } else {
        Vec::new()
    };
    let status = if invalid.is_empty() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::UNPROCESSABLE_ENTITY
    };
    let schools = if trust {
        state.store().schools().await?
    } else {
        Vec::new()
    };
    Ok((status, v::page(&ctx, &q, &events, &schools, &invalid)).into_response())
}
