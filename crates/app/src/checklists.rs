//! Return checklists, for the business manager: the questions asked when a device
//! of a kind comes back. One command, for the checklists page (every kind at once)
//! and the API (one kind).

use std::collections::BTreeMap;

use chrono::Utc;
use kitroom_core::checklist::{self, Question};
use kitroom_core::device::DeviceKind;
use kitroom_core::person::Permission;
use kitroom_store::checklists::{questions_in, write_in};
use kitroom_store::events::{append, Subject};
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::{App, Error, Refusal};

/// One kind's checklist as sent: its questions in order; one ending `[damage]`
/// opens a damage report when answered no.
/// A field it does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChecklistInput {
    /// The questions in order, such as "Charger returned?"; one ending `[damage]`
    /// opens a damage report when answered no.
    pub questions: Vec<String>,
}

/// Sets the checklist of `kind` (`ipad`, `laptop`, …); the other kinds keep
/// theirs. Returns the questions as saved.
pub async fn set(
    app: &App,
    caller: &Person,
    kind: &str,
    input: ChecklistInput,
) -> Result<Vec<Question>, Error> {
    require(caller)?;
    let kind = DeviceKind::ALL
        .iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(kind.trim()))
        .ok_or_else(|| Refusal::not_found("That kind of device"))?;
    let typed = BTreeMap::from([(kind.as_str().to_owned(), input.questions.join("\n"))]);
    let saved = save(app, caller, typed).await?;
    Ok(saved.get(kind.as_str()).cloned().unwrap_or_default())
}

fn require(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::ManageRegister) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

/// Sets the checklists typed, one question a line, by the kind's word (`ipad`);
/// a kind not given (or a word that is no kind) keeps its questions. Every kind's
/// problem is told at once, under `checklist`, and nothing is saved then. Records
/// which kinds changed. Returns every kind's questions as saved.
pub async fn save(
    app: &App,
    caller: &Person,
    typed: BTreeMap<String, String>,
) -> Result<BTreeMap<&'static str, Vec<Question>>, Error> {
    require(caller)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let mut before = BTreeMap::new();
                for kind in DeviceKind::ALL {
                    let text = checklist::questions_text(&questions_in(conn, school, *kind).await?);
                    before.insert(kind.as_str().to_owned(), text);
                }
                let mut after = before.clone();
                for (kind, text) in typed {
                    if let Some(t) = after.get_mut(&kind) {
                        *t = text;
                    }
                }
                let lists = checklist::parse_all(&after)?;
                let mut changed = serde_json::Map::new();
                for kind in DeviceKind::ALL {
                    let questions = lists.get(kind.as_str()).map(Vec::as_slice).unwrap_or(&[]);
                    let (from, to) = (&before[kind.as_str()], checklist::questions_text(questions));
                    if *from != to {
                        write_in(conn, school, *kind, questions).await?;
                        changed.insert(kind.as_str().into(), json!({"from": from, "to": to}));
                    }
                }
                if !changed.is_empty() {
                    let subject = Subject {
                        key: "checklists".into(),
                        label: "Return checklists".into(),
                    };
                    append(
                        conn,
                        &actor,
                        "checklist.changed",
                        &subject,
                        changed.into(),
                        Utc::now(),
                    )
                    .await?;
                }
                Ok::<_, Error>(lists)
            })
        })
        .await
}
