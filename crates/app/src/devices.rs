//! The register: registering a device, editing it, and moving it through its
//! statuses by hand (to repair, lost, found, back from repair, ready), one command
//! each for the pages and the API alike.
//!
//! The status rules are `kitroom_core::device`'s alone (`DeviceStatus::apply` and
//! `manual_changes`); this module asks them and writes what they decided.

use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::device::{self as core_device, DeviceDetails, Pence, StatusChange};
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::{FieldError, Invalid};
use kitroom_store::devices::{get_device, Device};
use kitroom_store::events::append;
use kitroom_store::people::Person;
use kitroom_store::{Actor, Conn};
use serde::{Deserialize, Deserializer, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::input::{Flag, Number};
use crate::{App, Error, Kind, Refusal};

/// `Some(None)` for an explicit JSON `null`, `None` for a field not sent: an edit
/// through the API clears a field only when asked to.
fn nullable<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A device's encryption as the API nests it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EncryptionInput {
    /// `unknown`, `encrypted` or `not_encrypted`; kept as it was when missing.
    #[schema(example = "encrypted")]
    pub state: Option<String>,
    /// `bitlocker`, `filevault`, `chromeos`, `ipados` or `other`; `null` clears it.
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<String>)]
    pub method: Option<Option<String>>,
    /// The day someone checked the device's settings, `YYYY-MM-DD`; `null` clears it.
    /// A new date records the caller as the person who verified it.
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub verified_on: Option<Option<String>>,
}

/// A device's fields as sent: the register's form (flat, a cost in pounds, ticked
/// boxes) or the API's JSON (`cost_pence`, `encryption: {state, method,
/// verified_on}`, `true`/`false`). A field not sent is left as it was (on a new
/// device: empty; registering needs `tag`, `kind` and `location`); on the page
/// every field is sent, an unticked box as nothing. A field it does not know is
/// refused, not ignored.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct DeviceInput {
    /// The asset tag, exactly as printed on the label, like `LAP-0042`.
    pub tag: Option<String>,
    /// `ipad`, `tablet`, `laptop`, `chromebook`, `desktop`, `camera`, `phone` or
    /// `other`.
    #[schema(example = "laptop")]
    pub kind: Option<String>,
    pub make: Option<String>,
    pub model: Option<String>,
    pub serial: Option<String>,
    /// Its home location's name; a new name adds a new location.
    pub location: Option<String>,
    /// `good`, `fair`, `poor` or `damaged`.
    #[schema(example = "good")]
    pub condition: Option<String>,
    /// `YYYY-MM-DD`; `null` clears it.
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub purchased_on: Option<Option<String>>,
    /// Pounds and pence as typed ("£1,299.00"): the page's form.
    pub cost: Option<String>,
    /// Whole pence, zero or more; `null` clears it.
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<i64>, minimum = 0)]
    pub cost_pence: Option<Option<Number>>,
    pub supplier: Option<String>,
    /// `YYYY-MM-DD`; `null` clears it.
    #[serde(deserialize_with = "nullable")]
    #[schema(value_type = Option<String>, format = Date)]
    pub warranty_until: Option<Option<String>>,
    pub notes: Option<String>,
    /// The page's form: the encryption state (the API nests it in `encryption`).
    pub encryption_state: Option<String>,
    /// The page's form: the encryption method.
    pub encryption_method: Option<String>,
    /// The page's form: the day the encryption was last verified.
    pub encryption_verified_on: Option<String>,
    /// The API's nested encryption.
    pub encryption: Option<EncryptionInput>,
    /// A passcode or password lock is enforced.
    #[schema(value_type = Option<bool>)]
    pub passcode_enforced: Option<Flag>,
    /// It may hold personal data: it then leaves the school only with the head
    /// teacher's authorisation, and is disposed of only with wipe evidence.
    #[schema(value_type = Option<bool>)]
    pub holds_personal_data: Option<Flag>,
    /// It takes photos or video.
    #[schema(value_type = Option<bool>)]
    pub captures_images: Option<Flag>,
}

