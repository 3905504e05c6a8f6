//! The register's pages.

use kitroom_core::device::{
    Condition, DeviceInput, DeviceKind, DeviceStatus, EncryptionMethod, EncryptionState,
};
use kitroom_core::disposal::{DisposalInput, DisposalMethod};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::devices::{Device, DevicePage, Position, SEARCH_COUNT_LIMIT};
use kitroom_store::events::Event;
use kitroom_store::incidents::{ChangeRequest, Incident};
use kitroom_store::loans::Loan;
use maud::{html, Markup};

use super::loans::LoanPanel;
use super::{
    checkbox, csrf, encryption_badge, error_summary, page, select, status_badge, Field, Section,
};
use crate::auth::ctx::Ctx;
use crate::paths::{device_url, ListQuery};
use crate::time;

fn options<T: Copy>(
    all: &[T],
    word: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    any: &'static str,
) -> Vec<(&'static str, &'static str)> {
    std::iter::once(("", any))
        .chain(all.iter().map(|x| (word(*x), label(*x))))
        .collect()
}

/// Which devices a page shows, for "Showing … of N devices": by number where the
/// page's place is known without counting the devices before it (the first page,
/// the last, an old numbered one), by its first and last tags otherwise.
fn shown(at: &Position, page: &DevicePage) -> String {
    let len = page.items.len() as i64;
    let from = match at {
        _ if !page.has_previous => Some(1),
        Position::Page(n) => Some((n - 1) * PER_PAGE + 1),
        Position::Last if page.total_exact => Some(page.total - len + 1),
        _ => None,
    };
    match (from, page.items.first(), page.items.last()) {
        (Some(from), _, _) => format!("{from}–{}", from + len - 1),
        (None, Some(a), Some(b)) => format!("{} to {}", a.details.tag, b.details.tag),
        _ => String::new(),
    }
}

/// The list's page links: real links carrying the tag to start after or before,
/// so a link keeps showing the same devices when others are registered earlier in
/// the order.
fn page_links(q: &ListQuery, at: &Position, page: &DevicePage) -> Markup {
    // The page's ends; on an empty page (a link past the end) its own key.
    let key = match at {
        Position::After(k) | Position::Before(k) => Some(k.clone()),
        _ => None,
    };
    let start = page
        .items
        .first()
        .map(|d| d.details.tag.to_string())
        .or(key.clone());
    let end = page.items.last().map(|d| d.details.tag.to_string()).or(key);
    html! {
        @if page.has_previous || page.has_next {
            nav.pagination aria-label="Pages" {
                @if page.has_previous {
                    a href=(q.url_at("/devices", &Position::First)) { "« First" }
                    @if let Some(start) = start {
                        a rel="prev" href=(q.url_at("/devices", &Position::Before(start))) { "← Previous" }
                    }
                }
                @if page.has_next {
                    @if let Some(end) = end {
                        a rel="next" href=(q.url_at("/devices", &Position::After(end))) { "Next →" }
                    }
                    a href=(q.url_at("/devices", &Position::Last)) { "Last »" }
                }
            }
        }
    }
}

