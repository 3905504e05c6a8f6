//! Stocktakes: opening one for the school or a location, marking devices seen (by
//! a scanner, a phone's camera, a typed tag or a tick in the list; several people
//! at once), closing it, and "move it here" for a device found in another place.
//! One command each, for the stocktake pages and the API alike.
//!
//! Each runs in one write transaction: it reads the stocktake as it is there, asks
//! `kitroom_core::stocktake` what may happen and what it means, and writes that
//! with its event.

use std::collections::BTreeMap;

use chrono::Utc;
use kitroom_core::device::DeviceStatus;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::stocktake::{self, StocktakeRefusal};
use kitroom_core::Invalid;
use kitroom_store::devices::get_device;
use kitroom_store::events::append;
use kitroom_store::people::Person;
use kitroom_store::stocktakes::{self as store, Opened, ResultRow, Stocktake, Unseen};
use kitroom_store::Conn;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::input::text_or_null;
use crate::{App, Error, Refusal};

/// Stocktakes are the business manager's (and the IT administrator's).
fn may(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::Stocktake) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

/// A stocktake's id as sent; anything else names no stocktake.
fn stocktake_id(id: &str) -> Result<Uuid, Error> {
    Uuid::parse_str(id.trim()).map_err(|_| Refusal::not_found("That stocktake").into())
}

/// `school`'s stocktake with this id; another school's is not found.
async fn stocktake_in(conn: &mut Conn, school: SchoolId, id: Uuid) -> Result<Stocktake, Error> {
    store::stocktake_in(conn, school, id)
        .await?
        .ok_or_else(|| Refusal::not_found("That stocktake").into())
}

/// `school`'s location named by its id (the pages' lists) or its name (the API).
async fn location_in(
    conn: &mut Conn,
    school: SchoolId,
    field: &'static str,
    named: &str,
) -> Result<Uuid, Error> {
    match store::location_in(conn, school, named).await? {
        Some((id, _)) => Ok(id),
        None => Err(Invalid::one(
            field,
            format!("No location is called “{named}”. Choose one from the list."),
        )
        .into()),
    }
}

/// What a stocktake covers, as sent: the page's location list sends a location's
/// id, or nothing for the whole school; the API may send its name, or
/// `{"scope": "whole_school"}`.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct OpenInput {
    /// A location's name or id; empty for the whole school.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub location: String,
    /// `whole_school`, or empty.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>, example = "whole_school")]
    pub scope: String,
}

/// What a stocktake covers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    WholeSchool,
    /// A location, by id or name, found when the stocktake is opened.
    Location(String),
}

/// Opening a stocktake, read and checked.
#[derive(Debug, Clone)]
pub struct Open {
    pub scope: Scope,
}

impl TryFrom<OpenInput> for Open {
    type Error = Invalid;

    fn try_from(i: OpenInput) -> Result<Self, Invalid> {
        let read = |text: &str| match text.trim() {
            "" => None,
            t if t.eq_ignore_ascii_case("whole_school")
                || t.eq_ignore_ascii_case("whole school")
                || t.eq_ignore_ascii_case("the whole school") =>
            {
                Some(Scope::WholeSchool)
            }
            t => Some(Scope::Location(t.to_owned())),
        };
        let scope = match (read(&i.location), read(&i.scope)) {
            (Some(a), Some(b)) if a != b => {
                return Err(Invalid::one(
                    "scope",
                    "Say what to count once: a location, or the whole school.",
                ))
            }
            (Some(a), _) | (None, Some(a)) => a,
            (None, None) => Scope::WholeSchool,
        };
        Ok(Open { scope })
    }
}

/// Opens a stocktake of one location, or of the whole school. Only one of a scope
/// is open at a time, so that everyone scanning joins the same one.
pub async fn open(app: &App, caller: &Person, input: OpenInput) -> Result<Stocktake, Error> {
    may(caller)?;
    let cmd = Open::try_from(input)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let location = match &cmd.scope {
                    Scope::WholeSchool => None,
                    Scope::Location(named) => {
                        Some(location_in(conn, school, "location", named).await?)
                    }
                };
                let id = Uuid::new_v4();
                if store::insert_stocktake_in(conn, school, id, location, actor.id, now).await?
                    == Opened::ScopeAlreadyOpen
                {
                    return Err(StocktakeRefusal::ScopeAlreadyOpen.into());
                }
                let s = stocktake_in(conn, school, id).await?;
                append(
                    conn,
                    &actor,
                    "stocktake.opened",
                    &s.subject(),
                    json!({"scope": s.scope, "expected": s.expected}),
                    now,
                )
                .await?;
                Ok::<_, Error>(s)
            })
        })
        .await
}

