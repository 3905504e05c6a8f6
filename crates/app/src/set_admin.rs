//! Keeping the sets: making one, renaming it or changing its notes, and putting
//! devices into it or taking them out, for the sets pages and the API alike.
//!
//! Only someone who keeps the register may ([`Permission::ManageRegister`]). Which
//! device may join or leave a set, and which name a set may have, is decided by
//! [`kitroom_core::kit`]; each change is written with its event (`kit.created`,
//! `kit.updated`, `kit.device_added`, `kit.device_removed`) in one transaction.
//! The `*_in` functions do the work inside the caller's transaction, for the demo
//! and the tests' fixtures, which set up sets as Kitroom itself.

use chrono::{DateTime, Utc};
use kitroom_core::kit::{self, InSet};
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::db::Actor;
use kitroom_store::events::append;
use kitroom_store::kits::{self as store, kit_subject, Kit};
use kitroom_store::people::Person;
use kitroom_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::{App, Error, Refusal};

/// A new set as sent: the sets page's form, or the API's JSON body.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NewSetInput {
    /// The set's name, unique in the school (whatever its case), up to 80
    /// characters.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub name: String,
    /// What is in it and where it lives, up to 500 characters.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub notes: String,
}

/// A new set, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewSet {
    pub name: String,
    pub notes: String,
}

impl TryFrom<NewSetInput> for NewSet {
    type Error = Invalid;

    fn try_from(i: NewSetInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let name = invalid.check("name", kit::kit_name(&i.name));
        let notes = invalid.check("notes", kit::kit_notes(&i.notes));
        invalid.into_result()?;
        Ok(NewSet {
            name: name.unwrap_or_default(),
            notes: notes.unwrap_or_default(),
        })
    }
}

/// A set's new name or notes as sent (the API's PATCH body): a field left out (or
/// `null`) stays as it is.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EditSetInput {
    /// The set's new name, unique in the school (whatever its case), up to 80
    /// characters.
    pub name: Option<String>,
    /// Its new notes, up to 500 characters; `""` clears them.
    pub notes: Option<String>,
}

/// A set's change, checked: `None` leaves the field as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetEdit {
    pub name: Option<String>,
    pub notes: Option<String>,
}

impl TryFrom<EditSetInput> for SetEdit {
    type Error = Invalid;

    fn try_from(i: EditSetInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let name = i
            .name
            .as_deref()
            .and_then(|n| invalid.check("name", kit::kit_name(n)));
        let notes = i
            .notes
            .as_deref()
            .and_then(|n| invalid.check("notes", kit::kit_notes(n)));
        invalid.into_result()?;
        Ok(SetEdit { name, notes })
    }
}

/// The device to put into a set, as sent: its tag typed, or the address its label
/// gives when scanned (`…/d/IPAD-1`).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AddDeviceInput {
    /// The device's asset tag (any case), or its label's scanned address.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>)]
    pub tag: String,
}

/// The device to put into a set: its tag as typed, without a label's address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddDevice {
    pub tag: String,
}

impl TryFrom<AddDeviceInput> for AddDevice {
    type Error = Invalid;

    fn try_from(i: AddDeviceInput) -> Result<Self, Invalid> {
        kit::scanned_tag(&i.tag)
            .map(|tag| AddDevice { tag })
            .map_err(|m| Invalid::one("tag", m))
    }
}

fn require(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::ManageRegister) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

/// The set with the id `id`, inside the caller's transaction; a refusal when there
/// is none.
async fn kit_in(conn: &mut Conn, school: SchoolId, id: Uuid) -> Result<Kit, Error> {
    match store::kit_in(conn, school, id).await {
        Ok(k) => Ok(k),
        Err(StoreError::NotFound) => Err(Refusal::not_found("That set").into()),
        Err(e) => Err(e.into()),
    }
}

/// Makes a new, empty set. A name another set has (whatever its case) is refused.
pub async fn create(app: &App, caller: &Person, input: NewSetInput) -> Result<Kit, Error> {
    require(caller)?;
    let new = NewSet::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move { create_in(conn, &actor, school, &new, Utc::now()).await })
        })
        .await
}

