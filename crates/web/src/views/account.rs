//! A person's own account page.

use chrono::{DateTime, Utc};
use kitroom_core::Invalid;
use kitroom_store::tokens::TokenInfo;
use maud::{html, Markup};

use super::{csrf, error_summary, page, Field, Section};
use crate::auth::ctx::Ctx;
use crate::time;

/// The account page's tokens section: the person's tokens, whether this session
/// may make one, and a token just made (shown once).
pub struct Tokens<'a> {
    pub list: &'a [TokenRow],
    pub may_make: bool,
    pub new: Option<&'a str>,
    /// The name typed, kept when the form is refused.
    pub name: &'a str,
}

pub fn show(
    ctx: &Ctx,
    sessions: &[SessionInfo],
    two_factor: Markup,
    feed: Markup,
    tokens: &Tokens<'_>,
    invalid: &Invalid,
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
                p { "Changing your password signs you out everywhere else and stops your API tokens working." }
                form method="post" action="/account/password" novalidate {
                    (csrf(&ctx.csrf))
                    (Field::text("current", "Current password", "").kind("password").required().autocomplete("current-password").render(invalid))
                    (Field::text("password", "New password", "").kind("password").required().hint("At least 12 characters and hard to guess: not a common password, a row of keys, a sequence or your name. Three random words work well.").autocomplete("new-password").render(invalid))
                    (Field::text("confirm", "Type the new password again", "").kind("password").required().autocomplete("new-password").render(invalid))
                    button.primary type="submit" { "Change password" }
                }
            }
            (two_factor)
            (feed)
            (sessions_section(ctx, sessions, !tokens.list.is_empty()))
            (tokens_section(ctx, tokens, invalid))
        },
    )
}

/// Partial: the person's API tokens, each with its expiry and last use, and the
/// form to make one.
fn tokens_section(ctx: &Ctx, tokens: &Tokens<'_>, invalid: &Invalid) -> Markup {
    html! {
        section #tokens {
            h2 { "API tokens" }
            p { "A token lets a script use Kitroom's API as you, with your permissions. Keep it secret like a password. A token stops working when it expires, when your password is changed or reset, and when you sign out everywhere else." }
            @if let Some(t) = tokens.new {
                div.notice role="status" {
                    p { strong { "Your new token. Copy it now: it will not be shown again." } }
                    p { code.token { (t) } }
                }
            }
            @if tokens.list.is_empty() {
                p.muted { "You have no tokens." }
            } @else {
                table {
                    thead { tr { th { "Name" } th { "Created" } th { "Expires" } th { "Last used" } th { span.visually-hidden { "Revoke" } } } }
                    tbody {
                        @for row in tokens.list {
                            @let t = &row.token;
                            tr {
                                td data-label="Name" { (t.name) }
                                td data-label="Created" { (time::when_text(&t.created_at)) }
                                td data-label="Expires" {
                                    @match &t.expires_at {
                                        Some(e) if row.expired => { strong { "Expired " (time::when_text(e)) } }
                                        Some(e) => (time::when_text(e)),
                                        None => strong { "Expired" },
                                    }
                                }
                                td data-label="Last used" {
                                    @match &t.last_used_at {
                                        Some(u) => (time::when_text(u)),
                                        None => span.muted { "Not used yet" },
                                    }
                                }
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
            @if tokens.may_make {
                form method="post" action="/account/tokens" novalidate {
                    (csrf(&ctx.csrf))
                    (Field::text("name", "Token name", tokens.name).required().hint("What it is for, like: nightly export script").render(invalid))
                    button.secondary type="submit" { "Create token" }
                }
            } @else {
                p.hint { "To make a token, sign out and sign in again with the code from your authenticator app: this session began with your password alone." }
            }
        }
    }
}

/// Partial: where the person is signed in, with a button to end each other session
/// and one to sign out everywhere else (which also revokes their API tokens).
fn sessions_section(ctx: &Ctx, sessions: &[SessionInfo], has_tokens: bool) -> Markup {
    let others = sessions.iter().filter(|s| !s.current).count();
    html! {
        section #sessions {
            h2 { "Where you are signed in" }
            p { "If you see a session you do not recognise, end it and change your password." }
            ul.sessions {
                @for s in sessions {
                    li {
                        p {
                            strong { (browser_words(&s.browser)) }
                            @if s.current { " " span.badge { "This session" } }
                        }
                        p.muted {
                            "Signed in "
                            @match s.signed_in { Some(t) => (time::when(t)), None => "at an unknown time" }
                            ", last seen "
                            @match s.seen { Some(t) => (time::when(t)), None => "at an unknown time" }
                            @if !s.address.is_empty() { ", from " (s.address) }
                            "."
                        }
                        @if !s.current {
                            form.inline method="post" action={ "/account/sessions/" (s.id_hash) "/end" } {
                                (csrf(&ctx.csrf))
                                button.warning type="submit" { "End this session" }
                            }
                        }
                    }
                }
            }
            @if others == 0 {
                p.muted { "You are not signed in anywhere else." }
            }
            @if others > 0 || has_tokens {
                form method="post" action="/account/sessions/end-others" {
                    (csrf(&ctx.csrf))
                    p.hint { "This also revokes your API tokens: scripts using them stop working until you make new ones." }
                    button.warning type="submit" { "Sign out everywhere else" }
                }
            }
        }
    }
}

/// A short name for a browser from its `User-Agent`, such as "Firefox on Windows".
/// Only for people to recognise their own devices: nothing depends on it.
fn browser_words(ua: &str) -> String {
    if ua.is_empty() {
        return "Unknown browser".into();
    }
    let browser = [
        ("Edg/", "Edge"),
        ("OPR/", "Opera"),
        ("Firefox/", "Firefox"),
        ("CriOS/", "Chrome"),
        ("Chrome/", "Chrome"),
        ("Safari/", "Safari"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    let system = [
        ("iPhone", "iPhone"),
        ("iPad", "iPad"),
        ("Android", "Android"),
        ("CrOS", "ChromeOS"),
        ("Windows", "Windows"),
        ("Mac OS X", "macOS"),
        ("Linux", "Linux"),
    ]
    .iter()
    .find(|(needle, _)| ua.contains(needle))
    .map(|(_, name)| *name);
    match (browser, system) {
        (Some(b), Some(s)) => format!("{b} on {s}"),
        (Some(b), None) => b.to_owned(),
        (None, Some(s)) => format!("A browser on {s}"),
        // Not a browser Kitroom knows: show what it says, shortened.
        (None, None) => ua.chars().take(60).collect(),
    }
}

/// One of a person's API tokens, as the account page lists it.
pub struct TokenRow {
    pub token: TokenInfo,
    /// Past its expiry: the API refuses it.
    pub expired: bool,
}

/// One of a person's signed-in sessions, as the account page lists it.
pub struct SessionInfo {
    /// The SHA-256 of the session id: names the session in the "End" form without
    /// giving away the id itself.
    pub id_hash: String,
    pub signed_in: Option<DateTime<Utc>>,
    pub seen: Option<DateTime<Utc>>,
    pub address: String,
    pub browser: String,
    /// This is the session asking.
    pub current: bool,
}