/// A scan as sent: the tag (or the label's whole address, from a phone's camera),
/// and for a whole-school stocktake where the scanner is (a location's id or
/// name; empty: wherever each device belongs).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ScanInput {
    /// The device's tag, or its label's whole address.
    #[serde(deserialize_with = "text_or_null")]
    pub tag: String,
    /// Where the scanner is (a whole-school stocktake): a location's name or id.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub at: String,
}

/// A scan, read and checked.
#[derive(Debug, Clone)]
pub struct Scan {
    pub tag: String,
    pub at: Option<String>,
}

impl TryFrom<ScanInput> for Scan {
    type Error = Invalid;

    fn try_from(i: ScanInput) -> Result<Self, Invalid> {
        let tag = stocktake::tag_from_scan(&i.tag);
        if tag.is_empty() {
            return Err(Invalid::one("tag", "Scan a label or type a device's tag."));
        }
        Ok(Scan {
            tag: tag.to_owned(),
            at: Some(i.at.trim().to_owned()).filter(|a| !a.is_empty()),
        })
    }
}

/// What a scan did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanResult {
    /// Marked seen now. `elsewhere`: not where it belongs; `lost`: the register
    /// says it was lost or stolen.
    Seen { elsewhere: bool, lost: bool },
    /// Someone had already scanned it: nothing changed.
    AlreadySeen,
}

/// A device scanned into a stocktake.
#[derive(Debug, Clone)]
pub struct Scanned {
    /// The device's tag as the register spells it.
    pub tag: String,
    pub result: ScanResult,
    /// The stocktake after the scan (its progress).
    pub stocktake: Stocktake,
}

impl Scanned {
    /// What the person scanning is told.
    pub fn message(&self) -> String {
        let tag = &self.tag;
        match self.result {
            ScanResult::Seen { lost: true, .. } => format!("⚠ {tag} IS RECORDED AS LOST. Keep it safe and tell the business manager now, so its incident can be closed as recovered."),
            ScanResult::Seen { elsewhere: false, .. } => format!("✓ {tag} seen."),
            ScanResult::Seen { elsewhere: true, .. } => {
                format!("✓ {tag} seen, but it belongs somewhere else: the result will say so.")
            }
            ScanResult::AlreadySeen => format!("{tag} was already seen."),
        }
    }
}

/// Marks the device a tag names as seen in an open stocktake: where the stocktake
/// is, when it covers one location; otherwise where the scanner is, or else where
/// the device belongs. A second scan of it changes nothing.
pub async fn scan(
    app: &App,
    caller: &Person,
    stocktake: &str,
    input: ScanInput,
) -> Result<Scanned, Error> {
    may(caller)?;
    let id = stocktake_id(stocktake)?;
    let parsed = Scan::try_from(input);
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let s = stocktake_in(conn, school, id).await?;
                let cmd = parsed?;
                stocktake::may_scan(!s.is_open())?;
                let scanner_at = match &cmd.at {
                    Some(named) => Some(location_in(conn, school, "at", named).await?),
                    None => None,
                };
                let device_id = store::device_id_by_tag_in(conn, school, &cmd.tag)
                    .await?
                    .ok_or_else(|| StocktakeRefusal::UnknownTag(cmd.tag.clone()))?;
                let device = get_device(conn, device_id).await?;
                let home = store::home_of_in(conn, device_id).await?;
                let at = stocktake::where_seen(s.location_id, scanner_at, home);
                let elsewhere = at != home;
                let result =
                    if store::insert_mark_in(conn, id, device_id, at, actor.id, now).await? {
                        append(
                            conn,
                            &actor,
                            "stocktake.seen",
                            &device.subject(),
                            json!({"stocktake": s.number, "elsewhere": elsewhere}),
                            now,
                        )
                        .await?;
                        ScanResult::Seen {
                            elsewhere,
                            lost: device.status == DeviceStatus::Lost,
                        }
                    } else {
                        ScanResult::AlreadySeen
                    };
                Ok::<_, Error>(Scanned {
                    tag: device.details.tag.to_string(),
                    result,
                    stocktake: stocktake_in(conn, school, id).await?,
                })
            })
        })
        .await
}

/// Closes a stocktake: freezes each device's outcome (seen, seen elsewhere, on
/// loan, missing) and stamps every device seen with today's date at the school as
/// its last audit.
pub async fn close(app: &App, caller: &Person, stocktake: &str) -> Result<Stocktake, Error> {
    may(caller)?;
    let id = stocktake_id(stocktake)?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let s = stocktake_in(conn, school, id).await?;
                stocktake::may_close(!s.is_open())?;
                let expected = store::expected_in(conn, school, s.location_id).await?;
                let marks = store::marks_in(conn, id).await?;
                let today = stocktake::audit_date(now);
                let mut counts = BTreeMap::<&str, i64>::new();
                for (device, outcome, seen_at) in stocktake::outcomes(&expected, &marks) {
                    store::insert_result_in(conn, id, device, outcome, seen_at).await?;
                    if stocktake::stamps_audit(outcome) {
                        store::stamp_audited_in(conn, device, today).await?;
                    }
                    *counts.entry(outcome.as_str()).or_default() += 1;
                }
                store::close_in(conn, id, actor.id, now).await?;
                append(
                    conn,
                    &actor,
                    "stocktake.closed",
                    &s.subject(),
                    json!(counts),
                    now,
                )
                .await?;
                stocktake_in(conn, school, id).await
            })
        })
        .await
}

