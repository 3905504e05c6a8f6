//! Whom a loan or booking is for, from what someone typed: a username or a full
//! name. Every borrower field goes through [`borrower`]: a device's and a set's
//! check-out and a booking made for someone, on the pages and the API alike.

use kitroom_core::person::{name_key, Permission};
use kitroom_store::people::Person;

use crate::{App, Error, Refusal};

/// Whom a loan or booking is for. Empty, one's own username or one's own full name
/// is oneself. Otherwise (only for those who may lend to anyone): an exact username,
/// case ignored, wins; else the one active person with exactly that full name
/// (spacing and case ignored). Several people with that name are refused, listed
/// as "Full Name (username)" so the manager can pick; nobody is refused with a hint.
///
/// Someone who may lend only to themselves and names another is refused before
/// any lookup, so the answer does not tell whether that person exists.
pub async fn borrower(app: &App, caller: &Person, typed: &str) -> Result<Person, Error> {
    let typed = typed.trim();
    if typed.is_empty() || typed.eq_ignore_ascii_case(&caller.username) {
        return Ok(caller.clone());
    }
    if !caller.role.may(Permission::LendToAnyone) {
        return if name_key(typed) == name_key(&caller.full_name) {
            Ok(caller.clone())
        } else {
            Err(Refusal::not_allowed().into())
        };
    }
    let store = app.store();
    if let Some(p) = store.person_by_username(caller.school, typed).await? {
        return Ok(p);
    }
    let mut called = store.people_called(caller.school, typed).await?;
    let refuse = |message: String| -> Error {
        Refusal::invalid(kitroom_core::Invalid::one("borrower", message)).into()
    };
    match called.len() {
        1 => Ok(called.remove(0)),
        0 => Err(refuse(format!(
            "Nobody is called “{typed}” — check the spelling, or search by part of the name."
        ))),
        n => Err(refuse(format!(
            "{n} people are called “{typed}”: {}. Type the username of the one you mean.",
            called
                .iter()
                .map(|p| format!("{} ({})", p.full_name, p.username))
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}
