//! Lending pages: home with "my loans", the loan part of a device's page, all
//! loans, the head's approvals, devices on charge, and label sheets.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kitroom_core::device::DeviceStatus;
use kitroom_core::loan::{OffSite, PolicyStanding};
use kitroom_core::person::Permission;
use kitroom_core::settings::Settings;
use kitroom_core::Invalid;
use kitroom_store::devices::{Device, Position};
use kitroom_store::incidents::{ChangeRequest, DeskCounts, Incident};
use kitroom_store::loans::{Authorisation, Loan, OffsiteRequest};
use kitroom_store::locations::Location;
use maud::{html, Markup, PreEscaped};
use serde::Deserialize;

use super::{
    checkbox_field, csrf, error_summary, page, select, with_error, yes_no, Field, Section,
};
use crate::auth::ctx::Ctx;
use crate::paths::device_url;
use crate::paths::ListQuery;
use crate::time;

/// Partial: "due Mon 23 Nov, 15:30", or how overdue it is.
fn due(loan: &Loan, now: DateTime<Utc>) -> Markup {
    html! {
        @if loan.is_overdue(now) {
            span.badge.overdue { "Overdue" } " was due " (time::when(loan.due_at))
        } @else {
            "Due " (time::when(loan.due_at))
        }
        @if let Some(why) = &loan.due_moved_reason {
            " " span.hint.moved { (why) }
        }
    }
}

/// Partial: the banner that sends someone to sign the policy.
/// `back` is the page to return to once signed.
pub fn policy_banner(standing: &PolicyStanding, back: Option<&str>) -> Markup {
    html! {
        @match standing {
            PolicyStanding::NotSigned { version_label } => div.warning {
                strong { "Sign the acceptable-use policy to borrow devices. " }
                "Version " (version_label) " is in force and you have not signed it yet. "
                a href={ "/policy" @if let Some(b) = back { "?next=" (super::url_encode(b)) } } { "Read and sign the policy" }
            },
            PolicyStanding::NoPolicy => div.warning {
                "No acceptable-use policy has been published yet, so devices cannot be lent."
            },
            PolicyStanding::Signed => {},
        }
    }
}

/// What the home page shows.
pub struct Home<'a> {
    pub mine: &'a [Loan],
    pub bookings: &'a [kitroom_store::bookings::Booking],
    pub standing: &'a PolicyStanding,
    /// The manager's desk: counts and breach deadlines.
    pub desk: Option<&'a (DeskCounts, Vec<Incident>)>,
    pub missing_from_sets: &'a [kitroom_store::kits::MissingFromSet],
    pub missing_police: &'a [Incident],
    /// Accessories not returned: the person's own, and on the manager's desk all.
    pub not_returned_mine: &'a [kitroom_store::accessories::NotReturned],
    pub not_returned_desk: &'a [kitroom_store::accessories::NotReturned],
    /// Emails Kitroom gave up on, on an admin's desk.
    pub undelivered: &'a [kitroom_store::outbox::UndeliveredEmail],
    /// Whether the school counts chargers and cables (then a booking may be
    /// collected with them).
    pub counts_accessories: bool,
}

pub fn home(ctx: &Ctx, h: Home<'_>, now: DateTime<Utc>) -> Markup {
    let Home {
        mine,
        bookings,
        standing,
        desk,
        missing_from_sets,
        missing_police,
        not_returned_mine,
        not_returned_desk,
        undelivered,
        counts_accessories,
    } = h;
    let first = ctx.user.full_name.split_whitespace().next().unwrap_or("");
    page(
        ctx,
        Section::Home,
        &format!("Hello, {first}"),
        html! {
            (super::settings::undelivered(ctx, undelivered))
            @if let Some((counts, deadlines)) = desk {
                (super::incidents::desk(ctx, counts, deadlines, now))
            }
            (missing_on_desk(missing_from_sets))
            (super::accessories::not_returned("Accessories not returned", not_returned_desk, ctx.may(Permission::ManageRegister).then_some(ctx.csrf.as_str())))
        (policy_banner(standing, None))
            @for i in missing_police {
                div.warning {
                    "You reported the theft of " (i.device_tag) ". "
                    a href=(crate::paths::incident_url(i)) { "Add the police crime reference" }
                    " when you have it."
                }
            }
                form.scan method="get" action="/scan" data-camera="open" {
                div.field {
                    label for="tag" { "Find a device" }
                    p.hint { "Type its asset tag, scan its label with a barcode scanner, or open the label's QR code with your phone's camera." }
                    div.inline-input {
                        input #tag name="tag" type="text" autocomplete="off" autocapitalize="characters" spellcheck="false";
                        button.secondary type="submit" { "Open" }
                    }
                }
                (super::camera::camera())
            }
            h2 { "My loans" }
            @if mine.is_empty() {
                div.empty {
                    p { "You have nothing on loan." }
                    p { "To borrow a device, open its page by scanning its label, and press “Check out to me”." }
                }
            } @else {
                ul.loans {
                    @for l in mine {
                        li.overdue[l.is_overdue(now)] {
                            a href=(device_url(&l.device_tag)) { strong { (l.device_tag) } " " (l.device_name) }
                            br;
                            (due(l, now))
                            @if l.off_site { " · off site" }
                            br;
                            a href={ (device_url(&l.device_tag)) "#return" } { "Return it" }
                            " · "
                            a href={ (device_url(&l.device_tag)) "/report" } { "Report a problem" }
                        }
                    }
                }
            }
            (super::accessories::not_returned("Accessories you have not returned", not_returned_mine, None))
            (super::bookings::upcoming(ctx, "My bookings", bookings, now, counts_accessories))
            p { a href="/bookings" { "Bookings calendar" } " · " a href="/bookings/new" { "Book devices for a lesson" } }
        },
    )
}

