//! One-time links sent by email (issue 16): an invitation to choose a first password,
//! or a forgotten password's reset. The rules, pure: how long each works, whether a
//! link still works, how a token is kept (its SHA-256 only), and how often a reset
//! may be emailed to one account or asked for from one address.
//!
//! The token itself is 32 random bytes made by the application layer; only
//! [`token_hash`] of it is stored, so a copy of the database hands out no live link.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use crate::throttle::{Failures, Scope};

/// An invitation works for a week.
pub const INVITE_LIFETIME: Duration = Duration::days(7);
/// A reset link works for an hour.
pub const RESET_LIFETIME: Duration = Duration::hours(1);

/// Reset emails sent to one account in an hour ([`crate::throttle::ACCOUNT_WINDOW`]).
pub const RESETS_PER_ACCOUNT: u32 = 3;
/// Reset requests taken from one address in a quarter of an hour
/// ([`crate::throttle::ADDRESS_WINDOW`]), whether or not an account matched.
pub const RESETS_PER_ADDRESS: u32 = 10;

/// What a link is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// Choose a first password (a manager sent it, or `kitroom user invite`).
    Invite,
    /// Choose a new password (the person asked for it).
    Reset,
}

impl Purpose {
    /// The word the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::Invite => "invite",
            Purpose::Reset => "reset",
        }
    }

    pub fn parse(s: &str) -> Option<Purpose> {
        match s {
            "invite" => Some(Purpose::Invite),
            "reset" => Some(Purpose::Reset),
            _ => None,
        }
    }

    pub fn lifetime(self) -> Duration {
        match self {
            Purpose::Invite => INVITE_LIFETIME,
            Purpose::Reset => RESET_LIFETIME,
        }
    }

    /// The page the link opens: `/welcome/<token>` or `/reset/<token>`.
    pub fn path(self, token: &str) -> String {
        match self {
            Purpose::Invite => format!("/welcome/{token}"),
            Purpose::Reset => format!("/reset/{token}"),
        }
    }
}

/// How a one-time link's token is stored and looked up: its SHA-256, as hex. Tokens
/// are random, so no salt is needed.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// Why a link no longer works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkProblem {
    /// No such link (mistyped, cut short, or for the other purpose).
    Unknown,
    /// Used already, or replaced by a newer link.
    Used,
    /// Past its lifetime.
    Expired,
}

/// What is known of a stored link.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkState {
    pub purpose: Purpose,
    pub expires_at: DateTime<Utc>,
    pub used: bool,
}

/// Whether a link opened as `purpose` works at `now`.
pub fn check(
    link: Option<LinkState>,
    purpose: Purpose,
    now: DateTime<Utc>,
) -> Result<(), LinkProblem> {
    match link {
        None => Err(LinkProblem::Unknown),
        Some(l) if l.purpose != purpose => Err(LinkProblem::Unknown),
        Some(l) if l.used => Err(LinkProblem::Used),
        Some(l) if now >= l.expires_at => Err(LinkProblem::Expired),
        Some(_) => Ok(()),
    }
}

/// Why a reset request sends nothing (the asker is told the same either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResetRefusal {
    /// Too many requests from this address lately.
    Address,
    /// Enough reset emails went to this account this hour.
    Account,
}

/// Whether a reset request may be taken, given the recent requests from its address
/// and (when an account matched) to that account, counted as the sign-in throttle
/// counts failures ([`crate::throttle::after_failure`]).
pub fn may_send_reset(
    address: Option<Failures>,
    account: Option<Failures>,
    now: DateTime<Utc>,
) -> Result<(), ResetRefusal> {
    let count = |f: Option<Failures>, scope: Scope| {
        f.filter(|f| now < f.forget_at(scope))
            .map_or(0, |f| f.count)
    };
    if count(address, Scope::Address) >= RESETS_PER_ADDRESS {
        return Err(ResetRefusal::Address);
    }
    if count(account, Scope::Account) >= RESETS_PER_ACCOUNT {
        return Err(ResetRefusal::Account);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::throttle::after_failure;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-12-07T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn a_link_works_once_within_its_lifetime_and_only_for_its_purpose() {
        let l = LinkState {
            purpose: Purpose::Reset,
            expires_at: t0() + RESET_LIFETIME,
            used: false,
        };
        assert_eq!(check(Some(l), Purpose::Reset, t0()), Ok(()));
        assert_eq!(
            check(Some(l), Purpose::Invite, t0()),
            Err(LinkProblem::Unknown)
        );
        assert_eq!(
            check(Some(l), Purpose::Reset, t0() + RESET_LIFETIME),
            Err(LinkProblem::Expired)
        );
        let used = LinkState { used: true, ..l };
        assert_eq!(
            check(Some(used), Purpose::Reset, t0()),
            Err(LinkProblem::Used)
        );
        assert_eq!(check(None, Purpose::Reset, t0()), Err(LinkProblem::Unknown));
        assert_eq!(INVITE_LIFETIME, Duration::days(7));
    }

    #[test]
    fn resets_are_bounded_per_account_and_per_address() {
        let mut account = None;
        let mut address = None;
        for i in 0..RESETS_PER_ACCOUNT {
            let now = t0() + Duration::seconds(i.into());
            assert_eq!(may_send_reset(address, account, now), Ok(()));
            account = Some(after_failure(Scope::Account, account, now));
            address = Some(after_failure(Scope::Address, address, now));
        }
        assert_eq!(
            may_send_reset(address, account, t0() + Duration::minutes(1)),
            Err(ResetRefusal::Account)
        );
        // an hour later the account may be sent one again
        assert_eq!(
            may_send_reset(None, account, t0() + Duration::hours(1)),
            Ok(())
        );
        let busy = Failures {
            count: RESETS_PER_ADDRESS,
            since: t0(),
            last: t0(),
        };
        assert_eq!(
            may_send_reset(Some(busy), None, t0()),
            Err(ResetRefusal::Address)
        );
        assert_eq!(token_hash("abc").len(), 64);
    }
}
