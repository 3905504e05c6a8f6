//! Slowing down password guessing: after too many failed sign-ins for one account, or
//! from one network address, within a window, further attempts are refused until the
//! oldest failure leaves the window. A correct password does not bypass the limit.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, Utc};

/// How many failures are allowed in how long.
#[derive(Debug, Clone, Copy)]
pub struct Limit {
    pub failures: usize,
    pub window: Duration,
}

impl Limit {
    /// Per account: five tries in fifteen minutes lets a person who forgot which
    /// password they use try them all, and stops a guesser.
    pub const ACCOUNT: Limit = Limit {
        failures: 5,
        window: Duration::minutes(15),
    };
    /// Per address: a school shares one public address, so this is looser.
    pub const ADDRESS: Limit = Limit {
        failures: 30,
        window: Duration::minutes(15),
    };
}

/// The recent failures of one account or address.
#[derive(Debug, Clone, Default)]
pub struct Failures {
    at: VecDeque<DateTime<Utc>>,
}

impl Failures {
    fn forget_old(&mut self, limit: Limit, now: DateTime<Utc>) {
        while self.at.front().is_some_and(|t| *t <= now - limit.window) {
            self.at.pop_front();
        }
    }

    /// `Ok` when another attempt may be made now; otherwise how long to wait.
    pub fn check(&mut self, limit: Limit, now: DateTime<Utc>) -> Result<(), Duration> {
        self.forget_old(limit, now);
        if self.at.len() >= limit.failures {
            let oldest = self.at[self.at.len() - limit.failures];
            return Err(oldest + limit.window - now);
        }
        Ok(())
    }

    pub fn record(&mut self, limit: Limit, now: DateTime<Utc>) {
        self.forget_old(limit, now);
        self.at.push_back(now);
        while self.at.len() > limit.failures {
            self.at.pop_front();
        }
    }

    /// True when nothing is remembered any more, so the entry can be dropped.
    pub fn is_stale(&mut self, limit: Limit, now: DateTime<Utc>) -> bool {
        self.forget_old(limit, now);
        self.at.is_empty()
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sixth_failure_in_fifteen_minutes_is_refused_until_the_first_ages_out() {
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut f = Failures::default();
        for i in 0..5 {
            assert!(f.check(Limit::ACCOUNT, t0 + Duration::minutes(i)).is_ok());
            f.record(Limit::ACCOUNT, t0 + Duration::minutes(i));
        }
        let wait = f
            .check(Limit::ACCOUNT, t0 + Duration::minutes(5))
            .unwrap_err();
        assert_eq!(wait, Duration::minutes(10));
        assert_eq!(wait_words(wait), "10 minutes");
        assert!(f.check(Limit::ACCOUNT, t0 + Duration::minutes(15)).is_ok());
    }

    #[test]
    fn a_guesser_gets_no_more_than_a_hundred_tries_at_one_account_in_an_hour() {
        // A guesser who tries once a second and never gets it right: every attempt the
        // throttle lets through is a failure it records.
        let t0 = DateTime::parse_from_rfc3339("2026-11-23T09:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut f = Failures::default();
        let mut tried = 0;
        for second in 0..3600 {
            let now = t0 + Duration::seconds(second);
            if f.check(Limit::ACCOUNT, now).is_ok() {
                f.record(Limit::ACCOUNT, now);
                tried += 1;
            }
        }
        assert!(tried <= 100, "{tried} guesses in an hour");
        assert_eq!(tried, 20, "five every fifteen minutes");
    }
}
