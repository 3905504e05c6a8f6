//! Bookings: the calendar by day and by week with what is booked, by whom, and what
//! is still free; booking a device, a set or any N of a kind for a period or a time
//! range; collecting a booking as a loan in one step; cancelling.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, Duration, NaiveDate, NaiveTime, Utc};
use kitroom_core::booking::{BookingStatus, Slot};
use kitroom_core::calendar::Calendar;
use kitroom_core::device::parse_date;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::bookings::{Alternatives, Booked, Booking, BookingFilter};
use kitroom_store::StoreError;
use serde::Deserialize;

use crate::auth::{parse_id, set_flash, Ctx, FormBody, QueryParams};
use crate::error::{page_refusal, status_of};
use crate::views::bookings as v;
use crate::views::bookings::{when_slot, Row};
// Where the API still finds them.
pub use crate::permits::may_act;
pub use crate::views::bookings::BookingForm;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/bookings", get(calendar).post(create))
        .route("/bookings/new", get(new))
        .route("/bookings/feed", get(feed_page).post(new_feed))
        .route("/bookings/{id}/cancel", post(cancel))
        .route("/bookings/{id}/collect", get(collect_page).post(collect))
}

/// The calendar feed itself: opened by a calendar program without a session; the
/// secret in the address is the only key.
pub fn feed_router() -> Router<AppState> {
    Router::new().route("/feeds/{token}/bookings.ics", get(feed))
}

async fn feed_page(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let has = state.store().has_feed(ctx.user.id).await?;
    Ok(v::feed(&ctx, has, None).into_response())
}

/// Makes a new feed address and shows it once; only its hash is kept.
async fn new_feed(
    ctx: Ctx,
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
) -> Result<Response, AppError> {
    let url = make_feed_address(&ctx, &state, &headers).await?;
    Ok(v::feed(&ctx, true, Some(&url)).into_response())
}

/// Gives the person a new feed address and returns it; only its hash is kept, and
/// any earlier address stops working.
pub async fn make_feed_address(
    ctx: &Ctx,
    state: &AppState,
    headers: &axum::http::HeaderMap,
) -> Result<String, AppError> {
    ctx.require(Permission::Borrow)?;
    let token = crate::auth::random_token();
    state
        .store()
        .set_feed_token(
            ctx.user.actor(),
            ctx.user.id,
            crate::auth::token_hash(&token),
        )
        .await?;
    Ok(format!(
        "{}/feeds/{token}/bookings.ics",
        state.page_address(headers).base
    ))
}

/// How long the feed shows past bookings, and cancelled ones (as cancelled, so that
/// calendar programs that already hold them take them off).
pub const FEED_DAYS: i64 = 30;

