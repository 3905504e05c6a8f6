//! Loans: checking devices out and taking them back, the head's authorisations to
//! take personal data off site, and devices coming off charge.
//!
//! A check-out and a return are decided by `kitroom_app::loans` (and a set's by
//! `kitroom_app::sets`), which write them through the `*_in` functions here.

use chrono::{DateTime, Utc};
use kitroom_core::device::{DeviceKind, DeviceStatus};
use kitroom_core::loan;
use kitroom_core::school::SchoolId;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, time_text, Batch, Store, StoreError};

/// A loan, with the names a page needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loan {
    pub id: Uuid,
    pub device_id: Uuid,
    pub device_tag: String,
    pub device_name: String,
    pub borrower: String,
    pub borrower_name: String,
    pub issued_by: String,
    pub out_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub purpose: String,
    pub off_site: bool,
    pub authorised: bool,
    pub returned_at: Option<DateTime<Utc>>,
    /// `returned` or `lost`.
    pub outcome: Option<String>,
    pub return_location: Option<String>,
    pub received_by: Option<String>,
    pub return_condition: Option<String>,
    pub battery_percent: Option<i64>,
    pub on_charge: Option<bool>,
    pub images_cleared: Option<bool>,
    /// The due time first asked for, when the calendar moved it off a day the school
    /// is shut, and why, in words for the borrower.
    pub due_moved_from: Option<DateTime<Utc>>,
    pub due_moved_reason: Option<String>,
    /// The set check-out this loan is part of.
    pub group_id: Option<Uuid>,
    /// The device did not come back when its set was returned.
    pub missing_on_return: bool,
}

impl Loan {
    /// The loan `l` as [`insert_loan`] writes it, the same as reading it back
    /// ([`loan_in`]) would give: the answer to a check-out without a query after
    /// it. `issued_by` is the username of whoever `l.issued_by` is.
    pub fn opened(
        l: &NewLoan<'_>,
        device: &crate::devices::Device,
        borrower: &crate::people::Person,
        issued_by: &str,
    ) -> Result<Loan, StoreError> {
        let d = &device.details;
        Ok(Loan {
            id: l.id,
            device_id: device.id,
            device_tag: d.tag.as_str().to_owned(),
            device_name: format!("{} {}", d.make, d.model)
                .trim_matches(' ')
                .to_owned(),
            borrower: borrower.username.clone(),
            borrower_name: borrower.full_name.clone(),
            issued_by: issued_by.to_owned(),
            out_at: as_stored(l.out_at)?,
            due_at: as_stored(l.due_at)?,
            purpose: l.purpose.to_owned(),
            off_site: l.off_site,
            authorised: l.authorisation.is_some(),
            returned_at: None,
            outcome: None,
            return_location: None,
            received_by: None,
            return_condition: None,
            battery_percent: None,
            on_charge: None,
            images_cleared: None,
            due_moved_from: l.due_moved.map(|(f, _)| as_stored(f)).transpose()?,
            due_moved_reason: l.due_moved.map(|(_, why)| why.to_owned()),
            group_id: l.group,
            missing_on_return: false,
        })
    }

    /// This open loan as [`close_loan`] leaves it, the same as reading it back
    /// would give: `location` is the stored name of `c.location`, `received_by`
    /// the username of `c.received_by`.
    pub fn closed(
        self,
        c: &Closing,
        location: &str,
        received_by: Option<&str>,
    ) -> Result<Loan, StoreError> {
        Ok(Loan {
            returned_at: Some(as_stored(c.at)?),
            outcome: Some("returned".to_owned()),
            return_location: Some(location.to_owned()),
            received_by: received_by.map(str::to_owned),
            return_condition: Some(c.condition.as_str().to_owned()),
            battery_percent: c.battery_percent,
            on_charge: Some(c.on_charge),
            images_cleared: c.images_cleared,
            ..self
        })
    }

    pub fn is_open(&self) -> bool {
        self.returned_at.is_none()
    }

    pub fn is_overdue(&self, now: DateTime<Utc>) -> bool {
        self.is_open() && loan::is_overdue(self.due_at, now)
    }
}

