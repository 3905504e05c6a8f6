//! Reading an import file, and writing a checked import: every row in one
//! transaction, or none.
//!
//! [`read_table`] turns a file's bytes into a [`Table`] with the `csv` crate. The rows
//! are checked in `kitroom_core::import`; the writes here take the [`Checked`] set and
//! refuse it while it has any problem. Inside the write transaction the register is
//! read again and the tags, serial numbers and usernames checked once more, so a
//! device or account added between the preview and the confirmation cannot slip in
//! twice. Each row is written as the form would write it, with its event, and a
//! progress callback hears how many rows are done.

use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

use chrono::Utc;
use kitroom_core::device::{
    DeviceDetails, DeviceKind, Encryption, EncryptionMethod, EncryptionState,
};
use kitroom_core::import::{
    register_clashes, usernames_taken, Checked, EncryptionUpdate, Lined, Problem, RegisterKeys,
    Row, Table,
};
use kitroom_core::person::PersonDetails;
use kitroom_core::school::SchoolId;
use serde_json::{json, Map, Value};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_uuid, time_text, Store, StoreError};
use crate::devices::{get_device, insert_device};
use crate::events::append;
use crate::locations::find_or_create;
use crate::Actor;

/// What became of an import.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome<T> {
    /// Every row was written.
    Written(T),
    /// Nothing was written, because of these problems.
    Refused(Vec<Problem>),
}

/// What an encryption-status import changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncryptionSummary {
    /// The tags of the devices whose encryption record changed.
    pub updated: Vec<String>,
    /// Devices whose record already said the same, with the same date.
    pub unchanged: usize,
    /// Serial numbers (with their line) that match no device.
    pub unmatched: Vec<Lined<String>>,
}

/// Told how many rows have been written so far.
pub type Progress = Box<dyn Fn(usize) + Send + Sync>;

/// The text of a file: UTF-8 (with or without the byte-order mark spreadsheets
/// write), or else Windows-1252, which is what Excel's plain "CSV" choice saves.
pub fn decode(bytes: &[u8]) -> Result<Cow<'_, str>, Problem> {
    if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        return Err(Problem::new(
            1,
            "",
            "This file is saved as UTF-16 (“Unicode text”). Save it again as “CSV UTF-8 (comma delimited)”.",
        ));
    }
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => Ok(Cow::Borrowed(s)),
        Err(_) => Ok(Cow::Owned(bytes.iter().map(|b| windows_1252(*b)).collect())),
    }
}

fn windows_1252(b: u8) -> char {
    const HIGH: [char; 32] = [
        '€', '\u{81}', '‚', 'ƒ', '„', '…', '†', '‡', 'ˆ', '‰', 'Š', '‹', 'Œ', '\u{8D}', 'Ž',
        '\u{8F}', '\u{90}', '‘', '’', '“', '”', '•', '–', '—', '˜', '™', 'š', '›', 'œ', '\u{9D}',
        'ž', 'Ÿ',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        _ => char::from(b),
    }
}

/// Reads a CSV file: the first line with anything in it holds the headings, and
/// every later line that is not blank is a row. Cells are trimmed; each row keeps the
/// line of the file it starts on, so problems point at the file as the person sees
/// it. Only a comma separates cells.
pub fn read_table(bytes: &[u8]) -> Result<Table, Problem> {
    let text = decode(bytes)?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes());
    let mut record = csv::StringRecord::new();
    let mut table: Option<Table> = None;
    loop {
        match reader.read_record(&mut record) {
            Ok(true) => {}
            Ok(false) => break,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(1);
                return Err(Problem::new(
                    line,
                    "",
                    format!("This line could not be read as CSV ({e})."),
                ));
            }
        }
        let line = record
            .position()
            .map(|p| start_line(text.as_bytes(), p))
            .unwrap_or(1);
        if record.iter().all(str::is_empty) {
            continue;
        }
        let cells: Vec<String> = record.iter().map(str::to_owned).collect();
        match &mut table {
            None => {
                table = Some(Table {
                    header_line: line,
                    headers: cells,
                    rows: Vec::new(),
                })
            }
            Some(t) => t.rows.push(Row { line, cells }),
        }
    }
    table.ok_or_else(|| {
        Problem::new(
            1,
            "",
            "The file is empty. Its first line should hold the column headings.",
        )
    })
}

