//! The JSON API, `/api/v1`, for scripts and integrations. Authenticated by personal
//! tokens with their owner's permissions; errors are `application/problem+json`.
//! Each handler carries `#[utoipa::path]` and is registered with `routes!`, which
//! puts it in the OpenAPI document ([`crate::openapi`]); read bodies with
//! [`JsonBody`] or [`OptionalJsonBody`] and queries with [`QueryParams`], so every
//! route answers the same mistake the same way.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request, State};
use axum::http::{header, request::Parts, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use chrono::Utc;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::incidents::{Incident, IncidentFilter};
use kitroom_store::loans::{Loan, LoanFilter};
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The API's loan, incident, people, policy and event operations, each registered
/// with its OpenAPI description (see [`crate::openapi`]); the register's are in
/// [`crate::api_devices`].
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(check_out))
        .routes(routes!(return_device))
        .routes(routes!(loans))
        .routes(routes!(incidents))
        .routes(routes!(person_history))
        .routes(routes!(events))
}

/// A JSON body. A body not sent as JSON gets 415, one that is not JSON 400, and
/// JSON of the wrong shape (an unknown field, a missing one, a wrong type) 422: the
/// same mistake gets the same answer on every route, as a problem that says what
/// was wrong.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(body_rejection(rejection)),
        }
    }
}

/// The problem for a body that could not be read as the JSON asked for.
fn body_rejection(rejection: JsonRejection) -> ApiError {
    let kind = match &rejection {
        JsonRejection::MissingJsonContentType(_) => "unsupported-media-type",
        JsonRejection::JsonDataError(_) => "invalid-body",
        _ => "malformed-body",
    };
    ApiError::new(rejection.status(), kind, rejection.body_text())
}

/// A JSON body that may be left out: an empty body (or only white space) reads as
/// `T::default()`; anything else is read as [`JsonBody`] reads it.
pub struct OptionalJsonBody<T>(pub T);

impl<T: DeserializeOwned + Default, S: Send + Sync> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = sent_as_json(req.headers());
        let bytes = axum::body::Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "malformed-body", e.body_text()))?;
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Ok(OptionalJsonBody(T::default()));
        }
        if !is_json {
            return Err(body_rejection(JsonRejection::MissingJsonContentType(
                Default::default(),
            )));
        }
        Json::<T>::from_bytes(&bytes)
            .map(|Json(v)| OptionalJsonBody(v))
            .map_err(body_rejection)
    }
}

/// `Content-Type: application/json`, or another JSON type such as
/// `application/merge-patch+json`, as axum's `Json` accepts.
fn sent_as_json(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = ct.split(';').next().unwrap_or_default().trim();
    let essence = essence.to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Query parameters. Parameters that cannot be read as the types asked for (a
/// page number that is not a number) get 422, as a value refused by a rule does.
pub struct QueryParams<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(QueryParams(v)),
            Err(e) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid-query",
                e.body_text(),
            )),
        }
    }
}

fn incident_statuses() -> utoipa::openapi::Object {
    use kitroom_core::incident::IncidentStatus;
    crate::api_words::filter_words(IncidentStatus::ALL.iter().map(|w| w.as_str()))
}

/// The filter words of a list's query string: empty is no filter, a wrong word
/// (white space too: it is not empty, as the document's list of words says) is
/// refused under its field.
pub(crate) fn word<T: std::str::FromStr<Err = String>>(
    invalid: &mut Invalid,
    field: &'static str,
    s: &str,
) -> Option<T> {
    if s.is_empty() {
        None
    } else {
        invalid.check(field, s.parse())
    }
}

/// A list as the API answers it: `{items, total}`.
pub(crate) fn list_answer(items: impl IntoIterator<Item = Value>) -> Response {
    let items: Vec<Value> = items.into_iter().collect();
    Json(json!({"total": items.len(), "items": items})).into_response()
}

/// 201 Created, with what was created as the body.
pub(crate) fn created(body: impl serde::Serialize) -> Response {
    (StatusCode::CREATED, Json(body)).into_response()
}

/// Accessories lent with a loan or a set's loan, as the API shows them.
pub(crate) fn lent_json(lent: &[kitroom_store::accessories::Lent]) -> Value {
    lent.iter()
        .map(|a| json!({"name": a.name, "from": a.location, "out": a.count_out, "back": a.count_back}))
        .collect()
}

/// Loans as the API shows them, each with the accessories lent with it.
pub(crate) async fn loans_json(state: &AppState, loans: &[Loan]) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<_> = loans.iter().map(|l| l.id).collect();
    let lent = state.store().accessories_of_loans(&ids).await?;
    Ok(loans
        .iter()
        .map(|l| loan_with(l, lent.get(&l.id).map_or(&[], Vec::as_slice)))
        .collect())
}

