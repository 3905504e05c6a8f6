//! Accessories: the manager's page, the "Also taking" and "came back" parts of the
//! loan forms, and the list of accessories not returned.

use kitroom_core::Invalid;
use kitroom_store::accessories::{Accessory, Lent, NotReturned, Stock};
use maud::{html, Markup};

use super::{csrf, error_summary, page, Field, Section};
use crate::auth::ctx::Ctx;
use crate::time;

pub fn list(ctx: &Ctx, all: &[Accessory], f: &AccessoryForms) -> Markup {
    let none = kitroom_core::Invalid::new();
    page(
        ctx,
        Section::Sets,
        "Accessories",
        html! {
            p.lead { "Chargers, cables, styluses, cases and memory cards are counted at each place, not tagged one by one. They go out with a loan and come back with it." }
            (error_summary(&f.invalid))
            @if all.is_empty() {
                div.empty {
                    p { "No accessories yet." }
                    p { "Add a type below (for example “USB-C charger”), then type how many there are at each place." }
                }
            }
            @for a in all {
                @let here = f.adjusting.as_deref() == Some(a.id.to_string().as_str());
                @let invalid = if here { &f.invalid } else { &none };
                @let renaming = f.renaming.as_deref() == Some(a.id.to_string().as_str());
                // Each type has the same forms: ids of their own, except the refused
                // form's, which the error summary links to by the field's name.
                @let own = |name: &str, refused: bool| if refused { name.to_owned() } else { format!("{name}-{}", a.id) };
                section.accessory {
                    h2 { (a.name) @if a.retired { " " span.badge { "Retired" } } }
                    @if a.retired { p.hint { "Retired: no longer offered with a loan. Any still out come back as usual." } }
                    @if a.stock.is_empty() {
                        p.muted { "None counted anywhere yet." }
                    } @else {
                        table {
                            thead { tr { th { "Where" } th { "How many" } } }
                            tbody {
                                @for s in &a.stock { tr { td data-label="Where" { (s.location) } td data-label="How many" { (s.count) } } }
                            }
                        }
                    }
                    form method="post" action={ "/accessories/" (a.id) "/adjust" } novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("location", "Where", if here { &f.location } else { "" }).id(own("location", here)).required().hint("A room or place, for example ICT room").render(invalid))
                        (Field::text("change", "Change", if here { &f.change } else { "" }).id(own("change", here)).required().hint("5 adds five, -2 takes two away").render(invalid))
                        (Field::text("reason", "Why", if here { &f.reason } else { "" }).id(own("reason", here)).required().hint("For example: new delivery, found broken, counted again").render(invalid))
                        button.secondary type="submit" { "Change the count" }
                    }
                    details open[renaming] {
                        summary { "Rename or retire " (a.name) }
                        form method="post" action={ "/accessories/" (a.id) "/rename" } novalidate {
                            (csrf(&ctx.csrf))
                            (Field::text("rename", "New name", if renaming { &f.rename } else { &a.name }).id(own("rename", renaming)).required().render(if renaming { &f.invalid } else { &none }))
                            button.secondary type="submit" { "Rename" }
                        }
                        form method="post" action={ "/accessories/" (a.id) "/retire" } {
                            (csrf(&ctx.csrf))
                            @if a.retired {
                                input type="hidden" name="retired" value="no";
                                button.secondary type="submit" { "Put back in use" }
                            } @else {
                                input type="hidden" name="retired" value="yes";
                                p.hint { "Retire a type the school no longer lends. It stops being offered with a loan; its counts, its history and any not returned stay." }
                                button.secondary type="submit" { "Retire " (a.name) }
                            }
                        }
                    }
                }
            }
            h2 #new { "Add a type of accessory" }
            @let invalid = if f.adjusting.is_none() && f.renaming.is_none() { &f.invalid } else { &none };
            form method="post" action="/accessories" novalidate {
                (csrf(&ctx.csrf))
                (Field::text("name", "Name", &f.name).required().hint("For example: USB-C charger, Apple Pencil, SD card").render(invalid))
                button.primary type="submit" { "Add" }
            }
        },
    )
}

