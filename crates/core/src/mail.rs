//! Email's rules: what kind of email each message is, until when it is worth
//! sending, how long to wait after a failed try, and when to give up.
//!
//! Kitroom writes each email into its outbox with the change it is about, and a
//! sender delivers it later. These rules decide, from the facts and the time alone:
//! - an email is tried at most [`TRIES`] times, waiting [`FIRST_WAIT`] after the
//!   first failure, twice as long after each next one, never more than
//!   [`LONGEST_WAIT`]: about two days in all. Then it is marked failed and the
//!   admins are told. A refusal the mail server calls permanent (a 5xx answer, or
//!   an address that is not one) fails at once: trying again cannot help.
//! - reminders and the admins' digest are about a moment; once it has passed they
//!   are dropped rather than sent late (a "due back at 3pm" arriving at 6pm misleads).
//!   Incident reports and account news are sent however late.

use std::time::Duration;

use chrono::{DateTime, Utc};

/// How many times an email is tried before Kitroom gives up on it.
pub const TRIES: u32 = 16;
/// The wait after the first failed try.
pub const FIRST_WAIT: Duration = Duration::from_secs(60);
/// The longest wait between two tries.
pub const LONGEST_WAIT: Duration = Duration::from_secs(6 * 3600);
/// How long an overdue reminder stays worth sending: after that the device may well
/// be back, and tomorrow's reminder is another matter.
pub const OVERDUE_REMINDER_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(12);
/// How long the admins' daily digest stays worth sending: the next one replaces it.
pub const DIGEST_LIFETIME: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// What an email is about, which decides how late it may still be sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MailKind {
    /// Damage, loss or theft reported: sent however late.
    Incident,
    /// A loan due soon or overdue: dropped once its moment has passed.
    Reminder,
    /// An account created, a role changed, a password or two-step sign-in reset:
    /// sent however late (it may be the only word of an attack).
    Account,
    /// The admins' daily log witness: dropped after a day.
    Digest,
    /// Anything else, and emails queued before kinds were recorded: sent however late.
    Other,
}

impl MailKind {
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Incident => "incident",
            MailKind::Reminder => "reminder",
            MailKind::Account => "account",
            MailKind::Digest => "digest",
            MailKind::Other => "other",
        }
    }

    pub fn parse(s: &str) -> MailKind {
        match s {
            "incident" => MailKind::Incident,
            "reminder" => MailKind::Reminder,
            "account" => MailKind::Account,
            "digest" => MailKind::Digest,
            _ => MailKind::Other,
        }
    }
}

/// The time after which an email of `kind`, queued at `queued_at`, is no longer
/// worth sending; `None` when it is sent however late. `moment` is what a reminder
/// is about (the time the loan is due, for a due-soon reminder), when it has one.
pub fn send_by(
    kind: MailKind,
    queued_at: DateTime<Utc>,
    moment: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match kind {
        MailKind::Incident | MailKind::Account | MailKind::Other => None,
        MailKind::Reminder => {
            let latest = queued_at + OVERDUE_REMINDER_LIFETIME;
            Some(moment.map_or(latest, |m| m.min(latest)))
        }
        MailKind::Digest => Some(queued_at + DIGEST_LIFETIME),
    }
}

/// Whether an email still goes, just before it is tried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BeforeSending {
    Send,
    /// Its moment has passed: drop it unsent.
    Drop,
}

/// Decides whether an email whose deadline is `send_by` is still sent at `now`.
pub fn before_sending(send_by: Option<DateTime<Utc>>, now: DateTime<Utc>) -> BeforeSending {
    match send_by {
        Some(by) if now > by => BeforeSending::Drop,
        _ => BeforeSending::Send,
    }
}

/// What to do after a failed try.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterFailure {
    TryAgainIn(Duration),
    /// Mark it failed and tell the admins.
    GiveUp,
}

