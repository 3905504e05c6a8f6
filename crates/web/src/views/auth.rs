//! Sign-in and first-time setup.

use kitroom_core::Invalid;
use maud::{html, Markup};
use serde::Deserialize;

use super::{bare_page, csrf, error_summary, Field};

/// What the sign-in page offers besides a password.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    /// The school's provider's name on its button ("Google", "Microsoft", ...).
    pub provider: Option<String>,
    /// Only IT administrators may sign in with a password.
    pub password_for_admins_only: bool,
}

pub fn login(
    token: &str,
    username: &str,
    next: &str,
    error: Option<&str>,
    notice: Option<&str>,
    choices: &Choices,
) -> Markup {
    let mut invalid = Invalid::new();
    if let Some(e) = error {
        invalid.add("username", e);
    }
    bare_page(
        "Sign in",
        html! {
            @if let Some(n) = notice { div.notice role="status" { (n) } }
            (error_summary(&invalid))
            @if let Some(name) = &choices.provider {
                @let href = if next.is_empty() || next == "/" { "/sign-in/oidc".to_owned() } else { format!("/sign-in/oidc?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>()) };
                p { a.button.primary #sign-in-provider href=(href) { "Sign in with " (name) } }
                @if choices.password_for_admins_only {
                    p.hint { "Staff sign in with their school account. The password form below is for IT administrators only." }
                } @else {
                    p.hint { "Or sign in with your Kitroom username and password:" }
                }
            }
            form method="post" action="/login" novalidate {
                (csrf(token))
                input type="hidden" name="next" value=(next);
                (Field::text("username", "Username", username).required().autocomplete("username").render(&Invalid::new()))
                (Field::text("password", "Password", "").kind("password").required().autocomplete("current-password").render(&Invalid::new()))
                button.primary type="submit" { "Sign in" }
            }
            p { a href="/forgot" { "Forgotten your password?" } }
            // Signing in with the school's own account (OpenID Connect) will be
            // offered here too.
        },
    )
}

pub fn no_accounts_yet() -> Markup {
    bare_page(
        "Kitroom is not set up yet",
        html! {
            p.lead { "There is no account yet. The person who started Kitroom will find a one-time setup link in the server's console." }
            p { "Or, at the server, run " code { "kitroom user add USERNAME --role admin --full-name \"Your Name\"" } "." }
        },
    )
}

pub fn setup_link_wrong() -> Markup {
    bare_page(
        "This setup link does not work",
        html! {
            p.lead { "The link is wrong or has already been used. Copy the whole link from the server's console, or restart Kitroom to get a new one." }
        },
    )
}

pub fn setup(token: &str, setup_token: &str, form: &SetupForm, invalid: &Invalid) -> Markup {
    bare_page(
        "Create the first admin account",
        html! {
            p.lead { "This account will manage Kitroom: people, devices and settings. You can add everyone else afterwards." }
            (error_summary(invalid))
            form method="post" action="/setup" novalidate {
                (csrf(token))
                input type="hidden" name="token" value=(setup_token);
                (Field::text("full_name", "Full name", &form.full_name).required().autocomplete("name").render(invalid))
                (Field::text("username", "Username", &form.username).required().hint("Lower-case letters, digits, dots or dashes, like j.smith").autocomplete("username").render(invalid))
                (Field::text("email", "Email address", &form.email).kind("email").autocomplete("email").render(invalid))
                (Field::text("position", "Position", &form.position).hint("For example: IT technician").render(invalid))
                (Field::text("password", "Password", "").kind("password").required().hint("At least 12 characters and hard to guess: not a common password, a row of keys, a sequence or your name. Three random words work well.").autocomplete("new-password").render(invalid))
                (Field::text("confirm", "Type the password again", "").kind("password").required().autocomplete("new-password").render(invalid))
                button.primary type="submit" { "Create account" }
            }
        },
    )
}

/// The setup form as typed, shown back with its errors.
#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SetupForm {
    pub token: String,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub position: String,
    pub password: String,
    pub confirm: String,
}

impl SetupForm {
    /// The form as shown back with its errors: each field cut to a length beyond
    /// every limit (so a value just too long is still there to shorten), and no
    /// longer, whatever was sent.
    pub(crate) fn shown_back(&self) -> SetupForm {
        const SHOWN: usize = 300;
        let c = |s: &str| s.chars().take(SHOWN).collect::<String>();
        SetupForm {
            token: c(&self.token),
            username: c(&self.username),
            full_name: c(&self.full_name),
            email: c(&self.email),
            position: c(&self.position),
            password: String::new(),
            confirm: String::new(),
        }
    }
}

/// "Forgotten your password?": a username or an email address.
pub fn forgot(token: &str, typed: &str, error: Option<&str>) -> Markup {
    let mut invalid = Invalid::new();
    if let Some(e) = error {
        invalid.add("who", e);
    }
    bare_page(
        "Forgotten your password?",
        html! {
            p.lead { "Type your username or the email address Kitroom has for you. If an account matches, we email it a link to choose a new password." }
            (error_summary(&invalid))
            form method="post" action="/forgot" novalidate {
                (csrf(token))
                (Field::text("who", "Username or email address", typed).required().autocomplete("username").render(&invalid))
                button.primary type="submit" { "Email me a link" }
            }
            p { a href="/login" { "Back to sign in" } }
        },
    )
}

/// The same answer whether or not an account matched.
pub fn forgot_sent() -> Markup {
    bare_page(
        "Check your email",
        html! {
            p.lead { "If an account matches, we have sent an email to its address with a link to choose a new password. The link works once, within an hour." }
            p { "No email after a few minutes? Check your junk folder, or ask the business manager or IT administrator to reset your password." }
            p { a href="/login" { "Back to sign in" } }
        },
    )
}

/// What a one-time link's page is for, in words.
fn link_words(invite: bool) -> (&'static str, &'static str) {
    if invite {
        ("Welcome to Kitroom", "Choose your password")
    } else {
        ("Choose a new password", "Save new password")
    }
}

/// The page at an invitation's or reset's link: choose a password, typed twice.
pub fn choose_password(
    token: &str,
    invite: bool,
    action: &str,
    full_name: &str,
    username: &str,
    invalid: &Invalid,
) -> Markup {
    let (title, button) = link_words(invite);
    bare_page(
        title,
        html! {
            @if invite {
                p.lead { "Hello " (full_name) ". Choose a password to finish setting up your account. Your username is " strong { (username) } "." }
                // Signing in with the school's own account (OpenID Connect) will be
                // offered here as the other way to accept.
            } @else {
                p.lead { "Choose a new password for " strong { (username) } ". Every session and API token of this account will end." }
            }
            (error_summary(invalid))
            form method="post" action=(action) novalidate {
                (csrf(token))
                (Field::text("password", "Password", "").kind("password").required().hint("At least 12 characters and hard to guess: not a common password, a row of keys, a sequence or your name. Three random words work well.").autocomplete("new-password").render(invalid))
                (Field::text("confirm", "Type the password again", "").kind("password").required().autocomplete("new-password").render(invalid))
                button.primary type="submit" { (button) }
            }
        },
    )
}

/// A one-time link that does not work (any more), and how to get a new one.
pub fn link_problem(invite: bool, message: &str) -> Markup {
    bare_page(
        "This link does not work",
        html! {
            p.lead { (message) }
            @if invite {
                p { "Ask the business manager or IT administrator to send your invitation again. If you have already chosen your password, " a href="/login" { "sign in" } "." }
            } @else {
                p { a href="/forgot" { "Ask for a new link" } " or " a href="/login" { "sign in" } "." }
            }
        },
    )
}
