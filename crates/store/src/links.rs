//! One-time links (invitations and password resets) in the `one_time_link` table:
//! only each token's hash, what it is for, whose it is, and when it was made, runs
//! out and was used. The rules are `kitroom_core::one_time`'s; this module only
//! reads and writes the rows, and the counts the reset throttle keeps.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use kitroom_core::mail::MailKind;
use kitroom_core::one_time::{LinkState, Purpose};
use kitroom_core::throttle::{Failures, Scope};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, time_text, Store, StoreError};

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub purpose: Purpose,
    pub person_id: Uuid,
    /// Who sent an invitation (empty for a reset).
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

impl Link {
    /// What the rule needs.
    pub fn state(&self) -> LinkState {
        LinkState {
            purpose: self.purpose,
            expires_at: self.expires_at,
            used: self.used_at.is_some(),
        }
    }
}

type Row = (String, String, String, String, String, Option<String>);

fn decode(r: Row) -> Result<Link, StoreError> {
    let (purpose, person, by, created, expires, used) = r;
    Ok(Link {
        purpose: Purpose::parse(&purpose)
            .ok_or_else(|| StoreError::Corrupt(format!("unknown link purpose {purpose:?}")))?,
        person_id: parse_uuid(&person)?,
        created_by: by,
        created_at: parse_time(&created)?,
        expires_at: parse_time(&expires)?,
        used_at: used.as_deref().map(parse_time).transpose()?,
    })
}

const COLUMNS: &str = "purpose, person_id, created_by, created_at, expires_at, used_at";

/// Writes a new link (its token's hash), voiding the person's earlier unused links of
/// the same purpose: only the newest one sent works.
#[allow(clippy::too_many_arguments)]
pub async fn insert_link_in(
    conn: &mut SqliteConnection,
    token_hash: &str,
    purpose: Purpose,
    person: Uuid,
    created_by: &str,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update one_time_link set used_at = ?, voided = 1
         where person_id = ? and purpose = ? and used_at is null",
    )
    .bind(time_text(now))
    .bind(person.to_string())
    .bind(purpose.as_str())
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "insert into one_time_link (token_hash, purpose, person_id, created_by, created_at, expires_at)
         values (?, ?, ?, ?, ?, ?)",
    )
    .bind(token_hash)
    .bind(purpose.as_str())
    .bind(person.to_string())
    .bind(created_by)
    .bind(time_text(now))
    .bind(time_text(expires_at))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The link with this token hash, inside the caller's transaction.
pub async fn link_in(
    conn: &mut SqliteConnection,
    token_hash: &str,
) -> Result<Option<Link>, StoreError> {
    let row: Option<Row> = sqlx::query_as(&format!(
        "select {COLUMNS} from one_time_link where token_hash = ?"
    ))
    .bind(token_hash)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(decode).transpose()
}

/// Marks the link used at `now`; false when it already was (a race lost).
pub async fn mark_used_in(
    conn: &mut SqliteConnection,
    token_hash: &str,
    now: DateTime<Utc>,
) -> Result<bool, StoreError> {
    Ok(
        sqlx::query(
            "update one_time_link set used_at = ? where token_hash = ? and used_at is null",
        )
        .bind(time_text(now))
        .bind(token_hash)
        .execute(&mut *conn)
        .await?
        .rows_affected()
            == 1,
    )
}

/// Puts a link's email in the outbox (an account email: sent however late).
pub async fn queue_link_email_in(
    conn: &mut SqliteConnection,
    to: &str,
    subject: &str,
    body: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let email = crate::outbox::Queued {
        to,
        subject,
        body,
        kind: MailKind::Account,
        thread: None,
        moment: None,
    };
    crate::outbox::queue_email(conn, email, now).await
}

/// The reset throttle's keys in the sign-in throttle's table, apart from sign-in's.
fn reset_key(what: &str) -> String {
    format!("reset\n{what}")
}

/// Recent reset requests from `address` and, when given, to the account `person`.
pub async fn reset_counts_in(
    conn: &mut SqliteConnection,
    address: &str,
    person: Option<Uuid>,
) -> Result<(Option<Failures>, Option<Failures>), StoreError> {
    let address = crate::throttle::read_in(conn, Scope::Address, &reset_key(address)).await?;
    let account = match person {
        Some(p) => {
            crate::throttle::read_in(conn, Scope::Account, &reset_key(&p.to_string())).await?
        }
        None => None,
    };
    Ok((address, account))
}

/// Counts one reset request from `address` and, when given, one reset email to the
/// account `person`.
pub async fn count_reset_in(
    conn: &mut SqliteConnection,
    address: &str,
    person: Option<Uuid>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    crate::throttle::count_in(conn, Scope::Address, &reset_key(address), now).await?;
    if let Some(p) = person {
        crate::throttle::count_in(conn, Scope::Account, &reset_key(&p.to_string()), now).await?;
    }
    crate::throttle::prune_in(conn, now).await
}

/// The active person whose username is `typed` (case ignored) or, failing that, the
/// one active person whose email address it is (none when several share it).
pub async fn person_for_reset_in(
    conn: &mut SqliteConnection,
    typed: &str,
) -> Result<Option<crate::people::Person>, StoreError> {
    if let Some(p) = crate::people::account_by_username_in(conn, typed).await? {
        return Ok(p.active.then_some(p));
    }
    let ids: Vec<String> = sqlx::query_scalar(
        "select id from person where active = 1 and email = ? collate nocase limit 2",
    )
    .bind(typed.trim())
    .fetch_all(&mut *conn)
    .await?;
    match ids.as_slice() {
        [one] => Ok(Some(
            crate::people::get_account(conn, parse_uuid(one)?).await?,
        )),
        _ => Ok(None),
    }
}

/// Active people with an email address and no password who were never sent an
/// invitation (brought in by an import, say), by name.
pub async fn never_invited_in(
    conn: &mut SqliteConnection,
    school: kitroom_core::school::SchoolId,
) -> Result<Vec<crate::people::Person>, StoreError> {
    let ids: Vec<String> = sqlx::query_scalar(
        "select id from person p
         where active = 1
           and exists (select 1 from membership m where m.person_id = p.id and m.school_id = ?) and password_hash is null and trim(coalesce(email, '')) <> ''
           and not exists (select 1 from one_time_link l where l.person_id = p.id and l.purpose = 'invite')
         order by full_name collate nocase",
    )
    .bind(school.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut people = Vec::with_capacity(ids.len());
    for id in ids {
        people.push(crate::people::get_person(conn, school, parse_uuid(&id)?).await?);
    }
    Ok(people)
}

impl Store {
    /// The link with this token hash.
    pub async fn link(&self, token_hash: &str) -> Result<Option<Link>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        link_in(&mut conn, token_hash).await
    }

    /// People invited who have not accepted yet (no password set), with when their
    /// latest invitation was sent.
    pub async fn open_invitations(&self) -> Result<HashMap<Uuid, DateTime<Utc>>, StoreError> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "select l.person_id, max(l.created_at) from one_time_link l
             join person p on p.id = l.person_id
             where l.purpose = 'invite' and p.password_hash is null
             group by l.person_id",
        )
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|(id, at)| Ok((parse_uuid(&id)?, parse_time(&at)?)))
            .collect()
    }
}
