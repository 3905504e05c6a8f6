//! Importing the school's existing spreadsheets: column mapping, and checking every
//! row of a file before anything is written.
//!
//! Reading the file is not done here (`kitroom_store::import::read_table` does it with
//! the `csv` crate): a file arrives as a [`Table`] of trimmed cells, each row with the
//! line of the file it starts on. A [`Mapping`] says which of Kitroom's [`Field`]s
//! each column holds. Checking is pure: the caller passes what the register already
//! holds ([`RegisterKeys`], the usernames in use) and today's date, and gets back a
//! [`Checked`] set: every row that may be written, and every [`Problem`] found, each by
//! line and column, so the whole file can be fixed in one go. Nothing may be written
//! while there is a problem.
//!
//! The checks go a row at a time ([`DeviceCheck::row`] and its siblings), so a caller
//! can show progress on a large file.
//!
//! # Layout
//! - [`Sheet`] and [`Field`]: the three kinds of file and the columns each can have.
//! - [`Table`], [`Row`], [`Problem`]: a file as read, and what is wrong with it.
//! - [`Mapping`]: which field each column holds, chosen or matched by its heading.
//! - [`DeviceCheck`], [`PeopleCheck`], [`EncryptionCheck`]: the row-by-row checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::str::FromStr;

use chrono::NaiveDate;

use crate::dates::{check_range, DateColumn, DateUse};
use crate::device::{
    Condition, DeviceDetails, DeviceInput, DeviceKind, EncryptionMethod, EncryptionState,
};
use crate::person::{
    may_manage_account, Account, AccountChange, AccountKeeper, PersonDetails, PersonInput,
    PersonKind, Role,
};

/// The kinds of file Kitroom imports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Sheet {
    /// The school's existing inventory: new devices for the register.
    Devices,
    /// Accounts for staff, governors, volunteers and visitors.
    People,
    /// A device-management export: each serial number's encryption status.
    Encryption,
}

impl Sheet {
    pub const ALL: &'static [Sheet] = &[Sheet::Devices, Sheet::People, Sheet::Encryption];

    /// The word in the page's address and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Sheet::Devices => "devices",
            Sheet::People => "people",
            Sheet::Encryption => "encryption",
        }
    }

    /// What the file holds, in words.
    pub fn title(self) -> &'static str {
        match self {
            Sheet::Devices => "Devices",
            Sheet::People => "People",
            Sheet::Encryption => "Encryption status",
        }
    }

    /// The columns a file of this kind can have.
    pub fn fields(self) -> &'static [Field] {
        match self {
            Sheet::Devices => DEVICE_FIELDS,
            Sheet::People => PERSON_FIELDS,
            Sheet::Encryption => ENCRYPTION_FIELDS,
        }
    }

    pub fn field(self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }
}

impl FromStr for Sheet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sheet::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| format!("“{s}” is not something Kitroom imports."))
    }
}

/// One of Kitroom's fields that a column can hold. Its `name` is also the column
/// heading Kitroom's own exports use.
#[derive(Debug, PartialEq, Eq)]
pub struct Field {
    pub name: &'static str,
    pub label: &'static str,
    /// Every file of this kind needs a column for it.
    pub required: bool,
    /// Other headings that mean this field, written as [`heading_key`] writes them.
    aliases: &'static [&'static str],
}

const fn field(
    name: &'static str,
    label: &'static str,
    required: bool,
    aliases: &'static [&'static str],
) -> Field {
    Field {
        name,
        label,
        required,
        aliases,
    }
}

const DEVICE_FIELDS: &[Field] = &[
    field(
        "tag",
        "Asset tag",
        true,
        // Google Admin's "Asset ID"; Intune's "Device name" is the name the school
        // gave the device, most often the tag on its label.
        &[
            "asset",
            "asset_number",
            "asset_no",
            "asset_id",
            "device_name",
        ],
    ),
    field(
        "kind",
        "Kind",
        true,
        &["type", "device_type", "device_kind", "category"],
    ),
    field("make", "Make", false, &["manufacturer", "brand"]),
    // Snipe-IT's "Model name" (its "Model Number" is a part number, not kept).
    field("model", "Model", false, &["model_name"]),
    field(
        "serial",
        "Serial number",
        false,
        &["serial_no", "serialnumber", "sn"],
    ),
    field("location", "Home location", true, &["room", "home"]),
    field("condition", "Condition", false, &[]),
    field(
        "purchased_on",
        "Purchase date",
        false,
        &["purchased", "date_purchased", "bought"],
    ),
    field(
        "cost",
        "Cost in pounds",
        false,
        &["price", "cost_gbp", "purchase_cost"],
    ),
    field("cost_pence", "Cost in pence", false, &[]),
    field("supplier", "Supplier", false, &["vendor"]),
    field(
        "warranty_until",
        "Warranty ends",
        false,
        &[
            "warranty",
            "warranty_end",
            "warranty_expires",
            "warranty_expiry",
            "warranty_expires_on",
        ],
    ),
    field("notes", "Notes", false, &["comments", "note"]),
    field(
        "encryption_state",
        "Encryption",
        false,
        ENCRYPTION_STATE_ALIASES,
    ),
    field("encryption_method", "Encryption method", false, &[]),
    field(
        "encryption_verified_on",
        "Encryption verified on",
        false,
        // Not "Last Sync" and its kind: in a devices file, a device's last report
        // is no evidence of encryption.
        &["encryption_verified", "verified_on"],
    ),
    field(
        "passcode_enforced",
        "Passcode enforced",
        false,
        &["passcode", "passcode_lock"],
    ),
    field(
        "holds_personal_data",
        "May hold personal data",
        false,
        &["personal_data"],
    ),
    field(
        "captures_images",
        "Takes photos or video",
        false,
        &["camera", "takes_photos"],
    ),
];

const PERSON_FIELDS: &[Field] = &[
    field(
        "username",
        "Username",
        true,
        &["login", "user", "user_name"],
    ),
    field("full_name", "Full name", true, &["name"]),
    field("email", "Email address", false, &["e_mail"]),
    field(
        "position",
        "Position",
        false,
        &["job_title", "title", "job"],
    ),
    field("kind", "Kind of person", false, &["type"]),
    field("role", "Role in Kitroom", false, &[]),
];

const ENCRYPTION_FIELDS: &[Field] = &[
    field(
        "serial",
        "Serial number",
        true,
        &["serial_no", "serialnumber", "sn"],
    ),
    // Needed, unless the file is Google Admin's Chrome devices export: see
    // [`Mapping::problems`] and [`chrome_status`].
    field(
        "encryption_state",
        "Encryption",
        true,
        ENCRYPTION_STATE_ALIASES,
    ),
    field("encryption_method", "Encryption method", false, &[]),
    field(
        "encryption_verified_on",
        "Encryption verified on",
        false,
        VERIFIED_ON_ALIASES,
    ),
    field(
        "chrome_status",
        "Status in Google Admin",
        false,
        &["status", "chrome_status"],
    ),
];

/// The encryption columns of device-management exports: Intune's "Encrypted",
/// Jamf Pro's "FileVault 2 Status" (computers) and "Data Protection" (mobile devices).
const ENCRYPTION_STATE_ALIASES: &[&str] = &[
    "encrypted",
    "encryption_status",
    "bitlocker_status",
    "filevault_status",
    "filevault_2_status",
    "storage_encryption",
    "data_protection",
];

/// When the device last reported: Intune's "Last check-in", Google Admin's "Last
/// Sync", Jamf Pro's "Last Inventory Update".
const VERIFIED_ON_ALIASES: &[&str] = &[
    "encryption_verified",
    "verified_on",
    "last_check_in",
    "checked_on",
    "last_sync",
    "last_inventory_update",
];

