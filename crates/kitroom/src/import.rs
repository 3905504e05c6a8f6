//! `kitroom import`: the command-line import, with a progress bar.
//!
//! The same checks as the web's import, for files of any size. Columns headed with
//! Kitroom's field names, their labels ("Serial number") or the headings of the
//! exports Kitroom knows (Snipe-IT, Google Admin, Intune, Jamf Pro) are matched; for
//! the others, `--map-column "HEADING=FIELD"` says which column is which, and
//! `--map-value "kind:Ornamental Railings=other"` what a value Kitroom does not know
//! means. Every problem is printed as
//! `line N, column NAME: message`; the file is written whole, in one transaction, or
//! not at all, and the exit status is 2 when nothing was written because of problems.
//! `--dry-run` checks and never writes. Progress goes to standard error, and only to
//! a terminal.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::sync::Arc;

use kitroom_app::imports::{self, Preview, Written};
use kitroom_app::App;
use kitroom_core::import::{column_choice, value_choice, Mapping, Problem, Sheet, Table};
use kitroom_core::school::SchoolId;
use kitroom_store::import::{read_table, Outcome, Progress};
use kitroom_store::{Actor, Store};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// New devices for the register.
    Devices,
    /// New accounts, without passwords.
    People,
    /// Encryption status by serial number, from a device-management export.
    Encryption,
}

impl ImportKind {
    fn sheet(self) -> Sheet {
        match self {
            ImportKind::Devices => Sheet::Devices,
            ImportKind::People => Sheet::People,
            ImportKind::Encryption => Sheet::Encryption,
        }
    }
}

/// Exit status when nothing was written because of problems in the file.
const REFUSED: u8 = 2;

/// Imports `file` into the database in `data_dir`, printing to standard output and
/// standard error.
pub async fn run(
    data_dir: &Path,
    what: ImportKind,
    file: &Path,
    dry_run: bool,
    choices: &Choices,
) -> anyhow::Result<ExitCode> {
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    run_chosen(
        data_dir, what, file, dry_run, choices, &mut out, &mut err, true,
    )
    .await
}

/// The person's own choices at the command line: `--map-column "HEADING=FIELD"` and
/// `--map-value "FIELD:VALUE=WORD"`, each as typed.
#[derive(Debug, Clone, Default)]
pub struct Choices {
    pub columns: Vec<String>,
    pub values: Vec<String>,
}

/// [`run`], writing its report to `out` and its problems to `err`; progress bars are
/// drawn on standard error when `progress` is set and it is a terminal.
pub async fn run_with(
    data_dir: &Path,
    what: ImportKind,
    file: &Path,
    dry_run: bool,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
    progress: bool,
) -> anyhow::Result<ExitCode> {
    let none = Choices::default();
    run_chosen(data_dir, what, file, dry_run, &none, out, err, progress).await
}

/// [`run_with`], with the person's `--map-column` and `--map-value` choices.
#[allow(clippy::too_many_arguments)]
pub async fn run_chosen(
    data_dir: &Path,
    what: ImportKind,
    file: &Path,
    dry_run: bool,
    choices: &Choices,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
    progress: bool,
) -> anyhow::Result<ExitCode> {
    let sheet = what.sheet();
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let table = match read_table(&bytes) {
        Ok(t) => t,
        Err(p) => return refuse(err, &[p], 0),
    };
    let mut mapping = Mapping::automatic(sheet, &table.headers);
    if let Err(m) = choose(&mut mapping, &table, choices) {
        writeln!(err, "{m}")?;
        writeln!(
            err,
            "Nothing was imported. Fix the option and run the command again."
        )?;
        return Ok(ExitCode::from(REFUSED));
    }
    for i in mapping.ignored() {
        writeln!(
            err,
            "note: column {} is not one of Kitroom's {} fields, so it is ignored.",
            table.column_name(i),
            sheet.as_str()
        )?;
    }
    if !data_dir.join(kitroom_store::db::DB_FILE).exists() {
        bail!(
            "there is no Kitroom database in {} (start Kitroom once with `kitroom serve`, or pass --data-dir)",
            data_dir.display()
        );
    }
    let store = Store::open(data_dir).await?;
    let result = import(&store, sheet, &table, mapping, dry_run, out, err, progress).await;
    store.close().await;
    result
}

/// Prints how the file was read, though nothing is wrong ("Dates in Purchase Date
/// read as day-first (UK): no value said otherwise.").
fn notes(err: &mut (dyn Write + Send), notes: &[String]) -> anyhow::Result<()> {
    for n in notes {
        writeln!(err, "note: {n}")?;
    }
    Ok(())
}

/// Applies `--map-column` and `--map-value` to the automatic mapping.
fn choose(mapping: &mut Mapping, table: &Table, choices: &Choices) -> Result<(), String> {
    for c in &choices.columns {
        let (column, field) = column_choice(c)?;
        mapping.choose_column(&table.headers, &column, &field)?;
    }
    for v in &choices.values {
        let (field, value, word) = value_choice(v)?;
        mapping.choose_value(&field, &value, &word)?;
    }
    Ok(())
}

