//! Slowing down password guessing without handing anyone a lever against the staff
//! (NIST SP 800-63B 5.2.2, OWASP ASVS 2.2.1). Three counts of failed sign-ins (a
//! wrong password or a wrong second-step code), kept by the store:
//!
//! - **the account from one address** ([`Scope::Pair`]): the first
//!   [`PAIR_FREE`] failures cost nothing; after that each failure makes the next try
//!   of that account from that address wait, doubling from a minute up to
//!   [`PAIR_WAIT_MAX`]. A right answer from the pair clears it; an hour without a
//!   failure forgets it. A pupil guessing the head's password from one address never
//!   delays the head at another.
//! - **the account from anywhere** ([`Scope::Account`]): at most
//!   [`ACCOUNT_CEILING`] failures in an hour's window, after which the account is
//!   refused until the window ends from every address but its *known places*: the
//!   [`KNOWN_PLACES`] addresses it last signed in from in full (password and, where
//!   set up, the second step) within [`KNOWN_FOR`]. So a botnet guessing the head's
//!   password cannot keep the head out of Kitroom at school or at home, and one
//!   address alone cannot reach the ceiling (the pair's waits allow about a dozen an
//!   hour). Windows do not overlap: in any hour, at most two windows' worth from
//!   elsewhere plus the pair's dozen from each known place, within NIST's 100.
//! - **the address** ([`Scope::Address`]): past [`ADDRESS_FREE`] failures in a
//!   quarter of an hour, every sign-in from it waits a few seconds before its
//!   password is checked, and is then checked as usual. It slows a guesser trying one
//!   password on many accounts, and never locks out a school whose staff all share
//!   one public address.
//!
//! The rules are pure: the caller passes the counts and `now`.

use chrono::{DateTime, Duration, Utc};

/// The longest username Kitroom accepts (in characters); a longer one is refused
/// before any work is done.
pub const USERNAME_MAX: usize = 40;
/// The longest password that can be right (in characters).
pub const PASSWORD_MAX: usize = crate::person::PASSWORD_MAX;
/// The longest second-step code that can be right: a 6-digit code or a recovery
/// code (20 letters and digits in groups), with room for spaces.
pub const CODE_MAX: usize = 40;

/// Failures of one account from one address that cost no wait.
pub const PAIR_FREE: u32 = 5;
/// The first wait after [`PAIR_FREE`] failures; it doubles with each further one.
pub const PAIR_WAIT_FIRST: Duration = Duration::minutes(1);
/// The longest wait for one account from one address.
pub const PAIR_WAIT_MAX: Duration = Duration::minutes(15);
/// A pair's failures are forgotten this long after the last one.
pub const PAIR_FORGET: Duration = Duration::hours(1);

/// Failures of one account, from anywhere, allowed in one [`ACCOUNT_WINDOW`].
pub const ACCOUNT_CEILING: u32 = 30;
pub const ACCOUNT_WINDOW: Duration = Duration::hours(1);
/// How many of an account's latest full sign-in addresses stay open to it when the
/// ceiling is reached, and for how long after the last sign-in from each.
pub const KNOWN_PLACES: u32 = 3;
pub const KNOWN_FOR: Duration = Duration::days(30);
/// The most failures the pair's waits let through in any hour (the test
/// `a_guesser_with_many_addresses_gets_no_more_than_a_hundred_tries_an_hour` checks it).
pub const PAIR_MOST_PER_HOUR: u32 = 12;
// Two windows can meet inside one hour; with the known places' own tries, together
// they stay within NIST's 100.
const _: () = assert!(2 * ACCOUNT_CEILING + KNOWN_PLACES * PAIR_MOST_PER_HOUR <= 100);

/// Failures from one address in one [`ADDRESS_WINDOW`] before its sign-ins are
/// slowed.
pub const ADDRESS_FREE: u32 = 30;
pub const ADDRESS_WINDOW: Duration = Duration::minutes(15);
/// The wait added per [`ADDRESS_FREE`] failures over the limit, and its most.
pub const ADDRESS_WAIT_STEP: Duration = Duration::seconds(1);
pub const ADDRESS_WAIT_MAX: Duration = Duration::seconds(5);

