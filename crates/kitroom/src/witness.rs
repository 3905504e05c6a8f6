//! Keeping the log witness while Kitroom runs: `kitroom.witness` is rewritten at
//! most once a tick (a minute at most) when the log's head has moved, and once more
//! at shutdown; with email on, the admins get it in a daily digest.
//!
//! The witness only ever moves forward. If the one found at start does not open
//! with `kitroom.key` or the log no longer reaches it, Kitroom says so and leaves the
//! file alone, so that the evidence stays for `kitroom check` and a person to look at.

use std::path::PathBuf;

use kitroom_core::witness::{Witness, WitnessKey};
use kitroom_store::Store;

/// What the keeper knows between ticks.
pub struct Keeper {
    dir: PathBuf,
    key: WitnessKey,
    /// The head last written (or found on disk and confirmed).
    written: Option<(i64, String)>,
    /// The witness on disk shows a problem: never overwrite it.
    frozen: bool,
}

impl Keeper {
    /// Reads the witness already on disk, if any, and checks it against the log.
    pub async fn start(store: &Store, dir: PathBuf, key: WitnessKey) -> Keeper {
        let mut keeper = Keeper {
            dir,
            key,
            written: None,
            frozen: false,
        };
        let text = match kitroom_store::witness::read_file(&keeper.dir) {
            Ok(Some(t)) => t,
            Ok(None) => return keeper,
            Err(e) => {
                tracing::error!(error = %e, "cannot read the log witness (kitroom.witness); it is left as it is");
                keeper.frozen = true;
                return keeper;
            }
        };
        match Witness::open(&text, &keeper.key) {
            Err(e) => {
                tracing::error!(
                    "the log witness (kitroom.witness) {e}; it is left as it is: run `kitroom check`"
                );
                keeper.frozen = true;
            }
            Ok(w) => match store.compare_with(&w).await {
                Ok(Ok(())) => keeper.written = Some((w.seq, w.hash)),
                Ok(Err(cut)) => {
                    tracing::error!(
                        witness_seq = w.seq,
                        "the activity log does not reach its witness: {cut}. kitroom.witness is left as it is: run `kitroom check`"
                    );
                    keeper.frozen = true;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "could not compare the log with its witness");
                }
            },
        }
        keeper
    }

    /// Writes the witness when the log's head has moved since the last one written.
    /// Returns the head and the witness of it, sealed, when the witness is kept.
    pub async fn keep(&mut self, store: &Store) -> Option<(Witness, String)> {
        if self.frozen {
            return None;
        }
        let head = match store.log_head().await {
            Ok(h) => h?,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the activity log's head for its witness");
                return None;
            }
        };
        let witness = Witness {
            seq: head.0,
            hash: head.1.clone(),
            at: chrono::Utc::now(),
        };
        let sealed = witness.seal(&self.key);
        if self.written.as_ref() != Some(&head) {
            if let Err(e) = kitroom_store::witness::write_file(&self.dir, &sealed) {
                tracing::error!(error = %e, "could not write the log witness (kitroom.witness)");
                return None;
            }
            self.written = Some(head);
        }
        Some((witness, sealed))
    }
}

/// The admins' daily digest: the witness to keep outside the server.
pub fn digest(sealed: &str, head: i64, hash: &str) -> (String, String) {
    let subject = format!("Kitroom: daily log witness (latest event {head})");
    let body = format!(
        "This is Kitroom's daily note for admins.\n\n\
         Latest event: {head}\nHash: {hash}\n\n\
         The sealed witness, as kept in kitroom.witness beside the database:\n\n{sealed}\n\
         Keep this email. The activity log's hash chain shows an event altered, but not \
         the newest events cut from its end; this note, kept outside the server, shows \
         that the log reached event {head}. If `kitroom check` ever reports events missing, \
         or its \"latest event\" line shows a number below {head}, compare with this note.\n"
    );
    (subject, body)
}
