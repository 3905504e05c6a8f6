//! Incident pages: reporting, the manager's handling, notifications, and the
//! manager's desk.

use chrono::{DateTime, Utc};
use kitroom_core::change::ChangeInput;
use kitroom_core::incident::{
    time_left, IncidentKind, IncidentStatus, ReportInput, Resolution, Risk,
};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::devices::Device;
use kitroom_store::incidents::{ChangeRequest, DeskCounts, Incident, IncidentNote};
use kitroom_store::loans::Loan;
use kitroom_store::notifications::Notification;
use maud::{html, Markup};
use serde::Deserialize;

use super::{csrf, error_summary, page, select, Field, Section};
use crate::auth::ctx::Ctx;
use crate::paths::{device_url, incident_url};
use crate::time;

/// Partial: the risk as a badge that reads without colour.
fn risk_badge(r: Risk) -> Markup {
    let class = match r {
        Risk::None => "badge status-retired",
        Risk::Low => "badge status-available",
        Risk::Possible => "badge status-lost",
    };
    html! { span class=(class) { (r.label()) } }
}

fn status_badge(s: IncidentStatus) -> Markup {
    let class = match s {
        IncidentStatus::Open => "badge status-lost",
        IncidentStatus::Investigating => "badge status-in_repair",
        IncidentStatus::Resolved => "badge status-available",
    };
    html! { span class=(class) { (s.label()) } }
}

pub fn choose(ctx: &Ctx, mine: &[Loan], tag: &str, invalid: &Invalid) -> Markup {
    page(
        ctx,
        Section::Home,
        "Report a problem",
        html! {
            (error_summary(invalid))
            p.lead { "Damaged, lost or stolen? Tell the business manager now: it takes a minute, and a quick report protects pupils' data." }
            @if !mine.is_empty() {
                h2 { "One of your loans" }
                ul.choices {
                    @for l in mine {
                        li { a.button.secondary href={ (device_url(&l.device_tag)) "/report" } { (l.device_tag) " " span.muted { (l.device_name) } } }
                    }
                }
                h2 { "Another device" }
            }
            form method="get" action="/report" novalidate {
                (Field::text("tag", "Its asset tag", tag).required().hint("On the label. You can also scan the label's barcode or QR code.").scan_box("Continue").render(invalid))
            }
        },
    )
}

pub fn report_form(ctx: &Ctx, device: &Device, input: &ReportInput, invalid: &Invalid) -> Markup {
    let tag = device.details.tag.as_str();
    let kind = if input.kind.is_empty() {
        ""
    } else {
        input.kind.as_str()
    };
    page(
        ctx,
        Section::Home,
        &format!("Report a problem with {tag}"),
        html! {
            p.muted { (device.details.kind.label()) " " (device.details.make) " " (device.details.model) }
            (error_summary(invalid))
            form.report method="post" action={ (device_url(tag)) "/report" } novalidate {
                (csrf(&ctx.csrf))
                fieldset #kind.has-error[invalid.for_field("kind").is_some()] {
                    legend { "What happened?" }
                    @if let Some(e) = invalid.for_field("kind") { p.error { (e) } }
                    @for k in IncidentKind::ALL {
                        div.field.radio {
                            input id={ "kind-" (k.as_str()) } type="radio" name="kind" value=(k.as_str()) checked[kind == k.as_str()];
                            label for={ "kind-" (k.as_str()) } {
                                (k.label())
                                span.hint { @match k { IncidentKind::Damage => " (broken, cracked, not working)", IncidentKind::Loss => " (cannot find it)", IncidentKind::Theft => " (someone took it)" } }
                            }
                        }
                    }
                }
                (Field::text("description", "Tell us what happened", &input.description).kind("textarea").required().hint("A sentence or two is enough").render(invalid))
                div.filter-grid.two {
                    (Field::text("occurred_on", "When", &input.occurred_on).kind("date").hint("Leave the date and time empty if it has only just happened: the report then says it happened when you send it.").render(invalid))
                    (Field::text("occurred_time", "About what time", &input.occurred_time).kind("time").render(invalid))
                }
                (Field::text("place", "Where", &input.place).hint("For example: the bus to the swimming pool, Year 3 classroom").render(invalid))
                (Field::text("police_reference", "Police crime reference (theft only)", &input.police_reference).hint("If you have reported a theft to the police. You can add it later.").render(invalid))
                button.primary.big type="submit" { "Send the report" }
            }
        },
    )
}