/// What a count is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One account from one address.
    Pair,
    /// One account from anywhere.
    Account,
    /// One address, whatever the account.
    Address,
}

impl Scope {
    pub const ALL: [Scope; 3] = [Scope::Pair, Scope::Account, Scope::Address];

    /// The word the store keeps.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Pair => "pair",
            Scope::Account => "account",
            Scope::Address => "address",
        }
    }
}

/// Recent failures of one pair, account or address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    /// How many, since `since`.
    pub count: u32,
    /// When the count began (the window's start for an account or address).
    pub since: DateTime<Utc>,
    /// The latest failure.
    pub last: DateTime<Utc>,
}

impl Failures {
    /// When these failures stop mattering, so the store may drop them.
    pub fn forget_at(&self, scope: Scope) -> DateTime<Utc> {
        match scope {
            Scope::Pair => self.last + PAIR_FORGET,
            Scope::Account => self.since + ACCOUNT_WINDOW,
            Scope::Address => self.since + ADDRESS_WINDOW,
        }
    }

    /// Still counting at `now`?
    fn live(&self, scope: Scope, now: DateTime<Utc>) -> bool {
        now < self.forget_at(scope)
    }
}

/// The count after one more failure at `now`.
pub fn after_failure(scope: Scope, before: Option<Failures>, now: DateTime<Utc>) -> Failures {
    match before.filter(|f| f.live(scope, now)) {
        Some(f) => Failures {
            count: f.count.saturating_add(1),
            since: f.since,
            last: now.max(f.last),
        },
        None => Failures {
            count: 1,
            since: now,
            last: now,
        },
    }
}

/// The recent failures that bear on one sign-in attempt.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counts {
    pub pair: Option<Failures>,
    pub account: Option<Failures>,
    pub address: Option<Failures>,
    /// The account signed in in full from this address lately: one of its
    /// [`KNOWN_PLACES`] within [`KNOWN_FOR`]. The account's ceiling does not stop it.
    pub known_place: bool,
}

/// Why an attempt must wait.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too many failures of this account from this address.
    Pair,
    /// Too many failures of this account from everywhere this hour.
    Account,
}

/// What to do with a sign-in attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Check the answer, after holding it for `delay` (zero unless its address is
    /// busy failing).
    Check { delay: Duration },
    /// Refuse without checking, until `until`.
    Wait { until: DateTime<Utc>, why: Refusal },
}

/// How long one account from one address must wait after its last failure.
pub fn pair_wait(failures: u32) -> Duration {
    if failures < PAIR_FREE {
        return Duration::zero();
    }
    let doublings = (failures - PAIR_FREE).min(16);
    (PAIR_WAIT_FIRST * 2i32.pow(doublings)).min(PAIR_WAIT_MAX)
}

/// How long a sign-in from an address with this many recent failures is held.
pub fn address_delay(failures: u32) -> Duration {
    if failures < ADDRESS_FREE {
        return Duration::zero();
    }
    let steps = (failures / ADDRESS_FREE) as i32;
    (ADDRESS_WAIT_STEP * steps).min(ADDRESS_WAIT_MAX)
}

/// Whether an attempt may be checked now, and after what delay.
pub fn decide(counts: &Counts, now: DateTime<Utc>) -> Decision {
    let live = |f: Option<Failures>, scope| f.filter(|f: &Failures| f.live(scope, now));
    let pair = live(counts.pair, Scope::Pair).and_then(|f| {
        let until = f.last + pair_wait(f.count);
        (until > now).then_some(until)
    });
    let account = live(counts.account, Scope::Account)
        .filter(|f| f.count >= ACCOUNT_CEILING && !counts.known_place)
        .map(|f| f.forget_at(Scope::Account));
    match (pair, account) {
        (_, Some(until)) if pair.is_none_or(|p| p <= until) => Decision::Wait {
            until,
            why: Refusal::Account,
        },
        (Some(until), _) => Decision::Wait {
            until,
            why: Refusal::Pair,
        },
        _ => Decision::Check {
            delay: live(counts.address, Scope::Address)
                .map_or(Duration::zero(), |f| address_delay(f.count)),
        },
    }
}

