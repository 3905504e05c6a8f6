//! Pages, as maud templates. Pages are `pub fn`s returning [`Markup`]; the pieces
//! they share (layout, form fields, badges) live here.
//!
//! Forms follow the GOV.UK Design System's patterns: an error summary at the top
//! linking to each field, the error beside its field, and the person's input kept.

use kitroom_core::device::{DeviceStatus, EncryptionState};
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use maud::{html, Markup, PreEscaped, DOCTYPE};

use crate::auth::ctx::Ctx;
pub use crate::paths::url_encode;

pub mod accessories;
pub mod account;
pub mod auth;
pub mod bookings;
pub mod calendar;
pub mod camera;
pub mod checklists;
pub mod devices;
pub mod export;
pub mod import;
pub mod incidents;
pub mod kits;
pub mod lend_to;
pub mod loans;
pub mod locations;
pub mod log;
pub mod people;
pub mod policies;
pub mod reports;
pub mod schools;
pub mod settings;
pub mod stocktakes;
pub mod two_factor;

/// Which part of the site a page belongs to, to highlight it in the menu.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    Home,
    Devices,
    Loans,
    Approvals,
    Policy,
    Locations,
    People,
    Log,
    Settings,
    Account,
    Incidents,
    Notifications,
    Reports,
    Stocktakes,
    Sets,
    Bookings,
    Schools,
}

/// An item of the menu: its section, address, words, and whether this person has it.
type MenuItem<'a> = (Section, &'a str, &'a str, bool);
/// A group of the menu as shown: its name and the items this person has.
type MenuGroup<'a> = (&'a str, Vec<(Section, &'a str, &'a str)>);

/// Partial: the `<head>` every page shares.
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · Kitroom" }
            link rel="stylesheet" href=(crate::assets::CSS_URL);
            link rel="icon" href=(crate::assets::ICON_URL) type="image/svg+xml";
            script src=(crate::assets::JS_URL) defer {}
        }
    }
}

