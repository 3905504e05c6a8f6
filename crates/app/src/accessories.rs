//! Accessories, for the business manager: a new type, a count changed with its
//! reason, a rename, retiring a type, and those not returned turning up. One
//! command each, for the accessories page and the API alike. Also the accessories
//! taken with a loan and counted back on its return, decided here for a device's,
//! a set's and a booking's loans alike.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kitroom_core::accessory::{self, AccessoryRefusal};
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::accessories::{self as store, Recount, Taking};
use kitroom_store::events::{append, Subject};
use kitroom_store::people::Person;
use kitroom_store::{Actor, Conn};
use serde::{Deserialize, Serialize};
use serde_json::json;

use utoipa::ToSchema;
use uuid::Uuid;

use crate::input::Number;
use crate::{App, Error, Kind, Refusal};

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

/// The store's "not valid" (a name taken by a racing request) is a mistake in
/// what was sent: 422, beside its field.
fn typed_wrong(e: kitroom_store::StoreError) -> Error {
    match e {
        kitroom_store::StoreError::Invalid(i) => Error::from(i),
        other => other.into(),
    }
}

/// An accessory's refusal, beside `field`: `kind` says whether it is a mistake in
/// what was typed (a count) or a clash with what is left now (a loan).
fn refused(kind: Kind, code: &'static str, field: &'static str, message: String) -> Error {
    Refusal {
        kind,
        code,
        fields: Some(Invalid::one(field, message.clone())),
        message,
        extra: None,
    }
    .into()
}

fn count_refused(r: AccessoryRefusal, kind: Kind, field: &'static str) -> Error {
    refused(kind, r.code(), field, r.to_string())
}

/// Type `id`'s name and whether it is retired, inside the transaction.
async fn accessory_in(
    conn: &mut Conn,
    school: SchoolId,
    id: Uuid,
) -> Result<(String, bool), Error> {
    store::accessory_in(conn, school, id)
        .await?
        .ok_or_else(|| Refusal::not_found("That accessory").into())
}

/// A new type of accessory, as sent. A field it does not know is refused.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct NewAccessoryInput {
    /// The accessory's name, such as "USB-C charger"; up to 80 characters.
    #[schema(required = true, min_length = 1)]
    pub name: String,
}

/// Adds a type of accessory, with none anywhere yet. A name another type has
/// (whatever its case) is refused. Returns its id and name.
pub async fn create(
    app: &App,
    caller: &Person,
    input: NewAccessoryInput,
) -> Result<(Uuid, String), Error> {
    manager(caller)?;
    let name = accessory::accessory_name(&input.name).map_err(|m| Invalid::one("name", m))?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let taken = format!(
                    "There is already an accessory called {name}. Change its counts below."
                );
                if store::name_taken_in(conn, school, &name, None).await? {
                    return Err(Invalid::one("name", taken).into());
                }
                let id = Uuid::new_v4();
                store::insert_in(conn, &actor, school, (id, &name), taken, Utc::now())
                    .await
                    .map_err(typed_wrong)?;
                Ok::<_, Error>((id, name))
            })
        })
        .await
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
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let (name, _) = accessory_in(conn, school, id).await?;
                let location_id = kitroom_store::locations::find_or_create(
                    conn,
                    &actor,
                    school,
                    &cmd.location,
                    now,
                )
                .await?;
                let have = store::count_at_in(conn, id, location_id).await?;
                // a count below none is a mistake in the change typed (422)
                let after = accessory::adjust(have, cmd.change, &name, &cmd.location)
                    .map_err(|r| count_refused(r, Kind::Invalid, "change"))?;
                let recount = Recount {
                    id,
                    name: &name,
                    location_id,
                    location: &cmd.location,
                    from: have,
                    to: after,
                    reason: &cmd.reason,
                };
                store::set_count_in(conn, &actor, &recount, now).await?;
                Ok::<_, Error>(cmd)
            })
        })
        .await
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

/// Renames accessory `id` and/or retires it (or puts it back in use), in one
/// transaction; its counts, loans and history keep it. A name another type has
/// (whatever its case) is refused. Returns its name now.
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
    if name.is_none() && input.retired.is_none() {
        return Err(Invalid::one("name", "Send a new name, or retired true or false.").into());
    }
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let (old, was_retired) = accessory_in(conn, school, id).await?;
                let mut now_called = old.clone();
                if let Some(name) = name.filter(|n| *n != old) {
                    let taken = format!(
                        "There is already an accessory called {name}. Choose another name."
                    );
                    if store::name_taken_in(conn, school, &name, Some(id)).await? {
                        return Err(Invalid::one("name", taken).into());
                    }
                    store::rename_in(conn, &actor, id, &old, &name, taken, now)
                        .await
                        .map_err(typed_wrong)?;
                    now_called = name;
                }
                if let Some(retired) = input.retired.filter(|r| *r != was_retired) {
                    store::set_retired_in(conn, &actor, id, &now_called, retired, now).await?;
                }
                Ok::<_, Error>(now_called)
            })
        })
        .await
}

