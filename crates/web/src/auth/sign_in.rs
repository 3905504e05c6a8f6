//! Signing in with a password (and, where it is set up, waiting for the second step),
//! and signing out.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use kitroom_core::person::Role;
use kitroom_core::throttle::{cut, decide, Decision, PASSWORD_MAX, USERNAME_MAX};
use kitroom_store::throttle::Step;
use serde::Deserialize;
use tower_sessions::Session;
use uuid::Uuid;

use super::begin::{await_code, begin_session, safe_next};
use super::client::{user_agent, ClientAddr};
use super::csrf::csrf_token;
use super::password::verify_password;
use super::throttle::{wait_message, TOO_LONG, TOO_LONG_STRETCH};
use crate::input::FormBody;
use crate::session::PERSON_KEY;
use crate::views::auth as v;
use crate::{AppError, AppState};

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

pub(super) async fn login_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Result<Response, AppError> {
    if session.get::<Uuid>(PERSON_KEY).await?.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    if state.store().count_people().await? == 0 {
        return Ok(v::no_accounts_yet().into_response());
    }
    let csrf = csrf_token(&session).await?;
    let notice = q.signed_out.map(|_| "You have signed out.");
    let choices = super::oidc::choices(&state).await?;
    Ok(v::login(
        &csrf,
        "",
        q.next.as_deref().unwrap_or(""),
        None,
        notice,
        &choices,
    )
    .into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

pub(super) async fn login(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    FormBody(form): FormBody<LoginForm>,
) -> Result<Response, AppError> {
    let csrf = csrf_token(&session).await?;
    // What is shown back on the form is bounded too: a huge username is not echoed.
    let typed = cut(form.username.trim(), USERNAME_MAX);
    let next = safe_next(Some(&form.next));
    let choices = super::oidc::choices(&state).await?;
    let refuse = |status: StatusCode, message: String| {
        (
            status,
            v::login(&csrf, &typed, &next, Some(&message), None, &choices),
        )
            .into_response()
    };
    // Every input is bounded before any work is done: nothing longer than the
    // longest username or password can be right, so it is refused at once, counted
    // in memory and never hashed, looked up or written down in full.
    let too_long = if form.username.trim().chars().nth(USERNAME_MAX).is_some() {
        Some(format!("That is longer than any username: usernames are at most {USERNAME_MAX} characters. Check what you typed."))
    } else if form.password.chars().nth(PASSWORD_MAX).is_some() {
        Some(format!("That is longer than any password Kitroom accepts (at most {PASSWORD_MAX} characters), so it cannot be right. Check what you typed."))
    } else {
        None
    };
    if let Some(message) = too_long {
        let now = Utc::now();
        let first = state.throttle().refused(
            TOO_LONG,
            form.username.trim(),
            &address,
            now,
            now + TOO_LONG_STRETCH,
        );
        if first {
            tracing::warn!(
                username = typed,
                address,
                "sign-in with a username or password longer than any refused; more from this address in the next minute are counted, not logged"
            );
        }
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, message));
    }
    let username = form.username.trim().to_lowercase();
    if username.is_empty() || form.password.is_empty() {
        return Ok(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your username and password.".into(),
        ));
    }
    let now = Utc::now();
    let counts = state.store().sign_in_counts(&username, &address).await?;
    match decide(&counts, now) {
        Decision::Wait { until, why } => {
            let first = state.throttle().refused(
                "person.sign_in_throttled",
                &username,
                &address,
                now,
                until,
            );
            if first {
                tracing::warn!(username, address, %until, ?why, "sign-in throttled; further attempts until then are counted, not logged");
            }
            return Ok(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                wait_message(why, until - now),
            ));
        }
        Decision::Check { delay } => {
            if let Ok(delay) = delay.to_std() {
                // A busy address is slowed, never refused: everyone behind a
                // school's one public address still gets in.
                tokio::time::sleep(delay).await;
            }
        }
    }
    let person = state.store().account_by_username(&username).await?;
    let hash = person.as_ref().and_then(|p| p.password_hash.clone());
    if !verify_password(hash, form.password.clone()).await {
        tracing::info!(username, address, "sign-in failed");
        state
            .store()
            .record_sign_in_failed(Step::Password, username.clone(), address.clone(), now)
            .await?;
        return Ok(refuse(
            StatusCode::UNAUTHORIZED,
            "The username or password is not right. Check them and try again.".into(),
        ));
    }
    let Some(person) = person else {
        return Err(AppError::Internal(
            "a password matched without a person".into(),
        ));
    };
    if !person.active {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            "This account has been deactivated. If you still need Kitroom, ask the business manager.".into(),
        ));
    }
    if choices.password_for_admins_only && !matches!(person.role, Role::Admin | Role::TrustAdmin) {
        if let Some(name) = &choices.provider {
            return Ok(refuse(
                StatusCode::FORBIDDEN,
                format!("Sign in with {name} instead: the school has turned off password sign-in for everyone but IT administrators."),
            ));
        }
    }
    if state
        .store()
        .two_factor(person.id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        // The password was right; the sign-in waits for the authenticator's code.
        await_code(&session, person.id, &next).await?;
        return Ok(Redirect::to("/login/code").into_response());
    }
    begin_session(&session, person.id, &address, user_agent(&headers)).await?;
    state.store().record_sign_in(&person, true, address).await?;
    Ok(Redirect::to(&next).into_response())
}

pub(super) async fn logout(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
) -> Result<Response, AppError> {
    if let Some(id) = session.get::<Uuid>(PERSON_KEY).await? {
        if let Some(person) = state.store().account_by_id(id).await? {
            state
                .store()
                .record_sign_in(&person, false, address)
                .await?;
        }
    }
    session.flush().await?;
    Ok(Redirect::to("/login?signed_out=1").into_response())
}
