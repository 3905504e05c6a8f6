//! A person's own account page.

use kitroom_core::Invalid;
use kitroom_store::tokens::TokenInfo;
use maud::{html, Markup};

use super::{csrf, error_summary, page, Field, Section};
use crate::auth::Ctx;
use crate::time;

pub fn show(
    ctx: &Ctx,
    tokens: &[TokenInfo],
    invalid: &Invalid,
    new_token: Option<&str>,
    token_name: &str,
) -> Markup {
    let u = &ctx.user;
    page(
        ctx,
        Section::Account,
        "My account",
        html! {
            (error_summary(invalid))
            dl.summary {
                dt { "Name" } dd { (u.full_name) }
                dt { "Username" } dd { (u.username) }
                dt { "Email" } dd { @match &u.email { Some(e) => (e), None => span.muted { "Not recorded" } } }
                dt { "Position" } dd { @if u.position.is_empty() { span.muted { "Not recorded" } } @else { (u.position) } }
                dt { "Role" } dd { (u.role.label()) }
            }
            p.hint { "To change these, ask the business manager." }
            section {
                h2 { "Change your password" }
                form method="post" action="/account/password" novalidate {
                    (csrf(&ctx.csrf))
                    (Field::text("current", "Current password", "").kind("password").required().autocomplete("current-password").render(invalid))
                    (Field::text("password", "New password", "").kind("password").required().hint("At least 12 characters, not a common password. Three random words work well.").autocomplete("new-password").render(invalid))
                    (Field::text("confirm", "Type the new password again", "").kind("password").required().autocomplete("new-password").render(invalid))
                    button.primary type="submit" { "Change password" }
                }
            }
            section #tokens {
                h2 { "API tokens" }
                p { "A token lets a script use Kitroom's API as you, with your permissions. Keep it secret like a password." }
                @if let Some(t) = new_token {
                    div.notice role="status" {
                        p { strong { "Your new token. Copy it now: it will not be shown again." } }
                        p { code.token { (t) } }
                    }
                }
                @if tokens.is_empty() {
                    p.muted { "You have no tokens." }
                } @else {
                    table {
                        thead { tr { th { "Name" } th { "Created" } th { span.visually-hidden { "Revoke" } } } }
                        tbody {
                            @for t in tokens {
                                tr {
                                    td { (t.name) }
                                    td { (time::when_text(&t.created_at)) }
                                    td {
                                        form.inline method="post" action={ "/account/tokens/" (t.id) "/revoke" } {
                                            (csrf(&ctx.csrf))
                                            button.warning type="submit" { "Revoke" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                form method="post" action="/account/tokens" novalidate {
                    (csrf(&ctx.csrf))
                    (Field::text("name", "Token name", token_name).required().hint("What it is for, like: nightly export script").render(invalid))
                    button.secondary type="submit" { "Create token" }
                }
            }
        },
    )
}
