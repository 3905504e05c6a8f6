//! People (accounts), locations, the school's settings and its calendar through the
//! API, by the same commands as their pages. People go through
//! `kitroom_app::accounts`, which asks `kitroom_core::person::may_manage_account`
//! inside the write transaction. A password hash is never in an answer.

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kitroom_app::accounts::{self, AddPersonInput, EditPersonInput, PasswordResetInput};
use kitroom_core::person::Permission;
use kitroom_store::people::{PeopleFilter, Person};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::api::JsonCommand;
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(list).post(create))
        .route("/people/{username}", get(read).patch(edit))
        .route("/people/{username}/deactivate", post(deactivate))
        .route("/people/{username}/reactivate", post(reactivate))
        .route("/people/{username}/password-reset", post(reset_password))
        .route(
            "/people/{username}/two-factor-reset",
            post(reset_two_factor),
        )
        .route("/settings", get(settings).patch(change_settings))
        .route("/locations", get(locations).post(create_location))
        .route("/locations/{id}", axum::routing::patch(rename_location))
        .route("/calendar", get(calendar).put(save_calendar))
}

/// A location as the API shows it: its id, name, and how many devices call it home.
fn location_json(l: &kitroom_store::locations::Location) -> Value {
    json!({"id": l.id, "name": l.name, "devices": l.devices})
}

/// Every location, as the locations page lists them (those who keep the register).
async fn locations(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let items: Vec<Value> = state
        .store()
        .list_locations()
        .await?
        .iter()
        .map(location_json)
        .collect();
    Ok(Json(json!({"total": items.len(), "items": items})).into_response())
}

async fn create_location(
    user: ApiUser,
    State(state): State<AppState>,
    JsonCommand(body): JsonCommand<kitroom_app::locations::LocationInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let l = kitroom_app::locations::create(state.app(), &user.0, body).await?;
    Ok((StatusCode::CREATED, Json(location_json(&l))).into_response())
}

/// Renames a location: `{name}`.
async fn rename_location(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonCommand(body): JsonCommand<kitroom_app::locations::LocationInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let id = uuid::Uuid::parse_str(id.trim()).map_err(|_| ApiError::not_found("That location"))?;
    let l = kitroom_app::locations::rename(state.app(), &user.0, id, body).await?;
    Ok(Json(location_json(&l)).into_response())
}

/// The school calendar as the API shows it: periods `{name, starts, ends}`, terms and
/// holidays `{name, first, last}`.
fn calendar_json(c: &kitroom_core::calendar::Calendar) -> Value {
    let days = |list: &[kitroom_core::calendar::Days]| -> Vec<Value> {
        list.iter()
            .map(|d| json!({"name": d.name, "first": d.first, "last": d.last}))
            .collect()
    };
    json!({
        "periods": c.periods.iter().map(|p| json!({
            "name": p.name,
            "starts": p.starts.format("%H:%M").to_string(),
            "ends": p.ends.format("%H:%M").to_string(),
        })).collect::<Vec<_>>(),
        "terms": days(&c.terms),
        "holidays": days(&c.holidays),
    })
}

/// The school calendar: the IT administrator's, as the calendar page.
async fn calendar(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageSettings)?;
    let c = state.store().calendar().await?;
    Ok(Json(calendar_json(&c)).into_response())
}

/// Replaces the whole calendar with the one sent (a list left out is emptied).
async fn save_calendar(
    user: ApiUser,
    State(state): State<AppState>,
    JsonCommand(body): JsonCommand<kitroom_app::calendar::CalendarChange>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageSettings)?;
    let c = kitroom_app::calendar::save(state.app(), &user.0, body).await?;
    Ok(Json(calendar_json(&c)).into_response())
}

/// The school's settings as the API shows them: the settings form's fields, whole
/// numbers as numbers.
fn settings_json(s: &kitroom_core::settings::Settings) -> Value {
    let i = kitroom_core::settings::SettingsInput::from(s);
    let n = |t: &str| t.parse::<i64>().map(Value::from).unwrap_or(Value::from(t));
    json!({
        "school_name": i.school_name,
        "day_ends_at": i.day_ends_at,
        "return_location": i.return_location,
        "booking_release_minutes": n(&i.booking_release_minutes),
        "reminder_minutes_before": n(&i.reminder_minutes_before),
        "charge_minutes": i.charge_minutes.iter().map(|(k, v)| (k.clone(), n(v))).collect::<serde_json::Map<_, _>>(),
        "require_two_factor": i.require_two_factor,
        "keep_leavers_months": n(&i.keep_leavers_months),
        "backups_kept": n(&i.backups_kept),
        "managers_manage_managers": i.managers_manage_managers,
        "token_lifetime_days": n(&i.token_lifetime_days),
    })
}