impl DeviceInput {
    /// These fields laid over `base` (a device's fields as text), as typed: what a
    /// refused form shows again. Problems found on the way are added to `invalid`.
    fn lay_over(
        &self,
        mut base: core_device::DeviceInput,
        invalid: &mut Invalid,
    ) -> core_device::DeviceInput {
        macro_rules! set {
            ($($f:ident),*) => { $( if let Some(v) = &self.$f { base.$f = v.clone(); } )* };
        }
        set!(
            tag,
            kind,
            make,
            model,
            serial,
            location,
            condition,
            cost,
            supplier,
            notes,
            encryption_state,
            encryption_method,
            encryption_verified_on
        );
        macro_rules! flag {
            ($($f:ident),*) => { $( if let Some(v) = self.$f { base.$f = v.0; } )* };
        }
        flag!(passcode_enforced, holds_personal_data, captures_images);
        if let Some(d) = &self.purchased_on {
            base.purchased_on = d.clone().unwrap_or_default();
        }
        if let Some(d) = &self.warranty_until {
            base.warranty_until = d.clone().unwrap_or_default();
        }
        if let Some(c) = &self.cost_pence {
            base.cost = match c.as_ref().map(|n| n.whole("cost_pence")) {
                None | Some(Ok(None)) => String::new(),
                Some(Ok(Some(p))) if p < 0 => {
                    invalid.add("cost_pence", "cost_pence must be zero or more.");
                    String::new()
                }
                Some(Ok(Some(p))) => Pence(p).to_string(),
                Some(Err(_)) => {
                    invalid.add("cost_pence", "cost_pence must be a whole number of pence.");
                    String::new()
                }
            };
        }
        if let Some(e) = &self.encryption {
            if let Some(s) = &e.state {
                base.encryption_state = s.clone();
            }
            if let Some(m) = &e.method {
                base.encryption_method = m.clone().unwrap_or_default();
            }
            if let Some(v) = &e.verified_on {
                base.encryption_verified_on = v.clone().unwrap_or_default();
            }
        }
        base
    }

    /// These fields laid over `base`, as typed, for showing a refused form again.
    pub fn typed(&self, base: core_device::DeviceInput) -> core_device::DeviceInput {
        self.lay_over(base, &mut Invalid::new())
    }

    /// These fields laid over `base` and checked, every problem at once, each under
    /// the name of the field as it was sent (`cost_pence`, `encryption.state` when
    /// the API's shape was used).
    pub fn details_over(
        &self,
        base: core_device::DeviceInput,
        today: NaiveDate,
    ) -> Result<DeviceDetails, Invalid> {
        let mut invalid = Invalid::new();
        let typed = self.lay_over(base, &mut invalid);
        let parsed = typed.parse(today);
        let cost_sent_as_pence = self.cost_pence.is_some();
        let nested = self.encryption.is_some();
        match parsed {
            Ok(d) if invalid.is_empty() => Ok(d),
            Ok(_) => Err(invalid),
            Err(found) => {
                for e in found.0 {
                    let field = match e.field {
                        "cost" if cost_sent_as_pence => "cost_pence",
                        "encryption_state" if nested => "encryption.state",
                        "encryption_method" if nested => "encryption.method",
                        "encryption_verified_on" if nested => "encryption.verified_on",
                        other => other,
                    };
                    if !invalid.0.iter().any(|x| x.field == field) {
                        invalid.0.push(FieldError {
                            field,
                            message: e.message,
                        });
                    }
                }
                Err(invalid)
            }
        }
    }
}

/// A new device, read and checked.
#[derive(Debug, Clone)]
pub struct Register(pub DeviceDetails);

impl TryFrom<DeviceInput> for Register {
    type Error = Invalid;

    fn try_from(i: DeviceInput) -> Result<Self, Invalid> {
        i.details_over(
            core_device::DeviceInput::default(),
            kitroom_core::time::school_day(Utc::now()),
        )
        .map(Register)
    }
}

/// How an edit's fields are laid over the device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edit {
    /// Every field is sent (the page's form: an unticked box is not sent at all).
    Whole,
    /// Only the fields sent change (the API's PATCH).
    Patch,
}

/// The refusal for a tag already on another device.
fn tag_taken(existing: &str, make: &str, model: &str) -> Error {
    let invalid = Invalid::one("tag", core_device::tag_in_use(existing, make, model));
    Refusal {
        kind: Kind::Conflict,
        code: "conflict",
        message: invalid.to_string(),
        fields: Some(invalid),
        extra: None,
    }
    .into()
}

fn may_manage(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::ManageRegister) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

