//! The acceptable-use policy pages.

use kitroom_core::policy::{PolicyInput, SignatureInput};
use kitroom_core::Invalid;
use kitroom_store::people::Person;
use kitroom_store::policies::{Policy, PolicySummary, Signature};
use maud::{html, Markup};

use super::{checkbox, csrf, error_summary, page, Field, Section};
use crate::auth::ctx::Ctx;
use crate::time;

/// Partial: a policy's heading and text.
fn policy_text(p: &Policy) -> Markup {
    html! {
        article.policy {
            p.muted { "Version " (p.version_label) ", issued " (time::date(p.issued_on)) }
            (crate::markdown::render(&p.body))
        }
    }
}

pub fn current(
    ctx: &Ctx,
    policy: Option<&Policy>,
    signature: Option<&Signature>,
    input: &SignatureInput,
    invalid: &Invalid,
    next: &str,
) -> Markup {
    let Some(p) = policy else {
        return page(
            ctx,
            Section::Policy,
            "Acceptable-use policy",
            html! {
                div.empty {
                    p.lead { "No policy has been published yet." }
                    p { "Devices can be lent once the business manager publishes the school's acceptable-use policy and you have signed it." }
                }
            },
        );
    };
    let full_name = if input.full_name.is_empty() {
        ctx.user.full_name.as_str()
    } else {
        input.full_name.as_str()
    };
    let position = if input.position.is_empty() {
        ctx.user.position.as_str()
    } else {
        input.position.as_str()
    };
    page(
        ctx,
        Section::Policy,
        &p.title,
        html! {
            @match signature {
                Some(s) => div.notice role="status" { "You signed this version on " (s.signed_on) " as " (s.full_name) ", " (s.position) "." },
                None => div.warning { strong { "Please read and sign this policy." } " Until you sign the version in force, you cannot borrow devices." },
            }
            (error_summary(invalid))
            (policy_text(p))
            @if signature.is_none() {
                section.sign {
                    h2 { "Sign" }
                    form method="post" action="/policy/sign" novalidate {
                        (csrf(&ctx.csrf))
                        input type="hidden" name="policy" value=(p.id);
                        input type="hidden" name="next" value=(next);
                        (Field::text("full_name", "Full name (printed)", full_name).required().autocomplete("name").render(invalid))
                        (Field::text("position", "Position", position).required().hint("For example: Year 4 teacher, governor, volunteer").render(invalid))
                        p { "Date: " strong { (time::date(time::today())) } }
                        div.has-error[invalid.for_field("agree").is_some()] {
                            @if let Some(e) = invalid.for_field("agree") { p.error { (e) } }
                            (checkbox("agree", "I have read this policy and agree to follow it", input.agree, None))
                        }
                        button.primary type="submit" { "Sign the policy" }
                    }
                }
            }
        },
    )
}

/// The versions and the form to publish one. `for_trust`: the trust keeps one
/// policy for every school, and only its own staff publish.
pub fn list(
    ctx: &Ctx,
    policies: &[PolicySummary],
    people: i64,
    for_trust: bool,
    input: &PolicyInput,
    invalid: &Invalid,
) -> Markup {
    page(
        ctx,
        Section::Policy,
        "Acceptable-use policy",
        html! {
            @if for_trust {
                p.lead { "The trust keeps one acceptable-use policy for every school. Its newest version is in force here; until the trust publishes one, the school's own is." }
            }
            @if policies.is_empty() {
                div.warning { "No policy is published yet, so nobody can borrow a device. Publish one below: Kitroom offers its own sample wording to start from." }
            } @else {
                table {
                    thead { tr { th { "Version" } th { "Issued" } th { "Signed" } th { "" } } }
                    tbody {
                        @for (i, s) in policies.iter().enumerate() {
                            tr {
                                td { a href={ "/policies/" (s.policy.id) } { (s.policy.version_label) } @if i == 0 { " " span.badge.status-available { "In force" } } }
                                td { (time::date(s.policy.issued_on)) }
                                td { (s.signed) " of " (people) }
                                td { a href={ "/policies/" (s.policy.id) } { "Who has signed" } }
                            }
                        }
                    }
                }
            }
            h2 { "Publish a new version" }
            @if for_trust && !ctx.may(kitroom_core::person::Permission::ViewTrust) {
                p { "The trust's own staff publish new versions, for every school at once." }
            } @else {
            p {
                "A new version is in force as soon as it is published"
                @if for_trust { ", at every school of the trust" }
                ", and everyone must sign it again before they next borrow. Earlier signatures are kept."
            }
            (error_summary(invalid))
            form method="post" action="/policies" novalidate {
                (csrf(&ctx.csrf))
                (Field::text("title", "Title", &input.title).required().render(invalid))
                (Field::text("version_label", "Version", &input.version_label).required().hint("For example: 2026/27 or v2").render(invalid))
                (Field::text("issued_on", "Issue date", &input.issued_on).kind("date").required().render(invalid))
                div.field.has-error[invalid.for_field("body").is_some()] {
                    label for="body" { "Policy text" }
                    p.hint { "Written in Markdown: ## for a heading, - for a bullet point, **bold**." }
                    @if let Some(e) = invalid.for_field("body") { p.error { (e) } }
                    textarea #body name="body" rows="18" { (input.body) }
                }
                button.primary type="submit" { "Publish" }
            }
            }
        },
    )
}

pub fn show(
    ctx: &Ctx,
    p: &Policy,
    in_force: bool,
    people: &[(Person, Option<Signature>)],
) -> Markup {
    let signed = people.iter().filter(|(_, s)| s.is_some()).count();
    page(
        ctx,
        Section::Policy,
        &format!("{}: version {}", p.title, p.version_label),
        html! {
            p.lead { (signed) " of " (people.len()) " people have signed this version." @if !in_force { " A newer version is now in force." } }
            p.page-actions { a.button.secondary href={ "/policies/" (p.id) "/signatures.csv" } download { "Download as CSV" } }
            h2 { "Not signed yet" }
            ul.plain {
                @for (person, _) in people.iter().filter(|(_, s)| s.is_none()) {
                    li { (person.full_name) " " span.muted { "(" (person.username) ", " (person.kind.label()) ")" } }
                }
            }
            h2 { "Signed" }
            table {
                thead { tr { th { "Name as signed" } th { "Position" } th { "Date" } th { "Username" } } }
                tbody {
                    @for (person, s) in people.iter().filter_map(|(p, s)| s.as_ref().map(|s| (p, s))) {
                        tr { td { (s.full_name) } td { (s.position) } td { (s.signed_on) } td { (person.username) } }
                    }
                }
            }
            details {
                summary { "Read this version" }
                (policy_text(p))
            }
        },
    )
}