pub fn list(
    ctx: &Ctx,
    q: &ListQuery,
    at: &Position,
    page: &DevicePage,
    locations: &[String],
) -> Markup {
    let location_options: Vec<(&str, &str)> = std::iter::once(("", "Any location"))
        .chain(locations.iter().map(|l| (l.as_str(), l.as_str())))
        .collect();
    let no_errors = Invalid::new();
    let shown = shown(at, page);
    page_with_actions(
        ctx,
        "Devices",
        html! {
            form.filters method="get" action="/devices" role="search" {
                div.field.search {
                    label for="q" { "Search" }
                    input #q type="search" name="q" value=(q.q) placeholder="Tag, serial number, make or model" autocomplete="off" data-autosubmit;
                }
                details.more-filters open[q.is_filtered() && q.q.is_empty()] {
                    summary { "Filters" }
                    div.filter-grid {
                        (select("status", "Status", &options(DeviceStatus::ALL, DeviceStatus::as_str, DeviceStatus::label, "Any status (not retired)"), &q.status, &no_errors))
                        (select("kind", "Kind", &options(DeviceKind::ALL, DeviceKind::as_str, DeviceKind::label, "Any kind"), &q.kind, &no_errors))
                        (select("location", "Location", &location_options, &q.location, &no_errors))
                        (select("encryption", "Encryption", &options(EncryptionState::ALL, EncryptionState::as_str, EncryptionState::label, "Any"), &q.encryption, &no_errors))
                    }
                }
                div.actions {
                    button.secondary type="submit" { "Search" }
                    @if q.is_filtered() { a href="/devices" { "Clear filters" } }
                    @if ctx.may(Permission::ManageRegister) && page.total > 0 {
                        a href=(q.url_at("/labels", &Position::First)) {
                            "Print labels for these" @if page.total_exact { " " (page.total) }
                        }
                    }
                }
            }
            @if page.items.is_empty() && (page.has_previous || page.has_next) {
                div.empty {
                    p.lead { "No more devices here: the register has changed since this link was made." }
                }
            } @else if page.items.is_empty() {
                div.empty {
                    @if q.is_filtered() {
                        p.lead { "No device matches these filters." }
                        p { a href="/devices" { "Clear the filters" } " to see the whole register." }
                    } @else if ctx.may(Permission::ManageRegister) {
                        p.lead { "The register is empty." }
                        p { "Start with the devices in the computer room: each needs the asset tag from its label." }
                        p { a.button.primary href="/devices/new" { "Register a device" } }
                        @if ctx.may(Permission::ImportExport) {
                            p { "Or bring in the spreadsheet you keep today: " a href="/import/devices" { "import devices from a CSV file" } "." }
                        }
                    } @else {
                        p.lead { "No devices have been registered yet." }
                        p { "The business manager adds them; check back soon." }
                    }
                }
            } @else {
                p.count aria-live="polite" {
                    @if page.total_exact {
                        "Showing " (shown) " of " (page.total) @if page.total == 1 { " device" } @else { " devices" }
                    } @else {
                        "Showing " (shown) " of more than " (SEARCH_COUNT_LIMIT / 1000) ",000" " devices. Add to the search or choose a filter to narrow it."
                    }
                }
                table.devices {
                    thead { tr { th { "Tag" } th { "Device" } th { "Location" } th { "Status" } th { "Encryption" } } }
                    tbody {
                        @for d in &page.items {
                            tr {
                                td.tag { a href=(device_url(d.details.tag.as_str())) { (d.details.tag) } }
                                td data-label="Device" { span.kind { (d.details.kind.label()) } " " (d.details.make) " " (d.details.model) }
                                td data-label="Location" { (d.details.location) }
                                td data-label="Status" { (status_badge(d.status)) }
                                td data-label="Encryption" { (encryption_badge(d.details.encryption.state)) }
                            }
                        }
                    }
                }
            }
            (page_links(q, at, page))
        },
    )
}

/// The device list's page, with "Register a device" beside the title for managers.
fn page_with_actions(ctx: &Ctx, title: &str, content: Markup) -> Markup {
    page(
        ctx,
        Section::Devices,
        title,
        html! {
            @if ctx.may(Permission::ManageRegister) {
                p.page-actions {
                    a.button.primary href="/devices/new" { "Register a device" }
                    @if ctx.may(Permission::ImportExport) {
                        a.button.secondary href="/import" { "Import from a spreadsheet" }
                        a.button.secondary href="/export" { "Export" }
                    }
                }
            }
            (content)
        },
    )
}

