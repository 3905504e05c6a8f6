//! The register's pages: the device list with its filters, each device's page with
//! its history, and the forms to register and edit devices.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_app::devices::{DeviceInput, Edit, StatusInput};
use kitroom_app::disposals::DisposalInput;
use kitroom_core::device::DeviceInput as DeviceFields;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::devices::{Device, DeviceFilter, Position};
use kitroom_store::events::EventFilter;

use crate::auth::{set_flash, Ctx, FormBody, QueryParams};
use crate::error::{button_refusal, page_refusal, refusal_fields, status_of};
use crate::paths::ListQuery;
use crate::views::devices as v;
use crate::views::devices::PER_PAGE;
use crate::views::loans::LoanPanel;
use crate::{AppError, AppState};
use kitroom_core::device::{AssetTag, DeviceStatus};

// Where the reports still find it.
pub use crate::paths::device_url;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/devices", get(list).post(create))
        .route("/devices/new", get(new_form))
        .route("/devices/{tag}", get(show))
        .route("/devices/{tag}/edit", get(edit_form).post(update))
        .route("/devices/{tag}/status", post(change_status))
        .route("/devices/{tag}/transfer", post(transfer))
        // The address printed on a device's QR label: short, so the code stays small.
        .route(
            "/d/{tag}",
            get(|_: Ctx, Path(tag): Path<String>| async move { Redirect::to(&device_url(&tag)) }),
        )
}

impl ListQuery {
    /// The list's filters, from the first page.
    pub fn filter(&self, per_page: i64) -> DeviceFilter {
        DeviceFilter {
            q: Some(self.q.clone()).filter(|q| !q.trim().is_empty()),
            status: self.status.parse().ok(),
            kind: self.kind.parse().ok(),
            location: Some(self.location.clone()).filter(|l| !l.is_empty()),
            encryption: self.encryption.parse().ok(),
            at: Position::First,
            per_page,
        }
    }

    /// Where the page starts: after or before a tag (the Next and Previous links),
    /// the last page, or an old bookmark's page number. A key that is not a tag, or
    /// two positions at once, is a link Kitroom did not make.
    pub fn position(&self) -> Result<Position, AppError> {
        let broken = || {
            AppError::BadRequest(
                "This link to a page of the device list is broken: part of it may have been cut off or changed. \
                 Open the first page of the list and page on from there."
                    .into(),
            )
        };
        let key = |s: &str| match AssetTag::parse(s) {
            Ok(tag) if tag.as_str() == s => Ok(s.to_owned()),
            _ => Err(broken()),
        };
        let page = self.page.filter(|p| *p > 1);
        let asked = [
            !self.after.is_empty(),
            !self.before.is_empty(),
            self.last,
            page.is_some(),
        ];
        if asked.iter().filter(|a| **a).count() > 1 {
            return Err(broken());
        }
        Ok(if !self.after.is_empty() {
            Position::After(key(&self.after)?)
        } else if !self.before.is_empty() {
            Position::Before(key(&self.before)?)
        } else if self.last {
            Position::Last
        } else if let Some(page) = page {
            Position::Page(page)
        } else {
            Position::First
        })
    }

    /// The address of the list with these filters, starting at `at`.
    pub fn url_at(&self, path: &str, at: &Position) -> String {
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
        match at {
            Position::First => {}
            Position::After(tag) => parts.push(("after", tag.clone())),
            Position::Before(tag) => parts.push(("before", tag.clone())),
            Position::Last => parts.push(("last", "1".into())),
            Position::Page(n) => parts.push(("page", n.to_string())),
        }
        let query = serde_urlencoded::to_string(parts).unwrap_or_default();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
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
    let at = q.position()?;
    let filter = DeviceFilter {
        at: at.clone(),
        ..q.filter(PER_PAGE)
    };
    let page = state.store().list_devices(ctx.user.school, &filter).await?;
    let locations = state.store().location_names(ctx.user.school).await?;
    Ok(v::list(&ctx, &q, &at, &page, &locations).into_response())
}

/// `school`'s device with this tag (in any case), or "not found".
pub(crate) async fn device(
    state: &AppState,
    school: SchoolId,
    tag: &str,
) -> Result<Device, AppError> {
    state
        .store()
        .device_by_tag(school, tag)
        .await?
        .ok_or(AppError::NotFound)
}

async fn form_page(
    ctx: &Ctx,
    state: &AppState,
    editing: Option<&Device>,
    input: &DeviceFields,
    invalid: &Invalid,
) -> Result<Response, AppError> {
    let locations = state.store().location_names(ctx.user.school).await?;
    let example = state.store().example_tag(ctx.user.school).await?;
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    Ok((
        status,
        v::form(ctx, editing, input, invalid, &locations, example.as_deref()),
    )
        .into_response())
}

async fn new_form(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let input = DeviceFields {
        location: "Computer room".into(),
        ..Default::default()
    };
    form_page(&ctx, &state, None, &input, &Invalid::new()).await
}

/// The form shown again after a refusal: with the fields as typed, each problem
/// beside its field. A refusal about fields (a tag already in use among them) is
/// the form's 422; another (not possible now) keeps its own status.
async fn form_refused(
    ctx: &Ctx,
    state: &AppState,
    editing: Option<&Device>,
    input: &DeviceInput,
    e: kitroom_app::Error,
) -> Result<Response, AppError> {
    let refusal = page_refusal(e)?;
    let invalid = refusal_fields(&refusal, "tag");
    let locations = state.store().location_names(ctx.user.school).await?;
    let example = state.store().example_tag(ctx.user.school).await?;
    let status = if refusal.fields.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        status_of(refusal.kind)
    };
    let typed = input.typed(Default::default());
    Ok((
        status,
        v::form(
            ctx,
            editing,
            &typed,
            &invalid,
            &locations,
            example.as_deref(),
        ),
    )
        .into_response())
}

