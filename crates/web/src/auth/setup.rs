//! The setup link: the first admin account, made once through a link the server
//! printed when it started with no accounts.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kitroom_core::person::{new_password, PasswordOwner, PersonInput, Role};
use kitroom_core::Invalid;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

use super::begin::begin_session;
use super::client::{user_agent, ClientAddr};
use super::csrf::csrf_token;
use super::flash::set_flash;
use super::password::hash_password;
use crate::input::FormBody;
use crate::views::auth as v;
use crate::views::auth::SetupForm;
use crate::{AppError, AppState};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SetupQuery {
    token: String,
}

fn setup_token_matches(state: &AppState, token: &str) -> bool {
    let guard = state
        .inner
        .setup_token
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    guard.as_deref().is_some_and(|t| {
        !token.is_empty() && Sha256::digest(t.as_bytes()) == Sha256::digest(token.as_bytes())
    })
}

pub(super) async fn setup_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<SetupQuery>,
) -> Result<Response, AppError> {
    if state.store().count_people().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    if !setup_token_matches(&state, &q.token) {
        return Ok((StatusCode::FORBIDDEN, v::setup_link_wrong()).into_response());
    }
    let csrf = csrf_token(&session).await?;
    Ok(v::setup(&csrf, &q.token, &SetupForm::default(), &Invalid::new()).into_response())
}

pub(super) async fn setup(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    FormBody(form): FormBody<SetupForm>,
) -> Result<Response, AppError> {
    if state.store().count_people().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    if !setup_token_matches(&state, &form.token) {
        return Ok((StatusCode::FORBIDDEN, v::setup_link_wrong()).into_response());
    }
    let input = PersonInput {
        username: form.username.clone(),
        full_name: form.full_name.clone(),
        email: form.email.clone(),
        position: form.position.clone(),
        kind: "staff".into(),
        role: Role::Admin.as_str().into(),
    };
    let mut invalid = Invalid::new();
    let details = input.parse().map_err(|e| invalid.0.extend(e.0)).ok();
    let school_name = state
        .store()
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await?
        .school_name;
    let owner = PasswordOwner {
        username: &form.username,
        full_name: &form.full_name,
        school_name: &school_name,
    };
    let password = invalid.check("password", new_password(&form.password, &owner));
    if password.is_some() && form.password != form.confirm {
        invalid.add("confirm", "The two passwords are not the same.");
    }
    let csrf = csrf_token(&session).await?;
    let (Some(details), Some(password), true) = (details, password, invalid.is_empty()) else {
        let shown = form.shown_back();
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v::setup(&csrf, &shown.token, &shown, &invalid),
        )
            .into_response());
    };
    let hash = hash_password(password).await?;
    let person = match state.store().create_first_admin(details, hash).await {
        Ok(p) => p,
        Err(kitroom_store::StoreError::Invalid(_)) => {
            return Ok(Redirect::to("/login").into_response())
        }
        Err(e) => return Err(e.into()),
    };
    *state
        .inner
        .setup_token
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = None;
    tracing::info!(
        username = person.username,
        "first admin account created through the setup link"
    );
    begin_session(&session, person.id, &address, user_agent(&headers)).await?;
    set_flash(&session, format!("Welcome, {}. Your admin account is ready. Start by registering a device or adding people.", person.full_name)).await?;
    Ok(Redirect::to("/devices").into_response())
}
