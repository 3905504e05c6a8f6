//! The register: every device the school owns.

use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::device::{
    AssetTag, DeviceDetails, DeviceKind, DeviceStatus, Encryption, EncryptionState, Move, Pence,
};
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use serde_json::{json, Map, Value};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::db::{
    like_pattern, parse_time, parse_uuid, parse_word, time_text, Actor, Store, StoreError,
};
use crate::events::{append, Subject};
use crate::locations::find_or_create;

/// A device as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub id: Uuid,
    /// The school whose register it is on.
    pub school: SchoolId,
    pub details: DeviceDetails,
    pub status: DeviceStatus,
    /// The username of whoever last recorded the encryption as verified.
    pub encryption_verified_by: Option<String>,
    pub last_audited_on: Option<NaiveDate>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Device {
    pub fn subject(&self) -> Subject {
        Subject::device(self.id, self.details.tag.as_str())
    }
}

#[derive(sqlx::FromRow)]
struct DeviceRow {
    id: String,
    school_id: i64,
    tag: String,
    kind: String,
    make: String,
    model: String,
    serial: String,
    location: String,
    status: String,
    condition: String,
    purchased_on: Option<String>,
    cost_pence: Option<i64>,
    supplier: String,
    warranty_until: Option<String>,
    notes: String,
    encryption_state: String,
    encryption_method: Option<String>,
    encryption_verified_on: Option<String>,
    verified_by: Option<String>,
    passcode_enforced: bool,
    holds_personal_data: bool,
    captures_images: bool,
    last_audited_on: Option<String>,
    created_at: String,
    updated_at: String,
}

fn date(s: Option<String>) -> Result<Option<NaiveDate>, StoreError> {
    s.map(|s| {
        s.parse::<NaiveDate>()
            .map_err(|_| StoreError::Corrupt(format!("date {s:?}")))
    })
    .transpose()
}

impl TryFrom<DeviceRow> for Device {
    type Error = StoreError;
    fn try_from(r: DeviceRow) -> Result<Self, Self::Error> {
        Ok(Device {
            id: parse_uuid(&r.id)?,
            school: SchoolId(r.school_id),
            details: DeviceDetails {
                tag: AssetTag::parse(&r.tag).map_err(StoreError::Corrupt)?,
                kind: parse_word(&r.kind)?,
                make: r.make,
                model: r.model,
                serial: r.serial,
                location: r.location,
                condition: parse_word(&r.condition)?,
                purchased_on: date(r.purchased_on)?,
                cost: r.cost_pence.map(Pence),
                supplier: r.supplier,
                warranty_until: date(r.warranty_until)?,
                notes: r.notes,
                encryption: Encryption {
                    state: parse_word(&r.encryption_state)?,
                    method: r.encryption_method.as_deref().map(parse_word).transpose()?,
                    verified_on: date(r.encryption_verified_on)?,
                },
                passcode_enforced: r.passcode_enforced,
                holds_personal_data: r.holds_personal_data,
                captures_images: r.captures_images,
            },
            status: parse_word(&r.status)?,
            encryption_verified_by: r.verified_by,
            last_audited_on: date(r.last_audited_on)?,
            created_at: parse_time(&r.created_at)?,
            updated_at: parse_time(&r.updated_at)?,
        })
    }
}

const SELECT: &str = "select d.id, d.school_id, d.tag, d.kind, d.make, d.model, d.serial, l.name as location, d.status, d.condition,
    d.purchased_on, d.cost_pence, d.supplier, d.warranty_until, d.notes, d.encryption_state, d.encryption_method,
    d.encryption_verified_on, p.username as verified_by, d.passcode_enforced, d.holds_personal_data, d.captures_images,
    d.last_audited_on, d.created_at, d.updated_at
    from device d join location l on l.id = d.location_id left join person p on p.id = d.encryption_verified_by";

