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
use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::device::{DeviceInput, Pence};
use kitroom_core::incident::ReportInput;
use kitroom_core::person::Permission;
use kitroom_core::policy::{PolicyInput, SignatureInput};
use kitroom_core::{FieldError, Invalid};
use kitroom_store::devices::{Device, DeviceFilter};
use kitroom_store::incidents::{Incident, IncidentFilter};
use kitroom_store::loans::{Loan, LoanFilter};
use kitroom_store::policies::Policy;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The API's device, loan, incident, people, policy and event operations, each
/// registered with its OpenAPI description (see [`crate::openapi`]).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update))
        .routes(routes!(check_out))
        .routes(routes!(return_device))
        .routes(routes!(loans))
        .routes(routes!(report_incident))
        .routes(routes!(incidents))
        .routes(routes!(find_people))
        .routes(routes!(person_history))
        .routes(routes!(publish_policy))
        .routes(routes!(current_policy))
        .routes(routes!(sign_policy))
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

/// A device as the API shows it.
pub fn device_json(d: &Device) -> Value {
    let x = &d.details;
    json!({
        "tag": x.tag,
        "kind": x.kind,
        "make": x.make,
        "model": x.model,
        "serial": x.serial,
        "location": x.location,
        "status": d.status,
        "condition": x.condition,
        "purchased_on": x.purchased_on,
        "cost_pence": x.cost.map(|c| c.0),
        "supplier": x.supplier,
        "warranty_until": x.warranty_until,
        "notes": x.notes,
        "encryption": {
            "state": x.encryption.state,
            "method": x.encryption.method,
            "verified_on": x.encryption.verified_on,
            "verified_by": d.encryption_verified_by,
        },
        "passcode_enforced": x.passcode_enforced,
        "holds_personal_data": x.holds_personal_data,
        "captures_images": x.captures_images,
        "last_audited_on": d.last_audited_on,
    })
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Without it, retired devices are left out.
    #[param(schema_with = device_statuses)]
    status: String,
    #[param(schema_with = device_kinds)]
    kind: String,
    /// A location's name.
    location: String,
    #[param(schema_with = encryption_states)]
    encryption: String,
    /// Matches tag, serial number, make or model.
    q: String,
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

fn device_statuses() -> utoipa::openapi::Object {
    use kitroom_core::device::DeviceStatus;
    crate::openapi::filter_words(DeviceStatus::ALL.iter().map(|w| w.as_str()))
}

fn device_kinds() -> utoipa::openapi::Object {
    use kitroom_core::device::DeviceKind;
    crate::openapi::filter_words(DeviceKind::ALL.iter().map(|w| w.as_str()))
}

fn encryption_states() -> utoipa::openapi::Object {
    use kitroom_core::device::EncryptionState;
    crate::openapi::filter_words(EncryptionState::ALL.iter().map(|w| w.as_str()))
}

fn incident_statuses() -> utoipa::openapi::Object {
    use kitroom_core::incident::IncidentStatus;
    crate::openapi::filter_words(IncidentStatus::ALL.iter().map(|w| w.as_str()))
}

#[derive(Serialize)]
struct ListBody {
    items: Vec<Value>,
    total: i64,
    /// False when a broad search was counted only to 1,001.
    total_exact: bool,
    page: i64,
    per_page: i64,
}

fn word<T: std::str::FromStr<Err = String>>(
    invalid: &mut Invalid,
    field: &'static str,
    s: &str,
) -> Option<T> {
    if s.trim().is_empty() {
        None
    } else {
        invalid.check(field, s.parse())
    }
}

#[utoipa::path(
    get,
    path = "/devices",
    tag = "devices",
    summary = "A page of devices and the total",
    params(ListQuery),
responses(
        (status = 200, description = "The page: `items`, `total`, `total_exact`, `page`, `per_page`.", body = Object),
        (status = 403, description = "This account may not see the register."),
    )
)]
async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    user.require(Permission::ViewRegister)?;
    let mut invalid = Invalid::new();
    let filter = DeviceFilter {
        status: word(&mut invalid, "status", &q.status),
        kind: word(&mut invalid, "kind", &q.kind),
        encryption: word(&mut invalid, "encryption", &q.encryption),
        location: Some(q.location.clone()).filter(|l| !l.trim().is_empty()),
        q: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        page: q.page.unwrap_or(1),
        per_page: q.per_page.unwrap_or(50),
    };
    if filter.page < 1 {
        invalid.add("page", "page starts at 1.");
    }
    if !(1..=200).contains(&filter.per_page) {
        invalid.add("per_page", "per_page must be between 1 and 200.");
    }
    invalid.clone().into_result().map_err(ApiError::invalid)?;
    let page = state.store().list_devices(&filter).await?;
    Ok(Json(ListBody {
        items: page.items.iter().map(device_json).collect(),
        total: page.total,
        total_exact: page.total_exact,
        page: filter.page,
        per_page: filter.per_page,
    })
    .into_response())
}

