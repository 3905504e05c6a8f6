//! Accounts, for managers and admins: add people, edit them, deactivate them, reset
//! their passwords.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::school::SchoolId;
use std::collections::HashMap;

use kitroom_core::person::{
    may_manage_account, Account, AccountChange, AccountKeeper, Permission, Role,
};
use kitroom_core::Invalid;
use kitroom_store::events::EventFilter;
use kitroom_store::loans::LoanFilter;
use kitroom_store::people::{PeopleFilter, Person};

use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{set_flash, Ctx, FormBody, QueryParams};
use crate::error::{page_refusal, status_of};
use crate::paths::person_url;
use crate::views::people as v;
use crate::views::people::{PeopleQuery, PersonForm};
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(list).post(create))
        .route("/people/new", get(new_form))
        .route("/people/invite-new", post(invite_everyone_new))
        .route("/people/{username}", get(show))
        .route("/people/{username}/edit", get(edit_form).post(update))
        .route("/people/{username}/active", post(set_active))
        .route("/people/{username}/password", post(reset_password))
        .route("/people/{username}/invite", post(invite))
        .route(
            "/people/{username}/two-factor/reset",
            post(reset_two_factor),
        )
}

async fn list(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PeopleQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let people = state
        .store()
        .list_people(
            ctx.user.school,
            &PeopleFilter {
                q: Some(q.q.clone()),
                include_inactive: !q.inactive.is_empty(),
                ..Default::default()
            },
        )
        .await?;
    let invitations = invitations(&ctx, &state, &people).await?;
    let never_invited = people
        .iter()
        .filter(|p| {
            invitations
                .get(&p.id)
                .is_some_and(|i| i.may_send && i.sent_at.is_none())
        })
        .count();
    Ok(v::list(&ctx, &q, &people, &invitations, never_invited).into_response())
}

/// Where each of `people` stands with invitations, for the signed-in person.
async fn invitations(
    ctx: &Ctx,
    state: &AppState,
    people: &[Person],
) -> Result<HashMap<Uuid, v::Invitation>, AppError> {
    let open = state.store().open_invitations().await?;
    let keeper = keeper(ctx, state).await?;
    Ok(people
        .iter()
        .map(|p| {
            let account = if p.id == ctx.user.id {
                Account::Own(p.role)
            } else {
                Account::Other(p.role)
            };
            let may_send = p.active
                && p.password_hash.is_none()
                && p.email.as_ref().is_some_and(|e| !e.trim().is_empty())
                && may_manage_account(keeper, account, AccountChange::ResetPassword).is_ok();
            let i = v::Invitation {
                sent_at: open.get(&p.id).copied(),
                may_send,
            };
            (p.id, i)
        })
        .collect())
}

fn form_of(p: &Person) -> PersonForm {
    PersonForm {
        username: p.username.clone(),
        full_name: p.full_name.clone(),
        email: p.email.clone().unwrap_or_default(),
        position: p.position.clone(),
        kind: p.kind.as_str().into(),
        role: p.role.as_str().into(),
        password: String::new(),
    }
}

/// A refusal to show on the form again: one about fields (a role the rule refused
/// included, shown beside the role field). Others get their own pages.
fn form_refusal(e: kitroom_app::Error) -> Result<Invalid, AppError> {
    match e {
        kitroom_app::Error::Refused(r) if r.fields.is_some() => Ok(r.fields.unwrap_or_default()),
        other => Err(other.into()),
    }
}

async fn person(state: &AppState, school: SchoolId, username: &str) -> Result<Person, AppError> {
    state
        .store()
        .person_by_username(school, username)
        .await?
        .ok_or(AppError::NotFound)
}

/// The signed-in person as a keeper of accounts, under the school's settings.
async fn keeper(ctx: &Ctx, state: &AppState) -> Result<AccountKeeper, AppError> {
    Ok(state
        .store()
        .settings(ctx.user.school)
        .await?
        .account_keeper(ctx.user.role))
}