/// The line a record starts on. The reader counts from where it began looking, which
/// is before any blank lines it skipped, so those are counted here.
fn start_line(text: &[u8], at: &csv::Position) -> u64 {
    let mut line = at.line();
    for b in text.iter().skip(at.byte() as usize) {
        match b {
            b'\n' => line += 1,
            b'\r' => {}
            _ => break,
        }
    }
    line
}

/// Every tag and serial number on `school`'s register, as the checks need them.
async fn register_keys(
    conn: &mut SqliteConnection,
    school: SchoolId,
) -> Result<RegisterKeys, StoreError> {
    let rows: Vec<(String, String, String, String)> =
        sqlx::query_as("select tag, make, model, serial from device where school_id = ?")
            .bind(school.0)
            .fetch_all(&mut *conn)
            .await?;
    let mut keys = RegisterKeys::default();
    for (tag, make, model, serial) in rows {
        keys.add(&tag, &make, &model, &serial);
    }
    Ok(keys)
}

async fn usernames(conn: &mut SqliteConnection) -> Result<HashSet<String>, StoreError> {
    let rows: Vec<String> = sqlx::query_scalar("select username from person")
        .fetch_all(&mut *conn)
        .await?;
    Ok(rows.into_iter().map(|u| u.to_lowercase()).collect())
}

/// The method an encrypted device most likely uses when nothing says: what its
/// kind builds in, or "other".
fn method_for_kind(kind: DeviceKind) -> EncryptionMethod {
    match kind {
        DeviceKind::Ipad => EncryptionMethod::Ipados,
        DeviceKind::Chromebook => EncryptionMethod::Chromeos,
        _ => EncryptionMethod::Other,
    }
}

impl Store {
    /// Every tag and serial number on `school`'s register, to check an import against.
    pub async fn register_keys(&self, school: SchoolId) -> Result<RegisterKeys, StoreError> {
        let mut conn = self.reader().acquire().await?;
        register_keys(&mut conn, school).await
    }