async fn find(state: &AppState, tag: &str) -> Result<Device, ApiError> {
    state
        .store()
        .device_by_tag(tag)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("A device with tag {tag}")))
}

#[utoipa::path(
    get,
    path = "/devices/{tag}",
    tag = "devices",
    summary = "One device",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
responses(
        (status = 200, description = "The device.", body = Object),
        (status = 403, description = "This account may not see the register."),
        (status = 404, description = "No device has that tag."),
    )
)]
async fn read(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ViewRegister)?;
    Ok(Json(device_json(&find(&state, &tag).await?)).into_response())
}

/// `Some(None)` for an explicit `null`, `None` for a missing field: PATCH clears a
/// field only when asked to.
fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct EncryptionBody {
    state: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    method: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    verified_on: Option<Option<NaiveDate>>,
}

/// A device's fields in a POST or PATCH body. Every field is optional here; a POST
/// then needs what the register needs (`tag`, `kind`, `location`).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DeviceBody {
    tag: Option<String>,
    kind: Option<String>,
    make: Option<String>,
    model: Option<String>,
    serial: Option<String>,
    location: Option<String>,
    condition: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    purchased_on: Option<Option<NaiveDate>>,
    #[serde(default, deserialize_with = "nullable")]
    cost_pence: Option<Option<i64>>,
    supplier: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    warranty_until: Option<Option<NaiveDate>>,
    notes: Option<String>,
    encryption: Option<EncryptionBody>,
    passcode_enforced: Option<bool>,
    holds_personal_data: Option<bool>,
    captures_images: Option<bool>,
}

impl DeviceBody {
    /// Lays the fields that were sent over `base`.
    fn apply(self, mut base: DeviceInput) -> Result<DeviceInput, Invalid> {
        let date = |d: Option<NaiveDate>| d.map(|d| d.to_string()).unwrap_or_default();
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { base.$f = v; } )* };
        }
        set!(
            tag,
            kind,
            make,
            model,
            serial,
            location,
            condition,
            supplier,
            notes,
            passcode_enforced,
            holds_personal_data,
            captures_images
        );
        if let Some(d) = self.purchased_on {
            base.purchased_on = date(d);
        }
        if let Some(d) = self.warranty_until {
            base.warranty_until = date(d);
        }
        if let Some(c) = self.cost_pence {
            base.cost = match c {
                Some(p) if p < 0 => {
                    return Err(Invalid::one("cost", "cost_pence must be zero or more."))
                }
                Some(p) => Pence(p).to_string(),
                None => String::new(),
            };
        }
        if let Some(e) = self.encryption {
            if let Some(s) = e.state {
                base.encryption_state = s;
            }
            if let Some(m) = e.method {
                base.encryption_method = m.unwrap_or_default();
            }
            if let Some(v) = e.verified_on {
                base.encryption_verified_on = date(v);
            }
        }
        Ok(base)
    }
}

/// Names the core's form fields as the API's JSON fields.
fn api_field(field: &'static str) -> &'static str {
    match field {
        "cost" => "cost_pence",
        "encryption_state" => "encryption.state",
        "encryption_method" => "encryption.method",
        "encryption_verified_on" => "encryption.verified_on",
        other => other,
    }
}

fn api_invalid(invalid: Invalid) -> Invalid {
    Invalid(
        invalid
            .0
            .into_iter()
            .map(|e| FieldError {
                field: api_field(e.field),
                message: e.message,
            })
            .collect(),
    )
}

#[utoipa::path(
    post,
    path = "/devices",
    tag = "devices",
    summary = "Register a device (manager or admin); a POST needs `tag`, `kind` and `location`",
    request_body = DeviceBody,
responses(
        (status = 201, description = "Registered; Location names the new device.", body = Object),
        (status = 403, description = "Only a manager or admin may register devices."),
        (status = 409, description = "A device already has that tag."),
    )
)]
async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<DeviceBody>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let input = body
        .apply(DeviceInput::default())
        .map_err(|e| ApiError::invalid(api_invalid(e)))?;
    let details = input
        .parse(crate::time::today())
        .map_err(|e| ApiError::invalid(api_invalid(e)))?;
    let device = state.store().create_device(user.0.actor(), details).await?;
    let location = format!(
        "/api/v1/devices/{}",
        crate::views::url_encode(device.details.tag.as_str())
    );
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(device_json(&device)),
    )
        .into_response())
}

