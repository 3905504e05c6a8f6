//! The locations page.

use kitroom_core::Invalid;
use kitroom_store::locations::Location;
use maud::{html, Markup};
use uuid::Uuid;

use super::{csrf, error_summary, page, url_encode, Field, Section};
use crate::auth::ctx::Ctx;

/// `renaming` is the location whose rename was refused, with the name typed.
pub fn list(
    ctx: &Ctx,
    locations: &[Location],
    new_name: &str,
    invalid: &Invalid,
    renaming: Option<(Uuid, &str)>,
) -> Markup {
    let no_errors = Invalid::new();
    page(
        ctx,
        Section::Locations,
        "Locations",
        html! {
            p.lead { "Rooms and places where devices live and are returned to." }
            (error_summary(invalid))
            @if locations.is_empty() {
                div.empty { p { "No locations yet. Add the computer room first: it is where devices are returned and charged." } }
            } @else {
                table.locations {
                    thead { tr { th { "Name" } th { "Devices" } th { "Rename" } } }
                    tbody {
                        @for l in locations {
                            @let refused = renaming.filter(|(id, _)| *id == l.id);
                            tr {
                                td { a href={ "/devices?location=" (url_encode(&l.name)) } { (l.name) } }
                                td data-label="Devices" { (l.devices) }
                                td {
                                    form.inline method="post" action={ "/locations/" (l.id) "/rename" } {
                                        (csrf(&ctx.csrf))
                                        label.visually-hidden for={ "rename-" (l.id) } { "New name for " (l.name) }
                                        input id={ "rename-" (l.id) } name="name" type="text" value=(refused.map(|r| r.1).unwrap_or(&l.name)) aria-invalid=[refused.map(|_| "true")];
                                        button.secondary type="submit" { "Rename" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Add a location" }
            form method="post" action="/locations" novalidate {
                (csrf(&ctx.csrf))
                (Field::text("name", "Name", new_name).required().hint("For example: Computer room, Library, Year 5 classroom").render(if renaming.is_some() { &no_errors } else { invalid }))
                button.primary type="submit" { "Add location" }
            }
        },
    )
}
