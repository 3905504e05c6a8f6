//! Booking pages: the calendar by day and by week, the booking form with what is
//! free when a booking clashes, and the "my bookings" partial.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use kitroom_core::booking::{BookingStatus, Slot};
use kitroom_core::calendar::Calendar;
use kitroom_core::device::DeviceKind;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::bookings::{Alternatives, Booked, Booking};
use kitroom_store::kits::KitSummary;
use maud::{html, Markup};
use serde::Deserialize;

use super::{csrf, error_summary, page, select, url_encode, with_error, Field, Section};
use crate::auth::ctx::Ctx;
use crate::permits::may_act;

fn what(b: &Booking) -> Markup {
    html! {
        @match &b.booked {
            Booked::Device { tag, .. } => a href=(crate::paths::device_url(tag)) { (tag) },
            Booked::Set { id, name } => a href=(crate::paths::kit_url(*id)) { (name) },
            Booked::Kind { .. } => (b.booked.describe()),
        }
    }
}

/// Partial: collect and cancel buttons for someone who may use them; collecting
/// with chargers or cables only where the school counts accessories.
fn actions(ctx: &Ctx, b: &Booking, now: DateTime<Utc>, accessories: bool) -> Markup {
    let collectable = now
        >= b.slot.starts_at - Duration::minutes(kitroom_core::booking::COLLECT_EARLY_MINUTES)
        && now < b.slot.ends_at;
    html! {
        @if b.status == BookingStatus::Booked && may_act(&ctx.user, b) {
            div.actions {
                @if collectable {
                    form method="post" action={ "/bookings/" (b.id) "/collect" } {
                        (csrf(&ctx.csrf))
                        button.primary type="submit" { "Collect " (b.booked.describe()) }
                    }
                    @if accessories {
                        a href={ "/bookings/" (b.id) "/collect" } { "Collect with chargers or cables" }
                    }
                }
                form method="post" action={ "/bookings/" (b.id) "/cancel" } {
                    (csrf(&ctx.csrf))
                    button.secondary type="submit" { "Cancel booking" }
                }
            }
        }
    }
}

/// Partial: one booking in a list.
pub fn booking_item(ctx: &Ctx, b: &Booking, now: DateTime<Utc>, accessories: bool) -> Markup {
    html! {
        li.booking {
            strong { (what(b)) } " · " (when_slot(&b.slot))
            br;
            (b.person_name)
            @if !b.purpose.is_empty() { " · " (b.purpose) }
            @if b.status != BookingStatus::Booked { " " span.badge { (b.status.label()) } }
            @if matches!(b.booked, Booked::Kind { .. }) && !b.devices.is_empty() {
                br; span.muted { "Held: " (b.devices.join(", ")) }
            }
            (actions(ctx, b, now, accessories))
        }
    }
}

fn nav(view: &str, day: NaiveDate) -> Markup {
    let step = if view == "week" { 7 } else { 1 };
    let prev = day - Duration::days(step);
    let next = day + Duration::days(step);
    html! {
        nav.tabs aria-label="Calendar view" {
            a href={ "/bookings?date=" (day) } aria-current=[(view != "week").then_some("page")] { "Day" }
            a href={ "/bookings?view=week&date=" (day) } aria-current=[(view == "week").then_some("page")] { "Week" }
        }
        p.calendar-nav {
            a href={ "/bookings?" @if view == "week" { "view=week&" } "date=" (prev) } { "← Earlier" }
            " · "
            a href={ "/bookings?" @if view == "week" { "view=week&" } } { "Today" }
            " · "
            a href={ "/bookings?" @if view == "week" { "view=week&" } "date=" (next) } { "Later →" }
        }
    }
}

