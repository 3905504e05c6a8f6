//! Accessories: counted per location (`accessory_stock`), lent with a loan or a
//! set's loan (`loan_accessory`) and put back where they came from on return.
//! Every count change and its event commit together, in the same transaction as
//! the loan or return that moved it.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use kitroom_core::accessory;
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

fn subject(id: &str, name: &str) -> Subject {
    Subject {
        key: format!("accessory:{id}"),
        label: name.to_owned(),
    }
}

fn refused(r: accessory::AccessoryRefusal) -> StoreError {
    Invalid::one("accessories", r.to_string()).into()
}

/// Takes accessories out of stock for a loan (`loan`) or a set's loan (`group`).
pub async fn take_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    lent_with: &Subject,
    loan: Option<Uuid>,
    group: Option<Uuid>,
    taking: &[Taking],
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let mut items = Vec::new();
    for t in taking {
        let row: Option<(String, String, i64)> = sqlx::query_as(
            "select a.name, l.name, s.count from accessory_stock s join accessory a on a.id = s.accessory_id
             join location l on l.id = s.location_id where s.id = ? and a.retired_at is null",
        )
        .bind(t.stock)
        .fetch_optional(&mut *conn)
        .await?;
        // a retired type is no longer lent, as one no longer kept there
        let Some((name, location, have)) = row else {
            return Err(Invalid::one(
                "accessories",
                "That accessory is no longer kept there or no longer lent. Choose again from the list.",
            )
            .into());
        };
        let left = accessory::take(have, t.count, &name, &location).map_err(refused)?;
        sqlx::query("update accessory_stock set count = ? where id = ?")
            .bind(left)
            .bind(t.stock)
            .execute(&mut *conn)
            .await?;
        sqlx::query("insert into loan_accessory (loan_id, group_id, stock_id, count_out) values (?, ?, ?, ?)")
            .bind(loan.map(|l| l.to_string()))
            .bind(group.map(|g| g.to_string()))
            .bind(t.stock)
            .bind(t.count)
            .execute(&mut *conn)
            .await?;
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

/// Records how many of each accessory lent with this loan or set's loan came
/// back (by `loan_accessory` id; one not named came back as none) and puts them
/// back where they came from.
pub async fn give_back_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    lent_with: &Subject,
    loan: Option<Uuid>,
    group: Option<Uuid>,
    back: &BTreeMap<i64, i64>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let rows: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "select la.id, la.stock_id, la.count_out, a.name from loan_accessory la
         join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
         where (la.loan_id = ? or la.group_id = ?) and la.returned_at is null order by la.id",
    )
    .bind(loan.map(|l| l.to_string()))
    .bind(group.map(|g| g.to_string()))
    .fetch_all(&mut *conn)
    .await?;
    let mut items = Vec::new();
    for (id, stock, out, name) in rows {
        let n = accessory::came_back(out, back.get(&id).copied().unwrap_or(0), &name)
            .map_err(refused)?;
        sqlx::query("update loan_accessory set count_back = ?, returned_at = ? where id = ?")
            .bind(n)
            .bind(time_text(now))
            .bind(id)
            .execute(&mut *conn)
            .await?;
        sqlx::query("update accessory_stock set count = count + ? where id = ?")
            .bind(n)
            .bind(stock)
            .execute(&mut *conn)
            .await?;
        items.push(json!({"accessory": name, "out": out, "back": n}));
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

const LENT: &str =
    "select la.id, a.name, l.name as location, la.count_out, la.count_back from loan_accessory la
    join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
    join location l on l.id = s.location_id";

impl Store {
    /// Every accessory type with its counts, by name.
    pub async fn list_accessories(&self) -> Result<Vec<Accessory>, StoreError> {
        let types: Vec<(String, String, bool)> = sqlx::query_as(
            "select id, name, retired_at is not null from accessory order by name collate nocase",
        )
        .fetch_all(self.reader())
        .await?;
        let stock: Vec<(String, i64, String, i64)> = sqlx::query_as(
            "select s.accessory_id, s.id, l.name, s.count from accessory_stock s
             join location l on l.id = s.location_id order by l.name collate nocase",
        )
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

    /// Adds a type of accessory, with none anywhere yet.
    pub async fn create_accessory(&self, actor: Actor, name: String) -> Result<Uuid, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = Uuid::new_v4();
                let r = sqlx::query("insert into accessory (id, name, created_at) values (?, ?, ?)")
                    .bind(id.to_string())
                    .bind(&name)
                    .bind(time_text(now))
                    .execute(&mut *conn)
                    .await;
                match r {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(Invalid::one("name", format!("There is already an accessory called {name}. Change its counts below.")).into())
                    }
                    other => other?,
                };
                append(conn, &actor, "accessory.created", &subject(&id.to_string(), &name), json!({"name": name}), now).await?;
                Ok(id)
            })
        })
        .await
    }

    /// Changes the count of a type at a location (the location is made the first
    /// time its name is used), with the reason. Never below none.
    pub async fn adjust_accessory(
        &self,
        actor: Actor,
        id: Uuid,
        location: String,
        change: i64,
        reason: String,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let name: String = sqlx::query_scalar("select name from accessory where id = ?")
                    .bind(id.to_string())
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                let location_id = crate::locations::find_or_create(conn, &actor, &location, now).await?;
                let have: i64 = sqlx::query_scalar("select count from accessory_stock where accessory_id = ? and location_id = ?")
                    .bind(id.to_string())
                    .bind(location_id.to_string())
                    .fetch_optional(&mut *conn)
                    .await?
                    .unwrap_or(0);
                let after = accessory::adjust(have, change, &name, &location)
                    .map_err(|r| StoreError::from(Invalid::one("change", r.to_string())))?;
                sqlx::query("insert into accessory_stock (accessory_id, location_id, count) values (?, ?, ?)
                             on conflict (accessory_id, location_id) do update set count = excluded.count")
                    .bind(id.to_string())
                    .bind(location_id.to_string())
                    .bind(after)
                    .execute(&mut *conn)
                    .await?;
                append(conn, &actor, "accessory.adjusted", &subject(&id.to_string(), &name),
                    json!({"location": location, "from": have, "to": after, "reason": reason}), now).await?;
                Ok(())
            })
        })
        .await
    }

    /// Accessories not returned with a loan have turned up: they go back to the
    /// place they came from and are no longer listed as not returned.
    pub async fn accessory_found(&self, actor: Actor, lent: i64) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let row: Option<(i64, i64, String, String)> = sqlx::query_as(
                    "select la.stock_id, la.count_out - la.count_back, a.id, a.name from loan_accessory la
                     join accessory_stock s on s.id = la.stock_id join accessory a on a.id = s.accessory_id
                     where la.id = ? and la.returned_at is not null and la.count_back < la.count_out",
                )
                .bind(lent)
                .fetch_optional(&mut *conn)
                .await?;
                let (stock, missing, id, name) = row.ok_or(StoreError::NotFound)?;
                sqlx::query("update loan_accessory set count_back = count_out where id = ?")
                    .bind(lent)
                    .execute(&mut *conn)
                    .await?;
                sqlx::query("update accessory_stock set count = count + ? where id = ?")
                    .bind(missing)
                    .bind(stock)
                    .execute(&mut *conn)
                    .await?;
                append(conn, &actor, "accessory.found", &subject(&id, &name), json!({"count": missing}), now).await?;
                Ok(())
            })
        })
        .await
    }

    /// Renames a type of accessory; its counts, loans and history keep it.
    pub async fn rename_accessory(
        &self,
        actor: Actor,
        id: Uuid,
        name: String,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let old: String = sqlx::query_scalar("select name from accessory where id = ?")
                    .bind(id.to_string())
                    .fetch_optional(&mut *conn)
                    .await?
                    .ok_or(StoreError::NotFound)?;
                if old == name {
                    return Ok(());
                }
                let r = sqlx::query("update accessory set name = ? where id = ?")
                    .bind(&name)
                    .bind(id.to_string())
                    .execute(&mut *conn)
                    .await;
                match r {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(Invalid::one(
                            "rename",
                            format!(
                                "There is already an accessory called {name}. Choose another name."
                            ),
                        )
                        .into())
                    }
                    other => other?,
                };
                append(
                    conn,
                    &actor,
                    "accessory.renamed",
                    &subject(&id.to_string(), &name),
                    json!({"from": old, "to": name}),
                    now,
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Retires a type (no longer offered with a loan) or, with `retired` false, puts
    /// it back in use. Its counts, its history and any not returned stay.
    pub async fn retire_accessory(
        &self,
        actor: Actor,
        id: Uuid,
        retired: bool,
    ) -> Result<String, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let (name, was): (String, bool) = sqlx::query_as(
                    "select name, retired_at is not null from accessory where id = ?",
                )
                .bind(id.to_string())
                .fetch_optional(&mut *conn)
                .await?
                .ok_or(StoreError::NotFound)?;
                if was == retired {
                    return Ok(name);
                }
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
                    &actor,
                    action,
                    &subject(&id.to_string(), &name),
                    json!({"name": name}),
                    now,
                )
                .await?;
                Ok(name)
            })
        })
        .await
    }

    /// What can be taken with a loan: every type in use at every location with some left.
    pub async fn accessories_in_stock(&self) -> Result<Vec<Stock>, StoreError> {
        Ok(self
            .list_accessories()
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
               and (?1 is null or p.id = ?1) and (?2 is null or l.device_id = ?2)
             order by la.returned_at desc limit 200",
        )
        .bind(borrower.map(|b| b.to_string()))
        .bind(device.map(|d| d.to_string()))
        .fetch_all(self.reader())
        .await?)
    }
}
