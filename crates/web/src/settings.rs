//! The school's settings, for the IT administrator.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::person::Permission;
use kitroom_core::settings::SettingsInput;
use kitroom_core::Invalid;

use crate::auth::{set_flash, Ctx, FormBody};
use crate::views::settings as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/settings", get(show).post(save))
        .route("/outbox/{id}/dismiss", post(dismiss_undelivered))
}

async fn show(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageSettings)?;
    let settings = state.store().settings(ctx.user.school).await?;
    let deployment = deployment_part(&state, &ctx).await?;
    Ok(v::form(
        &ctx,
        &SettingsInput::from(&settings),
        &Invalid::new(),
        deployment.as_ref(),
    )
    .into_response())
}

/// The backups, when the person may change the settings every school shares.
async fn deployment_part(state: &AppState, ctx: &Ctx) -> Result<Option<v::Backups>, AppError> {
    let may = kitroom_app::settings::may_change_deployment(state.app(), &ctx.user).await?;
    Ok(may.then(|| backups(state)))
}

/// The automatic backups on disk and how the last one went.
fn backups(state: &AppState) -> v::Backups {
    let folder = state.backup_folder();
    v::Backups {
        files: kitroom_store::backups::list_backups(&folder),
        folder: folder.display().to_string(),
        status: state.backup_status(),
    }
}

async fn save(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<BTreeMap<String, String>>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageSettings)?;
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let input = SettingsInput {
        school_name: field("school_name"),
        day_ends_at: field("day_ends_at"),
        return_location: field("return_location"),
        booking_release_minutes: field("booking_release_minutes"),
        reminder_minutes_before: field("reminder_minutes_before"),
        backups_kept: field("backups_kept"),
        charge_minutes: form
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("charge_minutes.")
                    .map(|kind| (kind.to_owned(), v.clone()))
            })
            .collect(),
        require_two_factor: form.contains_key("require_two_factor"),
        managers_manage_managers: form.contains_key("managers_manage_managers"),
        keep_leavers_months: field("keep_leavers_months"),
        token_lifetime_days: field("token_lifetime_days"),
        password_sign_in_admins_only: form.contains_key("password_sign_in_admins_only"),
        provider_creates_borrowers: form.contains_key("provider_creates_borrowers"),
        provider_counts_as_two_step: form.contains_key("provider_counts_as_two_step"),
        one_policy_for_trust: form.contains_key("one_policy_for_trust"),
        provider_name: field("provider_name"),
    };
    let deployment = deployment_part(&state, &ctx).await?;
    let mut change = change_of(&input);
    if !ctx.may(Permission::ViewTrust) {
        // shown to the trust's own staff only
        change.one_policy_for_trust = None;
    }
    if deployment.is_none() {
        // not on the form: left as they are
        change = change.without_shared();
    }
    match kitroom_app::settings::save(state.app(), &ctx.user, change).await {
        Ok(_) => {
            set_flash(&ctx.session, "Settings saved.").await?;
            Ok(Redirect::to("/settings").into_response())
        }
        Err(e) => {
            let refusal = crate::error::page_refusal(e)?;
            let shown = match deployment {
                // described, not on the form: as they stand
                None => input.with_shared_from(&SettingsInput::from(
                    &state.store().settings(ctx.user.school).await?,
                )),
                Some(_) => input,
            };
            Ok((
                crate::error::status_of(refusal.kind),
                v::form(
                    &ctx,
                    &shown,
                    &refusal.fields.unwrap_or_default(),
                    deployment.as_ref(),
                ),
            )
                .into_response())
        }
    }
}

/// The whole settings form as the settings command's change: every field named.
fn change_of(i: &SettingsInput) -> kitroom_app::settings::SettingsChange {
    use kitroom_app::input::{Flag, Number};
    kitroom_app::settings::SettingsChange {
        school_name: Some(i.school_name.clone()),
        day_ends_at: Some(i.day_ends_at.clone()),
        return_location: Some(i.return_location.clone()),
        booking_release_minutes: Some(Number(i.booking_release_minutes.clone())),
        reminder_minutes_before: Some(Number(i.reminder_minutes_before.clone())),
        charge_minutes: Some(
            i.charge_minutes
                .iter()
                .map(|(k, v)| (k.clone(), Number(v.clone())))
                .collect(),
        ),
        require_two_factor: Some(Flag(i.require_two_factor)),
        keep_leavers_months: Some(Number(i.keep_leavers_months.clone())),
        backups_kept: Some(Number(i.backups_kept.clone())),
        managers_manage_managers: Some(Flag(i.managers_manage_managers)),
        token_lifetime_days: Some(Number(i.token_lifetime_days.clone())),
        password_sign_in_admins_only: Some(Flag(i.password_sign_in_admins_only)),
        provider_creates_borrowers: Some(Flag(i.provider_creates_borrowers)),
        provider_counts_as_two_step: Some(Flag(i.provider_counts_as_two_step)),
        one_policy_for_trust: Some(Flag(i.one_policy_for_trust)),
        provider_name: Some(i.provider_name.clone()),
    }
}

/// An admin has seen that an email was not delivered: it leaves their desk.
async fn dismiss_undelivered(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageSettings)?;
    let id = uuid::Uuid::parse_str(&id).map_err(|_| AppError::NotFound)?;
    if !state
        .store()
        .dismiss_undelivered_email(ctx.user.actor(), id.to_string())
        .await?
    {
        return Err(AppError::NotFound);
    }
    set_flash(&ctx.session, "Dismissed: that email is off your desk.").await?;
    Ok(Redirect::to("/").into_response())
}
