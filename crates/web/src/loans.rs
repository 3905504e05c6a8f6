//! Lending: the home page with "my loans", checking a device out from its page (the
//! QR label opens it), returning it to the computer room, the head's approvals,
//! devices on charge, all loans for the manager, and printable labels.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::calendar::Calendar;
use kitroom_core::device::{parse_date, DeviceStatus};
use kitroom_core::invalid::{required_text, text};
use kitroom_core::loan::{CheckOutRefusal, CheckOutRequest, ReturnCondition, ReturnRequest};
use kitroom_core::person::Permission;
use kitroom_core::settings::Settings;
use kitroom_store::devices::{Device, DeviceFilter};
use kitroom_store::incidents::IncidentFilter;
use kitroom_store::loans::LoanFilter;
use kitroom_store::StoreError;
use serde::Deserialize;

use crate::auth::{parse_id, set_flash, Ctx, FormBody, QueryParams};
use crate::lend_to::Refusal;
use crate::paths::device_url;
use crate::paths::ListQuery;
use crate::views::loans as v;
use crate::views::loans::{CheckOutForm, LoanPanel, LoansQuery, ReturnForm};
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home))
        .route("/scan", get(scan))
        .route("/devices/{tag}/checkout", post(check_out))
        .route("/devices/{tag}/return", post(return_device))
        .route("/devices/{tag}/offsite-request", post(request_offsite))
        .route("/loans", get(list))
        .route("/approvals", get(approvals))
        .route("/approvals/{id}", post(decide))
        .route("/charging", get(charging))
        .route("/charging/{location}/ready", post(mark_location_ready))
        .route("/labels", get(labels))
}

/// The instant a loan due on `day` is due: the end of that school day.
pub fn end_of_day(day: NaiveDate, settings: &Settings) -> DateTime<Utc> {
    Calendar::at(day, settings.day_ends_at)
}

