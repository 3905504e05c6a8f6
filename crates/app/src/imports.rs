//! Importing a CSV file, once for the web's import pages, `kitroom import` and the
//! API: the file is checked against the register ([`check`]), every problem listed
//! by the file's own line and column, and then written whole in one transaction or
//! not at all ([`write`]). A dry run stops after the check.

use kitroom_core::device::DeviceDetails;
use kitroom_core::import::{
    Checked, DeviceCheck, EncryptionCheck, EncryptionUpdate, LeftAlone, Mapping, PeopleCheck,
    Problem, Sheet, Table,
};
use kitroom_core::person::{Permission, PersonDetails};
use kitroom_core::school::SchoolId;
use kitroom_store::import::{EncryptionSummary, Outcome, Progress};
use kitroom_store::people::Person;
use kitroom_store::Actor;

use crate::{App, Error, Refusal};

/// Refuses anyone who may not import this kind of file: importing needs
/// [`Permission::ImportExport`], and people also [`Permission::ManageAccounts`].
pub fn allowed(caller: &Person, sheet: Sheet) -> Result<(), Error> {
    let may = caller.role.may(Permission::ImportExport)
        && (sheet != Sheet::People || caller.role.may(Permission::ManageAccounts));
    if may {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

/// A file checked against the register, whichever kind it is.
#[derive(Debug)]
pub enum Preview {
    Devices(Checked<DeviceDetails>),
    People(Checked<PersonDetails>),
    Encryption(Checked<EncryptionUpdate>),
}

impl Preview {
    pub fn problems(&self) -> &[Problem] {
        match self {
            Preview::Devices(c) => &c.problems,
            Preview::People(c) => &c.problems,
            Preview::Encryption(c) => &c.problems,
        }
    }

    /// How the file was read, though nothing is wrong: how each date column's
    /// numbers were ordered.
    pub fn notes(&self) -> &[String] {
        match self {
            Preview::Devices(c) => &c.notes,
            Preview::People(c) => &c.notes,
            Preview::Encryption(c) => &c.notes,
        }
    }

    /// How many rows were checked.
    pub fn checked(&self) -> usize {
        match self {
            Preview::Devices(c) => c.checked,
            Preview::People(c) => c.checked,
            Preview::Encryption(c) => c.checked,
        }
    }

    /// How many rows are ready to write.
    pub fn ready(&self) -> usize {
        match self {
            Preview::Devices(c) => c.rows.len(),
            Preview::People(c) => c.rows.len(),
            Preview::Encryption(c) => c.rows.len(),
        }
    }

    pub fn with_problems(&mut self, problems: Vec<Problem>) {
        match self {
            Preview::Devices(c) => c.problems = problems,
            Preview::People(c) => c.problems = problems,
            Preview::Encryption(c) => c.problems = problems,
        }
    }
}

/// Checks every row of a file for `school`, calling `on_row` after each (for a
/// progress bar). `caller` is who imports (their role limits which roles a new
/// account may have); `None` at the server's command line, where anyone may be
/// imported.
pub async fn check(
    app: &App,
    school: SchoolId,
    caller: Option<&Person>,
    sheet: Sheet,
    table: &Table,
    mapping: Mapping,
    on_row: &(dyn Fn() + Send + Sync),
) -> Result<Preview, Error> {
    if let Some(caller) = caller {
        allowed(caller, sheet)?;
    }
    let today = kitroom_core::time::school_day(chrono::Utc::now());
    let store = app.store();
    Ok(match sheet {
        Sheet::Devices => {
            let keys = store.register_keys(school).await?;
            let mut check = DeviceCheck::new(table, mapping, &keys, today);
            table.rows.iter().for_each(|r| {
                check.row(r);
                on_row();
            });
            Preview::Devices(check.finish())
        }
        Sheet::People => {
            let taken = store.usernames_in_use().await?;
            let keeper = match caller {
                Some(c) => Some(store.settings(c.school).await?.account_keeper(c.role)),
                None => None,
            };
            let mut check = PeopleCheck::new(table, mapping, &taken, keeper);
            table.rows.iter().for_each(|r| {
                check.row(r);
                on_row();
            });
            Preview::People(check.finish())
        }
        Sheet::Encryption => {
            let keys = store.register_keys(school).await?;
            let mut check = EncryptionCheck::new(table, mapping, &keys, today);
            table.rows.iter().for_each(|r| {
                check.row(r);
                on_row();
            });
            Preview::Encryption(check.finish())
        }
    })
}

/// What a written import changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Devices(usize),
    People(usize),
    Encryption {
        summary: EncryptionSummary,
        /// Rows read and left alone (blank status, a Chrome device not provisioned).
        left_alone: Vec<LeftAlone>,
    },
}

/// Writes a checked file whole into `school`, in one transaction, as `actor`; or
/// nothing, with the problems (those found by the check, or a tag, serial number or
/// username taken since).
pub async fn write(
    app: &App,
    actor: Actor,
    school: SchoolId,
    preview: Preview,
    progress: Progress,
) -> Result<Outcome<Written>, Error> {
    let store = app.store();
    Ok(match preview {
        Preview::Devices(c) => match store.import_devices(actor, school, c, progress).await? {
            Outcome::Written(n) => Outcome::Written(Written::Devices(n)),
            Outcome::Refused(p) => Outcome::Refused(p),
        },
        Preview::People(c) => match store.import_people(actor, school, c, progress).await? {
            Outcome::Written(n) => Outcome::Written(Written::People(n)),
            Outcome::Refused(p) => Outcome::Refused(p),
        },
        Preview::Encryption(c) => {
            let left_alone = c.left_alone.clone();
            match store.import_encryption(actor, school, c, progress).await? {
                Outcome::Written(summary) => Outcome::Written(Written::Encryption {
                    summary,
                    left_alone,
                }),
                Outcome::Refused(p) => Outcome::Refused(p),
            }
        }
    })
}

/// What an import by a signed-in person ended in.
#[derive(Debug)]
pub enum Imported {
    /// Checked (a dry run, or a file with problems): nothing was written.
    Checked(Preview),
    /// Written whole.
    Written(Written),
}

/// Checks a file and, unless it is a dry run or has problems, writes it whole: the
/// import as the API runs it. When something clashes between the check and the
/// write, the check is made again so its problems say what clashes now.
pub async fn import(
    app: &App,
    caller: &Person,
    sheet: Sheet,
    table: &Table,
    mapping: Mapping,
    dry_run: bool,
) -> Result<Imported, Error> {
    let preview = check(
        app,
        caller.school,
        Some(caller),
        sheet,
        table,
        mapping.clone(),
        &|| {},
    )
    .await?;
    if dry_run || !preview.problems().is_empty() {
        return Ok(Imported::Checked(preview));
    }
    match write(
        app,
        caller.actor(),
        caller.school,
        preview,
        Box::new(|_| {}),
    )
    .await?
    {
        Outcome::Written(w) => Ok(Imported::Written(w)),
        Outcome::Refused(refused) => {
            let mut again = check(
                app,
                caller.school,
                Some(caller),
                sheet,
                table,
                mapping,
                &|| {},
            )
            .await?;
            if again.problems().is_empty() {
                again.with_problems(refused);
            }
            Ok(Imported::Checked(again))
        }
    }
}
