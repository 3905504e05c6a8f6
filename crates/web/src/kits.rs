//! Sets and trolleys: the manager groups devices into a set; anyone who may borrow
//! checks a set out and returns it as one, ticking the devices that came back. A
//! device not ticked is reported lost at once.

use std::collections::BTreeMap;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use kitroom_core::invalid::text;
use kitroom_core::kit::kit_name;
use kitroom_core::loan::{CheckOutRefusal, CheckOutRequest};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::kits::{Kit, KitReturnRequest};
use kitroom_store::StoreError;
use serde::Deserialize;
use uuid::Uuid;

use crate::auth::{parse_id, set_flash, Ctx, FormBody};
use crate::lend_to::Refusal;
use crate::loans::due_from_form;
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

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct NewKitForm {
    name: String,
    notes: String,
}

async fn list(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let kits = state.store().list_kits().await?;
    Ok(v::list(&ctx, &kits, "", "", &Invalid::new()).into_response())
}

async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<NewKitForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let mut invalid = Invalid::new();
    let name = invalid.check("name", kit_name(&form.name));
    let notes = invalid.check("notes", text(&form.notes, "Notes", 500));
    let refused = |invalid: Invalid, kits| {
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            v::list(&ctx, kits, &form.name, &form.notes, &invalid),
        )
            .into_response()
    };
    let (Some(name), Some(notes)) = (name, notes) else {
        let kits = state.store().list_kits().await?;
        return Ok(refused(invalid, &kits));
    };
    match state
        .store()
        .create_kit(ctx.user.actor(), name.clone(), notes)
        .await
    {
        Ok(id) => {
            set_flash(
                &ctx.session,
                format!(
                    "The set {name} is made. Add its devices by tag or by scanning their labels."
                ),
            )
            .await?;
            Ok(Redirect::to(&kit_url(id)).into_response())
        }
        Err(StoreError::Invalid(i)) => {
            let kits = state.store().list_kits().await?;
            Ok(refused(i, &kits))
        }
        Err(e) => Err(e.into()),
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
        .list_kits()
        .await?
        .into_iter()
        .map(|k| (k.id, k.name, usize::try_from(k.devices).unwrap_or(0)))
        .collect();
    let school = state.store().settings().await?.school_name;
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
    let kit = kit(&state, &id).await?;
    let school = state.store().settings().await?.school_name;
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

async fn kit(state: &AppState, id: &str) -> Result<Kit, AppError> {
    state
        .store()
        .kit(parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)
}

/// Fills in the page's lists: periods, people to lend to, the return room.
async fn page_for(ctx: &Ctx, state: &AppState, kit: Uuid) -> Result<KitPage, AppError> {
    let settings = state.store().settings().await?;
    let calendar = state.store().calendar().await?;
    let people = if ctx.may(Permission::LendToAnyone) {
        state
            .store()
            .list_people(&Default::default())
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
    let found = state.store().kit(kit).await?;
    match found.as_ref().and_then(|k| k.open.as_ref()) {
        Some(open) => lent = state.store().accessories_lent(None, Some(open.id)).await?,
        None => stock = state.store().accessories_in_stock().await?,
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
                let questions = state.store().checklist(*kind).await?;
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
    let kit = kit(&state, &id).await?;
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
    let kit = kit(state, id).await?;
    Ok((status, v::show(ctx, &kit, &page, Utc::now())).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct AddForm {
    tag: String,
}

async fn add_device(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<AddForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let k = kit(&state, &id).await?;
    let tag = form
        .tag
        .trim()
        .rsplit_once("/d/")
        .map(|(_, t)| t)
        .unwrap_or(form.tag.trim())
        .to_owned();
    let refusal = if tag.is_empty() {
        Some(Invalid::one(
            "tag",
            "Enter the device's asset tag, or scan its label.",
        ))
    } else {
        match state
            .store()
            .add_to_kit(ctx.user.actor(), k.id, tag.clone())
            .await
        {
            Ok(()) => None,
            Err(StoreError::Invalid(i)) => Some(i),
            Err(e) => return Err(e.into()),
        }
    };
    match refusal {
        None => {
            set_flash(&ctx.session, format!("{tag} is now in {}.", k.name)).await?;
            Ok(Redirect::to(&format!("{}#add", kit_url(k.id))).into_response())
        }
        Some(invalid) => {
            let mut page = page_for(&ctx, &state, k.id).await?;
            page.add = invalid;
            page.add_tag = form.tag;
            render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await
        }
    }
}

async fn remove_device(
    ctx: Ctx,
    State(state): State<AppState>,
    Path((id, tag)): Path<(String, String)>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ManageRegister)?;
    let k = kit(&state, &id).await?;
    state
        .store()
        .remove_from_kit(ctx.user.actor(), k.id, tag.clone())
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
    let k = kit(&state, &id).await?;
    let mut page = page_for(&ctx, &state, k.id).await?;
    page.checkout = form.clone();
    let borrower = match crate::lend_to::borrower(&state, &ctx.user, &form.borrower).await {
        Ok(p) => p,
        Err(Refusal::Forbidden) => return Err(AppError::Forbidden),
        Err(Refusal::Store(e)) => return Err(e.into()),
        Err(Refusal::NotFound(m)) => {
            page.checkout_refusal = Some(m);
            return render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await;
        }
    };
    let settings = state.store().settings().await?;
    let calendar = state.store().calendar().await?;
    let now = Utc::now();
    let due_at = match due_from_form(&form, &calendar, &settings, now) {
        Ok(d) => d,
        Err(m) => {
            page.checkout_refusal = Some(m);
            return render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await;
        }
    };
    let purpose = match text(&form.purpose, "Purpose", 200) {
        Ok(p) => p,
        Err(m) => {
            page.checkout_refusal = Some(m);
            return render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await;
        }
    };
    let taking = match crate::accessories::taking(&form.also, &form.also_count) {
        Ok(t) => t,
        Err(m) => {
            page.checkout_refusal = Some(m);
            return render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await;
        }
    };
    let request = CheckOutRequest {
        due_at,
        purpose,
        off_site: false,
        head_authorised: false,
    };
    match state
        .store()
        .check_out_kit(ctx.user.actor(), k.id, borrower.id, request, taking)
        .await
    {
        Ok((group, staying)) => {
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
        Err(StoreError::Kit(refusal)) => {
            let status = if refusal.is_conflict() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            page.checkout_refusal = Some(match &refusal {
                kitroom_core::kit::KitRefusal::CheckOut {
                    refusal: CheckOutRefusal::PolicyNotSigned { version_label },
                    ..
                } if borrower.id != ctx.user.id => format!(
                    "{} has not signed the acceptable-use policy ({version_label}) yet, so they cannot borrow. Ask them to sign it in Kitroom first.",
                    borrower.full_name
                ),
                kitroom_core::kit::KitRefusal::CheckOut { refusal, .. }
                    if !matches!(refusal, CheckOutRefusal::NotAvailable(_)) =>
                {
                    refusal.to_string()
                }
                other => other.to_string(),
            });
            render(&ctx, &state, &id, status, page).await
        }
        Err(StoreError::Invalid(i)) if i.for_field("accessories").is_some() => {
            page.checkout_refusal = i.for_field("accessories").map(str::to_owned);
            render(&ctx, &state, &id, StatusCode::CONFLICT, page).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn return_kit(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let k = kit(&state, &id).await?;
    let Some(group) = &k.open else {
        return Err(AppError::Conflict(format!(
            "{} is not checked out, so there is nothing to return.",
            k.name
        )));
    };
    if group.borrower != ctx.user.username && !ctx.may(Permission::LendToAnyone) {
        return Err(AppError::Forbidden);
    }
    let fields: BTreeMap<&str, &str> = form
        .iter()
        .filter(|(k, _)| k != "back")
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let flag = |name: &str| {
        fields
            .get(name)
            .is_some_and(|v| matches!(*v, "on" | "true" | "1" | "yes"))
    };
    let mut page = page_for(&ctx, &state, k.id).await?;
    let mut request = KitReturnRequest {
        location: match fields.get("location").map(|l| l.trim()) {
            Some(l) if !l.is_empty() => l.to_owned(),
            _ => page.return_location.clone(),
        },
        on_charge: flag("on_charge"),
        images_cleared: flag("images_cleared"),
        ..Default::default()
    };
    page.answers = fields
        .iter()
        .filter(|(k, _)| k.starts_with("check.") || k.starts_with("which."))
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    let mut checklist = BTreeMap::new();
    for (kind, questions) in &page.checklist {
        let answers = (0..questions.len())
            .map(
                |i| match fields.get(format!("check.{}.{i}", kind.as_str()).as_str()) {
                    Some(&"yes") => Some(true),
                    Some(&"no") => Some(false),
                    _ => None,
                },
            )
            .collect();
        let which = (0..questions.len())
            .map(|i| {
                fields
                    .get(format!("which.{}.{i}", kind.as_str()).as_str())
                    .map(|w| (*w).to_owned())
                    .unwrap_or_default()
            })
            .collect();
        checklist.insert(kind.as_str().to_owned(), (answers, which));
    }
    request.checklist = Some(checklist);
    page.typed_back = form
        .iter()
        .filter(|(k, _)| k.starts_with("acc_back."))
        .cloned()
        .collect();
    match crate::accessories::counted_back(
        page.typed_back
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str())),
    ) {
        Ok(b) => request.accessories_back = Some(b),
        Err(m) => {
            page.return_refusal = Some(m);
            return render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await;
        }
    }
    for l in &group.loans {
        if form
            .iter()
            .any(|(k, v)| k == "back" && v.eq_ignore_ascii_case(&l.device_tag))
        {
            request.came_back.push(l.device_id);
        }
        let field = format!("battery.{}", l.device_tag);
        if let Some(b) = fields
            .get(field.as_str())
            .map(|b| b.trim().trim_end_matches('%').trim())
        {
            if !b.is_empty() {
                match b.parse::<i64>() {
                    Ok(n) => {
                        request.battery.insert(l.device_id, n);
                    }
                    Err(_) => {
                        page.return_refusal = Some(format!(
                            "The battery level of {} must be a number from 0 to 100.",
                            l.device_tag
                        ));
                        return render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page)
                            .await;
                    }
                }
            }
        }
    }
    match kitroom_core::device::location_name(&request.location) {
        Ok(l) => request.location = l,
        Err(m) => {
            page.return_refusal = Some(m);
            return render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await;
        }
    }
    let location = request.location.clone();
    match state
        .store()
        .return_kit(
            ctx.user.actor(),
            ctx.user.full_name.clone(),
            k.id,
            request,
            state.email_link_base(),
        )
        .await
    {
        Ok(done) => {
            let mut message = format!(
                "{} is returned to the {location}: {} back{}.",
                k.name,
                done.back.len(),
                if flag("on_charge") {
                    " and on charge"
                } else {
                    ""
                }
            );
            if !done.damaged.is_empty() {
                let tags: Vec<&str> = done.damaged.iter().map(|(t, _)| t.as_str()).collect();
                message.push_str(&format!(
                    " The checklist found damage, so a damage report is open for {}.",
                    tags.join(", ")
                ));
                state.wake_mailer();
            }
            if !done.missing.is_empty() {
                let tags: Vec<&str> = done.missing.iter().map(|(t, _)| t.as_str()).collect();
                message.push_str(&format!(
                    " Missing: {}. {} reported lost and the business manager has been told.",
                    tags.join(", "),
                    if tags.len() == 1 { "It is" } else { "They are" }
                ));
                state.wake_mailer();
            }
            set_flash(&ctx.session, message).await?;
            Ok(Redirect::to(&kit_url(k.id)).into_response())
        }
        Err(StoreError::Kit(refusal)) => {
            page.return_refusal = Some(refusal.to_string());
            let status = if refusal.is_conflict() {
                StatusCode::CONFLICT
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            render(&ctx, &state, &id, status, page).await
        }
        Err(StoreError::Invalid(i))
            if i.for_field("checklist").is_some() || i.for_field("accessories").is_some() =>
        {
            page.return_refusal = i
                .for_field("checklist")
                .or(i.for_field("accessories"))
                .map(str::to_owned);
            render(&ctx, &state, &id, StatusCode::UNPROCESSABLE_ENTITY, page).await
        }
        Err(e) => Err(e.into()),
    }
}