/// When a loan asked for on this form is due: the end of a period (on the chosen
/// day, or its next end on a school day), the end of the chosen day, or by default
/// the end of the school day. The store then moves a due time that falls in a
/// holiday.
pub fn due_from_form(
    form: &CheckOutForm,
    calendar: &Calendar,
    settings: &Settings,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, String> {
    let day = parse_date(&form.due_on, "Return date")?;
    let period = match form.due_period.trim() {
        "" => None,
        name => Some(calendar.period(name).ok_or_else(|| {
            format!("The school day has no period called “{name}”. Choose one from the list.")
        })?),
    };
    Ok(match (period, day) {
        (Some(p), day) => calendar.end_of_period(p, day, now),
        (None, Some(day)) => end_of_day(day, settings),
        (None, None) => calendar.default_due(now, settings.day_ends_at),
    })
}

/// The most people the "lend to" field offers as suggestions.
const LEND_TO_SUGGESTIONS: i64 = 500;

/// Fills in what the device page shows about lending this device to this person.
pub async fn loan_panel(
    ctx: &Ctx,
    state: &AppState,
    device: &Device,
) -> Result<LoanPanel, AppError> {
    let settings = state.store().settings().await?;
    let calendar = state.store().calendar().await?;
    // The "lend to" field suggests names while a school has a few hundred people; a
    // trust with thousands types the username (a list of every name made the device
    // page slow and heavy on a phone).
    let people = if ctx.may(Permission::LendToAnyone) && device.status == DeviceStatus::Available {
        let list = state
            .store()
            .list_people(&kitroom_store::people::PeopleFilter {
                limit: LEND_TO_SUGGESTIONS + 1,
                ..Default::default()
            })
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
        state.store().accessories_in_stock().await?
    } else {
        Vec::new()
    };
    let not_returned = if ctx.may(Permission::LendToAnyone) {
        state
            .store()
            .accessories_not_returned(None, Some(device.id))
            .await?
    } else {
        Vec::new()
    };
    Ok(LoanPanel {
        lent,
        stock,
        not_returned,
        open_loan,
        standing: Some(state.store().policy_standing(ctx.user.id).await?),
        authorisation: Some(state.store().authorisation(ctx.user.id, device.id).await?),
        default_due: Some(calendar.default_due(Utc::now(), settings.day_ends_at)),
        return_location: settings.return_location,
        people,
        periods: calendar.periods.iter().map(|p| p.name.clone()).collect(),
        checklist: if device.status == DeviceStatus::OnLoan {
            state.store().checklist(device.details.kind).await?
        } else {
            Vec::new()
        },
        ..Default::default()
    })
}

async fn device(state: &AppState, tag: &str) -> Result<Device, AppError> {
    state
        .store()
        .device_by_tag(tag)
        .await?
        .ok_or(AppError::NotFound)
}

async fn home(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    let now = Utc::now();
    let store = state.store();
    let mine = store
        .list_loans(&LoanFilter {
            open: true,
            borrower: Some(ctx.user.id),
            ..Default::default()
        })
        .await?;
    let standing = store.policy_standing(ctx.user.id).await?;
    let desk = if ctx.may(Permission::ViewIncidents) {
        let a_year_ago = crate::time::today() - chrono::Duration::days(365);
        let counts = store.desk_counts(now, a_year_ago).await?;
        let mut deadlines: Vec<_> = store
            .list_incidents(&IncidentFilter {
                unresolved: true,
                ..Default::default()
            })
            .await?
            .into_iter()
            .filter(|i| i.decision_pending())
            .collect();
        deadlines.sort_by_key(|i| i.decide_by);
        Some((counts, deadlines))
    } else {
        None
    };
    let bookings = store
        .list_bookings(&kitroom_store::bookings::BookingFilter {
            from: Some(now),
            person: Some(ctx.user.id),
            holding: true,
            limit: 20,
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|b| b.status == kitroom_core::booking::BookingStatus::Booked)
        .collect::<Vec<_>>();
    let missing = if ctx.may(Permission::ViewIncidents) {
        store.missing_from_sets().await?
    } else {
        Vec::new()
    };
    // Thefts this person reported without a police reference: asked for again here.
    let missing_police: Vec<_> = store
        .list_incidents(&IncidentFilter {
            unresolved: true,
            reported_by: Some(ctx.user.id),
            ..Default::default()
        })
        .await?
        .into_iter()
        .filter(|i| {
            i.kind == kitroom_core::incident::IncidentKind::Theft && i.police_reference.is_none()
        })
        .collect();
    let not_returned_mine = store
        .accessories_not_returned(Some(ctx.user.id), None)
        .await?;
    let not_returned_desk = if ctx.may(Permission::ViewIncidents) {
        store.accessories_not_returned(None, None).await?
    } else {
        Vec::new()
    };
    // email Kitroom gave up on: the admins look after the mail settings
    let undelivered = if ctx.may(Permission::ManageSettings) {
        store.undelivered_emails().await?
    } else {
        Vec::new()
    };
    let h = v::Home {
        undelivered: &undelivered,
        not_returned_mine: &not_returned_mine,
        not_returned_desk: &not_returned_desk,
        mine: &mine,
        bookings: &bookings,
        standing: &standing,
        desk: desk.as_ref(),
        missing_from_sets: &missing,
        missing_police: &missing_police,
    };
    Ok(v::home(&ctx, h, now).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ScanQuery {
    tag: String,
}

/// A tag typed or scanned into the "find a device" box (a USB scanner types the
/// tag and Enter) opens that device's page.
/// A set's name, or its label's address, opens the set's page (where its booking
/// is collected).
async fn scan(
    _: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ScanQuery>,
) -> Result<Response, AppError> {
    let tag = q.tag.trim();
    // A scanner that reads QR codes types a set label's whole address.
    if let Some(id) = tag
        .rsplit_once("/sets/")
        .and_then(|(_, id)| uuid::Uuid::parse_str(id.trim_end_matches('/')).ok())
    {
        return Ok(Redirect::to(&crate::paths::kit_url(id)).into_response());
    }
    // A phone camera may read the label's whole address rather than the tag.
    let tag = tag.rsplit_once("/d/").map(|(_, t)| t).unwrap_or(tag);
    if tag.is_empty() {
        return Ok(Redirect::to("/").into_response());
    }
    if state.store().device_by_tag(tag).await?.is_none() {
        if let Some(set) = state.store().kit_by_name(tag).await? {
            return Ok(Redirect::to(&crate::paths::kit_url(set.id)).into_response());
        }
    }
    Ok(Redirect::to(&device_url(tag)).into_response())
}

/// Renders the device page again with the loan forms as typed and a refusal.
async fn refused(
    ctx: &Ctx,
    state: &AppState,
    device: &Device,
    status: StatusCode,
    panel: LoanPanel,
) -> Result<Response, AppError> {
    crate::devices::render_device(ctx, state, device, panel, status).await
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn check_out(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(form): FormBody<CheckOutForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let device = device(&state, &tag).await?;
    let settings = state.store().settings().await?;
    let mut panel = loan_panel(&ctx, &state, &device).await?;
    panel.checkout = form.clone();
    let borrower = match crate::lend_to::borrower(&state, &ctx.user, &form.borrower).await {
        Ok(p) => p,
        Err(Refusal::Forbidden) => return Err(AppError::Forbidden),
        Err(Refusal::Store(e)) => return Err(e.into()),
        Err(Refusal::NotFound(m)) => {
            panel.checkout_refusal = Some(m);
            return refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await;
        }
    };
    let now = Utc::now();
    let calendar = state.store().calendar().await?;
    let due_at = match due_from_form(&form, &calendar, &settings, now) {
        Ok(d) => d,
        Err(m) => {
            panel.checkout_refusal = Some(m);
            return refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await;
        }
    };
    let purpose = text(&form.purpose, "Purpose", 200).map_err(AppError::BadRequest)?;
    let taking = match crate::accessories::taking(&form.also, &form.also_count) {
        Ok(t) => t,
        Err(m) => {
            panel.checkout_refusal = Some(m);
            return refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await;
        }
    };
    let request = CheckOutRequest {
        due_at,
        purpose,
        off_site: form.off_site,
        head_authorised: false,
    };
    match state
        .store()
        .check_out(ctx.user.actor(), device.id, borrower.id, request, taking)
        .await
    {
        Ok(loan) => {
            let moved = loan
                .due_moved_reason
                .as_deref()
                .map(|why| format!(" {why}"))
                .unwrap_or_default();
            let whom = if borrower.id == ctx.user.id {
                "you".to_owned()
            } else {
                borrower.full_name.clone()
            };
            set_flash(
                &ctx.session,
                format!(
                    "{} is checked out to {whom} until {}.{moved} Bring it back to the {} and put it on charge.",
                    device.details.tag,
                    crate::time::when(loan.due_at),
                    settings.return_location
                ),
            )
            .await?;
            Ok(Redirect::to(&device_url(device.details.tag.as_str())).into_response())
        }
        Err(StoreError::CheckOut(refusal)) => {
            let status = match refusal {
                CheckOutRefusal::NotAvailable(_) => StatusCode::CONFLICT,
                _ => StatusCode::UNPROCESSABLE_ENTITY,
            };
            panel.needs_authorisation =
                matches!(refusal, CheckOutRefusal::HeadAuthorisationRequired(_))
                    && borrower.id == ctx.user.id;
            panel.checkout_refusal = Some(match &refusal {
                CheckOutRefusal::PolicyNotSigned { version_label } if borrower.id != ctx.user.id => format!(
                    "{} has not signed the acceptable-use policy ({version_label}) yet, so they cannot borrow. Ask them to sign it in Kitroom first.",
                    borrower.full_name
                ),
                other => other.to_string(),
            });
            // The page is shown again with the device as it is now.
            let device = self::device(&state, &tag).await?;
            panel.open_loan = state.store().open_loan(device.id).await?;
            refused(&ctx, &state, &device, status, panel).await
        }
        Err(StoreError::Invalid(i)) if i.for_field("accessories").is_some() => {
            panel.checkout_refusal = i.for_field("accessories").map(str::to_owned);
            refused(&ctx, &state, &device, StatusCode::CONFLICT, panel).await
        }
        Err(e) => Err(e.into()),
    }
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn return_device(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    // the fixed fields, and the checklist's answers as `check.0=yes`, `check.1=no`, …
    let form: ReturnForm = serde_urlencoded::to_string(&pairs)
        .ok()
        .and_then(|s| serde_urlencoded::from_str(&s).ok())
        .ok_or_else(|| AppError::BadRequest("The return form could not be read.".into()))?;
    let device = device(&state, &tag).await?;
    let mut panel = loan_panel(&ctx, &state, &device).await?;
    panel.ret = form.clone();
    panel.answers = (0..panel.checklist.len())
        .map(|i| {
            let name = format!("check.{i}");
            pairs
                .iter()
                .find(|(k, _)| *k == name)
                .and_then(|(_, v)| match v.as_str() {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => None,
                })
        })
        .collect();
    panel.typed_back = pairs
        .iter()
        .filter(|(k, _)| k.starts_with("acc_back."))
        .cloned()
        .collect();
    let Some(open) = panel.open_loan.clone() else {
        return Err(AppError::Conflict(format!(
            "{} is not on loan, so there is nothing to return.",
            device.details.tag
        )));
    };
    if open.borrower != ctx.user.username && !ctx.may(Permission::LendToAnyone) {
        return Err(AppError::Forbidden);
    }
    let battery = match form.battery_percent.trim() {
        "" => None,
        b => match b.trim_end_matches('%').trim().parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                panel.return_refusal =
                    Some("The battery level must be a number from 0 to 100.".into());
                return refused(
                    &ctx,
                    &state,
                    &device,
                    StatusCode::UNPROCESSABLE_ENTITY,
                    panel,
                )
                .await;
            }
        },
    };
    let condition: ReturnCondition = form.condition.parse().map_err(AppError::BadRequest)?;
    let location = if form.location.trim().is_empty() {
        panel.return_location.clone()
    } else {
        form.location.clone()
    };
    let location = match kitroom_core::device::location_name(&location) {
        Ok(l) => l,
        Err(m) => {
            panel.return_refusal = Some(m);
            return refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await;
        }
    };
    let back = match crate::accessories::counted_back(
        panel
            .typed_back
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    ) {
        Ok(b) => b,
        Err(m) => {
            panel.return_refusal = Some(m);
            return refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await;
        }
    };
    let request = ReturnRequest {
        condition,
        battery_percent: battery,
        on_charge: form.on_charge,
        images_cleared: form.images_cleared,
    };
    match state
        .store()
        .return_device_checked(
            ctx.user.actor(),
            ctx.user.full_name.clone(),
            device.id,
            location.clone(),
            request,
            panel.answers.clone(),
            back,
            state.email_link_base(),
        )
        .await
    {
        Ok((_, Some(incident))) => {
            state.wake_mailer();
            set_flash(
                &ctx.session,
                format!(
                    "{} is returned to the {location}. The checklist found damage, so a damage report is open for it: add what you know below.",
                    device.details.tag
                ),
            )
            .await?;
            Ok(Redirect::to(&crate::paths::incident_url(&incident)).into_response())
        }
        Ok((_, None)) => {
            let mut message = format!("{} is returned to the {location}", device.details.tag);
            message.push_str(if form.on_charge {
                " and on charge. Thank you."
            } else {
                "."
            });
            if condition == ReturnCondition::Damaged {
                message.push_str(
                    " It is recorded as damaged; the business manager will follow it up.",
                );
            }
            set_flash(&ctx.session, message).await?;
            Ok(Redirect::to(&device_url(device.details.tag.as_str())).into_response())
        }
        Err(StoreError::Invalid(i))
            if i.for_field("checklist").is_some() || i.for_field("accessories").is_some() =>
        {
            panel.return_refusal = i
                .for_field("checklist")
                .or(i.for_field("accessories"))
                .map(str::to_owned);
            refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await
        }
        Err(StoreError::Return(refusal)) => {
            panel.return_refusal = Some(refusal.to_string());
            refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await
        }
        Err(e) => Err(e.into()),
    }
}

async fn request_offsite(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(form): FormBody<CheckOutForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let device = device(&state, &tag).await?;
    let reason = match required_text(&form.reason, "Reason", 500) {
        Ok(r) => r,
        Err(m) => {
            let mut panel = loan_panel(&ctx, &state, &device).await?;
            panel.checkout = form;
            panel.needs_authorisation = true;
            panel.checkout_refusal = Some(m);
            return refused(
                &ctx,
                &state,
                &device,
                StatusCode::UNPROCESSABLE_ENTITY,
                panel,
            )
            .await;
        }
    };
    state
        .store()
        .request_offsite(ctx.user.actor(), device.id, reason)
        .await?;
    set_flash(&ctx.session, "Your request has gone to the head teacher. Once it is approved, check the device out here with “Taking it off the school site” ticked.").await?;
    Ok(Redirect::to(&device_url(device.details.tag.as_str())).into_response())
}

async fn list(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<LoansQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewAllLoans)?;
    let now = Utc::now();
    let filter = match q.view.as_str() {
        "overdue" => LoanFilter {
            overdue_at: Some(now),
            limit: 1000,
            ..Default::default()
        },
        "all" => LoanFilter {
            limit: 500,
            ..Default::default()
        },
        _ => LoanFilter {
            open: true,
            limit: 1000,
            ..Default::default()
        },
    };
    let loans = state.store().list_loans(&filter).await?;
    Ok(v::list(&ctx, &q, &loans, now).into_response())
}

async fn approvals(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    if !ctx.may(Permission::AuthoriseOffsite) && !ctx.may(Permission::DecideChanges) {
        return Err(AppError::Forbidden);
    }
    let pending = if ctx.may(Permission::AuthoriseOffsite) {
        state.store().pending_offsite().await?
    } else {
        Vec::new()
    };
    let changes = if ctx.may(Permission::DecideChanges) {
        state.store().pending_changes().await?
    } else {
        Vec::new()
    };
    Ok(v::approvals(&ctx, &pending, &changes).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DecisionForm {
    decision: String,
    note: String,
}

async fn decide(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<DecisionForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::AuthoriseOffsite)?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "decline" => false,
        _ => return Err(AppError::BadRequest("Choose approve or decline.".into())),
    };
    let note = text(&form.note, "Note", 500).map_err(AppError::BadRequest)?;
    state
        .store()
        .decide_offsite(ctx.user.actor(), parse_id(&id)?, approve, note)
        .await?;
    set_flash(
        &ctx.session,
        if approve {
            "Approved. The borrower can now take the device off site."
        } else {
            "Declined. The borrower will see your note."
        },
    )
    .await?;
    Ok(Redirect::to("/approvals").into_response())
}

async fn charging(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::LendToAnyone)?;
    let filter = DeviceFilter {
        status: Some(DeviceStatus::ReturnedCharging),
        page: 1,
        per_page: 200,
        ..Default::default()
    };
    let devices = state.store().list_devices(&filter).await?;
    let locations = state.store().list_locations().await?;
    let settings = state.store().settings().await?;
    Ok(v::charging(&ctx, &devices.items, &locations, &settings).into_response())
}

async fn mark_location_ready(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(location): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::LendToAnyone)?;
    let n = state
        .store()
        .mark_all_ready(ctx.user.actor(), parse_id(&location)?)
        .await?;
    set_flash(
        &ctx.session,
        format!(
            "{n} {} marked ready to lend.",
            if n == 1 { "device" } else { "devices" }
        ),
    )
    .await?;
    Ok(Redirect::to("/charging").into_response())
}

/// A printable A4 sheet of labels for the devices the list's filters select.
async fn labels(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: HeaderMap,
    QueryParams(q): QueryParams<ListQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let mut filter = q.filter(200);
    filter.page = 1;
    let mut devices = Vec::new();
    loop {
        let page = state.store().list_devices(&filter).await?;
        let done = page.items.len() < 200 || devices.len() >= 2000;
        devices.extend(page.items);
        if done {
            break;
        }
        filter.page += 1;
    }
    let settings = state.store().settings().await?;
    Ok(v::labels(
        &ctx,
        &devices,
        &state.page_address(&headers),
        &settings.school_name,
        &q,
    )
    .into_response())
}