pub fn day(
    ctx: &Ctx,
    day: NaiveDate,
    rows: &[Row],
    closed: Option<&str>,
    now: DateTime<Utc>,
    accessories: bool,
) -> Markup {
    page(
        ctx,
        Section::Bookings,
        &format!("Bookings, {}", day.format("%A %-d %B %Y")),
        html! {
            (nav("day", day))
            p { a.button.primary href={ "/bookings/new?date=" (day) } { "Book devices" } " " a href="/bookings/feed" { "See your bookings in your calendar" } }
            @if let Some(why) = closed { div.notice { "There is no school this day: " (why) "." } }
            @for r in rows {
                section.period {
                    h2 { (r.label) }
                    @if r.bookings.is_empty() {
                        p.muted { "Nothing booked." }
                    } @else {
                        ul.bookings { @for b in &r.bookings { (booking_item(ctx, b, now, accessories)) } }
                    }
                    @if r.slot.ends_at > now {
                        p.free {
                            strong { "Free: " }
                            @if r.free.kinds.is_empty() && r.free.sets.is_empty() { "nothing." }
                            @for (i, (kind, n)) in r.free.kinds.iter().enumerate() {
                                @if i > 0 { ", " }
                                a href=(book_link(day, r.period.as_deref(), &format!("kind={}", kind.as_str()))) { (n) " " (kitroom_core::booking::kind_plural(*kind, *n as u32)) }
                            }
                            @if !r.free.sets.is_empty() {
                                br; strong { "Sets free: " }
                                @for (i, (id, name)) in r.free.sets.iter().enumerate() {
                                    @if i > 0 { ", " }
                                    a href=(book_link(day, r.period.as_deref(), &format!("set={id}"))) { (name) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

fn book_link(day: NaiveDate, period: Option<&str>, what: &str) -> String {
    let mut s = format!("/bookings/new?date={day}&{what}");
    if let Some(p) = period {
        s.push_str("&period=");
        s.push_str(&url_encode(p));
    }
    s
}

pub fn week(
    ctx: &Ctx,
    monday: NaiveDate,
    days: &[NaiveDate],
    bookings: &[Booking],
    calendar: &Calendar,
    accessories: bool,
) -> Markup {
    let now = Utc::now();
    page(
        ctx,
        Section::Bookings,
        &format!("Bookings, week of {}", monday.format("%-d %B %Y")),
        html! {
            (nav("week", monday))
            @for d in days {
                section.day {
                    h2 { a href={ "/bookings?date=" (d) } { (d.format("%A %-d %B")) } }
                    @if let Some(why) = calendar.no_school(*d) { p.muted { "No school: " (why) "." } }
                    @let todays: Vec<&Booking> = bookings.iter().filter(|b| Calendar::day_of(b.slot.starts_at) <= *d && Calendar::day_of(b.slot.ends_at) >= *d).collect();
                    @if todays.is_empty() {
                        p.muted { "Nothing booked. " a href={ "/bookings/new?date=" (d) } { "Book devices" } }
                    } @else {
                        ul.bookings { @for b in todays { (booking_item(ctx, b, now, accessories)) } }
                    }
                }
            }
        },
    )
}

pub fn form(
    ctx: &Ctx,
    f: &BookingForm,
    periods: &[String],
    kits: &[KitSummary],
    invalid: &Invalid,
    refused: Option<(&str, &Alternatives)>,
    example_tag: Option<&str>,
) -> Markup {
    let device_hint = match example_tag {
        Some(t) => format!("Its asset tag, like {t}"),
        None => "Its asset tag, as on its label".to_owned(),
    };
    let kinds: Vec<(&str, &str)> = std::iter::once(("", "—"))
        .chain(DeviceKind::ALL.iter().map(|k| (k.as_str(), k.label())))
        .collect();
    let sets: Vec<(String, String)> = std::iter::once((String::new(), "—".to_owned()))
        .chain(kits.iter().map(|k| (k.id.to_string(), k.name.clone())))
        .collect();
    let sets: Vec<(&str, &str)> = sets.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let period_options: Vec<(&str, &str)> = std::iter::once(("", "Times below"))
        .chain(periods.iter().map(|p| (p.as_str(), p.as_str())))
        .collect();
    page(
        ctx,
        Section::Bookings,
        "Book devices",
        html! {
            @if let Some((message, alt)) = refused {
                div.error-summary role="alert" tabindex="-1" {
                    h2 { "That could not be booked" }
                    p { (message) }
                    @if !alt.devices.is_empty() || !alt.sets.is_empty() {
                        p { "Free for all of that time:" }
                        ul.alternatives {
                            @for tag in &alt.devices {
                                li { a href=(again(f, &format!("device={}", url_encode(tag)))) { "Book " (tag) } }
                            }
                            @for (id, name) in &alt.sets {
                                li { a href=(again(f, &format!("set={id}"))) { "Book " (name) } }
                            }
                        }
                    } @else {
                        p { "Nothing else like it is free then. " a href={ "/bookings?date=" (f.date) } { "See what is free that day" } }
                    }
                }
            }
            (error_summary(invalid))
            form method="post" action="/bookings" novalidate {
                (csrf(&ctx.csrf))
                fieldset {
                    legend { "What" }
                    p.hint { "One device by its tag, a whole set, or a number of devices of a kind." }
                    (Field::text("device", "A device", &f.device).hint(&device_hint).render(invalid))
                    (select("set", "A set", &sets, &f.set, invalid))
                    div.filter-grid {
                        (select("kind", "Any devices of a kind", &kinds, &f.kind, invalid))
                        (Field::text("count", "How many", &f.count).kind("number").render(invalid))
                    }
                }
                @if ctx.may(Permission::LendToAnyone) {
                    (Field::text("borrower", "For", &f.borrower).hint("Type a name or username. Leave empty to book for yourself.").render(invalid))
                    p { a href=(super::lend_to::find_url(&f.borrower, "/bookings/new")) { "Search for a person by part of their name" } }
                }
                (Field::text("date", "Date", &f.date).kind("date").required().render(invalid))
                @if !periods.is_empty() {
                    (select("period", "Period", &period_options, &f.period, invalid))
                }
                div.filter-grid {
                    (Field::text("from", "From", &f.from).kind("time").hint("Leave empty when a period is chosen").render(invalid))
                    (Field::text("to", "To", &f.to).kind("time").render(invalid))
                }
                (Field::text("purpose", "Purpose", &f.purpose).hint("For example: 6B science").render(invalid))
                button.primary type="submit" { "Book" }
            }
        },
    )
}

/// The form's address again with a different thing to book.
fn again(f: &BookingForm, what: &str) -> String {
    let mut s = format!("/bookings/new?{what}&date={}", url_encode(&f.date));
    for (k, v) in [
        ("period", &f.period),
        ("from", &f.from),
        ("to", &f.to),
        ("purpose", &f.purpose),
        ("borrower", &f.borrower),
    ] {
        if !v.is_empty() {
            s.push_str(&format!("&{k}={}", url_encode(v)));
        }
    }
    s
}

/// The collect page: the booking, "Also taking", and the button that checks it
/// out; `invalid` says why the last try was refused, with the choice kept.
pub fn collect(
    ctx: &Ctx,
    b: &Booking,
    stock: &[kitroom_store::accessories::Stock],
    also: &str,
    also_count: &str,
    invalid: &Invalid,
) -> Markup {
    page(
        ctx,
        Section::Bookings,
        &format!("Collect {}", b.booked.describe()),
        html! {
            (error_summary(invalid))
            p.lead { (what(b)) " · " (when_slot(&b.slot)) " · " (b.person_name) @if !b.purpose.is_empty() { " · " (b.purpose) } }
            @if b.status != BookingStatus::Booked {
                p { "This booking is " (b.status.label().to_lowercase()) ", so there is nothing to collect." }
            } @else {
                form.checkout method="post" action={ "/bookings/" (b.id) "/collect" } novalidate {
                    (csrf(&ctx.csrf))
                    @if stock.is_empty() {
                        p.hint { "No chargers, cables or other accessories are counted in Kitroom yet, so only the booking goes out." }
                    }
                    (with_error("accessories", invalid, super::accessories::also_taking(stock, also, also_count, invalid)))
                    button.primary.big type="submit" { "Collect " (b.booked.describe()) }
                }
            }
            p { a href="/bookings" { "Back to the calendar" } }
        },
    )
}

/// Partial: a person's upcoming bookings, for the home page and a set's page.
pub fn upcoming(
    ctx: &Ctx,
    title: &str,
    bookings: &[Booking],
    now: DateTime<Utc>,
    accessories: bool,
) -> Markup {
    html! {
        @if !bookings.is_empty() {
            h2 { (title) }
            ul.bookings { @for b in bookings { (booking_item(ctx, b, now, accessories)) } }
        }
    }
}

/// The calendar feed page: make an address, and see it once.
pub fn feed(ctx: &Ctx, has: bool, new_url: Option<&str>) -> Markup {
    page(
        ctx,
        Section::Bookings,
        "Your bookings in your calendar",
        feed_body(ctx, has, new_url, "/bookings/feed"),
    )
}

/// Partial: the calendar feed on the account page, the same as its own page; the
/// form posts to `action`, which shows the new address on the page it came from.
pub fn feed_section(ctx: &Ctx, has: bool, new_url: Option<&str>, action: &str) -> Markup {
    html! {
        section #calendar-feed {
            h2 { "Your bookings in your calendar" }
            (feed_body(ctx, has, new_url, action))
        }
    }
}

/// Partial: what the feed is, the address just made (shown once), and the form.
fn feed_body(ctx: &Ctx, has: bool, new_url: Option<&str>, action: &str) -> Markup {
    html! {
        p { "Add this address to your school calendar (Outlook, Google Calendar, Apple Calendar) as a calendar “from the internet” or “by URL”. Your bookings then appear there and update by themselves; a cancelled booking is taken off." }
        @if let Some(url) = new_url {
            div.notice role="status" {
                p { strong { "Your calendar address. Copy it now: it is shown only once." } }
                p { code.token { (url) } }
            }
            p.hint { "Anyone with this address can see your bookings, so keep it to yourself. If it leaks, make a new one: the old one stops working." }
        } @else if has {
            p { "You have a calendar address. It is not shown again; if you have lost it, or someone else has it, make a new one and the old one stops working." }
        } @else {
            p { "You have no calendar address yet." }
        }
        form method="post" action=(action) {
            (csrf(&ctx.csrf))
            button.secondary type="submit" { @if has { "Make a new address" } @else { "Make my calendar address" } }
        }
    }
}

/// The booking form as typed or pre-filled by a link (`?set=…&date=…`); posted, it
/// is read as `kitroom_app::bookings::BookingInput`.
#[derive(Debug, Clone, Default, Deserialize, serde::Serialize)]
#[serde(default)]
pub struct BookingForm {
    pub device: String,
    /// A set's id or name.
    pub set: String,
    pub kind: String,
    pub count: String,
    /// Empty for oneself; a manager may book for anyone.
    pub borrower: String,
    pub date: String,
    pub period: String,
    pub from: String,
    pub to: String,
    pub purpose: String,
}

impl From<&kitroom_app::bookings::BookingInput> for BookingForm {
    /// The form as typed, to show again.
    fn from(i: &kitroom_app::bookings::BookingInput) -> Self {
        BookingForm {
            device: i.device.clone(),
            set: i.set.clone(),
            kind: i.kind.clone(),
            count: i.count.0.clone(),
            borrower: i.borrower.clone(),
            date: i.date.clone(),
            period: i.period.clone(),
            from: i.from.clone(),
            to: i.to.clone(),
            purpose: i.purpose.clone(),
        }
    }
}

/// One stretch of a day in the calendar: a period, or the whole school day.
pub struct Row {
    pub label: String,
    pub slot: Slot,
    pub period: Option<String>,
    pub bookings: Vec<Booking>,
    pub free: kitroom_store::bookings::Free,
}

/// "Thu 26 Nov 2026, 11:15–12:15".
pub fn when_slot(slot: &Slot) -> String {
    let a = crate::time::when(slot.starts_at);
    if Calendar::day_of(slot.starts_at) == Calendar::day_of(slot.ends_at) {
        format!(
            "{a}–{}",
            kitroom_core::time::school_time(slot.ends_at)
                .rsplit(", ")
                .next()
                .unwrap_or("")
        )
    } else {
        format!("{a} to {}", crate::time::when(slot.ends_at))
    }
}