/// "Move it here" as sent: the device's tag (the API). The result page's button
/// names the device by its id, in the address.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct MoveHereInput {
    /// The device's tag.
    #[serde(deserialize_with = "text_or_null")]
    pub tag: String,
    /// The device's id, from the page's address; never read from a body.
    #[serde(skip)]
    #[schema(ignore)]
    pub device: Option<Uuid>,
}

/// Which device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Which {
    Id(Uuid),
    Tag(String),
}

/// "Move it here", read and checked.
#[derive(Debug, Clone)]
pub struct MoveHere {
    pub device: Which,
}

impl TryFrom<MoveHereInput> for MoveHere {
    type Error = Invalid;

    fn try_from(i: MoveHereInput) -> Result<Self, Invalid> {
        if let Some(id) = i.device {
            return Ok(MoveHere {
                device: Which::Id(id),
            });
        }
        let tag = stocktake::tag_from_scan(&i.tag);
        if tag.is_empty() {
            return Err(Invalid::one(
                "tag",
                "Say which device to move: type its tag.",
            ));
        }
        Ok(MoveHere {
            device: Which::Tag(tag.to_owned()),
        })
    }
}

/// A device given a new home where a stocktake found it.
#[derive(Debug, Clone)]
pub struct Moved {
    pub tag: String,
    pub from: String,
    pub to: String,
}

/// "Move it here": a device a closed stocktake saw in another location than the
/// register said gets that location as its home.
pub async fn move_here(
    app: &App,
    caller: &Person,
    stocktake: &str,
    input: MoveHereInput,
) -> Result<Moved, Error> {
    may(caller)?;
    let id = stocktake_id(stocktake)?;
    let parsed = MoveHere::try_from(input);
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let s = stocktake_in(conn, school, id).await?;
                let cmd = parsed?;
                let device_id = match &cmd.device {
                    Which::Id(d) => *d,
                    Which::Tag(tag) => store::device_id_by_tag_in(conn, school, tag)
                        .await?
                        .ok_or_else(|| StocktakeRefusal::UnknownTag(tag.clone()))?,
                };
                let (outcome, seen_at) = store::result_of_in(conn, s.id, device_id)
                    .await?
                    .ok_or_else(|| Refusal::not_found("That device in this stocktake's result"))?;
                let home = store::home_of_in(conn, device_id).await?;
                let to = stocktake::move_here(outcome, seen_at, home)?;
                let device = get_device(conn, device_id).await?;
                let name = store::set_home_in(conn, device_id, to, now).await?;
                append(
                    conn,
                    &actor,
                    "device.updated",
                    &device.subject(),
                    json!({"location": {"from": device.details.location, "to": name}, "note": "moved to where the stocktake found it"}),
                    now,
                )
                .await?;
                Ok::<_, Error>(Moved {
                    tag: device.details.tag.to_string(),
                    from: device.details.location.clone(),
                    to: name,
                })
            })
        })
        .await
}

/// Every stocktake, newest first.
pub async fn list(app: &App, caller: &Person) -> Result<Vec<Stocktake>, Error> {
    may(caller)?;
    Ok(app.store().list_stocktakes(caller.school).await?)
}

/// A stocktake as its page shows it: while open, what is not seen yet; once
/// closed, each device's outcome.
#[derive(Debug, Clone)]
pub struct Read {
    pub stocktake: Stocktake,
    pub unseen: Vec<Unseen>,
    pub results: Vec<ResultRow>,
}

/// One stocktake, with what is not seen yet or its result.
pub async fn read(app: &App, caller: &Person, stocktake: &str) -> Result<Read, Error> {
    may(caller)?;
    let id = stocktake_id(stocktake)?;
    let s = app
        .store()
        .stocktake(caller.school, id)
        .await?
        .ok_or_else(|| Refusal::not_found("That stocktake"))?;
    let (unseen, results) = if s.is_open() {
        (app.store().unseen(caller.school, id).await?, Vec::new())
    } else {
        (
            Vec::new(),
            app.store().stocktake_results(caller.school, id).await?,
        )
    };
    Ok(Read {
        stocktake: s,
        unseen,
        results,
    })
}