/// Puts a device on the register, as `caller` (who keeps the register). Its
/// location is created the first time its name is used; its tag must be free,
/// whatever its case. Recorded as `device.registered`.
pub async fn register(app: &App, caller: &Person, input: DeviceInput) -> Result<Device, Error> {
    may_manage(caller)?;
    let Register(details) = Register::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                if let Some((t, make, model)) =
                    kitroom_store::devices::tag_holder_in(conn, school, &details.tag, None).await?
                {
                    return Err(tag_taken(&t, &make, &model));
                }
                let location = kitroom_store::locations::find_or_create(
                    conn,
                    &actor,
                    school,
                    &details.location,
                    now,
                )
                .await?;
                let id = kitroom_store::devices::insert_device(
                    conn, &actor, school, &details, location, None, now,
                )
                .await?;
                Ok::<_, Error>(get_device(conn, id).await?)
            })
        })
        .await
}

/// The device of `school` a tag names, or not found (another school's too).
pub async fn device(app: &App, school: SchoolId, tag: &str) -> Result<Device, Error> {
    app.store()
        .device_by_tag(school, tag.trim())
        .await?
        .ok_or_else(|| Refusal::not_found("That device").into())
}

/// Changes the details of the device `tag`, as `caller` (who keeps the register),
/// and records each field that changed, before and after (`device.updated`).
/// Recording a new encryption verification names `caller` as its verifier.
pub async fn edit(
    app: &App,
    caller: &Person,
    tag: &str,
    input: DeviceInput,
    how: Edit,
) -> Result<Device, Error> {
    may_manage(caller)?;
    let device = device(app, caller.school, tag).await?;
    let actor = caller.actor();
    let school = caller.school;
    let today = kitroom_core::time::school_day(Utc::now());
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let before = get_device(conn, device.id).await?;
                let base = match how {
                    Edit::Whole => core_device::DeviceInput::default(),
                    Edit::Patch => core_device::DeviceInput::from(&before.details),
                };
                let details = input.details_over(base, today)?;
                if let Some((t, make, model)) = kitroom_store::devices::tag_holder_in(
                    conn,
                    school,
                    &details.tag,
                    Some(before.id),
                )
                .await?
                {
                    return Err(tag_taken(&t, &make, &model));
                }
                let location = kitroom_store::locations::find_or_create(
                    conn,
                    &actor,
                    school,
                    &details.location,
                    now,
                )
                .await?;
                kitroom_store::devices::update_device_in(
                    conn, &actor, before.id, &details, location, &before, now,
                )
                .await?;
                let after = get_device(conn, before.id).await?;
                let changes =
                    kitroom_store::devices::changed_fields(&before.details, &after.details);
                if !changes.is_empty() {
                    append(
                        conn,
                        &actor,
                        "device.updated",
                        &after.subject(),
                        changes.into(),
                        now,
                    )
                    .await?;
                }
                Ok::<_, Error>(after)
            })
        })
        .await
}

/// A status change as sent: the device page's "Change status" form, or the API's
/// JSON body. `change` is the move's word (`send_to_repair`, `back_from_repair`,
/// `report_lost`, `found`, `mark_ready`). A field it does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct StatusInput {
    /// The move: one the status machine offers by hand.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(schema_with = changes_by_hand, required = true)]
    pub change: String,
    /// Why, for the activity log; up to 500 characters, no control characters
    /// but line breaks and tabs.
    #[serde(deserialize_with = "crate::input::text_or_null")]
    #[schema(value_type = Option<String>, max_length = 500, pattern = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F\x7F-\x9F]*$")]
    pub note: String,
}

/// Whether the status machine offers this move by hand from some status: checking
/// out and returning happen through a loan, retiring through a disposal.
pub fn by_hand(change: StatusChange) -> bool {
    core_device::DeviceStatus::ALL
        .iter()
        .any(|s| s.manual_changes().contains(&change))
}

/// The schema of a status change's word: one of the moves made by hand.
fn changes_by_hand() -> utoipa::openapi::Object {
    let words: Vec<&str> = StatusChange::ALL
        .iter()
        .filter(|c| by_hand(**c))
        .map(|c| c.as_str())
        .collect();
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(words))
        .description(Some("The move: one the status machine offers by hand."))
        .build()
}

/// A status change made by hand, read and checked.
#[derive(Debug, Clone)]
pub struct ChangeStatus {
    pub change: StatusChange,
    pub note: String,
}

impl TryFrom<StatusInput> for ChangeStatus {
    type Error = Invalid;

    fn try_from(i: StatusInput) -> Result<Self, Invalid> {
        let mut invalid = Invalid::new();
        let change = invalid
            .check(
                "change",
                match i.change.trim() {
                    "" => Err("Choose the status change.".to_owned()),
                    c => c.parse::<StatusChange>(),
                },
            )
            .and_then(|c| {
                invalid.check(
                    "change",
                    if by_hand(c) {
                        Ok(c)
                    } else {
                        Err("That change is made through a loan or a disposal, not here.".into())
                    },
                )
            });
        let note = invalid.check("note", kitroom_core::invalid::text(&i.note, "Note", 500));
        invalid.into_result()?;
        match (change, note) {
            (Some(change), Some(note)) => Ok(ChangeStatus { change, note }),
            _ => unreachable!("every field was checked above"),
        }
    }
}