/// Prints every problem and says nothing was written.
fn refuse(
    err: &mut (dyn Write + Send),
    problems: &[Problem],
    checked: usize,
) -> anyhow::Result<ExitCode> {
    for p in problems {
        writeln!(err, "{p}")?;
    }
    let found = format!(
        "{} {}",
        problems.len(),
        if problems.len() == 1 {
            "problem"
        } else {
            "problems"
        }
    );
    let rows = match checked {
        0 => String::new(),
        1 => " in the 1 row checked".to_owned(),
        n => format!(" in {n} rows checked"),
    };
    writeln!(
        err,
        "Nothing was imported: {found}{rows}. Fix the file and run the command again."
    )?;
    Ok(ExitCode::from(REFUSED))
}

fn bar(progress: bool, len: usize, message: &'static str) -> ProgressBar {
    let style = ProgressStyle::with_template("{msg:9} [{bar:40}] {pos}/{len} rows ({eta} left)")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
    let target = if progress {
        ProgressDrawTarget::stderr()
    } else {
        ProgressDrawTarget::hidden()
    };
    ProgressBar::with_draw_target(Some(len as u64), target)
        .with_style(style)
        .with_message(message)
}

fn writing(bar: &ProgressBar) -> Progress {
    let bar = bar.clone();
    Box::new(move |n| bar.set_position(n as u64))
}

/// Checks the file with the same check as the web's import and the API's, then
/// (unless a dry run) writes it whole through the same command.
#[allow(clippy::too_many_arguments)]
async fn import(
    store: &Store,
    sheet: Sheet,
    table: &Table,
    mapping: Mapping,
    dry_run: bool,
    out: &mut (dyn Write + Send),
    err: &mut (dyn Write + Send),
    progress: bool,
) -> anyhow::Result<ExitCode> {
    let app = App::new(store.clone(), None, Arc::new(tokio::sync::Notify::new()));
    let rows = table.rows.len();
    let checking = bar(progress, rows, "checking");
    // At the server's command line there is no account: anyone may be imported.
    let checked = imports::check(&app, SchoolId::FIRST, None, sheet, table, mapping, &|| {
        checking.inc(1)
    })
    .await;
    checking.finish_and_clear();
    let checked = checked.map_err(failed)?;
    let done =
        |n: usize, what: (&str, &str)| format!("{n} {}", if n == 1 { what.0 } else { what.1 });
    notes(err, checked.notes())?;
    if !checked.problems().is_empty() {
        return refuse(err, checked.problems(), checked.checked());
    }
    if let Preview::Encryption(c) = &checked {
        for l in &c.left_alone {
            writeln!(out, "{l}")?;
        }
    }
    if dry_run {
        let ready = match &checked {
            Preview::Devices(c) => done(c.rows.len(), ("device is", "devices are")),
            Preview::People(c) => done(c.rows.len(), ("person is", "people are")),
            Preview::Encryption(c) => {
                for r in c.rows.iter().filter(|r| r.value.devices.is_empty()) {
                    writeln!(
                        out,
                        "line {}: no device has the serial number {}",
                        r.line, r.value.serial
                    )?;
                }
                let devices: usize = c.rows.iter().map(|r| r.value.devices.len()).sum();
                writeln!(
                    out,
                    "Checked {}: encryption ready to record for {}. Dry run: nothing was written.",
                    done(rows, ("row", "rows")),
                    done(devices, ("device", "devices"))
                )?;
                return Ok(ExitCode::SUCCESS);
            }
        };
        writeln!(
            out,
            "Checked {}: {ready} ready to import. Dry run: nothing was written.",
            done(rows, ("row", "rows")),
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let writing_bar = bar(progress, checked.ready(), "writing");
    // One school until `kitroom import` takes `--school` (issue 19).
    let outcome = imports::write(
        &app,
        Actor::system(),
        SchoolId::FIRST,
        checked,
        writing(&writing_bar),
    )
    .await;
    writing_bar.finish_and_clear();
    match outcome.map_err(failed)? {
        Outcome::Refused(p) => return refuse(err, &p, rows),
        Outcome::Written(Written::Devices(n)) => {
            writeln!(out, "Imported {}.", done(n, ("device", "devices")))?
        }
        Outcome::Written(Written::People(n)) => writeln!(
            out,
            "Imported {}. Each can sign in once a password is set (kitroom user password USERNAME) or they accept an invitation (kitroom user invite USERNAME --email ADDRESS --full-name NAME, or Send invitation on the People page).",
            done(n, ("person", "people"))
        )?,
        Outcome::Written(Written::Encryption { summary: s, .. }) => {
            for u in &s.unmatched {
                writeln!(
                    out,
                    "line {}: no device has the serial number {}",
                    u.line, u.value
                )?;
            }
            writeln!(
                out,
                "Encryption recorded for {} ({} already up to date); {} matched no device.",
                done(s.updated.len(), ("device", "devices")),
                s.unchanged,
                done(s.unmatched.len(), ("serial number", "serial numbers")),
            )?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// An import command's failure underneath (the command line has no refusals: it is
/// allowed everything).
fn failed(e: kitroom_app::Error) -> anyhow::Error {
    anyhow::anyhow!("{e}")
}
