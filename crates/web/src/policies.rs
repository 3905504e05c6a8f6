//! The acceptable-use policy: reading and signing it, publishing versions, and who
//! has signed.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_app::input::Flag;
use kitroom_app::policies::{PublishInput, SignInput};
use kitroom_core::person::Permission;
use kitroom_core::policy::{PolicyInput, SignatureInput};
use kitroom_core::Invalid;

use crate::auth::{parse_id, set_flash, Ctx, FormBody, QueryParams};
use crate::error::{page_refusal, refusal_fields, status_of};
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
        (StatusCode::OK, &Invalid::new()),
        &q.next,
    )
    .await
}

async fn render_current(
    ctx: &Ctx,
    state: &AppState,
    input: &SignatureInput,
    (status, invalid): (StatusCode, &Invalid),
    next: &str,
) -> Result<Response, AppError> {
    let policy = state.store().current_policy(ctx.user.school).await?;
    let signature = match &policy {
        Some(p) => state.store().signature(ctx.user.id, p.id).await?,
        None => None,
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

/// Signs the version the page showed. The form carries the command's fields and
/// `next`, where to go once signed; its tick box, left unticked, sends nothing, so
/// the page always says whether it was ticked.
#[tracing::instrument(skip_all)]
async fn sign(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let next = pairs
        .iter()
        .find(|(k, _)| k == "next")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let fields: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "next").collect();
    let mut input: SignInput = serde_urlencoded::to_string(&fields)
        .ok()
        .and_then(|encoded| serde_urlencoded::from_str(&encoded).ok())
        .ok_or_else(|| {
            AppError::BadRequest(
                "The form could not be read. Go back, reload the page and try again.".into(),
            )
        })?;
    input.agree.get_or_insert(Flag(false));
    let typed = SignatureInput {
        full_name: input.full_name.clone(),
        position: input.position.clone(),
        agree: input.agree.is_some_and(|a| a.0),
    };
    match kitroom_app::policies::sign(state.app(), &ctx.user, input).await {
        Ok(_) => {
            set_flash(
                &ctx.session,
                "Thank you. You have signed the acceptable-use policy and can now borrow devices.",
            )
            .await?;
            Ok(Redirect::to(&crate::auth::safe_next(Some(&next))).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let invalid = refusal_fields(&refusal, "policy");
            render_current(
                &ctx,
                &state,
                &typed,
                (status_of(refusal.kind), &invalid),
                &next,
            )
            .await
        }
    }
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManagePolicy)?;
    let policies = state.store().list_policies(ctx.user.school).await?;
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
    let people = state.store().count_people_in(ctx.user.school).await?;
    let for_trust = state
        .store()
        .settings(ctx.user.school)
        .await?
        .one_policy_for_trust;
    Ok(v::list(&ctx, &policies, people, for_trust, &input, &Invalid::new()).into_response())
}

#[tracing::instrument(skip_all)]
async fn publish(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(input): FormBody<PublishInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManagePolicy)?;
    match kitroom_app::policies::publish(state.app(), &ctx.user, input.clone()).await {
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
        Err(e) => {
            let refusal = page_refusal(e)?;
            let invalid = refusal_fields(&refusal, "version_label");
            let policies = state.store().list_policies(ctx.user.school).await?;
            let people = state.store().count_people_in(ctx.user.school).await?;
            let for_trust = state
                .store()
                .settings(ctx.user.school)
                .await?
                .one_policy_for_trust;
            let typed = PolicyInput {
                title: input.title,
                version_label: input.version_label,
                issued_on: input.issued_on,
                body: input.body,
            };
            Ok((
                status_of(refusal.kind),
                v::list(&ctx, &policies, people, for_trust, &typed, &invalid),
            )
                .into_response())
        }
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
        .policy_by_id(ctx.user.school, parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let current = state.store().current_policy(ctx.user.school).await?;
    let people = state
        .store()
        .signatories(ctx.user.school, policy.id)
        .await?;
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
        .policy_by_id(ctx.user.school, parse_id(&id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    let people = state
        .store()
        .signatories(ctx.user.school, policy.id)
        .await?;
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
        crate::write_safe_record(&mut w, row).map_err(AppError::internal)?;
    }
    let body = w
        .into_inner()
        .map_err(|e| AppError::Internal(e.to_string().into()))?;
    Ok(crate::spreadsheet::download(
        &format!("signatures-{}", policy.version_label),
        body,
    ))
}