#[tracing::instrument(skip_all, fields(device.tag = input.tag.as_deref().unwrap_or_default()))]
async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(input): FormBody<DeviceInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    match kitroom_app::devices::register(state.app(), &ctx.user, input.clone()).await {
        Ok(d) => {
            set_flash(
                &ctx.session,
                format!("{} is on the register.", d.details.tag),
            )
            .await?;
            Ok(Redirect::to(&device_url(d.details.tag.as_str())).into_response())
        }
        Err(e) => form_refused(&ctx, &state, None, &input, e).await,
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
    let device = device(&state, ctx.user.school, &tag).await?;
    let mut panel = loan_panel(&ctx, &state, &device).await?;
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
            .list_loans(
                ctx.user.school,
                &kitroom_store::loans::LoanFilter {
                    device: Some(device.id),
                    limit: 20,
                    ..Default::default()
                },
            )
            .await?
    } else {
        Vec::new()
    };
    let incidents = if ctx.may(Permission::ViewIncidents) {
        state
            .store()
            .list_incidents(
                ctx.user.school,
                &kitroom_store::incidents::IncidentFilter {
                    device: Some(device.id),
                    limit: 50,
                    ..Default::default()
                },
            )
            .await?
    } else {
        Vec::new()
    };
    let changes = state.store().changes_of_device(device.id).await?;
    let stocktakes = if ctx.may(Permission::Stocktake) && device.status != DeviceStatus::Retired {
        state
            .store()
            .open_stocktakes_for(ctx.user.school, &device.details.location)
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
    let device = device(&state, ctx.user.school, &tag).await?;
    form_page(
        &ctx,
        &state,
        Some(&device),
        &DeviceFields::from(&device.details),
        &Invalid::new(),
    )
    .await
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn update(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(input): FormBody<DeviceInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let device = device(&state, ctx.user.school, &tag).await?;
    match kitroom_app::devices::edit(state.app(), &ctx.user, &tag, input.clone(), Edit::Whole).await
    {
        Ok(d) => {
            set_flash(&ctx.session, format!("Changes to {} saved.", d.details.tag)).await?;
            Ok(Redirect::to(&device_url(d.details.tag.as_str())).into_response())
        }
        Err(e) => form_refused(&ctx, &state, Some(&device), &input, e).await,
    }
}

/// A status change by hand. The form offers only the moves the status machine
/// allows from here, so a change it does not offer, or an over-long note, is a
/// form that did not come from the page (400); a move no longer possible (another
/// manager got there first) is a 409 in words.
#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn change_status(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(input): FormBody<StatusInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let d = kitroom_app::devices::change_status(state.app(), &ctx.user, &tag, input)
        .await
        .map_err(button_refusal)?;
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

/// Moves the device to another school of the trust (the trust's own staff): on to
/// the register, since it is no longer this school's.
async fn transfer(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(input): FormBody<kitroom_app::transfers::TransferInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::TransferDevice)?;
    let done = kitroom_app::transfers::transfer(state.app(), &ctx.user, &tag, input)
        .await
        .map_err(button_refusal)?;
    set_flash(
        &ctx.session,
        format!(
            "{} is now at {}: it is on its register, in its return room.",
            done.device.details.tag, done.to.name
        ),
    )
    .await?;
    Ok(Redirect::to("/devices").into_response())
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
    let device = device(&state, ctx.user.school, &tag).await?;
    let input = kitroom_core::disposal::DisposalInput {
        disposed_on: crate::time::today().to_string(),
        ..Default::default()
    };
    Ok(v::dispose_form(&ctx, &device, &input, &Invalid::new()).into_response())
}