#[utoipa::path(
    patch,
    path = "/devices/{tag}",
    tag = "devices",
    summary = "Change some of a device's details (manager or admin); fields not sent are kept, `null` clears a nullable one",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = DeviceBody,
responses(
        (status = 200, description = "The device after the change.", body = Object),
        (status = 403, description = "Only a manager or admin may edit devices."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "Another device already has the new tag."),
    )
)]
async fn update(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<DeviceBody>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let device = find(&state, &tag).await?;
    let input = body
        .apply(DeviceInput::from(&device.details))
        .map_err(|e| ApiError::invalid(api_invalid(e)))?;
    let details = input
        .parse(crate::time::today())
        .map_err(|e| ApiError::invalid(api_invalid(e)))?;
    let device = state
        .store()
        .update_device(user.0.actor(), device.id, details)
        .await?;
    Ok(Json(device_json(&device)).into_response())
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
        .map(|l| {
            let mut v = loan_json(l);
            v["accessories"] = lent
                .get(&l.id)
                .map(|a| lent_json(a))
                .unwrap_or_else(|| json!([]));
            v
        })
        .collect())
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
    let body = loans_json(&state, std::slice::from_ref(&out.loan)).await?;
    Ok((StatusCode::CREATED, Json(&body[0])).into_response())
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
        (status = 422, description = "A return rule refused it (an unanswered return checklist question is `checklist-unanswered`), or a field was wrong."),
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
    let mut body = loans_json(&state, std::slice::from_ref(&returned.loan)).await?;
    if let Some(incident) = &returned.incident {
        body[0]["damage_report"] = json!(incident.id);
    }
    Ok(Json(&body[0]).into_response())
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
                .person_by_username(name)
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
    let loans = state.store().list_loans(&filter).await?;
    let items: Vec<Value> = loans_json(&state, &loans).await?;
    Ok(Json(json!({"items": items, "total": items.len()})).into_response())
}

/// A new version of the policy, as typed: checked as the page's form is.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(default)]
struct PolicyBody {
    title: String,
    version_label: String,
    /// A date, such as `2026-09-01`.
    issued_on: String,
    /// Markdown.
    body: String,
}

fn policy_json(p: &Policy) -> Value {
    json!({"id": p.id, "title": p.title, "version_label": p.version_label, "issued_on": p.issued_on, "body": p.body, "published_at": p.published_at})
}

#[utoipa::path(
    post,
    path = "/policies",
    tag = "policies",
    summary = "Publish a new version of the acceptable-use policy (manager or admin); it becomes current",
    request_body = PolicyBody,
responses(
        (status = 201, description = "The published version.", body = Object),
        (status = 403, description = "Only a manager or admin may publish the policy."),
        (status = 409, description = "That version cannot be published now."),
    )
)]
async fn publish_policy(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<PolicyBody>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManagePolicy)?;
    let input = PolicyInput {
        title: body.title,
        version_label: body.version_label,
        issued_on: body.issued_on,
        body: body.body,
    };
    let details = input.parse().map_err(ApiError::invalid)?;
    let policy = state
        .store()
        .publish_policy(user.0.actor(), details)
        .await?;
    Ok((StatusCode::CREATED, Json(policy_json(&policy))).into_response())
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
        .current_policy()
        .await?
        .ok_or_else(|| ApiError::not_found("A published policy"))?;
    let signed = state.store().signature(user.0.id, policy.id).await?;
    let mut body = policy_json(&policy);
    body["signed_by_you"] = json!(signed.map(|s| s.signed_on));
    Ok(Json(body).into_response())
}

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SignBody {
    #[serde(default)]
    full_name: String,
    #[serde(default)]
    position: String,
}

