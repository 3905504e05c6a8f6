//! The settings page.

use kitroom_core::device::DeviceKind;
use kitroom_core::settings::SettingsInput;
use kitroom_core::Invalid;
use maud::{html, Markup};

use kitroom_store::backups::BackupFile;

use super::{csrf, error_summary, page, Field, Section};
use crate::auth::ctx::Ctx;
use crate::BackupStatus;

/// What the settings page shows about automatic backups.
pub struct Backups {
    pub folder: String,
    /// Newest first.
    pub files: Vec<BackupFile>,
    pub status: Option<BackupStatus>,
}

/// The settings form. `deployment`: the backups on disk, given when the person may
/// change the settings every school shares (sign-in, retention, backups); without
/// it those are only described.
pub fn form(
    ctx: &Ctx,
    input: &SettingsInput,
    invalid: &Invalid,
    deployment: Option<&Backups>,
) -> Markup {
    page(
        ctx,
        Section::Settings,
        "Settings",
        html! {
            p { a href="/calendar" { "School calendar: periods, terms and holidays" } }
            (error_summary(invalid))
            form method="post" action="/settings" novalidate {
                (csrf(&ctx.csrf))
                (Field::text("school_name", "School name", &input.school_name).required().hint("Printed on device labels").render(invalid))
                (Field::text("day_ends_at", "The school day ends at", &input.day_ends_at).kind("time").required().hint("Loans are due back at this time unless a later date is chosen").render(invalid))
                (Field::text("return_location", "Devices are returned to", &input.return_location).required().hint("Usually the computer room. Sets come back here; a single device goes back to where it lives.").render(invalid))
                (Field::text("booking_release_minutes", "Release a booking not collected after", &input.booking_release_minutes).kind("number").hint("Minutes after the booked time starts. The devices are then free for others.").render(invalid))
                (Field::text("reminder_minutes_before", "Remind borrowers before a loan is due, in minutes", &input.reminder_minutes_before).kind("number").hint("In the app, and by email when they have an address. 0 sends no reminder before; an overdue reminder is always sent, once.").render(invalid))
                fieldset #charge_minutes {
                    legend { "Charging time, in minutes" }
                    p.hint { "After this long on charge, a returned device is ready to lend again. 0 makes it ready at once." }
                    @if let Some(e) = invalid.for_field("charge_minutes") { p.error { (e) } }
                    div.filter-grid {
                        @for kind in DeviceKind::ALL {
                            @let name = format!("charge_minutes.{}", kind.as_str());
                            div.field {
                                label for=(name) { (kind.label()) }
                                input id=(name) name=(name) type="number" min="0" max="1440" value=(input.charge_minutes.get(kind.as_str()).map(String::as_str).unwrap_or(""));
                            }
                        }
                    }
                }
                fieldset #security {
                    legend { "Accounts and personal data" }
                    (super::checkbox("require_two_factor", "Business managers, head teachers and IT administrators must use two-step sign-in", input.require_two_factor, Some("Recommended: these accounts can see everyone's records. They set up an authenticator app at their next sign-in.")))
                    (super::checkbox("managers_manage_managers", "Business managers may manage other business managers' accounts", input.managers_manage_managers, Some("Off: only an IT administrator adds, edits, resets or deactivates a business manager's account. Head teachers' and administrators' accounts are always looked after by an IT administrator alone.")))
                    @if deployment.is_some() {
                        (Field::text("keep_leavers_months", "Keep people who have left for this many months", &input.keep_leavers_months).kind("number").required().hint("After this long, the names and contact details of deactivated people are anonymised; devices' histories keep their shape. 0 keeps them.").render(invalid))
                    }
                    (Field::text("token_lifetime_days", "A new API token works for this many days", &input.token_lifetime_days).kind("number").required().hint("From 1 to 365. After this, a script using the token is refused and its owner makes a new one on their account page. Tokens already made keep their expiry.").render(invalid))
                }
                @if deployment.is_none() {
                    fieldset #shared {
                        legend { "Shared by every school of the trust" }
                        p { "The trust's IT administrator sets these for every school:" }
                        ul {
                            li { "People who have left are kept for " (input.keep_leavers_months) " months before their details are anonymised." }
                            li { "Daily backups kept: " (input.backups_kept) "." }
                            li {
                                @if input.password_sign_in_admins_only { "Only IT administrators sign in with a password; everyone else with their school account." }
                                @else { "Everyone may sign in with a password." }
                            }
                        }
                    }
                }
                @if deployment.is_some() {
                fieldset #provider {
                    legend { "Signing in with the school's Google or Microsoft account" }
                    p.hint { "These apply once the server is set up for it (see the operator guide: --oidc-issuer and the settings beside it)." }
                    (super::checkbox("password_sign_in_admins_only", "Only IT administrators may sign in with a password", input.password_sign_in_admins_only, Some("Everyone else signs in with their school account. IT administrators keep their password as a way in when the provider is down.")))
                    (super::checkbox("provider_creates_borrowers", "Create a borrower's account at first sign-in", input.provider_creates_borrowers, Some("Off: someone Kitroom does not know is told to ask the business manager to add them. On: anyone with a verified address in the school's domains gets a borrower's account.")))
                    (super::checkbox("provider_counts_as_two_step", "A sign-in with the school's account counts as two-step sign-in", input.provider_counts_as_two_step, Some("Off: Kitroom asks business managers, head teachers and IT administrators for its own code, unless the provider says they used a second factor. Turn on only if the provider requires a second factor of everyone.")))
                    (Field::text("provider_name", "The provider's name on the sign-in button", &input.provider_name).hint("Only for a provider other than Google or Microsoft, such as “the school's account”. Empty: its address.").render(invalid))
                }
                @if ctx.may(kitroom_core::person::Permission::ViewTrust) {
                    fieldset #trust {
                        legend { "Every school of the trust" }
                        (super::checkbox("one_policy_for_trust", "One acceptable-use policy for every school", input.one_policy_for_trust, Some("On: the trust's newest version is in force at every school, and only the trust's own staff publish new versions. A school keeps its own version until the trust publishes one. Off: each school publishes its own.")))
                    }
                }
                (Field::text("backups_kept", "Daily backups to keep", &input.backups_kept).kind("number").required().hint("Kitroom copies its database once a day into the backups folder and keeps this many; 0 turns automatic backups off. Copy that folder to another machine too.").render(invalid))
                }
                button.primary type="submit" { "Save settings" }
            }
            @if let Some(backups) = deployment { (backups_section(backups)) }
        },
    )
}