/// A time as the database keeps it (and gives it back).
fn as_stored(t: DateTime<Utc>) -> Result<DateTime<Utc>, StoreError> {
    parse_time(&time_text(t))
}

#[derive(sqlx::FromRow)]
struct LoanRow {
    id: String,
    device_id: String,
    device_tag: String,
    device_name: String,
    borrower: String,
    borrower_name: String,
    issued_by: String,
    out_at: String,
    due_at: String,
    purpose: String,
    off_site: bool,
    authorised: bool,
    returned_at: Option<String>,
    outcome: Option<String>,
    return_location: Option<String>,
    received_by: Option<String>,
    return_condition: Option<String>,
    battery_percent: Option<i64>,
    on_charge: Option<bool>,
    images_cleared: Option<bool>,
    due_moved_from: Option<String>,
    due_moved_reason: Option<String>,
    group_id: Option<String>,
    missing_on_return: bool,
}

impl TryFrom<LoanRow> for Loan {
    type Error = StoreError;
    fn try_from(r: LoanRow) -> Result<Self, StoreError> {
        Ok(Loan {
            id: parse_uuid(&r.id)?,
            device_id: parse_uuid(&r.device_id)?,
            device_tag: r.device_tag,
            device_name: r.device_name,
            borrower: r.borrower,
            borrower_name: r.borrower_name,
            issued_by: r.issued_by,
            out_at: parse_time(&r.out_at)?,
            due_at: parse_time(&r.due_at)?,
            purpose: r.purpose,
            off_site: r.off_site,
            authorised: r.authorised,
            returned_at: r.returned_at.as_deref().map(parse_time).transpose()?,
            outcome: r.outcome,
            return_location: r.return_location,
            received_by: r.received_by,
            return_condition: r.return_condition,
            battery_percent: r.battery_percent,
            on_charge: r.on_charge,
            images_cleared: r.images_cleared,
            due_moved_from: r.due_moved_from.as_deref().map(parse_time).transpose()?,
            due_moved_reason: r.due_moved_reason,
            group_id: r.group_id.as_deref().map(parse_uuid).transpose()?,
            missing_on_return: r.missing_on_return,
        })
    }
}

const LOAN: &str = "select l.id, l.device_id, d.tag as device_tag, trim(d.make || ' ' || d.model) as device_name,
    b.username as borrower, b.full_name as borrower_name, i.username as issued_by, l.out_at, l.due_at, l.purpose,
    l.off_site, l.authorisation_id is not null as authorised, l.returned_at, l.outcome, rl.name as return_location,
    r.username as received_by, l.return_condition, l.battery_percent, l.on_charge, l.images_cleared,
    l.due_moved_from, l.due_moved_reason, l.group_id, l.missing_on_return
    from loan l join device d on d.id = l.device_id join person b on b.id = l.borrower_id
    join person i on i.id = l.issued_by left join person r on r.id = l.received_by
    left join location rl on rl.id = l.return_location_id";

/// Which loans to list.
#[derive(Debug, Clone, Default)]
pub struct LoanFilter {
    /// Only loans not yet returned.
    pub open: bool,
    /// Only open loans due before this instant.
    pub overdue_at: Option<DateTime<Utc>>,
    pub borrower: Option<Uuid>,
    pub device: Option<Uuid>,
    pub limit: i64,
}

fn push_loan_filter(qb: &mut QueryBuilder<'_, Sqlite>, school: SchoolId, f: &LoanFilter) {
    // A device's or a borrower's loans are found by their own index and the school
    // only checks those few: `+` keeps SQLite from walking every loan of the school
    // by the school's index for its order (a device page took 515 ms at 300,000
    // loans that way).
    let narrow = f.borrower.is_some() || f.device.is_some();
    qb.push(if narrow {
        " where +l.school_id = "
    } else {
        " where l.school_id = "
    })
    .push_bind(school.0);
    if f.open || f.overdue_at.is_some() {
        qb.push(" and l.returned_at is null");
    }
    if let Some(at) = f.overdue_at {
        qb.push(" and l.due_at < ").push_bind(time_text(at));
    }
    if let Some(b) = f.borrower {
        qb.push(" and l.borrower_id = ").push_bind(b.to_string());
    }
    if let Some(d) = f.device {
        qb.push(" and l.device_id = ").push_bind(d.to_string());
    }
}