/// How a message names a field in words: "the asset tag", "the kind of device".
pub fn described(f: &Field) -> String {
    match f.name {
        "kind" if f.label == "Kind" => "the kind of device".into(),
        "encryption_state" => "the encryption status".into(),
        "chrome_status" => "the status in Google Admin".into(),
        _ => format!("the {}", f.label.to_lowercase()),
    }
}

/// The usual names of Snipe-IT's categories (and other registers' types) for each
/// kind: plural or singular, any case. `None` for a word that names no kind, which
/// the person then maps once ([`Mapping::choose_value`]).
pub fn kind_word(s: &str) -> Option<DeviceKind> {
    let key = heading_key(s);
    if key.is_empty() {
        return None;
    }
    if let Some(k) = DeviceKind::ALL
        .iter()
        .find(|k| k.as_str() == key || heading_key(k.label()) == key)
    {
        return Some(*k);
    }
    let single = key.strip_suffix('s').unwrap_or(&key);
    let kind = match single {
        "ipad" | "ipad_mini" | "ipad_air" | "ipad_pro" => DeviceKind::Ipad,
        "tablet" | "android_tablet" | "tablet_computer" => DeviceKind::Tablet,
        "laptop" | "notebook" | "macbook" | "netbook" | "laptop_computer" => DeviceKind::Laptop,
        "chromebook" => DeviceKind::Chromebook,
        "desktop" | "desktop_computer" | "desktop_pc" | "pc" | "computer" | "workstation"
        | "all_in_one" | "imac" => DeviceKind::Desktop,
        "camera" | "digital_camera" | "video_camera" | "camcorder" | "webcam" => DeviceKind::Camera,
        "phone" | "mobile_phone" | "mobile" | "smartphone" | "iphone" | "cell_phone" => {
            DeviceKind::Phone
        }
        _ => return None,
    };
    Some(kind)
}

/// A heading or a word as it is compared: lower case, every run of other characters
/// turned into one `_`. "Serial Number", "serial-number" and "serial_number" match.
pub fn heading_key(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_alphanumeric() {
            out.extend(c.to_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_owned()
}

/// A file as read: its heading line and every row after it that has anything in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Table {
    /// The line the headings are on (1, unless the file starts with blank lines).
    pub header_line: u64,
    pub headers: Vec<String>,
    pub rows: Vec<Row>,
}

impl Table {
    /// How a problem names column `i`: its heading, or its position when it has none.
    pub fn column_name(&self, i: usize) -> String {
        match self.headers.get(i) {
            Some(h) if !h.is_empty() => h.clone(),
            _ => format!("#{}", i + 1),
        }
    }
}

/// One row of a file: its cells, trimmed, and the line of the file it starts on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub line: u64,
    pub cells: Vec<String>,
}

/// Something wrong with one cell, one line or the file itself. The line is the
/// file's own (the heading line is 1) and the column is named by its heading.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Problem {
    pub line: u64,
    /// The column's heading; empty when the problem is about the whole line or file.
    pub column: String,
    pub message: String,
}

impl Problem {
    pub fn new(line: u64, column: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            line,
            column: column.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.column.is_empty() {
            write!(f, "line {}: {}", self.line, self.message)
        } else {
            write!(
                f,
                "line {}, column {}: {}",
                self.line, self.column, self.message
            )
        }
    }
}

/// Which field each column holds (`None` for a column that is ignored), and the
/// word the person chose for a value Kitroom does not know ("Ornamental Railings"
/// in a kind column is `other`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    sheet: Sheet,
    columns: Vec<Option<&'static str>>,
    /// (field, [`heading_key`] of the value) → (the value as written, the word chosen).
    values: BTreeMap<(&'static str, String), (String, String)>,
}

impl Mapping {
    /// Matches each heading to the field of that name (or its label, or a common
    /// other name for it: "Serial Number" holds `serial`). Other columns are ignored.
    pub fn automatic(sheet: Sheet, headers: &[String]) -> Mapping {
        let columns = headers
            .iter()
            .map(|h| {
                let key = heading_key(h);
                sheet
                    .fields()
                    .iter()
                    .find(|f| {
                        f.name == key || heading_key(f.label) == key || f.aliases.contains(&&*key)
                    })
                    .map(|f| f.name)
            })
            .collect();
        Mapping {
            sheet,
            columns,
            values: BTreeMap::new(),
        }
    }

    /// The fields a person chose for each column, by name; an empty or unknown
    /// choice ignores the column.
    pub fn chosen(sheet: Sheet, headers: &[String], choices: &[String]) -> Mapping {
        let columns = (0..headers.len())
            .map(|i| {
                choices
                    .get(i)
                    .and_then(|c| sheet.field(c.trim()))
                    .map(|f| f.name)
            })
            .collect();
        Mapping {
            sheet,
            columns,
            values: BTreeMap::new(),
        }
    }

    /// Says that the column headed `column` holds `field` (by its name, as in
    /// `--map-column "Asset ID=tag"`); an empty field or `ignore` ignores the column.
    /// Another column matched to the same field is then ignored.
    pub fn choose_column(
        &mut self,
        headers: &[String],
        column: &str,
        field: &str,
    ) -> Result<(), String> {
        let column = column.trim();
        let i = headers
            .iter()
            .position(|h| h.trim() == column)
            .or_else(|| {
                headers
                    .iter()
                    .position(|h| heading_key(h) == heading_key(column))
            })
            .ok_or_else(|| {
                format!(
                    "The file has no column “{column}”. Its columns are: {}.",
                    headers.join(", ")
                )
            })?;
        let field = field.trim();
        let chosen = if field.is_empty() || field.eq_ignore_ascii_case("ignore") {
            None
        } else {
            Some(self.field_named(field)?.name)
        };
        if chosen.is_some() {
            for c in self.columns.iter_mut().filter(|c| **c == chosen) {
                *c = None;
            }
        }
        if self.columns.len() <= i {
            self.columns.resize(i + 1, None);
        }
        self.columns[i] = chosen;
        Ok(())
    }

    fn field_named(&self, name: &str) -> Result<&'static Field, String> {
        let key = heading_key(name);
        self.sheet
            .fields()
            .iter()
            .find(|f| f.name == key || heading_key(f.label) == key)
            .ok_or_else(|| {
                format!(
                    "“{}” is not one of Kitroom's {} fields. They are: {}.",
                    name.trim(),
                    self.sheet.as_str(),
                    self.sheet
                        .fields()
                        .iter()
                        .map(|f| f.name)
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })
    }

    /// Says that `value` in the column holding `field` means `word` (as in
    /// `--map-value "kind:Ornamental Railings=other"`). A kind or a condition must be
    /// one Kitroom has.
    pub fn choose_value(&mut self, field: &str, value: &str, word: &str) -> Result<(), String> {
        let f = self.field_named(field)?;
        let word = word.trim();
        let word = match f.name {
            "kind" if self.sheet == Sheet::Devices => kind_word(word)
                .map(|k| k.as_str().to_owned())
                .ok_or_else(|| {
                    format!(
                        "“{word}” is not a kind of device. Choose one of: {}.",
                        DeviceKind::ALL
                            .iter()
                            .map(|k| k.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })?,
            _ => word.to_owned(),
        };
        self.values.insert(
            (f.name, heading_key(value)),
            (value.trim().to_owned(), word),
        );
        Ok(())
    }

    /// The word chosen for `value` in the column holding `field`, if one was.
    pub fn value_for(&self, field: &str, value: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|((f, k), _)| *f == field && *k == heading_key(value))
            .map(|(_, (_, w))| w.as_str())
    }

    /// Every value chosen: (field, value as written, word).
    pub fn value_choices(&self) -> impl Iterator<Item = (&'static str, &str, &str)> {
        self.values
            .iter()
            .map(|((f, _), (v, w))| (*f, v.as_str(), w.as_str()))
    }

    pub fn sheet(&self) -> Sheet {
        self.sheet
    }

    /// The field column `i` holds.
    pub fn field_of(&self, i: usize) -> Option<&'static str> {
        self.columns.get(i).copied().flatten()
    }

