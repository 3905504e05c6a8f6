//! People (accounts), locations, the school's settings and its calendar through the
//! API, by the same commands as their pages. People go through
//! `kitroom_app::accounts`, which asks `kitroom_core::person::may_manage_account`
//! inside the write transaction. A password hash is never in an answer.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kitroom_app::accounts::{self, AddPersonInput, EditPersonInput, PasswordResetInput};
use kitroom_app::calendar::CalendarChange;
use kitroom_app::locations::LocationInput;
use kitroom_app::settings::SettingsChange;
use kitroom_core::person::Permission;
use kitroom_store::people::{PeopleFilter, Person};
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{created, list_answer, JsonBody, QueryParams};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The people, settings, locations and calendar operations, each registered with
/// its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, edit))
        .routes(routes!(deactivate))
        .routes(routes!(reactivate))
        .routes(routes!(reset_password))
        .routes(routes!(reset_two_factor))
        .routes(routes!(settings, change_settings))
        .routes(routes!(locations, create_location))
        .routes(routes!(rename_location))
        .routes(routes!(calendar, save_calendar))
}

/// A location as the API shows it: its id, name, and how many devices call it home.
fn location_json(l: &kitroom_store::locations::Location) -> Value {
    json!({"id": l.id, "name": l.name, "devices": l.devices})
}

/// Every location, as the locations page lists them (those who keep the register).
#[utoipa::path(get, path = "/locations", tag = "locations",
    summary = "Every location, with how many devices call it home",
    responses(
        (status = 200, description = "`{items, total}`: each `{id, name, devices}`.", body = Object),
        (status = 403, description = "Only those who keep the register see the locations."),
    ))]
async fn locations(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    Ok(list_answer(
        state
            .store()
            .list_locations(user.0.school)
            .await?
            .iter()
            .map(location_json),
    ))
}

/// Adds a location: `{name}`.
#[utoipa::path(post, path = "/locations", tag = "locations",
    summary = "Add a location",
    request_body = LocationInput,
    responses(
        (status = 201, description = "The location: `{id, name, devices}`.", body = Object),
        (status = 403, description = "Only those who keep the register add locations."),
        (status = 422, description = "The name is empty, too long, or taken already."),
    ))]
async fn create_location(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<LocationInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let l = kitroom_app::locations::create(state.app(), &user.0, body).await?;
    Ok(created(location_json(&l)))
}

/// Renames a location: `{name}`.
#[utoipa::path(patch, path = "/locations/{id}", tag = "locations",
    summary = "Rename a location",
    params(("id" = String, Path, description = "The location's id.")),
    request_body = LocationInput,
    responses(
        (status = 200, description = "The location: `{id, name, devices}`.", body = Object),
        (status = 403, description = "Only those who keep the register rename locations."),
        (status = 404, description = "No location has that id."),
        (status = 422, description = "The name is empty, too long, or taken already."),
    ))]
async fn rename_location(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<LocationInput>,
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
#[utoipa::path(get, path = "/calendar", tag = "calendar",
    summary = "The school calendar: periods, terms and holidays",
    responses(
        (status = 200, description = "`{periods, terms, holidays}`: periods `{name, starts, ends}`, terms and holidays `{name, first, last}`.", body = Object),
        (status = 403, description = "Only the IT administrator sees the calendar."),
    ))]
async fn calendar(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageSettings)?;
    let c = state.store().calendar(user.0.school).await?;
    Ok(Json(calendar_json(&c)).into_response())
}

/// Replaces the whole calendar with the one sent (a list left out is emptied).
#[utoipa::path(put, path = "/calendar", tag = "calendar",
    summary = "Replace the school calendar (a list left out is emptied)",
    request_body = CalendarChange,
    responses(
        (status = 200, description = "The calendar as saved.", body = Object),
        (status = 403, description = "Only the IT administrator changes the calendar."),
        (status = 422, description = "An entry could not be read (each problem beside its list)."),
    ))]
async fn save_calendar(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<CalendarChange>,
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
        "password_sign_in_admins_only": i.password_sign_in_admins_only,
        "provider_creates_borrowers": i.provider_creates_borrowers,
        "provider_counts_as_two_step": i.provider_counts_as_two_step,
        "one_policy_for_trust": i.one_policy_for_trust,
        "provider_name": i.provider_name,
    })
}

/// The school's settings: the IT administrator's alone, as the settings page.
#[utoipa::path(get, path = "/settings", tag = "settings",
    summary = "The school's settings",
    responses(
        (status = 200, description = "The settings form's fields, whole numbers as numbers.", body = Object),
        (status = 403, description = "Only the IT administrator sees the settings."),
    ))]
async fn settings(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManageSettings)?;
    let s = state.store().settings(user.0.school).await?;
    Ok(Json(settings_json(&s)).into_response())
}

/// Changes the fields named; the others stay as they are.
#[utoipa::path(patch, path = "/settings", tag = "settings",
    summary = "Change the fields named; the others stay as they are",
    request_body = SettingsChange,
    responses(
        (status = 200, description = "The settings as saved.", body = Object),
        (status = 403, description = "Only the IT administrator changes the settings."),
        (status = 422, description = "A value was refused (each problem beside its field); in a deployment of several schools, a setting every school shares (sign-in, retention, backups) changed by anyone but the trust's IT administrator."),
    ))]