/// The fields of a device as the activity log records them.
pub fn details_json(d: &DeviceDetails) -> Map<String, Value> {
    let v = json!({
        "tag": d.tag, "kind": d.kind, "make": d.make, "model": d.model, "serial": d.serial,
        "location": d.location, "condition": d.condition, "purchased_on": d.purchased_on,
        "cost_pence": d.cost.map(|c| c.0), "supplier": d.supplier, "warranty_until": d.warranty_until,
        "notes": d.notes, "encryption_state": d.encryption.state, "encryption_method": d.encryption.method,
        "encryption_verified_on": d.encryption.verified_on, "passcode_enforced": d.passcode_enforced,
        "holds_personal_data": d.holds_personal_data, "captures_images": d.captures_images,
    });
    match v {
        Value::Object(m) => m,
        _ => Map::new(),
    }
}

/// The device of `school` that already carries `tag` (whatever its case), other than
/// `except`: its tag as written, make and model.
pub async fn tag_holder_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    tag: &AssetTag,
    except: Option<Uuid>,
) -> Result<Option<(String, String, String)>, StoreError> {
    let other: Option<(String, String, String, String)> = sqlx::query_as(
        "select id, tag, make, model from device where school_id = ? and tag = ? collate nocase",
    )
    .bind(school.0)
    .bind(tag.as_str())
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match other {
        Some((id, existing, make, model)) if Some(parse_uuid(&id)?) != except => {
            Some((existing, make, model))
        }
        _ => None,
    })
}

async fn tag_clash(
    conn: &mut SqliteConnection,
    school: SchoolId,
    tag: &AssetTag,
    except: Option<Uuid>,
) -> Result<Option<StoreError>, StoreError> {
    Ok(tag_holder_in(conn, school, tag, except)
        .await?
        .map(|(existing, make, model)| {
            Invalid::one(
                "tag",
                kitroom_core::device::tag_in_use(&existing, &make, &model),
            )
            .into()
        }))
}

/// Writes a new device of `school` and its `device.registered` event inside the
/// caller's transaction, at `location_id` (one of the school's). The caller has checked its tag is free. Recording a
/// verification date names the actor as verifier. `source` (such as "CSV import, line
/// 7") is added to the event when given.
pub async fn insert_device(
    conn: &mut SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    details: &DeviceDetails,
    location_id: Uuid,
    source: Option<String>,
    now: DateTime<Utc>,
) -> Result<Uuid, StoreError> {
    let id = Uuid::new_v4();
    let verified_by = details
        .encryption
        .verified_on
        .and(actor.id)
        .map(|p| p.to_string());
    let d = details;
    sqlx::query(
        "insert into device (id, school_id, tag, kind, make, model, serial, location_id, status, condition, purchased_on,
           cost_pence, supplier, warranty_until, notes, encryption_state, encryption_method, encryption_verified_on,
           encryption_verified_by, passcode_enforced, holds_personal_data, captures_images, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, 'available', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(school.0)
    .bind(d.tag.as_str())
    .bind(d.kind.as_str())
    .bind(&d.make)
    .bind(&d.model)
    .bind(&d.serial)
    .bind(location_id.to_string())
    .bind(d.condition.as_str())
    .bind(d.purchased_on.map(|x| x.to_string()))
    .bind(d.cost.map(|c| c.0))
    .bind(&d.supplier)
    .bind(d.warranty_until.map(|x| x.to_string()))
    .bind(&d.notes)
    .bind(d.encryption.state.as_str())
    .bind(d.encryption.method.map(|m| m.as_str()))
    .bind(d.encryption.verified_on.map(|x| x.to_string()))
    .bind(verified_by)
    .bind(d.passcode_enforced)
    .bind(d.holds_personal_data)
    .bind(d.captures_images)
    .bind(time_text(now))
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    let mut event = details_json(details);
    if let Some(source) = source {
        event.insert("source".into(), Value::String(source));
    }
    append(
        conn,
        actor,
        "device.registered",
        &Subject::device(id, d.tag.as_str()),
        event.into(),
        now,
    )
    .await?;
    Ok(id)
}

/// Writes a device's new details inside the caller's transaction. A changed
/// encryption record with a verification date names the actor as its verifier.
pub async fn update_device_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    id: Uuid,
    d: &DeviceDetails,
    location_id: Uuid,
    before: &Device,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let encryption_changed = before.details.encryption != d.encryption;
    sqlx::query(
        "update device set tag = ?, kind = ?, make = ?, model = ?, serial = ?, location_id = ?, condition = ?,
           purchased_on = ?, cost_pence = ?, supplier = ?, warranty_until = ?, notes = ?, encryption_state = ?,
           encryption_method = ?, encryption_verified_on = ?,
           encryption_verified_by = case when ? then ? else encryption_verified_by end,
           passcode_enforced = ?, holds_personal_data = ?, captures_images = ?, updated_at = ?
         where id = ?",
    )
    .bind(d.tag.as_str())
    .bind(d.kind.as_str())
    .bind(&d.make)
    .bind(&d.model)
    .bind(&d.serial)
    .bind(location_id.to_string())
    .bind(d.condition.as_str())
    .bind(d.purchased_on.map(|x| x.to_string()))
    .bind(d.cost.map(|c| c.0))
    .bind(&d.supplier)
    .bind(d.warranty_until.map(|x| x.to_string()))
    .bind(&d.notes)
    .bind(d.encryption.state.as_str())
    .bind(d.encryption.method.map(|m| m.as_str()))
    .bind(d.encryption.verified_on.map(|x| x.to_string()))
    .bind(encryption_changed)
    .bind(d.encryption.verified_on.and(actor.id).map(|p| p.to_string()))
    .bind(d.passcode_enforced)
    .bind(d.holds_personal_data)
    .bind(d.captures_images)
    .bind(time_text(now))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// What changed between two versions of a device, field by field, as the activity
/// log records an edit: `{field: {from, to}}`.
pub fn changed_fields(before: &DeviceDetails, after: &DeviceDetails) -> Map<String, Value> {
    let old = details_json(before);
    let mut changes = Map::new();
    for (field, new) in details_json(after) {
        let old = old.get(&field).cloned().unwrap_or(Value::Null);
        if old != new {
            changes.insert(field, json!({"from": old, "to": new}));
        }
    }
    changes
}

/// One device by its id.
pub(crate) static BY_ID: std::sync::LazyLock<String> =
    std::sync::LazyLock::new(|| format!("{SELECT} where d.id = ?"));

/// One device of a school (bound first) by its tag (second), in any case.
pub(crate) static BY_TAG: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("{SELECT} where d.school_id = ? and d.tag = ? collate nocase")
});