/// A page for a signed-in person: the header with the menu, a notice if there is
/// one, the title and the content.
pub fn page(ctx: &Ctx, section: Section, title: &str, content: Markup) -> Markup {
    let policy_href = if ctx.may(Permission::ManagePolicy) {
        "/policies"
    } else {
        "/policy"
    };
    let may = |p| ctx.may(p);
    // The menu, grouped by job; a group shows only the items this person has.
    let groups: [(&str, Vec<MenuItem>); 4] = [
        (
            "Lending",
            vec![
                (Section::Devices, "/devices", "Devices", true),
                (
                    Section::Loans,
                    "/loans",
                    "Loans",
                    may(Permission::ViewAllLoans),
                ),
                (
                    Section::Bookings,
                    "/bookings",
                    "Bookings",
                    may(Permission::Borrow),
                ),
                (Section::Sets, "/sets", "Sets", may(Permission::Borrow)),
            ],
        ),
        (
            "Incidents",
            vec![
                (
                    Section::Incidents,
                    "/incidents",
                    "Incidents",
                    may(Permission::ViewIncidents),
                ),
                (
                    Section::Approvals,
                    "/approvals",
                    "Approvals",
                    may(Permission::AuthoriseOffsite) || may(Permission::DecideChanges),
                ),
            ],
        ),
        (
            "Audit",
            vec![
                (
                    Section::Stocktakes,
                    "/stocktakes",
                    "Stocktakes",
                    may(Permission::Stocktake),
                ),
                (
                    Section::Reports,
                    "/reports",
                    "Reports",
                    may(Permission::ViewReports),
                ),
                (
                    Section::Log,
                    "/log",
                    "Activity log",
                    may(Permission::ReadLog),
                ),
            ],
        ),
        (
            "People and settings",
            vec![
                (
                    Section::People,
                    "/people",
                    "People",
                    may(Permission::ManageAccounts),
                ),
                (
                    Section::Locations,
                    "/locations",
                    "Locations",
                    may(Permission::ManageRegister),
                ),
                (Section::Policy, policy_href, "Policy", true),
                (
                    Section::Settings,
                    "/settings",
                    "Settings",
                    may(Permission::ManageSettings),
                ),
                (Section::Account, "/account", "My account", true),
            ],
        ),
    ];
    let groups: Vec<MenuGroup> = groups
        .into_iter()
        .map(|(name, items)| {
            let shown = items
                .into_iter()
                .filter(|i| i.3)
                .map(|(s, href, label, _)| (s, href, label))
                .collect::<Vec<_>>();
            (name, shown)
        })
        .filter(|(_, items)| !items.is_empty())
        .collect();
    // Where the person is, shown on the closed menu button of a phone.
    let here = if section == Section::Home {
        Some("Home")
    } else {
        groups
            .iter()
            .flat_map(|(_, items)| items)
            .find(|(s, _, _)| *s == section)
            .map(|(_, _, label)| *label)
    };
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            (head(title))
            body {
                a.skip href="#main" { "Skip to main content" }
                header.top {
                    div.bar {
                        a.brand href="/" { (logo()) span { "Kitroom" } }
                        span.who {
                            a href="/account" aria-current=[(section == Section::Account).then_some("page")] { (ctx.user.full_name) }
                            " · " (ctx.user.role.label()) " · "
                            // Someone who works in several schools sees which, and
                            // reaches the others from here.
                            @if ctx.schools.len() > 1 {
                                @if let Some(here) = ctx.schools.iter().find(|s| s.id == ctx.user.school) {
                                    a href="/schools" aria-current=[(section == Section::Schools).then_some("page")] { (here.name) }
                                    " · "
                                }
                            }
                            form.signout method="post" action="/logout" {
                                input type="hidden" name="csrf" value=(ctx.csrf);
                                button.link type="submit" { "Sign out" }
                            }
                        }
                        a.notifications href="/notifications" aria-current=[(section == Section::Notifications).then_some("page")] {
                            "Notifications"
                            @if ctx.unread > 0 { " " span.count { (ctx.unread) } span.visually-hidden { " unread" } }
                        }
                        a.report href="/report" { "Report a problem" }
                    }
                    // One menu button on a phone (a <details>, so it opens without
                    // script); kitroom.js keeps it open as a bar on a wider screen.
                    details.menu #menu {
                        summary {
                            span.menu-word { "Menu" }
                            @if let Some(here) = here { span.here { (here) } }
                        }
                        nav.menu aria-label="Main" {
                            ul.home {
                                li { a href="/" aria-current=[(section == Section::Home).then_some("page")] { "Home" } }
                            }
                            @for (name, items) in &groups {
                                div.group {
                                    p.group-name aria-hidden="true" { (name) }
                                    ul aria-label=(name) {
                                        @for (s, href, label) in items {
                                            li { a href=(href) aria-current=[(*s == section).then_some("page")] { (label) } }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                main #main {
                    @if let Some(flash) = &ctx.flash {
                        div.notice role="status" { (flash) }
                    }
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// A page with no signed-in person: sign-in, setup, errors.
pub fn bare_page(title: &str, content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en-GB" {
            (head(title))
            body.bare {
                header.top { div.bar { a.brand href="/" { (logo()) span { "Kitroom" } } } }
                main #main.narrow {
                    h1 { (title) }
                    (content)
                }
            }
        }
    }
}

/// The page shown for an error.
pub fn error_page(title: &str, message: &str) -> Markup {
    bare_page(
        title,
        html! {
            p.lead { (message) }
            p { a href="/" { "Go to the start page" } }
        },
    )
}

/// Partial: the Kitroom mark, a device on a shelf.
fn logo() -> Markup {
    PreEscaped(r#"<svg class="logo" viewBox="0 0 24 24" aria-hidden="true" width="28" height="28"><rect x="3" y="4" width="18" height="12" rx="2" fill="none" stroke="currentColor" stroke-width="2"/><path d="M1 20h22" stroke="currentColor" stroke-width="2"/><path d="M9 12l2 2 4-4" fill="none" stroke="currentColor" stroke-width="2"/></svg>"#.into())
}

/// Partial: the list of problems at the top of a refused form, each linking to its field.
pub fn error_summary(invalid: &Invalid) -> Markup {
    html! {
        @if !invalid.is_empty() {
            div.error-summary role="alert" tabindex="-1" {
                h2 { "There is a problem" }
                ul {
                    @for e in &invalid.0 {
                        li { a href={ "#" (e.field) } { (e.message) } }
                    }
                }
            }
        }
    }
}

/// Partial: a group of fields (`content`) with one problem about them all, such
/// as the accessories on a form: the error above them and the group's id, for the
/// error summary's link.
pub fn with_error(field: &'static str, invalid: &Invalid, content: Markup) -> Markup {
    // a group may have several problems (one battery level per device): all beside it
    let errors: Vec<&str> = invalid
        .0
        .iter()
        .filter(|e| e.field == field)
        .map(|e| e.message.as_str())
        .collect();
    let error = (!errors.is_empty()).then(|| errors.join(" "));
    html! {
        div id=(field) .has-error[error.is_some()] {
            @if let Some(e) = error { p.error id={ (field) "-error" } { span.visually-hidden { "Error: " } (e) } }
            (content)
        }
    }
}

/// A text input with its label, hint and error.
pub struct Field<'a> {
    pub name: &'static str,
    pub label: &'a str,
    pub value: &'a str,
    pub hint: Option<&'a str>,
    pub kind: &'static str,
    pub required: bool,
    /// A search filter: every filter is optional, so none is marked "(optional)".
    pub filter: bool,
    pub autocomplete: Option<&'static str>,
    /// The field's id when a page repeats the form (one per request, say): ids must
    /// be unique, or a label names the wrong field. The name by default.
    pub id: Option<String>,
    /// A tag box that a barcode scanner types into: no capitals fixed, no spelling.
    pub scan: bool,
    /// A button beside the input, in the same row (a scan box's "Open").
    pub button: Option<&'a str>,
    pub autofocus: bool,
}

impl<'a> Field<'a> {
    pub fn text(name: &'static str, label: &'a str, value: &'a str) -> Field<'a> {
        Field {
            name,
            label,
            value,
            hint: None,
            kind: "text",
            required: false,
            filter: false,
            autocomplete: None,
            id: None,
            scan: false,
            button: None,
            autofocus: false,
        }
    }
    /// An id of its own, for a form repeated on one page.
    pub fn id(mut self, id: String) -> Self {
        self.id = Some(id);
        self
    }
    /// A tag typed or scanned, with `button` beside it.
    pub fn scan_box(mut self, button: &'a str) -> Self {
        self.scan = true;
        self.button = Some(button);
        self.autocomplete = Some("off");
        self
    }
    /// Focused when the page opens, unless a problem is shown (the error summary
    /// takes the focus then).
    pub fn focused_unless(mut self, invalid: &Invalid) -> Self {
        self.autofocus = invalid.is_empty();
        self
    }
    pub fn filter(mut self) -> Self {
        self.filter = true;
        self
    }
    pub fn hint(mut self, hint: &'a str) -> Self {
        self.hint = Some(hint);
        self
    }
    pub fn kind(mut self, kind: &'static str) -> Self {
        self.kind = kind;
        self
    }
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }
    pub fn autocomplete(mut self, a: &'static str) -> Self {
        self.autocomplete = Some(a);
        self
    }

    pub fn render(&self, invalid: &Invalid) -> Markup {
        let error = invalid.for_field(self.name);
        let id = self.id.as_deref().unwrap_or(self.name);
        let hint_id = format!("{id}-hint");
        let error_id = format!("{id}-error");
        let described = [
            self.hint.map(|_| hint_id.as_str()),
            error.map(|_| error_id.as_str()),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        html! {
            div.field.has-error[error.is_some()] {
                label for=(id) { (self.label) @if !self.required && !self.filter { span.optional { " (optional)" } } }
                @if let Some(h) = self.hint { p.hint id=(hint_id) { (h) } }
                @if let Some(e) = error { p.error id=(error_id) { span.visually-hidden { "Error: " } (e) } }
                @if self.kind == "textarea" {
                    textarea id=(id) name=(self.name) rows="4" aria-describedby=[(!described.is_empty()).then_some(&described)] { (self.value) }
                } @else if let Some(button) = self.button {
                    div.inline-input {
                        (self.input(id, error.is_some(), &described))
                        button.primary type="submit" { (button) }
                    }
                } @else {
                    (self.input(id, error.is_some(), &described))
                }
            }
        }
    }
}

impl Field<'_> {
    fn input(&self, id: &str, error: bool, described: &str) -> Markup {
        html! {
            input id=(id) name=(self.name) type=(self.kind) value=(self.value)
                required[self.required] autocomplete=[self.autocomplete]
                autocapitalize=[self.scan.then_some("characters")]
                spellcheck=[self.scan.then_some("false")]
                autofocus[self.autofocus]
                aria-invalid=[error.then_some("true")]
                aria-describedby=[(!described.is_empty()).then_some(described)];
        }
    }
}

/// A drop-down with its label and error. `options` are (value, label) pairs.
pub fn select(
    name: &'static str,
    label: &str,
    options: &[(&str, &str)],
    selected: &str,
    invalid: &Invalid,
) -> Markup {
    let error = invalid.for_field(name);
    html! {
        div.field.has-error[error.is_some()] {
            label for=(name) { (label) }
            @if let Some(e) = error { p.error id={ (name) "-error" } { span.visually-hidden { "Error: " } (e) } }
            select id=(name) name=(name) aria-invalid=[error.map(|_| "true")] aria-describedby=[error.map(|_| format!("{name}-error"))] {
                @for (value, text) in options {
                    option value=(value) selected[*value == selected] { (text) }
                }
            }
        }
    }
}

/// A checkbox with its label and a hint.
pub fn checkbox(name: &'static str, label: &str, checked: bool, hint: Option<&str>) -> Markup {
    checkbox_field(name, label, checked, hint, &Invalid::new())
}

/// A checkbox with its label, a hint, and the problem with it beside it.
pub fn checkbox_field(
    name: &'static str,
    label: &str,
    checked: bool,
    hint: Option<&str>,
    invalid: &Invalid,
) -> Markup {
    let error = invalid.for_field(name);
    let hint_id = format!("{name}-hint");
    let error_id = format!("{name}-error");
    let described = [
        hint.map(|_| hint_id.as_str()),
        error.map(|_| error_id.as_str()),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" ");
    html! {
        div.field.check.has-error[error.is_some()] {
            @if let Some(e) = error { p.error id=(error_id) { span.visually-hidden { "Error: " } (e) } }
            input id=(name) name=(name) type="checkbox" checked[checked]
                aria-invalid=[error.map(|_| "true")]
                aria-describedby=[(!described.is_empty()).then_some(&described)];
            label for=(name) { (label) }
            @if let Some(h) = hint { p.hint id=(hint_id) { (h) } }
        }
    }
}

/// A yes-or-no question as two radios in a fieldset, the problem with it beside
/// it. The "Yes" radio carries the field's id, so the error summary's link lands
/// on it.
pub fn yes_no(
    field: &str,
    name: &str,
    question: &str,
    no_hint: Option<&str>,
    answer: Option<bool>,
    invalid: &Invalid,
) -> Markup {
    yes_no_and(field, name, question, no_hint, answer, invalid, html! {})
}

/// [`yes_no`] with more fields about the question after the radios, inside its
/// fieldset (a set's "which ones?").
pub fn yes_no_and(
    field: &str,
    name: &str,
    question: &str,
    no_hint: Option<&str>,
    answer: Option<bool>,
    invalid: &Invalid,
    more: Markup,
) -> Markup {
    let error = invalid.for_field(field);
    let error_id = format!("{field}-error");
    let no = format!("{field}-no");
    html! {
        fieldset.checklist.has-error[error.is_some()] aria-describedby=[error.map(|_| &error_id)] {
            legend { (question) }
            @if let Some(e) = error { p.error id=(error_id) { span.visually-hidden { "Error: " } (e) } }
            div.field.check {
                input id=(field) name=(name) type="radio" value="yes" checked[answer == Some(true)] aria-invalid=[error.map(|_| "true")];
                label for=(field) { "Yes" }
            }
            div.field.check {
                input id=(no) name=(name) type="radio" value="no" checked[answer == Some(false)] aria-invalid=[error.map(|_| "true")];
                label for=(no) { "No" @if let Some(h) = no_hint { span.hint { (h) } } }
            }
            (more)
        }
    }
}

/// What a confirmation step shows before something that cannot be undone.
pub struct Confirm<'a> {
    pub title: &'a str,
    /// What will happen, in a sentence ending "this cannot be undone".
    pub consequence: Markup,
    /// More about it (which devices), below the sentence.
    pub details: Markup,
    /// Where the confirmed form goes, and the fields it carries again as typed.
    pub action: &'a str,
    pub fields: &'a [(String, String)],
    pub yes: &'a str,
    /// Where "No" goes back to.
    pub back: &'a str,
}

/// The page that asks before an action that cannot be undone: what will happen,
/// and a form that sends the same fields again with `confirm=yes`. Without that
/// field the server does nothing.
pub fn confirm_page(ctx: &Ctx, section: Section, c: Confirm<'_>) -> Markup {
    page(
        ctx,
        section,
        c.title,
        html! {
            div.warning role="note" {
                p.lead.consequence { (c.consequence) }
            }
            (c.details)
            form method="post" action=(c.action) {
                (csrf(&ctx.csrf))
                @for (k, v) in c.fields.iter().filter(|(k, _)| k != "csrf" && k != "confirm") {
                    input type="hidden" name=(k) value=(v);
                }
                input type="hidden" name="confirm" value="yes";
                div.actions {
                    button.warning type="submit" { (c.yes) }
                    a href=(c.back) { "No, go back" }
                }
            }
        },
    )
}

/// The hidden CSRF field every form carries.
pub fn csrf(token: &str) -> Markup {
    html! { input type="hidden" name="csrf" value=(token); }
}

/// A device's status as a coloured badge that also reads without colour.
pub fn status_badge(s: DeviceStatus) -> Markup {
    html! { span class={ "badge status-" (s.as_str()) } { (s.label()) } }
}

/// Encryption as a badge.
pub fn encryption_badge(s: EncryptionState) -> Markup {
    let icon = match s {
        EncryptionState::Encrypted => "✓ ",
        EncryptionState::NotEncrypted => "⚠ ",
        EncryptionState::Unknown => "? ",
    };
    html! { span class={ "badge enc-" (s.as_str()) } { (icon) (s.label()) } }
}
