//! Accessories: counted per location (`accessory_stock`), lent with a loan or a
//! set's loan (`loan_accessory`) and put back where they came from on return.
//! Persistence only: the facts read and the rows written inside the caller's
//! transaction; `kitroom_app::accessories` decides (with `kitroom_core::accessory`)
//! and refuses.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_uuid, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};

/// A type of accessory and its count at each location.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accessory {
    pub id: Uuid,
    pub name: String,
    /// No longer offered with a loan; its counts and history stay.
    pub retired: bool,
    pub stock: Vec<Stock>,
}

/// One type's count at one location; `id` is what a form names to take from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stock {
    pub id: i64,
    pub name: String,
    pub location: String,
    pub count: i64,
}

/// Accessories to take from a stock row with a loan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Taking {
    pub stock: i64,
    pub count: i64,
}

/// Accessories that went out with one loan, and how many came back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Lent {
    pub id: i64,
    pub name: String,
    pub location: String,
    pub count_out: i64,
    pub count_back: Option<i64>,
}

/// Accessories that did not come back with their loan.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NotReturned {
    /// The lent row's id, for "found".
    pub id: i64,
    pub name: String,
    pub missing: i64,
    pub borrower_name: String,
    /// The device's tag or the set's name.
    pub lent_with: String,
    pub link: String,
    pub returned_at: String,
}

/// The subject of an accessory type's events.
pub fn subject(id: Uuid, name: &str) -> Subject {
    Subject {
        key: format!("accessory:{id}"),
        label: name.to_owned(),
    }
}

/// An accessory type's name and whether it is retired, or `None` when no type
/// has this id.
pub async fn accessory_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Option<(String, bool)>, StoreError> {
    Ok(sqlx::query_as(
        "select name, retired_at is not null from accessory where id = ? and school_id = ?",
    )
    .bind(id.to_string())
    .bind(school.0)
    .fetch_optional(&mut *conn)
    .await?)
}

/// Whether a type of `school` other than `except` is called `name` (case aside).
pub async fn name_taken_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    name: &str,
    except: Option<Uuid>,
) -> Result<bool, StoreError> {
    crate::db::name_taken_in(conn, "accessory", school, name, except).await
}

/// The unique index on the name refused a write: only a race, as the application
/// checks the name first; told against the `name` field like the check.
fn name_clash(
    r: Result<sqlx::sqlite::SqliteQueryResult, sqlx::Error>,
    message: String,
) -> Result<(), StoreError> {
    match r {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
            Err(Invalid::one("name", message).into())
        }
        other => other.map(|_| ()).map_err(StoreError::from),
    }
}

/// Writes a new type of `school`, with none anywhere yet, and its
/// `accessory.created` event.
pub async fn insert_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    (id, name): (Uuid, &str),
    clash: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let r =
        sqlx::query("insert into accessory (id, school_id, name, created_at) values (?, ?, ?, ?)")
            .bind(id.to_string())
            .bind(school.0)
            .bind(name)
            .bind(time_text(now))
            .execute(&mut *conn)
            .await;
    name_clash(r, clash)?;
    append(
        conn,
        actor,
        "accessory.created",
        &subject(id, name),
        json!({"name": name}),
        now,
    )
    .await?;
    Ok(())
}

/// Writes a type's new name and its `accessory.renamed` event.
pub async fn rename_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    id: Uuid,
    old: &str,
    name: &str,
    clash: String,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let r = sqlx::query("update accessory set name = ? where id = ?")
        .bind(name)
        .bind(id.to_string())
        .execute(&mut *conn)
        .await;
    name_clash(r, clash)?;
    append(
        conn,
        actor,
        "accessory.renamed",
        &subject(id, name),
        json!({"from": old, "to": name}),
        now,
    )
    .await?;
    Ok(())
}

