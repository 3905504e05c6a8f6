//! Locations, the rooms and places devices live in: adding one and renaming it, for
//! the locations page and the API alike.

use chrono::Utc;
use kitroom_core::device::location_name;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::locations::{self, Location};
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{App, Error, Refusal};

/// A location's name as sent: the locations page's form, or the API's JSON body.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct LocationInput {
    /// The location's name, unique in the school.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub name: String,
}

/// A location's name, checked.
#[derive(Debug, Clone)]
pub struct LocationName(pub String);

impl TryFrom<LocationInput> for LocationName {
    type Error = Invalid;

    fn try_from(i: LocationInput) -> Result<Self, Invalid> {
        location_name(&i.name)
            .map(LocationName)
            .map_err(|m| Invalid::one("name", m))
    }
}

fn require(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::ManageRegister) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

fn taken(name: &str) -> Error {
    Invalid::one(
        "name",
        format!("There is already a location called “{name}”."),
    )
    .into()
}

/// Adds a location. A name already in use (whatever its case) is refused.
pub async fn create(app: &App, caller: &Person, input: LocationInput) -> Result<Location, Error> {
    require(caller)?;
    let LocationName(name) = LocationName::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                if locations::name_taken_in(conn, school, &name, None).await? {
                    return Err(taken(&name));
                }
                let id = locations::find_or_create(conn, &actor, school, &name, Utc::now()).await?;
                Ok::<_, Error>(locations::location_in(conn, school, id).await?)
            })
        })
        .await
}

/// Renames a location (every device there keeps it as home). Nothing happens when
/// the name is the same; another location's name is refused.
pub async fn rename(
    app: &App,
    caller: &Person,
    id: Uuid,
    input: LocationInput,
) -> Result<Location, Error> {
    require(caller)?;
    let LocationName(name) = LocationName::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let before = match locations::location_in(conn, school, id).await {
                    Ok(l) => l,
                    Err(kitroom_store::StoreError::NotFound) => {
                        return Err(Refusal::not_found("That location").into())
                    }
                    Err(e) => return Err(e.into()),
                };
                if before.name == name {
                    return Ok(before);
                }
                if locations::name_taken_in(conn, school, &name, Some(id)).await? {
                    return Err(taken(&name));
                }
                locations::rename_location_in(conn, &actor, id, &before.name, &name, Utc::now())
                    .await?;
                Ok::<_, Error>(locations::location_in(conn, school, id).await?)
            })
        })
        .await
}