/// A device from a row of [`BY_ID`] or [`BY_TAG`].
pub(crate) fn device_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Device, StoreError> {
    use sqlx::FromRow;
    DeviceRow::from_row(row)?.try_into()
}

pub async fn get_device(conn: &mut SqliteConnection, id: Uuid) -> Result<Device, StoreError> {
    sqlx::query_as::<_, DeviceRow>(&BY_ID)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
}

/// Writes a status move the status machine decided (`kitroom_core`'s
/// [`Move`]), inside the caller's transaction, with its event; the one place a
/// status changes other than check-out and return. `details` are added to the
/// event. Coming back on charge starts the charging clock; a device lost while on
/// loan closes the loan as lost.
pub async fn apply_change(
    conn: &mut SqliteConnection,
    actor: &Actor,
    device: &Device,
    mv: Move,
    mut details: Value,
    now: DateTime<Utc>,
) -> Result<Device, StoreError> {
    let (change, to) = (mv.change(), mv.to());
    let charging_since = match to {
        DeviceStatus::ReturnedCharging => Some(time_text(now)),
        _ => None,
    };
    sqlx::query("update device set status = ?, charging_since = ?, updated_at = ? where id = ? and status = ?")
        .bind(to.as_str())
        .bind(charging_since)
        .bind(time_text(now))
        .bind(device.id.to_string())
        .bind(mv.from().as_str())
        .execute(&mut *conn)
        .await?;
    details["change"] = json!(change.as_str());
    details["from"] = json!(mv.from());
    details["to"] = json!(to);
    if mv.from() == DeviceStatus::OnLoan {
        // The loan ends here: the device is no longer with its borrower.
        let closed: Option<(String, String)> = sqlx::query_as(
            "update loan set returned_at = ?, outcome = 'lost' where device_id = ? and returned_at is null
             returning id, (select username from person where id = borrower_id)",
        )
        .bind(time_text(now))
        .bind(device.id.to_string())
        .fetch_optional(&mut *conn)
        .await?;
        if let Some((loan, borrower)) = closed {
            details["loan"] = json!(loan);
            details["borrower"] = json!(borrower);
        }
    }
    append(
        conn,
        actor,
        "device.status_changed",
        &device.subject(),
        details,
        now,
    )
    .await?;
    get_device(conn, device.id).await
}