async fn open_loan_in(
    conn: &mut SqliteConnection,
    device: Uuid,
) -> Result<Option<Loan>, StoreError> {
    sqlx::query_as::<_, LoanRow>(&format!(
        "{LOAN} where l.device_id = ? and l.returned_at is null"
    ))
    .bind(device.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .map(Loan::try_from)
    .transpose()
}

/// The loans of one set check-out, by device tag.
pub(crate) async fn loans_of_group_in(
    conn: &mut SqliteConnection,
    group: &str,
) -> Result<Vec<Loan>, StoreError> {
    sqlx::query_as::<_, LoanRow>(&format!(
        "{LOAN} where l.group_id = ? order by d.tag collate nocase"
    ))
    .bind(group)
    .fetch_all(&mut *conn)
    .await?
    .into_iter()
    .map(Loan::try_from)
    .collect()
}

/// A request to the head to take a device off site.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OffsiteRequest {
    pub id: String,
    pub device_id: String,
    pub device_tag: String,
    pub device_name: String,
    pub person: String,
    pub person_name: String,
    pub reason: String,
    pub requested_at: String,
    pub status: String,
    pub decided_by: Option<String>,
    pub note: String,
}

const OFFSITE: &str = "select o.id, o.device_id, d.tag as device_tag, trim(d.make || ' ' || d.model) as device_name, p.username as person,
    p.full_name as person_name, o.reason, o.requested_at, o.status, h.username as decided_by, o.note
    from offsite_request o join device d on d.id = o.device_id join person p on p.id = o.person_id
    left join person h on h.id = o.decided_by";

/// `school`'s request to take a device off site, inside the caller's transaction.
pub async fn offsite_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Option<OffsiteRequest>, StoreError> {
    Ok(
        sqlx::query_as(&format!("{OFFSITE} where o.id = ? and o.school_id = ?"))
            .bind(id.to_string())
            .bind(school.0)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// This person's request for this device that is waiting or approved and not yet
/// used, if there is one.
pub async fn open_offsite_in(
    conn: &mut SqliteConnection,
    person: Uuid,
    device: Uuid,
) -> Result<Option<OffsiteRequest>, StoreError> {
    Ok(sqlx::query_as(&format!(
        "{OFFSITE} where o.person_id = ? and o.device_id = ? and o.status in ('pending', 'approved')
         order by o.requested_at desc limit 1"
    ))
    .bind(person.to_string())
    .bind(device.to_string())
    .fetch_optional(&mut *conn)
    .await?)
}

/// Writes a new request to take a device off site, pending.
pub async fn insert_offsite_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    device: Uuid,
    person: Uuid,
    reason: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into offsite_request (id, device_id, school_id, person_id, reason, requested_at)
         values (?1, ?2, (select school_id from device where id = ?2), ?3, ?4, ?5)",
    )
    .bind(id.to_string())
    .bind(device.to_string())
    .bind(person.to_string())
    .bind(reason)
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Writes the head's decision on a request to take a device off site.
pub async fn decide_offsite_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    status: &str,
    by: Option<Uuid>,
    note: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    crate::db::decide_request_in(conn, "offsite_request", id, status, by, note, now).await
}

/// The state of a person's authorisation for one device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Authorisation {
    None,
    Pending,
    Approved,
    Declined { note: String },
}

impl Store {
    /// `school`'s requests to take a device off site, newest first: all, or only
    /// those pending.
    pub async fn offsite_requests(
        &self,
        school: SchoolId,
        pending_only: bool,
    ) -> Result<Vec<OffsiteRequest>, StoreError> {
        let filter = if pending_only {
            "and o.status = 'pending'"
        } else {
            ""
        };
        Ok(sqlx::query_as(&format!(
            "{OFFSITE} where o.school_id = ? {filter} order by o.requested_at desc limit 1000"
        ))
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }

    pub async fn open_loan(&self, device: Uuid) -> Result<Option<Loan>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        open_loan_in(&mut conn, device).await
    }