/// Writes a type retired (or back in use) and its `accessory.retired` (or
/// `accessory.reinstated`) event.
pub async fn set_retired_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    id: Uuid,
    name: &str,
    retired: bool,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("update accessory set retired_at = ? where id = ?")
        .bind(retired.then(|| time_text(now)))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let action = if retired {
        "accessory.retired"
    } else {
        "accessory.reinstated"
    };
    append(
        conn,
        actor,
        action,
        &subject(id, name),
        json!({"name": name}),
        now,
    )
    .await?;
    Ok(())
}

/// How many of type `id` are counted at a location (none when never counted there).
pub async fn count_at_in(
    conn: &mut SqliteConnection,
    id: Uuid,
    location: Uuid,
) -> Result<i64, StoreError> {
    Ok(sqlx::query_scalar(
        "select count from accessory_stock where accessory_id = ? and location_id = ?",
    )
    .bind(id.to_string())
    .bind(location.to_string())
    .fetch_optional(&mut *conn)
    .await?
    .unwrap_or(0))
}

/// A count changed by hand, as decided.
#[derive(Debug, Clone)]
pub struct Recount<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub location_id: Uuid,
    /// The place as the change named it.
    pub location: &'a str,
    pub from: i64,
    pub to: i64,
    pub reason: &'a str,
}

/// Writes a type's new count at a location and its `accessory.adjusted` event.
pub async fn set_count_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    c: &Recount<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into accessory_stock (accessory_id, location_id, count) values (?, ?, ?)
         on conflict (accessory_id, location_id) do update set count = excluded.count",
    )
    .bind(c.id.to_string())
    .bind(c.location_id.to_string())
    .bind(c.to)
    .execute(&mut *conn)
    .await?;
    append(
        conn,
        actor,
        "accessory.adjusted",
        &subject(c.id, c.name),
        json!({"location": c.location, "from": c.from, "to": c.to, "reason": c.reason}),
        now,
    )
    .await?;
    Ok(())
}

/// Accessories lent with a loan that did not all come back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    /// The lent row's id.
    pub lent: i64,
    pub stock: i64,
    pub missing: i64,
    pub accessory: Uuid,
    pub name: String,
}

/// `school`'s lent row `lent`, when some of it did not come back with its loan.
pub async fn missing_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    lent: i64,
) -> Result<Option<Missing>, StoreError> {
    let row: Option<(i64, i64, String, String)> = sqlx::query_as(
        "select la.stock_id, la.count_out - la.count_back, a.id, a.name from loan_accessory la
         join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
         where la.id = ? and a.school_id = ? and la.returned_at is not null and la.count_back < la.count_out",
    )
    .bind(lent)
    .bind(school.0)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(|(stock, missing, id, name)| {
        Ok(Missing {
            lent,
            stock,
            missing,
            accessory: parse_uuid(&id)?,
            name,
        })
    })
    .transpose()
}

/// Writes those missing as back (in the count they came from, no longer listed as
/// not returned) and the `accessory.found` event.
pub async fn found_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    m: &Missing,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("update loan_accessory set count_back = count_out where id = ?")
        .bind(m.lent)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update accessory_stock set count = count + ? where id = ?")
        .bind(m.missing)
        .bind(m.stock)
        .execute(&mut *conn)
        .await?;
    append(
        conn,
        actor,
        "accessory.found",
        &subject(m.accessory, &m.name),
        json!({"count": m.missing}),
        now,
    )
    .await?;
    Ok(())
}

/// A stock row of a type still in use, of the school of the loan `loan` (or of the
/// set lent by `group`): the type's name, the place and the count there; `None`
/// when the row is gone, its type retired, or it is another school's.
pub async fn stock_in(
    conn: &mut SqliteConnection,
    stock: i64,
    loan: Option<Uuid>,
    group: Option<Uuid>,
) -> Result<Option<(String, String, i64)>, StoreError> {
    Ok(sqlx::query_as(
        "select a.name, l.name, s.count from accessory_stock s join accessory a on a.id = s.accessory_id
         join location l on l.id = s.location_id where s.id = ? and a.retired_at is null
           and a.school_id = coalesce((select school_id from loan where id = ?),
             (select k.school_id from loan_group g join kit k on k.id = g.kit_id where g.id = ?))",
    )
    .bind(stock)
    .bind(loan.map(|l| l.to_string()))
    .bind(group.map(|g| g.to_string()))
    .fetch_optional(&mut *conn)
    .await?)
}