/// Which devices to list, and which page.
#[derive(Debug, Clone, Default)]
pub struct DeviceFilter {
    pub status: Option<DeviceStatus>,
    pub kind: Option<DeviceKind>,
    /// A location's name.
    pub location: Option<String>,
    pub encryption: Option<EncryptionState>,
    /// Matches tag, serial number, make or model.
    pub q: Option<String>,
    /// Where the page starts.
    pub at: Position,
    pub per_page: i64,
}

/// Where a page of the device list starts, in the list's order (the tag, whatever
/// its case; tags are unique whatever their case, so a tag is a position).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Position {
    /// The first page.
    #[default]
    First,
    /// The devices after this tag: the next page. Found by a seek on an index, so
    /// a deep page costs what the first does, and a link to it keeps showing the
    /// same devices when others are registered before them.
    After(String),
    /// The devices before this tag: the previous page.
    Before(String),
    /// The last page.
    Last,
    /// Numbered pages from 1, kept for API clients written before cursors: the
    /// devices before the page are read and skipped, so page 2,000 costs as much as
    /// reading the 100,000 devices before it.
    Page(i64),
}

/// One page of devices, and how many match in all.
#[derive(Debug, Clone)]
pub struct DevicePage {
    pub items: Vec<Device>,
    /// How many match; when `total_exact` is false, a search matched more than
    /// [`SEARCH_COUNT_LIMIT`] and this is that limit plus one.
    pub total: i64,
    pub total_exact: bool,
    /// Whether devices match before this page's first one (there is a previous page).
    pub has_previous: bool,
    /// Whether devices match after this page's last one (there is a next page).
    pub has_next: bool,
}

/// A search matching more devices than this is not counted to the end (counting ten
/// thousand matches at 100,000 devices costs more than the page): the page says
/// "more than 1,000" and shows the first ones in tag order.
pub const SEARCH_COUNT_LIMIT: i64 = 1000;

/// The shortest search served by the trigram index; shorter ones read every device.
const TRIGRAM: usize = 3;

/// The search as typed, made safe to look for: control characters are dropped (no
/// device's text holds one, and a NUL would end FTS5's reading of the query
/// half-way through a phrase), and the ends trimmed. `None` when nothing is left.
fn search_term(f: &DeviceFilter) -> Option<String> {
    let q: String =
        f.q.as_deref()?
            .chars()
            .filter(|c| !c.is_control())
            .collect();
    let q = q.trim();
    (!q.is_empty()).then(|| q.to_owned())
}

/// A search term as an FTS5 query for the trigram index: one phrase, which with
/// the trigram tokenizer matches any text containing it whatever the case. `None`
/// when the term is too short for the index (a plain scan serves it then). This is
/// the only place a full-text query is made: quotes are doubled inside the phrase
/// and control characters are gone, so the query it gives is always valid.
fn full_text_query(term: &str) -> Option<String> {
    let term: String = term.chars().filter(|c| !c.is_control()).collect();
    (term.chars().count() >= TRIGRAM).then(|| format!("\"{}\"", term.replace('"', "\"\"")))
}

/// The filters other than the search as a `where` clause on `device_tally t`
/// (migration 0010_counts), whose columns have the same names as the device's.
fn push_tally_where(qb: &mut QueryBuilder<'_, Sqlite>, school: SchoolId, f: &DeviceFilter) {
    qb.push(" where 1 = 1");
    push_filters(qb, school, f, "t", true);
}

