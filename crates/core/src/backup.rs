//! Automatic daily backups: their file names, when one is due and which to delete.
//! The files themselves are written by `kitroom_store::backups`.

use chrono::{DateTime, NaiveDateTime, Utc};
use chrono_tz::Europe::London;

/// The folder inside the data directory that holds automatic backups.
pub const FOLDER: &str = "backups";

/// `kitroom-2026-11-23T001500Z.db`: sorts by time, and says when it was taken.
pub fn file_name(at: DateTime<Utc>) -> String {
    format!("kitroom-{}.db", at.format("%Y-%m-%dT%H%M%SZ"))
}

/// When the backup called `name` was taken, if it is one of Kitroom's.
pub fn taken_at(name: &str) -> Option<DateTime<Utc>> {
    let stamp = name.strip_prefix("kitroom-")?.strip_suffix(".db")?;
    NaiveDateTime::parse_from_str(stamp, "%Y-%m-%dT%H%M%SZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Whether a backup is due: there is none yet, or the newest was taken on an earlier
/// day at the school (Europe/London). `every`, for tests and unusual setups,
/// replaces "once a day" by "once every this long".
pub fn due(
    newest: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    every: Option<chrono::Duration>,
) -> bool {
    match (newest, every) {
        (None, _) => true,
        (Some(t), Some(every)) => now - t >= every,
        (Some(t), None) => {
            t.with_timezone(&London).date_naive() < now.with_timezone(&London).date_naive()
        }
    }
}

/// Of these backup names, the ones to delete so that only the newest `keep` remain.
pub fn to_delete(mut names: Vec<String>, keep: u32) -> Vec<String> {
    names.retain(|n| taken_at(n).is_some());
    names.sort();
    let keep = (keep as usize).min(names.len());
    names.truncate(names.len() - keep);
    names
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn names_sort_by_time_and_read_back() {
        let t = Utc.with_ymd_and_hms(2026, 11, 23, 0, 15, 0).unwrap();
        assert_eq!(file_name(t), "kitroom-2026-11-23T001500Z.db");
        assert_eq!(taken_at(&file_name(t)), Some(t));
        assert_eq!(taken_at("kitroom.db"), None);
        assert_eq!(taken_at("notes.txt"), None);
    }

    #[test]
    fn one_a_school_day() {
        // 23:30 UTC in summer is already the next day in London
        let evening = Utc.with_ymd_and_hms(2026, 6, 1, 22, 30, 0).unwrap();
        let later = Utc.with_ymd_and_hms(2026, 6, 1, 23, 30, 0).unwrap();
        assert!(due(Some(evening), later, None));
        let morning = Utc.with_ymd_and_hms(2026, 6, 2, 8, 0, 0).unwrap();
        assert!(!due(Some(later), morning, None));
        assert!(due(None, morning, None));
        assert!(due(
            Some(morning),
            morning + chrono::Duration::seconds(2),
            Some(chrono::Duration::seconds(1))
        ));
    }

    #[test]
    fn only_the_newest_are_kept() {
        let names: Vec<String> = [
            "kitroom-2026-11-21T000000Z.db",
            "kitroom-2026-11-23T000000Z.db",
            "other.db",
            "kitroom-2026-11-22T000000Z.db",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            to_delete(names.clone(), 2),
            ["kitroom-2026-11-21T000000Z.db"]
        );
        assert_eq!(to_delete(names.clone(), 5), Vec::<String>::new());
        assert_eq!(to_delete(names, 0).len(), 3);
    }
}
