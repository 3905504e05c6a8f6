//! Stocktake pages.

use kitroom_core::stocktake::Outcome;
use kitroom_store::locations::Location;
use kitroom_store::stocktakes::{ResultRow, Stocktake, Unseen};
use maud::{html, Markup};

use super::{csrf, page, Section};
use crate::auth::ctx::Ctx;
use crate::paths::{device_url, stocktake_url};
use crate::time;

pub fn list(
    ctx: &Ctx,
    stocktakes: &[Stocktake],
    locations: &[Location],
    error: Option<&str>,
) -> Markup {
    page(
        ctx,
        Section::Stocktakes,
        "Stocktakes",
        html! {
            p.lead { "Check that every device is where the register says. Open a stocktake, then scan each label (a barcode scanner or a phone) or tick devices in the list. Several people can scan into the same stocktake at once." }
            @if let Some(e) = error { div.error-summary role="alert" tabindex="-1" { p.error { (e) } } }
            form.scan method="post" action="/stocktakes" {
                (csrf(&ctx.csrf))
                div.field {
                    label for="location" { "What to count" }
                    div.inline-input {
                        select #location name="location" {
                            option value="" { "The whole school" }
                            @for l in locations { option value=(l.id) { (l.name) " (" (l.devices) ")" } }
                        }
                        button.primary type="submit" { "Open a stocktake" }
                    }
                }
            }
            @if stocktakes.is_empty() {
                div.empty { p { "No stocktake yet." } }
            } @else {
                table {
                    thead { tr { th { "Stocktake" } th { "Of" } th { "Opened" } th { "Progress" } } }
                    tbody {
                        @for s in stocktakes {
                            tr {
                                td { a href=(stocktake_url(s)) { "Stocktake " (s.number) } @if s.is_open() { " " span.badge.status-on_loan { "Open" } } }
                                td { (s.scope) }
                                td { (time::when(s.opened_at)) " by " (s.opened_by) }
                                td { (kitroom_core::stocktake::progress(s.seen as usize, s.expected as usize)) }
                            }
                        }
                    }
                }
            }
        },
    )
}

pub fn open(
    ctx: &Ctx,
    s: &Stocktake,
    unseen: &[Unseen],
    locations: &[Location],
    at: &str,
) -> Markup {
    let url = stocktake_url(s);
    let pct = if s.expected > 0 {
        s.seen * 100 / s.expected
    } else {
        100
    };
    page(
        ctx,
        Section::Stocktakes,
        &format!("Stocktake {}: {}", s.number, s.scope),
        html! {
            div.progress-box data-progress-url={ (url) "/progress.json" } {
                p.lead.progress-text aria-live="polite" { (kitroom_core::stocktake::progress(s.seen as usize, s.expected as usize)) }
                progress.meter value=(s.seen) max=(s.expected.max(1)) { (pct) "%" }
            }
            form.scan method="post" action={ (url) "/scan" } data-camera="continuous" {
                (csrf(&ctx.csrf))
                @if s.location_id.is_none() {
                    div.field {
                        label for="at" { "You are in" }
                        select #at name="at" {
                            option value="" { "Wherever each device belongs" }
                            @for l in locations { option value=(l.id) selected[at == l.id.to_string()] { (l.name) } }
                        }
                    }
                }
                div.field {
                    label for="tag" { "Scan or type a tag" }
                    p.hint { "A barcode scanner types the tag and presses Enter for you." }
                    div.inline-input {
                        input #tag name="tag" type="text" autofocus autocomplete="off" autocapitalize="characters" spellcheck="false";
                        button.primary type="submit" { "Seen" }
                    }
                }
                (super::camera::camera())
            }
            h2 { "Not seen yet" " " span.muted { "(" (unseen.len()) ")" } }
            @if unseen.is_empty() {
                div.empty { p { "Everything in scope has been seen. Close the stocktake to record the result." } }
            } @else {
                ul.plain.unseen {
                    @for u in unseen {
                        li {
                            form.inline method="post" action={ (url) "/scan" } {
                                (csrf(&ctx.csrf))
                                input type="hidden" name="tag" value=(u.tag);
                                input type="hidden" name="at" value=(at);
                                button.secondary type="submit" aria-label={ "Mark " (u.tag) " seen" } { "Seen" }
                                span { strong { (u.tag) } " " span.muted { (u.name) " · " (u.home) @if u.status == "on_loan" { " · on loan" } } }
                            }
                        }
                    }
                }
            }
            h2 { "Finish" }
            p { "Closing records the result: what was seen, seen elsewhere, on loan, and missing. Devices seen get today as their last audit." }
            form method="post" action={ (url) "/close" } {
                (csrf(&ctx.csrf))
                button.warning type="submit" { "Close the stocktake" }
            }
        },
    )
}

pub fn closed(ctx: &Ctx, s: &Stocktake, results: &[ResultRow]) -> Markup {
    let url = stocktake_url(s);
    let groups = [
        Outcome::Missing,
        Outcome::SeenElsewhere,
        Outcome::OnLoan,
        Outcome::Seen,
    ];
    page(
        ctx,
        Section::Stocktakes,
        &format!("Stocktake {}: {}", s.number, s.scope),
        html! {
            p.lead {
                "Closed " @if let Some(c) = s.closed_at { (time::when(c)) } ". "
                (kitroom_core::stocktake::progress(s.seen as usize, s.expected as usize)) "."
            }
            div.cards {
                @for o in groups {
                    @let n = results.iter().filter(|r| r.outcome == o.as_str()).count();
                    a.card.urgent[o == Outcome::Missing && n > 0] href={ "#" (o.as_str()) } { span.n { (n) } " " (o.label().to_lowercase()) }
                }
            }
            p.page-actions {
                a.button.secondary href={ (url) "/results.csv" } download { "Download the result (CSV)" }
                a.button.secondary href={ (url) "/results.csv?outcome=missing" } download { "Download the missing list" }
            }
            @for o in groups {
                @let rows: Vec<&ResultRow> = results.iter().filter(|r| r.outcome == o.as_str()).collect();
                @if !rows.is_empty() {
                    section id=(o.as_str()) {
                        h2 { (o.label()) " (" (rows.len()) ")" }
                        table {
                            thead { tr { th { "Device" } th { "Belongs in" } @if o == Outcome::SeenElsewhere { th { "Seen in" } th { "" } } } }
                            tbody {
                                @for r in rows {
                                    tr {
                                        td { a href=(device_url(&r.tag)) { (r.tag) } br; span.muted { (r.name) } }
                                        td { (r.home) }
                                        @if o == Outcome::SeenElsewhere {
                                            td { (r.seen_at.as_deref().unwrap_or("")) }
                                            td {
                                                @if r.seen_at.as_deref().is_some_and(|seen| seen != r.current_home) {
                                                    form.inline method="post" action={ (url) "/move/" (r.device_id) } {
                                                        (csrf(&ctx.csrf))
                                                        button.secondary type="submit" { "Move it here" }
                                                    }
                                                } @else { span.muted { "Moved" } }
                                            }
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