/// Words for a wait, rounded up to whole minutes.
pub fn wait_words(wait: Duration) -> String {
    let minutes = ((wait.num_seconds() + 59) / 60).max(1);
    if minutes == 1 {
        "1 minute".into()
    } else {
        format!("{minutes} minutes")
    }
}

/// At most `chars` characters of `s`, with an ellipsis when cut: how a typed
/// username goes into the activity log and the server's log.
pub fn cut(s: &str, chars: usize) -> String {
    let mut out: String = s.chars().take(chars).collect();
    if s.chars().nth(chars).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    /// A guesser's run: attempts once a second for `seconds`, from the addresses in
    /// turn, never right. Returns how many were checked.
    fn guess(
        counts: &mut std::collections::HashMap<(Scope, usize), Failures>,
        addresses: usize,
        seconds: i64,
    ) -> u32 {
        let mut checked = 0;
        for second in 0..seconds {
            let now = t0() + Duration::seconds(second);
            let a = second as usize % addresses;
            let c = Counts {
                pair: counts.get(&(Scope::Pair, a)).copied(),
                account: counts.get(&(Scope::Account, 0)).copied(),
                address: counts.get(&(Scope::Address, a)).copied(),
                known_place: false,
            };
            if let Decision::Check { .. } = decide(&c, now) {
                checked += 1;
                for (scope, key) in [(Scope::Pair, a), (Scope::Account, 0), (Scope::Address, a)] {
                    let before = counts.get(&(scope, key)).copied();
                    counts.insert((scope, key), after_failure(scope, before, now));
                }
            }
        }
        checked
    }

    #[test]
    fn the_sixth_failure_from_one_address_waits_a_minute_then_longer_each_time() {
        let mut f = None;
        for i in 0..5 {
            let now = t0() + Duration::seconds(i);
            let c = Counts {
                pair: f,
                ..Default::default()
            };
            assert_eq!(
                decide(&c, now),
                Decision::Check {
                    delay: Duration::zero()
                }
            );
            f = Some(after_failure(Scope::Pair, f, now));
        }
        let c = Counts {
            pair: f,
            ..Default::default()
        };
        let Decision::Wait { until, why } = decide(&c, t0() + Duration::seconds(5)) else {
            panic!("the sixth try is checked at once");
        };
        assert_eq!(why, Refusal::Pair);
        assert_eq!(until, t0() + Duration::seconds(4) + Duration::minutes(1));
        assert_eq!(pair_wait(6), Duration::minutes(2));
        assert_eq!(pair_wait(7), Duration::minutes(4));
        assert_eq!(pair_wait(40), PAIR_WAIT_MAX);
        assert_eq!(wait_words(until - t0()), "2 minutes");
    }

    #[test]
    fn one_address_gets_a_few_guesses_an_hour_and_cannot_lock_the_account() {
        let mut counts = Default::default();
        let tried = guess(&mut counts, 1, 3600);
        assert!((5..=15).contains(&tried), "{tried} guesses in an hour");
        let account = counts[&(Scope::Account, 0)];
        assert!(account.count < ACCOUNT_CEILING);
    }

    #[test]
    fn a_guesser_with_many_addresses_gets_no_more_than_a_hundred_tries_an_hour() {
        let mut counts = Default::default();
        let first_hour = guess(&mut counts, 1000, 3600);
        assert_eq!(first_hour, ACCOUNT_CEILING);
        // And in any hour: the two halves of two windows.
        let mut counts = Default::default();
        guess(&mut counts, 1000, 1800);
        let window = counts[&(Scope::Account, 0)];
        assert!(window.count <= ACCOUNT_CEILING);
    }

    /// The worst case: a guesser who also guesses from the account's known places
    /// (the school's own address, say), as fast as every rule allows, for three
    /// hours. No hour has more than 100 tries checked.
    #[test]
    fn known_places_and_a_botnet_together_stay_within_a_hundred_an_hour() {
        let mut pairs: std::collections::HashMap<usize, Failures> = Default::default();
        let mut account: Option<Failures> = None;
        let mut checked = Vec::new();
        let mut per_place = vec![0u32; KNOWN_PLACES as usize];
        for second in 0..3 * 3600 {
            let now = t0() + Duration::seconds(second);
            // every known place, and one new address each second
            let places = (0..KNOWN_PLACES as usize).map(|k| (k, true));
            for (a, known) in places.chain([(1000 + second as usize, false)]) {
                let c = Counts {
                    pair: pairs.get(&a).copied(),
                    account,
                    address: None,
                    known_place: known,
                };
                if let Decision::Check { .. } = decide(&c, now) {
                    checked.push(now);
                    if known && second < 3600 {
                        per_place[a] += 1;
                    }
                    pairs.insert(a, after_failure(Scope::Pair, pairs.get(&a).copied(), now));
                    account = Some(after_failure(Scope::Account, account, now));
                }
            }
        }
        for (i, start) in checked.iter().enumerate() {
            let in_hour = checked[i..]
                .iter()
                .take_while(|t| **t < *start + Duration::hours(1))
                .count();
            assert!(in_hour <= 100, "{in_hour} tries in the hour from {start}");
        }
        assert!(
            per_place.iter().all(|n| *n <= PAIR_MOST_PER_HOUR),
            "{per_place:?}"
        );
    }

    #[test]
    fn the_ceiling_does_not_stop_the_account_at_a_place_it_signed_in_from() {
        let account = Failures {
            count: ACCOUNT_CEILING,
            since: t0(),
            last: t0() + Duration::minutes(10),
        };
        let c = Counts {
            account: Some(account),
            known_place: true,
            ..Default::default()
        };
        assert!(matches!(
            decide(&c, t0() + Duration::minutes(20)),
            Decision::Check { .. }
        ));
    }

    #[test]
    fn the_account_ceiling_refuses_every_address_until_its_window_ends() {
        let account = Failures {
            count: ACCOUNT_CEILING,
            since: t0(),
            last: t0() + Duration::minutes(10),
        };
        let c = Counts {
            account: Some(account),
            ..Default::default()
        };
        assert_eq!(
            decide(&c, t0() + Duration::minutes(20)),
            Decision::Wait {
                until: t0() + ACCOUNT_WINDOW,
                why: Refusal::Account
            }
        );
        assert!(matches!(
            decide(&c, t0() + ACCOUNT_WINDOW),
            Decision::Check { .. }
        ));
    }

    #[test]
    fn a_busy_address_is_slowed_by_seconds_never_refused() {
        let address = Failures {
            count: 500,
            since: t0(),
            last: t0(),
        };
        let c = Counts {
            address: Some(address),
            ..Default::default()
        };
        assert_eq!(
            decide(&c, t0()),
            Decision::Check {
                delay: ADDRESS_WAIT_MAX
            }
        );
        assert_eq!(address_delay(29), Duration::zero());
        assert_eq!(address_delay(30), Duration::seconds(1));
        assert_eq!(address_delay(65), Duration::seconds(2));
        // After its quarter of an hour the address starts afresh.
        assert_eq!(
            decide(&c, t0() + ADDRESS_WINDOW),
            Decision::Check {
                delay: Duration::zero()
            }
        );
    }

    #[test]
    fn a_typed_username_is_cut_for_the_logs() {
        assert_eq!(cut("sbm", 40), "sbm");
        assert_eq!(cut(&"a".repeat(1_000_000), 5), "aaaaa…");
    }
}