/// The step before writing a device off, which retires it and cannot be undone.
pub fn confirm_write_off(ctx: &Ctx, i: &Incident, fields: &[(String, String)]) -> Markup {
    let url = incident_url(i);
    let action = format!("{url}/status");
    super::confirm_page(
        ctx,
        Section::Incidents,
        super::Confirm {
            title: &format!("Write off {}?", i.device_tag),
            consequence: html! {
                "Incident " (i.number) " will be resolved as written off, and " (i.device_tag)
                " will be retired: taken off the active register for good; this cannot be undone."
            },
            details: html! {
                p { "If the device may still turn up, keep the incident open instead, or resolve it as recovered when it is found." }
            },
            action: &action,
            fields,
            yes: &format!("Yes, write off {}", i.device_tag),
            back: &url,
        },
    )
}

pub fn list(ctx: &Ctx, q: &IncidentsQuery, incidents: &[Incident], now: DateTime<Utc>) -> Markup {
    let tabs = [
        ("", "Not resolved"),
        ("open", "New"),
        ("investigating", "Investigating"),
        ("resolved", "Resolved"),
        ("all", "All"),
    ];
    page(
        ctx,
        Section::Incidents,
        "Incidents",
        html! {
            nav.tabs aria-label="Which incidents" {
                @for (s, label) in tabs {
                    a href={ "/incidents" @if !s.is_empty() { "?status=" (s) } } aria-current=[(q.status == s).then_some("page")] { (label) }
                }
            }
            @if incidents.is_empty() {
                div.empty { p { "No incidents here." } }
            } @else {
                (incidents_table(incidents, now))
            }
        },
    )
}

/// Partial: incidents as a table.
pub fn incidents_table(incidents: &[Incident], now: DateTime<Utc>) -> Markup {
    html! {
        table.incidents {
            thead { tr { th { "Incident" } th { "Device" } th { "Reported" } th { "Status" } th { "Data protection" } } }
            tbody {
                @for i in incidents {
                    tr.overdue[i.decision_pending()] {
                        td { a href=(incident_url(i)) { (i.kind.label()) " · " (i.number) } }
                        td data-label="Device" { a.tag href=(device_url(&i.device_tag)) { (i.device_tag) } }
                        td data-label="Reported" { (time::when(i.reported_at)) br; span.muted { "by " (i.reporter_name) } }
                        td data-label="Status" { (status_badge(i.status)) }
                        td data-label="Data protection" {
                            (risk_badge(i.risk))
                            @if let (true, Some(by)) = (i.decision_pending(), i.decide_by) { br; strong { "Decide: " (time_left(by, now)) } }
                        }
                    }
                }
            }
        }
    }
}