/// Partial: the loan section of a device's page.
pub fn panel(ctx: &Ctx, device: &Device, p: &LoanPanel) -> Markup {
    let url = device_url(device.details.tag.as_str());
    let now = Utc::now();
    let mine = p
        .open_loan
        .as_ref()
        .is_some_and(|l| l.borrower == ctx.user.username);
    let manager = ctx.may(Permission::LendToAnyone);
    let (ri, ci) = (&p.return_invalid, &p.checkout_invalid);
    html! {
        (super::accessories::not_returned("Accessories not returned with this device", &p.not_returned, ctx.may(Permission::ManageRegister).then_some(ctx.csrf.as_str())))
        section.loan #loan {
            (error_summary(ri))
            (error_summary(ci))
            @if let Some(l) = &p.open_loan {
                h2 { "On loan" }
                div.loan-now.overdue[l.is_overdue(now)] {
                    p { @if mine { "You have it." } @else if ctx.may(Permission::ViewAllLoans) { (l.borrower_name) " (" (l.borrower) ") has it." } @else { (l.borrower_name) " has it." } }
                    p { (due(l, now)) @if l.off_site { " · off site" @if l.authorised { ", authorised by the head teacher" } } }
                    @if !l.purpose.is_empty() { p.muted { "For: " (l.purpose) } }
                    (super::accessories::also_taken(&p.lent))
                }
                @if mine || manager {
                    h2 #return { "Return it" }
                    form.return method="post" action={ (url) "/return" } novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("location", "Returned to", if p.ret.location.is_empty() { &p.return_location } else { &p.ret.location }).hint("Where it lives, unless you are putting it somewhere else").render(ri))
                        (select("condition", "Condition", &[("fine", "Fine"), ("damaged", "Damaged")], if p.ret.condition.is_empty() { "fine" } else { &p.ret.condition }, ri))
                        (Field::text("battery_percent", "Battery level (%)", &p.ret.battery_percent.0).kind("number").hint("As shown on the device, 0 to 100").render(ri))
                        @for (i, q) in p.checklist.iter().enumerate() {
                            (yes_no(kitroom_core::checklist::answer_field(i), &format!("check.{i}"), &q.text, q.damage.then_some(" — opens a damage report"), p.answers.get(i).copied().flatten(), ri))
                        }
                        (with_error("accessories", ri, super::accessories::came_back(&p.lent, &p.typed_back)))
                        (checkbox_field("on_charge", "It is plugged in and charging", p.ret.on_charge.0, Some("Every returned device goes straight on charge, unless it is damaged."), ri))
                        @if device.details.captures_images {
                            (checkbox_field("images_cleared", "Its photos and videos are moved to the school network and deleted from it", p.ret.images_cleared.0, Some("This device takes pictures. Pupils' images must not stay on it."), ri))
                        }
                        button.primary type="submit" { "Return " (device.details.tag) }
                    }
                }
            } @else if device.status == DeviceStatus::Available {
                h2 { "Borrow it" }
                @if let Some(standing) = &p.standing { (policy_banner(standing, Some(&url))) }
                @if p.needs_authorisation {
                    form.offsite-request method="post" action={ (url) "/offsite-request" } novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("reason", "Why it needs to leave the school", &p.offsite_reason).required().hint("For example: writing reports at home this weekend").render(ci))
                        button.secondary type="submit" { "Ask the head teacher" }
                    }
                }
                @match &p.authorisation {
                    Some(Authorisation::Pending) => p.notice { "Your request to take it off site is waiting for the head teacher." },
                    Some(Authorisation::Approved) => p.notice { "The head teacher has authorised you to take it off site." },
                    Some(Authorisation::Declined { note }) => p.warning { "The head teacher declined taking it off site." @if !note.is_empty() { " “" (note) "”" } },
                    _ => {},
                }
                @let may_try = manager || matches!(p.standing, Some(PolicyStanding::Signed));
                @if may_try {
                form.checkout #checkout method="post" action={ (url) "/checkout" } novalidate {
                    (csrf(&ctx.csrf))
                    @if manager {
                        (super::lend_to::field(&p.checkout.borrower, &url, "Leave empty to borrow it yourself.", &p.people, ci))
                    }
                    @let more_wrong = ["due_on", "due_period", "purpose", "off_site"].iter().any(|f| ci.for_field(f).is_some());
                    details.more open[more_wrong || !p.checkout.due_on.is_empty() || !p.checkout.due_period.is_empty() || p.checkout.off_site.0 || !p.checkout.purpose.is_empty()] {
                        summary { "Longer loan, purpose, or taking it home" }
                        (Field::text("due_on", "Return by the end of", &p.checkout.due_on).kind("date").hint("Leave empty for the end of today's school day").render(ci))
                        @if !p.periods.is_empty() {
                            @let options = period_options(&p.periods);
                            (select("due_period", "Return at the end of", &options, &p.checkout.due_period, ci))
                        }
                        (Field::text("purpose", "Purpose", &p.checkout.purpose).hint("For example: Year 5 science").render(ci))
                        (checkbox_field("off_site", "Taking it off the school site", p.checkout.off_site.0, Some(off_site_hint(device)), ci))
                    }
                    (with_error("accessories", ci, super::accessories::also_taking(&p.stock, &p.checkout.also, &p.checkout.also_count, ci)))
                    button.primary.big type="submit" {
                        @if manager { "Check out" } @else { "Check out to me" }
                        @if let Some(d) = p.default_due { span.sub { "until " (time::when(d)) } }
                    }
                }
                }
            } @else if device.status == DeviceStatus::Lost {
                div.warning.loud role="alert" {
                    strong { "This device is recorded as lost." }
                    " If you have found it, take it to the business manager now."
                }
            } @else {
                h2 { "Not available" }
                p { "It is " (device.status.label().to_lowercase()) "." @if device.status == DeviceStatus::ReturnedCharging { " It will be ready to lend once charged." } }
            }
        }
    }
}

