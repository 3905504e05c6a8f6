//! The activity log: what happened, and the hash chain that makes tampering visible.
//!
//! Each event's hash covers its own fields and the hash of the event before it, so
//! changing, removing or reordering any event breaks every hash after it.
//! [`verify_chain`] walks the log and names the first event that does not fit.

use sha2::{Digest, Sha256};

/// The hash the first event links back to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// The fields of one event, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventRecord {
    pub seq: i64,
    /// RFC 3339 UTC, as stored.
    pub at: String,
    /// The username of whoever did it, or `system`.
    pub actor: String,
    pub action: String,
    /// What it happened to, as `kind:id`, such as `device:<uuid>`.
    pub subject: String,
    /// The subject's name at the time, such as its asset tag or username.
    pub subject_label: String,
    /// JSON text with the details of the change.
    pub details: String,
    pub prev_hash: String,
    pub hash: String,
}

/// The hashed fields of one event.
#[derive(Debug, Clone, Copy)]
pub struct EventFields<'a> {
    pub seq: i64,
    pub at: &'a str,
    pub actor: &'a str,
    pub action: &'a str,
    pub subject: &'a str,
    pub subject_label: &'a str,
    pub details: &'a str,
}

impl EventRecord {
    pub fn fields(&self) -> EventFields<'_> {
        EventFields {
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            subject: &self.subject,
            subject_label: &self.subject_label,
            details: &self.details,
        }
    }
}

/// The hash of an event, given the hash of the one before it.
pub fn event_hash(prev_hash: &str, e: &EventFields<'_>) -> String {
    let mut h = Sha256::new();
    // Each field is length-prefixed so that no two different events hash the same
    // text (moving a character from one field to the next changes the hash).
    for field in [
        prev_hash,
        &e.seq.to_string(),
        e.at,
        e.actor,
        e.action,
        e.subject,
        e.subject_label,
        e.details,
    ] {
        h.update((field.len() as u64).to_be_bytes());
        h.update(field.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// Where the chain breaks, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainBreak {
    #[error("event {seq} does not link to the event before it: it was inserted, or an event before it was removed")]
    BadLink { seq: i64 },
    #[error("event {seq} has been altered: its contents no longer match its hash")]
    Altered { seq: i64 },
    #[error("event {seq} is out of order: it follows event {previous}")]
    OutOfOrder { seq: i64, previous: i64 },
}

/// Follows the chain across events given in order, carrying the last good hash.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    last_hash: String,
    last_seq: i64,
    pub checked: u64,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            last_hash: GENESIS_HASH.to_owned(),
            last_seq: 0,
            checked: 0,
        }
    }
}

impl ChainVerifier {
    /// The last event checked: its number and hash.
    pub fn head(&self) -> Option<(i64, String)> {
        (self.checked > 0).then(|| (self.last_seq, self.last_hash.clone()))
    }

    pub fn next(&mut self, e: &EventRecord) -> Result<(), ChainBreak> {
        if e.seq <= self.last_seq {
            return Err(ChainBreak::OutOfOrder {
                seq: e.seq,
                previous: self.last_seq,
            });
        }
        if e.prev_hash != self.last_hash {
            return Err(ChainBreak::BadLink { seq: e.seq });
        }
        let expected = event_hash(&e.prev_hash, &e.fields());
        if expected != e.hash {
            return Err(ChainBreak::Altered { seq: e.seq });
        }
        self.last_hash = e.hash.clone();
        self.last_seq = e.seq;
        self.checked += 1;
        Ok(())
    }
}

/// Checks a whole log held in memory.
pub fn verify_chain<'a>(
    events: impl IntoIterator<Item = &'a EventRecord>,
) -> Result<u64, ChainBreak> {
    let mut v = ChainVerifier::default();
    for e in events {
        v.next(e)?;
    }
    Ok(v.checked)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: i64) -> Vec<EventRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let at = format!("2026-11-23T09:{:02}:00Z", seq % 60);
                let details = format!("{{\"n\":{seq}}}");
                let mut e = EventRecord {
                    seq,
                    at,
                    actor: "jsmith".into(),
                    action: "device.registered".into(),
                    subject: "device:1".into(),
                    subject_label: "LAP-1".into(),
                    details,
                    prev_hash: prev.clone(),
                    hash: String::new(),
                };
                e.hash = event_hash(&prev, &e.fields());
                prev = e.hash.clone();
                e
            })
            .collect()
    }

    #[test]
    fn an_untouched_log_verifies() {
        assert_eq!(verify_chain(&log(50)), Ok(50));
    }

    #[test]
    fn an_altered_event_is_named() {
        let mut l = log(10);
        l[6].details = "{\"n\":999}".into();
        assert_eq!(verify_chain(&l), Err(ChainBreak::Altered { seq: 7 }));
    }

    #[test]
    fn a_removed_event_is_found_at_the_next_one() {
        let mut l = log(10);
        l.remove(3);
        assert_eq!(verify_chain(&l), Err(ChainBreak::BadLink { seq: 5 }));
    }

    #[test]
    fn moving_text_between_fields_changes_the_hash() {
        let f = EventFields {
            seq: 1,
            at: "t",
            actor: "ab",
            action: "c",
            subject: "s",
            subject_label: "l",
            details: "{}",
        };
        let a = event_hash(GENESIS_HASH, &f);
        let b = event_hash(
            GENESIS_HASH,
            &EventFields {
                actor: "a",
                action: "bc",
                ..f
            },
        );
        assert_ne!(a, b);
    }
}
