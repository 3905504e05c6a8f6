//! The JSON API for the register: list, read, register and edit devices; change a
//! device's status by hand; charging (what is on charge, one device or a whole
//! location ready); and disposal. Each write is the same command as its page's
//! (`kitroom_app::devices`, `charging`, `disposals`), so the same rules and the
//! same events apply.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kitroom_app::devices::{DeviceInput, Edit, StatusInput};
use kitroom_app::disposals::DisposalInput;
use kitroom_core::device::AssetTag;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::devices::{Device, DeviceFilter, Position};
use kitroom_store::disposals::DisposalRow;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::{list_answer, word, JsonBody, QueryParams};
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The register's, charging's and disposal's operations, each registered with its
/// OpenAPI description (see [`crate::openapi`]).
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(read, update))
        .routes(routes!(change_status))
        .routes(routes!(mark_ready))
        .routes(routes!(disposal, dispose))
        .routes(routes!(transfer))
        .routes(routes!(charging))
        .routes(routes!(mark_location_ready))
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

/// A disposal record as the API shows it.
fn disposal_json(x: &DisposalRow) -> Value {
    json!({
        "device": x.tag,
        "disposed_on": x.disposed_on,
        "method": x.method,
        "authorised_by": x.authorised_by,
        "recipient": x.recipient,
        "recipient_reference": x.recipient_reference,
        "wipe_evidence": x.wipe_evidence,
        "cost_pence": x.cost_pence,
        "purchased_on": x.purchased_on,
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
    /// The `next` of the page before: the devices after it in tag order. The way
    /// to read deep pages, and every device one page after another; empty is the
    /// first page. Not together with `page`.
    #[param(pattern = "^[A-Za-z0-9._/-]*$", max_length = 32)]
    after: String,
    /// A page number, from 1. Kept for scripts written before `after`: a deep page
    /// reads and skips every device before it, so it is slow on a large register
    /// and its devices shift when others are registered earlier in the order.
    #[param(minimum = 1)]
    page: Option<i64>,
    #[param(minimum = 1, maximum = 200)]
    per_page: Option<i64>,
}

fn device_statuses() -> utoipa::openapi::Object {
    use kitroom_core::device::DeviceStatus;
    crate::api_words::filter_words(DeviceStatus::ALL.iter().map(|w| w.as_str()))
}

fn device_kinds() -> utoipa::openapi::Object {
    use kitroom_core::device::DeviceKind;
    crate::api_words::filter_words(DeviceKind::ALL.iter().map(|w| w.as_str()))
}

fn encryption_states() -> utoipa::openapi::Object {
    use kitroom_core::device::EncryptionState;
    crate::api_words::filter_words(EncryptionState::ALL.iter().map(|w| w.as_str()))
}

#[derive(Serialize)]
struct ListBody {
    items: Vec<Value>,
    total: i64,
    /// False when a broad search was counted only to 1,001.
    total_exact: bool,
    /// The page number asked for (1 without `page` or `after`); null with `after`.
    page: Option<i64>,
    per_page: i64,
    /// The cursor of the next page, to send as `after`; null on the last page.
    next: Option<String>,
}

/// The devices in tag order (case ignored), a page at a time, with how many match.
/// To read on, send the answer's `next` as `after` until `next` is null: each
/// page is then found by a seek, however deep, and a device registered meanwhile
/// earlier in the order does not shift the pages still to come. `page` numbers
/// still work but read and skip every device before the page.
#[utoipa::path(
    get,
    path = "/devices",
    tag = "devices",
    summary = "A page of devices and the total",
    params(ListQuery),
    responses(
        (status = 200, description = "The page: `items`, `total`, `total_exact`, `per_page`, `next` (the cursor of the next page, to send as `after`; null at the end) and `page` (the page number; null with `after`).", body = Object),
        (status = 403, description = "This account may not see the register."),
        (status = 422, description = "A filter word, `page`, `per_page` or `after` that cannot be used; `after` with `page`."),
    )
)]
async fn list(
    user: ApiUser,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, ApiError> {
    user.require(Permission::ViewRegister)?;
    let mut invalid = Invalid::new();
    let mut filter = DeviceFilter {
        status: word(&mut invalid, "status", &q.status),
        kind: word(&mut invalid, "kind", &q.kind),
        encryption: word(&mut invalid, "encryption", &q.encryption),
        location: Some(q.location.clone()).filter(|l| !l.trim().is_empty()),
        q: Some(q.q.clone()).filter(|s| !s.trim().is_empty()),
        at: Position::Page(q.page.unwrap_or(1)),
        per_page: q.per_page.unwrap_or(50),
    };
    if q.page.is_some_and(|p| p < 1) {
        invalid.add("page", "page starts at 1.");
    }
    if !q.after.is_empty() {
        match AssetTag::parse(&q.after) {
            Ok(tag) if tag.as_str() == q.after && q.page.is_none() => {
                filter.at = Position::After(q.after.clone());
            }
            Ok(tag) if tag.as_str() == q.after => {
                invalid.add("after", "Send after or page, not both: after is the next page's cursor, page a page number.");
            }
            _ => invalid.add("after", "after must be the next cursor of an earlier page (an asset tag: up to 32 letters, digits and - _ . /)."),
        }
    }
    if !(1..=200).contains(&filter.per_page) {
        invalid.add("per_page", "per_page must be between 1 and 200.");
    }
    invalid.clone().into_result().map_err(ApiError::invalid)?;
    let page = state.store().list_devices(user.0.school, &filter).await?;
    let next = page
        .items
        .last()
        .filter(|_| page.has_next)
        .map(|d| d.details.tag.to_string());
    Ok(Json(ListBody {
        items: page.items.iter().map(device_json).collect(),
        total: page.total,
        total_exact: page.total_exact,
        page: q.after.is_empty().then(|| q.page.unwrap_or(1)),
        per_page: filter.per_page,
        next,
    })
    .into_response())
}

/// `school`'s device with this tag, or a 404 naming it.
pub(crate) async fn find(
    state: &AppState,
    school: SchoolId,
    tag: &str,
) -> Result<Device, ApiError> {
    state
        .store()
        .device_by_tag(school, tag)
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
    Ok(Json(device_json(&find(&state, user.0.school, &tag).await?)).into_response())
}

/// Registers a device: the register form's command. 201 with the device; a tag
/// already in use is a 409 naming it.
#[utoipa::path(
    post,
    path = "/devices",
    tag = "devices",
    summary = "Register a device (manager or admin); it needs `tag`, `kind` and `location`",
    request_body = DeviceInput,
    responses(
        (status = 201, description = "Registered; Location names the new device.", body = Object),
        (status = 403, description = "Only a manager or admin may register devices."),
        (status = 409, description = "A device already has that tag."),
    )
)]
async fn create(
    user: ApiUser,
    State(state): State<AppState>,
    JsonBody(body): JsonBody<DeviceInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let device = kitroom_app::devices::register(state.app(), &user.0, body).await?;
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

/// Edits a device: only the fields sent change (`null` clears one).
#[utoipa::path(
    patch,
    path = "/devices/{tag}",
    tag = "devices",
    summary = "Change some of a device's details (manager or admin); fields not sent are kept, `null` clears a nullable one",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = DeviceInput,
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
    JsonBody(body): JsonBody<DeviceInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    find(&state, user.0.school, &tag).await?;
    let device = kitroom_app::devices::edit(state.app(), &user.0, &tag, body, Edit::Patch).await?;
    Ok(Json(device_json(&device)).into_response())
}