/// "the school day" and each period, for the due-time choice.
fn period_options(periods: &[String]) -> Vec<(&str, &str)> {
    std::iter::once(("", "the school day"))
        .chain(periods.iter().map(|n| (n.as_str(), n.as_str())))
        .collect()
}

/// What the check-out rules decided about this device leaving the site, in words.
fn off_site_hint(device: &Device) -> &'static str {
    match kitroom_app::loans::off_site(device) {
        OffSite::MustStay => {
            "This device is not recorded as encrypted and verified, so it must stay in school."
        }
        OffSite::WithHeadsAuthorisation => {
            "It may hold personal data: the head teacher must authorise taking it off site."
        }
        OffSite::MayLeave => "Encrypted and verified: it may leave the site.",
    }
}

/// Partial: a table of loans.
pub fn loans_table(loans: &[Loan], now: DateTime<Utc>) -> Markup {
    html! {
        table.loans {
            thead { tr { th { "Device" } th { "Borrower" } th { "Out" } th { "Due / back" } th { "Notes" } } }
            tbody {
                @for l in loans {
                    tr.overdue[l.is_overdue(now)] {
                        td { a.tag href=(device_url(&l.device_tag)) { (l.device_tag) } br; span.muted { (l.device_name) } }
                        td data-label="Borrower" { a href=(crate::paths::person_url(&l.borrower)) { (l.borrower_name) } }
                        td data-label="Out" { (time::when(l.out_at)) }
                        td data-label="Due / back" {
                            @match l.returned_at {
                                Some(r) => { "Back " (time::when(r)) @if l.outcome.as_deref() == Some("lost") { " " span.badge.status-lost { "Lost" } } },
                                None => (due(l, now)),
                            }
                        }
                        td {
                            @if l.off_site { "Off site" @if l.authorised { " (authorised)" } br; }
                            @if !l.purpose.is_empty() { (l.purpose) br; }
                            @if let Some(b) = l.battery_percent { "Battery " (b) "% " }
                            @if l.return_condition.as_deref() == Some("damaged") { span.badge.status-in_repair { "Damaged" } }
                            @if l.missing_on_return { span.badge.status-lost { "Missing when its set came back" } }
                        }
                    }
                }
            }
        }
    }
}