/// [`create`] inside the caller's transaction, as `actor`.
pub async fn create_in(
    conn: &mut Conn,
    actor: &Actor,
    school: SchoolId,
    new: &NewSet,
    now: DateTime<Utc>,
) -> Result<Kit, Error> {
    let taken = store::name_taken_in(conn, school, &new.name, None).await?;
    kit::may_use_name(&new.name, taken)?;
    let id = Uuid::new_v4();
    if !store::insert_kit_in(conn, school, id, &new.name, &new.notes, now).await? {
        kit::may_use_name(&new.name, true)?;
    }
    append(
        conn,
        actor,
        "kit.created",
        &kit_subject(id, &new.name),
        json!({"name": new.name, "notes": new.notes}),
        now,
    )
    .await?;
    kit_in(conn, school, id).await
}

/// Renames the set `s` (its id or name) or changes its notes. Nothing is written
/// when nothing changes; another set's name is refused.
pub async fn edit(app: &App, caller: &Person, s: &str, input: EditSetInput) -> Result<Kit, Error> {
    require(caller)?;
    let parsed = SetEdit::try_from(input);
    let k = crate::sets::set(app, caller.school, s).await?;
    let change = parsed?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move { edit_in(conn, &actor, school, k.id, &change, Utc::now()).await })
        })
        .await
}

/// [`edit`] inside the caller's transaction, as `actor`.
pub async fn edit_in(
    conn: &mut Conn,
    actor: &Actor,
    school: SchoolId,
    kit_id: Uuid,
    change: &SetEdit,
    now: DateTime<Utc>,
) -> Result<Kit, Error> {
    let before = kit_in(conn, school, kit_id).await?;
    let name = change.name.clone().unwrap_or_else(|| before.name.clone());
    let notes = change.notes.clone().unwrap_or_else(|| before.notes.clone());
    if name == before.name && notes == before.notes {
        return Ok(before);
    }
    let taken = store::name_taken_in(conn, school, &name, Some(kit_id)).await?;
    kit::may_use_name(&name, taken)?;
    if !store::update_kit_in(conn, kit_id, &name, &notes).await? {
        kit::may_use_name(&name, true)?;
    }
    append(
        conn,
        actor,
        "kit.updated",
        &kit_subject(kit_id, &name),
        json!({"name": name, "notes": notes, "before": {"name": before.name, "notes": before.notes}}),
        now,
    )
    .await?;
    kit_in(conn, school, kit_id).await
}

/// Puts a device into the set `s` (its id or name). A device is in one set at
/// most. Answers the set and the device's tag as registered.
pub async fn add_device(
    app: &App,
    caller: &Person,
    s: &str,
    input: AddDeviceInput,
) -> Result<(Kit, String), Error> {
    require(caller)?;
    let parsed = AddDevice::try_from(input);
    let k = crate::sets::set(app, caller.school, s).await?;
    let AddDevice { tag } = parsed?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(
                async move { add_device_in(conn, &actor, school, k.id, &tag, Utc::now()).await },
            )
        })
        .await
}

/// [`add_device`] inside the caller's transaction, as `actor`: `tag` as typed,
/// without a label's address, one of `school`'s devices.
pub async fn add_device_in(
    conn: &mut Conn,
    actor: &Actor,
    school: SchoolId,
    kit_id: Uuid,
    tag: &str,
    now: DateTime<Utc>,
) -> Result<(Kit, String), Error> {
    let k = kit_in(conn, school, kit_id).await?;
    let device = store::device_in_set_in(conn, school, tag.trim())
        .await?
        .ok_or_else(|| kit::SetChangeRefusal::UnknownTag {
            tag: tag.trim().to_owned(),
        })?;
    let now_in = match &device.set {
        None => InSet::Nowhere,
        Some((id, _)) if *id == k.id => InSet::This,
        Some((_, name)) => InSet::Other(name),
    };
    kit::may_join(&device.tag, now_in)?;
    store::add_device_in(conn, k.id, device.id).await?;
    append(
        conn,
        actor,
        "kit.device_added",
        &k.subject(),
        json!({"device": device.tag}),
        now,
    )
    .await?;
    Ok((kit_in(conn, school, kit_id).await?, device.tag))
}