#[utoipa::path(
    post,
    path = "/policies/current/signatures",
    tag = "policies",
    summary = "Sign the policy in force as the token's owner",
    request_body = SignBody,
responses(
        (status = 201, description = "The signature.", body = Object),
        (status = 404, description = "No policy has been published yet."),
        (status = 409, description = "It cannot be signed now (for example, already signed)."),
    )
)]
async fn sign_policy(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<SignBody>,
) -> Result<Response, ApiError> {
    let input = SignatureInput {
        full_name: body.full_name,
        position: body.position,
        agree: true,
    };
    let details = input.parse(false).map_err(ApiError::invalid)?;
    let policy = state
        .store()
        .current_policy()
        .await?
        .ok_or_else(|| ApiError::not_found("A published policy"))?;
    let s = state
        .store()
        .sign_policy(&user.0, policy.id, details, crate::time::today())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"policy": policy.version_label, "person": user.0.username, "full_name": s.full_name, "position": s.position, "signed_on": s.signed_on, "signed_at": s.signed_at})),
    )
        .into_response())
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
        .events_after(q.after.max(0), q.limit.unwrap_or(500).clamp(1, 1000))
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

#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct IncidentBody {
    #[serde(default)]
    kind: String,
    /// RFC 3339; now when missing.
    occurred_at: Option<DateTime<Utc>>,
    #[serde(default)]
    place: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    police_reference: Option<String>,
}

#[utoipa::path(
    post,
    path = "/devices/{tag}/incidents",
    tag = "incidents",
    summary = "Report damage, loss or theft of a device",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = IncidentBody,
responses(
        (status = 201, description = "The incident, with its breach assessment.", body = Object),
        (status = 403, description = "This account may not report incidents."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "The incident cannot be recorded in the device's current state."),
    )
)]
async fn report_incident(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<IncidentBody>,
) -> Result<Response, ApiError> {
    user.require(Permission::Report)?;
    let device = find(&state, &tag).await?;
    let now = Utc::now();
    let at = body.occurred_at.unwrap_or(now);
    if at > now + chrono::Duration::minutes(5) {
        return Err(ApiError::invalid(Invalid::one(
            "occurred_at",
            "It cannot have happened in the future.",
        )));
    }
    let london = at.with_timezone(&chrono_tz::Europe::London);
    let input = ReportInput {
        kind: body.kind,
        occurred_on: london.date_naive().to_string(),
        occurred_time: london.format("%H:%M").to_string(),
        place: body.place,
        description: body.description,
        police_reference: body.police_reference.unwrap_or_default(),
    };
    let details = input.parse(now).map_err(ApiError::invalid)?;
    let incident = state
        .store()
        .report_incident(&user.0, device.id, details, state.email_link_base())
        .await?;
    state.wake_mailer();
    Ok((StatusCode::CREATED, Json(incident_json(&incident))).into_response())
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
    let items: Vec<Value> = state
        .store()
        .list_incidents(&filter)
        .await?
        .iter()
        .map(incident_json)
        .collect();
    Ok(Json(json!({"items": items, "total": items.len()})).into_response())
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct PeopleQuery {
    q: Option<String>,
}

#[utoipa::path(
    get,
    path = "/people",
    tag = "people",
    summary = "Find people to lend to by part of a username, full name or email (managers and admins)",
    params(PeopleQuery),
responses(
        (status = 200, description = "`items` (username, full name, kind) and `total`.", body = Object),
        (status = 403, description = "Only those who may lend to anyone may search people."),
    )
)]
/// A name search for "lend to": active people whose username, full name or email
/// contains `q`, at most [`crate::lend_to::SEARCH_LIMIT`], each as username, full
/// name and kind. Only for those who may lend to others.
async fn find_people(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<PeopleQuery>,
) -> Result<Response, ApiError> {
    user.require(Permission::LendToAnyone)?;
    let people = crate::lend_to::search(&state, q.q.as_deref().unwrap_or_default()).await?;
    Ok(Json(crate::lend_to::search_json(&people)).into_response())
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
        .person_by_username(&username)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("A person called {username}")))?;
    if person.id != user.0.id && !user.0.role.may(Permission::ViewReports) {
        return Err(ApiError::forbidden());
    }
    let record = state.store().person_record(&person).await?;
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
