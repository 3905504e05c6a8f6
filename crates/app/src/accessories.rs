//! Accessories, for the business manager: a new type, a count changed with its
//! reason, a rename, retiring a type, and those not returned turning up. One
//! command each, for the accessories page and the API alike.

use kitroom_core::accessory;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::input::Number;
use crate::{App, Error, Refusal};

fn manager(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::ManageRegister) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

fn accessory_id(id: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id.trim()).map_err(|_| Refusal::not_found("That accessory").into())
}

/// The store's "not valid" (a name taken, a count below none) is a mistake in
/// what was sent: 422, beside its field.
fn typed_wrong(e: kitroom_store::StoreError) -> Error {
    crate::loans::typed_wrong(e)
}

/// A new type of accessory, as sent. A field it does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NewAccessoryInput {
    /// The accessory's name, such as "USB-C charger"; up to 80 characters.
    #[schema(required = true, min_length = 1)]
    pub name: String,
}

/// Adds a type of accessory, with none anywhere yet. Returns its id and name.
pub async fn create(
    app: &App,
    caller: &Person,
    input: NewAccessoryInput,
) -> Result<(Uuid, String), Error> {
    manager(caller)?;
    let name = accessory::accessory_name(&input.name).map_err(|m| Invalid::one("name", m))?;
    let id = app
        .store()
        .create_accessory(caller.actor(), name.clone())
        .await
        .map_err(typed_wrong)?;
    Ok((id, name))
}

/// A count changed at a place, as sent: `change` is `+2`, `-1` or a number.
/// A field it does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AdjustInput {
    /// The place whose count changes; made the first time its name is used.
    #[schema(required = true, min_length = 1)]
    pub location: String,
    /// `+2`, `-1`, or a number: how many more (or fewer) there are there.
    #[schema(value_type = String, required = true, example = "+2")]
    pub change: Number,
    /// Why the count changed (up to 200 characters).
    #[schema(required = true, min_length = 1)]
    pub reason: String,
}

/// A count change, read and checked.
#[derive(Debug, Clone)]
pub struct Adjust {
    pub location: String,
    pub change: i64,
    pub reason: String,
}

impl TryFrom<AdjustInput> for Adjust {
    type Error = Invalid;

    /// Every problem at once, each beside its field.
    fn try_from(i: AdjustInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let location = invalid.check("location", kitroom_core::device::location_name(&i.location));
        let change = invalid.check("change", accessory::parse_change(&i.change.0));
        let reason = invalid.check(
            "reason",
            kitroom_core::invalid::required_text(&i.reason, "Reason", 200),
        );
        invalid.into_result()?;
        match (location, change, reason) {
            (Some(location), Some(change), Some(reason)) => Ok(Adjust {
                location,
                change,
                reason,
            }),
            _ => Err(Invalid::one("change", "Type the change.")),
        }
    }
}

/// Changes the count of accessory `id` at a place (made the first time its name
/// is used), with the reason; never below none.
pub async fn adjust(
    app: &App,
    caller: &Person,
    id: &str,
    input: AdjustInput,
) -> Result<Adjust, Error> {
    manager(caller)?;
    let id = accessory_id(id)?;
    let cmd = Adjust::try_from(input)?;
    app.store()
        .adjust_accessory(
            caller.actor(),
            id,
            cmd.location.clone(),
            cmd.change,
            cmd.reason.clone(),
        )
        .await
        .map_err(typed_wrong)?;
    Ok(cmd)
}

/// A change to a type, as sent: a new name, retired or back in use. A field it
/// does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ChangeInput {
    /// A new name; the name is kept when missing.
    #[serde(alias = "rename")]
    pub name: Option<String>,
    /// Retired (`true`) or back in use (`false`); unchanged when missing.
    pub retired: Option<bool>,
}

/// Renames accessory `id` and/or retires it (or puts it back in use); its counts,
/// loans and history keep it. Returns its name now.
pub async fn change(
    app: &App,
    caller: &Person,
    id: &str,
    input: ChangeInput,
) -> Result<String, Error> {
    manager(caller)?;
    let id = accessory_id(id)?;
    let name = match input.name.as_deref() {
        Some(n) => Some(accessory::accessory_name(n).map_err(|m| Invalid::one("name", m))?),
        None => None,
    };
    if let Some(name) = &name {
        app.store()
            .rename_accessory(caller.actor(), id, name.clone())
            .await
            .map_err(typed_wrong)?;
    }
    match input.retired {
        Some(retired) => Ok(app
            .store()
            .retire_accessory(caller.actor(), id, retired)
            .await?),
        None => match name {
            Some(name) => Ok(name),
            None => Err(Invalid::one("name", "Send a new name, or retired true or false.").into()),
        },
    }
}

/// Accessories not returned with a loan (lent row `lent`) have turned up: back
/// in the count where they came from.
pub async fn found(app: &App, caller: &Person, lent: &str) -> Result<(), Error> {
    manager(caller)?;
    let lent: i64 = lent
        .trim()
        .parse()
        .map_err(|_| Refusal::not_found("That accessory not returned"))?;
    app.store()
        .accessory_found(caller.actor(), lent)
        .await
        .map_err(|e| match e {
            kitroom_store::StoreError::NotFound => {
                Refusal::not_found("That accessory not returned").into()
            }
            other => other.into(),
        })
}
