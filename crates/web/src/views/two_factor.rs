//! Two-step sign-in: the code page after the password, setting up an authenticator
//! app, and the recovery codes.

use kitroom_core::Invalid;
use maud::{html, Markup};

use super::{bare_page, csrf, error_summary, page, Field, Section};
use crate::auth::ctx::Ctx;

fn one_error(field: &'static str, error: Option<&str>) -> Invalid {
    let mut invalid = Invalid::new();
    if let Some(e) = error {
        invalid.add(field, e);
    }
    invalid
}

/// The second step of signing in.
pub fn code_page(token: &str, error: Option<&str>) -> Markup {
    let invalid = one_error("code", error);
    bare_page(
        "Enter your code",
        html! {
            (error_summary(&invalid))
            form method="post" action="/login/code" novalidate {
                (csrf(token))
                (Field::text("code", "Code from your authenticator app", "").required().hint("The 6-digit code for Kitroom. Lost your phone? Type one of your recovery codes instead.").autocomplete("one-time-code").render(&invalid))
                button.primary type="submit" { "Sign in" }
            }
            p.hint { "No code and no recovery codes? Ask the IT administrator to reset your two-step sign-in." }
            p { a href="/login" { "Start again" } }
        },
    )
}

/// Setting up the authenticator app: the QR code, the key as text, and the first
/// code to prove it works.
pub fn setup(
    ctx: &Ctx,
    otpauth_url: &str,
    secret: &str,
    required: bool,
    error: Option<&str>,
) -> Markup {
    let invalid = one_error("code", error);
    page(
        ctx,
        Section::Account,
        "Set up two-step sign-in",
        html! {
            @if required {
                div.notice role="status" {
                    p { "Your school asks everyone who can see other people's records to sign in in two steps: your password, then a code from an app on your phone. Set it up now to carry on." }
                }
            }
            (error_summary(&invalid))
            ol.steps {
                li {
                    p { "Install an authenticator app on your phone if you have none: Microsoft Authenticator, Google Authenticator or any app that offers time-based codes." }
                }
                li {
                    p { "In the app, add an account and scan this code:" }
                    div.qr { (super::loans::qr_svg(otpauth_url)) }
                    p.hint { "Cannot scan? Choose to type a key instead and enter:" }
                    p { code #totp-secret.token { (secret) } }
                }
                li {
                    form method="post" action="/account/two-factor" novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("code", "The 6-digit code the app now shows for Kitroom", "").required().autocomplete("one-time-code").render(&invalid))
                        button.primary type="submit" { "Turn on two-step sign-in" }
                    }
                }
            }
            form method="post" action="/logout" {
                (csrf(&ctx.csrf))
                button.secondary type="submit" { "Sign out" }
            }
        },
    )
}

/// The setup page when two-step sign-in is already on.
pub fn already_on(ctx: &Ctx) -> Markup {
    page(
        ctx,
        Section::Account,
        "Two-step sign-in is on",
        html! {
            p.lead { "Your account already signs in with a code from your authenticator app." }
            p { "To make new recovery codes, or to turn it off where your school allows, go to " a href="/account#two-factor" { "My account" } "." }
        },
    )
}

/// Recovery codes, shown once.
pub fn recovery_codes(ctx: &Ctx, codes: &[String], just_turned_on: bool) -> Markup {
    page(
        ctx,
        Section::Account,
        "Your recovery codes",
        html! {
            @if just_turned_on {
                div.notice role="status" { p { "Two-step sign-in is on. From now on, Kitroom asks for a code from your app after your password." } }
            }
            p.lead { "If you lose your phone, each of these codes signs you in once instead of the app's code. Print them or write them down and keep them somewhere safe, away from your phone." }
            p { strong { "They will not be shown again." } " Any codes you had before no longer work." }
            ul.recovery-codes {
                @for c in codes { li { code { (c) } } }
            }
            p { a.button.primary href="/account" { "I have kept them safe" } }
        },
    )
}

/// Partial for the account page: whether two-step sign-in is on, and what to do.
pub fn account_section(ctx: &Ctx, on: bool, codes_left: i64, required: bool) -> Markup {
    html! {
        section #two-factor {
            h2 { "Two-step sign-in" }
            @if on {
                p { "On: after your password, Kitroom asks for a code from your authenticator app." }
                p {
                    @match codes_left {
                        0 => { strong { "You have no recovery codes left." } " Make new ones now." }
                        1 => "You have 1 unused recovery code.",
                        n => { "You have " (n) " unused recovery codes." }
                    }
                }
                form method="post" action="/account/two-factor/recovery-codes" {
                    (csrf(&ctx.csrf))
                    button.secondary type="submit" { "Make new recovery codes" }
                }
                @if required {
                    p.hint { "Your school requires two-step sign-in for your account. New phone? Ask the IT administrator to reset it, then set it up again." }
                } @else {
                    form method="post" action="/account/two-factor/off" novalidate {
                        (csrf(&ctx.csrf))
                        (Field::text("password", "Your password, to turn it off", "").kind("password").required().autocomplete("current-password").render(&Invalid::new()))
                        button.warning type="submit" { "Turn off two-step sign-in" }
                    }
                }
            } @else {
                p { "Off. With it on, someone who learns your password still cannot sign in without your phone." }
                p { a.button.primary href="/account/two-factor" { "Set up two-step sign-in" } }
            }
        }
    }
}