pub fn list(ctx: &Ctx, q: &LoansQuery, loans: &[Loan], now: DateTime<Utc>) -> Markup {
    let tabs = [
        ("", "Out now"),
        ("overdue", "Overdue"),
        ("all", "All loans"),
    ];
    page(
        ctx,
        Section::Loans,
        "Loans",
        html! {
            nav.tabs aria-label="Which loans" {
                @for (view, label) in tabs {
                    a href={ "/loans" @if !view.is_empty() { "?view=" (view) } } aria-current=[(q.view == view).then_some("page")] { (label) }
                }
            }
            @if loans.is_empty() {
                div.empty { p { @match q.view.as_str() { "overdue" => "Nothing is overdue.", "all" => "No device has been lent yet.", _ => "No device is out on loan." } } }
            } @else {
                (loans_table(loans, now))
            }
        },
    )
}

pub fn approvals(ctx: &Ctx, pending: &[OffsiteRequest], changes: &[ChangeRequest]) -> Markup {
    page(
        ctx,
        Section::Approvals,
        "Approvals",
        html! {
            p.lead { "Requests that need the head teacher: taking personal data off the school site, and installing or changing software or hardware." }
            @if pending.is_empty() && changes.is_empty() {
                div.empty { p { "Nothing is waiting for you." } }
            }
            @for c in changes {
                section.request {
                    h2 { "Change " (c.device_tag) ": " (c.what) }
                    p { (c.person_name) " asked " (time::when_text(&c.requested_at)) ": “" (c.why) "”" }
                    form method="post" action={ "/changes/" (c.id) } {
                        (csrf(&ctx.csrf))
                        (Field::text("note", "Note to them", "").id(format!("note-{}", c.id)).render(&Invalid::new()))
                        div.actions {
                            button.primary type="submit" name="decision" value="approve" { "Approve" }
                            button.warning type="submit" name="decision" value="decline" { "Decline" }
                        }
                    }
                }
            }
            @for r in pending {
                section.request {
                    h2 { (r.person_name) " · " (r.device_tag) " " span.muted { (r.device_name) } }
                    p { "Asked " (time::when_text(&r.requested_at)) ": “" (r.reason) "”" }
                    form method="post" action={ "/approvals/" (r.id) } {
                        (csrf(&ctx.csrf))
                        (Field::text("note", "Note to them", "").id(format!("note-{}", r.id)).render(&Invalid::new()))
                        div.actions {
                            button.primary type="submit" name="decision" value="approve" { "Approve" }
                            button.warning type="submit" name="decision" value="decline" { "Decline" }
                        }
                    }
                }
            }
        },
    )
}

