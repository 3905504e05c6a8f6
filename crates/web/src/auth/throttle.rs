//! Sign-in is throttled per account and per address: the decisions rest on the counts
//! of failures in the database ([`kitroom_core::throttle`]); refusals are gathered here
//! in memory and written down once a stretch ends.

use std::collections::HashMap;

use chrono::Utc;
use kitroom_core::throttle::{cut, wait_words, Refusal, USERNAME_MAX};
use kitroom_store::throttle::Refusals;

use crate::AppState;

/// any that could be right is gathered before it is written down.
pub(super) const TOO_LONG_STRETCH: chrono::Duration = chrono::Duration::minutes(1);

/// The most stretches of refused attempts gathered at once; beyond it, attempts are
/// only counted (and that count logged).
const GATHERED_MAX: usize = 1_000;

/// Attempts refused without being checked, gathered in memory by what was refused,
/// the username typed (cut) and the address, until their stretch of time ends; then
/// each stretch becomes one event with its number of attempts
/// ([`AppState::write_sign_in_refusals`]) and one line in the server's log. The
/// throttle's decisions themselves rest on the counts of failures in the database
/// ([`kitroom_core::throttle`]); this only spares the disk one event per refusal.
#[derive(Debug, Default)]
pub struct Throttle {
    gathering: HashMap<(&'static str, String, String), Gathered>,
    ended: Vec<Refusals>,
    /// Refusals not gathered because too many stretches were open.
    uncounted: u64,
}

/// Over-long input, gathered by address alone (a sample of what was typed is kept).
pub(super) const TOO_LONG: &str = "person.sign_in_too_long";

#[derive(Debug, Clone)]
struct Gathered {
    /// The first username typed in the stretch, cut.
    sample: String,
    attempts: u64,
    from: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
}

impl Throttle {
    /// Counts one refused attempt, whose refusal lasts `until`. True when it is the
    /// first of its stretch, so the caller logs one line for the stretch.
    pub(crate) fn refused(
        &mut self,
        action: &'static str,
        username: &str,
        address: &str,
        now: chrono::DateTime<Utc>,
        until: chrono::DateTime<Utc>,
    ) -> bool {
        let sample = cut(username, USERNAME_MAX);
        let keyed = if action == TOO_LONG {
            String::new()
        } else {
            sample.clone()
        };
        let key = (action, keyed, address.to_owned());
        if let Some(g) = self.gathering.get_mut(&key) {
            if g.until > now {
                g.attempts += 1;
                g.until = g.until.max(until);
                return false;
            }
            if let Some(g) = self.gathering.remove(&key) {
                self.end(&key, g);
            }
        }
        if self.gathering.len() >= GATHERED_MAX {
            self.uncounted += 1;
            return self.uncounted == 1;
        }
        self.gathering.insert(
            key,
            Gathered {
                sample,
                attempts: 1,
                from: now,
                until,
            },
        );
        true
    }

    fn end(&mut self, key: &(&'static str, String, String), g: Gathered) {
        if self.ended.len() >= GATHERED_MAX {
            self.uncounted += g.attempts;
            return;
        }
        self.ended.push(Refusals {
            action: key.0,
            username: g.sample,
            address: key.2.clone(),
            attempts: g.attempts,
            from: g.from,
            until: g.until,
        });
    }

    /// The stretches that have ended by `now`, and the attempts refused uncounted.
    fn take_ended(&mut self, now: chrono::DateTime<Utc>) -> (Vec<Refusals>, u64) {
        let done: Vec<_> = self
            .gathering
            .iter()
            .filter(|(_, g)| g.until <= now)
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect();
        for (key, g) in done {
            self.gathering.remove(&key);
            self.end(&key, g);
        }
        (
            std::mem::take(&mut self.ended),
            std::mem::take(&mut self.uncounted),
        )
    }
}

impl AppState {
    pub(super) fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.inner
            .throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a refused attempt ([`Throttle::refused`]).
    pub(crate) fn throttle_refused(
        &self,
        action: &'static str,
        username: &str,
        address: &str,
        now: chrono::DateTime<Utc>,
        until: chrono::DateTime<Utc>,
    ) -> bool {
        self.throttle()
            .refused(action, username, address, now, until)
    }

    /// Writes each stretch of refused sign-ins that has ended by `now` as one event
    /// with its number of attempts. The server does this once a tick; returns how
    /// many events it wrote.
    pub async fn write_sign_in_refusals(
        &self,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, kitroom_store::StoreError> {
        let (ended, uncounted) = self.throttle().take_ended(now);
        if uncounted > 0 {
            tracing::warn!(
                attempts = uncounted,
                "sign-ins refused while too many others were being counted"
            );
        }
        let written = ended.len();
        for r in ended {
            tracing::info!(
                action = r.action,
                username = r.username,
                address = r.address,
                attempts = r.attempts,
                "sign-ins refused without being checked"
            );
            self.store().record_sign_in_refusals(r).await?;
        }
        Ok(written)
    }
}

/// What a person refused by the throttle is told, for the password and the code
/// alike.
pub(crate) fn wait_message(why: Refusal, wait: chrono::Duration) -> String {
    match why {
        Refusal::Pair => format!(
            "Too many failed sign-ins to this account from here. For your security, wait {} and try again. If you have forgotten your password, use “Forgotten your password?” below to choose a new one.",
            wait_words(wait)
        ),
        Refusal::Account => format!(
            "This account has had too many failed sign-ins in the last hour, from more than one place. For the next {}, it can sign in only where it has signed in lately, such as at school. Tell the IT administrator: someone may be trying to guess its password.",
            wait_words(wait)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thousand_over_long_sign_ins_from_one_address_become_one_cut_entry() {
        let t0 = Utc::now();
        let mut t = Throttle::default();
        let huge = "b".repeat(100_000);
        for i in 0..1000 {
            let typed = format!("u{i}{huge}");
            let now = t0 + chrono::Duration::milliseconds(i);
            let first = t.refused(TOO_LONG, &typed, "192.0.2.1", now, now + TOO_LONG_STRETCH);
            assert_eq!(first, i == 0);
        }
        assert!(
            t.take_ended(t0).0.is_empty(),
            "nothing until the minute ends"
        );
        let (ended, uncounted) = t.take_ended(t0 + chrono::Duration::hours(1));
        assert_eq!(uncounted, 0);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].attempts, 1000);
        assert_eq!(ended[0].username.chars().count(), USERNAME_MAX + 1);
        assert!(ended[0].username.starts_with("u0bbb"));
    }

    #[test]
    fn refusals_gathered_at_once_are_bounded() {
        let now = Utc::now();
        let mut t = Throttle::default();
        for i in 0..(GATHERED_MAX + 500) {
            t.refused(
                "person.sign_in_throttled",
                &format!("user{i}"),
                "192.0.2.1",
                now,
                now + chrono::Duration::minutes(1),
            );
        }
        assert_eq!(t.gathering.len(), GATHERED_MAX);
        let (ended, uncounted) = t.take_ended(now + chrono::Duration::hours(1));
        assert_eq!(ended.len(), GATHERED_MAX);
        assert_eq!(uncounted, 500);
    }
}
