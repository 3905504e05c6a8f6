//! "Lend to": the borrower field on the lend forms, and the plain search page it
//! links to.

use kitroom_store::people::Person;
use maud::{html, Markup};
use serde::Deserialize;

use super::{page, url_encode, Section};
use crate::auth::ctx::Ctx;

/// Where the search for a person starts, with what was typed and the form to fill.
pub fn find_url(typed: &str, back: &str) -> String {
    format!(
        "/people/find?q={}&back={}",
        url_encode(typed.trim()),
        url_encode(back)
    )
}

/// Partial: the "Lend to" field of a check-out form at `back`: a name or a
/// username, suggestions from `people` (and, with JavaScript, from the search as
/// one types), and a link to the plain search.
pub fn field(
    value: &str,
    back: &str,
    self_hint: &str,
    people: &[(String, String)],
    invalid: &kitroom_core::Invalid,
) -> Markup {
    let error = invalid.for_field("borrower");
    let described = if error.is_some() {
        "borrower-hint borrower-error"
    } else {
        "borrower-hint"
    };
    html! {
        div.field.has-error[error.is_some()] {
            label for="borrower" { "Lend to" }
            p.hint #borrower-hint { "Type a name or username. " (self_hint) }
            @if let Some(e) = error { p.error #borrower-error { span.visually-hidden { "Error: " } (e) } }
            input #borrower name="borrower" type="text" list="people" value=(value)
                autocomplete="off" aria-describedby=(described)
                aria-invalid=[error.map(|_| "true")]
                data-people-search="/people/find.json";
            datalist #people { @for (u, n) in people { option value=(u) { (n) } } }
            p { a href=(find_url(value, back)) { "Search for a person by part of their name" } }
        }
    }
}

/// The search without JavaScript: part of a name or username in, active people
/// out, each with a link that fills the lend form at `back`.
pub fn find(ctx: &Ctx, q: &str, back: Option<&str>, people: &[Person]) -> Markup {
    page(
        ctx,
        Section::People,
        "Find a person to lend to",
        html! {
            form.filters method="get" action="/people/find" role="search" {
                @if let Some(b) = back { input type="hidden" name="back" value=(b); }
                div.field.search {
                    label for="q" { "Name or username" }
                    p.hint #q-hint { "Type a name or username, or part of one" }
                    input #q type="search" name="q" value=(q) aria-describedby="q-hint" autocomplete="off";
                }
                div.actions { button.secondary type="submit" { "Search" } }
            }
            @if !q.trim().is_empty() {
                @if people.is_empty() {
                    div.empty { p { "Nobody with an active account matches “" (q.trim()) "”. Try part of the first or last name." } }
                } @else {
                    table {
                        thead { tr { th { "Name" } th { "Username" } th { "Kind" } th { span.visually-hidden { "Choose" } } } }
                        tbody {
                            @for p in people {
                                tr {
                                    td { (p.full_name) }
                                    td data-label="Username" { (p.username) }
                                    td data-label="Kind" { (p.kind.as_str()) }
                                    td {
                                        @if let Some(b) = back {
                                            a.button.secondary href={ (b) "?borrower=" (url_encode(&p.username)) "#checkout" } {
                                                "Lend to " (p.full_name)
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(b) = back { p { a href=(b) { "Back without choosing" } } }
        },
    )
}

/// A lend form's page opened from the search: `?borrower=username` fills "Lend to".
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Prefill {
    pub borrower: String,
}
