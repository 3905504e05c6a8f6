//! "Lend to": whom a check-out or booking is for, from what a manager typed, a
//! username or a full name; and the search that finds people by part of a name,
//! as a plain page (no JavaScript needed) and as the JSON the type-ahead reads.
//!
//! Every borrower field goes through [`borrower`]: a device's and a set's
//! check-out, a booking made for someone, on the pages and on the API alike.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_store::people::{PeopleFilter, Person};
use kitroom_store::StoreError;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Ctx, QueryParams};
use crate::{AppError, AppState};

/// At most this many people in one search's answer: enough to pick from while
/// typing, small enough for a phone.
pub const SEARCH_LIMIT: i64 = 20;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people/find", get(find_page))
        .route("/people/find.json", get(find_json))
}

/// Why no borrower came of what was typed.
#[derive(Debug)]
pub enum Refusal {
    /// Someone who may lend only to themselves named another: refused before any
    /// lookup, so the answer does not tell whether that person exists.
    Forbidden,
    /// Nobody, or several people, answer to that name: the message says which,
    /// in words for the form or the API's problem.
    NotFound(String),
    Store(StoreError),
}

impl From<StoreError> for Refusal {
    fn from(e: StoreError) -> Self {
        Refusal::Store(e)
    }
}

/// Whom a loan or booking is for: [`kitroom_app::people::borrower`], the one rule,
/// with its refusals as the set and booking forms still show them.
pub async fn borrower(state: &AppState, user: &Person, typed: &str) -> Result<Person, Refusal> {
    kitroom_app::people::borrower(state.app(), user, typed)
        .await
        .map_err(|e| match e {
            kitroom_app::Error::Refused(r) if r.kind == kitroom_app::Kind::NotAllowed => {
                Refusal::Forbidden
            }
            kitroom_app::Error::Refused(r) => Refusal::NotFound(r.message),
            kitroom_app::Error::Failed(e) => Refusal::Store(e),
            kitroom_app::Error::Internal(e) => Refusal::Store(StoreError::Corrupt(e)),
        })
}

/// Active people whose username, full name or email contains `q`; none for an
/// empty search.
pub async fn search(
    state: &AppState,
    school: SchoolId,
    q: &str,
) -> Result<Vec<Person>, StoreError> {
    if q.trim().is_empty() {
        return Ok(Vec::new());
    }
    state
        .store()
        .list_people(
            school,
            &PeopleFilter {
                q: Some(q.trim().to_owned()),
                include_inactive: false,
                limit: SEARCH_LIMIT,
            },
        )
        .await
}

/// What a search answers with, on the API and for the type-ahead: nothing beyond
/// what the lend form needs.
pub fn search_json(people: &[Person]) -> Value {
    let items: Vec<Value> = people
        .iter()
        .map(|p| json!({"username": p.username, "full_name": p.full_name, "kind": p.kind.as_str()}))
        .collect();
    json!({"total": items.len(), "items": items})
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FindQuery {
    pub q: String,
    /// The lend form to go back to, a path on this site.
    pub back: String,
}

/// `back` if it is a path on this site, so the page never links elsewhere.
pub fn local_path(back: &str) -> Option<&str> {
    let ok = back.starts_with('/')
        && !back.starts_with("//")
        && !back.contains(['\\', '?', '#'])
        && !back.chars().any(char::is_control);
    ok.then_some(back)
}

/// The plain search: a form, and each match with a link that fills the lend form.
async fn find_page(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<FindQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::LendToAnyone)?;
    let people = search(&state, ctx.user.school, &q.q).await?;
    Ok(crate::views::lend_to::find(&ctx, &q.q, local_path(&q.back), &people).into_response())
}

/// The type-ahead's list, read by `web/kitroom.js` with the page's session.
async fn find_json(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<FindQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::LendToAnyone)?;
    let people = search(&state, ctx.user.school, &q.q).await?;
    Ok(Json(search_json(&people)).into_response())
}
