//! The log witness: a record, kept outside the database, of how far the activity
//! log's hash chain reached (the newest event's number and hash), sealed with a key
//! the database does not hold.
//!
//! The hash chain shows an event altered or taken from the middle, but not events cut
//! from the end: the shorter log is still a valid chain. The witness is what was seen
//! before; a log that no longer reaches it has lost its newest events. The seal is an
//! HMAC-SHA-256 (the `hmac` and `sha2` crates) under a key derived from the one in
//! `kitroom.key`, so whoever can edit the database cannot write a matching witness.
//!
//! The text form, one field a line, is what `kitroom.witness` holds, what a backup
//! carries and what the admins' daily digest quotes:
//!
//! ```text
//! kitroom log witness v1
//! seq 1047
//! hash 5c1e…
//! at 2026-11-23T09:15:00Z
//! seal 9a0b…
//! ```

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const HEADER: &str = "kitroom log witness v1";

/// The key that seals witnesses, derived from the app's secret key so that the same
/// bytes are never used directly for two purposes.
#[derive(Clone)]
pub struct WitnessKey([u8; 32]);

impl fmt::Debug for WitnessKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WitnessKey(..)")
    }
}

impl WitnessKey {
    /// HMAC-SHA-256 of a fixed label under `secret`.
    pub fn derive(secret: &[u8; 32]) -> WitnessKey {
        let mut mac = HmacSha256::new_from_slice(secret).expect("HMAC takes any key length");
        mac.update(b"kitroom log witness key v1");
        WitnessKey(mac.finalize().into_bytes().into())
    }

    fn mac(&self, body: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.0).expect("HMAC takes any key length");
        mac.update(body.as_bytes());
        mac
    }
}

/// How far the log reached when the witness was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Witness {
    /// The newest event's number.
    pub seq: i64,
    /// The newest event's hash.
    pub hash: String,
    /// When the witness was written.
    pub at: DateTime<Utc>,
}

/// Why a witness's text was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error("it is not a log witness Kitroom wrote")]
    Unreadable,
    #[error("it has been tampered with: its seal does not match kitroom.key")]
    BadSeal,
}

/// What a witness shows about the log as it is now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogCut {
    /// The log ends before the witnessed event: these events were cut.
    Missing { first: i64, last: i64 },
    /// The log holds an event with the witnessed number but another hash: it was cut
    /// at or before that event and written again.
    Replaced { seq: i64 },
}

impl fmt::Display for LogCut {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LogCut::Missing { first, last } if first == last => {
                write!(f, "event {first} is missing")
            }
            LogCut::Missing { first, last } => write!(f, "events {first} to {last} are missing"),
            LogCut::Replaced { seq } => write!(
                f,
                "event {seq} is not the one the witness saw: the log was cut at or before it and written again"
            ),
        }
    }
}

impl Witness {
    fn body(&self) -> String {
        format!(
            "{HEADER}\nseq {}\nhash {}\nat {}\n",
            self.seq,
            self.hash,
            self.at.to_rfc3339_opts(SecondsFormat::Secs, true)
        )
    }

    /// The sealed text.
    pub fn seal(&self, key: &WitnessKey) -> String {
        let body = self.body();
        let tag = key.mac(&body).finalize().into_bytes();
        format!("{body}seal {}\n", hex::encode(tag))
    }

    /// Reads sealed text and checks its seal.
    pub fn open(text: &str, key: &WitnessKey) -> Result<Witness, WitnessError> {
        let mut lines = text.lines();
        if lines.next().map(str::trim) != Some(HEADER) {
            return Err(WitnessError::Unreadable);
        }
        let mut field = |name: &str| {
            lines
                .next()
                .and_then(|l| l.trim().strip_prefix(name))
                .and_then(|v| v.strip_prefix(' '))
                .map(str::to_owned)
                .ok_or(WitnessError::Unreadable)
        };
        let seq = field("seq")?
            .parse::<i64>()
            .map_err(|_| WitnessError::Unreadable)?;
        let hash = field("hash")?;
        let at = DateTime::parse_from_rfc3339(&field("at")?)
            .map_err(|_| WitnessError::Unreadable)?
            .with_timezone(&Utc);
        let seal = field("seal")?;
        let witness = Witness { seq, hash, at };
        let tag = hex::decode(&seal).map_err(|_| WitnessError::BadSeal)?;
        // The body is rebuilt from the parsed fields: only the canonical form verifies.
        key.mac(&witness.body())
            .verify_slice(&tag)
            .map_err(|_| WitnessError::BadSeal)?;
        Ok(witness)
    }

    /// Compares the witness with the log: its newest event's number (`None` for an
    /// empty log) and the hash of the event numbered as the witness's, if there is one.
    pub fn compare(&self, last_seq: Option<i64>, hash_at_seq: Option<&str>) -> Result<(), LogCut> {
        let last = last_seq.unwrap_or(0);
        if last < self.seq {
            return Err(LogCut::Missing {
                first: last + 1,
                last: self.seq,
            });
        }
        if hash_at_seq != Some(self.hash.as_str()) {
            return Err(LogCut::Replaced { seq: self.seq });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn witness() -> Witness {
        Witness {
            seq: 1047,
            hash: "ab".repeat(32),
            at: Utc.with_ymd_and_hms(2026, 11, 23, 9, 15, 0).unwrap(),
        }
    }

    #[test]
    fn a_sealed_witness_opens_with_its_key_only() {
        let key = WitnessKey::derive(&[7; 32]);
        let text = witness().seal(&key);
        assert!(text.starts_with("kitroom log witness v1\nseq 1047\n"));
        assert_eq!(Witness::open(&text, &key), Ok(witness()));
        let other = WitnessKey::derive(&[8; 32]);
        assert_eq!(Witness::open(&text, &other), Err(WitnessError::BadSeal));
        let edited = text.replace("seq 1047", "seq 1040");
        assert_eq!(Witness::open(&edited, &key), Err(WitnessError::BadSeal));
        assert_eq!(Witness::open("hello", &key), Err(WitnessError::Unreadable));
    }

    #[test]
    fn a_log_that_no_longer_reaches_the_witness_names_what_is_missing() {
        let w = witness();
        let hash = "ab".repeat(32);
        assert_eq!(w.compare(Some(1047), Some(&hash)), Ok(()));
        assert_eq!(w.compare(Some(1100), Some(&hash)), Ok(()));
        let cut = w.compare(Some(1040), None).unwrap_err();
        assert_eq!(cut.to_string(), "events 1041 to 1047 are missing");
        assert_eq!(
            w.compare(Some(1046), None).unwrap_err().to_string(),
            "event 1047 is missing"
        );
        assert_eq!(
            w.compare(Some(1050), Some("cd")),
            Err(LogCut::Replaced { seq: 1047 })
        );
    }
}
