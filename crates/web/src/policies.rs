//! The acceptable-use policy: reading and signing it, publishing versions, and who
//! has signed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::person::Permission;
use kitroom_core::policy::{PolicyInput, SignatureInput};
use kitroom_core::Invalid;
use kitroom_store::StoreError;

use crate::auth::{parse_id, set_flash, Ctx, FormBody, QueryParams};
use crate::views::policies as v;
use crate::{AppError, AppState};

/// Kitroom's own sample policy, offered when the first version is published.
pub const SAMPLE_POLICY: &str = include_str!("../../../web/sample-policy.md");

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/policy", get(current))
        .route("/policy/sign", post(sign))
        .route("/policies", get(list).post(publish))
        .route("/policies/{id}", get(show))
        .route("/policies/{id}/signatures.csv", get(signatures_csv))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct NextQuery {
    /// Where to go once signed: the device the person was about to borrow.
    next: String,
}

async fn current(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<NextQuery>,
) -> Result<Response, AppError> {
    render_current(
        &ctx,
        &state,
        &SignatureInput::default(),
        &Invalid::new(),
        &q.next,
    )
    .await
}

async fn render_current(
    ctx: &Ctx,
    state: &AppState,
    input: &SignatureInput,
    invalid: &Invalid,
    next: &str,
) -> Result<Response, AppError> {
    let policy = state.store().current_policy().await?;
    let signature = match &policy {
        Some(p) => state.store().signature(ctx.user.id, p.id).await?,
        None => None,
    };
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        v::current(
            ctx,
            policy.as_ref(),
            signature.as_ref(),
            input,
            invalid,
            next,
        ),
    )
        .into_response())
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct SignForm {
    policy: String,
    full_name: String,
    position: String,
    #[serde(deserialize_with = "crate::auth::checkbox")]
    agree: bool,
    next: String,
}

#[tracing::instrument(skip_all)]
async fn sign(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<SignForm>,
) -> Result<Response, AppError> {
    let input = SignatureInput {
        full_name: form.full_name,
        position: form.position,
        agree: form.agree,
    };
    let details = match input.parse(true) {
        Ok(d) => d,
        Err(invalid) => return render_current(&ctx, &state, &input, &invalid, &form.next).await,
    };
    let policy = parse_id(&form.policy)?;
    match state
        .store()
        .sign_policy(&ctx.user, policy, details, crate::time::today())
        .await
    {
        Ok(_) => {
            set_flash(
                &ctx.session,
                "Thank you. You have signed the acceptable-use policy and can now borrow devices.",
            )
            .await?;
            Ok(Redirect::to(&crate::auth::safe_next(Some(&form.next))).into_response())
        }
        Err(StoreError::Invalid(invalid)) => {
            render_current(&ctx, &state, &input, &invalid, &form.next).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManagePolicy)?;
    let policies = state.store().list_policies().await?;
    let input = match policies.first() {
        Some(p) => PolicyInput {
            title: p.policy.title.clone(),
            version_label: String::new(),
            issued_on: crate::time::today().to_string(),
            body: p.policy.body.clone(),
        },
        None => PolicyInput {
            title: "Acceptable use of school devices".into(),
            version_label: String::new(),
            issued_on: crate::time::today().to_string(),
            body: SAMPLE_POLICY.into(),
        },
    };
    let people = state.store().count_people().await?;
    Ok(v::list(&ctx, &policies, people, &input, &Invalid::new()).into_response())
}

#[tracing::instrument(skip_all)]
async fn publish(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(input): FormBody<PolicyInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManagePolicy)?;
    let result = match input.parse() {
        Ok(d) => state.store().publish_policy(ctx.user.actor(), d).await,
        Err(invalid) => Err(StoreError::Invalid(invalid)),
    };
    match result {
        Ok(p) => {
            set_flash(
                &ctx.session,
                format!(
                    "Version {} is published. Everyone must sign it before they borrow again.",
                    p.version_label
                ),
            )
            .await?;
            Ok(Redirect::to(&format!("/policies/{}", p.id)).into_response())
        }
        Err(StoreError::Invalid(invalid)) => {
            let policies = state.store().list_policies().await?;
            let people = state.store().count_people().await?;
            Ok((
                StatusCode::UNPROCESSABLE_ENTITY,
                v::list(&ctx, &policies, people, &input, &invalid),
            )
                .into_response())
        }
        Err(e) => Err(e.into()),
    }
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManagePolicy)?;
    let policy = state
        .store()
        .policy_by_id(parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = state.store().current_policy().await?;
    let people = state.store().signatories(policy.id).await?;
    Ok(v::show(
        &ctx,
        &policy,
        current.as_ref().is_some_and(|c| c.id == policy.id),
        &people,
    )
    .into_response())
}

/// Who has signed and who has not, as CSV for the governors' file.
async fn signatures_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManagePolicy)?;
    let policy = state
        .store()
        .policy_by_id(parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let people = state.store().signatories(policy.id).await?;
    let mut w = csv::Writer::from_writer(Vec::new());
    let header = [
        "username",
        "full_name",
        "kind",
        "role",
        "signed",
        "signed_full_name",
        "signed_position",
        "signed_on",
        "policy_version",
    ];
    w.write_record(header).map_err(AppError::internal)?;
    for (p, s) in &people {
        let row = [
            p.username.as_str(),
            p.full_name.as_str(),
            p.kind.as_str(),
            p.role.as_str(),
            if s.is_some() { "yes" } else { "no" },
            s.as_ref().map(|s| s.full_name.as_str()).unwrap_or(""),
            s.as_ref().map(|s| s.position.as_str()).unwrap_or(""),
            s.as_ref().map(|s| s.signed_on.as_str()).unwrap_or(""),
            policy.version_label.as_str(),
        ];
        w.write_record(row.map(crate::csv_safe))
            .map_err(AppError::internal)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string().into()))?;
    Ok(crate::spreadsheet::download(
        &format!("signatures-{}", policy.version_label),
        body,
    ))
}