    /// `school`'s loans, newest first.
    pub async fn list_loans(
        &self,
        school: SchoolId,
        f: &LoanFilter,
    ) -> Result<Vec<Loan>, StoreError> {
        let mut qb = QueryBuilder::new(LOAN);
        push_loan_filter(&mut qb, school, f);
        if f.open || f.overdue_at.is_some() {
            qb.push(" order by l.due_at");
        } else {
            qb.push(" order by l.out_at desc");
        }
        qb.push(" limit ")
            .push_bind(if f.limit > 0 { f.limit.min(5000) } else { 500 });
        qb.build_query_as::<LoanRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(Loan::try_from)
            .collect()
    }

    /// How many of `school`'s loans `f` selects.
    pub async fn count_loans(&self, school: SchoolId, f: &LoanFilter) -> Result<i64, StoreError> {
        let mut qb = QueryBuilder::new("select count(*) from loan l");
        push_loan_filter(&mut qb, school, f);
        Ok(qb.build_query_scalar().fetch_one(self.reader()).await?)
    }

    /// `school`'s requests waiting for the head, oldest first.
    pub async fn pending_offsite(
        &self,
        school: SchoolId,
    ) -> Result<Vec<OffsiteRequest>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{OFFSITE} where o.school_id = ? and o.status = 'pending' order by o.requested_at"
        ))
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }

    /// Where this person's authorisation for this device stands.
    pub async fn authorisation(
        &self,
        person: Uuid,
        device: Uuid,
    ) -> Result<Authorisation, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as(
            "select status, note from offsite_request where person_id = ? and device_id = ? and status <> 'used'
             order by requested_at desc limit 1",
        )
        .bind(person.to_string())
        .bind(device.to_string())
        .fetch_optional(self.reader())
        .await?;
        Ok(match row {
            None => Authorisation::None,
            Some((s, _)) if s == "pending" => Authorisation::Pending,
            Some((s, _)) if s == "approved" => Authorisation::Approved,
            Some((_, note)) => Authorisation::Declined { note },
        })
    }
}

/// The devices on charge whose home is `location`, inside the caller's transaction.
pub async fn charging_at_in(
    conn: &mut SqliteConnection,
    location: Uuid,
) -> Result<Vec<Uuid>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "select id from device where status = 'returned_charging' and location_id = ? order by tag",
    )
    .bind(location.to_string())
    .fetch_all(&mut *conn)
    .await?;
    ids.iter().map(|id| parse_uuid(id)).collect()
}

