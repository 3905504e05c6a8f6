//! A person's own account: their details, their password, their signed-in sessions,
//! their API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};
use kitroom_core::invalid::required_text;
use kitroom_core::person::{new_password, PasswordOwner, Permission};
use kitroom_core::Invalid;
use serde::Deserialize;

use crate::auth::{
    hash_password, new_api_token, parse_id, set_flash, token_hash, verify_password, Ctx, FormBody,
};
use crate::views::account as v;
use crate::views::account::{SessionInfo, TokenRow};
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/password", post(change_password))
        .route("/account/sessions/{id}/end", post(end_session))
        .route("/account/sessions/end-others", post(end_other_sessions))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
        .route("/account/feed", post(new_feed))
}

async fn render(
    ctx: &Ctx,
    state: &AppState,
    invalid: &Invalid,
    new_token: Option<&str>,
    token_name: &str,
) -> Result<Response, AppError> {
    render_with_feed(ctx, state, invalid, new_token, token_name, None).await
}

/// The account page; `new_feed` is a calendar address just made, shown once.
async fn render_with_feed(
    ctx: &Ctx,
    state: &AppState,
    invalid: &Invalid,
    new_token: Option<&str>,
    token_name: &str,
    new_feed: Option<&str>,
) -> Result<Response, AppError> {
    let now = Utc::now();
    let tokens: Vec<TokenRow> = state
        .store()
        .list_tokens(ctx.user.id)
        .await?
        .into_iter()
        .map(|token| TokenRow {
            expired: token
                .expires_at
                .as_deref()
                .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
                .is_none_or(|t| t <= now),
            token,
        })
        .collect();
    let may_make_token = passed_required_second_step(ctx, state).await?;
    let sessions = active_sessions(ctx, state).await?;
    let two_factor_on = state
        .store()
        .two_factor(ctx.user.id)
        .await?
        .is_some_and(|t| t.confirmed);
    let codes_left = if two_factor_on {
        state.store().recovery_codes_left(ctx.user.id).await?
    } else {
        0
    };
    let required = state
        .store()
        .settings(ctx.user.school)
        .await?
        .two_factor_required(ctx.user.role);
    let two_factor =
        crate::views::two_factor::account_section(ctx, two_factor_on, codes_left, required);
    let feed = if ctx.user.role.may(Permission::Borrow) {
        let has = new_feed.is_some() || state.store().has_feed(ctx.user.id).await?;
        crate::views::bookings::feed_section(ctx, has, new_feed, "/account/feed")
    } else {
        maud::html! {}
    };
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        v::show(
            ctx,
            &sessions,
            two_factor,
            feed,
            &v::Tokens {
                list: &tokens,
                may_make: may_make_token,
                new: new_token,
                name: token_name,
            },
            invalid,
        ),
    )
        .into_response())
}

/// Whether this session may make an API token: where the school requires two-step
/// sign-in of the person, only a session that passed the second step (signed in
/// with a code, or set it up here). A session signed in with the password alone
/// before it was set up elsewhere may use the pages, but a token would outlive it
/// and skip the second step for good.
async fn passed_required_second_step(ctx: &Ctx, state: &AppState) -> Result<bool, AppError> {
    if !state
        .store()
        .settings(ctx.user.school)
        .await?
        .two_factor_required(ctx.user.role)
    {
        return Ok(true);
    }
    Ok(ctx
        .session
        .get::<bool>(crate::session::TWO_FACTOR_KEY)
        .await?
        .unwrap_or(false))
}

fn current_hash(ctx: &Ctx) -> Option<String> {
    ctx.session.id().map(|id| crate::session::id_hash(&id))
}

/// The person's sessions that have not expired, the current one first, then the
/// most recently used.
async fn active_sessions(ctx: &Ctx, state: &AppState) -> Result<Vec<SessionInfo>, AppError> {
    let now = Utc::now().timestamp();
    let current = current_hash(ctx);
    let lifetime = state.config().session_lifetime.as_secs() as i64;
    let mut list: Vec<SessionInfo> = state
        .store()
        .list_sessions(ctx.user.id, now)
        .await?
        .into_iter()
        .filter_map(|(id_hash, data)| {
            let data: serde_json::Value = serde_json::from_str(&data).ok()?;
            let at = |key: &str| {
                data.get(key)
                    .and_then(|v| v.as_i64())
                    .and_then(|t| DateTime::from_timestamp(t, 0))
            };
            let text = |key: &str| {
                data.get(key)
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_owned()
            };
            let signed_in = at(crate::session::SIGNED_IN_AT_KEY);
            // Past its lifetime, a session is refused on its next request.
            if signed_in.is_some_and(|t| now - t.timestamp() > lifetime) {
                return None;
            }
            Some(SessionInfo {
                current: current.as_deref() == Some(id_hash.as_str()),
                id_hash,
                signed_in,
                seen: at(crate::session::SEEN_KEY),
                address: text(crate::session::ADDRESS_KEY),
                browser: text(crate::session::BROWSER_KEY),
            })
        })
        .collect();
    list.sort_by(|a, b| b.current.cmp(&a.current).then(b.seen.cmp(&a.seen)));
    Ok(list)
}