async fn feed(State(state): State<AppState>, Path(token): Path<String>) -> Response {
    let answer = async {
        let Some(person) = state
            .store()
            .feed_owner(&crate::auth::token_hash(&token))
            .await?
        else {
            return Ok::<_, StoreError>(None);
        };
        let bookings = state
            .store()
            .list_bookings(&BookingFilter {
                from: Some(Utc::now() - Duration::days(FEED_DAYS)),
                person: Some(person),
                holding: true,
                cancelled_since: Some(Utc::now() - Duration::days(FEED_DAYS)),
                limit: 1000,
                ..Default::default()
            })
            .await?;
        let name = state
            .store()
            .account_by_id(person)
            .await?
            .map(|p| p.full_name)
            .unwrap_or_default();
        let now = Utc::now();
        let events: Vec<kitroom_core::ical::IcsEvent> = bookings
            .iter()
            .map(|b| {
                let cancelled = b.status == BookingStatus::Cancelled;
                kitroom_core::ical::IcsEvent {
                    uid: format!("{}@kitroom", b.id),
                    stamp: now,
                    starts_at: b.slot.starts_at,
                    ends_at: b.slot.ends_at,
                    summary: format!("Kitroom: {}", b.booked.describe()),
                    description: [
                        b.purpose.clone(),
                        if b.devices.is_empty() || matches!(b.booked, Booked::Device { .. }) {
                            String::new()
                        } else {
                            format!("Devices: {}", b.devices.join(", "))
                        },
                        b.status.label().to_owned(),
                    ]
                    .into_iter()
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join("\n"),
                    location: String::new(),
                    cancelled,
                    // Bookings are not edited, so a booking has two versions: as made,
                    // and cancelled.
                    sequence: u32::from(cancelled),
                }
            })
            .collect();
        Ok(Some(kitroom_core::ical::calendar(
            &format!("Kitroom bookings: {name}"),
            &events,
        )))
    };
    match answer.await {
        Ok(Some(ics)) => (
            [
                (
                    axum::http::header::CONTENT_TYPE,
                    "text/calendar; charset=utf-8",
                ),
                (axum::http::header::CACHE_CONTROL, "no-store"),
            ],
            ics,
        )
            .into_response(),
        Ok(None) => (
            StatusCode::NOT_FOUND,
            "This calendar address is not in use. Make a new one in Kitroom.",
        )
            .into_response(),
        Err(e) => AppError::from(e).into_response(),
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CalendarQuery {
    pub view: String,
    pub date: String,
}

async fn calendar(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<CalendarQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let today = crate::time::today();
    let day = parse_date(&q.date, "The date")
        .ok()
        .flatten()
        .unwrap_or(today);
    let store = state.store();
    let calendar = store.calendar(ctx.user.school).await?;
    let settings = store.settings(ctx.user.school).await?;
    let accessories = store.counts_accessories(ctx.user.school).await?;
    if q.view == "week" {
        let monday = day - Duration::days(day.weekday().num_days_from_monday().into());
        let days: Vec<NaiveDate> = (0..5).map(|i| monday + Duration::days(i)).collect();
        let bookings = store
            .list_bookings(&BookingFilter {
                school: Some(ctx.user.school),
                from: Some(Calendar::at(monday, NaiveTime::MIN)),
                to: Some(Calendar::at(monday + Duration::days(7), NaiveTime::MIN)),
                holding: true,
                limit: 2000,
                ..Default::default()
            })
            .await?;
        return Ok(v::week(&ctx, monday, &days, &bookings, &calendar, accessories).into_response());
    }
    let mut rows = Vec::new();
    let stretches: Vec<(String, Option<String>, NaiveTime, NaiveTime)> =
        if calendar.periods.is_empty() {
            vec![(
                "The school day".into(),
                None,
                NaiveTime::from_hms_opt(8, 0, 0).unwrap_or_default(),
                settings.day_ends_at,
            )]
        } else {
            calendar
                .periods
                .iter()
                .map(|p| {
                    (
                        format!(
                            "{}, {}–{}",
                            p.name,
                            p.starts.format("%H:%M"),
                            p.ends.format("%H:%M")
                        ),
                        Some(p.name.clone()),
                        p.starts,
                        p.ends,
                    )
                })
                .collect()
        };
    for (label, period, a, b) in stretches {
        let slot = Slot {
            starts_at: Calendar::at(day, a),
            ends_at: Calendar::at(day, b),
        };
        if slot.ends_at <= slot.starts_at {
            continue;
        }
        let bookings = store
            .list_bookings(&BookingFilter {
                school: Some(ctx.user.school),
                from: Some(slot.starts_at),
                to: Some(slot.ends_at),
                holding: true,
                limit: 500,
                ..Default::default()
            })
            .await?;
        let free = store.free_for(ctx.user.school, slot).await?;
        rows.push(Row {
            label,
            slot,
            period,
            bookings,
            free,
        });
    }
    let closed = calendar.no_school(day).map(|n| n.to_string());
    Ok(v::day(&ctx, day, &rows, closed.as_deref(), Utc::now(), accessories).into_response())
}

async fn new(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(form): QueryParams<BookingForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let mut form = form;
    if form.date.is_empty() {
        form.date = crate::time::today().to_string();
    }
    render_form(&ctx, &state, &form, &Invalid::new(), None, StatusCode::OK).await
}

async fn render_form(
    ctx: &Ctx,
    state: &AppState,
    form: &BookingForm,
    invalid: &Invalid,
    refused: Option<(&str, &Alternatives)>,
    status: StatusCode,
) -> Result<Response, AppError> {
    let calendar = state.store().calendar(ctx.user.school).await?;
    let periods: Vec<String> = calendar.periods.iter().map(|p| p.name.clone()).collect();
    let kits = state.store().list_kits(ctx.user.school).await?;
    let example = state.store().example_tag(ctx.user.school).await?;
    Ok((
        status,
        v::form(
            ctx,
            form,
            &periods,
            &kits,
            invalid,
            refused,
            example.as_deref(),
        ),
    )
        .into_response())
}

async fn create(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(input): FormBody<kitroom_app::bookings::BookingInput>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let form = BookingForm::from(&input);
    match kitroom_app::bookings::book(state.app(), &ctx.user, input).await {
        Ok(b) => {
            let whom = if b.person == ctx.user.username {
                "you".to_owned()
            } else {
                b.person_name.clone()
            };
            let from =
                b.slot.starts_at - Duration::minutes(kitroom_core::booking::COLLECT_EARLY_MINUTES);
            let collect = if Utc::now() >= from {
                "Collect it now with “Collect” below.".to_owned()
            } else {
                format!(
                    "Collect it from {} with “Collect” here or on its page.",
                    crate::time::when(from)
                )
            };
            set_flash(
                &ctx.session,
                format!(
                    "{} is booked for {whom}, {}. {collect}",
                    b.booked.describe(),
                    when_slot(&b.slot),
                ),
            )
            .await?;
            Ok(Redirect::to(&format!(
                "/bookings?date={}",
                Calendar::day_of(b.slot.starts_at)
            ))
            .into_response())
        }
        Err(e) => {
            let refusal = page_refusal(e)?;
            let status = status_of(refusal.kind);
            match &refusal.fields {
                Some(invalid) => render_form(&ctx, &state, &form, invalid, None, status).await,
                None => {
                    let alternatives = kitroom_app::bookings::alternatives(&refusal);
                    render_form(
                        &ctx,
                        &state,
                        &form,
                        &Invalid::new(),
                        Some((&refusal.message, &alternatives)),
                        status,
                    )
                    .await
                }
            }
        }
    }
}

async fn owned(ctx: &Ctx, state: &AppState, id: &str) -> Result<Booking, AppError> {
    let b = state
        .store()
        .booking(ctx.user.school, parse_id(id)?)
        .await?
        .ok_or(AppError::NotFound)?;
    if !kitroom_app::bookings::may_act(&ctx.user, &b) {
        return Err(AppError::Forbidden);
    }
    Ok(b)
}

async fn cancel(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let b = kitroom_app::bookings::cancel(state.app(), &ctx.user, &id).await?;
    set_flash(
        &ctx.session,
        format!(
            "The booking of {} for {} is cancelled.",
            b.booked.describe(),
            when_slot(&b.slot)
        ),
    )
    .await?;
    Ok(Redirect::to(&format!(
        "/bookings?date={}",
        Calendar::day_of(b.slot.starts_at)
    ))
    .into_response())
}

/// "Also taking" on the collect form, as typed.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CollectForm {
    also: String,
    also_count: String,
}

/// The collect page: the booking, and "Also taking" (chargers, cables) before the
/// one press that checks it out. The Collect button beside a booking skips it.
async fn collect_page(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let b = owned(&ctx, &state, &id).await?;
    let stock = state.store().accessories_in_stock(ctx.user.school).await?;
    Ok(v::collect(&ctx, &b, &stock, "", "", &Invalid::new()).into_response())
}

/// The collect page again, 409 or 422, saying why the accessories could not go out
/// (the error summary, the message beside them), with the choice as typed. Nothing
/// was lent.
async fn collect_refused(
    ctx: &Ctx,
    state: &AppState,
    b: &Booking,
    form: &CollectForm,
    invalid: &Invalid,
    status: StatusCode,
) -> Result<Response, AppError> {
    let stock = state.store().accessories_in_stock(ctx.user.school).await?;
    Ok((
        status,
        v::collect(ctx, b, &stock, &form.also, &form.also_count, invalid),
    )
        .into_response())
}

async fn collect(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(id): Path<String>,
    FormBody(form): FormBody<CollectForm>,
) -> Result<Response, AppError> {
    ctx.require(Permission::Borrow)?;
    let input = kitroom_app::bookings::CollectInput {
        also: form.also.clone(),
        also_count: form.also_count.clone(),
        ..Default::default()
    };
    match kitroom_app::bookings::collect(state.app(), &ctx.user, &id, input).await {
        Ok(b) => {
            let settings = state.store().settings(ctx.user.school).await?;
            set_flash(
                &ctx.session,
                format!(
                    "{} is checked out to {} until {}. Bring it back to the {} and put it on charge.",
                    b.booked.describe(),
                    if b.person == ctx.user.username { "you".to_owned() } else { b.person_name.clone() },
                    crate::time::when(b.slot.ends_at),
                    settings.return_location
                ),
            )
            .await?;
            let to = match &b.booked {
                Booked::Device { tag, .. } => crate::paths::device_url(tag),
                Booked::Set { id, .. } => crate::paths::kit_url(*id),
                Booked::Kind { .. } => "/".to_owned(),
            };
            Ok(Redirect::to(&to).into_response())
        }
        Err(e) => {
            let refusal = crate::error::page_refusal(e)?;
            if refusal.for_field("accessories").is_none() {
                return Err(AppError::Refused(Box::new(refusal)));
            }
            let invalid = crate::error::refusal_fields(&refusal, "accessories");
            let b = owned(&ctx, &state, &id).await?;
            collect_refused(&ctx, &state, &b, &form, &invalid, status_of(refusal.kind)).await
        }
    }
}
