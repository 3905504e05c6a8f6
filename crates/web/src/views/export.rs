//! The export page.

use maud::{html, Markup};

use super::{page, Section};
use crate::auth::ctx::Ctx;

pub fn index(ctx: &Ctx) -> Markup {
    let files = [
        (
            "devices",
            "The register",
            "Every device with all its fields, as the import expects them.",
        ),
        (
            "loans",
            "Loans",
            "Every loan: who, when, due, returned, battery and charge.",
        ),
        (
            "incidents",
            "Incidents",
            "Damage, loss and theft reports with the data-breach assessment and costs.",
        ),
        (
            "signatures",
            "Policy signatures",
            "Who signed which version of the acceptable-use policy, and when.",
        ),
        (
            "events",
            "Activity log",
            "Every change in order, with the hash chain that proves none was altered.",
        ),
    ];
    page(
        ctx,
        Section::Reports,
        "Export",
        html! {
            p.lead { "Spreadsheet (CSV) files of everything Kitroom holds, for auditors, governors or another system. Large files stream as they download." }
            ul.plain {
                @for (kind, title, about) in files {
                    li {
                        a.button.secondary href={ "/export/" (kind) ".csv" } download { (title) }
                        " " span.muted { (about) }
                    }
                }
            }
            p.hint { "Cells that a spreadsheet would run as a formula are prefixed with ' so they show as text. Each download is recorded in the activity log." }
        },
    )
}