async fn change_settings(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SettingsChange>,
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

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
struct PeopleQuery {
    /// Part of a username, full name or email: the "lend to" search.
    q: Option<String>,
    /// Without `q`: include deactivated accounts.
    inactive: bool,
}

/// With `q`: the "lend to" name search, as it always answered (active people whose
/// username, full name or email contains `q`, at most
/// [`crate::lend_to::SEARCH_LIMIT`], each as username, full name and kind).
/// Without `q`: every account, in full (`inactive=true` adds those deactivated).
#[utoipa::path(get, path = "/people", tag = "people",
    summary = "Find people to lend to by part of a name (`q`), or list every account (managers and admins)",
    params(PeopleQuery),
    responses(
        (status = 200, description = "`items` and `total`: with `q`, each username, full name and kind; without, each account in full.", body = Object),
        (status = 403, description = "Only those who may lend to anyone may search people; only those who keep accounts may list them all."),
    ))]
async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PeopleQuery>,
) -> Result<Response, ApiError> {
    user.require(Permission::LendToAnyone)?;
    if let Some(q) = q.q.as_deref().filter(|q| !q.trim().is_empty()) {
        let people = crate::lend_to::search(&state, user.0.school, q).await?;
        return Ok(Json(crate::lend_to::search_json(&people)).into_response());
    }
    user.require(Permission::ManageAccounts)?;
    let people = state
        .store()
        .list_people(
            user.0.school,
            &PeopleFilter {
                include_inactive: q.inactive,
                ..Default::default()
            },
        )
        .await?;
    Ok(list_answer(people.iter().map(person_json)))
}

/// Adds an account, under the school's rule on who may give which role.
#[utoipa::path(post, path = "/people", tag = "people",
    summary = "Add a person (an account)",
    request_body = AddPersonInput,
    responses(
        (status = 201, description = "The account, without its password.", body = Object),
        (status = 403, description = "Only those who keep accounts add people, and only with a role they may give."),
        (status = 422, description = "A detail was refused (each problem beside its field), or the username is taken."),
    ))]
async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<AddPersonInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let p = accounts::add_person(state.app(), &user.0, body).await?;
    Ok(created(person_json(&p)))
}

/// One account, and what the token's owner may do to it (the person page's buttons).
#[utoipa::path(get, path = "/people/{username}", tag = "people",
    summary = "One account, and what you may do to it",
    params(("username" = String, Path, description = "The person's username.")),
    responses(
        (status = 200, description = "The account and `may` (edit, reset_password, reset_two_factor, set_active).", body = Object),
        (status = 403, description = "Only those who keep accounts read them."),
        (status = 404, description = "Nobody has that username."),
    ))]
async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageAccounts)?;
    let p = state
        .store()
        .person_by_username(user.0.school, &username)
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

/// Changes the fields named; the others stay as they are.
#[utoipa::path(patch, path = "/people/{username}", tag = "people",
    summary = "Change an account's details or role (the fields named)",
    params(("username" = String, Path, description = "The person's username.")),
    request_body = EditPersonInput,
    responses(
        (status = 200, description = "The account as saved.", body = Object),
        (status = 403, description = "The school's rule does not let you change this account, or give that role."),
        (status = 404, description = "Nobody has that username."),
        (status = 422, description = "A detail was refused (each problem beside its field)."),
    ))]
async fn edit(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
    JsonBody(body): JsonBody<EditPersonInput>,
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
#[utoipa::path(post, path = "/people/{username}/deactivate", tag = "people",
    summary = "Deactivate an account: signed out everywhere, tokens revoked",
    params(("username" = String, Path, description = "The person's username.")),
    responses(
        (status = 200, description = "The account.", body = Object),
        (status = 403, description = "The school's rule does not let you deactivate this account."),
        (status = 404, description = "Nobody has that username."),
    ))]
async fn deactivate(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    set_active(user, state, username, false).await
}

/// Lets a deactivated account sign in again.
#[utoipa::path(post, path = "/people/{username}/reactivate", tag = "people",
    summary = "Reactivate an account",
    params(("username" = String, Path, description = "The person's username.")),
    responses(
        (status = 200, description = "The account.", body = Object),
        (status = 403, description = "The school's rule does not let you reactivate this account."),
        (status = 404, description = "Nobody has that username."),
    ))]
async fn reactivate(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    set_active(user, state, username, true).await
}

/// Sets the `password` sent (as the page does: whoever resets it gives it to the
/// person); their sessions end and their tokens stop working.
#[utoipa::path(post, path = "/people/{username}/password-reset", tag = "people",
    summary = "Set a new password for someone; their sessions end and tokens stop working",
    params(("username" = String, Path, description = "The person's username.")),
    request_body = PasswordResetInput,
    responses(
        (status = 200, description = "`{person, sessions_ended, tokens_revoked}`.", body = Object),
        (status = 403, description = "The school's rule does not let you reset this account's password."),
        (status = 404, description = "Nobody has that username."),
        (status = 422, description = "The password is too short or too easy to guess."),
    ))]
async fn reset_password(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
    JsonBody(body): JsonBody<PasswordResetInput>,
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
#[utoipa::path(post, path = "/people/{username}/two-factor-reset", tag = "people",
    summary = "Turn off someone's two-step sign-in (a lost phone); their sessions end",
    params(("username" = String, Path, description = "The person's username.")),
    responses(
        (status = 200, description = "`{person, was_on}`.", body = Object),
        (status = 403, description = "The school's rule does not let you reset this account's two-step sign-in."),
        (status = 404, description = "Nobody has that username."),
    ))]
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