/// The filters as a `where` clause. `broad`: the search matches so many devices
/// that the page is found faster by walking the devices in tag order and testing
/// each one's text than by reading every match from the trigram index and sorting
/// them.
fn push_where(qb: &mut QueryBuilder<'_, Sqlite>, school: SchoolId, f: &DeviceFilter, broad: bool) {
    qb.push(" where 1 = 1");
    let term = search_term(f);
    let full_text = term.as_deref().and_then(full_text_query).filter(|_| !broad);
    // The trigram index's matches drive a search, not the school's devices in tag
    // order.
    push_filters(qb, school, f, "d", full_text.is_none());
    if let Some(q) = term {
        if let Some(query) = full_text {
            qb.push(" and d.rowid in (select rowid from device_search where device_search match ")
                .push_bind(query)
                .push(")");
            return;
        }
        let p = like_pattern(&q);
        qb.push(" and (d.tag like ")
            .push_bind(p.clone())
            .push(" escape '\\'");
        qb.push(" or d.serial like ")
            .push_bind(p.clone())
            .push(" escape '\\'");
        qb.push(" or d.make like ")
            .push_bind(p.clone())
            .push(" escape '\\'");
        qb.push(" or d.model like ")
            .push_bind(p)
            .push(" escape '\\')");
    }
}

/// The school and the filters other than the search, each as ` and …` on the table
/// aliased `t` (`d` for `device`, `t` for `device_tally`). `by_school`: the rows may
/// be found by the school's indexes; when the trigram index's matches drive a
/// search, the school only checks them (`+`), or SQLite walks every device of the
/// school and asks the trigram index about each one (the benchmark's search never
/// finished).
fn push_filters(
    qb: &mut QueryBuilder<'_, Sqlite>,
    school: SchoolId,
    f: &DeviceFilter,
    t: &str,
    by_school: bool,
) {
    let plus = if by_school { "" } else { "+" };
    qb.push(format!(" and {plus}{t}.school_id = "))
        .push_bind(school.0);
    match f.status {
        Some(s) => {
            qb.push(format!(" and {t}.status = ")).push_bind(s.as_str());
        }
        // Retired devices leave the list unless asked for.
        None => {
            qb.push(format!(" and {t}.status <> 'retired'"));
        }
    }
    if let Some(k) = f.kind {
        qb.push(format!(" and {t}.kind = ")).push_bind(k.as_str());
    }
    if let Some(l) = f.location.as_deref().filter(|l| !l.is_empty()) {
        qb.push(format!(
            " and {t}.location_id = (select id from location where school_id = "
        ))
        .push_bind(school.0)
        .push(" and name = ")
        .push_bind(l.to_owned())
        .push(" collate nocase)");
    }
    if let Some(e) = f.encryption {
        qb.push(format!(" and {t}.encryption_state = "))
            .push_bind(e.as_str());
    }
}

/// How many devices a search by the trigram index matches (`query`, from
/// [`full_text_query`]), counted as the index finds them and up to one past
/// [`SEARCH_COUNT_LIMIT`].
fn push_search_count(
    qb: &mut QueryBuilder<'_, Sqlite>,
    school: SchoolId,
    f: &DeviceFilter,
    query: String,
) {
    qb.push(
        "select count(*) from (select 1 from device_search s join device d on d.rowid = s.rowid
         where device_search match ",
    )
    .push_bind(query);
    push_filters(qb, school, f, "d", false);
    qb.push(" limit ")
        .push_bind(SEARCH_COUNT_LIMIT + 1)
        .push(")");
}

/// The list's order, or its reverse.
fn order_by(descending: bool) -> &'static str {
    if descending {
        " order by d.tag collate nocase desc"
    } else {
        " order by d.tag collate nocase"
    }
}

/// The rowids of a page's devices and of one more (which says whether another page
/// follows), found from an index where the filters allow, starting at the page's
/// key. True when they come in reverse order (a page found from its end).
fn push_page_rowids(
    qb: &mut QueryBuilder<'_, Sqlite>,
    school: SchoolId,
    f: &DeviceFilter,
    broad: bool,
    per_page: i64,
) -> bool {
    let (key, descending, skip) = match &f.at {
        Position::First => (None, false, 0),
        Position::After(tag) => (Some((">", tag)), false, 0),
        Position::Before(tag) => (Some(("<", tag)), true, 0),
        Position::Last => (None, true, 0),
        Position::Page(n) => (None, false, ((*n).max(1) - 1).saturating_mul(per_page)),
    };
    qb.push("select d.rowid from device d");
    push_where(qb, school, f, broad);
    if let Some((op, tag)) = key {
        qb.push(format!(" and d.tag collate nocase {op} "))
            .push_bind(tag.clone());
    }
    qb.push(order_by(descending))
        .push(" limit ")
        .push_bind(per_page + 1);
    if skip > 0 {
        qb.push(" offset ").push_bind(skip);
    }
    descending
}