async fn show(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    render(&ctx, &state, &Invalid::new(), None, "").await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    current: String,
    password: String,
    confirm: String,
}

async fn change_password(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<PasswordForm>,
) -> Result<Response, AppError> {
    let mut invalid = Invalid::new();
    if !verify_password(ctx.user.password_hash.clone(), form.current.clone()).await {
        invalid.add("current", "Your current password is not right.");
    }
    let school_name = state.store().settings(ctx.user.school).await?.school_name;
    let owner = PasswordOwner {
        username: &ctx.user.username,
        full_name: &ctx.user.full_name,
        school_name: &school_name,
    };
    let password = invalid.check("password", new_password(&form.password, &owner));
    if password.is_some() && form.password != form.confirm {
        invalid.add("confirm", "The two new passwords are not the same.");
    }
    let (Some(password), true) = (password, invalid.is_empty()) else {
        return render(&ctx, &state, &invalid, None, "").await;
    };
    let hash = hash_password(password).await?;
    let keep = ctx.session.id().map(|id| crate::session::id_hash(&id));
    state
        .store()
        .set_password(ctx.user.actor(), ctx.user.id, hash, keep)
        .await?;
    ctx.session.cycle_id().await?;
    set_flash(
        &ctx.session,
        "Your password is changed. You have been signed out on other devices, and your API tokens no longer work: make new ones for your scripts.",
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
}

async fn end_session(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    if current_hash(&ctx).as_deref() == Some(id.as_str()) {
        // Ending the session in use is signing out, which has its own button.
        return Err(AppError::BadRequest(
            "That is the session you are using. To end it, sign out.".into(),
        ));
    }
    let ended = state
        .store()
        .end_session(ctx.user.actor(), ctx.user.subject(), ctx.user.id, id)
        .await?;
    let message = if ended {
        "That session has ended: whoever uses it must sign in again."
    } else {
        "That session had already ended."
    };
    set_flash(&ctx.session, message).await?;
    Ok(Redirect::to("/account#sessions").into_response())
}

async fn end_other_sessions(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    let Some(keep) = current_hash(&ctx) else {
        return Err(AppError::Internal(
            "a signed-in session without an id".into(),
        ));
    };
    let ended = state
        .store()
        .end_other_sessions(ctx.user.actor(), ctx.user.subject(), ctx.user.id, keep)
        .await?;
    let sessions = match ended.sessions {
        0 => "You were not signed in anywhere else.".to_owned(),
        1 => "You are now signed out of 1 other session.".to_owned(),
        n => format!("You are now signed out of {n} other sessions."),
    };
    let message = match ended.tokens {
        0 => sessions,
        1 => format!("{sessions} 1 API token was revoked."),
        n => format!("{sessions} {n} API tokens were revoked."),
    };
    set_flash(&ctx.session, message).await?;
    Ok(Redirect::to("/account#sessions").into_response())
}

/// Why this session may not make a token, and what to do.
const NEEDS_SECOND_STEP: &str = "To make an API token, sign out and sign in again with the code from your authenticator app. This session began with your password alone.";

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct TokenForm {
    name: String,
}

async fn create_token(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<TokenForm>,
) -> Result<Response, AppError> {
    if !passed_required_second_step(&ctx, &state).await? {
        let mut page = render(
            &ctx,
            &state,
            &Invalid::one("name", NEEDS_SECOND_STEP),
            None,
            &form.name,
        )
        .await?;
        *page.status_mut() = StatusCode::FORBIDDEN;
        return Ok(page);
    }
    let name = match required_text(&form.name, "Name", 80) {
        Ok(n) => n,
        Err(m) => return render(&ctx, &state, &Invalid::one("name", m), None, &form.name).await,
    };
    let token = new_api_token();
    state
        .store()
        .create_token(ctx.user.actor(), &ctx.user, name, token_hash(&token))
        .await?;
    // Shown once, on this response, and never stored or logged.
    render(&ctx, &state, &Invalid::new(), Some(&token), "").await
}

/// Makes a new calendar feed address and shows it once, on the account page.
async fn new_feed(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let url = crate::bookings::make_feed_address(&ctx, &state, &headers).await?;
    render_with_feed(&ctx, &state, &Invalid::new(), None, "", Some(&url)).await
}

async fn revoke_token(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    let id = parse_id(&id)?;
    state
        .store()
        .revoke_token(ctx.user.actor(), &ctx.user, id)
        .await?;
    set_flash(
        &ctx.session,
        "Token revoked. Scripts using it can no longer reach Kitroom.",
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
}
