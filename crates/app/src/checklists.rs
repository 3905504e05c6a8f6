//! Return checklists, for the business manager: the questions asked when a device
//! of a kind comes back. One command, for the checklists page's kinds and the API.

use std::collections::BTreeMap;

use kitroom_core::checklist::{self, Question};
use kitroom_core::device::DeviceKind;
use kitroom_core::person::Permission;
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
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
    if !caller.role.may(Permission::ManageRegister) {
        return Err(Refusal::not_allowed().into());
    }
    let kind = DeviceKind::ALL
        .iter()
        .find(|k| k.as_str().eq_ignore_ascii_case(kind.trim()))
        .ok_or_else(|| Refusal::not_found("That kind of device"))?;
    let mut typed: BTreeMap<String, String> = app
        .store()
        .checklists()
        .await?
        .into_iter()
        .map(|(k, q)| (k.to_owned(), checklist::questions_text(&q)))
        .collect();
    typed.insert(kind.as_str().to_owned(), input.questions.join("\n"));
    let lists = checklist::parse_all(&typed)?;
    let saved = lists.get(kind.as_str()).cloned().unwrap_or_default();
    app.store().save_checklists(caller.actor(), lists).await?;
    Ok(saved)
}
