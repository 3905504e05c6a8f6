//! The school calendar (periods, terms and holidays), saved as a whole by the IT
//! administrator: the calendar page sends each list as lines of text, the API as
//! lists of objects; both become the same lines, read by `kitroom_core::calendar`.

use chrono::Utc;
use kitroom_core::calendar::{Calendar, CalendarInput};
use kitroom_core::person::Permission;
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{App, Error, Refusal};

/// One entry as the API sends it: a period `{name, starts, ends}` ("11:15") or a
/// term or holiday `{name, first, last}` ("2026-09-03").
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Entry {
    pub name: String,
    /// A period's start, "11:15".
    pub starts: Option<String>,
    /// A period's end, "12:15".
    pub ends: Option<String>,
    /// A term's or holiday's first day, "2026-09-03".
    pub first: Option<String>,
    /// A term's or holiday's last day.
    pub last: Option<String>,
}

/// A list as sent: the form's lines ("Period 3, 11:15-12:15"), or the API's entries.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(untagged)]
pub enum Lines {
    Text(String),
    Entries(Vec<Entry>),
}

impl Default for Lines {
    fn default() -> Self {
        Lines::Text(String::new())
    }
}

impl Lines {
    /// As the form's lines, so one reader checks both.
    fn text(self, periods: bool) -> String {
        match self {
            Lines::Text(t) => t,
            Lines::Entries(list) => list
                .into_iter()
                .map(|e| {
                    let (a, b, sep) = if periods {
                        (e.starts, e.ends, "-")
                    } else {
                        (e.first, e.last, " to ")
                    };
                    format!(
                        "{}, {}{sep}{}",
                        e.name.trim(),
                        a.unwrap_or_default().trim(),
                        b.unwrap_or_default().trim()
                    )
                })
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }
}

/// The whole calendar as sent.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct CalendarChange {
    pub periods: Lines,
    pub terms: Lines,
    pub holidays: Lines,
}

impl From<CalendarChange> for CalendarInput {
    fn from(c: CalendarChange) -> Self {
        CalendarInput {
            periods: c.periods.text(true),
            terms: c.terms.text(false),
            holidays: c.holidays.text(false),
        }
    }
}

/// Replaces the school calendar (an IT administrator only). Every problem is told at
/// once, each line's beside its list.
pub async fn save(app: &App, caller: &Person, change: CalendarChange) -> Result<Calendar, Error> {
    if !caller.role.may(Permission::ManageSettings) {
        return Err(Refusal::not_allowed().into());
    }
    let calendar = CalendarInput::from(change).parse()?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                kitroom_store::calendar::save_calendar_in(
                    conn,
                    &actor,
                    school,
                    &calendar,
                    Utc::now(),
                )
                .await?;
                Ok::<_, Error>(calendar)
            })
        })
        .await
}