/// Whether a device the filters select has a tag `op` (`<=` or `>=`) `tag`.
async fn any_beyond(
    conn: &mut SqliteConnection,
    school: SchoolId,
    f: &DeviceFilter,
    broad: bool,
    op: &str,
    tag: &str,
) -> Result<bool, StoreError> {
    let mut qb = QueryBuilder::new("select exists (");
    push_any_beyond(&mut qb, school, f, broad, op, tag);
    qb.push(")");
    Ok(qb.build_query_scalar().fetch_one(&mut *conn).await?)
}

fn push_any_beyond(
    qb: &mut QueryBuilder<'_, Sqlite>,
    school: SchoolId,
    f: &DeviceFilter,
    broad: bool,
    op: &str,
    tag: &str,
) {
    qb.push("select 1 from device d");
    push_where(qb, school, f, broad);
    qb.push(format!(" and d.tag collate nocase {op} "))
        .push_bind(tag.to_owned());
}

impl Store {
    /// A tag from the school's own register to show as an example ("like
    /// HS-IPAD-01"): the first device registered that is not retired.
    pub async fn example_tag(&self, school: SchoolId) -> Result<Option<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "select tag from device where school_id = ? and status != 'retired' order by created_at, tag limit 1",
        )
        .bind(school.0)
        .fetch_optional(self.reader())
        .await?)
    }

    /// Registers a device. Its location is created if this is the first time the name
    /// is used.
    ///
    /// Only for filling a store without a person at the desk (`kitroom demo`, the
    /// store's and the harness's tests): the pages and the API register through
    /// `kitroom_app::devices::register`, which decides the same from the same
    /// `*_in` functions. To be removed once those callers go through the app layer.
    pub async fn create_device(
        &self,
        actor: Actor,
        school: SchoolId,
        details: DeviceDetails,
    ) -> Result<Device, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                if let Some(clash) = tag_clash(conn, school, &details.tag, None).await? {
                    return Err(clash);
                }
                let location_id =
                    find_or_create(conn, &actor, school, &details.location, now).await?;
                let id =
                    insert_device(conn, &actor, school, &details, location_id, None, now).await?;
                let device = get_device(conn, id).await?;
                Ok(device)
            })
        })
        .await
    }

    /// Changes a device's details and records each field that changed, before and
    /// after. Recording a new encryption verification names the actor as verifier.
    ///
    /// Only for `kitroom demo` and tests, like [`Store::create_device`]; the pages
    /// and the API edit through `kitroom_app::devices::edit`.
    pub async fn update_device(
        &self,
        actor: Actor,
        school: SchoolId,
        id: Uuid,
        details: DeviceDetails,
    ) -> Result<Device, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let before = get_device(conn, id).await?;
                if let Some(clash) = tag_clash(conn, school, &details.tag, Some(id)).await? {
                    return Err(clash);
                }
                let location_id =
                    find_or_create(conn, &actor, school, &details.location, now).await?;
                update_device_in(conn, &actor, id, &details, location_id, &before, now).await?;
                let after = get_device(conn, id).await?;
                let changes = changed_fields(&before.details, &after.details);
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
                Ok(after)
            })
        })
        .await
    }

    /// The device of `school` with this tag (whatever its case), if there is one.
    pub async fn device_by_tag(
        &self,
        school: SchoolId,
        tag: &str,
    ) -> Result<Option<Device>, StoreError> {
        sqlx::query_as::<_, DeviceRow>(&BY_TAG)
            .bind(school.0)
            .bind(tag.trim())
            .fetch_optional(self.reader())
            .await?
            .map(Device::try_from)
            .transpose()
    }

    /// One page of `school`'s devices that `f` selects.
    pub async fn list_devices(
        &self,
        school: SchoolId,
        f: &DeviceFilter,
    ) -> Result<DevicePage, StoreError> {
        let per_page = f.per_page.clamp(1, 200);
        let mut conn = self.reader().acquire().await?;
        let term = search_term(f);
        let (total, broad) = match term.as_deref().map(|q| (q, full_text_query(q))) {
            // Matches are read from the trigram index as it finds them and stop
            // being counted past the limit, so a broad search costs no more than that.
            Some((_, Some(query))) => {
                let mut count = QueryBuilder::new("");
                push_search_count(&mut count, school, f, query);
                let total: i64 = count.build_query_scalar().fetch_one(&mut *conn).await?;
                (total, total > SEARCH_COUNT_LIMIT)
            }
            Some(_) => {
                let mut count = QueryBuilder::new("select count(*) from device d");
                push_where(&mut count, school, f, false);
                (
                    count.build_query_scalar().fetch_one(&mut *conn).await?,
                    false,
                )
            }
            // Without a search, the filters are all columns the tally is kept by.
            None => {
                let mut count =
                    QueryBuilder::new("select coalesce(sum(t.devices), 0) from device_tally t");
                push_tally_where(&mut count, school, f);
                (
                    count.build_query_scalar().fetch_one(&mut *conn).await?,
                    false,
                )
            }
        };
        // The page's rows are found first by their rowids alone (from an index where
        // the filters allow, starting at the key), then only those are read and
        // joined. One row more than the page says whether another page follows.
        let mut qb = QueryBuilder::new(SELECT);
        qb.push(" where d.rowid in (");
        let descending = push_page_rowids(&mut qb, school, f, broad, per_page);
        qb.push(")").push(order_by(descending));
        let mut rows = qb
            .build_query_as::<DeviceRow>()
            .fetch_all(&mut *conn)
            .await?;
        let more = rows.len() as i64 > per_page;
        rows.truncate(per_page as usize);
        if descending {
            rows.reverse();
        }
        // Whether anything lies on the key's other side: one row found by the same seek.
        let (has_previous, has_next) = match &f.at {
            Position::First => (false, more),
            Position::After(tag) => (
                any_beyond(&mut conn, school, f, broad, "<=", tag).await?,
                more,
            ),
            Position::Before(tag) => (
                more,
                any_beyond(&mut conn, school, f, broad, ">=", tag).await?,
            ),
            Position::Last => (more, false),
            Position::Page(n) => (*n > 1, more),
        };
        Ok(DevicePage {
            items: rows
                .into_iter()
                .map(Device::try_from)
                .collect::<Result<_, _>>()?,
            total,
            total_exact: !broad || total <= SEARCH_COUNT_LIMIT,
            has_previous,
            has_next,
        })
    }

    /// How many of `school`'s devices there are in each status (retired included).
    pub async fn count_by_status(
        &self,
        school: SchoolId,
    ) -> Result<Vec<(DeviceStatus, i64)>, StoreError> {
        let rows: Vec<(String, i64)> = sqlx::query_as(
            "select status, sum(devices) from device_tally where school_id = ?
             group by status having sum(devices) > 0",
        )
        .bind(school.0)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(s, n)| Ok((parse_word(&s)?, n)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::db::plan;

    /// A page deep in a large register would read and skip every device before it,
    /// or sort every device of a kind on each page: the list slows as the school
    /// registers more.
    #[tokio::test]
    async fn every_filter_finds_a_page_by_a_seek_on_an_index_from_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut conn = store.reader().acquire().await.unwrap();
        let filter = |name: &'static str, f: DeviceFilter| (name, f);
        let filters = [
            filter("everything", DeviceFilter::default()),
            filter(
                "status",
                DeviceFilter {
                    status: Some(DeviceStatus::Available),
                    ..Default::default()
                },
            ),
            filter(
                "kind",
                DeviceFilter {
                    kind: Some(DeviceKind::Laptop),
                    ..Default::default()
                },
            ),
            filter(
                "kind and status",
                DeviceFilter {
                    kind: Some(DeviceKind::Ipad),
                    status: Some(DeviceStatus::OnLoan),
                    ..Default::default()
                },
            ),
            filter(
                "retired of a kind",
                DeviceFilter {
                    kind: Some(DeviceKind::Ipad),
                    status: Some(DeviceStatus::Retired),
                    ..Default::default()
                },
            ),
            filter(
                "location",
                DeviceFilter {
                    location: Some("Library".into()),
                    ..Default::default()
                },
            ),
            filter(
                "encryption",
                DeviceFilter {
                    encryption: Some(EncryptionState::Unknown),
                    ..Default::default()
                },
            ),
            filter(
                "a search matching many",
                DeviceFilter {
                    q: Some("dell".into()),
                    ..Default::default()
                },
            ),
        ];
        for (name, f) in filters {
            let broad = f.q.is_some();
            for (at, op) in [
                (Position::First, None),
                (Position::After("KR-095000".into()), Some("tag>?")),
                (Position::Before("KR-095000".into()), Some("tag<?")),
                (Position::Last, None),
            ] {
                let f = DeviceFilter {
                    at: at.clone(),
                    ..f.clone()
                };
                let mut qb = QueryBuilder::new("explain query plan ");
                push_page_rowids(&mut qb, SchoolId::FIRST, &f, broad, 50);
                let page = plan(&mut conn, qb).await;
                assert!(
                    !page.contains("TEMP B-TREE")
                        && !page.contains("SCAN d\n")
                        && !page.ends_with("SCAN d"),
                    "{name}, {at:?}: {page}"
                );
                if let Some(op) = op {
                    assert!(page.contains(op), "{name}, {at:?} seeks its key: {page}");
                }
            }
            for (op, seek) in [("<=", "tag<?"), (">=", "tag>?")] {
                let mut qb = QueryBuilder::new("explain query plan ");
                push_any_beyond(&mut qb, SchoolId::FIRST, &f, broad, op, "KR-095000");
                let any = plan(&mut conn, qb).await;
                assert!(any.contains(seek), "{name}, anything {op} the key: {any}");
            }
        }
    }

    /// A search of a school's register starts from the trigram index's matches:
    /// starting from the school's devices in tag order, SQLite asked the trigram
    /// index about each of 100,000 devices, and the benchmark's search never
    /// finished.
    #[tokio::test]
    async fn a_search_starts_from_the_trigram_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut conn = store.reader().acquire().await.unwrap();
        for status in [None, Some(DeviceStatus::Available)] {
            let f = DeviceFilter {
                q: Some("ipad".into()),
                status,
                ..Default::default()
            };
            let query = full_text_query("ipad").unwrap();
            let mut qb = QueryBuilder::new("explain query plan ");
            push_search_count(&mut qb, SchoolId::FIRST, &f, query);
            let count = plan(&mut conn, qb).await;
            let first = count
                .lines()
                .find(|l| l.starts_with("SCAN") || l.starts_with("SEARCH"));
            assert!(
                first.is_some_and(|l| l.starts_with("SCAN s VIRTUAL TABLE")),
                "the count, {status:?}: {count}"
            );
            let mut qb = QueryBuilder::new("explain query plan ");
            push_page_rowids(&mut qb, SchoolId::FIRST, &f, false, 50);
            let page = plan(&mut conn, qb).await;
            assert!(
                !page.contains("USING INDEX device_tag")
                    && !page.contains("USING INDEX device_status")
                    && page.contains("VIRTUAL TABLE"),
                "the page, {status:?}: {page}"
            );
        }
    }

    #[test]
    fn a_full_text_query_is_one_phrase_without_control_characters() {
        assert_eq!(full_text_query("a.b\0").as_deref(), Some("\"a.b\""));
        assert_eq!(
            full_text_query("ipad \"pro\"").as_deref(),
            Some("\"ipad \"\"pro\"\"\"")
        );
        assert_eq!(
            full_text_query("a\0\u{1f}b"),
            None,
            "too short once cleaned"
        );
        let f = DeviceFilter {
            q: Some(" \0\n ".into()),
            ..Default::default()
        };
        assert_eq!(search_term(&f), None, "nothing to look for");
    }
}