/// Writes `count` taken from stock row `stock` (leaving `left`) with a loan
/// (`loan`) or a set's loan (`group`).
pub async fn lend_in(
    conn: &mut SqliteConnection,
    stock: i64,
    left: i64,
    loan: Option<Uuid>,
    group: Option<Uuid>,
    count: i64,
) -> Result<(), StoreError> {
    sqlx::query("update accessory_stock set count = ? where id = ?")
        .bind(left)
        .bind(stock)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into loan_accessory (loan_id, group_id, stock_id, count_out) values (?, ?, ?, ?)",
    )
    .bind(loan.map(|l| l.to_string()))
    .bind(group.map(|g| g.to_string()))
    .bind(stock)
    .bind(count)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Accessories lent with a loan or a set's loan and not yet counted back.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Out {
    /// The lent row's id.
    pub id: i64,
    pub stock: i64,
    pub count_out: i64,
    pub name: String,
}

/// Accessories lent, as [`Out`], where (the rest of the statement) says.
pub(crate) const STILL_OUT: &str =
    "select la.id, la.stock_id as stock, la.count_out, a.name from loan_accessory la
     join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
     where";

/// What went out with this loan (`loan`) or set's loan (`group`) and is not yet
/// counted back, in the order it went.
pub async fn still_out_in(
    conn: &mut SqliteConnection,
    loan: Option<Uuid>,
    group: Option<Uuid>,
) -> Result<Vec<Out>, StoreError> {
    static QUERY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!("{STILL_OUT} (la.loan_id = ? or la.group_id = ?) and la.returned_at is null order by la.id")
    });
    Ok(sqlx::query_as(&QUERY)
        .bind(loan.map(|l| l.to_string()))
        .bind(group.map(|g| g.to_string()))
        .fetch_all(&mut *conn)
        .await?)
}

