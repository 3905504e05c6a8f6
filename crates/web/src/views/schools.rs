//! The schools someone may work in: see [`crate::schools`].

use maud::{html, Markup};

use super::{csrf, page, Section};
use crate::auth::Ctx;

pub fn list(ctx: &Ctx) -> Markup {
    page(
        ctx,
        Section::Schools,
        "Schools",
        html! {
            p.hint { "Each school's devices, loans and reports are its own. Choose the school to work in; you can come back here at any time." }
            ul.loans {
                @for school in &ctx.schools {
                    li {
                        @if school.id == ctx.user.school {
                            strong { (school.name) } " · " span.muted { "working here now" }
                        } @else {
                            form method="post" action="/schools/switch" {
                                (csrf(&ctx.csrf))
                                input type="hidden" name="school" value=(school.slug);
                                (school.name) " "
                                button.secondary type="submit" { "Work in " (school.name) }
                            }
                        }
                    }
                }
            }
        },
    )
}