    /// The column holding `field`, if one does.
    pub fn column_of(&self, field: &str) -> Option<usize> {
        self.columns.iter().position(|c| *c == Some(field))
    }

    /// The columns that no field was found for.
    pub fn ignored(&self) -> Vec<usize> {
        (0..self.columns.len())
            .filter(|i| self.columns[*i].is_none())
            .collect()
    }

    /// What is wrong with the mapping itself, reported on the heading line: a field
    /// every row needs has no column, or two columns hold the same field.
    pub fn problems(&self, table: &Table) -> Vec<Problem> {
        let line = table.header_line;
        let mut problems = Vec::new();
        // Google Admin's Chrome export has no encryption column: its Status says it.
        let chrome = self.sheet == Sheet::Encryption && self.column_of("chrome_status").is_some();
        for f in self.sheet.fields() {
            let holding: Vec<usize> = (0..self.columns.len())
                .filter(|i| self.columns[*i] == Some(f.name))
                .collect();
            if f.required && holding.is_empty() && !(chrome && f.name == "encryption_state") {
                problems.push(Problem::new(
                    line,
                    "",
                    format!(
                        "No column holds {}, and every row needs it. Choose which column holds it (at the command line, --map-column \"COLUMN={}\"), or head a column “{}”.",
                        described(f),
                        f.name,
                        f.label
                    ),
                ));
            }
            for extra in holding.iter().skip(1) {
                problems.push(Problem::new(
                    line,
                    table.column_name(*extra),
                    format!(
                        "Columns {} and {} both hold {}. Keep one and ignore the other.",
                        table.column_name(holding[0]),
                        table.column_name(*extra),
                        described(f)
                    ),
                ));
            }
        }
        if let (Some(a), Some(b)) = (self.column_of("cost"), self.column_of("cost_pence")) {
            problems.push(Problem::new(
                line,
                table.column_name(b),
                format!(
                    "Columns {} and {} both hold the cost. Keep one and ignore the other.",
                    table.column_name(a),
                    table.column_name(b)
                ),
            ));
        }
        problems
    }
}

/// A checked row and the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lined<T> {
    pub line: u64,
    pub value: T,
}

/// The outcome of checking a file: the rows that may be written and every problem.
/// Rows may be written only when there is no problem at all ([`Checked::is_ready`]).
#[derive(Debug, Clone)]
pub struct Checked<T> {
    pub sheet: Sheet,
    pub rows: Vec<Lined<T>>,
    pub problems: Vec<Problem>,
    /// How many rows of the file were checked.
    pub checked: usize,
    /// What the preview says about how the file was read, though nothing is wrong:
    /// "Dates in Purchase Date read as day-first (UK): no value said otherwise."
    pub notes: Vec<String>,
    /// Rows read but not to be written, and not a reason to refuse the file: an
    /// encryption row whose status is blank, or a Chrome device no longer provisioned.
    pub left_alone: Vec<LeftAlone>,
    /// Each field's column heading (or the field's label when no column holds it).
    columns: HashMap<&'static str, String>,
}

/// A row of an encryption file that is listed and left alone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LeftAlone {
    pub line: u64,
    pub serial: String,
    /// Why, in words, naming the file's own column.
    pub reason: String,
}

impl fmt::Display for LeftAlone {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "line {}: {} left alone: {}",
            self.line, self.serial, self.reason
        )
    }
}

impl<T> Checked<T> {
    /// Every row passed, and there is at least one.
    pub fn is_ready(&self) -> bool {
        self.problems.is_empty() && !self.rows.is_empty()
    }

    /// The heading of the column holding `field`, to name it in a problem.
    pub fn column(&self, field: &str) -> String {
        self.columns
            .get(field)
            .cloned()
            .unwrap_or_else(|| field.to_owned())
    }
}

/// What a row check shares, whatever the file holds.
struct Base<T> {
    mapping: Mapping,
    width: usize,
    header_line: u64,
    /// Each date field's column, read as a whole before any row.
    dates: HashMap<&'static str, DateColumn>,
    out: Checked<T>,
}

impl<T> Base<T> {
    fn new(table_headers: &[String], header_line: u64, mapping: Mapping) -> Base<T> {
        let table = Table {
            header_line,
            headers: table_headers.to_vec(),
            rows: Vec::new(),
        };
        let columns = mapping
            .sheet
            .fields()
            .iter()
            .map(|f| {
                let name = mapping
                    .column_of(f.name)
                    .map(|i| table.column_name(i))
                    .unwrap_or_else(|| f.label.to_owned());
                (f.name, name)
            })
            .collect();
        let problems = mapping.problems(&table);
        Base {
            width: table_headers.len(),
            header_line,
            out: Checked {
                sheet: mapping.sheet,
                rows: Vec::new(),
                problems,
                checked: 0,
                notes: Vec::new(),
                left_alone: Vec::new(),
                columns,
            },
            mapping,
            dates: HashMap::new(),
        }
    }

    /// Decides how each of these date fields' columns is written, from all of the
    /// column's values ([`DateColumn::read`]), and notes how it is read.
    fn read_dates(mut self, table: &Table, fields: &[&'static str], today: NaiveDate) -> Self {
        for field in fields {
            let Some(i) = self.mapping.column_of(field) else {
                continue;
            };
            let values = table
                .rows
                .iter()
                .map(|r| (r.line, r.cells.get(i).map(String::as_str).unwrap_or("")));
            let column = DateColumn::read(values, today);
            self.out.notes.extend(column.note(&table.column_name(i)));
            self.dates.insert(field, column);
        }
        self
    }

    /// The date in a date field's cell, as its column is read; a problem is added
    /// to `problems`, and the date is then `None`.
    fn date(
        &self,
        row: &Row,
        field: &str,
        label: &str,
        today: NaiveDate,
        problems: &mut Vec<Problem>,
    ) -> Option<NaiveDate> {
        let read = match self.dates.get(field) {
            Some(column) => column.date(row.line, self.cell(row, field), today, label),
            None => Ok(None),
        };
        read.map_err(|m| problems.push(self.problem(row.line, field, m)))
            .ok()
            .flatten()
    }

    fn cell<'r>(&self, row: &'r Row, field: &str) -> &'r str {
        self.mapping
            .column_of(field)
            .and_then(|i| row.cells.get(i))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    /// Starts a row: counts it and reports cells beyond the last heading.
    fn start(&mut self, row: &Row) -> Vec<Problem> {
        self.out.checked += 1;
        let mut problems = Vec::new();
        if let Some(i) = (self.width..row.cells.len()).find(|i| !row.cells[*i].trim().is_empty()) {
            problems.push(Problem::new(
                row.line,
                format!("#{}", i + 1),
                format!(
                    "This line has more cells than the heading line has columns ({}). Check for a comma that should be inside quotes.",
                    self.width
                ),
            ));
        }
        problems
    }

    fn problem(&self, line: u64, field: &str, message: impl Into<String>) -> Problem {
        Problem::new(line, self.out.column(field), message)
    }

    /// Records a row: written only if it has no problem.
    fn finish_row(&mut self, line: u64, value: Option<T>, problems: Vec<Problem>) {
        match value {
            Some(value) if problems.is_empty() => self.out.rows.push(Lined { line, value }),
            _ => self.out.problems.extend(problems),
        }
    }

    fn finish(mut self) -> Checked<T> {
        if self.out.checked == 0 && self.out.problems.is_empty() {
            self.out.problems.push(Problem::new(
                self.header_line,
                "",
                "There are no rows below the heading line, so there is nothing to import.",
            ));
        }
        self.out
    }
}