pub fn show(
    ctx: &Ctx,
    i: &Incident,
    notes: &[IncidentNote],
    just_reported: bool,
    invalid: &Invalid,
    now: DateTime<Utc>,
) -> Markup {
    let url = incident_url(i);
    let handler = ctx.may(Permission::HandleIncidents);
    // The deadline for the data protection decision is the manager's work; the
    // person who reported it is told what they can do instead.
    let manager_view = ctx.may(Permission::ViewIncidents);
    page(
        ctx,
        Section::Incidents,
        &format!(
            "{} of {} · incident {}",
            i.kind.label(),
            i.device_tag,
            i.number
        ),
        html! {
            @if just_reported {
                div.notice role="status" {
                    h2 { "Thank you. Your report is saved." }
                    p { "The business manager has been told at once in Kitroom, and by email where email is set up." }
                    @if i.kind != IncidentKind::Damage {
                        p { "Kitroom now shows it as lost, so anyone who scans its label will be told." }
                    }
                }
            }
            @if i.reported_by == ctx.user.username && i.status != IncidentStatus::Resolved {
                (next_steps(i))
            }
            (error_summary(invalid))
            div.device-head { (status_badge(i.status)) (risk_badge(i.risk)) }
            dl.summary {
                dt { "Device" } dd { a href=(device_url(&i.device_tag)) { (i.device_tag) } " " (i.device_name) }
                dt { "Reported" } dd { (time::when(i.reported_at)) " by " (i.reporter_name) @if manager_view { " (" (i.reported_by) ")" } }
                dt { "Happened" } dd {
                    (time::when(i.occurred_at))
                    @if time_not_given(i) { " " span.muted { "(when it was reported: no other time was given)" } }
                    @if !i.place.is_empty() { ", " (i.place) }
                }
                dt { "What happened" } dd.notes { (i.description) }
                @if i.kind == IncidentKind::Theft {
                    dt { "Police reference" } dd { @match &i.police_reference { Some(p) => (p), None => span.muted { "Not given yet" } } }
                }
                dt { "Data protection" } dd { @if manager_view { (i.breach_reason) } @else { (kitroom_core::incident::reason_for_reporter(&i.breach_reason)) } }
                @if let Some(r) = i.resolution { dt { "Resolution" } dd { (r.label()) } }
                @if let Some(c) = i.cost { dt { "Cost" } dd { (c.to_string()) } }
                @if !i.claim_reference.is_empty() { dt { "Insurance or claim reference" } dd { (i.claim_reference) } }
            }
            @if let Some(d) = &i.decision {
                section {
                    h2 { "Data protection decision" }
                    p { strong { @if d.reportable { "Reportable to the ICO." } @else { "Not reportable." } } " " (d.reason) }
                    p.muted { "Recorded by " (d.decided_by) ", " (time::when(d.decided_at)) }
                }
            } @else if let (true, Risk::Possible, Some(by)) = (manager_view, i.risk, i.decide_by) {
                section.deadline {
                    h2 { "Data protection decision due" }
                    p.lead { strong { (time_left(by, now)) } " · by " (time::when(by)) }
                    @if handler {
                        form method="post" action={ (url) "/decision" } novalidate {
                            (csrf(&ctx.csrf))
                            fieldset #reportable.has-error[invalid.for_field("reportable").is_some()] {
                                legend { "Is it reportable to the Information Commissioner's Office?" }
                                @if let Some(e) = invalid.for_field("reportable") { p.error { (e) } }
                                div.field.radio { input #rep-yes type="radio" name="reportable" value="yes"; label for="rep-yes" { "Yes, we are reporting it" } }
                                div.field.radio { input #rep-no type="radio" name="reportable" value="no"; label for="rep-no" { "No, it is not reportable" } }
                            }
                            (Field::text("reason", "Why", "").kind("textarea").required().hint("For example: the laptop held no personal data; the files were on the network only").render(invalid))
                            button.primary type="submit" { "Record the decision" }
                        }
                    }
                }
            }
            @if i.kind == IncidentKind::Theft && i.status != IncidentStatus::Resolved && (handler || i.reported_by == ctx.user.username) {
                section {
                    h2 { @if i.police_reference.is_some() { "Change the police reference" } @else { "Add the police reference" } }
                    form method="post" action={ (url) "/police-reference" } novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("police_reference", "Police crime reference", i.police_reference.as_deref().unwrap_or("")).required().render(invalid))
                        button.secondary type="submit" { "Save" }
                    }
                }
            }
            @if handler && i.status != IncidentStatus::Resolved {
                section {
                    h2 { "Move it on" }
                    form method="post" action={ (url) "/status" } novalidate {
                        (csrf(&ctx.csrf))
                        @let statuses: Vec<(&str, &str)> = IncidentStatus::ALL.iter().filter(|s| **s != IncidentStatus::Open).map(|s| (s.as_str(), s.label())).collect();
                        (select("status", "New status", &statuses, "investigating", invalid))
                        @let resolutions: Vec<(&str, &str)> = std::iter::once(("", "Not resolved yet")).chain(Resolution::ALL.iter().filter(|r| match i.kind { IncidentKind::Damage => **r != Resolution::Recovered, _ => **r != Resolution::Repaired }).map(|r| (r.as_str(), r.label()))).collect();
                        (select("resolution", "How it was resolved", &resolutions, "", invalid))
                        (Field::text("cost", "Repair or replacement cost in pounds", "").hint("For example: 89.50").render(invalid))
                        (Field::text("claim_reference", "Insurance or claim reference", &i.claim_reference).render(invalid))
                        (Field::text("note", "Note", "").kind("textarea").render(invalid))
                        p.hint { "Recovered puts the device back on charge; written off retires it; repaired brings it back from repair." }
                        button.primary type="submit" { "Save" }
                    }
                }
            }
            section {
                h2 { "Notes" }
                @if notes.is_empty() { p.muted { "No notes yet." } }
                ul.plain { @for n in notes { li { span.muted { (time::when_text(&n.at)) " · " (n.author) } br; (n.body) } } }
                @if handler {
                    form method="post" action={ (url) "/notes" } novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("body", "Add a note", "").kind("textarea").required().render(invalid))
                        button.secondary type="submit" { "Add note" }
                    }
                }
            }
        },
    )
}