/// The school's settings: the IT administrator's alone, as the settings page.
async fn settings(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageSettings)?;
    let s = state.store().settings().await?;
    Ok(Json(settings_json(&s)).into_response())
}

/// Changes the fields named; the others stay as they are.
async fn change_settings(
    user: ApiUser,
    State(state): State<AppState>,
    JsonCommand(body): JsonCommand<kitroom_app::settings::SettingsChange>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageSettings)?;
    let s = kitroom_app::settings::save(state.app(), &user.0, body).await?;
    Ok(Json(settings_json(&s)).into_response())
}

/// A person as the API shows them: the account's details, never its password hash.
pub fn person_json(p: &Person) -> Value {
    json!({
        "username": p.username,
        "full_name": p.full_name,
        "email": p.email,
        "position": p.position,
        "kind": p.kind.as_str(),
        "role": p.role.as_str(),
        "active": p.active,
        "has_password": p.password_hash.is_some(),
        "created_at": p.created_at,
    })
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PeopleQuery {
    q: Option<String>,
    inactive: bool,
}

/// With `q`: the "lend to" name search, as it always answered (active people whose
/// username, full name or email contains `q`, each as username, full name and kind).
/// Without `q`: every account, in full (`inactive=true` adds those deactivated).
async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    query: Result<Query<PeopleQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    user.require(Permission::LendToAnyone)?;
    let Query(q) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed-query", e.body_text()))?;
    if let Some(q) = q.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let people = crate::lend_to::search(&state, q).await?;
        return Ok(Json(crate::lend_to::search_json(&people)).into_response());
    }
    user.require(Permission::ManageAccounts)?;
    let people = state
        .store()
        .list_people(&PeopleFilter {
            include_inactive: q.inactive,
            ..Default::default()
        })
        .await?;
    let items: Vec<Value> = people.iter().map(person_json).collect();
    Ok(Json(json!({"total": items.len(), "items": items})).into_response())
}

async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonCommand(body): JsonCommand<AddPersonInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let p = accounts::add_person(state.app(), &user.0, body).await?;
    Ok((StatusCode::CREATED, Json(person_json(&p))).into_response())
}

/// One account, and what the token's owner may do to it (the person page's buttons).
async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let p = state
        .store()
        .person_by_username(&username)
        .await?
        .ok_or_else(|| ApiError::not_found("That person"))?;
    let may = accounts::allowed(state.app(), &user.0, &p).await?;
    let mut body = person_json(&p);
    body["may"] = json!({
        "edit": may.edit,
        "reset_password": may.reset_password,
        "reset_two_factor": may.reset_two_factor,
        "set_active": may.set_active,
    });
    Ok(Json(body).into_response())
}

async fn edit(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
    JsonCommand(body): JsonCommand<EditPersonInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let p = accounts::edit_person(state.app(), &user.0, &username, body).await?;
    Ok(Json(person_json(&p)).into_response())
}

async fn set_active(
    user: ApiUser,
    state: AppState,
    username: String,
    active: bool,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let input = accounts::SetActiveInput {
        active: kitroom_app::input::Flag(active),
    };
    let p = accounts::set_active(state.app(), &user.0, &username, input).await?;
    Ok(Json(person_json(&p)).into_response())
}

/// Deactivates an account: they are signed out everywhere and their tokens revoked.
async fn deactivate(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    set_active(user, state, username, false).await
}

async fn reactivate(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    set_active(user, state, username, true).await
}

/// Sets the `password` sent (as the page does: whoever resets it gives it to the
/// person); their sessions end and their tokens stop working.
async fn reset_password(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
    JsonCommand(body): JsonCommand<PasswordResetInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let p = accounts::reset_password(state.app(), &user.0, &username, body).await?;
    Ok(Json(json!({
        "person": person_json(&p),
        "sessions_ended": true,
        "tokens_revoked": true,
    }))
    .into_response())
}

/// Turns off two-step sign-in; `was_on` is false when they did not use it.
async fn reset_two_factor(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let done = accounts::reset_two_factor(state.app(), &user.0, &username).await?;
    Ok(Json(json!({
        "person": person_json(&done.person),
        "was_on": done.was_on,
    }))
    .into_response())
}