/// The word for one of Kitroom's closed lists as a spreadsheet may write it: the
/// word itself in any case, or its label ("Not encrypted", "iPad", "Business manager").
/// Anything else is passed through, so the list's own check explains it.
fn word<T: Copy>(
    s: &str,
    all: &[T],
    as_str: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
) -> String {
    let key = heading_key(s);
    all.iter()
        .find(|x| as_str(**x) == key || heading_key(label(**x)) == key)
        .map(|x| as_str(*x).to_owned())
        .unwrap_or_else(|| s.trim().to_owned())
}

/// A yes-or-no cell: yes, y, true, 1, on, x or ✓; no, n, false, 0, off or empty.
pub fn yes_no(s: &str) -> Result<bool, String> {
    match heading_key(s).as_str() {
        "yes" | "y" | "true" | "1" | "on" | "x" => Ok(true),
        "" if s.trim() == "✓" || s.trim() == "✔" => Ok(true),
        "" | "no" | "n" | "false" | "0" | "off" => Ok(false),
        _ => Err(format!("Write yes or no here, not “{}”.", s.trim())),
    }
}

/// An encryption status as device-management tools write it: `encrypted`, yes, true,
/// on, "BitLocker On", "Protection On" and the like say encrypted; `not_encrypted`,
/// no, false, off, "FileVault Off", "Decrypted" say not. Anything else is refused
/// rather than guessed: a wrong "encrypted" would let a device leave the site.
pub fn encryption_status(s: &str) -> Result<EncryptionState, String> {
    let key = heading_key(s).replace('_', " ");
    const YES: &[&str] = &[
        "encrypted",
        // Jamf Pro's FileVault 2 Status.
        "all partitions encrypted",
        "boot partitions encrypted",
        "yes",
        "y",
        "true",
        "on",
        "1",
        "enabled",
        "protected",
        "fully encrypted",
        "compliant",
    ];
    const NO: &[&str] = &[
        "not encrypted",
        "no partitions encrypted",
        "no",
        "n",
        "false",
        "off",
        "0",
        "disabled",
        "unencrypted",
        "decrypted",
        "fully decrypted",
        "not protected",
        "unprotected",
        "not compliant",
    ];
    if key.is_empty() {
        Err("There is no encryption status on this line. Write encrypted or not_encrypted.".into())
    } else if YES.contains(&key.as_str()) || key.ends_with(" on") || key.ends_with(" enabled") {
        Ok(EncryptionState::Encrypted)
    } else if NO.contains(&key.as_str()) || key.ends_with(" off") || key.ends_with(" disabled") {
        Ok(EncryptionState::NotEncrypted)
    } else {
        Err(format!(
            "“{}” does not say whether the device is encrypted. Write encrypted or not_encrypted (yes and no, on and off work too).",
            s.trim()
        ))
    }
}

/// An encryption cell as an encryption file is read: `None` when it does not say
/// (blank, "unknown", "Not Applicable", or part way through, as Jamf's "Encrypting"
/// and "Some Partitions Encrypted"), and the row is then left alone. A word that is
/// none of these is a problem, as [`encryption_status`] says.
pub fn encryption_reading(s: &str) -> Result<Option<EncryptionState>, String> {
    let key = heading_key(s).replace('_', " ");
    const UNSAID: &[&str] = &[
        "",
        "unknown",
        "not known",
        "not applicable",
        "n a",
        "encrypting",
        "decrypting",
        "pending",
        "some partitions encrypted",
    ];
    if UNSAID.contains(&key.as_str()) {
        return Ok(None);
    }
    encryption_status(s).map(Some)
}

/// What Google Admin's Status says about a Chrome device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChromeStatus {
    /// Provisioned (ACTIVE): managed, so ChromeOS encrypts its user data.
    Provisioned,
    /// Deprovisioned, disabled, or otherwise not managed now: left alone.
    NotManaged,
    /// A blank cell, or a word that is not Google Admin's.
    Other,
}

/// Reads Google Admin's Status column: "Provisioned" or `ACTIVE` is provisioned;
/// deprovisioned, disabled and the other states of a device out of use are not.
pub fn chrome_status(s: &str) -> ChromeStatus {
    match heading_key(s).as_str() {
        "active" | "provisioned" => ChromeStatus::Provisioned,
        "deprovisioned" | "disabled" | "inactive" | "pre_provisioned" | "return_requested"
        | "return_arrived" | "shipped" | "delinquent" | "deprovision" | "lost" => {
            ChromeStatus::NotManaged
        }
        _ => ChromeStatus::Other,
    }
}

/// The distinct values of a devices file's kind column that name no kind and have
/// no word chosen yet, in the order they first appear: each is asked about once.
pub fn unknown_kinds(table: &Table, mapping: &Mapping) -> Vec<String> {
    let Some(i) = mapping
        .column_of("kind")
        .filter(|_| mapping.sheet == Sheet::Devices)
    else {
        return Vec::new();
    };
    let mut seen = HashSet::new();
    table
        .rows
        .iter()
        .filter_map(|r| r.cells.get(i))
        .map(|c| c.trim())
        .filter(|c| {
            !c.is_empty() && kind_word(c).is_none() && mapping.value_for("kind", c).is_none()
        })
        .filter(|c| seen.insert(heading_key(c)))
        .map(str::to_owned)
        .collect()
}

/// Parses `--map-column "HEADING=FIELD"` into its heading and field.
pub fn column_choice(s: &str) -> Result<(String, String), String> {
    s.rsplit_once('=')
        .map(|(c, f)| (c.trim().to_owned(), f.trim().to_owned()))
        .filter(|(c, _)| !c.is_empty())
        .ok_or_else(|| {
            format!("--map-column takes COLUMN=FIELD, like \"Asset ID=tag\", not “{s}”.")
        })
}

/// Parses `--map-value "FIELD:VALUE=WORD"` into its field, value and word.
pub fn value_choice(s: &str) -> Result<(String, String, String), String> {
    s.split_once(':')
        .and_then(|(f, rest)| rest.rsplit_once('=').map(|(v, w)| (f, v, w)))
        .map(|(f, v, w)| (f.trim().to_owned(), v.trim().to_owned(), w.trim().to_owned()))
        .filter(|(f, v, w)| !f.is_empty() && !v.is_empty() && !w.is_empty())
        .ok_or_else(|| {
            format!("--map-value takes FIELD:VALUE=WORD, like \"kind:Ornamental Railings=other\", not “{s}”.")
        })
}

/// The encryption method named somewhere in a cell: "BitLocker On" is BitLocker.
fn method_named_in(s: &str) -> Option<EncryptionMethod> {
    let key = heading_key(s).replace('_', "");
    if key.contains("bitlocker") {
        Some(EncryptionMethod::Bitlocker)
    } else if key.contains("filevault") {
        Some(EncryptionMethod::Filevault)
    } else if key.contains("chromeos") {
        Some(EncryptionMethod::Chromeos)
    } else if key.contains("ipados") || key.contains("dataprotection") {
        Some(EncryptionMethod::Ipados)
    } else {
        None
    }
}

fn method_word(s: &str) -> String {
    let w = word(
        s,
        EncryptionMethod::ALL,
        EncryptionMethod::as_str,
        EncryptionMethod::label,
    );
    if w.parse::<EncryptionMethod>().is_ok() {
        return w;
    }
    method_named_in(s)
        .map(|m| m.as_str().to_owned())
        .unwrap_or(w)
}

/// What the register already holds that an import must not repeat.
#[derive(Debug, Clone, Default)]
pub struct RegisterKeys {
    /// Each device's tag, lower-case, with how a message names the device:
    /// "LAP-0001 (Dell Latitude 5440)".
    pub tags: HashMap<String, String>,
    /// Each serial number, lower-case, with the tags of the devices that have it.
    pub serials: HashMap<String, Vec<String>>,
}

