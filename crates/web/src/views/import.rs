//! Importing CSV files: paste, map columns, preview every problem, confirm.

use kitroom_core::dates::in_words;
use kitroom_core::device::{Condition, DeviceKind, EncryptionMethod};
use kitroom_core::import::{unknown_kinds, Field, LeftAlone, Mapping, Sheet, Table};
use kitroom_core::person::{PersonKind, Role};
use maud::{html, Markup};
use serde::{Deserialize, Serialize};

use super::{csrf, encryption_badge, page, Section};
use crate::auth::ctx::Ctx;
use crate::time;
use kitroom_app::imports::Preview;

fn section(sheet: Sheet) -> Section {
    match sheet {
        Sheet::People => Section::People,
        _ => Section::Devices,
    }
}

fn base(sheet: Sheet) -> String {
    format!("/import/{}", sheet.as_str())
}

/// What a file of this kind is for, in a sentence or two.
fn purpose(sheet: Sheet) -> &'static str {
    match sheet {
        Sheet::Devices => "Put the school's existing inventory on the register. Each row becomes a device with its asset tag, kind and home location; a location is added the first time it is named.",
        Sheet::People => "Add accounts for staff, governors, volunteers and visitors. Passwords are not imported: each person can sign in once a password is set for them.",
        Sheet::Encryption => "Record each device's encryption from your device-management tool's export (Intune, Jamf, Google Admin), matched by serial number. You are recorded as the person who verified it.",
    }
}

fn words<T: Copy>(all: &[T], word: fn(T) -> &'static str) -> String {
    all.iter().map(|x| word(*x)).collect::<Vec<_>>().join(", ")
}

/// What a column for this field may hold.
fn accepts(sheet: Sheet, f: &Field) -> String {
    match (sheet, f.name) {
        (Sheet::People, "kind") => format!(
            "{}; staff if empty",
            words(PersonKind::ALL, PersonKind::as_str)
        ),
        (Sheet::People, "role") => format!(
            "{}; borrower if empty. Only an IT administrator can import admins.",
            words(Role::ALL, Role::as_str)
        ),
        (_, "kind") => format!(
            "{}; Snipe-IT's categories (Laptops, iPads, Mobile Phones…) too. You choose a kind once for any other value.",
            words(DeviceKind::ALL, DeviceKind::as_str)
        ),
        (_, "chrome_status") => "Google Admin's Status: a provisioned (ACTIVE) Chrome device is recorded as encrypted by ChromeOS; deprovisioned and disabled ones are left alone".into(),
        (_, "condition") => format!(
            "{}; good if empty",
            words(Condition::ALL, Condition::as_str)
        ),
        (Sheet::Encryption, "encryption_state") => {
            "encrypted or not_encrypted; yes and no, on and off, “BitLocker On” and “All Partitions Encrypted” work too. A blank row is left alone. Not needed in Google Admin's Chrome export.".into()
        }
        (_, "encryption_state") => "encrypted, not_encrypted or unknown; unknown if empty".into(),
        (_, "encryption_method") => format!(
            "{}; needed for an encrypted device",
            words(EncryptionMethod::ALL, EncryptionMethod::as_str)
        ),
        (Sheet::Encryption, "encryption_verified_on") => {
            "a date like 2025-09-03 or 03/09/2025; today if empty".into()
        }
        (_, "purchased_on" | "warranty_until" | "encryption_verified_on") => {
            "a date like 2025-09-03 or 03/09/2025".into()
        }
        (_, "cost") => "pounds and pence, like 349.99".into(),
        (_, "cost_pence") => "whole pence, like 34999".into(),
        (_, "passcode_enforced" | "holds_personal_data" | "captures_images") => {
            "yes or no; no if empty".into()
        }
        (_, "tag") => "letters, digits and - _ . / as on the label; each tag once".into(),
        (_, "serial") if sheet == Sheet::Devices => "each serial number once".into(),
        (_, "username") => "2 to 40 letters, digits, . - _; each once".into(),
        _ => String::new(),
    }
}

pub fn index(ctx: &Ctx) -> Markup {
    page(
        ctx,
        Section::Devices,
        "Import",
        html! {
            p.lead { "Bring the school's existing spreadsheets into Kitroom. You check every row before anything is saved, and a file is saved whole or not at all." }
            ul.choices {
                @for s in Sheet::ALL {
                    @if *s != Sheet::People || ctx.may(kitroom_core::person::Permission::ManageAccounts) {
                        li {
                            a.button.secondary href=(base(*s)) { "Import " (s.title().to_lowercase()) }
                            p.hint { (purpose(*s)) }
                        }
                    }
                }
            }
            (large_files(None))
        },
    )
}