/// A loan as the API shows it, with the accessories lent with it.
pub(crate) fn loan_with(loan: &Loan, lent: &[kitroom_store::accessories::Lent]) -> Value {
    let mut v = loan_json(loan);
    v["accessories"] = lent_json(lent);
    v
}

/// A loan as the API shows it.
pub fn loan_json(l: &Loan) -> Value {
    json!({
        "id": l.id,
        "device": l.device_tag,
        "borrower": l.borrower,
        "issued_by": l.issued_by,
        "out_at": l.out_at,
        "due_at": l.due_at,
        "purpose": l.purpose,
        "off_site": l.off_site,
        "head_authorised": l.authorised,
        "returned_at": l.returned_at,
        "outcome": l.outcome,
        "location": l.return_location,
        "received_by": l.received_by,
        "condition": l.return_condition,
        "battery_percent": l.battery_percent,
        "on_charge": l.on_charge,
        "images_cleared": l.images_cleared,
        "due_moved_from": l.due_moved_from,
        "due_moved_reason": l.due_moved_reason,
        "set_loan": l.group_id,
        "missing_on_return": l.missing_on_return,
    })
}

#[utoipa::path(
    post,
    path = "/devices/{tag}/checkout",
    tag = "loans",
    summary = "Check a device out, under the check-out rules, with any accessories",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = kitroom_app::loans::CheckOutInput,
responses(
        (status = 201, description = "The loan, with its `accessories`.", body = Object),
        (status = 403, description = "This account may not borrow, or may not lend to someone else."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "The device is not available, or too few of an accessory are left."),
        (status = 422, description = "A check-out rule refused it (its rule is the problem's `type`, such as `policy-not-signed`), or a field was wrong."),
    )
)]
async fn check_out(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::loans::CheckOutInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let out = kitroom_app::loans::check_out(state.app(), &user.0, &tag, body).await?;
    Ok(created(loan_with(&out.loan, &out.accessories)))
}

/// A return applies the same return checklist and accessory counts as the page's.
#[utoipa::path(
    post,
    path = "/devices/{tag}/return",
    tag = "loans",
    summary = "Return a device",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = kitroom_app::loans::ReturnInput,
responses(
        (status = 200, description = "The loan, returned.", body = Object),
        (status = 403, description = "The loan is someone else's and this account may not return it."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "The device is not on loan."),
        (status = 422, description = "Every problem at once, each in `errors` with its `field` (`battery_percent`, `on_charge`, `images_cleared`, `checklist.0`, …). The `type` is the rule's own when all are the same rule (unanswered checklist questions alone are `checklist-unanswered`), `validation` otherwise."),
    )
)]
async fn return_device(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::loans::ReturnInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Borrow)?;
    let returned = kitroom_app::loans::return_device(state.app(), &user.0, &tag, body).await?;
    let mut body = loan_with(&returned.loan, &returned.accessories);
    if let Some(incident) = &returned.incident {
        body["damage_report"] = json!(incident.id);
    }
    Ok(Json(body).into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct LoansQuery {
    open: Option<bool>,
    overdue: Option<bool>,
    borrower: Option<String>,
}

#[utoipa::path(
    get,
    path = "/loans",
    tag = "loans",
    summary = "Loans: everyone's for those who see all loans, one's own otherwise",
    params(LoansQuery),
responses(
        (status = 200, description = "`items` and `total`.", body = Object),
        (status = 403, description = "Only those who see all loans may name another borrower."),
    )
)]
async fn loans(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<LoansQuery>,
) -> Result<Response, ApiError> {
    let mut filter = LoanFilter {
        open: q.open.unwrap_or(false),
        limit: 1000,
        ..Default::default()
    };
    if q.overdue.unwrap_or(false) {
        filter.overdue_at = Some(Utc::now());
    }
    // Someone who sees only their own loans is refused another name before it is
    // looked up, so the answer is the same whether that username exists or not.
    let sees_all = user.0.role.may(Permission::ViewAllLoans);
    // An empty name filters nothing, as an empty filter does on every list.
    let q = LoansQuery {
        borrower: q.borrower.filter(|b| !b.trim().is_empty()),
        ..q
    };
    if let Some(name) = q.borrower.as_deref() {
        if !sees_all && !name.trim().eq_ignore_ascii_case(&user.0.username) {
            return Err(ApiError::forbidden());
        }
    }
    let borrower = match q.borrower.as_deref() {
        Some(name) => Some(
            state
                .store()
                .person_by_username(user.0.school, name)
                .await?
                .ok_or_else(|| {
                    ApiError::invalid(Invalid::one(
                        "borrower",
                        format!("Nobody has the username “{name}”."),
                    ))
                })?,
        ),
        None => None,
    };
    if !sees_all {
        // A borrower sees their own loans only.
        filter.borrower = Some(user.0.id);
    } else {
        filter.borrower = borrower.map(|b| b.id);
    }
    let loans = state.store().list_loans(user.0.school, &filter).await?;
    Ok(list_answer(loans_json(&state, &loans).await?))
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct EventsQuery {
    after: i64,
    limit: Option<i64>,
}

#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    summary = "The activity log in order, from just after `after`: poll with the last `seq`",
    params(EventsQuery),
responses(
        (status = 200, description = "`items` and `next_after`.", body = Object),
        (status = 403, description = "Only those who may read the log."),
    )
)]
/// The activity log in order, from just after `after`: poll with the last `seq`.
async fn events(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<EventsQuery>,
) -> Result<Response, ApiError> {
    user.require(Permission::ReadLog)?;
    let items = state
        .store()
        .events_after(
            user.0.school,
            q.after.max(0),
            q.limit.unwrap_or(500).clamp(1, 1000),
        )
        .await?;
    let next = items.last().map(|e| e.seq).unwrap_or(q.after);
    let items: Vec<Value> = items
        .iter()
        .map(|e| json!({"seq": e.seq, "at": e.at, "actor": e.actor, "action": e.action, "subject": e.subject, "subject_label": e.subject_label, "details": e.details_json()}))
        .collect();
    Ok(Json(json!({"items": items, "next_after": next})).into_response())
}

