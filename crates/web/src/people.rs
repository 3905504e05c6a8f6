//! Accounts, for managers and admins: add people, edit them, deactivate them, reset
//! their passwords.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::person::{
    may_manage_account, new_password, Account, AccountChange, AccountKeeper, PasswordOwner,
    Permission, PersonInput, Role,
};
use kitroom_core::Invalid;
use kitroom_store::events::EventFilter;
use kitroom_store::loans::LoanFilter;
use kitroom_store::people::{PeopleFilter, Person};
use kitroom_store::StoreError;
use serde::Deserialize;

use crate::auth::{hash_password, set_flash, Ctx, FormBody, QueryParams};
use crate::paths::person_url;
use crate::views::people as v;
use crate::views::people::{PeopleQuery, PersonForm};
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/people", get(list).post(create))
        .route("/people/new", get(new_form))
        .route("/people/{username}", get(show))
        .route("/people/{username}/edit", get(edit_form).post(update))
        .route("/people/{username}/active", post(set_active))
        .route("/people/{username}/password", post(reset_password))
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
        .list_people(&PeopleFilter {
            q: Some(q.q.clone()),
            include_inactive: !q.inactive.is_empty(),
            ..Default::default()
        })
        .await?;
    Ok(v::list(&ctx, &q, &people).into_response())
}

impl PersonForm {
    fn input(&self) -> PersonInput {
        PersonInput {
            username: self.username.clone(),
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            position: self.position.clone(),
            kind: self.kind.clone(),
            role: self.role.clone(),
        }
    }