pub fn form(
    ctx: &Ctx,
    editing: Option<&Device>,
    d: &DeviceInput,
    invalid: &Invalid,
    locations: &[String],
    example_tag: Option<&str>,
) -> Markup {
    let tag_hint = match example_tag {
        Some(t) => format!("Exactly as printed on the label, like {t}"),
        None => "Exactly as printed on the label".to_owned(),
    };
    let (title, action) = match editing {
        Some(dev) => (
            format!("Edit {}", dev.details.tag),
            format!("{}/edit", device_url(dev.details.tag.as_str())),
        ),
        None => ("Register a device".to_owned(), "/devices".to_owned()),
    };
    let kinds: Vec<(&str, &str)> = std::iter::once(("", "Choose a kind"))
        .chain(DeviceKind::ALL.iter().map(|k| (k.as_str(), k.label())))
        .collect();
    let conditions: Vec<(&str, &str)> = Condition::ALL
        .iter()
        .map(|c| (c.as_str(), c.label()))
        .collect();
    let states: Vec<(&str, &str)> = EncryptionState::ALL
        .iter()
        .map(|s| (s.as_str(), s.label()))
        .collect();
    let methods: Vec<(&str, &str)> = std::iter::once(("", "None or not known"))
        .chain(
            EncryptionMethod::ALL
                .iter()
                .map(|m| (m.as_str(), m.label())),
        )
        .collect();
    let state = if d.encryption_state.is_empty() {
        "unknown"
    } else {
        d.encryption_state.as_str()
    };
    page(
        ctx,
        Section::Devices,
        &title,
        html! {
            (error_summary(invalid))
            form.device-form method="post" action=(action) novalidate {
                (csrf(&ctx.csrf))
                fieldset {
                    legend { "The device" }
                    (Field::text("tag", "Asset tag", &d.tag).required().hint(&tag_hint).render(invalid))
                    (select("kind", "Kind", &kinds, &d.kind, invalid))
                    (Field::text("make", "Make", &d.make).hint("For example: Apple, Dell, Lenovo").render(invalid))
                    (Field::text("model", "Model", &d.model).render(invalid))
                    (Field::text("serial", "Serial number", &d.serial).render(invalid))
                    div.field.has-error[invalid.for_field("location").is_some()] {
                        label for="location" { "Home location" }
                        p.hint id="location-hint" { "Where it lives and is returned to. A new name adds a new location." }
                        @if let Some(e) = invalid.for_field("location") { p.error { (e) } }
                        input #location name="location" type="text" list="locations" value=(d.location) aria-describedby="location-hint";
                        datalist #locations { @for l in locations { option value=(l) {} } }
                    }
                    (select("condition", "Condition", &conditions, if d.condition.is_empty() { "good" } else { &d.condition }, invalid))
                }
                fieldset {
                    legend { "Data protection" }
                    (select("encryption_state", "Encryption", &states, state, invalid))
                    (select("encryption_method", "Encryption method", &methods, &d.encryption_method, invalid))
                    (Field::text("encryption_verified_on", "Encryption last verified on", &d.encryption_verified_on).kind("date").hint("The day someone checked the device's settings. Saving a new date records you as the person who verified it.").render(invalid))
                    (checkbox("passcode_enforced", "A passcode or password lock is enforced", d.passcode_enforced, None))
                    (checkbox("holds_personal_data", "May hold personal data", d.holds_personal_data, Some("Pupils' or staff records, photos, reports. It then leaves the school only with the head teacher's authorisation.")))
                    (checkbox("captures_images", "Takes photos or video", d.captures_images, Some("Cameras and iPads: images must be moved to the school network before it is returned.")))
                }
                fieldset {
                    legend { "Purchase" }
                    (Field::text("purchased_on", "Purchase date", &d.purchased_on).kind("date").render(invalid))
                    (Field::text("cost", "Cost in pounds", &d.cost).hint("For example: 349.99").render(invalid))
                    (Field::text("supplier", "Supplier", &d.supplier).render(invalid))
                    (Field::text("warranty_until", "Warranty ends", &d.warranty_until).kind("date").render(invalid))
                    (Field::text("notes", "Notes", &d.notes).kind("textarea").render(invalid))
                }
                div.actions {
                    button.primary type="submit" { @if editing.is_some() { "Save changes" } @else { "Register device" } }
                    a href=(editing.map(|e| device_url(e.details.tag.as_str())).unwrap_or_else(|| "/devices".into())) { "Cancel" }
                }
            }
        },
    )
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "Yes"
    } else {
        "No"
    }
}

/// What a device's page shows besides its details: its loans and incidents (for
/// those who may see them) and its change requests.
pub struct DeviceExtras<'a> {
    pub stocktakes: &'a [kitroom_store::stocktakes::Stocktake],
    pub disposal: Option<&'a kitroom_store::disposals::DisposalRow>,
    pub loans: &'a [Loan],
    pub incidents: &'a [Incident],
    pub changes: &'a [ChangeRequest],
}