/// Moves the device `tag` by hand, as `caller` (who keeps the register), with a
/// note. The status machine decides whether the move is allowed from where the
/// device is (409 when not). A device coming back (found, back from repair) goes
/// on charge; a device lost while on loan closes its loan as lost. Recorded as
/// `device.status_changed`.
pub async fn change_status(
    app: &App,
    caller: &Person,
    tag: &str,
    input: StatusInput,
) -> Result<Device, Error> {
    may_manage(caller)?;
    let cmd = ChangeStatus::try_from(input)?;
    let device = device(app, caller.school, tag).await?;
    move_device(app, caller, device, cmd.change, cmd.note).await
}

/// Applies `change` to `device` in one transaction, asking the status machine on
/// the device as it is there.
pub(crate) async fn move_device(
    app: &App,
    caller: &Person,
    device: Device,
    change: StatusChange,
    note: String,
) -> Result<Device, Error> {
    move_as(app, caller.actor(), device.id, change, note).await
}

/// Moves the device `id` by `change` as `actor`, who is already allowed to (the
/// charging sweep, `kitroom demo`, a caller above): one transaction, the status
/// machine asked on the device as it is there.
pub async fn move_as(
    app: &App,
    actor: Actor,
    id: Uuid,
    change: StatusChange,
    note: String,
) -> Result<Device, Error> {
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let device = get_device(conn, id).await?;
                move_in(
                    conn,
                    &actor,
                    &device,
                    change,
                    json!({ "note": note }),
                    Utc::now(),
                )
                .await
            })
        })
        .await
}

/// Decides `change` on `device` as read in this transaction and writes it with
/// its event: every status move outside a loan goes through here.
pub(crate) async fn move_in(
    conn: &mut Conn,
    actor: &Actor,
    device: &Device,
    change: StatusChange,
    details: serde_json::Value,
    now: DateTime<Utc>,
) -> Result<Device, Error> {
    let mv = device.status.decide(change)?;
    Ok(kitroom_store::devices::apply_change(conn, actor, device, mv, details, now).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    /// A device registered from the form and from JSON with the same facts reads the
    /// same.
    #[test]
    fn a_device_reads_the_same_from_a_form_and_from_json() {
        let form: DeviceInput = serde_json::from_value(json!({
            "tag": "LAP-1", "kind": "laptop", "location": "Library", "cost": "499.99",
            "encryption_state": "encrypted", "encryption_method": "bitlocker",
            "holds_personal_data": "on",
        }))
        .unwrap();
        let api: DeviceInput = serde_json::from_value(json!({
            "tag": "LAP-1", "kind": "laptop", "location": "Library", "cost_pence": 49999,
            "encryption": {"state": "encrypted", "method": "bitlocker", "verified_on": null},
            "holds_personal_data": true,
        }))
        .unwrap();
        let base = core_device::DeviceInput::default;
        assert_eq!(
            form.details_over(base(), today()).unwrap(),
            api.details_over(base(), today()).unwrap()
        );
    }

    /// A problem is named as the field was sent, every one at once.
    #[test]
    fn problems_are_named_as_the_fields_were_sent() {
        let api: DeviceInput = serde_json::from_value(json!({
            "tag": "X-1", "kind": "toaster", "location": "Hall", "cost_pence": -5,
            "encryption": {"state": "encrypted"},
        }))
        .unwrap();
        let invalid = api
            .details_over(core_device::DeviceInput::default(), today())
            .unwrap_err();
        let fields: Vec<_> = invalid.0.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["cost_pence", "kind", "encryption.method"]);
    }

    /// A status change that belongs to a loan or a disposal is refused by hand.
    #[test]
    fn check_out_and_retire_are_not_status_changes_by_hand() {
        for c in ["check_out", "return", "retire", "explode", ""] {
            let r = ChangeStatus::try_from(StatusInput {
                change: c.into(),
                note: String::new(),
            });
            assert!(r.unwrap_err().for_field("change").is_some(), "{c}");
        }
        assert!(ChangeStatus::try_from(StatusInput {
            change: "send_to_repair".into(),
            note: "Cracked".into()
        })
        .is_ok());
    }
}
