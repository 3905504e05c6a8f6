//! The register's pages: the device list with its filters, each device's page with
//! its history, and the forms to register and edit devices.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_core::device::{DeviceInput, StatusChange};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::devices::{Device, DeviceFilter};
use kitroom_store::events::EventFilter;
use kitroom_store::StoreError;
use serde::Deserialize;

use crate::auth::{checkbox, set_flash, Ctx, FormBody, QueryParams};
use crate::paths::ListQuery;
use crate::views::devices as v;
use crate::views::devices::PER_PAGE;
use crate::{AppError, AppState};

// Where the reports still find it.
pub use crate::paths::device_url;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list).post(create))
        .route("/devices/new", get(new_form))
        .route("/devices/{tag}", get(show))
        .route("/devices/{tag}/edit", get(edit_form).post(update))
        .route("/devices/{tag}/status", post(change_status))
        // The address printed on a device's QR label: short, so the code stays small.
        .route(
            "/d/{tag}",
            get(|_: Ctx, Path(tag): Path<String>| async move { Redirect::to(&device_url(&tag)) }),
        )
}

impl ListQuery {
    pub fn filter(&self, per_page: i64) -> DeviceFilter {
        DeviceFilter {
            q: Some(self.q.clone()).filter(|q| !q.trim().is_empty()),
            status: self.status.parse().ok(),
            kind: self.kind.parse().ok(),
            location: Some(self.location.clone()).filter(|l| !l.is_empty()),
            encryption: self.encryption.parse().ok(),
            page: self.page.unwrap_or(1).max(1),
            per_page,
        }
    }

    /// This query string with another page number.
    pub fn with_page(&self, page: i64) -> String {
        let fields = [
            ("q", self.q.as_str()),
            ("status", self.status.as_str()),
            ("kind", self.kind.as_str()),
            ("location", self.location.as_str()),
            ("encryption", self.encryption.as_str()),
        ];
        let mut parts: Vec<(&str, String)> = fields
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| (*k, v.to_string()))
            .collect();
        parts.push(("page", page.to_string()));
        serde_urlencoded::to_string(parts).unwrap_or_default()
    }

    pub fn is_filtered(&self) -> bool {
        !(self.q.is_empty()
            && self.status.is_empty()
            && self.kind.is_empty()
            && self.location.is_empty()
            && self.encryption.is_empty())
    }
}

#[tracing::instrument(skip_all)]
async fn list(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewRegister)?;
    let page = state.store().list_devices(&q.filter(PER_PAGE)).await?;
    let locations = state.store().location_names().await?;
    Ok(v::list(&ctx, &q, &page, &locations).into_response())
}

/// The device form as posted.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DeviceForm {
    tag: String,
    kind: String,
    make: String,
    model: String,
    serial: String,
    location: String,
    condition: String,
    purchased_on: String,
    cost: String,
    supplier: String,
    warranty_until: String,
    notes: String,
    encryption_state: String,
    encryption_method: String,
    encryption_verified_on: String,
    #[serde(deserialize_with = "checkbox")]
    passcode_enforced: bool,
    #[serde(deserialize_with = "checkbox")]
    holds_personal_data: bool,
    #[serde(deserialize_with = "checkbox")]
    captures_images: bool,
}

impl From<DeviceForm> for DeviceInput {
    fn from(f: DeviceForm) -> Self {
        DeviceInput {
            tag: f.tag,
            kind: f.kind,
            make: f.make,
            model: f.model,
            serial: f.serial,
            location: f.location,
            condition: f.condition,
            purchased_on: f.purchased_on,
            cost: f.cost,
            supplier: f.supplier,
            warranty_until: f.warranty_until,
            notes: f.notes,
            encryption_state: f.encryption_state,
            encryption_method: f.encryption_method,
            encryption_verified_on: f.encryption_verified_on,
            passcode_enforced: f.passcode_enforced,
            holds_personal_data: f.holds_personal_data,
            captures_images: f.captures_images,
        }
    }
}

async fn device(state: &AppState, tag: &str) -> Result<Device, AppError> {
    state
        .store()
        .device_by_tag(tag)
        .await?
        .ok_or(AppError::NotFound)
}

async fn form_page(
    ctx: &Ctx,
    state: &AppState,
    editing: Option<&Device>,
    input: &DeviceInput,
    invalid: &Invalid,
) -> Result<Response, AppError> {
    let locations = state.store().location_names().await?;
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((status, v::form(ctx, editing, input, invalid, &locations)).into_response())
}

async fn new_form(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let input = DeviceInput {
        location: "Computer room".into(),
        ..Default::default()
    };
    form_page(&ctx, &state, None, &input, &Invalid::new()).await
}

#[tracing::instrument(skip_all, fields(device.tag = %form.tag))]
async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<DeviceForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let input = DeviceInput::from(form);
    let details = match input.parse(crate::time::today()) {
        Ok(d) => d,
        Err(invalid) => return form_page(&ctx, &state, None, &input, &invalid).await,
    };
    match state.store().create_device(ctx.user.actor(), details).await {
        Ok(d) => {
            set_flash(
                &ctx.session,
                format!("{} is on the register.", d.details.tag),
            )
            .await?;
            Ok(Redirect::to(&device_url(d.details.tag.as_str())).into_response())
        }
        Err(StoreError::Invalid(invalid)) => form_page(&ctx, &state, None, &input, &invalid).await,
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    QueryParams(q): QueryParams<crate::views::lend_to::Prefill>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewRegister)?;
    let device = device(&state, &tag).await?;
    let mut panel = crate::loans::loan_panel(&ctx, &state, &device).await?;
    panel.checkout.borrower = q.borrower;
    render_device(&ctx, &state, &device, panel, StatusCode::OK).await
}

