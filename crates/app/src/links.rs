//! One-time links by email (issue 16): an invitation to choose a first password, and
//! a forgotten password's reset. Each link is 32 random bytes; only their SHA-256 is
//! stored ([`kitroom_core::one_time::token_hash`]); it works once, within its
//! lifetime, and is marked used in the same transaction that sets the password.
//!
//! Links in email are made from the configured public address only
//! ([`App::link_base`]), never from a request.

use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, Utc};
use kitroom_core::one_time::{
    check, may_send_reset, token_hash, LinkProblem, Purpose, ResetRefusal, INVITE_LIFETIME,
    RESET_LIFETIME,
};
use kitroom_core::person::AccountChange;
use kitroom_core::Invalid;
use kitroom_store::events::append;
use kitroom_store::links;
use kitroom_store::people::{self, Person};
use kitroom_store::settings::settings_in;
use kitroom_store::{Actor, Conn};
use serde::Deserialize;
use serde_json::json;

use crate::accounts::{account_in, allow, check_password, require};
use crate::{App, Error, Refusal};

/// A new token: 32 random bytes from the operating system, as hex.
fn new_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// An invitation made.
#[derive(Debug, Clone)]
pub struct Invited {
    pub person: Person,
    /// The whole link, for the command line to print when email is off.
    pub link: String,
    /// Whether an email was queued.
    pub emailed: bool,
}

fn no_public_address() -> Error {
    Refusal::conflict(
        "no-public-address",
        "Emails with a link need Kitroom's public address, and none is set. Ask the IT administrator to set KITROOM_PUBLIC_URL (or --public-url).",
    )
    .into()
}

/// A manager or admin sends `username` an invitation to choose their password (or
/// sends it again: the earlier link stops working). Who may do it is the rule for
/// resetting that person's password.
pub async fn invite(app: &App, caller: &Person, username: &str) -> Result<Invited, Error> {
    require(caller)?;
    let base = app.link_base().cloned();
    let caller = caller.clone();
    let username = username.to_owned();
    let out = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let p = account_in(conn, caller.school, &username).await?;
                allow(conn, &caller, &p, AccountChange::ResetPassword).await?;
                let base = base.ok_or_else(no_public_address)?;
                let from = caller.full_name.clone();
                issue_invite_in(
                    conn,
                    &caller.actor(),
                    &from,
                    p,
                    base.as_str(),
                    true,
                    Utc::now(),
                )
                .await
            })
        })
        .await?;
    app.wake_mailer();
    Ok(out)
}

/// Invitations sent to everyone new at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct InvitedAll {
    pub sent: usize,
    /// New people the caller may not invite (a manager and an admin's account).
    pub left: usize,
}

/// Sends an invitation to every active person with an email address and no password
/// who was never sent one (after an import, say): those the caller may reset the
/// password of, in one transaction.
pub async fn invite_everyone_new(app: &App, caller: &Person) -> Result<InvitedAll, Error> {
    require(caller)?;
    let base = app.link_base().cloned().ok_or_else(no_public_address)?;
    let caller = caller.clone();
    let out = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let mut out = InvitedAll { sent: 0, left: 0 };
                for p in links::never_invited_in(conn, caller.school).await? {
                    if allow(conn, &caller, &p, AccountChange::ResetPassword)
                        .await
                        .is_err()
                    {
                        out.left += 1;
                        continue;
                    }
                    let from = caller.full_name.clone();
                    issue_invite_in(conn, &caller.actor(), &from, p, base.as_str(), true, now)
                        .await?;
                    out.sent += 1;
                }
                Ok::<_, Error>(out)
            })
        })
        .await?;
    app.wake_mailer();
    Ok(out)
}

/// `kitroom user invite`: an invitation for `username` from the command line, its
/// link starting with `base`; emailed when `email` is on, otherwise only returned
/// for printing.
pub async fn invite_at_command_line(
    app: &App,
    username: &str,
    base: &str,
    email: bool,
) -> Result<Invited, Error> {
    let username = username.to_owned();
    let base = base.trim_end_matches('/').to_owned();
    let out = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let p = people::account_by_username_in(conn, &username)
                    .await?
                    .ok_or_else(|| Refusal::not_found("That person"))?;
                issue_invite_in(
                    conn,
                    &Actor::system(),
                    "The IT administrator",
                    p,
                    &base,
                    email,
                    Utc::now(),
                )
                .await
            })
        })
        .await?;
    if out.emailed {
        app.wake_mailer();
    }
    Ok(out)
}