/// Whether the report gave no time of its own, so Kitroom took the moment it was
/// sent: a time someone types is to the minute; the moment of sending is not.
fn time_not_given(i: &Incident) -> bool {
    use chrono::Timelike;
    let gap = i.reported_at - i.occurred_at;
    gap >= chrono::Duration::zero()
        && gap < chrono::Duration::seconds(10)
        && (i.occurred_at.second() != 0 || i.occurred_at.nanosecond() != 0)
}

/// Partial: what the person who reported an incident should do now, in their words.
fn next_steps(i: &Incident) -> Markup {
    html! {
        section.next-steps {
            h2 { "What you need to do now" }
            ol {
                @match i.kind {
                    IncidentKind::Damage => {
                        li { "Bring the device to the business manager, or leave it in the computer room with a note saying what happened." }
                        li { "Do not try to repair it yourself. If it is unsafe (broken glass, a swollen or hot battery), stop using it and keep it away from pupils." }
                    }
                    IncidentKind::Loss | IncidentKind::Theft => {
                        @if i.kind == IncidentKind::Theft {
                            @if i.police_reference.is_none() {
                                li { "Report the theft to the police (call 101, or 999 if it is happening now), then add their crime reference below." }
                            } @else {
                                li { "You have given the police crime reference. Keep it in case the insurer asks." }
                            }
                        } @else {
                            li { "Look again where you last had it, and ask anyone who might have picked it up." }
                        }
                        li { "If you were signed in on it to school email or any other school system, change those passwords now." }
                        li { "If you find it, tell the business manager straight away and bring it back." }
                    }
                }
                li { "The business manager may contact you for more details. You do not need to do anything else." }
            }
        }
    }
}

pub fn notifications(ctx: &Ctx, list: &[Notification]) -> Markup {
    page(
        ctx,
        Section::Notifications,
        "Notifications",
        html! {
            @if list.is_empty() {
                div.empty { p { "Nothing yet. Reports of damage, loss and theft appear here the moment they are made." } }
            } @else {
                @if list.iter().any(|n| !n.read) {
                    form method="post" action="/notifications/read" { (csrf(&ctx.csrf)) button.secondary type="submit" { "Mark all as read" } }
                }
                ul.loans {
                    @for n in list {
                        li.overdue[!n.read] {
                            a href=(n.link) { @if !n.read { strong { (n.body) } } @else { (n.body) } }
                            br; span.muted { (time::when_text(&n.created_at)) @if !n.read { " · unread" } }
                        }
                    }
                }
            }
        },
    )
}

/// Partial: asking the head teacher to install or change something on a device.
pub fn change_form(ctx: &Ctx, device: &Device, input: &ChangeInput, invalid: &Invalid) -> Markup {
    html! {
        details.more #change open[!invalid.is_empty()] {
            summary { "Ask to install or change something on it" }
            p.hint { "Software and hardware changes need the head teacher's permission first." }
            form method="post" action={ (device_url(device.details.tag.as_str())) "/change-request" } novalidate {
                (csrf(&ctx.csrf))
                (Field::text("what", "What you want to install or change", &input.what).required().render(invalid))
                (Field::text("why", "Why", &input.why).kind("textarea").required().render(invalid))
                button.secondary type="submit" { "Ask the head teacher" }
            }
        }
    }
}

