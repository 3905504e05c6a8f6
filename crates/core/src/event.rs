//! The activity log: what happened, and the hash chain that makes tampering visible.
//!
//! Each event's hash covers its own fields and the hash of the event before it, so
//! changing, removing or reordering any event breaks every hash after it.
//! [`verify_chain`] walks the log and names the first event that does not fit.
//!
//! Two versions of an event's hash exist. Version 1 (events written before
//! migration 0006) hashes every field directly. Version 2 keeps personal details
//! out of the chain: the actor, subject label and details are hashed on their own,
//! with a random salt, into [`personal_hash`], and the chain hash covers that digest
//! instead of the text. Erasing a person's details (UK GDPR) replaces the text and
//! clears the salt; the chain still verifies, and the event that did the erasing
//! lists which events it redacted, so a redaction nobody recorded is a break.

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
    /// 1: every field in the chain hash; 2: personal text hashed apart.
    pub hash_version: i64,
    /// Version 2: the salt of [`personal_hash`]; `None` once the text was redacted.
    pub salt: Option<String>,
    /// Version 2: the digest of the personal text, covered by the chain hash.
    pub personal_hash: Option<String>,
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

/// The digest of a version 2 event's personal text: its actor, subject label and
/// details, with a random salt so that a guessed name cannot be checked against it.
pub fn personal_hash(salt: &str, actor: &str, subject_label: &str, details: &str) -> String {
    digest(&[salt, actor, subject_label, details])
}

/// The chain hash of a version 2 event: everything but the personal text, which
/// enters through its digest.
pub fn event_hash_v2(
    prev_hash: &str,
    seq: i64,
    at: &str,
    action: &str,
    subject: &str,
    personal_hash: &str,
) -> String {
    digest(&[
        "v2",
        prev_hash,
        &seq.to_string(),
        at,
        action,
        subject,
        personal_hash,
    ])
}

/// SHA-256 over length-prefixed fields, as hex.
fn digest(fields: &[&str]) -> String {
    let mut h = Sha256::new();
    for field in fields {
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
    #[error(
        "event {seq} has had its personal details removed, but no anonymisation event records it"
    )]
    UnrecordedRedaction { seq: i64 },
}

/// Follows the chain across events given in order, carrying the last good hash.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    last_hash: String,
    last_seq: i64,
    pub checked: u64,
    /// The events that anonymisation events say they redacted.
    pub redactions: std::collections::HashSet<i64>,
}

impl Default for ChainVerifier {
    fn default() -> Self {
        Self {
            last_hash: GENESIS_HASH.to_owned(),
            last_seq: 0,
            checked: 0,
            redactions: Default::default(),
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
        let expected = if e.hash_version == 2 {
            let Some(personal) = e.personal_hash.as_deref() else {
                return Err(ChainBreak::Altered { seq: e.seq });
            };
            match e.salt.as_deref() {
                Some(salt)
                    if personal_hash(salt, &e.actor, &e.subject_label, &e.details) != personal =>
                {
                    return Err(ChainBreak::Altered { seq: e.seq });
                }
                None if !self.redactions.contains(&e.seq) => {
                    return Err(ChainBreak::UnrecordedRedaction { seq: e.seq });
                }
                _ => {}
            }
            event_hash_v2(&e.prev_hash, e.seq, &e.at, &e.action, &e.subject, personal)
        } else {
            event_hash(&e.prev_hash, &e.fields())
        };
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
                    hash_version: 1,
                    salt: None,
                    personal_hash: None,
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

    fn v2_log(n: i64) -> Vec<EventRecord> {
        let mut prev = GENESIS_HASH.to_owned();
        (1..=n)
            .map(|seq| {
                let at = format!("2026-11-23T09:{:02}:00Z", seq % 60);
                let salt = format!("salt{seq}");
                let details = format!("{{\"borrower\":\"jsmith\",\"n\":{seq}}}");
                let personal = personal_hash(&salt, "sbm", "LAP-1", &details);
                let hash =
                    event_hash_v2(&prev, seq, &at, "loan.checked_out", "device:1", &personal);
                let e = EventRecord {
                    seq,
                    at,
                    actor: "sbm".into(),
                    action: "loan.checked_out".into(),
                    subject: "device:1".into(),
                    subject_label: "LAP-1".into(),
                    details,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                    hash_version: 2,
                    salt: Some(salt),
                    personal_hash: Some(personal),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn a_version_2_log_verifies_and_altered_personal_text_is_named() {
        let mut l = v2_log(10);
        assert_eq!(verify_chain(&l), Ok(10));
        l[3].details = "{\"borrower\":\"someone\",\"n\":4}".into();
        assert_eq!(verify_chain(&l), Err(ChainBreak::Altered { seq: 4 }));
    }

    #[test]
    fn a_recorded_redaction_keeps_the_chain_whole_and_an_unrecorded_one_is_named() {
        let mut l = v2_log(10);
        l[3].details = "{\"borrower\":\"former-person-1\",\"n\":4}".into();
        l[3].salt = None;
        let mut v = ChainVerifier::default();
        let unrecorded = l.iter().try_for_each(|e| v.next(e));
        assert_eq!(unrecorded, Err(ChainBreak::UnrecordedRedaction { seq: 4 }));
        let mut v = ChainVerifier {
            redactions: [4].into_iter().collect(),
            ..Default::default()
        };
        assert_eq!(l.iter().try_for_each(|e| v.next(e)), Ok(()));
        assert_eq!(v.checked, 10);
        // The rest of the event is still covered by the chain.
        l[3].action = "loan.returned".into();
        let mut v = ChainVerifier {
            redactions: [4].into_iter().collect(),
            ..Default::default()
        };
        assert_eq!(
            l.iter().try_for_each(|e| v.next(e)),
            Err(ChainBreak::Altered { seq: 4 })
        );
    }
}