/// Partial: where to turn with a file too big for the web.
fn large_files(sheet: Option<Sheet>) -> Markup {
    let what = sheet.map(|s| s.as_str()).unwrap_or("devices");
    html! {
        details.more {
            summary { "A very large file?" }
            p { "Here a file can be up to about 700 KB (a few thousand rows). Your IT administrator can import a file of any size on the server, with the same checks:" }
            p { code { "kitroom import " (what) " FILE.csv --dry-run" } " checks it and lists every problem; without " code { "--dry-run" } " it imports it." }
        }
    }
}

pub fn paste(ctx: &Ctx, sheet: Sheet, csv: &str, error: Option<&str>) -> Markup {
    let title = format!("Import {}", sheet.title().to_lowercase());
    page(
        ctx,
        section(sheet),
        &title,
        html! {
            p.lead { (purpose(sheet)) }
            @if let Some(e) = error {
                div.error-summary role="alert" tabindex="-1" {
                    h2 { "There is a problem" }
                    ul { li { a href="#csv" { (e) } } }
                }
            }
            h2 { "1. Get the file as text" }
            ol {
                li { "Open the spreadsheet and save it as CSV: in Excel, " em { "File › Save a copy › CSV UTF-8 (comma delimited)" } "; in Google Sheets, " em { "File › Download › Comma-separated values" } "." }
                li { "Open the .csv file in a text editor (Notepad on Windows, TextEdit on a Mac), select everything and copy it." }
                li { "Paste it below. The first line must be the column headings." }
            }
            form method="post" action={ (base(sheet)) "/map" } novalidate {
                (csrf(&ctx.csrf))
                div.field.file-pick hidden[true] data-file-pick {
                    label for="csv-file" { "Choose the CSV file" }
                    p.hint { "Its contents appear in the box below, to check before you go on." }
                    input #csv-file type="file" accept=".csv,text/csv,text/plain" data-csv-into="csv";
                }
                div.field.has-error[error.is_some()] {
                    label for="csv" { "The file's contents" }
                    p.hint id="csv-hint" { "Nothing is saved yet: next you choose what each column holds, then check every row." }
                    @if let Some(e) = error { p.error id="csv-error" { span.visually-hidden { "Error: " } (e) } }
                    textarea.csv id="csv" name="csv" rows="14" spellcheck="false" autocomplete="off"
                        aria-describedby={ "csv-hint" @if error.is_some() { " csv-error" } } { (csv) }
                }
                div.actions {
                    button.primary type="submit" { "Continue" }
                    a href="/import" { "Cancel" }
                }
            }
            h2 { "Columns Kitroom understands" }
            p { "A column headed with one of these names is matched for you; you can choose for the others. Columns you do not need are ignored." }
            (fields_table(sheet))
            (large_files(Some(sheet)))
        },
    )
}

/// Partial: the fields a file of this kind can hold.
fn fields_table(sheet: Sheet) -> Markup {
    html! {
        table.import-fields {
            thead { tr { th { "Heading" } th { "Holds" } th { "Accepts" } } }
            tbody {
                @for f in sheet.fields() {
                    tr {
                        td { code { (f.name) } }
                        td data-label="Holds" { (f.label) @if f.required { " " strong { "(needed)" } } }
                        td data-label="Accepts" { (accepts(sheet, f)) }
                    }
                }
            }
        }
    }
}

/// Partial: the file and the column choices, carried to the next step.
fn carried(csv: &str, mapping: &Mapping, columns: usize) -> Markup {
    html! {
        input type="hidden" name="csv" value=(csv);
        @for i in 0..columns {
            input type="hidden" name={ "col-" (i) } value=(mapping.field_of(i).unwrap_or(""));
        }
        @for (field, value, word) in mapping.value_choices() {
            input type="hidden" name={ "map:" (field) ":" (value) } value=(word);
        }
    }
}