/// The roles the form offers: the ones this keeper may give, and the account's own
/// when editing (so the form shows what it is, even when it may not be changed).
fn roles_offered(keeper: AccountKeeper, editing: Option<&Person>) -> Vec<Role> {
    let mut roles = keeper.roles_to_give();
    if let Some(p) = editing {
        if !roles.contains(&p.role) {
            roles.push(p.role);
        }
    }
    roles
}

fn form_page(
    ctx: &Ctx,
    keeper: AccountKeeper,
    editing: Option<&Person>,
    form: &PersonForm,
    invalid: &Invalid,
) -> Response {
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let roles = roles_offered(keeper, editing);
    (status, v::form(ctx, editing, &roles, form, invalid)).into_response()
}

async fn new_form(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let keeper = keeper(&ctx, &state).await?;
    let form = PersonForm {
        kind: "staff".into(),
        role: "borrower".into(),
        ..Default::default()
    };
    Ok(form_page(&ctx, keeper, None, &form, &Invalid::new()))
}

#[tracing::instrument(skip_all)]
async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<PersonForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    match kitroom_app::accounts::add_person(state.app(), &ctx.user, form.clone()).await {
        Ok(p) => {
            set_flash(
                &ctx.session,
                format!("Account for {} created.", p.full_name),
            )
            .await?;
            Ok(Redirect::to(&person_url(&p.username)).into_response())
        }
        Err(e) => {
            let invalid = form_refusal(e)?;
            let keeper = keeper(&ctx, &state).await?;
            let form = PersonForm {
                password: String::new(),
                ..form
            };
            Ok(form_page(&ctx, keeper, None, &form, &invalid))
        }
    }
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let p = person(&state, ctx.user.school, &username).await?;
    render_person(&ctx, &state, &p, &Invalid::new()).await
}

/// A person's page: their details, what they hold and held, what they signed, and
/// their recent activity.
async fn render_person(
    ctx: &Ctx,
    state: &AppState,
    p: &Person,
    invalid: &Invalid,
) -> Result<Response, AppError> {
    let events = state
        .store()
        .list_events(&EventFilter {
            school: Some(ctx.user.school),
            person: Some(p.id),
            limit: 50,
            ..Default::default()
        })
        .await?;
    let loans = state
        .store()
        .list_loans(
            ctx.user.school,
            &LoanFilter {
                borrower: Some(p.id),
                limit: 500,
                ..Default::default()
            },
        )
        .await?;
    let signatures = state.store().signatures_of(p.id).await?;
    let may = kitroom_app::accounts::allowed(state.app(), &ctx.user, p).await?;
    let allowed = v::Allowed {
        edit: may.edit,
        reset_password: may.reset_password,
        reset_two_factor: may.reset_two_factor,
        set_active: may.set_active,
        invitation: invitations(ctx, state, std::slice::from_ref(p))
            .await?
            .remove(&p.id)
            .unwrap_or_default(),
    };
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        v::show(ctx, p, allowed, &loans, &signatures, &events, invalid),
    )
        .into_response())
}

async fn edit_form(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let p = person(&state, ctx.user.school, &username).await?;
    let keeper = keeper(&ctx, &state).await?;
    if !kitroom_app::accounts::allowed(state.app(), &ctx.user, &p)
        .await?
        .edit
    {
        return Err(AppError::Forbidden);
    }
    Ok(form_page(
        &ctx,
        keeper,
        Some(&p),
        &form_of(&p),
        &Invalid::new(),
    ))
}

#[tracing::instrument(skip_all, fields(person.username = %username))]
async fn update(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    FormBody(form): FormBody<PersonForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let edit = form.clone().into();
    match kitroom_app::accounts::edit_person(state.app(), &ctx.user, &username, edit).await {
        Ok(p) => {
            set_flash(
                &ctx.session,
                format!("Changes to {}'s account saved.", p.full_name),
            )
            .await?;
            Ok(Redirect::to(&person_url(&p.username)).into_response())
        }
        Err(e) => {
            let invalid = form_refusal(e)?;
            let p = person(&state, ctx.user.school, &username).await?;
            let keeper = keeper(&ctx, &state).await?;
            Ok(form_page(&ctx, keeper, Some(&p), &form, &invalid))
        }
    }
}