/// Every device on charge with its kind and when its charging began, inside the
/// caller's transaction (a kind no longer read is left out).
pub async fn on_charge_since_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
) -> Result<Vec<(Uuid, DeviceKind, DateTime<Utc>)>, StoreError> {
    let rows: Vec<(String, String, String)> = sqlx::query_as(
        // Found by the school's status index.
        "select id, kind, charging_since from device
         where school_id = ? and status = 'returned_charging' and charging_since is not null",
    )
    .bind(school.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::with_capacity(rows.len());
    for (id, kind, since) in rows {
        if let Ok(kind) = kind.parse() {
            out.push((parse_uuid(&id)?, kind, parse_time(&since)?));
        }
    }
    Ok(out)
}

/// Since when a device has been on charge, if it is, inside the caller's transaction.
pub async fn charging_since_in(
    conn: &mut SqliteConnection,
    device: Uuid,
) -> Result<Option<DateTime<Utc>>, StoreError> {
    let since: Option<String> = sqlx::query_scalar(
        "select charging_since from device where id = ? and status = 'returned_charging'",
    )
    .bind(device.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .flatten();
    since.as_deref().map(parse_time).transpose()
}

/// The open loan of a device, inside the caller's transaction.
pub async fn open_loan_of_in(
    conn: &mut SqliteConnection,
    device: Uuid,
) -> Result<Option<Loan>, StoreError> {
    open_loan_in(conn, device).await
}

/// What a check-out decides on, read inside the writer in one round trip: the
/// device of `school` with the tag, the borrower with their standing with the policy in force,
/// the settings and the calendar. `None` when the school has no device with the tag.
pub async fn lending_facts_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    tag: &str,
    borrower: Uuid,
) -> Result<Option<LendingFacts>, StoreError> {
    let [device, borrower, settings, calendar] = Batch::new(crate::devices::BY_TAG.as_str())
        .bind(school.0)
        .bind(tag.trim().to_owned())
        .then(crate::policies::BORROWER.as_str())
        .bind(school.0)
        .bind(school.0)
        .bind(school.0)
        .bind(borrower.to_string())
        .then(crate::settings::ALL_AS_ONE.as_str())
        .bind(school.0)
        .then(crate::calendar::ENTRIES_AS_ONE)
        .bind(school.0)
        .fetch(&mut *conn)
        .await?;
    let Some(device) = device.first() else {
        return Ok(None);
    };
    Ok(Some(LendingFacts {
        device: crate::devices::device_from_row(device)?,
        borrower: crate::policies::borrower_from_row(
            borrower.first().ok_or(StoreError::NotFound)?,
        )?,
        settings: crate::settings::settings_from_one(&settings)?.0,
        calendar: crate::calendar::calendar_from_one(&calendar)?,
    }))
}

/// What a check-out decides on: see [`lending_facts_in`].
#[derive(Debug, Clone)]
pub struct LendingFacts {
    pub device: crate::devices::Device,
    pub borrower: crate::policies::Borrower,
    pub settings: kitroom_core::settings::Settings,
    pub calendar: kitroom_core::calendar::Calendar,
}

/// What a return decides on, read inside the writer in one round trip: the device
/// of `school` with the tag, its open loan if it has one, the accessories lent with that loan
/// and not yet counted back, the settings with the return checklist of the
/// device's kind, and the locations it may come back to (the one `asked` for, its
/// home and the school's return place) that exist. `None` when the school has no
/// device with the tag.
pub async fn return_facts_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    tag: &str,
    asked: Option<&str>,
) -> Result<Option<ReturnFacts>, StoreError> {
    static OPEN: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{LOAN} where l.device_id = (select id from device where school_id = ? and tag = ? collate nocase)
               and l.returned_at is null"
        )
    });
    static OUT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "{} la.loan_id = (select l.id from loan l join device d on d.id = l.device_id
                              where d.school_id = ? and d.tag = ? collate nocase
                                and l.returned_at is null)
               and la.returned_at is null order by la.id",
            crate::accessories::STILL_OUT
        )
    });
    const PLACES: &str =
        "select id, name from location where school_id = ? and name collate nocase in (
           ?,
           (select l.name from device d join location l on l.id = d.location_id
             where d.school_id = ? and d.tag = ? collate nocase),
           coalesce((select value from setting where school_id = ? and key = 'return_location'), ?))";
    let tag = tag.trim().to_owned();
    let [device, open, out, settings, places] = Batch::new(crate::devices::BY_TAG.as_str())
        .bind(school.0)
        .bind(tag.clone())
        .then(OPEN.as_str())
        .bind(school.0)
        .bind(tag.clone())
        .then(OUT.as_str())
        .bind(school.0)
        .bind(tag.clone())
        .then(crate::settings::ALL_AS_ONE.as_str())
        .bind(school.0)
        .then(PLACES)
        .bind(school.0)
        .bind(asked.map(str::to_owned))
        .bind(school.0)
        .bind(tag)
        .bind(school.0)
        .bind(kitroom_core::settings::Settings::default().return_location)
        .fetch(&mut *conn)
        .await?;
    let Some(device) = device.first() else {
        return Ok(None);
    };
    use sqlx::{FromRow, Row};
    let device = crate::devices::device_from_row(device)?;
    let (settings, pairs) = crate::settings::settings_from_one(&settings)?;
    let questions = crate::checklists::questions_from(
        pairs
            .get(&crate::checklists::key(device.details.kind))
            .map(String::as_str),
    );
    Ok(Some(ReturnFacts {
        device,
        open: open
            .first()
            .map(|row| Loan::try_from(LoanRow::from_row(row)?))
            .transpose()?,
        still_out: out
            .iter()
            .map(crate::accessories::Out::from_row)
            .collect::<Result<_, _>>()?,
        settings,
        questions,
        places: places
            .iter()
            .map(|row| Ok((parse_uuid(&row.try_get::<String, _>(0)?)?, row.try_get(1)?)))
            .collect::<Result<_, StoreError>>()?,
    }))
}