/// Writes `back` of lent row `out` as come back, into the count it came from.
pub async fn count_back_in(
    conn: &mut SqliteConnection,
    out: &Out,
    back: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("update loan_accessory set count_back = ?, returned_at = ? where id = ?")
        .bind(back)
        .bind(time_text(now))
        .bind(out.id)
        .execute(&mut *conn)
        .await?;
    sqlx::query("update accessory_stock set count = count + ? where id = ?")
        .bind(back)
        .bind(out.stock)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

const LENT: &str =
    "select la.id, a.name, l.name as location, la.count_out, la.count_back from loan_accessory la
    join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
    join location l on l.id = s.location_id";

impl Store {
    /// Whether `school` counts accessories at all: some type is in use.
    pub async fn counts_accessories(&self, school: SchoolId) -> Result<bool, StoreError> {
        Ok(sqlx::query_scalar::<_, bool>(
            "select exists(select 1 from accessory where school_id = ? and retired_at is null)",
        )
        .bind(school.0)
        .fetch_one(self.reader())
        .await?)
    }

    /// Every accessory type of `school` with its counts, by name.
    pub async fn list_accessories(&self, school: SchoolId) -> Result<Vec<Accessory>, StoreError> {
        let types: Vec<(String, String, bool)> = sqlx::query_as(
            "select id, name, retired_at is not null from accessory where school_id = ?
             order by name collate nocase",
        )
        .bind(school.0)
        .fetch_all(self.reader())
        .await?;
        let stock: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "select s.accessory_id, s.id, l.name, s.count from accessory_stock s
             join location l on l.id = s.location_id where l.school_id = ?
             order by l.name collate nocase",
        )
        .bind(school.0)
        .fetch_all(self.reader())
        .await?;
        types
            .into_iter()
            .map(|(id, name, retired)| {
                Ok(Accessory {
                    retired,
                    stock: stock
                        .iter()
                        .filter(|s| s.0 == id)
                        .map(|(_, sid, location, count)| Stock {
                            id: *sid,
                            name: name.clone(),
                            location: location.clone(),
                            count: *count,
                        })
                        .collect(),
                    id: parse_uuid(&id)?,
                    name,
                })
            })
            .collect()
    }

    /// What can be taken with a loan: every type in use at every location with some left.
    pub async fn accessories_in_stock(&self, school: SchoolId) -> Result<Vec<Stock>, StoreError> {
        Ok(self
            .list_accessories(school)
            .await?
            .into_iter()
            .filter(|a| !a.retired)
            .flat_map(|a| a.stock)
            .filter(|s| s.count > 0)
            .collect())
    }

    /// The accessories lent with a loan (`loan`) or a set's loan (`group`).
    pub async fn accessories_lent(
        &self,
        loan: Option<Uuid>,
        group: Option<Uuid>,
    ) -> Result<Vec<Lent>, StoreError> {
        Ok(sqlx::query_as(&format!(
            "{LENT} where la.loan_id = ? or la.group_id = ? order by la.id"
        ))
        .bind(loan.map(|l| l.to_string()))
        .bind(group.map(|g| g.to_string()))
        .fetch_all(self.reader())
        .await?)
    }

    /// The accessories lent with each of these loans (one device each), by loan.
    pub async fn accessories_of_loans(
        &self,
        loans: &[Uuid],
    ) -> Result<BTreeMap<Uuid, Vec<Lent>>, StoreError> {
        let ids = serde_json::to_string(&loans.iter().map(Uuid::to_string).collect::<Vec<_>>())
            .unwrap_or_else(|_| "[]".into());
        let rows: Vec<(String, i64, String, String, i64, Option<i64>)> = sqlx::query_as(
            "select la.loan_id, la.id, a.name, l.name, la.count_out, la.count_back from loan_accessory la
             join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
             join location l on l.id = s.location_id
             where la.loan_id in (select value from json_each(?)) order by la.id",
        )
        .bind(ids)
        .fetch_all(self.reader())
        .await?;
        let mut out: BTreeMap<Uuid, Vec<Lent>> = BTreeMap::new();
        for (loan, id, name, location, count_out, count_back) in rows {
            out.entry(parse_uuid(&loan)?).or_default().push(Lent {
                id,
                name,
                location,
                count_out,
                count_back,
            });
        }
        Ok(out)
    }

    /// Accessories that did not come back with their loan, newest first: all of
    /// them, or one borrower's, or those lent with one device.
    pub async fn accessories_not_returned(
        &self,
        school: SchoolId,
        borrower: Option<Uuid>,
        device: Option<Uuid>,
    ) -> Result<Vec<NotReturned>, StoreError> {
        Ok(sqlx::query_as(
            "select la.id, a.name, la.count_out - la.count_back as missing, p.full_name as borrower_name,
               coalesce(d.tag, k.name) as lent_with,
               case when la.loan_id is not null then '/devices/' || d.tag else '/sets/' || k.id end as link,
               la.returned_at
             from loan_accessory la join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
             left join loan l on l.id = la.loan_id left join device d on d.id = l.device_id
             left join loan_group g on g.id = la.group_id left join kit k on k.id = g.kit_id
             join person p on p.id = coalesce(l.borrower_id, g.borrower_id)
             where la.returned_at is not null and la.count_back < la.count_out
               and (?1 is null or p.id = ?1) and (?2 is null or l.device_id = ?2) and a.school_id = ?3
             order by la.returned_at desc limit 200",
        )
        .bind(borrower.map(|b| b.to_string()))
        .bind(device.map(|d| d.to_string()))
        .bind(school.0)
        .fetch_all(self.reader())
        .await?)
    }
}