/// How a failed email is tried again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySchedule {
    pub first_wait: Duration,
    pub longest_wait: Duration,
    /// Tries in all, the first included.
    pub tries: u32,
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            first_wait: FIRST_WAIT,
            longest_wait: LONGEST_WAIT,
            tries: TRIES,
        }
    }
}

impl RetrySchedule {
    /// The wait after the `failures`-th failed try (1 for the first).
    pub fn wait_after(&self, failures: u32) -> Duration {
        let factor = 1u32 << failures.saturating_sub(1).min(20);
        self.first_wait
            .saturating_mul(factor)
            .min(self.longest_wait)
    }

    /// Decides what follows the `tries`-th try (1 for the first) failing;
    /// `permanent` when the mail server said trying again cannot help.
    pub fn after_failure(&self, tries: u32, permanent: bool) -> AfterFailure {
        if permanent || tries >= self.tries {
            AfterFailure::GiveUp
        } else {
            AfterFailure::TryAgainIn(self.wait_after(tries))
        }
    }

    /// From the first try to the last, if every one fails.
    pub fn span(&self) -> Duration {
        (1..self.tries).map(|n| self.wait_after(n)).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, h, m, 0).unwrap()
    }

    #[test]
    fn retries_wait_longer_each_time_up_to_six_hours() {
        let s = RetrySchedule::default();
        assert_eq!(s.wait_after(1), Duration::from_secs(60));
        assert_eq!(s.wait_after(2), Duration::from_secs(120));
        assert_eq!(s.wait_after(4), Duration::from_secs(480));
        assert_eq!(s.wait_after(15), Duration::from_secs(6 * 3600));
        assert_eq!(s.wait_after(400), Duration::from_secs(6 * 3600));
    }

    #[test]
    fn an_email_is_tried_a_bounded_number_of_times_over_about_two_days() {
        let s = RetrySchedule::default();
        let hours = s.span().as_secs_f64() / 3600.0;
        assert!((40.0..=50.0).contains(&hours), "{hours} hours");
        for n in 1..TRIES {
            assert!(matches!(
                s.after_failure(n, false),
                AfterFailure::TryAgainIn(_)
            ));
        }
        assert_eq!(s.after_failure(TRIES, false), AfterFailure::GiveUp);
    }

    #[test]
    fn a_permanent_refusal_gives_up_at_once() {
        assert_eq!(
            RetrySchedule::default().after_failure(1, true),
            AfterFailure::GiveUp
        );
    }

    #[test]
    fn a_due_soon_reminder_is_dropped_once_the_loan_is_due() {
        let by = send_by(MailKind::Reminder, at(14, 0), Some(at(15, 0)));
        assert_eq!(by, Some(at(15, 0)));
        assert_eq!(before_sending(by, at(14, 59)), BeforeSending::Send);
        assert_eq!(before_sending(by, at(15, 1)), BeforeSending::Drop);
    }

    #[test]
    fn an_overdue_reminder_is_dropped_after_twelve_hours() {
        let by = send_by(MailKind::Reminder, at(9, 0), None);
        assert_eq!(before_sending(by, at(20, 59)), BeforeSending::Send);
        assert_eq!(before_sending(by, at(21, 1)), BeforeSending::Drop);
    }

    #[test]
    fn incident_and_account_emails_are_sent_however_late() {
        for kind in [MailKind::Incident, MailKind::Account, MailKind::Other] {
            let by = send_by(kind, at(9, 0), None);
            let weeks_later = at(9, 0) + chrono::TimeDelta::weeks(3);
            assert_eq!(before_sending(by, weeks_later), BeforeSending::Send);
        }
    }

    #[test]
    fn a_digest_is_dropped_after_a_day() {
        let by = send_by(MailKind::Digest, at(9, 0), None);
        assert_eq!(
            before_sending(by, at(9, 0) + chrono::TimeDelta::hours(25)),
            BeforeSending::Drop
        );
    }
}
