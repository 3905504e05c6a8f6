//! The return checklists page.

use std::collections::BTreeMap;

use kitroom_core::checklist::DAMAGE_MARK;
use kitroom_core::device::DeviceKind;
use kitroom_core::Invalid;
use maud::{html, Markup};

use super::{csrf, error_summary, page, Section};
use crate::auth::ctx::Ctx;

pub fn form(ctx: &Ctx, typed: &BTreeMap<String, String>, invalid: &Invalid) -> Markup {
    page(
        ctx,
        Section::Sets,
        "Return checklists",
        html! {
            p { "The questions asked when a device of each kind comes back, one a line, each a question whose “yes” is the good answer, like “Charger returned?”. End a line with " code { (DAMAGE_MARK) } " when a “no” means damage: such a “no” opens a damage report, filled in from the answer." }
            (error_summary(invalid))
            form method="post" action="/checklists" novalidate {
                (csrf(&ctx.csrf))
                @if let Some(e) = invalid.for_field("checklist") { p.error #checklist { (e) } }
                @for kind in DeviceKind::ALL {
                    @let name = format!("checklist.{}", kind.as_str());
                    div.field {
                        label for=(name) { (kind.label()) }
                        textarea id=(name) name=(name) rows="3" { (typed.get(kind.as_str()).map(String::as_str).unwrap_or("")) }
                    }
                }
                button.primary type="submit" { "Save checklists" }
            }
        },
    )
}
