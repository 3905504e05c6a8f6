//! Account pages for managers and admins.

use kitroom_core::person::{PersonKind, Role};
use kitroom_core::Invalid;
use kitroom_store::events::Event;
use kitroom_store::loans::Loan;
use kitroom_store::people::Person;
use kitroom_store::policies::Signature;
use maud::{html, Markup};
use serde::Deserialize;

use super::{csrf, error_summary, page, select, Field, Section};
use crate::auth::ctx::Ctx;
use crate::paths::person_url;
use crate::time;

/// Where a person stands with invitations, for the people pages.
#[derive(Debug, Clone, Copy, Default)]
pub struct Invitation {
    /// When the latest invitation not yet accepted was sent.
    pub sent_at: Option<chrono::DateTime<chrono::Utc>>,
    /// The signed-in person may send one (again): the account has an email address
    /// and no password, and the account rule allows resetting its password.
    pub may_send: bool,
}

/// A "Send invitation" or "Send again" button; `from` is the page to come back to.
fn invite_button(ctx: &Ctx, p: &Person, i: Invitation, from: &str) -> Markup {
    html! {
        @if i.may_send {
            form.inline method="post" action={ (person_url(&p.username)) "/invite" } {
                (csrf(&ctx.csrf))
                input type="hidden" name="from" value=(from);
                button.secondary type="submit" { @if i.sent_at.is_some() { "Send again" } @else { "Send invitation" } }
            }
        }
    }
}

