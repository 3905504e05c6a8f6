//! Lending: the home page with "my loans", checking a device out from its page (the
//! QR label opens it), returning it to the computer room, the head's approvals,
//! devices on charge, all loans for the manager, and printable labels.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use kitroom_core::person::Permission;
use kitroom_store::devices::{Device, Position};
use kitroom_store::incidents::IncidentFilter;
use kitroom_store::loans::LoanFilter;
use serde::Deserialize;

use crate::auth::{set_flash, Ctx, FormBody, QueryParams};
use crate::devices::device;
use crate::error::{page_refusal, refusal_fields, status_of};
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

/// The off-site request form: the same input the API's off-site request reads.
pub type OffsiteForm = kitroom_app::offsite::OffsiteInput;

async fn home(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    let now = Utc::now();
    let store = state.store();
    let mine = store
        .list_loans(
            ctx.user.school,
            &LoanFilter {
                open: true,
                borrower: Some(ctx.user.id),
                ..Default::default()
            },
        )
        .await?;
    let standing = store.policy_standing(ctx.user.school, ctx.user.id).await?;
    let desk = if ctx.may(Permission::ViewIncidents) {
        let a_year_ago = crate::time::today() - chrono::Duration::days(365);
        let counts = store.desk_counts(ctx.user.school, now, a_year_ago).await?;
        let mut deadlines: Vec<_> = store
            .list_incidents(
                ctx.user.school,
                &IncidentFilter {
                    unresolved: true,
                    ..Default::default()
                },
            )
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
            school: Some(ctx.user.school),
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
        store.missing_from_sets(ctx.user.school).await?
    } else {
        Vec::new()
    };
    // Thefts this person reported without a police reference: asked for again here.
    let missing_police: Vec<_> = store
        .list_incidents(
            ctx.user.school,
            &IncidentFilter {
                unresolved: true,
                reported_by: Some(ctx.user.id),
                ..Default::default()
            },
        )
        .await?
        .into_iter()
        .filter(|i| {
            i.kind == kitroom_core::incident::IncidentKind::Theft && i.police_reference.is_none()
        })
        .collect();
    let not_returned_mine = store
        .accessories_not_returned(ctx.user.school, Some(ctx.user.id), None)
        .await?;
    let not_returned_desk = if ctx.may(Permission::ViewIncidents) {
        store
            .accessories_not_returned(ctx.user.school, None, None)
            .await?
    } else {
        Vec::new()
    };
    // email Kitroom gave up on: the admins look after the mail settings
    let undelivered = if ctx.may(Permission::ManageSettings) {
        store.undelivered_emails().await?
    } else {
        Vec::new()
    };
    let counts_accessories = store.counts_accessories(ctx.user.school).await?;
    let h = v::Home {
        counts_accessories,
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
    ctx: Ctx,
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
    if state
        .store()
        .device_by_tag(ctx.user.school, tag)
        .await?
        .is_none()
    {
        if let Some(set) = state.store().kit_by_name(ctx.user.school, tag).await? {
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

/// Where on the check-out form a rule's refusal, which names no field, is shown:
/// beside the field that would change the answer, or at the top of the lending
/// part of the page when none would.
/// The same for a set's check-out.
pub(crate) fn check_out_field(code: &str, manager: bool) -> &'static str {
    match code {
        "due-in-past" | "due-too-far" => "due_on",
        "not-encrypted-off-site" | "encryption-not-verified" | "head-authorisation-required" => {
            "off_site"
        }
        "purpose-too-long" => "purpose",
        "policy-not-signed" | "account-inactive" if manager => "borrower",
        _ => "",
    }
}

#[tracing::instrument(skip_all, fields(device.tag = %tag))]
async fn check_out(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(form): FormBody<CheckOutForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    match kitroom_app::loans::check_out(state.app(), &ctx.user, &tag, form.clone()).await {
        Ok(out) => {
            let loan = &out.loan;
            let moved = loan
                .due_moved_reason
                .as_deref()
                .map(|why| format!(" {why}"))
                .unwrap_or_default();
            let whom = if out.borrower.id == ctx.user.id {
                "you".to_owned()
            } else {
                out.borrower.full_name.clone()
            };
            set_flash(
                &ctx.session,
                format!(
                    "{} is checked out to {whom} until {}.{moved} Bring it back to the {} and put it on charge.",
                    loan.device_tag,
                    crate::time::when(loan.due_at),
                    out.return_location
                ),
            )
            .await?;
            Ok(Redirect::to(&device_url(&loan.device_tag)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            // The page is shown again, with the device as it is now.
            let device = device(&state, ctx.user.school, &tag).await?;
            let mut panel = crate::devices::loan_panel(&ctx, &state, &device).await?;
            panel.checkout = form;
            panel.needs_authorisation = refusal
                .extra
                .as_ref()
                .is_some_and(|(k, _)| *k == "may_ask_head");
            let field = match check_out_field(refusal.code, ctx.may(Permission::LendToAnyone)) {
                "" => "loan",
                f => f,
            };
            panel.checkout_invalid = refusal_fields(&refusal, field);
            refused(&ctx, &state, &device, status_of(refusal.kind), panel).await
        }
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
    let form = ReturnForm::from_form(&pairs);
    match kitroom_app::loans::return_device(state.app(), &ctx.user, &tag, form.clone()).await {
        Ok(returned) => {
            let tag = returned.loan.device_tag.as_str();
            let location = &returned.location;
            if let Some(incident) = &returned.incident {
                set_flash(
                    &ctx.session,
                    format!(
                        "{tag} is returned to the {location}. The checklist found damage, so a damage report is open for it: add what you know below."
                    ),
                )
                .await?;
                return Ok(Redirect::to(&crate::paths::incident_url(incident)).into_response());
            }
            let mut message = format!("{tag} is returned to the {location}");
            message.push_str(if returned.loan.on_charge == Some(true) {
                " and on charge. Thank you."
            } else {
                "."
            });
            if returned.loan.return_condition.as_deref() == Some("damaged") {
                message.push_str(
                    " It is recorded as damaged; the business manager will follow it up.",
                );
            }
            set_flash(&ctx.session, message).await?;
            Ok(Redirect::to(&device_url(tag)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            if refusal.code == "device-not-on-loan" {
                return Err(AppError::Refused(Box::new(refusal)));
            }
            let device = device(&state, ctx.user.school, &tag).await?;
            let mut panel = crate::devices::loan_panel(&ctx, &state, &device).await?;
            panel.answers = (0..panel.checklist.len())
                .map(|i| form.checklist.get(i).and_then(|a| a.0))
                .collect();
            panel.typed_back = form
                .accessories
                .iter()
                .filter_map(|a| Some((format!("acc_back.{}", a.id?), a.count.0.clone())))
                .collect();
            panel.ret = form;
            panel.return_invalid = refusal_fields(&refusal, "return");
            refused(&ctx, &state, &device, status_of(refusal.kind), panel).await
        }
    }
}

async fn request_offsite(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(tag): Path<String>,
    FormBody(form): FormBody<OffsiteForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    match kitroom_app::offsite::request(state.app(), &ctx.user, &tag, form.clone()).await {
        Ok(asked) => {
            set_flash(&ctx.session, "Your request has gone to the head teacher. Once it is approved, check the device out here with “Taking it off the school site” ticked.").await?;
            Ok(Redirect::to(&device_url(&asked.request.device_tag)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let device = device(&state, ctx.user.school, &tag).await?;
            let mut panel = crate::devices::loan_panel(&ctx, &state, &device).await?;
            panel.offsite_reason = form.reason;
            panel.needs_authorisation = true;
            panel.checkout_invalid = kitroom_core::Invalid::one(
                "reason",
                refusal.for_field("reason").unwrap_or(&refusal.message),
            );
            refused(&ctx, &state, &device, status_of(refusal.kind), panel).await
        }
    }
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
    let loans = state.store().list_loans(ctx.user.school, &filter).await?;
    Ok(v::list(&ctx, &q, &loans, now).into_response())
}

async fn approvals(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    if !ctx.may(Permission::AuthoriseOffsite) && !ctx.may(Permission::DecideChanges) {
        return Err(AppError::Forbidden);
    }
    let mut pending = if ctx.may(Permission::AuthoriseOffsite) {
        kitroom_app::offsite::requests(state.app(), &ctx.user, true).await?
    } else {
        Vec::new()
    };
    let mut changes = if ctx.may(Permission::DecideChanges) {
        kitroom_app::incidents::changes(state.app(), &ctx.user, true).await?
    } else {
        Vec::new()
    };
    // Oldest first: the longest waiting at the top.
    pending.reverse();
    changes.reverse();
    Ok(v::approvals(&ctx, &pending, &changes).into_response())
}

async fn decide(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<kitroom_app::offsite::DecisionInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::AuthoriseOffsite)?;
    let request = kitroom_app::offsite::decide(state.app(), &ctx.user, &id, form).await?;
    back_to_approvals(
        &ctx,
        &request.status,
        "Approved. The borrower can now take the device off site.",
        "Declined. The borrower will see your note.",
    )
    .await
}

/// Back to the head's approvals after a decision, saying whether the request with
/// `status` was approved or declined.
pub(crate) async fn back_to_approvals(
    ctx: &Ctx,
    status: &str,
    approved: &str,
    declined: &str,
) -> Result<Response, AppError> {
    let said = if status == "approved" {
        approved
    } else {
        declined
    };
    set_flash(&ctx.session, said).await?;
    Ok(Redirect::to("/approvals").into_response())
}

async fn charging(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::LendToAnyone)?;
    let c = kitroom_app::charging::on_charge(state.app(), &ctx.user).await?;
    Ok(v::charging(&ctx, &c.devices, &c.locations, &c.settings).into_response())
}

async fn mark_location_ready(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(location): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::LendToAnyone)?;
    let done =
        kitroom_app::charging::mark_location_ready(state.app(), &ctx.user, &location).await?;
    let n = done.devices.len();
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
    filter.at = Position::First;
    let mut devices = Vec::new();
    loop {
        let page = state.store().list_devices(ctx.user.school, &filter).await?;
        let done = !page.has_next || devices.len() >= 2000;
        let last = page.items.last().map(|d| d.details.tag.to_string());
        devices.extend(page.items);
        match last {
            Some(tag) if !done => filter.at = Position::After(tag),
            _ => break,
        }
    }
    let settings = state.store().settings(ctx.user.school).await?;
    Ok(v::labels(
        &ctx,
        &devices,
        &state.page_address(&headers),
        &settings.school_name,
        &q,
    )
    .into_response())
}