/// What a return decides on: see [`return_facts_in`].
#[derive(Debug, Clone)]
pub struct ReturnFacts {
    pub device: crate::devices::Device,
    pub open: Option<Loan>,
    /// The accessories lent with the open loan and not yet counted back.
    pub still_out: Vec<crate::accessories::Out>,
    pub settings: kitroom_core::settings::Settings,
    /// The return checklist of the device's kind.
    pub questions: Vec<kitroom_core::checklist::Question>,
    /// The id and stored name of each location it may come back to that exists.
    pub places: Vec<(Uuid, String)>,
}

impl ReturnFacts {
    /// The location called `name` (in any case), if it is among those read.
    pub fn place(&self, name: &str) -> Option<(Uuid, String)> {
        self.places
            .iter()
            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim()))
            .cloned()
    }
}

impl Store {
    /// The devices on charge, each with its kind and since when, as committed.
    pub async fn on_charge_since(
        &self,
        school: SchoolId,
    ) -> Result<Vec<(Uuid, DeviceKind, DateTime<Utc>)>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        on_charge_since_in(&mut conn, school).await
    }

    /// One loan by its id, as committed.
    pub async fn loan(&self, id: Uuid) -> Result<Loan, StoreError> {
        let mut conn = self.reader().acquire().await?;
        loan_in(&mut conn, id).await
    }
}

/// One loan by its id, inside the caller's transaction.
pub async fn loan_in(conn: &mut SqliteConnection, id: Uuid) -> Result<Loan, StoreError> {
    sqlx::query_as::<_, LoanRow>(&format!("{LOAN} where l.id = ?"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?
        .try_into()
}

/// The newest approved, not yet used authorisation of the head's for this person
/// to take this device off site.
pub async fn approved_authorisation_in(
    conn: &mut SqliteConnection,
    person: Uuid,
    device: Uuid,
) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "select id from offsite_request where person_id = ? and device_id = ? and status = 'approved'
         order by decided_at desc limit 1",
    )
    .bind(person.to_string())
    .bind(device.to_string())
    .fetch_optional(&mut *conn)
    .await?)
}

/// A loan to write, as decided.
#[derive(Debug, Clone)]
pub struct NewLoan<'a> {
    pub id: Uuid,
    /// The device's school, whose loan it is.
    pub school: SchoolId,
    pub device: Uuid,
    pub borrower: Uuid,
    pub issued_by: Uuid,
    pub out_at: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub purpose: &'a str,
    pub off_site: bool,
    /// The head's authorisation it uses up.
    pub authorisation: Option<&'a str>,
    /// The set check-out it is part of.
    pub group: Option<Uuid>,
    /// The due time first asked for and why it moved, in words for the borrower.
    pub due_moved: Option<(DateTime<Utc>, &'a str)>,
}

/// The statements that write a loan and move its device to on loan, not on
/// charge, using up the head's authorisation where it needed one; for the caller
/// to run with the event that records them (`events::append_after`). A second open
/// loan of the device is refused by the database's unique index (two check-outs
/// racing): [`is_second_open_loan`] tells that refusal.
pub fn insert_loan(l: &NewLoan<'_>) -> Batch {
    let batch = Batch::new(
        "insert into loan (id, school_id, device_id, borrower_id, issued_by, out_at, due_at, purpose, off_site,
           authorisation_id, group_id, due_moved_from, due_moved_reason)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(l.id.to_string())
    .bind(l.school.0)
    .bind(l.device.to_string())
    .bind(l.borrower.to_string())
    .bind(l.issued_by.to_string())
    .bind(time_text(l.out_at))
    .bind(time_text(l.due_at))
    .bind(l.purpose.to_owned())
    .bind(l.off_site)
    .bind(l.authorisation.map(str::to_owned))
    .bind(l.group.map(|g| g.to_string()))
    .bind(l.due_moved.map(|(f, _)| time_text(f)))
    .bind(l.due_moved.map(|(_, why)| why.to_owned()))
    .then("update device set status = ?, charging_since = null, updated_at = ? where id = ?")
    .bind(DeviceStatus::OnLoan.as_str())
    .bind(time_text(l.out_at))
    .bind(l.device.to_string());
    match l.authorisation {
        Some(a) => batch
            .then("update offsite_request set status = 'used' where id = ?")
            .bind(a.to_owned()),
        None => batch,
    }
}