/// `{change, note}`: a status change by hand (`send_to_repair`,
/// `back_from_repair`, `report_lost`, `found`, `mark_ready`). 409 when the status
/// machine does not allow it from where the device is.
#[utoipa::path(
    post,
    path = "/devices/{tag}/status",
    tag = "devices",
    summary = "Change a device's status by hand: to repair, back from repair, lost, found, ready (manager or admin)",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = StatusInput,
    responses(
        (status = 200, description = "The device after the change.", body = Object),
        (status = 403, description = "Only a manager or admin may change a device's status."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "That change is not possible from the device's status now."),
    )
)]
async fn change_status(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<StatusInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::ManageRegister)?;
    let device = kitroom_app::devices::change_status(state.app(), &user.0, &tag, body).await?;
    Ok(Json(device_json(&device)).into_response())
}

/// Marks one device on charge ready to lend.
#[utoipa::path(
    post,
    path = "/devices/{tag}/ready",
    tag = "charging",
    summary = "Mark one device on charge ready to lend",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    responses(
        (status = 200, description = "The device, now available.", body = Object),
        (status = 403, description = "Only those who lend to anyone mark devices ready."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "The device is not on charge."),
    )
)]
async fn mark_ready(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::LendToAnyone)?;
    let device = kitroom_app::charging::mark_ready(state.app(), &user.0, &tag).await?;
    Ok(Json(device_json(&device)).into_response())
}

