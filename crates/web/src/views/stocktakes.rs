//! Stocktake pages.

use kitroom_core::stocktake::Outcome;
use kitroom_core::Invalid;
use kitroom_store::locations::Location;
use kitroom_store::stocktakes::{ResultRow, Stocktake, Unseen};
use maud::{html, Markup};

use super::{csrf, error_summary, page, select, Field, Section};
use crate::auth::ctx::Ctx;
use crate::paths::{device_url, stocktake_url};
use crate::time;

pub fn list(
    ctx: &Ctx,
    stocktakes: &[Stocktake],
    locations: &[Location],
    invalid: &Invalid,
) -> Markup {
    let options: Vec<(String, String)> =
        std::iter::once((String::new(), "The whole school".to_owned()))
            .chain(
                locations
                    .iter()
                    .map(|l| (l.id.to_string(), format!("{} ({})", l.name, l.devices))),
            )
            .collect();
    let options: Vec<(&str, &str)> = options
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    page(
        ctx,
        Section::Stocktakes,
        "Stocktakes",
        html! {
            p.lead { "Check that every device is where the register says. Open a stocktake, then scan each label (a barcode scanner or a phone) or tick devices in the list. Several people can scan into the same stocktake at once." }
            (error_summary(invalid))
            form.scan method="post" action="/stocktakes" novalidate {
                (csrf(&ctx.csrf))
                (select("location", "What to count", &options, "", invalid))
                button.primary type="submit" { "Open a stocktake" }
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
    tag: &str,
    invalid: &Invalid,
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
            (error_summary(invalid))
            form.scan method="post" action={ (url) "/scan" } novalidate data-camera="continuous" {
                (csrf(&ctx.csrf))
                @if s.location_id.is_none() {
                    @let places: Vec<(String, String)> = std::iter::once((String::new(), "Wherever each device belongs".to_owned()))
                        .chain(locations.iter().map(|l| (l.id.to_string(), l.name.clone())))
                        .collect();
                    @let places: Vec<(&str, &str)> = places.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                    (select("at", "You are in", &places, at, invalid))
                }
                (Field::text("tag", "Scan or type a tag", tag).hint("A barcode scanner types the tag and presses Enter for you.").required().scan_box("Seen").focused_unless(invalid).render(invalid))
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
            p { "Closing records the result: what was seen, seen elsewhere, on loan, and missing. Devices seen get today as their last audit. You will be asked to confirm." }
            form method="post" action={ (url) "/close" } {
                (csrf(&ctx.csrf))
                button.warning type="submit" { "Close the stocktake…" }
            }
        },
    )
}

/// The step before closing, which cannot be undone: what closing will record.
pub fn confirm_close(ctx: &Ctx, s: &Stocktake, unseen: &[Unseen]) -> Markup {
    let url = stocktake_url(s);
    let action = format!("{url}/close");
    let away = unseen.iter().filter(|u| u.status == "on_loan").count();
    let missing = unseen.len() - away;
    let devices = |n: usize| {
        if n == 1 {
            "1 device".to_owned()
        } else {
            format!("{n} devices")
        }
    };
    let consequence = html! {
        (kitroom_core::stocktake::progress(s.seen as usize, s.expected as usize)) ". "
        @if missing > 0 {
            (devices(missing)) " not seen will be marked missing"
        } @else {
            "No device will be marked missing"
        }
        @if away > 0 { ", and " (devices(away)) " on loan will be recorded as away" }
        "; this cannot be undone."
    };
    let details = html! {
        p { "Nobody can scan into it once it is closed. Every device seen gets today as its last audit." }
        @if missing > 0 {
            h2 { "Not seen, to be marked missing" }
            ul.plain {
                @for u in unseen.iter().filter(|u| u.status != "on_loan") {
                    li { strong { (u.tag) } " " span.muted { (u.name) " · " (u.home) } }
                }
            }
        }
    };
    super::confirm_page(
        ctx,
        Section::Stocktakes,
        super::Confirm {
            title: &format!("Close stocktake {}?", s.number),
            consequence,
            details,
            action: &action,
            fields: &[],
            yes: &format!("Yes, close stocktake {}", s.number),
            back: &url,
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