pub fn charging(
    ctx: &Ctx,
    devices: &[Device],
    locations: &[Location],
    settings: &Settings,
) -> Markup {
    page(
        ctx,
        Section::Loans,
        "Charging",
        html! {
            p.lead { "Returned devices on charge. Each becomes ready to lend after its kind's charging time, or mark them ready yourself." }
            @if devices.is_empty() {
                div.empty { p { "Nothing is charging: every returned device is ready." } }
            }
            @for l in locations {
                @let here: Vec<&Device> = devices.iter().filter(|d| d.details.location == l.name).collect();
                @if !here.is_empty() {
                    section {
                        h2 { (l.name) " " span.muted { "(" (here.len()) ")" } }
                        form method="post" action={ "/charging/" (l.id) "/ready" } {
                            (csrf(&ctx.csrf))
                            button.secondary type="submit" { "Mark all " (here.len()) " ready" }
                        }
                        ul.plain {
                            @for d in here {
                                li { a href=(device_url(d.details.tag.as_str())) { (d.details.tag) } " " (d.details.kind.label()) " " span.muted { "charges for " (settings.charge_minutes_for(d.details.kind)) " minutes" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// An SVG QR code for `data`, without the XML prologue so it can sit in the page.
pub(crate) fn qr_svg(data: &str) -> Markup {
    match qrcode::QrCode::with_error_correction_level(data.as_bytes(), qrcode::EcLevel::M) {
        Ok(code) => {
            let svg = code
                .render::<qrcode::render::svg::Color<'_>>()
                .min_dimensions(100, 100)
                .quiet_zone(true)
                .build();
            let svg = svg
                .split_once("?>")
                .map(|(_, rest)| rest.trim_start().to_owned())
                .unwrap_or(svg);
            // Safe: generated by the qrcode crate, shapes only, no text from input.
            PreEscaped(svg)
        }
        Err(_) => html! { span.muted { "(too long for a QR code)" } },
    }
}

/// Partial: on a label sheet printed without a configured public address, says that
/// the codes use the address this page was opened at, which may not be one that
/// everyone's phone can reach.
pub(crate) fn label_address_warning(address: &crate::PageAddress) -> Markup {
    html! {
        @if !address.configured {
            div.warning role="note" {
                p { "These labels' codes use the address this page was opened at (" code { (address.base) } "), because Kitroom has no public address set. If people reach Kitroom by another address, the codes will not open it for them." }
                p { "Ask your IT administrator to set Kitroom's public address (" code { "--public-url" } " or " code { "KITROOM_PUBLIC_URL" } ") before printing labels to keep." }
            }
        }
    }
}

pub fn labels(
    ctx: &Ctx,
    devices: &[Device],
    address: &crate::PageAddress,
    school: &str,
    q: &ListQuery,
) -> Markup {
    let base = &address.base;
    page(
        ctx,
        Section::Devices,
        "Labels",
        html! {
            div.no-print {
                p.lead { (devices.len()) " labels, three across on A4. Print at 100% (actual size), not “fit to page”." }
                p { "The QR code opens the device's page in Kitroom, from which it can be checked out in one tap." }
                (label_address_warning(address))
                div.actions {
                    button.primary type="button" data-print { "Print labels" }
                    a href=(q.url_at("/devices", &Position::First)) { "Back to the list" }
                }
            }
            div.label-sheet {
                @for d in devices {
                    div.label {
                        (qr_svg(&format!("{base}/d/{}", crate::views::url_encode(d.details.tag.as_str()))))
                        div.label-text {
                            strong.label-tag { (d.details.tag) }
                            span { (d.details.kind.label()) " " (d.details.model) }
                            span.label-school { (school) }
                        }
                    }
                }
            }
        },
    )
}

/// The check-out form as posted from a device's or a set's page: the same input
/// the API's check-out reads.
pub type CheckOutForm = kitroom_app::loans::CheckOutInput;

/// The return form as posted: the same input the API's return reads.
pub type ReturnForm = kitroom_app::loans::ReturnInput;

/// The loan part of a device's page: what is shown, the forms as typed, and why
/// the last try was refused.
#[derive(Debug, Clone, Default)]
pub struct LoanPanel {
    pub open_loan: Option<Loan>,
    pub standing: Option<PolicyStanding>,
    pub authorisation: Option<Authorisation>,
    pub default_due: Option<DateTime<Utc>>,
    pub return_location: String,
    pub people: Vec<(String, String)>,
    /// The school's periods, for "return at the end of period 3".
    pub periods: Vec<String>,
    pub checkout: CheckOutForm,
    /// The off-site request's reason as typed.
    pub offsite_reason: String,
    pub ret: ReturnForm,
    /// Why the last check-out (or off-site request) was refused, beside its fields.
    pub checkout_invalid: Invalid,
    /// The refusal asked for the head's authorisation: offer to ask.
    pub needs_authorisation: bool,
    /// Why the last return was refused: every problem, beside its field.
    pub return_invalid: Invalid,
    /// The return checklist for this kind, and the answers as given.
    pub checklist: Vec<kitroom_core::checklist::Question>,
    pub answers: Vec<Option<bool>>,
    /// Accessories that can go out with a check-out.
    pub stock: Vec<kitroom_store::accessories::Stock>,
    /// Accessories out with the open loan.
    pub lent: Vec<kitroom_store::accessories::Lent>,
    /// Accessories lent with this device that did not come back (managers only).
    pub not_returned: Vec<kitroom_store::accessories::NotReturned>,
    /// The return form's accessory counts as typed.
    pub typed_back: BTreeMap<String, String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct LoansQuery {
    pub view: String,
}

/// Partial: devices that did not come back with their set, for the manager's desk.
pub fn missing_on_desk(missing: &[kitroom_store::kits::MissingFromSet]) -> Markup {
    html! {
        @if !missing.is_empty() {
            section.desk-missing {
                h2 { "Missing from sets" }
                ul {
                    @for m in missing {
                        li {
                            strong { a href=(device_url(&m.tag)) { (m.tag) } }
                            " did not come back with " (m.kit_name) " from " (m.borrower_name)
                            " (" (time::when_text(&m.returned_at)) "). "
                            @if let Some(i) = &m.incident_id { a href={ "/incidents/" (i) } { "Loss report" } }
                        }
                    }
                }
            }
        }
    }
}