/// An incident as the API shows it, with its breach assessment.
pub fn incident_json(i: &Incident) -> Value {
    json!({
        "id": i.id,
        "number": i.number,
        "device": i.device_tag,
        "kind": i.kind,
        "status": i.status,
        "reported_by": i.reported_by,
        "reported_at": i.reported_at,
        "occurred_at": i.occurred_at,
        "place": i.place,
        "description": i.description,
        "police_reference": i.police_reference,
        "breach_assessment": {
            "risk": i.risk,
            "reason": i.breach_reason,
            "decide_by": i.decide_by,
            "decision": i.decision.as_ref().map(|d| json!({
                "reportable": d.reportable, "reason": d.reason, "decided_by": d.decided_by, "decided_at": d.decided_at,
            })),
        },
        "resolution": i.resolution,
        "cost_pence": i.cost.map(|c| c.0),
        "claim_reference": i.claim_reference,
        "resolved_at": i.resolved_at,
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct IncidentsQuery {
    #[param(schema_with = incident_statuses)]
    status: String,
}

#[utoipa::path(
    get,
    path = "/incidents",
    tag = "incidents",
    summary = "Incidents: all for those who handle them, one's own reports otherwise; each with its `breach_assessment`",
    params(IncidentsQuery),
responses(
        (status = 200, description = "`items` and `total`.", body = Object),
    )
)]
/// Incidents: all of them for those who handle them, one's own reports otherwise.
async fn incidents(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<IncidentsQuery>,
) -> Result<Response, ApiError> {
    let mut invalid = Invalid::new();
    let status = word(&mut invalid, "status", &q.status);
    invalid.into_result().map_err(ApiError::invalid)?;
    let mut filter = IncidentFilter {
        status,
        limit: 1000,
        ..Default::default()
    };
    if !user.0.role.may(Permission::ViewIncidents) {
        filter.reported_by = Some(user.0.id);
    }
    Ok(list_answer(
        state
            .store()
            .list_incidents(user.0.school, &filter)
            .await?
            .iter()
            .map(incident_json),
    ))
}

#[utoipa::path(
    get,
    path = "/people/{username}/history",
    tag = "people",
    summary = "Everything Kitroom holds on one person (a subject-access request); recorded in the activity log",
    params(("username" = String, Path, description = "The person's username.")),
responses(
        (status = 200, description = "The person's record.", body = Object),
        (status = 403, description = "Only the person themselves, managers, the head and admins may read it."),
        (status = 404, description = "Nobody has that username."),
    )
)]
/// Everything Kitroom holds on one person: for managers, the head and admins, and for
/// the person themselves (a subject-access request). Recorded in the activity log.
async fn person_history(
    user: ApiUser,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, ApiError> {
    // Another person's history is refused before the name is looked up, so the
    // answer does not tell whether that username exists.
    if !username.trim().eq_ignore_ascii_case(&user.0.username)
        && !user.0.role.may(Permission::ViewReports)
    {
        return Err(ApiError::forbidden());
    }
    let person = state
        .store()
        .person_by_username(user.0.school, &username)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("A person called {username}")))?;
    if person.id != user.0.id && !user.0.role.may(Permission::ViewReports) {
        return Err(ApiError::forbidden());
    }
    let record = state
        .store()
        .person_record(
            &person,
            kitroom_app::reports::record_reach(&user.0, &person),
        )
        .await?;
    state
        .store()
        .record_person_export(user.0.actor(), &person, "api")
        .await?;
    let body = crate::reports::export_value(&record).map_err(|_| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "The history could not be written.",
        )
    })?;
    Ok(Json(body).into_response())
}