    /// Every username in use, lower-case.
    pub async fn usernames_in_use(&self) -> Result<HashSet<String>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        usernames(&mut conn).await
    }

    /// Registers every device of a checked file in one transaction, each with its
    /// `device.registered` event, creating (and logging) each new location the first
    /// time it is named. Refused, writing nothing, if the file has any problem or a
    /// tag or serial number is now on the register.
    pub async fn import_devices(
        &self,
        actor: Actor,
        school: SchoolId,
        checked: Checked<DeviceDetails>,
        progress: Progress,
    ) -> Result<Outcome<usize>, StoreError> {
        if !checked.problems.is_empty() {
            return Ok(Outcome::Refused(checked.problems));
        }
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let keys = register_keys(conn, school).await?;
                let clashes = register_clashes(&checked, &keys);
                if !clashes.is_empty() {
                    return Ok(Outcome::Refused(clashes));
                }
                // SQLite's `nocase` folds ASCII only; so does this cache.
                let mut locations: HashMap<String, Uuid> = HashMap::new();
                for (i, row) in checked.rows.iter().enumerate() {
                    let d = &row.value;
                    let key = d.location.to_ascii_lowercase();
                    let location_id = match locations.get(&key) {
                        Some(id) => *id,
                        None => {
                            let id = find_or_create(conn, &actor, school, &d.location, now).await?;
                            locations.insert(key, id);
                            id
                        }
                    };
                    let source = format!("CSV import, line {}", row.line);
                    insert_device(conn, &actor, school, d, location_id, Some(source), now).await?;
                    progress(i + 1);
                }
                Ok(Outcome::Written(checked.rows.len()))
            })
        })
        .await
    }

    /// Creates every account of a checked file in one transaction, without passwords
    /// (each person can sign in once a password is set). Refused, writing nothing,
    /// if the file has any problem or a username is now taken.
    pub async fn import_people(
        &self,
        actor: Actor,
        school: SchoolId,
        checked: Checked<PersonDetails>,
        progress: Progress,
    ) -> Result<Outcome<usize>, StoreError> {
        if !checked.problems.is_empty() {
            return Ok(Outcome::Refused(checked.problems));
        }
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let taken = usernames_taken(&checked, &usernames(conn).await?);
                if !taken.is_empty() {
                    return Ok(Outcome::Refused(taken));
                }
                for (i, row) in checked.rows.iter().enumerate() {
                    crate::people::insert_person_in(conn, &actor, school, &row.value, None, now)
                        .await?;
                    progress(i + 1);
                }
                Ok(Outcome::Written(checked.rows.len()))
            })
        })
        .await
    }

    /// Records the encryption status of every device whose serial number is in a
    /// checked file, in one transaction: state, method and date, with the actor as
    /// verifier, each change logged as the device form logs it. A file that names no
    /// method keeps the device's method on record (or, for an encrypted device with
    /// none, the one its kind builds in, else "other"). Serial numbers that match no
    /// device are listed, not refused.
    pub async fn import_encryption(
        &self,
        actor: Actor,
        school: SchoolId,
        checked: Checked<EncryptionUpdate>,
        progress: Progress,
    ) -> Result<Outcome<EncryptionSummary>, StoreError> {
        if !checked.problems.is_empty() {
            return Ok(Outcome::Refused(checked.problems));
        }
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let mut summary = EncryptionSummary::default();
                for (i, row) in checked.rows.iter().enumerate() {
                    let u = &row.value;
                    let ids: Vec<String> = sqlx::query_scalar(
                        "select id from device where school_id = ? and serial = ? collate nocase and serial <> ''
                         order by tag",
                    )
                    .bind(school.0)
                    .bind(&u.serial)
                    .fetch_all(&mut *conn)
                    .await?;
                    if ids.is_empty() {
                        summary.unmatched.push(Lined {
                            line: row.line,
                            value: u.serial.clone(),
                        });
                    }
                    for id in ids {
                        let before = get_device(conn, parse_uuid(&id)?).await?;
                        let old = &before.details.encryption;
                        let method = match u.state {
                            EncryptionState::Encrypted => Some(
                                u.method
                                    .or(old.method)
                                    .unwrap_or_else(|| method_for_kind(before.details.kind)),
                            ),
                            _ => None,
                        };
                        let new = Encryption {
                            state: u.state,
                            method,
                            verified_on: Some(u.verified_on),
                        };
                        if *old == new {
                            summary.unchanged += 1;
                            continue;
                        }
                        sqlx::query(
                            "update device set encryption_state = ?, encryption_method = ?, encryption_verified_on = ?,
                               encryption_verified_by = ?, updated_at = ? where id = ?",
                        )
                        .bind(new.state.as_str())
                        .bind(new.method.map(|m| m.as_str()))
                        .bind(u.verified_on.to_string())
                        .bind(actor.id.map(|p| p.to_string()))
                        .bind(time_text(now))
                        .bind(&id)
                        .execute(&mut *conn)
                        .await?;
                        let mut changes = Map::new();
                        let fields = [
                            ("encryption_state", json!(old.state), json!(new.state)),
                            ("encryption_method", json!(old.method), json!(new.method)),
                            (
                                "encryption_verified_on",
                                json!(old.verified_on),
                                json!(new.verified_on),
                            ),
                        ];
                        for (field, from, to) in fields {
                            if from != to {
                                changes.insert(field.into(), json!({"from": from, "to": to}));
                            }
                        }
                        changes.insert(
                            "source".into(),
                            Value::String(format!("encryption import, line {}", row.line)),
                        );
                        append(conn, &actor, "device.updated", &before.subject(), changes.into(), now)
                            .await?;
                        summary.updated.push(before.details.tag.to_string());
                    }
                    progress(i + 1);
                }
                Ok(Outcome::Written(summary))
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_spreadsheet_bom_and_blank_lines_do_not_move_line_numbers() {
        let t = read_table(b"\xEF\xBB\xBFtag , kind\n\nLAP-1, laptop \n , \n\"LAP-2\",\"lap\ntop\"\nLAP-3,camera\n").unwrap();
        assert_eq!(t.header_line, 1);
        assert_eq!(t.headers, vec!["tag", "kind"]);
        let lines: Vec<u64> = t.rows.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![3, 5, 7]);
        assert_eq!(t.rows[0].cells, vec!["LAP-1", "laptop"]);
    }

    #[test]
    fn an_excel_csv_in_windows_1252_keeps_its_pound_signs() {
        let t = read_table(b"tag,cost\nLAP-1,\xA3349.99 \x96 \x80\n").unwrap();
        assert_eq!(t.rows[0].cells[1], "£349.99 – €");
    }

    #[test]
    fn an_empty_file_is_a_problem_on_line_one() {
        let p = read_table(b"\n\n").unwrap_err();
        assert_eq!(p.line, 1);
        assert!(read_table(b"\xFF\xFEt\0").is_err());
    }

    mod hostile {
        use super::*;
        use kitroom_core::import::{
            check_devices, check_encryption, check_people, Mapping, RegisterKeys, Sheet,
        };
        use proptest::prelude::*;
        use std::collections::HashSet;

        /// Cells a hostile or careless spreadsheet holds.
        fn cell() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-zA-Z0-9 ]{0,12}",
                Just("=HYPERLINK(\"http://x\",\"y\")".to_owned()),
                Just("+1+1".to_owned()),
                Just("-2".to_owned()),
                Just("@SUM(A1)".to_owned()),
                Just("<script>alert(1)</script>".to_owned()),
                Just("\0".to_owned()),
                Just("\"quoted, \"\"twice\"\"\"".to_owned()),
                Just("99999999999999999999999999".to_owned()),
                Just("-1".to_owned()),
                Just("£-0.01".to_owned()),
                Just("1e308".to_owned()),
                Just("%_%".to_owned()),
                Just("2026-02-30".to_owned()),
                Just("laptop".to_owned()),
                Just("encrypted".to_owned()),
                Just("admin".to_owned()),
                any::<String>(),
            ]
        }

        fn csv_file() -> impl Strategy<Value = Vec<u8>> {
            let headings = prop::sample::subsequence(
                vec![
                    "tag",
                    "kind",
                    "location",
                    "serial",
                    "cost",
                    "purchased",
                    "username",
                    "full name",
                    "role",
                    "email",
                    "encryption",
                    "status",
                    "x",
                ],
                0..8,
            );
            (
                headings,
                prop::collection::vec(prop::collection::vec(cell(), 0..9), 0..12),
                any::<bool>(),
            )
                .prop_map(|(h, rows, crlf)| {
                    let end = if crlf { "\r\n" } else { "\n" };
                    let mut out = h.join(",");
                    out.push_str(end);
                    for r in rows {
                        out.push_str(&r.join(","));
                        out.push_str(end);
                    }
                    out.into_bytes()
                })
        }

        fn check_everything(bytes: &[u8]) {
            let Ok(table) = read_table(bytes) else { return };
            let today = chrono::NaiveDate::from_ymd_opt(2026, 11, 23).unwrap();
            let keys = RegisterKeys::default();
            for sheet in Sheet::ALL {
                let mapping = Mapping::automatic(*sheet, &table.headers);
                let _ = mapping.problems(&table);
                let checked_rows = match sheet {
                    Sheet::Devices => check_devices(&table, mapping, &keys, today).checked,
                    Sheet::People => check_people(&table, mapping, &HashSet::new(), None).checked,
                    Sheet::Encryption => check_encryption(&table, mapping, &keys, today).checked,
                };
                assert!(checked_rows <= table.rows.len());
            }
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

            /// Any bytes at all, invalid UTF-8 and NULs included: an answer, never a panic.
            #[test]
            fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..2000)) {
                check_everything(&bytes);
            }

            /// Spreadsheet-shaped files full of formulas, markup, huge and negative
            /// numbers and impossible dates: checked, never a panic.
            #[test]
            fn hostile_spreadsheets_are_checked_without_panicking(bytes in csv_file()) {
                check_everything(&bytes);
            }
        }
    }
}