impl RegisterKeys {
    pub fn add(&mut self, tag: &str, make: &str, model: &str, serial: &str) {
        let what = format!("{make} {model}");
        let what = what.trim();
        let name = if what.is_empty() {
            tag.to_owned()
        } else {
            format!("{tag} ({what})")
        };
        self.tags.insert(tag.to_lowercase(), name);
        let serial = serial.trim();
        if !serial.is_empty() {
            self.serials
                .entry(serial.to_lowercase())
                .or_default()
                .push(tag.to_owned());
        }
    }
}

fn tag_on_register(
    line: u64,
    column: String,
    tag: &str,
    register: &RegisterKeys,
) -> Option<Problem> {
    register.tags.get(&tag.to_lowercase()).map(|existing| {
        Problem::new(
            line,
            column,
            format!("The asset tag {tag} is already on the register: {existing}. Each device needs its own tag."),
        )
    })
}

fn serial_on_register(
    line: u64,
    column: String,
    serial: &str,
    register: &RegisterKeys,
) -> Option<Problem> {
    register.serials.get(&serial.to_lowercase()).map(|tags| {
        Problem::new(
            line,
            column,
            format!(
                "The serial number {serial} is already registered, on {}.",
                tags.join(", ")
            ),
        )
    })
}

/// The rows of a checked devices file that clash with the register as it is now:
/// the store checks again inside its write, in case a device was registered since.
pub fn register_clashes(checked: &Checked<DeviceDetails>, register: &RegisterKeys) -> Vec<Problem> {
    let mut problems = Vec::new();
    for r in &checked.rows {
        let d = &r.value;
        problems.extend(tag_on_register(
            r.line,
            checked.column("tag"),
            d.tag.as_str(),
            register,
        ));
        if !d.serial.is_empty() {
            problems.extend(serial_on_register(
                r.line,
                checked.column("serial"),
                &d.serial,
                register,
            ));
        }
    }
    problems
}

/// Checks a devices file a row at a time: every field as the device form checks it,
/// plus tags and serial numbers that repeat within the file or the register.
pub struct DeviceCheck<'a> {
    base: Base<DeviceDetails>,
    register: &'a RegisterKeys,
    today: NaiveDate,
    tags: HashMap<String, u64>,
    serials: HashMap<String, u64>,
}

impl<'a> DeviceCheck<'a> {
    pub fn new(
        table: &Table,
        mapping: Mapping,
        register: &'a RegisterKeys,
        today: NaiveDate,
    ) -> Self {
        DeviceCheck {
            base: Base::new(&table.headers, table.header_line, mapping).read_dates(
                table,
                &["purchased_on", "warranty_until", "encryption_verified_on"],
                today,
            ),
            register,
            today,
            tags: HashMap::new(),
            serials: HashMap::new(),
        }
    }

    pub fn row(&mut self, row: &Row) {
        let line = row.line;
        let mut problems = self.base.start(row);
        let b = &self.base;
        let cell = |f: &str| b.cell(row, f).to_owned();
        let mut date = |f: &str, label: &str| {
            b.date(row, f, label, self.today, &mut problems)
                .map(|d| d.to_string())
                .unwrap_or_default()
        };
        let purchased_on = date("purchased_on", "Purchase date");
        // Snipe-IT's "Warranty" is a number of months from the purchase date (worked
        // out below); anything else in the column is a date.
        let warranty_text = cell("warranty_until");
        let warranty_until = if warranty_text.parse::<u32>().is_ok() {
            warranty_text
        } else {
            date("warranty_until", "Warranty end")
        };
        let encryption_verified_on = date("encryption_verified_on", "Verification date");
        let state = cell("encryption_state");
        let kind_text = cell("kind");
        let kind = match b.mapping.value_for("kind", &kind_text) {
            Some(w) => w.to_owned(),
            None => kind_word(&kind_text)
                .map(|k| k.as_str().to_owned())
                .unwrap_or_else(|| kind_text.clone()),
        };
        let mut input = DeviceInput {
            tag: cell("tag"),
            kind,
            make: cell("make"),
            model: cell("model"),
            serial: cell("serial"),
            location: cell("location"),
            condition: word(
                &cell("condition"),
                Condition::ALL,
                Condition::as_str,
                Condition::label,
            ),
            purchased_on,
            cost: cell("cost"),
            supplier: cell("supplier"),
            warranty_until,
            notes: cell("notes"),
            encryption_state: match heading_key(&state).as_str() {
                "" => String::new(),
                "unknown" | "not_known" => "unknown".into(),
                _ => encryption_status(&state)
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or(state.clone()),
            },
            encryption_method: method_word(&cell("encryption_method")),
            encryption_verified_on,
            ..Default::default()
        };
        // Snipe-IT's "Warranty" is a number of months from the purchase date.
        if let (Ok(months), Ok(bought)) = (
            input.warranty_until.trim().parse::<u32>(),
            NaiveDate::parse_from_str(&input.purchased_on, "%Y-%m-%d"),
        ) {
            if (1..=600).contains(&months) {
                if let Some(until) = bought.checked_add_months(chrono::Months::new(months)) {
                    input.warranty_until = until.format("%Y-%m-%d").to_string();
                }
            }
        }
        if input.encryption_method.is_empty() && input.encryption_state == "encrypted" {
            if let Some(m) = method_named_in(&state) {
                input.encryption_method = m.as_str().into();
            }
        }
        let pence = b.cell(row, "cost_pence");
        let mut cost_from_pence = false;
        if !pence.is_empty() {
            match pence.replace(',', "").parse::<u64>() {
                Ok(p) => {
                    input.cost = format!("{}.{:02}", p / 100, p % 100);
                    cost_from_pence = true;
                }
                Err(_) => problems.push(b.problem(
                    line,
                    "cost_pence",
                    format!("“{pence}” is not a whole number of pence. Write it like 34999 (for £349.99)."),
                )),
            }
        }
        for (field, slot) in [
            ("passcode_enforced", &mut input.passcode_enforced),
            ("holds_personal_data", &mut input.holds_personal_data),
            ("captures_images", &mut input.captures_images),
        ] {
            match yes_no(b.cell(row, field)) {
                Ok(v) => *slot = v,
                Err(m) => problems.push(b.problem(line, field, m)),
            }
        }
        let parsed = match input.parse(self.today) {
            Ok(d) => Some(d),
            Err(invalid) => {
                for e in invalid.0 {
                    let field = if e.field == "cost" && cost_from_pence {
                        "cost_pence"
                    } else {
                        e.field
                    };
                    let message = match e.field {
                        "tag" if input.tag.is_empty() => {
                            "There is no asset tag on this line. Every device needs the tag on its label.".to_owned()
                        }
                        "kind" if input.kind.is_empty() => format!(
                            "There is no kind on this line. Write one of: {}.",
                            DeviceKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        "kind" => format!(
                            "“{kind_text}” is not a kind of device Kitroom knows. Choose its kind once for the whole file (at the command line, --map-value \"kind:{kind_text}=other\" or another of: {}).",
                            DeviceKind::ALL.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                        ),
                        "location" if input.location.is_empty() => {
                            "There is no home location on this line. Write the room it lives in, like Computer room.".to_owned()
                        }
                        _ => e.message,
                    };
                    problems.push(b.problem(line, field, message));
                }
                None
            }
        };
        let tag = input.tag.trim();
        if !tag.is_empty() {
            match self.tags.get(&tag.to_lowercase()) {
                Some(first) => problems.push(b.problem(
                    line,
                    "tag",
                    format!("The asset tag {tag} is also on line {first}. Each device needs its own tag."),
                )),
                None => {
                    self.tags.insert(tag.to_lowercase(), line);
                    problems.extend(tag_on_register(line, b.out.column("tag"), tag, self.register));
                }
            }
        }
        let serial = input.serial.trim();
        if !serial.is_empty() {
            match self.serials.get(&serial.to_lowercase()) {
                Some(first) => problems.push(b.problem(
                    line,
                    "serial",
                    format!("The serial number {serial} is also on line {first}. Two devices cannot share one."),
                )),
                None => {
                    self.serials.insert(serial.to_lowercase(), line);
                    problems.extend(serial_on_register(line, b.out.column("serial"), serial, self.register));
                }
            }
        }
        self.base.finish_row(line, parsed, problems);
    }

    pub fn finish(self) -> Checked<DeviceDetails> {
        self.base.finish()
    }
}

/// Checks a whole devices file.
pub fn check_devices(
    table: &Table,
    mapping: Mapping,
    register: &RegisterKeys,
    today: NaiveDate,
) -> Checked<DeviceDetails> {
    let mut check = DeviceCheck::new(table, mapping, register, today);
    for row in &table.rows {
        check.row(row);
    }
    check.finish()
}

/// The usernames of a checked people file already taken in Kitroom; the store checks
/// again inside its write.
pub fn usernames_taken(checked: &Checked<PersonDetails>, taken: &HashSet<String>) -> Vec<Problem> {
    checked
        .rows
        .iter()
        .filter(|r| taken.contains(r.value.username.as_str()))
        .map(|r| {
            username_taken(
                r.line,
                checked.column("username"),
                r.value.username.as_str(),
            )
        })
        .collect()
}

fn username_taken(line: u64, column: String, username: &str) -> Problem {
    Problem::new(
        line,
        column,
        format!("The username {username} is already taken in Kitroom."),
    )
}

/// Checks a people file a row at a time, as the account form does, plus usernames
/// that repeat within the file or are taken already. `importer` is the person
/// importing, as a keeper of accounts (`None` at the server's command line): each row
/// is an account they add, so the account rule ([`may_manage_account`]) decides which
/// roles a file may hand out, as it does on the form.
pub struct PeopleCheck<'a> {
    base: Base<PersonDetails>,
    taken: &'a HashSet<String>,
    importer: Option<AccountKeeper>,
    usernames: HashMap<String, u64>,
}

