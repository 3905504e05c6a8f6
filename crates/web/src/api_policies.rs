//! The JSON API for the acceptable-use policy: every version, publishing a new one,
//! the one in force, signing it, and who has signed a version. Publishing and
//! signing are the same commands as the policy pages, so the same rules, refusals
//! and events; reading the versions and their signatures needs the role the pages
//! need (a manager's or an admin's).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use kitroom_app::policies::{PublishInput, SignInput};
use kitroom_core::person::Permission;
use kitroom_store::policies::Policy;
use serde_json::{json, Value};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use crate::api::{created, list_answer, JsonBody};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The policy operations, each registered with its OpenAPI description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_policies, publish_policy))
        .routes(routes!(current_policy))
        .routes(routes!(sign_policy))
        .routes(routes!(signatures))
}

fn policy_json(p: &Policy) -> Value {
    json!({"id": p.id, "title": p.title, "version_label": p.version_label, "issued_on": p.issued_on, "body": p.body, "published_at": p.published_at})
}

#[utoipa::path(
    get,
    path = "/policies",
    tag = "policies",
    summary = "Every version of the acceptable-use policy, newest (the one in force) first",
    responses(
        (status = 200, description = "`{items, total}`: each version with `in_force` and how many have `signed` it.", body = Object),
        (status = 403, description = "Only a manager or admin sees the versions."),
    )
)]
async fn list_policies(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::ManagePolicy)?;
    let all = state.store().list_policies(user.0.school).await?;
    Ok(list_answer(all.iter().enumerate().map(|(i, s)| {
        let mut v = policy_json(&s.policy);
        v["in_force"] = json!(i == 0);
        v["signed"] = json!(s.signed);
        v
    })))
}

#[utoipa::path(
    post,
    path = "/policies",
    tag = "policies",
    summary = "Publish a new version of the acceptable-use policy (manager or admin); it becomes current",
    request_body = PublishInput,
    responses(
        (status = 201, description = "The published version.", body = Object),
        (status = 403, description = "Only a manager or admin may publish the policy."),
        (status = 409, description = "A version with that label is published already (`policy-version-taken`)."),
        (status = 422, description = "A field is missing or wrong, each beside its field."),
    )
)]
async fn publish_policy(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PublishInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManagePolicy)?;
    let policy = kitroom_app::policies::publish(state.app(), &user.0, body).await?;
    Ok(created(policy_json(&policy)))
}

#[utoipa::path(
    get,
    path = "/policies/current",
    tag = "policies",
    summary = "The policy in force, and when the token's owner signed it",
    responses(
        (status = 200, description = "The policy, with `signed_by_you`.", body = Object),
        (status = 404, description = "No policy has been published yet."),
    )
)]
async fn current_policy(
    user: ApiUser,
    State(state): State<AppState>,
) -> Result<Response, ApiError> {
    let policy = state
        .store()
        .current_policy(user.0.school)
        .await?
        .ok_or_else(|| ApiError::not_found("A published policy"))?;
    let signed = state.store().signature(user.0.id, policy.id).await?;
    let mut body = policy_json(&policy);
    body["signed_by_you"] = json!(signed.map(|s| s.signed_on));
    Ok(Json(body).into_response())
}

/// `{"full_name": "Jo Bloggs", "position": "Teacher"}`; add `"policy"` (the id or
/// label of the version read) to be refused if a newer one was published since.
#[utoipa::path(
    post,
    path = "/policies/current/signatures",
    tag = "policies",
    summary = "Sign the policy in force as the token's owner",
    request_body = SignInput,
    responses(
        (status = 201, description = "The signature.", body = Object),
        (status = 404, description = "No policy has been published yet, or no version has the id or label sent as `policy`."),
        (status = 409, description = "Already signed (`policy-already-signed`), or a newer version was published since the one sent as `policy` (`policy-superseded`)."),
        (status = 422, description = "A field is missing or wrong, or `agree` is false."),
    )
)]
async fn sign_policy(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignInput>,
) -> Result<Response, ApiError> {
    let signed = kitroom_app::policies::sign(state.app(), &user.0, body).await?;
    let s = &signed.signature;
    Ok((
        StatusCode::CREATED,
        Json(json!({"policy": signed.policy.version_label, "person": user.0.username, "full_name": s.full_name, "position": s.position, "signed_on": s.signed_on, "signed_at": s.signed_at})),
    )
        .into_response())
}

#[utoipa::path(
    get,
    path = "/policies/{id}/signatures",
    tag = "policies",
    summary = "Who has signed a version and who has not: everyone with an active account",
    params(("id" = String, Path, description = "The version's id.")),
    responses(
        (status = 200, description = "`{policy, items, total, signed}`: each person with their `signature` on this version, or `null`.", body = Object),
        (status = 403, description = "Only a manager or admin sees who has signed."),
        (status = 404, description = "No version has that id."),
    )
)]
async fn signatures(
    user: ApiUser,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManagePolicy)?;
    let not_found = || ApiError::not_found("That version of the policy");
    let id = Uuid::parse_str(id.trim()).map_err(|_| not_found())?;
    let policy = state
        .store()
        .policy_by_id(user.0.school, id)
        .await?
        .ok_or_else(not_found)?;
    let people = state.store().signatories(user.0.school, policy.id).await?;
    let items: Vec<Value> = people
        .iter()
        .map(|(p, s)| {
            json!({
                "person": p.username,
                "full_name": p.full_name,
                "kind": p.kind.as_str(),
                "role": p.role.as_str(),
                "signature": s.as_ref().map(|s| json!({
                    "full_name": s.full_name,
                    "position": s.position,
                    "signed_on": s.signed_on,
                    "signed_at": s.signed_at,
                })),
            })
        })
        .collect();
    let signed = people.iter().filter(|(_, s)| s.is_some()).count();
    Ok(Json(json!({
        "policy": {"id": policy.id, "version_label": policy.version_label},
        "total": items.len(),
        "signed": signed,
        "items": items,
    }))
    .into_response())
}