async fn set_active(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    FormBody(form): FormBody<kitroom_app::accounts::SetActiveInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let active = form.active.0;
    let p = kitroom_app::accounts::set_active(state.app(), &ctx.user, &username, form).await?;
    let message = if active {
        format!("{} can sign in again.", p.full_name)
    } else {
        format!(
            "{}'s account is deactivated and they have been signed out everywhere.",
            p.full_name
        )
    };
    set_flash(&ctx.session, message).await?;
    Ok(Redirect::to(&person_url(&p.username)).into_response())
}

async fn reset_password(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    FormBody(form): FormBody<kitroom_app::accounts::PasswordResetInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    match kitroom_app::accounts::reset_password(state.app(), &ctx.user, &username, form).await {
        Ok(p) => {
            set_flash(&ctx.session, format!("{}'s password is reset: their sessions have ended and their API tokens no longer work. Give them the new password in person.", p.full_name)).await?;
            Ok(Redirect::to(&person_url(&p.username)).into_response())
        }
        Err(e) => {
            let invalid = form_refusal(e)?;
            let p = person(&state, ctx.user.school, &username).await?;
            render_person(&ctx, &state, &p, &invalid).await
        }
    }
}

/// Turns off someone's two-step sign-in (a lost phone with no recovery codes) and
/// ends their sessions; where the school requires it, they set it up again at their
/// next sign-in.
async fn reset_two_factor(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let done = kitroom_app::accounts::reset_two_factor(state.app(), &ctx.user, &username).await?;
    let p = done.person;
    let message = if done.was_on {
        format!("{}'s two-step sign-in is reset and their sessions have ended. They set it up again when they next sign in.", p.full_name)
    } else {
        format!("{} does not use two-step sign-in.", p.full_name)
    };
    set_flash(&ctx.session, message).await?;
    Ok(Redirect::to(&person_url(&p.username)).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct InviteForm {
    /// `list` to come back to the people list; otherwise the person's page.
    from: String,
}

/// Emails someone an invitation to choose their password (or sends it again).
#[tracing::instrument(skip_all, fields(person.username = %username))]
async fn invite(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    FormBody(form): FormBody<InviteForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    match kitroom_app::links::invite(state.app(), &ctx.user, &username).await {
        Ok(i) => {
            let to = i.person.email.clone().unwrap_or_default();
            set_flash(
                &ctx.session,
                format!(
                    "Invitation sent to {} at {to}. The link works once, for 7 days.",
                    i.person.full_name
                ),
            )
            .await?;
            let back = if form.from == "list" {
                "/people".to_owned()
            } else {
                person_url(&i.person.username)
            };
            Ok(Redirect::to(&back).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let p = person(&state, ctx.user.school, &username).await?;
            let invalid = Invalid::one("invite", refusal.message.clone());
            let mut page = render_person(&ctx, &state, &p, &invalid).await?;
            *page.status_mut() = status_of(refusal.kind);
            Ok(page)
        }
    }
}

/// Sends an invitation to every new person with an email address (after an import).
async fn invite_everyone_new(
    ctx: Ctx,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let done = match kitroom_app::links::invite_everyone_new(state.app(), &ctx.user).await {
        Ok(done) => done,
        Err(e) => {
            let refusal = page_refusal(e)?;
            set_flash(&ctx.session, refusal.message).await?;
            return Ok(Redirect::to("/people").into_response());
        }
    };
    let mut message = format!(
        "{} {} sent. Each link works once, for 7 days.",
        done.sent,
        if done.sent == 1 {
            "invitation"
        } else {
            "invitations"
        }
    );
    if done.left > 0 {
        message.push_str(&format!(
            " {} more could not be sent by you: only an IT administrator can invite them.",
            done.left
        ));
    }
    set_flash(&ctx.session, message).await?;
    Ok(Redirect::to("/people").into_response())
}
