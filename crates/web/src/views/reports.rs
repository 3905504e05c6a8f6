//! The manager's reports, as pages (with SVG charts) and as CSV.
//!
//! Charts are inline SVG drawn here ([`bar_chart`]): no script and no library. Each
//! bar carries its category and value as text, fills differ by pattern as well as
//! colour, and the chart has a title and a description listing every value for
//! screen readers. The table under each chart holds the same figures.

use chrono::{DateTime, Utc};
use kitroom_core::device::{DeviceKind, DeviceStatus, Pence};
use kitroom_core::incident::{IncidentKind, IncidentStatus, Resolution};
use kitroom_core::Invalid;
use kitroom_store::events::Event;
use kitroom_store::locations::Location;
use kitroom_store::people::Person;
use kitroom_store::reports::{Compliance, DeviceLine, OverdueLoan, PersonRecord, RequestRecord};
use maud::{html, Markup};

use super::{encryption_badge, error_summary, page, select, status_badge, Field, Section};
use crate::auth::ctx::Ctx;
use crate::paths::{device_url, person_history_url};
use crate::time;
use kitroom_app::reports::{
    how_long, percent, school_year_label, AuditReport, EncryptionReport, IncidentCosts, Inventory,
    Report, ReportName, ReportQuery, SchoolLine, Tally, TallyRow, TrustReport, Utilisation,
    DEFAULT_DAYS, SECTIONS,
};

/// One report's page: its figures, or (when `report` is `None`) its filters with
/// their problems.
pub fn report(
    ctx: &Ctx,
    name: ReportName,
    q: &ReportQuery,
    locations: &[Location],
    report: Option<&Report>,
    invalid: &Invalid,
) -> Markup {
    match (name, report) {
        (_, Some(Report::Inventory(r))) => inventory(ctx, q, locations, Some(r), invalid),
        (_, Some(Report::Encryption(r))) => encryption(ctx, q, locations, Some(r), invalid),
        (_, Some(Report::Overdue(r))) => overdue(ctx, q, locations, Some(&r.loans), r.now, invalid),
        (_, Some(Report::Audit(r))) => audit(ctx, q, locations, Some(r), invalid),
        (_, Some(Report::Incidents(r))) => incidents(ctx, q, locations, Some(r), invalid),
        (_, Some(Report::Utilisation(r))) => utilisation(ctx, q, locations, Some(r), invalid),
        (_, Some(Report::Disposals(r))) => disposals(ctx, r.year, &r.rows, invalid),
        (_, Some(Report::Schools(r))) => schools(ctx, q, Some(r), invalid),
        (ReportName::Schools, None) => schools(ctx, q, None, invalid),
        (ReportName::Inventory, None) => inventory(ctx, q, locations, None, invalid),
        (ReportName::Encryption, None) => encryption(ctx, q, locations, None, invalid),
        (ReportName::Overdue, None) => overdue(ctx, q, locations, None, Utc::now(), invalid),
        (ReportName::Audit, None) => audit(ctx, q, locations, None, invalid),
        (ReportName::Incidents, None) => incidents(ctx, q, locations, None, invalid),
        (ReportName::Utilisation, None) => utilisation(ctx, q, locations, None, invalid),
        (ReportName::Disposals, None) => disposals(
            ctx,
            kitroom_app::reports::school_year_of(time::today()),
            &[],
            invalid,
        ),
    }
}

// ---------------------------------------------------------------------------
// Charts

/// How a bar is filled: a colour, and a pattern so that it reads without colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    Solid(Tone),
    Hatch(Tone),
    Dots(Tone),
    Cross(Tone),
    Lines(Tone),
}

/// The palette, from `kitroom.css`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tone {
    Brand,
    Ok,
    Warn,
    Bad,
    Muted,
}

impl Tone {
    fn hex(self) -> &'static str {
        match self {
            Tone::Brand => "#1d4f91",
            Tone::Ok => "#1e6b3a",
            Tone::Warn => "#8a5300",
            Tone::Bad => "#b3261e",
            Tone::Muted => "#5a6470",
        }
    }
}

/// One bar: what it counts, how long it is, and the value as written beside it.
pub struct Bar {
    pub label: String,
    pub value: i64,
    pub text: String,
    pub fill: Fill,
}

impl Bar {
    fn count(label: &str, value: i64) -> Bar {
        Bar {
            label: label.to_owned(),
            value,
            text: value.to_string(),
            fill: Fill::Solid(Tone::Brand),
        }
    }
}

const CHART_WIDTH: i64 = 340;
const ROW_HEIGHT: i64 = 46;

/// Partial: the pattern a bar is filled with, if it needs one, and the `fill` value.
fn fill_of(id: &str, i: usize, fill: Fill) -> (Markup, String) {
    let pid = format!("{id}-p{i}");
    let url = format!("url(#{pid})");
    let def = match fill {
        Fill::Solid(t) => return (html! {}, t.hex().to_owned()),
        Fill::Hatch(t) => html! {
            pattern id=(pid) width="8" height="8" patternUnits="userSpaceOnUse" patternTransform="rotate(45)" {
                rect width="8" height="8" fill="#ffffff" {}
                rect width="3.5" height="8" fill=(t.hex()) {}
            }
        },
        Fill::Dots(t) => html! {
            pattern id=(pid) width="7" height="7" patternUnits="userSpaceOnUse" {
                rect width="7" height="7" fill="#ffffff" {}
                circle cx="3.5" cy="3.5" r="2" fill=(t.hex()) {}
            }
        },
        Fill::Cross(t) => html! {
            pattern id=(pid) width="8" height="8" patternUnits="userSpaceOnUse" {
                rect width="8" height="8" fill="#ffffff" {}
                path d="M0 0L8 8M8 0L0 8" stroke=(t.hex()) stroke-width="2" {}
            }
        },
        Fill::Lines(t) => html! {
            pattern id=(pid) width="6" height="6" patternUnits="userSpaceOnUse" {
                rect width="6" height="6" fill="#ffffff" {}
                rect width="6" height="2.5" fill=(t.hex()) {}
            }
        },
    };
    (def, url)
}