async fn issue_invite_in(
    conn: &mut Conn,
    actor: &Actor,
    from: &str,
    p: Person,
    base: &str,
    send_email: bool,
    now: DateTime<Utc>,
) -> Result<Invited, Error> {
    let name = p.full_name.clone();
    if !p.active {
        return Err(Refusal::conflict(
            "deactivated",
            format!("{name}'s account is deactivated: reactivate it before inviting them."),
        )
        .into());
    }
    if p.password_hash.is_some() {
        return Err(Refusal::conflict(
            "has-password",
            format!("{name} already has a password, so there is nothing to accept. If they have forgotten it, they can use “Forgotten your password?” on the sign-in page."),
        )
        .into());
    }
    let address = p.email.clone().filter(|e| !e.trim().is_empty());
    if send_email && address.is_none() {
        return Err(Refusal::conflict(
            "no-email",
            format!("Kitroom has no email address for {name}. Add one on their page first: the invitation is sent there."),
        )
        .into());
    }
    let token = new_token();
    let expires = now + INVITE_LIFETIME;
    links::insert_link_in(
        conn,
        &token_hash(&token),
        Purpose::Invite,
        p.id,
        &actor.username,
        now,
        expires,
    )
    .await?;
    let link = format!("{base}{}", Purpose::Invite.path(&token));
    let school = settings_in(conn, p.school).await?.school_name;
    let emailed = match (&address, send_email) {
        (Some(to), true) => {
            let subject = format!("Kitroom: {from} invited you to {school}'s device register");
            let body = format!(
                "Hello {full},\n\n{from} has invited you to Kitroom, {school}'s device register, where staff borrow and look after the school's devices.\n\nYour username is {user}. To choose your password and sign in, open this link within 7 days:\n\n{link}\n\nThe link works once. If it has run out, ask {from} to send it again.\n\nThis message was sent by Kitroom, the school's device register.",
                full = p.full_name,
                user = p.username,
            );
            links::queue_link_email_in(conn, to, &subject, &body, now).await?;
            true
        }
        _ => false,
    };
    append(
        conn,
        actor,
        "person.invited",
        &p.subject(),
        json!({"email": address, "emailed": emailed, "expires_at": expires}),
        now,
    )
    .await?;
    Ok(Invited {
        person: p,
        link,
        emailed,
    })
}

/// What became of a request for a reset link. The person who asked is told the same
/// whatever it is: these are for the logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetAsked {
    /// A link was emailed to the matching account.
    Sent,
    /// No active account with an email address matched.
    NoMatch,
    /// Too many requests lately: nothing sent.
    Throttled(ResetRefusal),
    /// An account matched, but no public address is set for the link.
    NoPublicAddress,
}

/// Someone who forgot their password typed `typed` (a username or an email
/// address, already bounded) from `address`: when an active account with an email
/// address matches, and neither the address nor the account has asked too often, a
/// reset link goes to its email address.
pub async fn ask_for_reset(app: &App, typed: &str, address: &str) -> Result<ResetAsked, Error> {
    let base = app.link_base().cloned();
    let typed = typed.trim().to_owned();
    let address = address.to_owned();
    let out = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let p = links::person_for_reset_in(conn, &typed)
                    .await?
                    .filter(|p| p.email.as_ref().is_some_and(|e| !e.trim().is_empty()));
                let id = p.as_ref().map(|p| p.id);
                let (from_here, to_them) = links::reset_counts_in(conn, &address, id).await?;
                if let Err(why) = may_send_reset(from_here, to_them, now) {
                    return Ok::<_, Error>(ResetAsked::Throttled(why));
                }
                links::count_reset_in(conn, &address, id, now).await?;
                let (Some(p), Some(base)) = (p, base) else {
                    return Ok(if id.is_some() {
                        ResetAsked::NoPublicAddress
                    } else {
                        ResetAsked::NoMatch
                    });
                };
                let token = new_token();
                links::insert_link_in(
                    conn,
                    &token_hash(&token),
                    Purpose::Reset,
                    p.id,
                    "",
                    now,
                    now + RESET_LIFETIME,
                )
                .await?;
                let link = base.link(&Purpose::Reset.path(&token));
                let school = settings_in(conn, p.school).await?.school_name;
                let body = format!(
                    "Hello {full},\n\nSomeone, we hope you, asked to reset the Kitroom password of the account {user} at {school}. To choose a new password, open this link within an hour:\n\n{link}\n\nThe link works once. Choosing a new password signs you out everywhere and stops your API tokens.\n\nIf you did not ask, you can ignore this email: your password has not changed.\n\nThis message was sent by Kitroom, the school's device register.",
                    full = p.full_name,
                    user = p.username,
                );
                let to = p.email.clone().unwrap_or_default();
                links::queue_link_email_in(conn, &to, "Kitroom: choose a new password", &body, now)
                    .await?;
                append(
                    conn,
                    &p.actor(),
                    "person.reset_requested",
                    &p.subject(),
                    json!({"address": address}),
                    now,
                )
                .await?;
                Ok(ResetAsked::Sent)
            })
        })
        .await?;
    if out == ResetAsked::Sent {
        app.wake_mailer();
    }
    Ok(out)
}

