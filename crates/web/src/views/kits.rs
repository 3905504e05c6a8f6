//! Sets and trolleys: the list, and a set's page with its devices, its check-out
//! and its return.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kitroom_core::checklist;
use kitroom_core::device::DeviceStatus;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::kits::{Kit, KitSummary};
use maud::{html, Markup};

use super::loans::CheckOutForm;
use super::{
    checkbox_field, csrf, error_summary, page, select, status_badge, url_encode, with_error,
    yes_no_and, Field, Section,
};
use crate::auth::ctx::Ctx;
use crate::paths::{device_url, kit_url};
use crate::time;

pub fn list(ctx: &Ctx, kits: &[KitSummary], name: &str, notes: &str, invalid: &Invalid) -> Markup {
    page(
        ctx,
        Section::Sets,
        "Sets and trolleys",
        html! {
            p.lead { "A set is lent, returned and booked as one: a trolley of iPads, a class set of Chromebooks." }
            @if kits.is_empty() {
                div.empty {
                    p { "There are no sets yet." }
                    @if ctx.may(Permission::ManageRegister) { p { "Make one below, then add its devices." } }
                    @else { p { "The business manager makes sets from the register." } }
                }
            } @else {
                table.kits {
                    thead { tr { th { "Set" } th { "Devices" } th { "Available" } th { "Out to" } } }
                    tbody {
                        @for k in kits {
                            tr {
                                td { a href=(kit_url(k.id)) { (k.name) } }
                                td data-label="Devices" { (k.devices) }
                                td data-label="Available" { (k.available) }
                                td data-label="Out to" { @match &k.out_to { Some(who) => (who), None => span.muted { "In" } } }
                            }
                        }
                    }
                }
            }
            @if ctx.may(Permission::ManageRegister) {
                p { a href="/sets/labels" { "Print labels for all sets" } }
                p { a href="/checklists" { "Return checklists: the questions asked when a device comes back" } }
                p { a href="/accessories" { "Accessories: chargers, cables and styluses counted at each place" } }
                h2 #new { "Make a set" }
                (error_summary(invalid))
                form method="post" action="/sets" novalidate {
                    (csrf(&ctx.csrf))
                    (Field::text("name", "Name", name).required().hint("For example: iPad trolley A").render(invalid))
                    (Field::text("notes", "Notes", notes).hint("For example: 30 iPads and the charging trolley, kept in the library").render(invalid))
                    button.primary type="submit" { "Make the set" }
                }
            }
        },
    )
}

/// Whether a problem of the set's return is about the battery level of `tag`
/// (each names its device: "IPAD-1: …", "The battery level of IPAD-1 …").
fn battery_refused(invalid: &Invalid, tag: &str) -> bool {
    invalid.0.iter().any(|e| {
        e.field == "battery"
            && (e.message.starts_with(&format!("{tag}: "))
                || e.message.contains(&format!(" of {tag} ")))
    })
}

fn period_options(periods: &[String]) -> Vec<(&str, &str)> {
    std::iter::once(("", "the school day"))
        .chain(periods.iter().map(|n| (n.as_str(), n.as_str())))
        .collect()
}