    fn of(p: &Person) -> PersonForm {
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
}

async fn person(state: &AppState, username: &str) -> Result<Person, AppError> {
    state
        .store()
        .person_by_username(username)
        .await?
        .ok_or(AppError::NotFound)
}

/// The signed-in person as a keeper of accounts, under the school's settings.
async fn keeper(ctx: &Ctx, state: &AppState) -> Result<AccountKeeper, AppError> {
    Ok(state
        .store()
        .settings()
        .await?
        .account_keeper(ctx.user.role))
}

/// Someone's account as the account rule sees it: one's own, or another's.
fn account(ctx: &Ctx, p: &Person) -> Account {
    if p.id == ctx.user.id {
        Account::Own(p.role)
    } else {
        Account::Other(p.role)
    }
}

/// 403 unless the signed-in person may make this change to this account.
fn allow(
    ctx: &Ctx,
    keeper: AccountKeeper,
    p: &Person,
    change: AccountChange,
) -> Result<(), AppError> {
    may_manage_account(keeper, account(ctx, p), change).map_err(|_| AppError::Forbidden)
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
    let keeper = keeper(&ctx, &state).await?;
    let mut invalid = Invalid::new();
    let details = form.input().parse().map_err(|e| invalid.0.extend(e.0)).ok();
    // A password is optional: without one, the account exists for lending but cannot
    // sign in until someone sets it.
    let password = if form.password.is_empty() {
        Some(None)
    } else {
        let school_name = state.store().settings().await?.school_name;
        let owner = PasswordOwner {
            username: &form.username,
            full_name: &form.full_name,
            school_name: &school_name,
        };
        invalid
            .check("password", new_password(&form.password, &owner))
            .map(Some)
    };
    if let Some(d) = &details {
        if let Err(m) = may_manage_account(
            keeper,
            Account::New,
            AccountChange::Details { role: d.role },
        ) {
            invalid.add("role", m);
        }
    }
    let (Some(details), Some(password), true) = (details, password, invalid.is_empty()) else {
        return Ok(form_page(
            &ctx,
            keeper,
            None,
            &PersonForm {
                password: String::new(),
                ..form
            },
            &invalid,
        ));
    };
    let hash = match password {
        Some(p) => Some(hash_password(p).await?),
        None => None,
    };
    match state
        .store()
        .create_person(ctx.user.actor(), details, hash)
        .await
    {
        Ok(p) => {
            set_flash(
                &ctx.session,
                format!("Account for {} created.", p.full_name),
            )
            .await?;
            Ok(Redirect::to(&person_url(&p.username)).into_response())
        }
        Err(StoreError::Invalid(invalid)) => Ok(form_page(
            &ctx,
            keeper,
            None,
            &PersonForm {
                password: String::new(),
                ..form
            },
            &invalid,
        )),
        Err(e) => Err(e.into()),
    }
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let p = person(&state, &username).await?;
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
            person: Some(p.id),
            limit: 50,
            ..Default::default()
        })
        .await?;
    let loans = state
        .store()
        .list_loans(&LoanFilter {
            borrower: Some(p.id),
            limit: 500,
            ..Default::default()
        })
        .await?;
    let signatures = state.store().signatures_of(p.id).await?;
    let keeper = keeper(ctx, state).await?;
    let may = |change| may_manage_account(keeper, account(ctx, p), change).is_ok();
    let allowed = v::Allowed {
        edit: may(AccountChange::Details { role: p.role }),
        reset_password: may(AccountChange::ResetPassword),
        reset_two_factor: may(AccountChange::ResetTwoFactor),
        set_active: may(AccountChange::SetActive),
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
    let p = person(&state, &username).await?;
    let keeper = keeper(&ctx, &state).await?;
    allow(&ctx, keeper, &p, AccountChange::Details { role: p.role })?;
    Ok(form_page(
        &ctx,
        keeper,
        Some(&p),
        &PersonForm::of(&p),
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
    let p = person(&state, &username).await?;
    let keeper = keeper(&ctx, &state).await?;
    allow(&ctx, keeper, &p, AccountChange::Details { role: p.role })?;
    let mut invalid = Invalid::new();
    let details = form.input().parse().map_err(|e| invalid.0.extend(e.0)).ok();
    if let Some(d) = &details {
        if let Err(m) = may_manage_account(
            keeper,
            account(&ctx, &p),
            AccountChange::Details { role: d.role },
        ) {
            invalid.add("role", m);
        }
    }
    let (Some(details), true) = (details, invalid.is_empty()) else {
        return Ok(form_page(&ctx, keeper, Some(&p), &form, &invalid));
    };
    match state
        .store()
        .update_person(ctx.user.actor(), p.id, details)
        .await
    {
        Ok(p) => {
            set_flash(
                &ctx.session,
                format!("Changes to {}'s account saved.", p.full_name),
            )
            .await?;
            Ok(Redirect::to(&person_url(&p.username)).into_response())
        }
        Err(StoreError::Invalid(invalid)) => Ok(form_page(&ctx, keeper, Some(&p), &form, &invalid)),
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ActiveForm {
    active: String,
}

async fn set_active(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    FormBody(form): FormBody<ActiveForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let p = person(&state, &username).await?;
    let active = form.active == "true";
    if p.id == ctx.user.id && !active {
        return Err(AppError::Conflict(
            "You cannot deactivate your own account. Ask another administrator.".into(),
        ));
    }
    allow(
        &ctx,
        keeper(&ctx, &state).await?,
        &p,
        AccountChange::SetActive,
    )?;
    let p = state
        .store()
        .set_active(ctx.user.actor(), p.id, active)
        .await?;
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    password: String,
}

async fn reset_password(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
    FormBody(form): FormBody<PasswordForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageAccounts)?;
    let p = person(&state, &username).await?;
    allow(
        &ctx,
        keeper(&ctx, &state).await?,
        &p,
        AccountChange::ResetPassword,
    )?;
    let school_name = state.store().settings().await?.school_name;
    let owner = PasswordOwner {
        username: &p.username,
        full_name: &p.full_name,
        school_name: &school_name,
    };
    let password = match new_password(&form.password, &owner) {
        Ok(pw) => pw,
        Err(m) => return render_person(&ctx, &state, &p, &Invalid::one("password", m)).await,
    };
    let hash = hash_password(password).await?;
    state
        .store()
        .set_password(ctx.user.actor(), p.id, hash, None)
        .await?;
    set_flash(&ctx.session, format!("{}'s password is reset: their sessions have ended and their API tokens no longer work. Give them the new password in person.", p.full_name)).await?;
    Ok(Redirect::to(&person_url(&p.username)).into_response())
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
    let p = person(&state, &username).await?;
    allow(
        &ctx,
        keeper(&ctx, &state).await?,
        &p,
        AccountChange::ResetTwoFactor,
    )?;
    let done = state
        .store()
        .remove_two_factor(ctx.user.actor(), p.subject(), p.id)
        .await?;
    let message = if done {
        format!("{}'s two-step sign-in is reset and their sessions have ended. They set it up again when they next sign in.", p.full_name)
    } else {
        format!("{} does not use two-step sign-in.", p.full_name)
    };
    set_flash(&ctx.session, message).await?;
    Ok(Redirect::to(&person_url(&p.username)).into_response())
}
