//! The settings page.

use kitroom_core::device::DeviceKind;
use kitroom_core::settings::SettingsInput;
use kitroom_core::Invalid;
use maud::{html, Markup};

use super::{csrf, error_summary, page, Field, Section};
use crate::auth::Ctx;

pub fn form(ctx: &Ctx, input: &SettingsInput, invalid: &Invalid) -> Markup {
    page(
        ctx,
        Section::Settings,
        "Settings",
        html! {
            p { a href="/calendar" { "School calendar: periods, terms and holidays" } }
            (error_summary(invalid))
            form method="post" action="/settings" novalidate {
                (csrf(&ctx.csrf))
                (Field::text("school_name", "School name", &input.school_name).required().hint("Printed on device labels").render(invalid))
                (Field::text("day_ends_at", "The school day ends at", &input.day_ends_at).kind("time").required().hint("Loans are due back at this time unless a later date is chosen").render(invalid))
                (Field::text("return_location", "Devices are returned to", &input.return_location).required().hint("Usually the computer room").render(invalid))
                (Field::text("booking_release_minutes", "Release a booking not collected after", &input.booking_release_minutes).kind("number").hint("Minutes after the booked time starts. The devices are then free for others.").render(invalid))
                (Field::text("reminder_minutes_before", "Remind borrowers before a loan is due, in minutes", &input.reminder_minutes_before).kind("number").hint("In the app, and by email when they have an address. 0 sends no reminder before; an overdue reminder is always sent, once.").render(invalid))
                fieldset #charge_minutes {
                    legend { "Charging time, in minutes" }
                    p.hint { "After this long on charge, a returned device is ready to lend again. 0 makes it ready at once." }
                    @if let Some(e) = invalid.for_field("charge_minutes") { p.error { (e) } }
                    div.filter-grid {
                        @for kind in DeviceKind::ALL {
                            @let name = format!("charge_minutes.{}", kind.as_str());
                            div.field {
                                label for=(name) { (kind.label()) }
                                input id=(name) name=(name) type="number" min="0" max="1440" value=(input.charge_minutes.get(kind.as_str()).map(String::as_str).unwrap_or(""));
                            }
                        }
                    }
                }
                fieldset #security {
                    legend { "Accounts and personal data" }
                    (super::checkbox("require_two_factor", "Business managers, head teachers and IT administrators must use two-step sign-in", input.require_two_factor, Some("Recommended: these accounts can see everyone's records. They set up an authenticator app at their next sign-in.")))
                    (Field::text("keep_leavers_months", "Keep people who have left for this many months", &input.keep_leavers_months).kind("number").required().hint("After this long, the names and contact details of deactivated people are anonymised; devices' histories keep their shape. 0 keeps them.").render(invalid))
                }
                button.primary type="submit" { "Save settings" }
            }
        },
    )
}
