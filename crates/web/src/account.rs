//! A person's own account: their details, their password, their API tokens.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::invalid::required_text;
use kitroom_core::person::new_password;
use kitroom_core::Invalid;
use serde::Deserialize;

use crate::auth::{
    hash_password, new_api_token, parse_id, set_flash, token_hash, verify_password, Ctx, FormBody,
};
use crate::views::account as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/account", get(show))
        .route("/account/password", post(change_password))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

async fn render(
    ctx: &Ctx,
    state: &AppState,
    invalid: &Invalid,
    new_token: Option<&str>,
    token_name: &str,
) -> Result<Response, AppError> {
    let tokens = state.store().list_tokens(ctx.user.id).await?;
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        v::show(ctx, &tokens, invalid, new_token, token_name),
    )
        .into_response())
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
    let password = invalid.check("password", new_password(&form.password, &ctx.user.username));
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
        "Your password is changed. You have been signed out on other devices.",
    )
    .await?;
    Ok(Redirect::to("/account").into_response())
}

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