/// True when [`insert_loan`]'s statements were refused because the device already
/// has an open loan.
pub fn is_second_open_loan(e: &StoreError) -> bool {
    match e {
        // `loan_one_open_per_device`, as SQLite names it.
        StoreError::Db(sqlx::Error::Database(e)) => {
            e.is_unique_violation() && e.message().contains("loan.device_id")
        }
        _ => false,
    }
}

/// A return to write, as decided.
#[derive(Debug, Clone)]
pub struct Closing {
    pub loan: Uuid,
    pub device: Uuid,
    pub at: DateTime<Utc>,
    pub location: Uuid,
    pub received_by: Option<Uuid>,
    pub condition: kitroom_core::loan::ReturnCondition,
    pub battery_percent: Option<i64>,
    pub on_charge: bool,
    /// Only for a device that takes photos.
    pub images_cleared: Option<bool>,
    /// The device's status after the return.
    pub status: DeviceStatus,
}

/// The statements that close a loan as returned and put its device on charge (or
/// not), marking it damaged when it came back damaged; for the caller to run with
/// the event that records them (`events::append_after`).
pub fn close_loan(c: &Closing) -> Batch {
    let damaged = c.condition == kitroom_core::loan::ReturnCondition::Damaged;
    Batch::new(
        "update loan set returned_at = ?, outcome = 'returned', return_location_id = ?, received_by = ?,
           return_condition = ?, battery_percent = ?, on_charge = ?, images_cleared = ?
         where id = ? and returned_at is null",
    )
    .bind(time_text(c.at))
    .bind(c.location.to_string())
    .bind(c.received_by.map(|i| i.to_string()))
    .bind(c.condition.as_str())
    .bind(c.battery_percent)
    .bind(c.on_charge)
    .bind(c.images_cleared)
    .bind(c.loan.to_string())
    .then(
        "update device set status = ?, charging_since = ?, updated_at = ?,
           condition = case when ? then 'damaged' else condition end where id = ?",
    )
    .bind(c.status.as_str())
    .bind(c.on_charge.then(|| time_text(c.at)))
    .bind(time_text(c.at))
    .bind(damaged)
    .bind(c.device.to_string())
}

#[cfg(test)]
mod plan_tests {
    use super::*;

    /// A device's page lists its loans and a person's page theirs: found by the
    /// device's or the borrower's index, not by walking every loan of the school in
    /// date order (515 ms a device page at 300,000 loans).
    #[tokio::test]
    async fn a_devices_or_a_borrowers_loans_are_found_by_their_own_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).await.unwrap();
        let mut conn = store.reader().acquire().await.unwrap();
        let id = Uuid::nil();
        for (f, index) in [
            (
                LoanFilter {
                    device: Some(id),
                    ..Default::default()
                },
                "loan_device",
            ),
            (
                LoanFilter {
                    borrower: Some(id),
                    ..Default::default()
                },
                "loan_borrower",
            ),
            (LoanFilter::default(), "loan_school"),
        ] {
            let mut qb = QueryBuilder::new(format!("explain query plan {LOAN}"));
            push_loan_filter(&mut qb, SchoolId::FIRST, &f);
            qb.push(" order by l.out_at desc limit 50");
            let plan = crate::db::plan(&mut conn, qb).await;
            assert!(plan.contains(index), "{f:?}: {plan}");
        }
    }
}