pub fn show(
    ctx: &Ctx,
    device: &Device,
    panel: &LoanPanel,
    extra: &DeviceExtras<'_>,
    history: &[Event],
) -> Markup {
    let loans = extra.loans;
    let d = &device.details;
    let e = &d.encryption;
    let title = format!("{} · {} {}", d.tag, d.make, d.model);
    page(
        ctx,
        Section::Devices,
        title.trim_end(),
        html! {
            div.device-head {
                (status_badge(device.status))
                (encryption_badge(e.state))
                span.kind { (d.kind.label()) }
            }
            (super::loans::panel(ctx, device, panel))
            @for s in extra.stocktakes {
                form.scan method="post" action={ (crate::paths::stocktake_url(s)) "/scan" } {
                    (csrf(&ctx.csrf))
                    input type="hidden" name="tag" value=(d.tag);
                    button.secondary type="submit" { "Mark as seen in stocktake " (s.number) " (" (s.scope) ")" }
                }
            }
            @if let Some(x) = extra.disposal {
                section {
                    h2 { "Disposal" }
                    dl.summary {
                        dt { "Disposed of" } dd { (x.disposed_on) ", " (x.method.replace('_', " ")) }
                        dt { "Authorised by" } dd { (x.authorised_by) }
                        dt { "Received by" } dd { (x.recipient) @if !x.recipient_reference.is_empty() { " (" (x.recipient_reference) ")" } }
                        dt { "Data wiping evidence" } dd { @match &x.wipe_evidence { Some(w) => (w), None => span.muted { "None recorded (no personal data)" } } }
                    }
                }
            }
            p.page-actions {
                a.button.warning-outline href={ (device_url(d.tag.as_str())) "/report" } { "Report damage, loss or theft" }
            }
            (super::incidents::change_form(ctx, device, &Default::default(), &Invalid::new()))
            section {
                h2 { "Details" }
                @if ctx.may(Permission::ManageRegister) {
                    p.page-actions {
                        a.button.secondary href={ (device_url(d.tag.as_str())) "/edit" } { "Edit details" }
                        a.button.secondary href={ "/labels?q=" (super::url_encode(d.tag.as_str())) } { "Print its label" }
                        @if ctx.may(Permission::Dispose) && device.status.apply(kitroom_core::device::StatusChange::Retire).is_ok() {
                            a.button.secondary href={ (device_url(d.tag.as_str())) "/dispose" } { "Dispose of it" }
                        }
                    }
                }
                dl.summary {
                    dt { "Asset tag" } dd { (d.tag) }
                    dt { "Kind" } dd { (d.kind.label()) }
                    dt { "Make and model" } dd { (d.make) " " (d.model) }
                    dt { "Serial number" } dd { @if d.serial.is_empty() { span.muted { "Not recorded" } } @else { (d.serial) } }
                    dt { "Home location" } dd { (d.location) }
                    dt { "Status" } dd { (device.status.label()) }
                    dt { "Condition" } dd { (d.condition.label()) }
                    dt { "Last audited" } dd { @match device.last_audited_on { Some(a) => (time::date(a)), None => span.muted { "Never" } } }
                }
            }
            section {
                h2 { "Data protection" }
                dl.summary {
                    dt { "Encryption" } dd { (e.state.label()) @if let Some(m) = e.method { " with " (m.label()) } }
                    dt { "Verified" } dd {
                        @match e.verified_on {
                            Some(on) => { (time::date(on)) @if let (true, Some(by)) = (ctx.may(Permission::ReadLog), &device.encryption_verified_by) { " by " (by) } },
                            None => span.muted { "Never verified" },
                        }
                    }
                    dt { "Passcode enforced" } dd { (yes_no(d.passcode_enforced)) }
                    dt { "May hold personal data" } dd { (yes_no(d.holds_personal_data)) }
                    dt { "Takes photos or video" } dd { (yes_no(d.captures_images)) }
                }
            }
            section {
                h2 { "Purchase" }
                dl.summary {
                    dt { "Purchased" } dd { @match d.purchased_on { Some(p) => (time::date(p)), None => span.muted { "Not recorded" } } }
                    dt { "Cost" } dd { @match d.cost { Some(c) => (c.to_string()), None => span.muted { "Not recorded" } } }
                    dt { "Supplier" } dd { @if d.supplier.is_empty() { span.muted { "Not recorded" } } @else { (d.supplier) } }
                    dt { "Warranty ends" } dd { @match d.warranty_until { Some(w) => (time::date(w)), None => span.muted { "Not recorded" } } }
                    @if !d.notes.is_empty() { dt { "Notes" } dd.notes { (d.notes) } }
                }
            }
            @if ctx.may(Permission::ManageRegister) && !device.status.manual_changes().is_empty() {
                section {
                    h2 { "Change status" }
                    form.status-change method="post" action={ (device_url(d.tag.as_str())) "/status" } {
                        (csrf(&ctx.csrf))
                        (Field::text("note", "Note", "").hint("Why, for the activity log. For example: screen cracked, sent to supplier").render(&Invalid::new()))
                        div.actions {
                            @for c in device.status.manual_changes() {
                                button.secondary type="submit" name="change" value=(c.as_str()) { (c.label()) }
                            }
                        }
                    }
                }
            }
            // The trust's own staff move a device to another of the trust's schools.
            @if ctx.may(Permission::TransferDevice) && ctx.schools.len() > 1 {
                section {
                    h2 { "Move to another school" }
                    form method="post" action={ (device_url(d.tag.as_str())) "/transfer" } {
                        (csrf(&ctx.csrf))
                        label for="transfer-school" { "School" }
                        select #transfer-school name="school" {
                            @for s in ctx.schools.iter().filter(|s| s.id != ctx.user.school) {
                                option value=(s.slug) { (s.name) }
                            }
                        }
                        p.hint { "It goes to that school's return room. Its loans and incidents stay with this school; the move is in both schools' activity logs." }
                        div.actions { button.secondary type="submit" { "Move" } }
                    }
                }
            }
            @if !extra.incidents.is_empty() {
                section {
                    h2 { "Incidents" }
                    (super::incidents::incidents_table(extra.incidents, chrono::Utc::now()))
                }
            }
            @if !extra.changes.is_empty() {
                section {
                    h2 { "Change requests" }
                    (super::incidents::changes_list(extra.changes))
                }
            }
            @if !loans.is_empty() {
                section {
                    h2 { "Loans" }
                    (super::loans::loans_table(loans, chrono::Utc::now()))
                }
            }
            section {
                h2 { "History" }
                @if ctx.may(Permission::ReadLog) {
                    (super::log::events_table(history, false))
                } @else {
                    (super::log::device_story(history, &ctx.user.username))
                }
            }
        },
    )
}