fn link_refusal(problem: LinkProblem) -> Error {
    match problem {
        LinkProblem::Unknown => Refusal::new(
            crate::Kind::NotFound,
            "link-unknown",
            "This link does not work. Check that you opened the whole link from the email.",
        ),
        LinkProblem::Used => Refusal::conflict(
            "link-used",
            "This link has already been used: each link works only once.",
        ),
        LinkProblem::Expired => Refusal::conflict(
            "link-expired",
            "This link has run out: an invitation works for 7 days, a password reset link for an hour.",
        ),
    }
    .into()
}

fn deactivated() -> Error {
    Refusal::conflict(
        "deactivated",
        "This account has been deactivated. If you still need Kitroom, ask the business manager.",
    )
    .into()
}

/// The person a link is for, when it still works.
pub async fn open_link(app: &App, purpose: Purpose, token: &str) -> Result<Person, Error> {
    let link = app.store().link(&token_hash(token)).await?;
    check(link.as_ref().map(|l| l.state()), purpose, Utc::now()).map_err(link_refusal)?;
    let id = link.map(|l| l.person_id).unwrap_or_default();
    let p = app
        .store()
        .account_by_id(id)
        .await?
        .ok_or_else(|| link_refusal(LinkProblem::Unknown))?;
    if !p.active {
        return Err(deactivated());
    }
    Ok(p)
}

/// A password chosen at a link's page, typed twice.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ChoosePasswordInput {
    pub password: String,
    pub confirm: String,
}

/// Sets the password chosen at a link's page and uses the link up, in one
/// transaction: every session and API token of the person ends (as for any new
/// password), their other links stop working, and the activity log says how the
/// password was set.
pub async fn choose_password(
    app: &App,
    purpose: Purpose,
    token: &str,
    input: ChoosePasswordInput,
) -> Result<Person, Error> {
    let p = open_link(app, purpose, token).await?;
    let mut invalid = Invalid::new();
    let checked =
        check_password(app, p.school, &input.password, (&p.username, &p.full_name)).await?;
    let password = invalid.check("password", checked);
    if password.is_some() && input.password != input.confirm {
        invalid.add("confirm", "The two passwords are not the same.");
    }
    let Some(password) = password.filter(|_| invalid.is_empty()) else {
        return Err(invalid.into());
    };
    let hash = crate::password::hash(password).await?;
    let token_hash = token_hash(token);
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let link = links::link_in(conn, &token_hash).await?;
                check(link.as_ref().map(|l| l.state()), purpose, now).map_err(link_refusal)?;
                let id = link.map(|l| l.person_id).unwrap_or_default();
                let p = people::get_account(conn, id).await?;
                if !p.active {
                    return Err(deactivated());
                }
                if !links::mark_used_in(conn, &token_hash, now).await? {
                    return Err(link_refusal(LinkProblem::Used));
                }
                // ends every session and token, and voids the person's other links
                people::set_password_in(conn, &p.actor(), p.id, &hash, None, now).await?;
                let action = match purpose {
                    Purpose::Invite => "person.invitation_accepted",
                    Purpose::Reset => "person.password_reset_by_email",
                };
                append(conn, &p.actor(), action, &p.subject(), json!({}), now).await?;
                Ok::<_, Error>(p)
            })
        })
        .await
}