pub fn list(
    ctx: &Ctx,
    q: &PeopleQuery,
    people: &[Person],
    invitations: &std::collections::HashMap<uuid::Uuid, Invitation>,
    never_invited: usize,
) -> Markup {
    page(
        ctx,
        Section::People,
        "People",
        html! {
            p.page-actions {
                a.button.primary href="/people/new" { "Add a person" }
                @if ctx.may(kitroom_core::person::Permission::ImportExport) {
                    a.button.secondary href="/import/people" { "Import people from a spreadsheet" }
                }
            }
            @if never_invited > 0 {
                form.notice method="post" action="/people/invite-new" {
                    (csrf(&ctx.csrf))
                    p { (never_invited) " " @if never_invited == 1 { "person has" } @else { "people have" } " an email address but no password and no invitation yet (new from an import, say)." }
                    button.primary type="submit" {
                        "Send invitations to the " (never_invited) " new " @if never_invited == 1 { "person" } @else { "people" } " with email addresses"
                    }
                }
            }
            form.filters method="get" action="/people" role="search" {
                div.field.search {
                    label for="q" { "Search" }
                    input #q type="search" name="q" value=(q.q) placeholder="Name, username or email";
                }
                div.field.check {
                    input #inactive type="checkbox" name="inactive" value="1" checked[!q.inactive.is_empty()];
                    label for="inactive" { "Include deactivated accounts" }
                }
                div.actions { button.secondary type="submit" { "Search" } }
            }
            @if people.is_empty() {
                div.empty { p { "Nobody matches. " a href="/people/new" { "Add a person" } "." } }
            } @else {
                table.people {
                    thead { tr { th { "Name" } th { "Username" } th { "Kind" } th { "Role" } th { "Account" } } }
                    tbody {
                        @for p in people {
                            tr {
                                td { a href=(person_url(&p.username)) { (p.full_name) } @if !p.position.is_empty() { br; span.muted { (p.position) } } }
                                td data-label="Username" { (p.username) }
                                td data-label="Kind" { (p.kind.label()) }
                                td data-label="Role" { (p.role.label()) }
                                @let i = invitations.get(&p.id).copied().unwrap_or_default();
                                td {
                                    @if !p.active { span.badge.status-retired { "Deactivated" } }
                                    @else if p.password_hash.is_some() { "Active" }
                                    @else if let Some(at) = i.sent_at { span.muted { "Invited " (time::when(at)) ", not yet accepted" } }
                                    @else { span.muted { "No password yet" } }
                                    (invite_button(ctx, p, i, "list"))
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// What the signed-in person may do to the account shown, as the account rule
/// decided: the page offers only these.
#[derive(Debug, Clone, Copy, Default)]
pub struct Allowed {
    pub edit: bool,
    pub reset_password: bool,
    pub reset_two_factor: bool,
    pub set_active: bool,
    pub invitation: Invitation,
}

/// `roles`: the roles the form offers, as the account rule allows.
pub fn form(
    ctx: &Ctx,
    editing: Option<&Person>,
    roles: &[Role],
    f: &PersonForm,
    invalid: &Invalid,
) -> Markup {
    let kinds: Vec<(&str, &str)> = PersonKind::ALL
        .iter()
        .map(|k| (k.as_str(), k.label()))
        .collect();
    let roles: Vec<(&str, &str)> = roles.iter().map(|r| (r.as_str(), r.label())).collect();
    let (title, action) = match editing {
        Some(p) => (
            format!("Edit {}", p.full_name),
            format!("{}/edit", person_url(&p.username)),
        ),
        None => ("Add a person".to_owned(), "/people".to_owned()),
    };
    page(
        ctx,
        Section::People,
        &title,
        html! {
            (error_summary(invalid))
            form method="post" action=(action) novalidate {
                (csrf(&ctx.csrf))
                (Field::text("full_name", "Full name", &f.full_name).required().autocomplete("off").render(invalid))
                (Field::text("username", "Username", &f.username).required().hint("What they sign in with: lower-case letters, digits, dots or dashes, like j.smith").autocomplete("off").render(invalid))
                (Field::text("email", "Email address", &f.email).kind("email").autocomplete("off").render(invalid))
                (Field::text("position", "Position", &f.position).hint("For example: Year 4 teacher, Chair of governors").render(invalid))
                (select("kind", "Who they are to the school", &kinds, &f.kind, invalid))
                (select("role", "What they can do in Kitroom", &roles, &f.role, invalid))
                @if editing.is_none() {
                    (Field::text("password", "First password", "").kind("password").hint("At least 12 characters and hard to guess: three random words work well. Give it to them in person. Leave empty if they will only borrow through the business manager.").autocomplete("new-password").render(invalid))
                }
                div.actions {
                    button.primary type="submit" { @if editing.is_some() { "Save changes" } @else { "Add person" } }
                    a href=(editing.map(|p| person_url(&p.username)).unwrap_or_else(|| "/people".into())) { "Cancel" }
                }
            }
        },
    )
}

pub fn show(
    ctx: &Ctx,
    p: &Person,
    allowed: Allowed,
    loans: &[Loan],
    signatures: &[(String, Signature)],
    events: &[Event],
    invalid: &Invalid,
) -> Markup {
    let url = person_url(&p.username);
    page(
        ctx,
        Section::People,
        &p.full_name,
        html! {
            (error_summary(invalid))
            @if !p.active { div.warning { "This account is deactivated: they cannot sign in or borrow." } }
            @if allowed.edit {
                div.page-actions {
                    a.button.secondary href={ (url) "/edit" } { "Edit details" }
                }
            } @else if !allowed.reset_password {
                p.muted { "Only an IT administrator can change this account." }
            }
            dl.summary {
                dt { "Username" } dd { (p.username) }
                dt { "Email" } dd { @match &p.email { Some(e) => (e), None => span.muted { "Not recorded" } } }
                dt { "Position" } dd { @if p.position.is_empty() { span.muted { "Not recorded" } } @else { (p.position) } }
                dt { "Kind" } dd { (p.kind.label()) }
                dt { "Role" } dd { (p.role.label()) }
                dt { "Account since" } dd { (time::when(p.created_at)) }
                @if p.password_hash.is_none() && p.active {
                    dt { "Invitation" }
                    dd {
                        @if let Some(at) = allowed.invitation.sent_at { "Sent " (time::when(at)) ", not yet accepted" } @else { span.muted { "Not sent" } }
                    }
                }
            }
            @if allowed.invitation.may_send {
                section #invite {
                    h2 { "Invitation" }
                    p { "Email them a link to choose their own password and sign in. It works once, for 7 days; sending it again stops the earlier link working." }
                    (invite_button(ctx, p, allowed.invitation, "person"))
                }
            }
            @if p.id != ctx.user.id && allowed.reset_password {
                section {
                    h2 { "Reset password" }
                    form method="post" action={ (url) "/password" } novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("password", "New password", "").kind("password").required().hint("At least 12 characters and hard to guess: three random words work well. They are signed out everywhere and their API tokens stop working.").autocomplete("new-password").render(invalid))
                        button.secondary type="submit" { "Reset password" }
                    }
                }
            }
            @if p.id != ctx.user.id && allowed.reset_two_factor {
                section {
                    h2 { "Two-step sign-in" }
                    p { "If they lost the phone with their authenticator app and have no recovery codes, reset it: their sessions end, and they set it up again at their next sign-in." }
                    form method="post" action={ (url) "/two-factor/reset" } {
                        (csrf(&ctx.csrf))
                        button.secondary type="submit" { "Reset two-step sign-in" }
                    }
                }
            }
            @if p.id != ctx.user.id && allowed.set_active {
                section {
                    h2 { @if p.active { "Deactivate" } @else { "Reactivate" } }
                    form method="post" action={ (url) "/active" } {
                        (csrf(&ctx.csrf))
                        @if p.active {
                            p { "When someone leaves, deactivate their account: they are signed out at once and cannot sign in or borrow. Their history stays." }
                            input type="hidden" name="active" value="false";
                            button.warning type="submit" { "Deactivate account" }
                        } @else {
                            input type="hidden" name="active" value="true";
                            button.secondary type="submit" { "Reactivate account" }
                        }
                    }
                }
            }
            section {
                h2 { "Loans" }
                @if loans.is_empty() {
                    p.muted { "They have never borrowed a device." }
                } @else {
                    (super::loans::loans_table(loans, chrono::Utc::now()))
                }
            }
            section {
                h2 { "Acceptable-use policy" }
                @if signatures.is_empty() {
                    p.muted { "They have not signed any version." }
                } @else {
                    ul.plain {
                        @for (version, s) in signatures {
                            li { "Version " (version) ": signed " (s.signed_on) " as " (s.full_name) ", " (s.position) }
                        }
                    }
                }
            }
            section {
                h2 { "Recent activity" }
                (super::log::events_table(events, true))
            }
        },
    )
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct PeopleQuery {
    pub q: String,
    pub inactive: String,
}

/// The account form as posted, read as the add command's input; `password` only
/// when adding someone.
pub type PersonForm = kitroom_app::accounts::AddPersonInput;