/// Partial: the automatic backups on disk and how the last one went.
fn backups_section(backups: &Backups) -> Markup {
    html! {
            h2 #backups { "Automatic backups" }
            @match &backups.status {
                Some(BackupStatus::Failed { at, reason }) => {
                    div.error-summary role="alert" {
                        p { strong { "The last automatic backup failed" } " (" (kitroom_core::time::school_time(*at)) "): " (reason) "." }
                        p { "Kitroom tries again within the hour. The server's log has the details." }
                    }
                }
                Some(BackupStatus::Written { at, .. }) => {
                    p { "The last automatic backup was written and checked at " (kitroom_core::time::school_time(*at)) "." }
                }
                None => {}
            }
            @if backups.files.is_empty() {
                p.muted { "No automatic backup yet. The first is taken within a few minutes of Kitroom starting, then once a day, in " code { (backups.folder) } "." }
            } @else {
                p { "In " code { (backups.folder) } ", newest first:" }
                ul {
                    @for b in &backups.files {
                        li { code { (b.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()) } " — " (kitroom_core::time::school_time(b.taken_at)) ", " (format!("{:.1} MB", b.bytes as f64 / 1_048_576.0)) }
                    }
                }
            }
    }
}

/// Partial: emails Kitroom gave up on, with the mail server's last answer, on an
/// admin's desk until dismissed.
pub fn undelivered(ctx: &Ctx, items: &[kitroom_store::outbox::UndeliveredEmail]) -> Markup {
    html! {
        @if !items.is_empty() {
            section.warning.undelivered {
                h2 { "Email not delivered" }
                p {
                    "Kitroom kept trying these emails for about two days, or the mail server refused them for good, and has stopped. "
                    "Check the mail server settings (KITROOM_SMTP_URL) and each address; tell the people concerned another way if it matters."
                }
                ul {
                    @for e in items {
                        li {
                            strong { (e.subject) } " to " (e.to_address)
                            " (gave up " (crate::time::when_text(&e.failed_at)) ", after " (e.attempts) " " (if e.attempts == 1 { "try" } else { "tries" }) ")"
                            br;
                            "Last error: " (e.last_error.as_deref().unwrap_or("none recorded"))
                            form.inline method="post" action={ "/outbox/" (e.id) "/dismiss" } {
                                (csrf(&ctx.csrf))
                                button.link type="submit" { "Dismiss" }
                            }
                        }
                    }
                }
            }
        }
    }
}
