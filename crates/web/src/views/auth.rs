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
            p.hint { "Forgotten your password? Ask the business manager or IT administrator to reset it." }
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