pub fn show(ctx: &Ctx, kit: &Kit, p: &KitPage, now: DateTime<Utc>) -> Markup {
    let url = kit_url(kit.id);
    let manager = ctx.may(Permission::LendToAnyone);
    let available = kit
        .devices
        .iter()
        .filter(|d| d.status == DeviceStatus::Available)
        .count();
    page(
        ctx,
        Section::Sets,
        &kit.name,
        html! {
            @if !kit.notes.is_empty() { p.lead { (kit.notes) } }
            (error_summary(&p.checkout_invalid))
            (error_summary(&p.return_invalid))
            @match &kit.open {
                Some(g) => {
                    section #return {
                        h2 { "Out to " (g.borrower_name) }
                        p {
                            @if g.due_at < now { span.badge.overdue { "Overdue" } " was due " } @else { "Due back " }
                            (time::when(g.due_at))
                            @if !g.purpose.is_empty() { " · " (g.purpose) }
                        }
                        @if let Some(why) = g.loans.iter().find_map(|l| l.due_moved_reason.as_deref()) { p.hint { (why) } }
                        (super::accessories::also_taken(&p.lent))
                        @if g.borrower == ctx.user.username || manager {
                            form.return method="post" action={ (url) "/return" } novalidate {
                                (csrf(&ctx.csrf))
                                @let ri = &p.return_invalid;
                                @let typed = p.return_typed.as_ref();
                                (with_error("battery", ri, html! {
                                fieldset {
                                    legend { "Which came back?" }
                                    p.hint { "Untick any device that is not here. It will be reported lost straight away, so the business manager can look for it." }
                                    @for l in &g.loans {
                                        @if l.is_open() {
                                            @let id = format!("back-{}", l.device_tag);
                                            @let battery = format!("battery.{}", l.device_tag);
                                            @let battery_id = format!("battery-{}", l.device_tag);
                                            @let ticked = typed.is_none_or(|t| t.came_back.iter().any(|b| b.eq_ignore_ascii_case(&l.device_tag)));
                                            @let level = typed.and_then(|t| t.battery.get(&l.device_tag)).map_or("", |n| n.0.as_str());
                                            @let wrong = battery_refused(ri, &l.device_tag);
                                            div.field.check.kit-device {
                                                input id=(id) name="back" type="checkbox" value=(l.device_tag) checked[ticked];
                                                label for=(id) { strong { (l.device_tag) } " " span.muted { (l.device_name) } }
                                                label.visually-hidden for=(battery_id) { "Battery of " (l.device_tag) ", percent" }
                                                input.battery id=(battery_id) name=(battery) type="number" min="0" max="100" inputmode="numeric" placeholder="Battery %" value=(level)
                                                    aria-invalid=[wrong.then_some("true")] aria-describedby=[wrong.then_some("battery-error")];
                                            }
                                        } @else {
                                            p { (l.device_tag) " " span.muted { "already back" @if l.outcome.as_deref() == Some("lost") { " — reported lost" } } }
                                        }
                                    }
                                }
                                }))
                                (with_error("checklist", ri, html! {
                                @for (kind, questions) in &p.checklist {
                                    fieldset.checklist {
                                        legend { "Return checklist: " (kind.label()) }
                                        p.hint { "Answer once for all of them. If the answer is no, type the tags of the ones it is about." }
                                        @for (i, q) in questions.iter().enumerate() {
                                            @let name = format!("check.{}.{i}", kind.as_str());
                                            @let which = format!("which.{}.{i}", kind.as_str());
                                            @let answer = match p.answers.get(&name).map(String::as_str) { Some("yes") => Some(true), Some("no") => Some(false), _ => None };
                                            @let more = html! {
                                                @if q.damage {
                                                    @let which_id = checklist::set_devices_field(*kind, i);
                                                    @let error = ri.for_field(which_id);
                                                    @let error_id = format!("{which_id}-error");
                                                    div.field.has-error[error.is_some()] {
                                                        label for=(which_id) { "If no, which ones? (tags)" }
                                                        @if let Some(e) = error { p.error id=(error_id) { span.visually-hidden { "Error: " } (e) } }
                                                        input id=(which_id) name=(which) type="text" autocapitalize="characters" spellcheck="false"
                                                            value=(p.answers.get(&which).map(String::as_str).unwrap_or(""))
                                                            aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| &error_id)];
                                                    }
                                                }
                                            };
                                            (yes_no_and(checklist::set_answer_field(*kind, i), &name, &q.text, q.damage.then_some(" — opens a damage report"), answer, ri, more))
                                        }
                                    }
                                }
                                }))
                                (with_error("accessories", ri, super::accessories::came_back(&p.lent, &p.typed_back)))
                                (Field::text("location", "Returned to", typed.map_or(p.return_location.as_str(), |t| t.location.as_str())).render(ri))
                                (checkbox_field("on_charge", "The devices are on charge (the trolley is plugged in)", typed.is_none_or(|t| t.on_charge.0), None, ri))
                                (checkbox_field("images_cleared", "Photos and videos are moved to the school network and deleted from the devices", typed.is_some_and(|t| t.images_cleared.0), Some("Needed for devices that take photos, such as iPads and cameras."), ri))
                                button.primary.big type="submit" { "Return the set" }
                            }
                        }
                    }
                }
                None => {
                    section #checkout {
                        h2 { "Check out" }
                        @if kit.devices.is_empty() {
                            p { "This set has no devices yet." }
                        } @else {
                            p { (available) " of " (kit.devices.len()) " devices are available and will go out. Any that are not stay here, and the loan says which went." }
                            form.checkout method="post" action={ (url) "/checkout" } novalidate {
                                (csrf(&ctx.csrf))
                                @let ci = &p.checkout_invalid;
                                @if manager {
                                    (super::lend_to::field(&p.checkout.borrower, &url, "Leave empty to borrow the set yourself.", &p.people, ci))
                                }
                                (Field::text("due_on", "Return by the end of", &p.checkout.due_on).kind("date").hint("Leave empty for today").render(ci))
                                @if !p.periods.is_empty() {
                                    @let options = period_options(&p.periods);
                                    (select("due_period", "Return at the end of", &options, &p.checkout.due_period, ci))
                                }
                                (Field::text("purpose", "Purpose", &p.checkout.purpose).hint("For example: 6B science").render(ci))
                                (with_error("accessories", ci, super::accessories::also_taking(&p.stock, &p.checkout.also, &p.checkout.also_count, ci)))
                                button.primary.big type="submit" { @if manager { "Check out the set" } @else { "Check out the set to me" } }
                            }
                        }
                    }
                }
            }
            (super::bookings::upcoming(ctx, "Booked", &p.bookings, now, !p.stock.is_empty()))
            p { a href={ "/bookings/new?set=" (kit.id) } { "Book this set for a lesson" } }
            h2 { "Devices in this set" }
            @if kit.devices.is_empty() {
                div.empty { p { "No devices yet." @if ctx.may(Permission::ManageRegister) { " Add them below by tag." } } }
            } @else {
                table.kit-devices {
                    thead { tr { th { "Device" } th { "Status" } @if ctx.may(Permission::ManageRegister) { th { span.visually-hidden { "Actions" } } } } }
                    tbody {
                        @for d in &kit.devices {
                            tr {
                                td { a.tag href=(device_url(&d.tag)) { (d.tag) } " " span.muted { (d.name) } }
                                td data-label="Status" { (status_badge(d.status)) }
                                @if ctx.may(Permission::ManageRegister) {
                                    td {
                                        form method="post" action={ (url) "/devices/" (url_encode(&d.tag)) "/remove" } {
                                            (csrf(&ctx.csrf))
                                            button.link type="submit" { "Take out of the set" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if ctx.may(Permission::ManageRegister) {
                p { a href={ (url) "/label" } { "Print this set's label" } }
                h2 #add { "Add a device" }
                (error_summary(&p.add))
                form method="post" action={ (url) "/devices" } novalidate {
                    (csrf(&ctx.csrf))
                    (Field::text("tag", "Asset tag", &p.add_tag).required().hint("Type it or scan the label").render(&p.add))
                    button.secondary type="submit" { "Add to the set" }
                }
            }
            p { a href="/sets" { "All sets" } }
        },
    )
}

/// A printable A4 sheet of set labels (the device label sheet's layout): each QR code
/// opens the set's page at `base`, with the set's name and how many devices it holds.
pub fn labels(
    ctx: &Ctx,
    kits: &[(uuid::Uuid, String, usize)],
    address: &crate::PageAddress,
    school: &str,
    back: &str,
) -> Markup {
    let base = &address.base;
    page(
        ctx,
        Section::Sets,
        "Set labels",
        html! {
            div.no-print {
                @if kits.is_empty() {
                    div.empty {
                        p { "There are no sets yet, so there is nothing to print." }
                        p { a href="/sets#new" { "Make a set" } ", add its devices, then print its label here." }
                    }
                } @else {
                    p.lead { (kits.len()) @if kits.len() == 1 { " label" } @else { " labels" } ", three across on A4. Print at 100% (actual size), not “fit to page”." }
                    p { "Stick it on the trolley or the box. The QR code opens the set's page in Kitroom, where the set is checked out or its booking collected." }
                }
                (super::loans::label_address_warning(address))
                div.actions {
                    @if !kits.is_empty() { button.primary type="button" data-print { "Print labels" } }
                    a href=(back) { "Back" }
                }
            }
            div.label-sheet {
                @for (id, name, devices) in kits {
                    div.label.set-label {
                        (super::loans::qr_svg(&format!("{base}{}", kit_url(*id))))
                        div.label-text {
                            strong.label-tag.label-name { (name) }
                            span { (devices) @if *devices == 1 { " device" } @else { " devices" } }
                            span.label-school { (school) }
                        }
                    }
                }
            }
        },
    )
}

/// What a set's page shows besides the set: the forms as typed and why the last
/// try was refused.
#[derive(Debug, Clone, Default)]
pub struct KitPage {
    pub checkout: CheckOutForm,
    /// Why the last check-out of the set was refused, beside its fields.
    pub checkout_invalid: Invalid,
    /// Why the last return of the set was refused, beside its fields.
    pub return_invalid: Invalid,
    /// The last return as typed, when it was refused: kept on the form.
    pub return_typed: Option<kitroom_app::sets::SetReturnInput>,
    pub add: Invalid,
    pub add_tag: String,
    pub periods: Vec<String>,
    pub people: Vec<(String, String)>,
    pub return_location: String,
    /// Its bookings from now on.
    pub bookings: Vec<kitroom_store::bookings::Booking>,
    /// The return checklist of each kind out with the set, asked once per kind.
    pub checklist: Vec<(
        kitroom_core::device::DeviceKind,
        Vec<kitroom_core::checklist::Question>,
    )>,
    /// The checklist's answers as typed (`check.ipad.0`, `which.ipad.0`).
    pub answers: BTreeMap<String, String>,
    /// Accessories that can go out with the set.
    pub stock: Vec<kitroom_store::accessories::Stock>,
    /// Accessories out with the set's open loan.
    pub lent: Vec<kitroom_store::accessories::Lent>,
    /// The return form's accessory counts as typed.
    pub typed_back: BTreeMap<String, String>,
}