/// Partial: a horizontal bar chart. Each row names its category on the left and its
/// value on the right, above a bar as long as the value; an empty track shows zero.
pub fn bar_chart(id: &str, title: &str, bars: &[Bar]) -> Markup {
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0);
    chart(id, title, bars, max)
}

/// Partial: [`bar_chart`] of percentages, each bar as long as its share of 100.
fn percent_chart(id: &str, title: &str, bars: &[Bar]) -> Markup {
    chart(id, title, bars, 100)
}

fn chart(id: &str, title: &str, bars: &[Bar], max: i64) -> Markup {
    let max = max.max(1);
    let height = bars.len() as i64 * ROW_HEIGHT;
    let summary = bars
        .iter()
        .map(|b| format!("{}: {}", b.label, b.text))
        .collect::<Vec<_>>()
        .join("; ");
    let fills: Vec<(Markup, String)> = bars
        .iter()
        .enumerate()
        .map(|(i, b)| fill_of(id, i, b.fill))
        .collect();
    html! {
        figure.chart {
            figcaption { (title) }
            svg viewBox={ "0 0 " (CHART_WIDTH) " " (height) } role="img" aria-labelledby={ (id) "-title " (id) "-desc" } {
                title id={ (id) "-title" } { (title) }
                desc id={ (id) "-desc" } { (summary) }
                defs { @for (def, _) in &fills { (def) } }
                @for (i, b) in bars.iter().enumerate() {
                    @let y = i as i64 * ROW_HEIGHT;
                    @let w = if b.value > 0 { (b.value.saturating_mul(CHART_WIDTH - 2) / max).max(3) } else { 0 };
                    text.chart-label x="0" y=(y + 15) { (b.label) }
                    text.chart-value x=(CHART_WIDTH) y=(y + 15) text-anchor="end" { (b.text) }
                    rect.chart-track x="0" y=(y + 21) width=(CHART_WIDTH) height="20" {}
                    @if w > 0 {
                        rect x="1" y=(y + 22) width=(w) height="18" fill=(fills[i].1) stroke="#1b1f24" stroke-width="1.5" {}
                    }
                }
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Shared pieces

/// Which filters a report offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Filter {
    Location,
    DeviceKind,
    Status,
    IncidentKind,
    From,
    To,
    MaxAgeDays,
    Days,
    SchoolYear,
}

fn word_options<T: Copy>(
    all: &[T],
    word: impl Fn(T) -> &'static str,
    label: impl Fn(T) -> &'static str,
    any: &'static str,
) -> Vec<(&'static str, &'static str)> {
    std::iter::once(("", any))
        .chain(all.iter().map(|x| (word(*x), label(*x))))
        .collect()
}

/// Partial: the report's filters, and the link to the same figures as CSV.
fn filters(
    action: &str,
    q: &ReportQuery,
    shown: &[Filter],
    locations: &[Location],
    invalid: &Invalid,
) -> Markup {
    filters_with(action, q, q.is_filtered(), shown, locations, invalid)
}

/// [`filters`], with the person's own choice of filters (`filtered`) told apart
/// from the values shown, which may be defaults.
fn filters_with(
    action: &str,
    q: &ReportQuery,
    filtered: bool,
    shown: &[Filter],
    locations: &[Location],
    invalid: &Invalid,
) -> Markup {
    let location_options: Vec<(&str, &str)> = std::iter::once(("", "Any location"))
        .chain(locations.iter().map(|l| (l.name.as_str(), l.name.as_str())))
        .collect();
    let max_age = if q.max_age_days.is_empty() {
        DEFAULT_DAYS.to_string()
    } else {
        q.max_age_days.clone()
    };
    let days = if q.days.is_empty() {
        DEFAULT_DAYS.to_string()
    } else {
        q.days.clone()
    };
    let year = if q.year.is_empty() {
        kitroom_app::reports::school_year_of(time::today()).to_string()
    } else {
        q.year.clone()
    };
    let qs = q.query_string();
    html! {
        (error_summary(invalid))
        form.filters method="get" action=(action) {
            details.more-filters open[filtered || !invalid.is_empty()] {
                summary { "Filters" }
                div.filter-grid {
                    @for f in shown {
                        @match f {
                            Filter::Location => (select("location", "Location", &location_options, &q.location, invalid)),
                            Filter::DeviceKind => (select("kind", "Kind", &word_options(DeviceKind::ALL, DeviceKind::as_str, DeviceKind::label, "Any kind"), &q.kind, invalid)),
                            Filter::Status => (select("status", "Status", &word_options(DeviceStatus::ALL, DeviceStatus::as_str, DeviceStatus::label, "Any status"), &q.status, invalid)),
                            Filter::IncidentKind => (select("kind", "Kind of incident", &word_options(IncidentKind::ALL, IncidentKind::as_str, IncidentKind::label, "Damage, loss and theft"), &q.kind, invalid)),
                            Filter::From => (Field::text("from", "From", &q.from).kind("date").filter().render(invalid)),
                            Filter::To => (Field::text("to", "To", &q.to).kind("date").filter().render(invalid)),
                            Filter::MaxAgeDays => (Field::text("max_age_days", "Verified within (days)", &max_age).kind("number").filter().render(invalid)),
                            Filter::Days => (Field::text("days", "Not audited for (days)", &days).kind("number").filter().render(invalid)),
                            Filter::SchoolYear => (Field::text("year", "School year starting September", &year).kind("number").filter().render(invalid)),
                        }
                    }
                }
                div.actions {
                    button.secondary type="submit" { "Show" }
                    @if filtered { a href=(action) { "Clear filters" } }
                }
            }
            @if invalid.is_empty() {
                div.actions {
                    a.button.secondary href={ (action) ".csv" @if !qs.is_empty() { "?" (qs) } } download { "Download CSV" }
                }
            }
        }
    }
}

/// Partial: a row of headline figures.
fn cards(items: &[(String, &str)]) -> Markup {
    html! {
        div.cards {
            @for (n, label) in items {
                div.card { span.n { (n) } " " (label) }
            }
        }
    }
}

/// Partial: a device's tag (linked) and make and model.
fn device_cell(tag: &str, name: &str) -> Markup {
    html! {
        a href=(device_url(tag)) { strong { (tag) } }
        @if !name.is_empty() { br; span.muted { (name) } }
    }
}

/// Partial: a table of counts with a total column and a total row.
fn count_table(
    caption: &str,
    first: &str,
    rows: Vec<(String, Vec<i64>, i64)>,
    totals: (Vec<i64>, i64),
) -> Markup {
    html! {
        div.table-scroll role="region" tabindex="0" aria-label=(caption) {
            table.report {
                caption { (caption) }
                thead {
                    tr {
                        th scope="col" { (first) }
                        @for s in DeviceStatus::ALL { th.n scope="col" { (s.label()) } }
                        th.n scope="col" { "Total" }
                    }
                }
                tbody {
                    @for (name, counts, total) in &rows {
                        tr {
                            th scope="row" { (name) }
                            @for n in counts { td.n.zero[*n == 0] { (n) } }
                            td.n { strong { (total) } }
                        }
                    }
                }
                tfoot {
                    tr.total {
                        th scope="row" { "Total" }
                        @for n in &totals.0 { td.n { (n) } }
                        td.n { (totals.1) }
                    }
                }
            }
        }
    }
}

fn no_figures(invalid: &Invalid) -> Markup {
    html! {
        @if !invalid.is_empty() {
            p.muted { "Correct the filters above to see the figures." }
        }
    }
}

fn reports_page(ctx: &Ctx, title: &str, content: Markup) -> Markup {
    page(
        ctx,
        Section::Reports,
        title,
        html! {
            p.breadcrumb { a href="/reports" { "← All reports" } }
            (content)
        },
    )
}

// ---------------------------------------------------------------------------
// The index

/// The reports, and what each answers.
const REPORTS: &[(&str, &str, &str)] = &[
    ("/reports/inventory", "Inventory", "How many devices of each kind are in each status and at each location, with totals."),
    ("/reports/encryption", "Encryption compliance", "The share of devices in service verified as encrypted recently, and the devices that are not."),
    ("/reports/overdue", "Overdue loans", "Devices not back by their due time, who has them and how late they are."),
    ("/reports/audit", "Devices not audited", "Devices in service that no stocktake has seen for a chosen time, or ever."),
    ("/reports/incidents", "Incident costs", "Damage, loss and theft counted and costed per school term and per school year."),
    ("/reports/utilisation", "Utilisation", "Loans per device and per kind over a period, and the devices nobody borrowed."),
    ("/reports/disposals", "Disposals", "Devices retired and disposed of, by school year, with how, to whom, the data-wiping evidence and their original cost."),
    ("/reports/schools", "Across the trust", "Every school side by side: devices, encryption compliance, overdue loans and incident costs by school year."),
    ("/export", "Export everything", "CSV files of the register, loans, incidents, signatures and the activity log."),
];

/// The disposals report: by school year, for the governors.
fn disposals(
    ctx: &Ctx,
    year: i32,
    rows: &[kitroom_store::disposals::DisposalRow],
    invalid: &Invalid,
) -> Markup {
    let total: i64 = rows.iter().filter_map(|r| r.cost_pence).sum();
    page(
        ctx,
        Section::Reports,
        &format!("Disposals {year}/{:02}", (year + 1) % 100),
        html! {
            (error_summary(invalid))
            form.filters method="get" action="/reports/disposals" {
                div.inline-input {
                    label for="year" { "School year starting September" }
                    input #year name="year" type="number" min="2000" max="2100" value=(year);
                    button.secondary type="submit" { "Show" }
                }
            }
            p.page-actions { a.button.secondary href={ "/reports/disposals.csv?year=" (year) } download { "Download CSV" } }
            @if rows.is_empty() {
                div.empty { p { "No device was disposed of in this school year." } }
            } @else {
                p.lead { (rows.len()) " devices, original cost " (kitroom_core::device::Pence(total).to_string()) "." }
                table {
                    thead { tr { th { "Device" } th { "Disposed of" } th { "How, to whom" } th { "Data wiping evidence" } th { "Authorised by" } th { "Original cost" } } }
                    tbody {
                        @for r in rows {
                            tr {
                                td { a href=(device_url(&r.tag)) { (r.tag) } br; span.muted { (r.name) } }
                                td { (r.disposed_on) }
                                td { (r.method.replace('_', " ")) ", " (r.recipient) @if !r.recipient_reference.is_empty() { " (" (r.recipient_reference) ")" } }
                                td { @match &r.wipe_evidence { Some(w) => (w), None => span.muted { "None (no personal data)" } } }
                                td { (r.authorised_by) }
                                td { @match r.cost_pence { Some(c) => (kitroom_core::device::Pence(c).to_string()), None => span.muted { "Not recorded" } } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Whether the index lists the report at `href` for this person.
fn shown_to(ctx: &Ctx, href: &str) -> bool {
    use kitroom_core::person::Permission;
    match href {
        "/export" => ctx.may(Permission::ImportExport),
        "/reports/schools" => ctx.may(Permission::ViewTrust),
        _ => true,
    }
}

pub fn index(ctx: &Ctx, username: &str, invalid: &Invalid) -> Markup {
    page(
        ctx,
        Section::Reports,
        "Reports",
        html! {
            p.lead { "Each report opens as a page with its filters, and downloads as a CSV file of the same figures." }
            ul.report-index {
                @for (href, title, about) in REPORTS.iter().filter(|r| shown_to(ctx, r.0)) {
                    li { a href=(href) { (title) } p { (about) } }
                }
            }
            h2 #person { "One person's history" }
            p { "Everything one person borrowed, reported, signed and asked for, and what the activity log records about them; with the subject-access export of everything Kitroom holds on them." }
            (error_summary(invalid))
            form.filters method="get" action="/reports/people" {
                (Field::text("username", "Their username", username).autocomplete("off").render(invalid))
                button.secondary type="submit" { "Show their history" }
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Inventory

fn inventory(
    ctx: &Ctx,
    q: &ReportQuery,
    locations: &[Location],
    report: Option<&Inventory>,
    invalid: &Invalid,
) -> Markup {
    let all = [Filter::Location, Filter::DeviceKind, Filter::Status];
    reports_page(
        ctx,
        "Inventory",
        html! {
            p.lead { "Every device on the register, retired ones included, by kind, status and home location." }
            (filters("/reports/inventory", q, &all, locations, invalid))
            (no_figures(invalid))
            @if let Some(r) = report {
                @let total = r.status(None);
                @if total == 0 {
                    div.empty { p { @if q.is_filtered() { "No device matches these filters." } @else { "The register is empty." } } }
                } @else {
                    (cards(&[
                        (total.to_string(), if total == 1 { "device" } else { "devices" }),
                        (r.status(Some(DeviceStatus::OnLoan)).to_string(), "on loan"),
                        (r.status(Some(DeviceStatus::InRepair)).to_string(), "in repair"),
                        (r.status(Some(DeviceStatus::Lost)).to_string(), "lost"),
                    ]))
                    (bar_chart("inventory-status", "Devices by status", &DeviceStatus::ALL.iter().map(|s| Bar::count(s.label(), r.status(Some(*s)))).collect::<Vec<_>>()))
                    h2 { "By kind" }
                    (count_table(
                        "Devices by kind and status",
                        "Kind",
                        r.kinds().into_iter().map(|k| (k.label().to_owned(), DeviceStatus::ALL.iter().map(|s| r.kind_status(k, Some(*s))).collect(), r.kind_status(k, None))).collect(),
                        (DeviceStatus::ALL.iter().map(|s| r.status(Some(*s))).collect(), total),
                    ))
                    (bar_chart("inventory-kind", "Devices by kind", &r.kinds().into_iter().map(|k| Bar::count(k.label(), r.kind_status(k, None))).collect::<Vec<_>>()))
                    h2 { "By location" }
                    (count_table(
                        "Devices by home location and status",
                        "Location",
                        r.locations().into_iter().map(|l| (l.to_owned(), DeviceStatus::ALL.iter().map(|s| r.location_status(l, Some(*s))).collect(), r.location_status(l, None))).collect(),
                        (DeviceStatus::ALL.iter().map(|s| r.status(Some(*s))).collect(), total),
                    ))
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Encryption

fn compliance_fill(c: Compliance) -> Fill {
    match c {
        Compliance::Verified => Fill::Solid(Tone::Ok),
        Compliance::VerificationOld => Fill::Hatch(Tone::Warn),
        Compliance::NeverVerified => Fill::Dots(Tone::Warn),
        Compliance::NotEncrypted => Fill::Cross(Tone::Bad),
        Compliance::Unknown => Fill::Lines(Tone::Muted),
    }
}

/// Partial: devices that fall short in one way.
fn gap_table(devices: &[&DeviceLine]) -> Markup {
    html! {
        table.report.list {
            thead { tr { th { "Device" } th { "Location" } th { "Status" } th { "Encryption" } th { "Last verified" } } }
            tbody {
                @for d in devices {
                    tr {
                        td { (device_cell(&d.tag, &d.name())) }
                        td data-label="Location" { (d.location) }
                        td data-label="Status" { (status_badge(d.status)) }
                        td data-label="Encryption" { (encryption_badge(d.encryption_state)) }
                        td data-label="Last verified" { @match d.encryption_verified_on { Some(v) => (time::date(v)), None => "Never" } }
                    }
                }
            }
        }
    }
}

fn encryption(
    ctx: &Ctx,
    q: &ReportQuery,
    locations: &[Location],
    report: Option<&EncryptionReport>,
    invalid: &Invalid,
) -> Markup {
    reports_page(
        ctx,
        "Encryption compliance",
        html! {
            @if let Some(r) = report {
                p.lead {
                    "Devices in service (not retired) recorded as encrypted, with the encryption verified in the last "
                    (r.max_age_days) " days (on or after " (time::date(r.since)) "). Only these may leave the school site."
                }
            } @else {
                p.lead { "Devices in service (not retired) recorded as encrypted, with the encryption verified recently." }
            }
            (filters("/reports/encryption", q, &[Filter::Location, Filter::DeviceKind, Filter::MaxAgeDays], locations, invalid))
            (no_figures(invalid))
            @if let Some(r) = report {
                @let total = r.count(None, None);
                @let verified = r.count(Some(Compliance::Verified), None);
                @if total == 0 {
                    div.empty { p { "No device in service matches these filters." } }
                } @else {
                    (cards(&[
                        (percent(verified, total).map(|p| format!("{p}%")).unwrap_or_default(), "verified as encrypted"),
                        (format!("{verified} of {total}"), "devices in service"),
                        ((total - verified).to_string(), "need attention"),
                    ]))
                    (bar_chart("encryption", "Devices in service by encryption", &Compliance::ALL.iter().map(|c| {
                        let n = r.count(Some(*c), None);
                        Bar {
                            label: c.label().to_owned(),
                            value: n,
                            text: format!("{n} ({}%)", percent(n, total).unwrap_or(0)),
                            fill: compliance_fill(*c),
                        }
                    }).collect::<Vec<_>>()))
                    h2 { "By kind" }
                    div.table-scroll role="region" tabindex="0" aria-label="Devices in service by kind and encryption" {
                        table.report {
                            caption { "Devices in service by kind and encryption" }
                            thead {
                                tr {
                                    th scope="col" { "Kind" }
                                    @for c in Compliance::ALL { th.n scope="col" { (c.label()) } }
                                    th.n scope="col" { "Total" }
                                    th.n scope="col" { "Share verified" }
                                }
                            }
                            tbody {
                                @for k in r.kinds() {
                                    @let all = r.count(None, Some(k));
                                    tr {
                                        th scope="row" { (k.label()) }
                                        @for c in Compliance::ALL { @let n = r.count(Some(*c), Some(k)); td.n.zero[n == 0] { (n) } }
                                        td.n { strong { (all) } }
                                        td.n { (percent(r.count(Some(Compliance::Verified), Some(k)), all).unwrap_or(0)) "%" }
                                    }
                                }
                            }
                            tfoot {
                                tr.total {
                                    th scope="row" { "Total" }
                                    @for c in Compliance::ALL { td.n { (r.count(Some(*c), None)) } }
                                    td.n { (total) }
                                    td.n { (percent(verified, total).unwrap_or(0)) "%" }
                                }
                            }
                        }
                    }
                    @for c in &Compliance::ALL[1..] {
                        @let devices = r.gaps_in(*c);
                        @if !devices.is_empty() {
                            h2 { (c.label()) " " span.muted { "(" (devices.len()) ")" } }
                            (gap_table(&devices))
                        }
                    }
                    @if verified == total {
                        div.empty { p { "Every device in service is encrypted and verified. Nothing needs attention." } }
                    }
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Overdue loans

fn overdue(
    ctx: &Ctx,
    q: &ReportQuery,
    locations: &[Location],
    loans: Option<&[OverdueLoan]>,
    now: DateTime<Utc>,
    invalid: &Invalid,
) -> Markup {
    reports_page(
        ctx,
        "Overdue loans",
        html! {
            p.lead { "Devices still out after the time they were due back, the longest overdue first." }
            (filters("/reports/overdue", q, &[Filter::Location, Filter::DeviceKind], locations, invalid))
            (no_figures(invalid))
            @if let Some(loans) = loans {
                @if loans.is_empty() {
                    div.empty { p { "Nothing is overdue." } }
                } @else {
                    (cards(&[(loans.len().to_string(), if loans.len() == 1 { "loan overdue" } else { "loans overdue" })]))
                    table.report.list {
                        thead { tr { th { "Device" } th { "Borrower" } th { "Was due" } th { "Overdue by" } th { "Off site" } } }
                        tbody {
                            @for l in loans {
                                tr.overdue {
                                    td { (device_cell(&l.tag, format!("{} {}", l.make, l.model).trim())) }
                                    td data-label="Borrower" { a href=(person_history_url(&l.borrower)) { (l.borrower_name) } br; span.muted { (l.borrower) } }
                                    td data-label="Was due" { (time::when(l.due_at)) }
                                    td data-label="Overdue by" { strong { (how_long(now - l.due_at)) } }
                                    td data-label="Off site" { @if l.off_site { "Yes" } @else { "No" } }
                                }
                            }
                        }
                    }
                }
            }
            p { "See also " a href="/reports/audit" { "devices not audited" } "." }
        },
    )
}

// ---------------------------------------------------------------------------
// Audits

fn audit(
    ctx: &Ctx,
    q: &ReportQuery,
    locations: &[Location],
    report: Option<&AuditReport>,
    invalid: &Invalid,
) -> Markup {
    reports_page(
        ctx,
        "Devices not audited",
        html! {
            @if let Some(r) = report {
                p.lead { "Devices in service not seen by a stocktake in the last " (r.days) " days (since " (time::date(r.since)) "): never audited first, then the longest ago." }
            } @else {
                p.lead { "Devices in service not seen by a stocktake for a chosen time." }
            }
            (filters("/reports/audit", q, &[Filter::Location, Filter::DeviceKind, Filter::Days], locations, invalid))
            (no_figures(invalid))
            @if let Some(r) = report {
                @if r.devices.is_empty() {
                    div.empty { p { "Every device in service has been audited in that time." } }
                } @else {
                    @let never = r.devices.iter().filter(|d| d.last_audited_on.is_none()).count();
                    (cards(&[
                        (r.devices.len().to_string(), "not audited in that time"),
                        (never.to_string(), "never audited"),
                    ]))
                    table.report.list {
                        thead { tr { th { "Device" } th { "Location" } th { "Status" } th { "Last audited" } } }
                        tbody {
                            @for d in &r.devices {
                                tr {
                                    td { (device_cell(&d.tag, &d.name())) }
                                    td data-label="Location" { (d.location) }
                                    td data-label="Status" { (status_badge(d.status)) }
                                    td data-label="Last audited" {
                                        @match d.last_audited_on {
                                            Some(a) => { (time::date(a)) " " span.muted { "(" ((r.today - a).num_days()) " days ago)" } },
                                            None => strong { "Never" },
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Incident costs

/// Partial: "2 · £120.00", or a dash for none.
fn tally_cell(t: &Tally) -> Markup {
    html! {
        @if t.incidents == 0 {
            span.muted { "—" }
        } @else {
            (t.incidents) " · " (t.cost())
            @if t.costed < t.incidents { br; span.muted { (t.incidents - t.costed) " without a cost" } }
        }
    }
}

fn tally_row(head: &str, row: &TallyRow, total: bool) -> Markup {
    html! {
        tr.total[total] {
            th scope="row" { (head) }
            @for t in &row.by_kind { td.n { (tally_cell(t)) } }
            td.n { strong { (tally_cell(&row.total)) } }
        }
    }
}

fn incidents(
    ctx: &Ctx,
    q: &ReportQuery,
    locations: &[Location],
    report: Option<&IncidentCosts>,
    invalid: &Invalid,
) -> Markup {
    reports_page(
        ctx,
        "Incident costs",
        html! {
            p.lead { "Damage, loss and theft, counted and costed by when they happened." }
            p {
                "A school year runs from 1 September to 31 August. Terms are taken as autumn (1 September to 31 December), "
                "spring (1 January to 31 March: Easter moves, so 31 March stands in for it) and summer (1 April to 31 August). "
                "Costs are those recorded when an incident is handled; each cell shows the number of incidents and their total cost."
            }
            (filters("/reports/incidents", q, &[Filter::IncidentKind, Filter::Location, Filter::From, Filter::To], locations, invalid))
            (no_figures(invalid))
            @if let Some(r) = report {
                @if r.years.is_empty() {
                    div.empty { p { @if q.is_filtered() { "No incident matches these filters." } @else { "No incident has been reported." } } }
                } @else {
                    (cards(&[
                        (r.total.total.incidents.to_string(), if r.total.total.incidents == 1 { "incident" } else { "incidents" }),
                        (r.total.total.cost().to_string(), "total cost"),
                    ]))
                    (bar_chart("incident-costs", "Cost of incidents per school year", &r.years.iter().map(|y| Bar {
                        label: school_year_label(y.start),
                        value: y.total.total.cost_pence,
                        text: format!("{} ({} {})", y.total.total.cost(), y.total.total.incidents, if y.total.total.incidents == 1 { "incident" } else { "incidents" }),
                        fill: Fill::Hatch(Tone::Brand),
                    }).collect::<Vec<_>>()))
                    @for y in &r.years {
                        h2 { "School year " (school_year_label(y.start)) }
                        div.table-scroll role="region" tabindex="0" aria-label={ "Incidents and their cost in " (school_year_label(y.start)) ", by term and kind" } {
                            table.report {
                                caption { "Incidents and their cost in " (school_year_label(y.start)) ", by term and kind" }
                                thead {
                                    tr {
                                        th scope="col" { "Term" }
                                        @for k in IncidentKind::ALL { th.n scope="col" { (k.label()) } }
                                        th.n scope="col" { "All kinds" }
                                    }
                                }
                                tbody { @for (term, row) in &y.terms { (tally_row(term.label(), row, false)) } }
                                tfoot { (tally_row("Whole year", &y.total, true)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------
// Across the trust

fn pounds(pence: i64) -> String {
    Pence(pence).to_string()
}

fn schools(ctx: &Ctx, q: &ReportQuery, report: Option<&TrustReport>, invalid: &Invalid) -> Markup {
    reports_page(
        ctx,
        "Across the trust",
        html! {
            p.lead { "Every school of the trust side by side. Each school's own reports give the devices and loans behind these figures." }
            (filters("/reports/schools", q, &[Filter::MaxAgeDays, Filter::SchoolYear], &[], invalid))
            (no_figures(invalid))
            @if let Some(r) = report {
                @let total = r.total();
                @let year = r.cost_in(&total, r.year);
                (cards(&[
                    (r.schools.len().to_string(), if r.schools.len() == 1 { "school" } else { "schools" }),
                    (total.in_service().to_string(), "devices in service"),
                    (total.verified_percent().map(|p| format!("{p}%")).unwrap_or_else(|| "–".into()), "verified as encrypted"),
                    (total.overdue.to_string(), "overdue loans"),
                    (pounds(year.cost_pence), "incident costs this year"),
                ]))
                (percent_chart("schools-encryption", &format!("Devices in service verified as encrypted in the last {} days", r.max_age_days), &r.schools.iter().map(|s| Bar {
                    label: s.name.clone(),
                    value: s.verified_percent().unwrap_or(0),
                    text: match s.verified_percent() {
                        Some(p) => format!("{p}% ({} of {})", s.verified(), s.in_service()),
                        None => "no devices".into(),
                    },
                    fill: Fill::Solid(Tone::Ok),
                }).collect::<Vec<_>>()))
                (bar_chart("schools-overdue", "Overdue loans", &r.schools.iter().map(|s| Bar {
                    label: s.name.clone(),
                    value: s.overdue,
                    text: match s.most_overdue {
                        Some(d) => format!("{} (longest {})", s.overdue, how_long(d)),
                        None => "0".into(),
                    },
                    fill: Fill::Hatch(Tone::Warn),
                }).collect::<Vec<_>>()))
                (bar_chart("schools-costs", &format!("Cost of incidents in {}", school_year_label(r.year)), &r.schools.iter().map(|s| {
                    let t = r.cost_in(s, r.year);
                    Bar {
                        label: s.name.clone(),
                        value: t.cost_pence,
                        text: format!("{} ({} {})", pounds(t.cost_pence), t.incidents, if t.incidents == 1 { "incident" } else { "incidents" }),
                        fill: Fill::Dots(Tone::Bad),
                    }
                }).collect::<Vec<_>>()))
                h2 { "School by school" }
                div.table-scroll role="region" tabindex="0" aria-label="Each school's devices, encryption, overdue loans and incidents" {
                    table.report {
                        caption { "Each school in " (school_year_label(r.year)) }
                        thead {
                            tr {
                                th scope="col" { "School" }
                                th.n scope="col" { "In service" }
                                th.n scope="col" { (DeviceStatus::OnLoan.label()) }
                                th.n scope="col" { (DeviceStatus::Lost.label()) }
                                th.n scope="col" { "Verified as encrypted" }
                                th.n scope="col" { "Overdue loans" }
                                th.n scope="col" { "Incidents" }
                                th.n scope="col" { "Cost" }
                            }
                        }
                        tbody {
                            @for s in &r.schools { (school_row(r, s, false)) }
                        }
                        tfoot { (school_row(r, &total, true)) }
                    }
                }
                h2 { "Incident costs by school year" }
                @if r.years.is_empty() {
                    div.empty { p { "No school has reported an incident." } }
                } @else {
                    div.table-scroll role="region" tabindex="0" aria-label="Incident costs by school and school year" {
                        table.report {
                            caption { "Incidents and their cost" }
                            thead {
                                tr {
                                    th scope="col" { "School" }
                                    @for y in &r.years { th.n scope="col" { (school_year_label(*y)) } }
                                }
                            }
                            tbody {
                                @for s in r.schools.iter() {
                                    tr {
                                        th scope="row" { (s.name) }
                                        @for t in &s.costs { td.n { (tally_cell(t)) } }
                                    }
                                }
                            }
                            tfoot {
                                tr.total {
                                    th scope="row" { "All schools" }
                                    @for t in &total.costs { td.n { (tally_cell(t)) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// Partial: one school's line (or, `total`, the trust's) in the school-by-school table.
fn school_row(r: &TrustReport, s: &SchoolLine, total: bool) -> Markup {
    let cost = r.cost_in(s, r.year);
    html! {
        tr.total[total] {
            th scope="row" { (s.name) @if !total { br; span.muted { (s.slug) } } }
            td.n { (s.in_service()) }
            td.n.zero[s.status(DeviceStatus::OnLoan) == 0] { (s.status(DeviceStatus::OnLoan)) }
            td.n.zero[s.status(DeviceStatus::Lost) == 0] { (s.status(DeviceStatus::Lost)) }
            td.n { @match s.verified_percent() { Some(p) => { (p) "%" }, None => span.muted { "–" } } }
            td.n.zero[s.overdue == 0] { (s.overdue) }
            td.n.zero[cost.incidents == 0] { (cost.incidents) }
            td.n { (pounds(cost.cost_pence)) }
        }
    }
}

// ---------------------------------------------------------------------------
// Utilisation

fn utilisation(
    ctx: &Ctx,
    q: &ReportQuery,
    locations: &[Location],
    report: Option<&Utilisation>,
    invalid: &Invalid,
) -> Markup {
    // The form shows the period in use, the default one included.
    let mut shown = q.clone();
    if let Some(r) = report {
        shown.from = r.from.to_string();
        shown.to = r.to.to_string();
    }
    reports_page(
        ctx,
        "Utilisation",
        html! {
            @if let Some(r) = report {
                p.lead { "Loans that began from " (time::date(r.from)) " to " (time::date(r.to)) ", per kind and per device, and the devices in service nobody borrowed in that time." }
            } @else {
                p.lead { "Loans per kind and per device over a period, and the devices nobody borrowed." }
            }
            (filters_with("/reports/utilisation", &shown, q.is_filtered(), &[Filter::Location, Filter::DeviceKind, Filter::From, Filter::To], locations, invalid))
            (no_figures(invalid))
            @if let Some(r) = report {
                @if r.devices.is_empty() {
                    div.empty { p { "No device matches these filters." } }
                } @else {
                    @let kinds = r.by_kind();
                    @let never = r.never_borrowed();
                    (cards(&[
                        (r.loans().to_string(), if r.loans() == 1 { "loan" } else { "loans" }),
                        (r.devices.len().to_string(), "devices"),
                        (never.len().to_string(), "never borrowed"),
                    ]))
                    (bar_chart("utilisation-kind", "Loans per kind", &kinds.iter().map(|k| Bar {
                        label: k.kind.label().to_owned(),
                        value: k.loans,
                        text: format!("{} {} on {} {}", k.loans, if k.loans == 1 { "loan" } else { "loans" }, k.devices, if k.devices == 1 { "device" } else { "devices" }),
                        fill: Fill::Solid(Tone::Brand),
                    }).collect::<Vec<_>>()))
                    h2 { "Per kind" }
                    div.table-scroll role="region" tabindex="0" aria-label="Loans per kind of device" {
                        table.report {
                            caption { "Loans per kind of device" }
                            thead { tr { th scope="col" { "Kind" } th.n scope="col" { "Devices" } th.n scope="col" { "Loans" } th.n scope="col" { "Loans per device" } th.n scope="col" { "Never borrowed" } } }
                            tbody {
                                @for k in &kinds {
                                    tr {
                                        th scope="row" { (k.kind.label()) }
                                        td.n { (k.devices) }
                                        td.n { (k.loans) }
                                        td.n { (format!("{:.1}", k.loans as f64 / k.devices.max(1) as f64)) }
                                        td.n.zero[k.never == 0] { (k.never) }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Never borrowed in the period " span.muted { "(" (never.len()) ")" } }
                    @if never.is_empty() {
                        p { "Every device in service was borrowed at least once." }
                    } @else {
                        table.report.list {
                            thead { tr { th { "Device" } th { "Location" } th { "Status" } } }
                            tbody {
                                @for d in &never {
                                    tr {
                                        td { (device_cell(&d.tag, &d.name())) }
                                        td data-label="Location" { (d.location) }
                                        td data-label="Status" { (status_badge(d.status)) }
                                    }
                                }
                            }
                        }
                    }
                    h2 { "Loans per device" }
                    table.report.list {
                        thead { tr { th { "Device" } th { "Location" } th.n { "Loans" } th { "Last out" } } }
                        tbody {
                            @for d in r.devices.iter().filter(|d| d.loans > 0) {
                                tr {
                                    td { (device_cell(&d.tag, &d.name())) }
                                    td data-label="Location" { (d.location) }
                                    td.n data-label="Loans" { strong { (d.loans) } }
                                    td data-label="Last out" { @if let Some(t) = d.last_out_at { (time::when(t)) } }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

// ---------------------------------------------------------------------------
// One person

/// Partial: a stored time in school time, or a dash.
fn when_opt(t: Option<&String>) -> Markup {
    html! { @match t { Some(t) => (time::when_text(t)), None => span.muted { "—" } } }
}

/// Partial: requests to the head teacher.
fn requests_table(items: &[RequestRecord], with_what: bool) -> Markup {
    html! {
        table.report.list {
            thead { tr { th { "Device" } @if with_what { th { "What" } } th { "Why" } th { "Asked" } th { "Outcome" } } }
            tbody {
                @for r in items {
                    tr {
                        td { a href=(device_url(&r.device_tag)) { strong { (r.device_tag) } } }
                        @if with_what { td data-label="What" { (r.what.as_deref().unwrap_or("")) } }
                        td data-label="Why" { (r.reason) }
                        td data-label="Asked" { (time::when_text(&r.requested_at)) }
                        td data-label="Outcome" {
                            (r.status)
                            @if let Some(at) = &r.decided_at { ", " (time::when_text(at)) }
                            @if !r.note.is_empty() { br; span.muted { "“" (r.note) "”" } }
                        }
                    }
                }
            }
        }
    }
}

/// A stored word as a person reads it; the word itself if it does not parse.
fn word_label<T: std::str::FromStr>(word: &str, label: impl Fn(T) -> &'static str) -> String {
    word.parse::<T>()
        .map(|w| label(w).to_owned())
        .unwrap_or_else(|_| word.to_owned())
}

/// How many events the page shows; the export holds them all.
const EVENTS_SHOWN: usize = 200;

pub fn person(ctx: &Ctx, person: &Person, record: &PersonRecord) -> Markup {
    let base = person_history_url(&person.username);
    let a = &record.account;
    let events: Vec<Event> = record
        .events
        .iter()
        .rev()
        .take(EVENTS_SHOWN)
        .map(|e| Event {
            seq: e.seq,
            at: e.at.clone(),
            actor: e.actor.clone(),
            action: e.action.clone(),
            subject: e.subject.clone(),
            subject_label: e.subject_label.clone(),
            details: e.details.to_string(),
            school_id: None,
        })
        .collect();
    reports_page(
        ctx,
        &format!("History of {}", a.full_name),
        html! {
            dl.summary {
                dt { "Username" } dd { (a.username) }
                dt { "Name" } dd { (a.full_name) }
                dt { "Email" } dd { (a.email.as_deref().unwrap_or("—")) }
                dt { "Position" } dd { @if a.position.is_empty() { "—" } @else { (a.position) } }
                dt { "Kind and role" } dd { (person.kind.label()) ", " (person.role.label()) }
                dt { "Account" } dd { @if a.active { "Active" } @else { "Deactivated" } ", created " (time::when_text(&a.created_at)) }
            }
            section.export {
                h2 { "Subject-access export" }
                p { "Everything Kitroom holds on " (a.full_name) ": their account (without the password), API token names and dates, loans, incidents they reported, policy signatures, change and off-site requests, notifications, and the activity log entries they made or that are about their account. It holds nothing about anyone else: where a record involves another person (who lent a device, who decided a request), it says “someone else”. Each export is recorded in the activity log." }
                p { "The CSV file has four columns, " code { "section" } ", " code { "item" } ", " code { "field" } " and " code { "value" } ": one row for each field of each record, numbered within its section (" (SECTIONS.join(", ")) "). A section with nothing in it has one row saying " code { "none" } "." }
                div.actions {
                    a.button.secondary href={ (base) "/export.json" } download { "Download as JSON" }
                    a.button.secondary href={ (base) "/export.csv" } download { "Download as CSV" }
                }
            }
            h2 { "Loans " span.muted { "(" (record.loans.len()) ")" } }
            @if record.loans.is_empty() {
                p.muted { "They have not borrowed anything." }
            } @else {
                table.report.list {
                    thead { tr { th { "Device" } th { "Out" } th { "Due" } th { "Back" } th { "Notes" } } }
                    tbody {
                        @for l in record.loans.iter().rev() {
                            tr {
                                td { (device_cell(&l.device_tag, &l.device_name)) }
                                td data-label="Out" { (time::when_text(&l.out_at)) }
                                td data-label="Due" { (time::when_text(&l.due_at)) }
                                td data-label="Back" {
                                    (when_opt(l.returned_at.as_ref()))
                                    @if l.outcome.as_deref() == Some("lost") { " " span.badge.status-lost { "Lost" } }
                                }
                                td data-label="Notes" {
                                    @if l.off_site { "Off site" @if l.off_site_authorised { " (authorised)" } br; }
                                    @if !l.purpose.is_empty() { (l.purpose) br; }
                                    @if l.return_condition.as_deref() == Some("damaged") { "Returned damaged" }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Incidents they reported " span.muted { "(" (record.incidents_reported.len()) ")" } }
            @if record.incidents_reported.is_empty() {
                p.muted { "None." }
            } @else {
                table.report.list {
                    thead { tr { th { "Incident" } th { "Device" } th { "Reported" } th { "Status" } th.n { "Cost" } } }
                    tbody {
                        @for i in record.incidents_reported.iter().rev() {
                            tr {
                                td { strong { "Incident " (i.number) } " · " (word_label::<IncidentKind>(&i.kind, IncidentKind::label)) br; span.muted { (i.description) } }
                                td data-label="Device" { a href=(device_url(&i.device_tag)) { (i.device_tag) } }
                                td data-label="Reported" { (time::when_text(&i.reported_at)) }
                                td data-label="Status" { (word_label::<IncidentStatus>(&i.status, IncidentStatus::label)) @if let Some(r) = &i.resolution { ": " (word_label::<Resolution>(r, Resolution::label).to_lowercase()) } }
                                td.n data-label="Cost" { @if let Some(c) = i.cost_pence { (Pence(c)) } }
                            }
                        }
                    }
                }
            }
            h2 { "Policy signatures " span.muted { "(" (record.signatures.len()) ")" } }
            @if record.signatures.is_empty() {
                p.muted { "They have not signed the acceptable-use policy." }
            } @else {
                table.report.list {
                    thead { tr { th { "Version" } th { "Signed as" } th { "Position" } th { "When" } } }
                    tbody {
                        @for s in record.signatures.iter().rev() {
                            tr {
                                td { strong { (s.policy_version) } br; span.muted { (s.policy_title) } }
                                td data-label="Signed as" { (s.full_name) }
                                td data-label="Position" { (s.position) }
                                td data-label="When" { (time::when_text(&s.signed_at)) }
                            }
                        }
                    }
                }
            }
            h2 { "Change requests " span.muted { "(" (record.change_requests.len()) ")" } }
            @if record.change_requests.is_empty() { p.muted { "None." } } @else { (requests_table(&record.change_requests, true)) }
            h2 { "Requests to take devices off site " span.muted { "(" (record.offsite_requests.len()) ")" } }
            @if record.offsite_requests.is_empty() { p.muted { "None." } } @else { (requests_table(&record.offsite_requests, false)) }
            h2 { "API tokens " span.muted { "(" (record.api_tokens.len()) ")" } }
            @if record.api_tokens.is_empty() {
                p.muted { "None." }
            } @else {
                ul.plain {
                    @for t in &record.api_tokens {
                        li {
                            strong { (t.name) } " · created " (time::when_text(&t.created_at))
                            @if let Some(u) = &t.last_used_at { " · last used " (time::when_text(u)) }
                            @if let Some(r) = &t.revoked_at { " · revoked " (time::when_text(r)) }
                        }
                    }
                }
            }
            h2 { "Activity " span.muted { "(" (record.events.len()) ")" } }
            p.muted {
                "Entries in the activity log that they made, or that are about their account, newest first."
                @if record.events.len() > EVENTS_SHOWN { " The newest " (EVENTS_SHOWN) " are shown; the export holds all " (record.events.len()) "." }
            }
            (super::log::events_table(&events, true))
        },
    )
}