/// Partial: a select of kinds for each value of the kind column that names no kind,
/// asked once for the whole file and carried to the confirmation.
fn unknown_kinds_form(ctx: &Ctx, table: &Table, mapping: &Mapping, csv: &str) -> Markup {
    let unknown = unknown_kinds(table, mapping);
    let column = mapping
        .column_of("kind")
        .map(|i| table.column_name(i))
        .unwrap_or_default();
    html! {
        @if !unknown.is_empty() {
            section.unknown-kinds {
                h2 { "Kinds Kitroom does not know" }
                p { "Choose what each value in the column " strong { (column) } " is. Each choice counts for every row with that value." }
                form method="post" action={ (base(mapping.sheet())) "/preview" } {
                    (csrf(&ctx.csrf))
                    (carried(csv, mapping, table.headers.len()))
                    table.mapping {
                        thead { tr { th scope="col" { (column) } th scope="col" { "Kind" } } }
                        tbody {
                            @for (n, value) in unknown.iter().enumerate() {
                                tr {
                                    th scope="row" { label for={ "kind-value-" (n) } { (value) } }
                                    td {
                                        select id={ "kind-value-" (n) } name={ "map:kind:" (value) } {
                                            option value="" { "Choose a kind" }
                                            @for k in DeviceKind::ALL {
                                                option value=(k.as_str()) { (k.label()) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                    div.actions { button.primary type="submit" { "Use these kinds and check again" } }
                }
            }
        }
    }
}

/// Up to three values from a column, to recognise it by.
fn samples(table: &Table, i: usize) -> Vec<&str> {
    table
        .rows
        .iter()
        .take(50)
        .filter_map(|r| r.cells.get(i).map(String::as_str))
        .filter(|c| !c.is_empty())
        .take(3)
        .collect()
}

pub fn map(ctx: &Ctx, table: &Table, mapping: &Mapping, csv: &str) -> Markup {
    let sheet = mapping.sheet();
    let needed: Vec<&str> = sheet
        .fields()
        .iter()
        .filter(|f| f.required)
        .map(|f| f.label)
        .collect();
    page(
        ctx,
        section(sheet),
        "Choose what each column holds",
        html! {
            p.lead {
                "The file has " (table.rows.len()) " " (if table.rows.len() == 1 { "row" } else { "rows" })
                " below its headings on line " (table.header_line) "."
            }
            p { "Columns headed with Kitroom's names are matched already. Every file needs: " (needed.join(", ")) ". Ignore any column Kitroom does not need." }
            form method="post" action={ (base(sheet)) "/preview" } {
                (csrf(&ctx.csrf))
                input type="hidden" name="csv" value=(csv);
                table.mapping {
                    thead { tr { th scope="col" { "Column" } th scope="col" { "First values" } th scope="col" { "Holds" } } }
                    tbody {
                        @for (i, _) in table.headers.iter().enumerate() {
                            @let name = table.column_name(i);
                            tr {
                                th scope="row" { (name) }
                                td.samples { @for (n, s) in samples(table, i).into_iter().enumerate() { @if n > 0 { br; } (s) } }
                                td data-label="Holds" {
                                    label.visually-hidden for={ "col-" (i) } { "What column " (name) " holds" }
                                    select id={ "col-" (i) } name={ "col-" (i) } {
                                        option value="" { "Ignore this column" }
                                        @for f in sheet.fields() {
                                            option value=(f.name) selected[mapping.field_of(i) == Some(f.name)] { (f.label) " (" (f.name) ")" }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
                div.actions {
                    button.primary type="submit" { "Check every row" }
                    a href=(base(sheet)) { "Start again" }
                }
            }
        },
    )
}

pub fn preview(ctx: &Ctx, table: &Table, mapping: &Mapping, csv: &str, p: &Preview) -> Markup {
    let sheet = mapping.sheet();
    let columns = table.headers.len();
    let problems = p.problems();
    let checked = p.checked();
    let back = html! {
        form.inline method="post" action={ (base(sheet)) "/map" } {
            (csrf(&ctx.csrf))
            (carried(csv, mapping, columns))
            button.secondary type="submit" { "Change the column choices" }
        }
    };
    let title = if problems.is_empty() {
        "Check and import"
    } else {
        "Problems in the file"
    };
    page(
        ctx,
        section(sheet),
        title,
        html! {
            @if !p.notes().is_empty() {
                div.notice {
                    @for n in p.notes() { p { (n) } }
                }
            }
            @if !problems.is_empty() {
                div.error-summary role="alert" tabindex="-1" {
                    h2 {
                        (problems.len()) " " (plural(problems.len(), "problem", "problems"))
                        " in " (checked) " " (plural(checked, "row", "rows")) " checked. Nothing has been imported."
                    }
                    p { "Fix them in the spreadsheet, save it as CSV again and paste it, or change what the columns hold. Line numbers are the file's own: the headings are line " (table.header_line) "." }
                }
                (unknown_kinds_form(ctx, table, mapping, csv))
                table.problems {
                    thead { tr { th scope="col" { "Line" } th scope="col" { "Column" } th scope="col" { "Problem" } } }
                    tbody {
                        @for pr in problems {
                            tr { td.line { (pr.line) } td { (pr.column) } td { (pr.message) } }
                        }
                    }
                }
                div.actions {
                    a.button.primary href=(base(sheet)) { "Paste a corrected file" }
                    (back)
                }
            } @else {
                @match p {
                    Preview::Devices(c) => {
                        p.lead { "Checked " (checked) " " (plural(checked, "row", "rows")) ": " (c.rows.len()) " " (plural(c.rows.len(), "device is", "devices are")) " ready to import." }
                        (first_rows_note(c.rows.len()))
                        table.import-preview {
                            thead { tr { th { "Line" } th { "Tag" } th { "Device" } th { "Serial number" } th { "Location" } th { "Bought" } th { "Cost" } th { "Encryption" } } }
                            tbody {
                                @for r in c.rows.iter().take(PREVIEW_ROWS) {
                                    @let d = &r.value;
                                    tr {
                                        td.line { (r.line) }
                                        td.tag data-label="Tag" { (d.tag) }
                                        td data-label="Device" { span.kind { (d.kind.label()) } " " (d.make) " " (d.model) }
                                        td data-label="Serial number" { (d.serial) }
                                        td data-label="Location" { (d.location) }
                                        td data-label="Bought" { (d.purchased_on.map(in_words).unwrap_or_default()) }
                                        td data-label="Cost" { (d.cost.map(|p| p.to_string()).unwrap_or_default()) }
                                        td data-label="Encryption" { (encryption_badge(d.encryption.state)) }
                                    }
                                }
                            }
                        }
                        (confirm(ctx, sheet, csv, mapping, columns, &format!("Import {} {}", c.rows.len(), plural(c.rows.len(), "device", "devices")), back))
                    }
                    Preview::People(c) => {
                        p.lead { "Checked " (checked) " " (plural(checked, "row", "rows")) ": " (c.rows.len()) " " (plural(c.rows.len(), "person is", "people are")) " ready to import." }
                        (first_rows_note(c.rows.len()))
                        table.import-preview {
                            thead { tr { th { "Line" } th { "Username" } th { "Full name" } th { "Email" } th { "Kind" } th { "Role" } } }
                            tbody {
                                @for r in c.rows.iter().take(PREVIEW_ROWS) {
                                    @let d = &r.value;
                                    tr {
                                        td.line { (r.line) }
                                        td data-label="Username" { (d.username) }
                                        td data-label="Full name" { (d.full_name) }
                                        td data-label="Email" { (d.email.as_deref().unwrap_or("")) }
                                        td data-label="Kind" { (d.kind.label()) }
                                        td data-label="Role" { (d.role.label()) }
                                    }
                                }
                            }
                        }
                        p { "No passwords are imported: each person can sign in once a password is set for them." }
                        (confirm(ctx, sheet, csv, mapping, columns, &format!("Import {} {}", c.rows.len(), plural(c.rows.len(), "person", "people")), back))
                    }
                    Preview::Encryption(c) => {
                        @let matched: Vec<_> = c.rows.iter().filter(|r| !r.value.devices.is_empty()).collect();
                        @let devices: usize = matched.iter().map(|r| r.value.devices.len()).sum();
                        @let unmatched: Vec<_> = c.rows.iter().filter(|r| r.value.devices.is_empty()).collect();
                        p.lead { "Checked " (checked) " " (plural(checked, "row", "rows")) ": " (matched.len()) " " (plural(matched.len(), "serial number matches", "serial numbers match")) " a device on the register." }
                        (left_alone_list(&c.left_alone))
                        @if !unmatched.is_empty() {
                            div.warning {
                                p { strong { (unmatched.len()) " " (plural(unmatched.len(), "serial number matches", "serial numbers match")) " no device" } " and will be left out:" }
                                (unmatched_list(unmatched.iter().map(|r| (r.line, r.value.serial.as_str()))))
                            }
                        }
                        @if !matched.is_empty() {
                            (first_rows_note(matched.len()))
                            table.import-preview {
                                thead { tr { th { "Line" } th { "Serial number" } th { "Device" } th { "Encryption" } th { "Verified on" } } }
                                tbody {
                                    @for r in matched.iter().take(PREVIEW_ROWS) {
                                        @let u = &r.value;
                                        tr {
                                            td.line { (r.line) }
                                            td data-label="Serial number" { (u.serial) }
                                            td.tag data-label="Device" { (u.devices.join(", ")) }
                                            td data-label="Encryption" { (encryption_badge(u.state)) @if let Some(m) = u.method { " " (m.label()) } }
                                            td data-label="Verified on" { (time::date(u.verified_on)) }
                                        }
                                    }
                                }
                            }
                            p { "Each device's encryption is recorded as verified by you, and each change goes in the activity log. Where the file names no method, the device keeps the one on record." }
                            (confirm(ctx, sheet, csv, mapping, columns, &format!("Record encryption for {} {}", devices, plural(devices, "device", "devices")), back))
                        } @else {
                            p { "No serial number in this file matches a device on the register, so there is nothing to record. Check that the devices' serial numbers are on the register." }
                            div.actions { a.button.primary href=(base(sheet)) { "Paste another file" } (back) }
                        }
                    }
                }
            }
        },
    )
}

/// Partial: says the table shows only the first rows, when it does.
fn first_rows_note(rows: usize) -> Markup {
    html! {
        @if rows > PREVIEW_ROWS {
            p.hint { "The first " (PREVIEW_ROWS) " of " (rows) ":" }
        }
    }
}

/// Partial: the button that writes the file, with a way back.
fn confirm(
    ctx: &Ctx,
    sheet: Sheet,
    csv: &str,
    mapping: &Mapping,
    columns: usize,
    label: &str,
    back: Markup,
) -> Markup {
    html! {
        div.actions {
            form.inline method="post" action={ (base(sheet)) "/confirm" } {
                (csrf(&ctx.csrf))
                (carried(csv, mapping, columns))
                button.primary type="submit" { (label) }
            }
            (back)
            a href="/import" { "Cancel" }
        }
    }
}

/// Partial: the rows of an encryption file left alone, and why.
fn left_alone_list(rows: &[LeftAlone]) -> Markup {
    html! {
        @if !rows.is_empty() {
            div.warning {
                p { strong { (rows.len()) " " (plural(rows.len(), "row is", "rows are")) " left alone" } ", and those devices keep the encryption on record:" }
                ul.unmatched {
                    @for l in rows {
                        li { code { (l.serial) } " " (l.reason) " " span.muted { "(line " (l.line) ")" } }
                    }
                }
            }
        }
    }
}

/// Partial: serial numbers that match no device, with their lines.
fn unmatched_list<'a>(rows: impl Iterator<Item = (u64, &'a str)>) -> Markup {
    html! {
        ul.unmatched {
            @for (line, serial) in rows {
                li { code { (serial) } " " span.muted { "(line " (line) ")" } }
            }
        }
    }
}

pub fn encryption_done(ctx: &Ctx, r: &EncryptionResult) -> Markup {
    page(
        ctx,
        Section::Devices,
        "Encryption recorded",
        html! {
            div.notice role="status" {
                "Encryption recorded for " (r.updated) " " (plural(r.updated, "device", "devices")) "."
                @if r.unchanged > 0 { " " (r.unchanged) " already said the same." }
            }
            (left_alone_list(&r.left_alone))
            @if r.unmatched.is_empty() {
                p { "Every serial number in the file matched a device." }
            } @else {
                h2 { (r.unmatched.len()) " " (plural(r.unmatched.len(), "serial number matches", "serial numbers match")) " no device" }
                p { "These may be devices that are not on the register yet, or whose serial number is recorded differently." }
                (unmatched_list(r.unmatched.iter().map(|(l, s)| (*l, s.as_str()))))
            }
            p.page-actions {
                a.button.primary href="/devices?encryption=not_encrypted" { "See devices not encrypted" }
                a.button.secondary href="/import" { "Import another file" }
            }
        },
    )
}

/// How many rows of a file the preview shows.
pub const PREVIEW_ROWS: usize = 10;

/// The encryption import's result, kept in the session for the page after the
/// redirect.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct EncryptionResult {
    pub updated: usize,
    pub unchanged: usize,
    /// Rows read and left alone (blank status, a Chrome device not provisioned).
    #[serde(default)]
    pub left_alone: Vec<LeftAlone>,
    /// (line, serial number) of each row that matched no device.
    pub unmatched: Vec<(u64, String)>,
}

/// "1 device", "2 devices".
pub fn plural(n: usize, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 {
        one
    } else {
        many
    }
}