/// Accessories not returned with a loan (lent row `lent`) have turned up: back
/// in the count where they came from.
pub async fn found(app: &App, caller: &Person, lent: &str) -> Result<(), Error> {
    manager(caller)?;
    let not_found = || Error::from(Refusal::not_found("That accessory not returned"));
    let lent: i64 = lent.trim().parse().map_err(|_| not_found())?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let missing = store::missing_in(conn, school, lent)
                    .await?
                    .ok_or_else(not_found)?;
                store::found_in(conn, &actor, &missing, Utc::now()).await?;
                Ok::<_, Error>(())
            })
        })
        .await
}

/// Takes accessories out of stock with a loan (`loan`) or a set's loan (`group`),
/// inside its transaction: a type retired or a place with too few left refuses
/// the whole loan (409), so nothing goes out half-made.
pub async fn take_in(
    conn: &mut Conn,
    actor: &Actor,
    lent_with: &Subject,
    loan: Option<Uuid>,
    group: Option<Uuid>,
    taking: &[Taking],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let mut items = Vec::new();
    for t in taking {
        // a retired type is no longer lent, as one no longer kept there
        let Some((name, location, have)) = store::stock_in(conn, t.stock, loan, group).await?
        else {
            return Err(refused(
                Kind::Conflict,
                "accessory-not-lent",
                "accessories",
                "That accessory is no longer kept there or no longer lent. Choose again from the list.".into(),
            ));
        };
        let left = accessory::take(have, t.count, &name, &location)
            .map_err(|r| count_refused(r, Kind::Conflict, "accessories"))?;
        store::lend_in(conn, t.stock, left, loan, group, t.count).await?;
        items.push(json!({"accessory": name, "from": location, "count": t.count, "left": left}));
    }
    if !items.is_empty() {
        append(
            conn,
            actor,
            "accessory.lent",
            lent_with,
            json!({"loan": loan, "set_loan": group, "accessories": items}),
            now,
        )
        .await?;
    }
    Ok(())
}

/// Which accessory lent a count back is about: the lent row (the page's form) or
/// its name as the loan lists it (the API).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackOf {
    Row(i64),
    Named(String),
}

/// An accessory counted back on a return: by the lent row's `id` (the page) or by
/// its `name` (the API, as the loan lists them).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AccessoryBack {
    /// The lent row's id (the page's form).
    pub id: Option<i64>,
    /// The accessory's name, as the loan lists it.
    pub name: Option<String>,
    /// How many came back.
    #[schema(value_type = i64, minimum = 0)]
    pub count: Number,
}

/// The accessories counted back on a return, as read: one function for a
/// device's return and a set's. An empty count is none back; each count that does
/// not read is told under `accessories`; one naming neither row nor name is passed
/// over.
pub fn counted_back(accessories: &[AccessoryBack], invalid: &mut Invalid) -> Vec<(BackOf, i64)> {
    let mut out = Vec::new();
    for a in accessories {
        let n = match a.count.0.trim() {
            "" => Some(0),
            n => invalid.check(
                "accessories",
                accessory::parse_count(n, "The number of accessories back", 0),
            ),
        };
        let of = match (a.id, a.name.as_deref().map(str::trim)) {
            (Some(id), _) => BackOf::Row(id),
            (None, Some(name)) => BackOf::Named(name.to_owned()),
            (None, None) => continue,
        };
        if let Some(n) = n {
            out.push((of, n));
        }
    }
    out
}

/// Counts back what went out with this loan (`loan`) or set's loan (`group`) and is
/// still out (`out`, read by the caller inside the return's transaction:
/// `still_out_in`), as `back` says (one not named came back as none): each goes
/// back where it came from. A name that did not go out, or more back than went
/// out, is a mistake in what was typed (422).
#[allow(clippy::too_many_arguments)]
pub async fn give_back_in(
    conn: &mut Conn,
    actor: &Actor,
    lent_with: &Subject,
    loan: Option<Uuid>,
    group: Option<Uuid>,
    out: Vec<store::Out>,
    back: &[(BackOf, i64)],
    now: DateTime<Utc>,
) -> Result<(), Error> {
    let mut by_row = BTreeMap::new();
    for (of, n) in back {
        match of {
            BackOf::Row(id) => {
                by_row.insert(*id, *n);
            }
            BackOf::Named(name) => {
                let Some(row) = out.iter().find(|o| o.name.eq_ignore_ascii_case(name)) else {
                    return Err(Invalid::one(
                        "accessories",
                        format!("No “{name}” went out with this loan."),
                    )
                    .into());
                };
                by_row.insert(row.id, *n);
            }
        }
    }
    let mut items = Vec::new();
    for o in &out {
        let n = accessory::came_back(
            o.count_out,
            by_row.get(&o.id).copied().unwrap_or(0),
            &o.name,
        )
        .map_err(|r| count_refused(r, Kind::Invalid, "accessories"))?;
        store::count_back_in(conn, o, n, now).await?;
        items.push(json!({"accessory": o.name, "out": o.count_out, "back": n}));
    }
    if !items.is_empty() {
        append(
            conn,
            actor,
            "accessory.returned",
            lent_with,
            json!({"loan": loan, "set_loan": group, "accessories": items}),
            now,
        )
        .await?;
    }
    Ok(())
}