impl<'a> PeopleCheck<'a> {
    /// `taken` holds the usernames in use, lower-case.
    pub fn new(
        table: &Table,
        mapping: Mapping,
        taken: &'a HashSet<String>,
        importer: Option<AccountKeeper>,
    ) -> Self {
        PeopleCheck {
            base: Base::new(&table.headers, table.header_line, mapping),
            taken,
            importer,
            usernames: HashMap::new(),
        }
    }

    pub fn row(&mut self, row: &Row) {
        let line = row.line;
        let mut problems = self.base.start(row);
        let b = &self.base;
        let input = PersonInput {
            username: b.cell(row, "username").to_owned(),
            full_name: b.cell(row, "full_name").to_owned(),
            email: b.cell(row, "email").to_owned(),
            position: b.cell(row, "position").to_owned(),
            kind: word(
                b.cell(row, "kind"),
                PersonKind::ALL,
                PersonKind::as_str,
                PersonKind::label,
            ),
            role: word(b.cell(row, "role"), Role::ALL, Role::as_str, Role::label),
        };
        let parsed = match input.parse() {
            Ok(p) => Some(p),
            Err(invalid) => {
                for e in invalid.0 {
                    let message = match e.field {
                        "username" if input.username.is_empty() => {
                            "There is no username on this line.".to_owned()
                        }
                        "full_name" if input.full_name.is_empty() => {
                            "There is no full name on this line.".to_owned()
                        }
                        _ => e.message,
                    };
                    problems.push(b.problem(line, e.field, message));
                }
                None
            }
        };
        if let (Some(p), Some(importer)) = (&parsed, self.importer) {
            if let Err(m) = may_manage_account(
                importer,
                Account::New,
                AccountChange::Details { role: p.role },
            ) {
                problems.push(b.problem(line, "role", m));
            }
        }
        let username = input.username.trim().to_lowercase();
        if !username.is_empty() {
            match self.usernames.get(&username) {
                Some(first) => problems.push(b.problem(
                    line,
                    "username",
                    format!("The username {username} is also on line {first}. Each person needs their own."),
                )),
                None => {
                    self.usernames.insert(username.clone(), line);
                    if self.taken.contains(&username) {
                        problems.push(username_taken(line, b.out.column("username"), &username));
                    }
                }
            }
        }
        self.base.finish_row(line, parsed, problems);
    }

    pub fn finish(self) -> Checked<PersonDetails> {
        self.base.finish()
    }
}

/// Checks a whole people file.
pub fn check_people(
    table: &Table,
    mapping: Mapping,
    taken: &HashSet<String>,
    importer: Option<AccountKeeper>,
) -> Checked<PersonDetails> {
    let mut check = PeopleCheck::new(table, mapping, taken, importer);
    for row in &table.rows {
        check.row(row);
    }
    check.finish()
}

/// One serial number's encryption status, from a device-management export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncryptionUpdate {
    pub serial: String,
    pub state: EncryptionState,
    /// The method the file names; `None` when it names none (the store then keeps
    /// the method on record) or the device is not encrypted.
    pub method: Option<EncryptionMethod>,
    pub verified_on: NaiveDate,
    /// The tags of the devices with this serial number when the file was checked;
    /// empty when no device has it.
    pub devices: Vec<String>,
}

/// Checks an encryption-status file a row at a time. A serial number that matches
/// no device is not a problem: it is listed, and the rest still apply.
pub struct EncryptionCheck<'a> {
    base: Base<EncryptionUpdate>,
    register: &'a RegisterKeys,
    today: NaiveDate,
    serials: HashMap<String, u64>,
}

impl<'a> EncryptionCheck<'a> {
    pub fn new(
        table: &Table,
        mapping: Mapping,
        register: &'a RegisterKeys,
        today: NaiveDate,
    ) -> Self {
        EncryptionCheck {
            base: Base::new(&table.headers, table.header_line, mapping).read_dates(
                table,
                &["encryption_verified_on"],
                today,
            ),
            register,
            today,
            serials: HashMap::new(),
        }
    }