pub fn dispose_form(
    ctx: &Ctx,
    device: &Device,
    input: &DisposalInput,
    invalid: &Invalid,
) -> Markup {
    let d = &device.details;
    let methods: Vec<(&str, &str)> = std::iter::once(("", "Choose how"))
        .chain(DisposalMethod::ALL.iter().map(|m| (m.as_str(), m.label())))
        .collect();
    page(
        ctx,
        Section::Devices,
        &format!("Dispose of {}", d.tag),
        html! {
            p.lead { "Retiring a device takes it off the active register for good. Its history and this record stay, for the governors and the auditors." }
            @if d.holds_personal_data {
                div.warning { "This device may hold personal data. Record the evidence that its storage was wiped or destroyed (a data-wiping certificate, for example) before it leaves the school." }
            }
            (error_summary(invalid))
            form method="post" action={ (device_url(d.tag.as_str())) "/dispose" } novalidate {
                (csrf(&ctx.csrf))
                (Field::text("authorised_by", "Authorised by", &input.authorised_by).required().hint("Name and role, for example: Ruth Okafor, head teacher").render(invalid))
                (Field::text("disposed_on", "Date", &input.disposed_on).kind("date").required().render(invalid))
                (select("method", "How", &methods, &input.method, invalid))
                (Field::text("recipient", "Who received it", &input.recipient).required().hint("The recycler, buyer, charity or lessor").render(invalid))
                (Field::text("recipient_reference", "Their reference", &input.recipient_reference).hint("For example a waste carrier's licence number").render(invalid))
                (Field::text("wipe_evidence", "Evidence its data was wiped or destroyed", &input.wipe_evidence).hint("A certificate number or reference").render(invalid))
                div.actions {
                    button.warning type="submit" { "Retire and record the disposal…" }
                    a href=(device_url(d.tag.as_str())) { "Cancel" }
                }
            }
        },
    )
}

/// The step before a disposal, which cannot be undone: what will be recorded.
pub fn confirm_disposal(
    ctx: &Ctx,
    device: &Device,
    input: &DisposalInput,
    fields: &[(String, String)],
) -> Markup {
    let d = &device.details;
    let url = device_url(d.tag.as_str());
    let action = format!("{url}/dispose");
    let method = input
        .method
        .parse::<DisposalMethod>()
        .map(|m| m.label())
        .unwrap_or_default();
    let consequence = html! {
        (d.tag) " will be retired and taken off the active register for good; this cannot be undone."
    };
    let details = html! {
        dl.summary {
            dt { "Authorised by" } dd { (input.authorised_by.trim()) }
            dt { "Date" } dd { (input.disposed_on.trim()) }
            dt { "How" } dd { (method) }
            dt { "Who received it" } dd { (input.recipient.trim()) }
            @if !input.wipe_evidence.trim().is_empty() { dt { "Data wiping evidence" } dd { (input.wipe_evidence.trim()) } }
        }
    };
    super::confirm_page(
        ctx,
        Section::Devices,
        super::Confirm {
            title: &format!("Retire {}?", d.tag),
            consequence,
            details,
            action: &action,
            fields,
            yes: &format!("Yes, retire {} and record the disposal", d.tag),
            back: &url,
        },
    )
}

pub const PER_PAGE: i64 = 50;