/// Takes the device `tag` out of the set `s` (its id or name). A device out with
/// the set stays in it until it is back. Answers the set and the device's tag as
/// registered.
pub async fn remove_device(
    app: &App,
    caller: &Person,
    s: &str,
    tag: &str,
) -> Result<(Kit, String), Error> {
    require(caller)?;
    let k = crate::sets::set(app, caller.school, s).await?;
    let actor = caller.actor();
    let school = caller.school;
    let tag = tag.to_owned();
    app.store()
        .transaction(move |conn| {
            Box::pin(
                async move { remove_device_in(conn, &actor, school, k.id, &tag, Utc::now()).await },
            )
        })
        .await
}

/// [`remove_device`] inside the caller's transaction, as `actor`.
pub async fn remove_device_in(
    conn: &mut Conn,
    actor: &Actor,
    school: SchoolId,
    kit_id: Uuid,
    tag: &str,
    now: DateTime<Utc>,
) -> Result<(Kit, String), Error> {
    let k = kit_in(conn, school, kit_id).await?;
    let member = k
        .devices
        .iter()
        .find(|d| d.tag.eq_ignore_ascii_case(tag.trim()));
    let out_with_set = member.is_some_and(|d| {
        k.open
            .as_ref()
            .is_some_and(|g| g.loans.iter().any(|l| l.device_id == d.id && l.is_open()))
    });
    let shown = member.map_or(tag.trim(), |d| d.tag.as_str());
    kit::may_leave(shown, member.is_some(), out_with_set)?;
    let Some(device) = member else {
        return Err(Refusal::not_found("That device").into());
    };
    store::remove_device_in(conn, k.id, device.id).await?;
    append(
        conn,
        actor,
        "kit.device_removed",
        &k.subject(),
        json!({"device": device.tag}),
        now,
    )
    .await?;
    Ok((kit_in(conn, school, kit_id).await?, device.tag.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A set typed on the page and sent as JSON read the same, and every problem is
    /// told at once.
    #[test]
    fn a_new_set_reads_the_same_from_a_form_and_from_json_and_tells_every_problem() {
        let json: NewSetInput =
            serde_json::from_str(r#"{"name": " Trolley ", "notes": null}"#).unwrap();
        let form = NewSetInput {
            name: "Trolley".into(),
            notes: String::new(),
        };
        assert_eq!(NewSet::try_from(json), NewSet::try_from(form));
        let bad = NewSet::try_from(NewSetInput {
            name: " ".into(),
            notes: "x".repeat(501),
        })
        .unwrap_err();
        assert!(bad.for_field("name").is_some());
        assert!(bad.for_field("notes").is_some());
        assert!(serde_json::from_str::<NewSetInput>(r#"{"nmae": "x"}"#).is_err());
    }

    /// A scanned label would not add its device, and a rename through the API
    /// would clear the notes it did not send.
    #[test]
    fn a_scanned_label_adds_its_device_and_an_edit_changes_only_what_is_sent() {
        let add = AddDevice::try_from(AddDeviceInput {
            tag: "https://kitroom.school.example/d/IPAD-1".into(),
        })
        .unwrap();
        assert_eq!(add.tag, "IPAD-1");
        let edit = SetEdit::try_from(EditSetInput {
            name: Some("Trolley B".into()),
            notes: None,
        })
        .unwrap();
        assert_eq!(edit.notes, None);
        assert!(SetEdit::try_from(EditSetInput {
            name: Some(String::new()),
            notes: Some("x".repeat(501)),
        })
        .is_err_and(|i| i.for_field("name").is_some() && i.for_field("notes").is_some()));
    }
}