/// Partial: "Also taking" on a check-out or collect form: how many of which
/// accessory in stock, as typed; marked invalid when `invalid` has a problem with
/// the accessories (the message is beside the group, see [`super::with_error`]).
pub fn also_taking(stock: &[Stock], also: &str, also_count: &str, invalid: &Invalid) -> Markup {
    let wrong = invalid.for_field("accessories").is_some();
    html! {
        @if !stock.is_empty() {
            fieldset.also {
                legend { "Also taking" }
                div.inline-input {
                    label.visually-hidden for="also_count" { "How many" }
                    input #also_count name="also_count" type="number" min="1" inputmode="numeric" value=(if also_count.is_empty() { "1" } else { also_count })
                        aria-invalid=[wrong.then_some("true")] aria-describedby=[wrong.then_some("accessories-error")];
                    label.visually-hidden for="also" { "Accessory" }
                    select #also name="also" aria-invalid=[wrong.then_some("true")] aria-describedby=[wrong.then_some("accessories-error")] {
                        option value="" selected[also.is_empty()] { "No accessories" }
                        @for s in stock {
                            @let id = s.id.to_string();
                            option value=(id) selected[also == id] { (s.name) " — " (s.location) " (" (s.count) " left)" }
                        }
                    }
                }
            }
        }
    }
}

/// Partial: the accessories that went out, with the number back, on a return form.
pub fn came_back(lent: &[Lent], typed: &std::collections::BTreeMap<String, String>) -> Markup {
    html! {
        @let open: Vec<&Lent> = lent.iter().filter(|l| l.count_back.is_none()).collect();
        @if !open.is_empty() {
            fieldset.also {
                legend { "Accessories back" }
                @for l in open {
                    @let name = format!("acc_back.{}", l.id);
                    @let id = format!("acc-back-{}", l.id);
                    @let out = l.count_out.to_string();
                    div.field {
                        label for=(id) { (l.name) " — " (l.count_out) " went out" }
                        input id=(id) name=(name) type="number" min="0" max=(out) inputmode="numeric" value=(typed.get(&name).map(String::as_str).unwrap_or(&out));
                    }
                }
            }
        }
    }
}

/// Partial: accessories lent with an open loan.
pub fn also_taken(lent: &[Lent]) -> Markup {
    html! {
        @let open: Vec<String> = lent.iter().filter(|l| l.count_back.is_none()).map(|l| format!("{} × {}", l.count_out, l.name)).collect();
        @if !open.is_empty() { p { "Also taken: " (open.join(", ")) } }
    }
}

/// Partial: accessories that did not come back with their loan; `csrf` offers the
/// manager's "found" button.
pub fn not_returned(title: &str, items: &[NotReturned], csrf_token: Option<&str>) -> Markup {
    html! {
        @if !items.is_empty() {
            section.warning.not-returned {
                h2 { (title) }
                ul {
                    @for n in items {
                        li {
                            (n.missing) " × " (n.name) " lent with "
                            a href=(n.link) { (n.lent_with) }
                            " to " (n.borrower_name)
                            " (returned " (time::when_text(&n.returned_at)) ")"
                            @if let Some(token) = csrf_token {
                                form.inline method="post" action={ "/accessories/lent/" (n.id) "/found" } {
                                    (csrf(token))
                                    button.link type="submit" { "Found: back in the count" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// What the page's forms hold as typed, and why the last try was refused.
#[derive(Debug, Clone, Default)]
pub struct AccessoryForms {
    pub name: String,
    /// The type whose change was refused, and the change as typed.
    pub adjusting: Option<String>,
    pub location: String,
    pub change: String,
    pub reason: String,
    /// The type whose rename was refused, and the name as typed.
    pub renaming: Option<String>,
    pub rename: String,
    pub invalid: Invalid,
}
