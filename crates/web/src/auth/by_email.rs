//! One-time links by email (issue 16): "Forgotten your password?" asks for a link,
//! and the pages a link opens (`/welcome/<token>` for an invitation, `/reset/<token>`
//! for a reset) let the person choose a password once and sign them in. The rules
//! and the writing are `kitroom_app::links`'s.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use kitroom_app::links::{ChoosePasswordInput, ResetAsked};
use kitroom_core::one_time::Purpose;
use kitroom_core::person::EMAIL_MAX;
use kitroom_core::throttle::{cut, ADDRESS_WINDOW, USERNAME_MAX};
use kitroom_core::Invalid;
use serde::Deserialize;
use tower_sessions::Session;

use super::begin::{await_code, begin_session};
use super::client::{user_agent, ClientAddr};
use super::csrf::csrf_token;
use super::flash::set_flash;
use super::throttle::{TOO_LONG, TOO_LONG_STRETCH};
use crate::error::status_of;
use crate::input::FormBody;
use crate::views::auth as v;
use crate::{AppError, AppState};

/// The longest username or email address: nothing longer can match an account.
const WHO_MAX: usize = if USERNAME_MAX > EMAIL_MAX {
    USERNAME_MAX
} else {
    EMAIL_MAX
};

/// A token is 64 hex digits; anything much longer is not one.
const TOKEN_MAX: usize = 100;

pub(super) async fn forgot_page(session: Session) -> Result<Response, AppError> {
    let csrf = csrf_token(&session).await?;
    Ok(v::forgot(&csrf, "", None).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct ForgotForm {
    who: String,
}

pub(super) async fn forgot(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    FormBody(form): FormBody<ForgotForm>,
) -> Result<Response, AppError> {
    let csrf = csrf_token(&session).await?;
    let who = form.who.trim();
    let typed = cut(who, WHO_MAX);
    let refuse = |message: String| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            v::forgot(&csrf, &typed, Some(&message)),
        )
            .into_response()
    };
    let now = Utc::now();
    if who.chars().nth(WHO_MAX).is_some() {
        // Counted in memory, never looked up or written down in full.
        if state.throttle_refused(TOO_LONG, who, &address, now, now + TOO_LONG_STRETCH) {
            tracing::warn!(address, "a password reset asked for with a name longer than any refused; more from this address in the next minute are counted, not logged");
        }
        return Ok(refuse(format!("That is longer than any username or email address (at most {WHO_MAX} characters). Check what you typed.")));
    }
    if who.is_empty() {
        return Ok(refuse("Enter your username or email address.".into()));
    }
    match kitroom_app::links::ask_for_reset(state.app(), who, &address).await? {
        ResetAsked::Sent => tracing::info!(typed, address, "password reset link sent"),
        ResetAsked::NoMatch => tracing::info!(typed, address, "password reset asked for: no account with an email address matches"),
        ResetAsked::NoPublicAddress => tracing::warn!(typed, address, "password reset asked for, but no public address is set (--public-url or KITROOM_PUBLIC_URL), so no link can be emailed"),
        ResetAsked::Throttled(why) => {
            if state.throttle_refused("person.reset_throttled", who, &address, now, now + ADDRESS_WINDOW) {
                tracing::warn!(typed, address, ?why, "password reset requests refused: too many lately; more in the next quarter-hour are counted, not logged");
            }
        }
    }
    // The same answer whatever happened: it tells nobody whether an account exists.
    Ok(v::forgot_sent().into_response())
}

fn is_invite(purpose: Purpose) -> bool {
    purpose == Purpose::Invite
}

/// A link that does not work: its page, with the way to ask again.
fn link_refused(purpose: Purpose, e: kitroom_app::Error) -> Result<Response, AppError> {
    match e {
        kitroom_app::Error::Refused(r) => Ok((
            status_of(r.kind),
            v::link_problem(is_invite(purpose), &r.message),
        )
            .into_response()),
        other => Err(other.into()),
    }
}

async fn link_page(
    state: &AppState,
    session: &Session,
    purpose: Purpose,
    token: &str,
    invalid: &Invalid,
) -> Result<Response, AppError> {
    let token: String = token.chars().take(TOKEN_MAX + 1).collect();
    let p = match kitroom_app::links::open_link(state.app(), purpose, &token).await {
        Ok(p) => p,
        Err(e) => return link_refused(purpose, e),
    };
    let csrf = csrf_token(session).await?;
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    let action = purpose.path(&token);
    Ok((
        status,
        v::choose_password(
            &csrf,
            is_invite(purpose),
            &action,
            &p.full_name,
            &p.username,
            invalid,
        ),
    )
        .into_response())
}

pub(super) async fn welcome_page(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_page(&state, &session, Purpose::Invite, &token, &Invalid::new()).await
}

pub(super) async fn reset_page(
    State(state): State<AppState>,
    session: Session,
    Path(token): Path<String>,
) -> Result<Response, AppError> {
    link_page(&state, &session, Purpose::Reset, &token, &Invalid::new()).await
}

pub(super) async fn welcome(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    FormBody(form): FormBody<ChoosePasswordInput>,
) -> Result<Response, AppError> {
    choose(
        state,
        session,
        address,
        headers,
        Purpose::Invite,
        token,
        form,
    )
    .await
}

pub(super) async fn reset(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Path(token): Path<String>,
    FormBody(form): FormBody<ChoosePasswordInput>,
) -> Result<Response, AppError> {
    choose(
        state,
        session,
        address,
        headers,
        Purpose::Reset,
        token,
        form,
    )
    .await
}

/// Sets the chosen password and signs the person in: at once, or after their code
/// when they use two-step sign-in; where their role requires two-step sign-in and it
/// is not set up, the next page sends them to set it up, as a first sign-in does.
async fn choose(
    state: AppState,
    session: Session,
    address: String,
    headers: HeaderMap,
    purpose: Purpose,
    token: String,
    form: ChoosePasswordInput,
) -> Result<Response, AppError> {
    let token: String = token.chars().take(TOKEN_MAX + 1).collect();
    let bounded = ChoosePasswordInput {
        password: form
            .password
            .chars()
            .take(kitroom_core::throttle::PASSWORD_MAX + 1)
            .collect(),
        confirm: form
            .confirm
            .chars()
            .take(kitroom_core::throttle::PASSWORD_MAX + 1)
            .collect(),
    };
    let p = match kitroom_app::links::choose_password(state.app(), purpose, &token, bounded).await {
        Ok(p) => p,
        Err(kitroom_app::Error::Refused(r)) if r.fields.is_some() => {
            let invalid = r.fields.unwrap_or_default();
            return link_page(&state, &session, purpose, &token, &invalid).await;
        }
        Err(e) => return link_refused(purpose, e),
    };
    tracing::info!(
        username = p.username,
        purpose = purpose.as_str(),
        "password chosen through an emailed link"
    );
    if state
        .store()
        .two_factor(p.id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        await_code(&session, p.id, "/").await?;
        return Ok(Redirect::to("/login/code").into_response());
    }
    begin_session(&session, p.id, &address, user_agent(&headers)).await?;
    state.store().record_sign_in(&p, true, address).await?;
    let welcome = if is_invite(purpose) {
        format!(
            "Welcome to Kitroom, {}. Your password is set and you are signed in.",
            p.full_name
        )
    } else {
        "Your new password is set. Every other session and API token of your account has ended."
            .to_owned()
    };
    set_flash(&session, welcome).await?;
    Ok(Redirect::to("/").into_response())
}
