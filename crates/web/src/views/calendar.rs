//! The school calendar page.

use kitroom_core::calendar::CalendarInput;
use kitroom_core::Invalid;
use maud::{html, Markup};

use super::{csrf, error_summary, page, Field, Section};
use crate::auth::ctx::Ctx;

pub fn form(ctx: &Ctx, input: &CalendarInput, invalid: &Invalid) -> Markup {
    page(
        ctx,
        Section::Settings,
        "School calendar",
        html! {
            p { "Loans are due at the end of a school day. A loan due in a holiday, or between terms, moves to the first school day after it, and the borrower is told. With no terms set, every weekday is a school day." }
            (error_summary(invalid))
            form method="post" action="/calendar" novalidate {
                (csrf(&ctx.csrf))
                (Field::text("periods", "Periods of the school day", &input.periods).kind("textarea")
                    .hint("One a line: its name, a comma, its start and end, like “Period 3, 11:15-12:15”").render(invalid))
                (Field::text("terms", "Terms", &input.terms).kind("textarea")
                    .hint("One a line: its name, a comma, its first and last days, like “Autumn term, 2026-09-03 to 2026-12-18”").render(invalid))
                (Field::text("holidays", "Holidays and closures", &input.holidays).kind("textarea")
                    .hint("Half terms, bank holidays and training days inside a term, like “Half term, 2026-10-26 to 2026-10-30”. A single day needs only one date.").render(invalid))
                button.primary type="submit" { "Save calendar" }
            }
            p { a href="/settings" { "Back to settings" } }
        },
    )
}