/// What is on charge: `{items, total}`, each device with the minutes its kind
/// charges for.
#[utoipa::path(
    get,
    path = "/charging",
    tag = "charging",
    summary = "The devices on charge, each with the minutes its kind charges for",
    responses(
        (status = 200, description = "`{items, total}`; each item a device with `charge_minutes`.", body = Object),
        (status = 403, description = "Only those who lend to anyone see what is on charge."),
    )
)]
async fn charging(user: ApiUser, State(state): State<AppState>) -> Result<Response, ApiError> {
    user.require(Permission::LendToAnyone)?;
    let c = kitroom_app::charging::on_charge(state.app(), &user.0).await?;
    Ok(list_answer(c.devices.iter().map(|d| {
        let mut v = device_json(d);
        v["charge_minutes"] = json!(c.minutes_for(d));
        v
    })))
}

/// Marks ready every device on charge whose home is this location (its id or its
/// name): `{location, devices, total}`.
#[utoipa::path(
    post,
    path = "/charging/{location}/ready",
    tag = "charging",
    summary = "Mark ready every device on charge whose home is this location",
    params(("location" = String, Path, description = "The location's id, or its name in any case.")),
    responses(
        (status = 200, description = "`{location, devices, total}`: the tags marked ready.", body = Object),
        (status = 403, description = "Only those who lend to anyone mark devices ready."),
        (status = 404, description = "No location has that id or name."),
    )
)]
async fn mark_location_ready(
    user: ApiUser,
    State(state): State<AppState>,
    Path(location): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::LendToAnyone)?;
    let done = kitroom_app::charging::mark_location_ready(state.app(), &user.0, &location).await?;
    Ok(Json(json!({
        "location": done.location,
        "total": done.devices.len(),
        "devices": done.devices,
    }))
    .into_response())
}

/// A device's disposal record; 404 when it has not been disposed of.
#[utoipa::path(
    get,
    path = "/devices/{tag}/disposal",
    tag = "devices",
    summary = "A device's disposal record",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    responses(
        (status = 200, description = "The disposal record.", body = Object),
        (status = 403, description = "This account may not see the register."),
        (status = 404, description = "No device has that tag, or it has not been disposed of."),
    )
)]
async fn disposal(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ViewRegister)?;
    let device = find(&state, user.0.school, &tag).await?;
    let record = state
        .store()
        .disposal_of(device.id)
        .await?
        .ok_or_else(|| ApiError::not_found(&format!("A disposal of {tag}")))?;
    Ok(Json(disposal_json(&record)).into_response())
}

/// `{authorised_by, disposed_on, method, recipient, recipient_reference,
/// wipe_evidence}`: retires the device with its disposal record. 422 without wipe
/// evidence for a device that may hold personal data; 409 when it cannot be
/// retired from where it is (on loan, already retired).
#[utoipa::path(
    post,
    path = "/devices/{tag}/disposal",
    tag = "devices",
    summary = "Retire a device with its disposal record",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = DisposalInput,
    responses(
        (status = 201, description = "`{device, disposal}`: the retired device and its record.", body = Object),
        (status = 403, description = "Only those who may dispose of devices."),
        (status = 404, description = "No device has that tag."),
        (status = 409, description = "It cannot be retired from where it is (on loan, already retired)."),
        (status = 422, description = "A field is missing or wrong, or wipe evidence is missing for a device that may hold personal data."),
    )
)]
async fn dispose(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<DisposalInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::Dispose)?;
    let done = kitroom_app::disposals::dispose(state.app(), &user.0, &tag, body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "device": device_json(&done.device),
            "disposal": done.record.as_ref().map(disposal_json),
        })),
    )
        .into_response())
}

/// `{school}`: moves the device to another school of the trust, at that school's
/// return room, recorded in both schools' activity logs and told to both schools'
/// managers. For the trust's own staff.
#[utoipa::path(
    post,
    path = "/devices/{tag}/transfer",
    tag = "devices",
    summary = "Move a device to another school of the trust",
    params(("tag" = String, Path, description = "The asset tag, in any case.")),
    request_body = kitroom_app::transfers::TransferInput,
    responses(
        (status = 200, description = "`{device, school}`: the device as it is now, and the short name of its new school.", body = Object),
        (status = 403, description = "Only the trust's IT administrator and business manager."),
        (status = 404, description = "No device of this school has that tag."),
        (status = 409, description = "Something is still open about it here (a loan, a set, bookings), it is lost or retired, or the other school uses its tag."),
        (status = 422, description = "No school has that short name, or it is at that school already."),
    )
)]
async fn transfer(
    user: ApiUser,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    JsonBody(body): JsonBody<kitroom_app::transfers::TransferInput>,
) -> Result<Response, ApiError> {
    user.require(Permission::TransferDevice)?;
    let done = kitroom_app::transfers::transfer(state.app(), &user.0, &tag, body).await?;
    Ok(Json(json!({
        "device": device_json(&done.device),
        "school": done.to.slug,
    }))
    .into_response())
}