    pub fn row(&mut self, row: &Row) {
        let line = row.line;
        let mut problems = self.base.start(row);
        let b = &self.base;
        let serial = b.cell(row, "serial");
        if serial.is_empty() {
            problems.push(b.problem(line, "serial", "There is no serial number on this line."));
        } else if let Some(first) = self.serials.get(&serial.to_lowercase()) {
            problems.push(b.problem(
                line,
                "serial",
                format!("The serial number {serial} is also on line {first}. Keep only the latest line for each device."),
            ));
        } else {
            self.serials.insert(serial.to_lowercase(), line);
        }
        // Google Admin's Chrome export: a provisioned device is encrypted by ChromeOS,
        // one no longer managed is left alone.
        let chrome = b.mapping.column_of("chrome_status").is_some();
        let has_state = b.mapping.column_of("encryption_state").is_some();
        let chrome_text = b.cell(row, "chrome_status");
        let leave = |reason: String| LeftAlone {
            line,
            serial: serial.to_owned(),
            reason,
        };
        let mut left_alone = None;
        let mut state = None;
        let mut method = Some(None);
        if chrome {
            match chrome_status(chrome_text) {
                ChromeStatus::NotManaged => {
                    left_alone = Some(leave(format!(
                        "its {} is {chrome_text}, so Kitroom does not count it as encrypted.",
                        b.out.column("chrome_status")
                    )))
                }
                ChromeStatus::Provisioned if !has_state => {
                    state = Some(EncryptionState::Encrypted);
                    method = Some(Some(EncryptionMethod::Chromeos));
                }
                ChromeStatus::Other if !has_state => {
                    if chrome_text.is_empty() {
                        left_alone = Some(leave(format!(
                            "its {} cell is empty, so its encryption is unknown.",
                            b.out.column("chrome_status")
                        )));
                    } else {
                        problems.push(b.problem(
                            line,
                            "chrome_status",
                            format!("“{chrome_text}” is not a status Google Admin gives a Chrome device. Kitroom counts a provisioned (ACTIVE) device as encrypted by ChromeOS and leaves deprovisioned and disabled ones alone."),
                        ));
                    }
                }
                _ => {}
            }
        }
        if has_state && left_alone.is_none() {
            let status_text = b.cell(row, "encryption_state");
            match encryption_reading(status_text) {
                Ok(Some(s)) => state = Some(s),
                Ok(None) => {
                    let column = b.out.column("encryption_state");
                    left_alone = Some(leave(if status_text.is_empty() {
                        format!("its {column} cell is empty, so its encryption is unknown.")
                    } else {
                        format!("its {column} says “{status_text}”, which is neither encrypted nor not, so its encryption is unknown.")
                    }));
                }
                Err(m) => problems.push(b.problem(line, "encryption_state", m)),
            }
            let method_text = b.cell(row, "encryption_method");
            method = if method_text.is_empty() {
                // "BitLocker On" is BitLocker; a "FileVault 2 Status" column is FileVault.
                Ok(method_named_in(status_text)
                    .or_else(|| method_named_in(&b.out.column("encryption_state"))))
            } else {
                method_word(method_text)
                    .parse::<EncryptionMethod>()
                    .map(Some)
            }
            .map_err(|m| problems.push(b.problem(line, "encryption_method", m)))
            .ok();
        }
        let label = "The verification date";
        let mut date_problems = Vec::new();
        let verified_on = match b.date(
            row,
            "encryption_verified_on",
            label,
            self.today,
            &mut date_problems,
        ) {
            _ if !date_problems.is_empty() => None,
            Some(d) => check_range(d, DateUse::Checked, self.today, label)
                .map_err(|m| problems.push(b.problem(line, "encryption_verified_on", m)))
                .ok(),
            None => Some(self.today),
        };
        problems.extend(date_problems);
        if let Some(l) = left_alone {
            if problems.is_empty() {
                self.base.out.left_alone.push(l);
                return;
            }
        }
        let update = match (state, method, verified_on) {
            (Some(state), Some(method), Some(verified_on)) => Some(EncryptionUpdate {
                serial: serial.to_owned(),
                state,
                // Only an encrypted device has a method.
                method: method.filter(|_| state == EncryptionState::Encrypted),
                verified_on,
                devices: self
                    .register
                    .serials
                    .get(&serial.to_lowercase())
                    .cloned()
                    .unwrap_or_default(),
            }),
            _ => None,
        };
        self.base.finish_row(line, update, problems);
    }

    pub fn finish(self) -> Checked<EncryptionUpdate> {
        self.base.finish()
    }
}