pub fn change_form_page(
    ctx: &Ctx,
    device: &Device,
    input: &ChangeInput,
    invalid: &Invalid,
) -> Markup {
    page(
        ctx,
        Section::Devices,
        &format!("Ask to change {}", device.details.tag),
        html! {
            (error_summary(invalid))
            (change_form(ctx, device, input, invalid))
        },
    )
}

/// Partial: change requests as a list.
pub fn changes_list(changes: &[ChangeRequest]) -> Markup {
    html! {
        ul.plain {
            @for c in changes {
                li {
                    strong { (c.what) } " · " (c.person_name) ", " (time::when_text(&c.requested_at))
                    " · " @match c.status.as_str() { "approved" => span.badge.status-available { "Approved" }, "declined" => span.badge.status-lost { "Declined" }, _ => span.badge.status-in_repair { "Waiting for the head" } }
                    @if !c.note.is_empty() { br; span.muted { "“" (c.note) "”" } }
                }
            }
        }
    }
}

/// A desk card's words for a count of one.
fn singular(label: &str) -> String {
    label
        .replacen(
            "possible data breaches waiting",
            "possible data breach waiting",
            1,
        )
        .replacen("incidents", "incident", 1)
        .replacen("loans", "loan", 1)
        .replacen("devices", "device", 1)
        .replacen("requests", "request", 1)
}

/// Whether this person's role may open a desk card's page; a card they could not
/// open is shown without a link.
fn may_open(ctx: &Ctx, href: &str) -> bool {
    let p = match href {
        h if h.starts_with("/approvals") => {
            return ctx.may(Permission::AuthoriseOffsite) || ctx.may(Permission::DecideChanges)
        }
        h if h.starts_with("/charging") => Permission::LendToAnyone,
        h if h.starts_with("/loans") => Permission::ViewAllLoans,
        h if h.starts_with("/reports") => Permission::ViewReports,
        _ => Permission::ViewIncidents,
    };
    ctx.may(p)
}

/// Partial: the manager's desk: what needs them now, each with a count and a link.
pub fn desk(ctx: &Ctx, counts: &DeskCounts, deadlines: &[Incident], now: DateTime<Utc>) -> Markup {
    // One card for the incidents not yet resolved, saying how many are new (a
    // new incident is one not yet resolved, so two cards counted it twice).
    let unresolved = if counts.new_incidents > 0 {
        format!("incidents not yet resolved, {} new", counts.new_incidents)
    } else {
        "incidents not yet resolved".to_owned()
    };
    let items: [(i64, &str, &str, bool); 6] = [
        (
            counts.pending_decisions,
            "/incidents",
            "possible data breaches waiting for a decision",
            true,
        ),
        (
            counts.open_incidents.max(counts.new_incidents),
            "/incidents",
            &unresolved,
            counts.new_incidents > 0,
        ),
        (
            counts.overdue_loans,
            "/loans?view=overdue",
            "overdue loans",
            true,
        ),
        (
            counts.charging,
            "/charging",
            "devices returned but not yet ready",
            false,
        ),
        (
            counts.encryption_gaps,
            "/reports/encryption",
            "devices not verified as encrypted in the last year",
            false,
        ),
        (
            counts.pending_changes + counts.pending_offsite,
            "/approvals",
            "requests waiting for the head teacher",
            false,
        ),
    ];
    html! {
        section.desk {
            h2 { "Your desk" }
            @if items.iter().all(|i| i.0 == 0) {
                div.empty { p { "Nothing needs you right now." } }
            } @else {
                @for d in deadlines {
                    @if let Some(by) = d.decide_by {
                        div.warning.loud {
                            a href=(incident_url(d)) { strong { (d.kind.label()) " of " (d.device_tag) } }
                            ": data protection decision due — " strong { (time_left(by, now)) }
                        }
                    }
                }
                div.cards {
                    @for (n, href, label, urgent) in items {
                        @if n > 0 {
                            @let label = if n == 1 { singular(label) } else { label.to_owned() };
                            @if may_open(ctx, href) {
                                a.card.urgent[urgent] href=(href) { span.n { (n) } " " (label) }
                            } @else {
                                div.card.urgent[urgent] { span.n { (n) } " " (label) }
                            }
                        }
                    }
                }
            }
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct IncidentsQuery {
    pub status: String,
}
