//! Sets and trolleys: the manager groups devices into a set; anyone who may borrow
//! checks a set out and returns it as one, ticking the devices that came back. A
//! device not ticked is reported lost at once.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use kitroom_app::set_admin::{AddDeviceInput, NewSetInput};
use kitroom_app::sets::SetReturnInput;
use kitroom_core::kit::KitRefusal;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::kits::Kit;
use uuid::Uuid;

use crate::auth::{parse_id, set_flash, Ctx, FormBody};
use crate::error::{page_refusal, refusal_fields, status_of};
use crate::paths::kit_url;
use crate::views::kits as v;
use crate::views::kits::KitPage;
use crate::views::loans::CheckOutForm;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/sets", get(list).post(create))
        .route("/sets/labels", get(labels))
        .route("/sets/{id}", get(show))
        .route("/sets/{id}/label", get(label))
        .route("/sets/{id}/devices", post(add_device))
        .route("/sets/{id}/devices/{tag}/remove", post(remove_device))
        .route("/sets/{id}/checkout", post(check_out))
        .route("/sets/{id}/return", post(return_kit))
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let kits = state.store().list_kits(ctx.user.school).await?;
    Ok(v::list(&ctx, &kits, "", "", &Invalid::new()).into_response())
}

async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<NewSetInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    match kitroom_app::set_admin::create(state.app(), &ctx.user, form.clone()).await {
        Ok(k) => {
            set_flash(
                &ctx.session,
                format!(
                    "The set {} is made. Add its devices by tag or by scanning their labels.",
                    k.name
                ),
            )
            .await?;
            Ok(Redirect::to(&kit_url(k.id)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let kits = state.store().list_kits(ctx.user.school).await?;
            let invalid = refusal_fields(&refusal, "name");
            Ok((
                status_of(refusal.kind),
                v::list(&ctx, &kits, &form.name, &form.notes, &invalid),
            )
                .into_response())
        }
    }
}

/// A printable A4 sheet with one label for every set: scanning one opens the set's
/// page, where it is checked out or its booking collected.
async fn labels(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: HeaderMap,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let kits: Vec<(Uuid, String, usize)> = state
        .store()
        .list_kits(ctx.user.school)
        .await?
        .into_iter()
        .map(|k| (k.id, k.name, usize::try_from(k.devices).unwrap_or(0)))
        .collect();
    let school = state.store().settings(ctx.user.school).await?.school_name;
    Ok(v::labels(&ctx, &kits, &state.page_address(&headers), &school, "/sets").into_response())
}

/// The same sheet with one set's label, to print when a set is made or its label is
/// worn.
async fn label(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let kit = kit(&state, ctx.user.school, &id).await?;
    let school = state.store().settings(ctx.user.school).await?.school_name;
    let kits = [(kit.id, kit.name, kit.devices.len())];
    Ok(v::labels(
        &ctx,
        &kits,
        &state.page_address(&headers),
        &school,
        &kit_url(kit.id),
    )
    .into_response())
}

async fn kit(state: &AppState, school: SchoolId, id: &str) -> Result<Kit, AppError> {
    state
        .store()
        .kit(school, parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

/// Fills in the page's lists: periods, people to lend to, the return room.
async fn page_for(ctx: &Ctx, state: &AppState, kit: Uuid) -> Result<KitPage, AppError> {
    let settings = state.store().settings(ctx.user.school).await?;
    let calendar = state.store().calendar(ctx.user.school).await?;
    let people = if ctx.may(Permission::LendToAnyone) {
        state
            .store()
            .list_people(ctx.user.school, &Default::default())
            .await?
            .into_iter()
            .map(|p| (p.username, p.full_name))
            .collect()
    } else {
        Vec::new()
    };
    let now = Utc::now();
    let bookings = state
        .store()
        .list_bookings(&kitroom_store::bookings::BookingFilter {
            school: Some(ctx.user.school),
            from: Some(now),
            kit: Some(kit),
            holding: true,
            limit: 20,
            ..Default::default()
        })
        .await?;
    let mut checklist = Vec::new();
    let mut lent = Vec::new();
    let mut stock = Vec::new();
    let found = state.store().kit(ctx.user.school, kit).await?;
    match found.as_ref().and_then(|k| k.open.as_ref()) {
        Some(open) => lent = state.store().accessories_lent(None, Some(open.id)).await?,
        None => stock = state.store().accessories_in_stock(ctx.user.school).await?,
    }
    if let Some((devices, open)) = found.and_then(|k| k.open.map(|o| (k.devices, o))) {
        for kind in kitroom_core::device::DeviceKind::ALL {
            let out = open.loans.iter().any(|l| {
                l.is_open()
                    && devices
                        .iter()
                        .any(|d| d.id == l.device_id && d.kind == kind.as_str())
            });
            if out {
                let questions = state.store().checklist(ctx.user.school, *kind).await?;
                if !questions.is_empty() {
                    checklist.push((*kind, questions));
                }
            }
        }
    }
    Ok(KitPage {
        stock,
        lent,
        checklist,
        bookings,
        periods: calendar.periods.iter().map(|p| p.name.clone()).collect(),
        people,
        return_location: settings.return_location,
        ..Default::default()
    })
}

async fn show(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    crate::auth::QueryParams(q): crate::auth::QueryParams<crate::views::lend_to::Prefill>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let kit = kit(&state, ctx.user.school, &id).await?;
    let mut page = page_for(&ctx, &state, kit.id).await?;
    page.checkout.borrower = q.borrower;
    Ok(v::show(&ctx, &kit, &page, Utc::now()).into_response())
}

async fn render(
    ctx: &Ctx,
    state: &AppState,
    id: &str,
    status: StatusCode,
    page: KitPage,
) -> Result<Response, AppError> {
    let kit = kit(state, ctx.user.school, id).await?;
    Ok((status, v::show(ctx, &kit, &page, Utc::now())).into_response())
}

async fn add_device(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<AddDeviceInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let k = kit(&state, ctx.user.school, &id).await?;
    match kitroom_app::set_admin::add_device(
        state.app(),
        &ctx.user,
        &k.id.to_string(),
        form.clone(),
    )
    .await
    {
        Ok((k, tag)) => {
            set_flash(&ctx.session, format!("{tag} is now in {}.", k.name)).await?;
            Ok(Redirect::to(&format!("{}#add", kit_url(k.id))).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let mut page = page_for(&ctx, &state, k.id).await?;
            page.add = refusal_fields(&refusal, "tag");
            page.add_tag = form.tag;
            render(&ctx, &state, &id, status_of(refusal.kind), page).await
        }
    }
}

/// Takes a device out of the set. A refusal (the device is out with the set) has
/// no form to show it beside, so it gets its own page.
async fn remove_device(
    ctx: Ctx,
    State(state): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let k = kit(&state, ctx.user.school, &id).await?;
    let (k, tag) =
        kitroom_app::set_admin::remove_device(state.app(), &ctx.user, &k.id.to_string(), &tag)
            .await?;
    set_flash(&ctx.session, format!("{tag} is no longer in {}.", k.name)).await?;
    Ok(Redirect::to(&kit_url(k.id)).into_response())
}

async fn check_out(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<CheckOutForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let k = kit(&state, ctx.user.school, &id).await?;
    match kitroom_app::sets::check_out(state.app(), &ctx.user, &k.id.to_string(), form.clone())
        .await
    {
        Ok(out) => {
            let (group, staying, borrower) = (out.group, out.staying, out.borrower);
            let whom = if borrower.id == ctx.user.id {
                "you".to_owned()
            } else {
                borrower.full_name.clone()
            };
            let mut message = format!(
                "{} is checked out to {whom} until {}: {} {} went.",
                k.name,
                crate::time::when(group.due_at),
                group.loans.len(),
                if group.loans.len() == 1 {
                    "device"
                } else {
                    "devices"
                },
            );
            if let Some(why) = group.loans.iter().find_map(|l| l.due_moved_reason.clone()) {
                message.push(' ');
                message.push_str(&why);
            }
            if !staying.is_empty() {
                let left: Vec<String> = staying
                    .iter()
                    .map(|(t, s)| format!("{t} ({})", s.label().to_lowercase()))
                    .collect();
                message.push_str(&format!(" Not in it: {}.", left.join(", ")));
            }
            set_flash(&ctx.session, message).await?;
            Ok(Redirect::to(&kit_url(k.id)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let mut page = page_for(&ctx, &state, k.id).await?;
            page.checkout = form;
            let field = match crate::loans::check_out_field(
                refusal.code,
                ctx.may(Permission::LendToAnyone),
            ) {
                "" => "checkout",
                f => f,
            };
            page.checkout_invalid = crate::error::refusal_fields(&refusal, field);
            render(&ctx, &state, &id, status_of(refusal.kind), page).await
        }
    }
}

async fn return_kit(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(pairs): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let k = kit(&state, ctx.user.school, &id).await?;
    let input = SetReturnInput::from_form(&pairs);
    match kitroom_app::sets::return_set(state.app(), &ctx.user, &k.id.to_string(), input.clone())
        .await
    {
        Ok(done) => {
            let mut message = format!(
                "{} is returned to the {}: {} back{}.",
                k.name,
                done.location,
                done.back.len(),
                if done.on_charge { " and on charge" } else { "" }
            );
            if !done.damaged.is_empty() {
                let tags: Vec<&str> = done.damaged.iter().map(|(t, _)| t.as_str()).collect();
                message.push_str(&format!(
                    " The checklist found damage, so a damage report is open for {}.",
                    tags.join(", ")
                ));
            }
            if !done.missing.is_empty() {
                let tags: Vec<&str> = done.missing.iter().map(|(t, _)| t.as_str()).collect();
                message.push_str(&format!(
                    " Missing: {}. {} reported lost and the business manager has been told.",
                    tags.join(", "),
                    if tags.len() == 1 { "It is" } else { "They are" }
                ));
            }
            set_flash(&ctx.session, message).await?;
            Ok(Redirect::to(&kit_url(k.id)).into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            if refusal.code == KitRefusal::NotOut.code() {
                return Err(AppError::Refused(Box::new(refusal)));
            }
            let mut page = page_for(&ctx, &state, k.id).await?;
            page.answers = pairs
                .iter()
                .filter(|(k, _)| k.starts_with("check.") || k.starts_with("which."))
                .cloned()
                .collect();
            page.typed_back = pairs
                .iter()
                .filter(|(k, _)| k.starts_with("acc_back."))
                .cloned()
                .collect();
            page.return_invalid = crate::error::refusal_fields(&refusal, "return");
            page.return_typed = Some(input);
            render(&ctx, &state, &id, status_of(refusal.kind), page).await
        }
    }
}