/// Checks a whole encryption-status file.
pub fn check_encryption(
    table: &Table,
    mapping: Mapping,
    register: &RegisterKeys,
    today: NaiveDate,
) -> Checked<EncryptionUpdate> {
    let mut check = EncryptionCheck::new(table, mapping, register, today);
    for row in &table.rows {
        check.row(row);
    }
    check.finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    fn table(header: &str, rows: &[&str]) -> Table {
        Table {
            header_line: 1,
            headers: header.split(',').map(str::to_owned).collect(),
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| Row {
                    line: i as u64 + 2,
                    cells: r.split(',').map(|c| c.trim().to_owned()).collect(),
                })
                .collect(),
        }
    }

    fn devices(t: &Table, register: &RegisterKeys) -> Checked<DeviceDetails> {
        check_devices(
            t,
            Mapping::automatic(Sheet::Devices, &t.headers),
            register,
            today(),
        )
    }

    #[test]
    fn headings_match_whatever_their_case_or_spacing() {
        let headers: Vec<String> = ["Asset Tag", "Serial Number", "KIND", "Room", "Colour"]
            .map(String::from)
            .to_vec();
        let m = Mapping::automatic(Sheet::Devices, &headers);
        assert_eq!(m.field_of(0), Some("tag"));
        assert_eq!(m.field_of(1), Some("serial"));
        assert_eq!(m.field_of(2), Some("kind"));
        assert_eq!(m.field_of(3), Some("location"));
        assert_eq!(m.field_of(4), None);
        assert_eq!(m.ignored(), vec![4]);
    }

    #[test]
    fn a_file_without_a_tag_column_is_refused_once_on_the_heading_line() {
        let t = table("kind,location", &["laptop,Library"]);
        let c = devices(&t, &RegisterKeys::default());
        assert_eq!(c.problems[0].line, 1);
        assert_eq!(c.problems[0].to_string(), "line 1: No column holds the asset tag, and every row needs it. Choose which column holds it (at the command line, --map-column \"COLUMN=tag\"), or head a column “Asset tag”.");
        assert!(!c.is_ready());
    }

    fn headers(line: &str) -> Vec<String> {
        line.split(',').map(str::to_owned).collect()
    }

    fn fields_of(sheet: Sheet, line: &str) -> Vec<(String, &'static str)> {
        let h = headers(line);
        let m = Mapping::automatic(sheet, &h);
        (0..h.len())
            .filter_map(|i| m.field_of(i).map(|f| (h[i].clone(), f)))
            .collect()
    }

    #[test]
    fn the_real_exports_headings_are_matched() {
        let own = |v: &[(&str, &'static str)]| {
            v.iter()
                .map(|(h, f)| (h.to_string(), *f))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            fields_of(Sheet::Devices, "Full Name,Email,Username,Item Name,Category,Model name,Manufacturer,Model Number,Serial,Asset Tag,Location,Notes,Purchase Date,Purchase Cost,Company,Status,Warranty,Supplier"),
            own(&[("Category", "kind"), ("Model name", "model"), ("Manufacturer", "make"), ("Serial", "serial"), ("Asset Tag", "tag"), ("Location", "location"), ("Notes", "notes"), ("Purchase Date", "purchased_on"), ("Purchase Cost", "cost"), ("Warranty", "warranty_until"), ("Supplier", "supplier")])
        );
        assert_eq!(
            fields_of(
                Sheet::Devices,
                "Serial Number,Status,Asset ID,User,Location,Notes,Last Sync,Model"
            ),
            own(&[
                ("Serial Number", "serial"),
                ("Asset ID", "tag"),
                ("Location", "location"),
                ("Notes", "notes"),
                ("Model", "model")
            ])
        );
        assert_eq!(
            fields_of(
                Sheet::Encryption,
                "Serial Number,Status,Asset ID,User,Location,Notes,Last Sync,Model"
            ),
            own(&[
                ("Serial Number", "serial"),
                ("Status", "chrome_status"),
                ("Last Sync", "encryption_verified_on")
            ])
        );
        assert_eq!(
            fields_of(Sheet::Encryption, "Device ID,Device name,Enrollment date,Last check-in,Serial number,Manufacturer,Model,Encrypted"),
            own(&[("Last check-in", "encryption_verified_on"), ("Serial number", "serial"), ("Encrypted", "encryption_state")])
        );
        assert_eq!(
            fields_of(
                Sheet::Encryption,
                "Computer Name,Serial Number,Asset Tag,Last Inventory Update,FileVault 2 Status"
            ),
            own(&[
                ("Serial Number", "serial"),
                ("Last Inventory Update", "encryption_verified_on"),
                ("FileVault 2 Status", "encryption_state")
            ])
        );
    }

    #[test]
    fn snipe_it_categories_are_kinds_and_other_words_are_not_guessed() {
        for (word, kind) in [
            ("Laptops", DeviceKind::Laptop),
            ("Desktops", DeviceKind::Desktop),
            ("Tablets", DeviceKind::Tablet),
            ("iPads", DeviceKind::Ipad),
            ("Chromebooks", DeviceKind::Chromebook),
            ("Cameras", DeviceKind::Camera),
            ("Mobile Phones", DeviceKind::Phone),
            ("laptop", DeviceKind::Laptop),
        ] {
            assert_eq!(kind_word(word), Some(kind), "{word}");
        }
        assert_eq!(kind_word("Ornamental Railings"), None);
        assert_eq!(kind_word("Monitors"), None);
    }

    #[test]
    fn a_chosen_column_and_value_replace_the_guess() {
        let t = table(
            "Asset Tag,Inventory No,Category,Room",
            &["X,LAP-1,Railings,Hall", "Y,LAP-2,railings,Hall"],
        );
        let mut m = Mapping::automatic(Sheet::Devices, &t.headers);
        assert_eq!(unknown_kinds(&t, &m), vec!["Railings".to_owned()]);
        m.choose_column(&t.headers, "inventory no", "tag").unwrap();
        assert_eq!((m.field_of(0), m.field_of(1)), (None, Some("tag")));
        m.choose_value("kind", "Railings", "Other").unwrap();
        assert!(unknown_kinds(&t, &m).is_empty());
        let c = check_devices(&t, m.clone(), &RegisterKeys::default(), today());
        assert!(c.is_ready(), "{:?}", c.problems);
        assert_eq!(c.rows[1].value.kind, DeviceKind::Other);
        assert!(m.choose_value("kind", "Railings", "fence").is_err());
        assert_eq!(
            column_choice("Asset ID=tag"),
            Ok(("Asset ID".to_owned(), "tag".to_owned()))
        );
        assert_eq!(
            value_choice("kind:Ornamental Railings=other"),
            Ok((
                "kind".to_owned(),
                "Ornamental Railings".to_owned(),
                "other".to_owned()
            ))
        );
        assert!(value_choice("kind=other").is_err());
    }

    #[test]
    fn every_problem_is_found_by_line_and_column() {
        let mut register = RegisterKeys::default();
        register.add("LAP-0001", "Dell", "Latitude", "SN-OLD");
        let t = table(
            "tag,kind,location,serial,purchased_on,cost",
            &[
                ",laptop,Library,,,",
                "LAP-0002,laptop,Library,SN-2,,",
                "lap-0002,laptop,Library,,,",
                "LAP-0001,laptop,Library,,,",
                "LAP-0003,laptop,Library,SN-2,,",
                "LAP-0004,toaster,Library,,,",
                "LAP-0005,laptop,Library,,31/02/2024,",
                "LAP-0006,laptop,Library,,,lots",
                "LAP-0007,Laptop,Library,sn-old,2024-01-05,349.99",
            ],
        );
        let c = devices(&t, &register);
        let found: Vec<(u64, &str)> = c
            .problems
            .iter()
            .map(|p| (p.line, p.column.as_str()))
            .collect();
        assert_eq!(
            found,
            vec![
                (2, "tag"),
                (4, "tag"),
                (5, "tag"),
                (6, "serial"),
                (7, "kind"),
                (8, "purchased_on"),
                (9, "cost"),
                (10, "serial"),
            ]
        );
        assert!(c.problems[1].message.contains("also on line 3"));
        assert!(c.problems[2]
            .message
            .contains("already on the register: LAP-0001 (Dell Latitude)"));
        assert!(c.problems[7]
            .message
            .contains("already registered, on LAP-0001"));
        assert_eq!(c.checked, 9);
        assert_eq!(c.problems[0].to_string(), "line 2, column tag: There is no asset tag on this line. Every device needs the tag on its label.");
    }

    #[test]
    fn a_clean_file_is_ready_and_reads_words_and_labels() {
        let t = table(
            "tag,kind,location,cost_pence,encryption_state,holds_personal_data",
            &[
                "IPAD-01,iPad,Hall,34999,BitLocker On,yes",
                "CAM-01,camera,Hall,,no,",
            ],
        );
        let c = devices(&t, &RegisterKeys::default());
        assert!(c.is_ready(), "{:?}", c.problems);
        let d = &c.rows[0].value;
        assert_eq!(d.kind, DeviceKind::Ipad);
        assert_eq!(d.cost.map(|p| p.0), Some(34_999));
        assert_eq!(d.encryption.state, EncryptionState::Encrypted);
        assert_eq!(d.encryption.method, Some(EncryptionMethod::Bitlocker));
        assert!(d.holds_personal_data);
        assert_eq!(
            c.rows[1].value.encryption.state,
            EncryptionState::NotEncrypted
        );
    }

    #[test]
    fn a_manager_cannot_import_an_admin_or_a_head_but_an_admin_can() {
        let t = table(
            "username,full_name,role",
            &[
                "jo,Jo Bloggs,admin",
                "hd,New Head,head",
                "bo,Bo Rower,borrower",
            ],
        );
        let taken = HashSet::new();
        let keeper = |role| AccountKeeper {
            role,
            managers_manage_managers: false,
        };
        let by_manager = check_people(
            &t,
            Mapping::automatic(Sheet::People, &t.headers),
            &taken,
            Some(keeper(Role::Manager)),
        );
        assert_eq!(
            by_manager
                .problems
                .iter()
                .map(|p| (p.line, p.column.as_str()))
                .collect::<Vec<_>>(),
            vec![(2, "role"), (3, "role")]
        );
        let by_admin = check_people(
            &t,
            Mapping::automatic(Sheet::People, &t.headers),
            &taken,
            Some(keeper(Role::Admin)),
        );
        assert!(by_admin.is_ready());
    }

    #[test]
    fn encryption_words_from_device_management_tools_are_understood() {
        for yes in [
            "encrypted",
            "Yes",
            "TRUE",
            "on",
            "BitLocker On",
            "Protection On",
        ] {
            assert_eq!(
                encryption_status(yes),
                Ok(EncryptionState::Encrypted),
                "{yes}"
            );
        }
        for no in [
            "not_encrypted",
            "No",
            "false",
            "OFF",
            "FileVault Off",
            "Decrypted",
        ] {
            assert_eq!(
                encryption_status(no),
                Ok(EncryptionState::NotEncrypted),
                "{no}"
            );
        }
        assert!(encryption_status("pending").is_err());
        assert!(encryption_status("").is_err());
    }

    #[test]
    fn an_encryption_row_defaults_its_date_to_today_and_finds_its_device() {
        let mut register = RegisterKeys::default();
        register.add("LAP-0001", "Dell", "Latitude", "SN-1");
        let t = table(
            "Serial Number,Encryption Status",
            &["sn-1,BitLocker On", "SN-9,off"],
        );
        let c = check_encryption(
            &t,
            Mapping::automatic(Sheet::Encryption, &t.headers),
            &register,
            today(),
        );
        assert!(c.is_ready(), "{:?}", c.problems);
        let u = &c.rows[0].value;
        assert_eq!(
            (u.state, u.method, u.verified_on),
            (
                EncryptionState::Encrypted,
                Some(EncryptionMethod::Bitlocker),
                today()
            )
        );
        assert_eq!(u.devices, vec!["LAP-0001".to_owned()]);
        assert!(c.rows[1].value.devices.is_empty());
    }

    #[test]
    fn cells_beyond_the_headings_are_a_problem() {
        let t = table("tag,kind,location", &["LAP-1,laptop,Library,oops"]);
        let c = devices(&t, &RegisterKeys::default());
        assert_eq!(
            (c.problems[0].line, c.problems[0].column.as_str()),
            (2, "#4")
        );
    }

    #[test]
    fn a_file_with_only_headings_has_nothing_to_import() {
        let t = table("tag,kind,location", &[]);
        let c = devices(&t, &RegisterKeys::default());
        assert!(c.problems[0].message.contains("no rows"));
    }
}