/// A device's page: its details, the loan forms (as typed, with any refusal), and
/// its history.
pub async fn render_device(
    ctx: &Ctx,
    state: &AppState,
    device: &Device,
    panel: crate::views::loans::LoanPanel,
    status: StatusCode,
) -> Result<Response, AppError> {
    let history = state
        .store()
        .list_events(&EventFilter {
            device: Some(device.id),
            limit: 100,
            ..Default::default()
        })
        .await?;
    let loans = if ctx.may(Permission::ViewAllLoans) {
        state
            .store()
            .list_loans(&kitroom_store::loans::LoanFilter {
                device: Some(device.id),
                limit: 20,
                ..Default::default()
            })
            .await?
    } else {
        Vec::new()
    };
    let incidents = if ctx.may(Permission::ViewIncidents) {
        state
            .store()
            .list_incidents(&kitroom_store::incidents::IncidentFilter {
                device: Some(device.id),
                limit: 50,
                ..Default::default()
            })
            .await?
    } else {
        Vec::new()
    };
    let changes = state.store().changes_of_device(device.id).await?;
    let stocktakes = if ctx.may(Permission::Stocktake)
        && device.status != kitroom_core::device::DeviceStatus::Retired
    {
        state
            .store()
            .open_stocktakes_for(&device.details.location)
            .await?
    } else {
        Vec::new()
    };
    let disposal = state.store().disposal_of(device.id).await?;
    let extra = v::DeviceExtras {
        stocktakes: &stocktakes,
        disposal: disposal.as_ref(),
        loans: &loans,
        incidents: &incidents,
        changes: &changes,
    };
    Ok((status, v::show(ctx, device, &panel, &extra, &history)).into_response())
}

async fn edit_form(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let device = device(&state, &tag).await?;
    form_page(
        &ctx,
        &state,
        Some(&device),
        &DeviceInput::from(&device.details),
        &Invalid::new(),
    )
    .await
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn update(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(form): FormBody<DeviceForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let device = device(&state, &tag).await?;
    let input = DeviceInput::from(form);
    let details = match input.parse(crate::time::today()) {
        Ok(d) => d,
        Err(invalid) => return form_page(&ctx, &state, Some(&device), &input, &invalid).await,
    };
    match state
        .store()
        .update_device(ctx.user.actor(), device.id, details)
        .await
    {
        Ok(d) => {
            set_flash(&ctx.session, format!("Changes to {} saved.", d.details.tag)).await?;
            Ok(Redirect::to(&device_url(d.details.tag.as_str())).into_response())
        }
        Err(StoreError::Invalid(invalid)) => {
            form_page(&ctx, &state, Some(&device), &input, &invalid).await
        }
        Err(e) => Err(e.into()),
    }
}

#[derive(Debug, Deserialize, Default)]
#[serde(default)]
struct StatusForm {
    change: String,
    note: String,
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn change_status(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(form): FormBody<StatusForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let device = device(&state, &tag).await?;
    let change: StatusChange = form.change.parse().map_err(AppError::BadRequest)?;
    if !kitroom_core::device::DeviceStatus::ALL
        .iter()
        .any(|s| s.manual_changes().contains(&change))
    {
        return Err(AppError::BadRequest(
            "That change is made through a loan or a disposal, not here.".into(),
        ));
    }
    let note =
        kitroom_core::invalid::text(&form.note, "Note", 500).map_err(AppError::BadRequest)?;
    let d = state
        .store()
        .change_status(ctx.user.actor(), device.id, change, note)
        .await?;
    set_flash(
        &ctx.session,
        format!(
            "{} is now {}.",
            d.details.tag,
            d.status.label().to_lowercase()
        ),
    )
    .await?;
    Ok(Redirect::to(&device_url(d.details.tag.as_str())).into_response())
}

/// The disposal form: retiring a device at the end of its life.
pub fn dispose_router() -> Router<AppState> {
    Router::new().route("/devices/{tag}/dispose", get(dispose_form).post(dispose))
}

async fn dispose_form(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Dispose)?;
    let device = device(&state, &tag).await?;
    let input = kitroom_core::disposal::DisposalInput {
        disposed_on: crate::time::today().to_string(),
        ..Default::default()
    };
    Ok(v::dispose_form(&ctx, &device, &input, &Invalid::new()).into_response())
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn dispose(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(input): FormBody<kitroom_core::disposal::DisposalInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Dispose)?;
    let device = device(&state, &tag).await?;
    let refused = |invalid: Invalid| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            v::dispose_form(&ctx, &device, &input, &invalid),
        )
            .into_response()
    };
    let details = match input.parse(device.details.holds_personal_data, crate::time::today()) {
        Ok(d) => d,
        Err(invalid) => return Ok(refused(invalid)),
    };
    match state
        .store()
        .dispose_device(ctx.user.actor(), device.id, details)
        .await
    {
        Ok(d) => {
            set_flash(
                &ctx.session,
                format!("{} is retired and its disposal recorded.", d.details.tag),
            )
            .await?;
            Ok(Redirect::to(&device_url(d.details.tag.as_str())).into_response())
        }
        Err(StoreError::Invalid(invalid)) => Ok(refused(invalid)),
        Err(StoreError::IllegalMove(m)) => Ok(refused(Invalid::one("method", m.to_string()))),
        Err(e) => Err(e.into()),
    }
}
