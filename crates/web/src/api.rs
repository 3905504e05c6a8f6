//! The JSON API, `/api/v1`, for scripts and integrations. Authenticated by personal
//! tokens with their owner's permissions; errors are `application/problem+json`.

use axum::extract::{FromRequest, Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use chrono::NaiveDate;
use kitroom_core::device::{DeviceInput, Pence};
use kitroom_core::person::Permission;
use kitroom_core::{FieldError, Invalid};
use kitroom_store::devices::{Device, DeviceFilter};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list).post(create))
        .route("/devices/{tag}", get(read).patch(update))
        .route("/openapi.json", get(openapi))
        .fallback(|| async { ApiError::not_found("That API endpoint") })
}

/// A JSON body. A body that is not JSON, or not the right shape, gets a problem
/// that says what was wrong with it.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(JsonBody(v)),
            Err(rejection) => Err(ApiError::new(
                rejection.status(),
                "malformed-body",
                rejection.body_text(),
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ListQuery {
    status: String,
    kind: String,
    location: String,
    encryption: String,
    q: String,
    page: Option<i64>,
    per_page: Option<i64>,
}

#[derive(Serialize)]
struct ListBody {
    items: Vec<Value>,
    total: i64,
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

async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    user.require(Permission::ViewRegister)?;
    let Query(q) = query
        .map_err(|e| ApiError::new(StatusCode::BAD_REQUEST, "malformed-query", e.body_text()))?;
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

#[derive(Debug, Default, Deserialize)]
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
#[derive(Debug, Default, Deserialize)]
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

/// The OpenAPI description of this API, kept beside the code in `web/openapi.json`.
async fn openapi() -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        crate::assets::OPENAPI,
    )
        .into_response()
}