/// Retiring a device cannot be undone, so the disposal form is confirmed first: a
/// disposal that would go through is shown back with what will happen, and made
/// only when sent again with `confirm=yes`. A disposal with problems shows them on
/// the form at once. (The API's disposal is explicit already.)
#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn dispose(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Dispose)?;
    let crate::input::Confirmable {
        confirmed,
        fields,
        input,
    } = crate::input::Confirmable::<DisposalInput>::read(pairs)?;
    let done = if confirmed {
        kitroom_app::disposals::dispose(state.app(), &ctx.user, &tag, input.clone())
            .await
            .map(Some)
    } else {
        kitroom_app::disposals::check(state.app(), &ctx.user, &tag, input.clone())
            .await
            .map(|_| None)
    };
    match done {
        Ok(Some(d)) => {
            set_flash(
                &ctx.session,
                format!(
                    "{} is retired and its disposal recorded.",
                    d.device.details.tag
                ),
            )
            .await?;
            Ok(Redirect::to(&device_url(d.device.details.tag.as_str())).into_response())
        }
        Ok(None) => {
            let device = device(&state, ctx.user.school, &tag).await?;
            Ok(v::confirm_disposal(&ctx, &device, &(&input).into(), &fields).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let device = device(&state, ctx.user.school, &tag).await?;
            // A refusal about no one field (the device cannot be retired from
            // where it is) is shown at the top of the form.
            let invalid = refusal_fields(&refusal, "method");
            Ok((
                status_of(refusal.kind),
                v::dispose_form(&ctx, &device, &(&input).into(), &invalid),
            )
                .into_response())
        }
    }
}

/// The most people the "lend to" field offers as suggestions.
const LEND_TO_SUGGESTIONS: i64 = 500;

/// Fills in what the device page shows about lending this device to this person.
pub async fn loan_panel(
    ctx: &Ctx,
    state: &AppState,
    device: &Device,
) -> Result<LoanPanel, AppError> {
    let settings = state.store().settings(ctx.user.school).await?;
    let calendar = state.store().calendar(ctx.user.school).await?;
    // The "lend to" field suggests names while a school has a few hundred people; a
    // trust with thousands types the username (a list of every name made the device
    // page slow and heavy on a phone).
    // Counted first, in the table's order and no further than the bound: reading
    // 501 people in name order to find there were too many cost more as the school
    // grew.
    let few_people = ctx.may(Permission::LendToAnyone)
        && device.status == DeviceStatus::Available
        && state
            .store()
            .active_people_up_to(ctx.user.school, LEND_TO_SUGGESTIONS + 1)
            .await?
            <= LEND_TO_SUGGESTIONS;
    let people = if few_people {
        let list = state
            .store()
            .list_people(
                ctx.user.school,
                &kitroom_store::people::PeopleFilter {
                    limit: LEND_TO_SUGGESTIONS + 1,
                    ..Default::default()
                },
            )
            .await?;
        if list.len() as i64 > LEND_TO_SUGGESTIONS {
            Vec::new()
        } else {
            list.into_iter()
                .map(|p| (p.username, p.full_name))
                .collect()
        }
    } else {
        Vec::new()
    };
    let open_loan = state.store().open_loan(device.id).await?;
    let lent = match &open_loan {
        Some(l) => state.store().accessories_lent(Some(l.id), None).await?,
        None => Vec::new(),
    };
    let stock = if device.status == DeviceStatus::Available {
        state.store().accessories_in_stock(ctx.user.school).await?
    } else {
        Vec::new()
    };
    let not_returned = if ctx.may(Permission::LendToAnyone) {
        state
            .store()
            .accessories_not_returned(ctx.user.school, None, Some(device.id))
            .await?
    } else {
        Vec::new()
    };
    Ok(LoanPanel {
        lent,
        stock,
        not_returned,
        open_loan,
        standing: Some(
            state
                .store()
                .policy_standing(ctx.user.school, ctx.user.id)
                .await?,
        ),
        authorisation: Some(state.store().authorisation(ctx.user.id, device.id).await?),
        default_due: Some(calendar.default_due(chrono::Utc::now(), settings.day_ends_at)),
        return_location: kitroom_core::loan::return_place(
            &device.details.location,
            &settings.return_location,
        )
        .to_owned(),
        people,
        periods: calendar.periods.iter().map(|p| p.name.clone()).collect(),
        checklist: if device.status == DeviceStatus::OnLoan {
            state
                .store()
                .checklist(ctx.user.school, device.details.kind)
                .await?
        } else {
            Vec::new()
        },
        ..Default::default()
    })
}
