//! The throttle's memory: recent failed sign-ins by account and address, by account
//! and by address, in the `sign_in_failure` table so a restart does not clear it.
//! The rules (what counts, how long to wait) are [`kitroom_core::throttle`]'s; this
//! module only reads and writes the counts, and keeps the table small: stale rows go
//! as new failures arrive, and past [`MAX_ROWS`] the oldest go first.

use chrono::{DateTime, Utc};
use kitroom_core::throttle::{after_failure, Counts, Failures, Scope, KNOWN_FOR, KNOWN_PLACES};
use serde_json::json;
use sqlx::SqliteConnection;

use crate::db::{parse_time, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};

/// The most rows the table keeps (a few megabytes at most).
pub const MAX_ROWS: i64 = 10_000;

/// Which step of signing in failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    Password,
    Code,
}

/// Attempts refused without being checked (the throttle said wait, or the input was
/// longer than any that could be right), gathered into one event for a stretch of
/// time rather than one each.
#[derive(Debug, Clone)]
pub struct Refusals {
    /// `person.sign_in_throttled`, `person.two_factor_throttled` or
    /// `person.sign_in_too_long`.
    pub action: &'static str,
    /// The username typed, already cut to a bounded length.
    pub username: String,
    pub address: String,
    pub attempts: u64,
    pub from: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

fn key(scope: Scope, username: &str, address: &str) -> String {
    match scope {
        Scope::Pair => format!("{username}\n{address}"),
        Scope::Account => username.to_owned(),
        Scope::Address => address.to_owned(),
    }
}

fn anonymous() -> Actor {
    Actor {
        id: None,
        username: "anonymous".into(),
        school: None,
    }
}

type Row = (i64, String, String);

fn decode(row: Option<Row>) -> Result<Option<Failures>, StoreError> {
    row.map(|(count, since, last)| {
        Ok(Failures {
            count: u32::try_from(count).unwrap_or(u32::MAX),
            since: parse_time(&since)?,
            last: parse_time(&last)?,
        })
    })
    .transpose()
}

async fn read(
    conn: &mut SqliteConnection,
    scope: Scope,
    key: &str,
) -> Result<Option<Failures>, StoreError> {
    let row: Option<Row> = sqlx::query_as(
        "select count, since, last from sign_in_failure where scope = ? and key = ?",
    )
    .bind(scope.as_str())
    .bind(key)
    .fetch_optional(&mut *conn)
    .await?;
    decode(row)
}

/// Counts one more failure of `username` from `address` in all three scopes, and
/// keeps the table within bounds.
async fn count_failure(
    conn: &mut SqliteConnection,
    username: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    for scope in Scope::ALL {
        count_in(conn, scope, &key(scope, username, address), now).await?;
    }
    prune_in(conn, now).await
}

/// Counts one more under `scope` and `key`, by the throttle's rule
/// ([`after_failure`]); the caller prunes afterwards ([`prune_in`]).
pub(crate) async fn count_in(
    conn: &mut SqliteConnection,
    scope: Scope,
    key: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let before = read(conn, scope, key).await?;
    let after = after_failure(scope, before, now);
    sqlx::query(
        "insert into sign_in_failure (scope, key, count, since, last, forget_at)
         values (?, ?, ?, ?, ?, ?)
         on conflict (scope, key) do update set count = excluded.count,
           since = excluded.since, last = excluded.last, forget_at = excluded.forget_at",
    )
    .bind(scope.as_str())
    .bind(key)
    .bind(i64::from(after.count))
    .bind(time_text(after.since))
    .bind(time_text(after.last))
    .bind(time_text(after.forget_at(scope)))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Drops stale counts, and the oldest past [`MAX_ROWS`].
pub(crate) async fn prune_in(
    conn: &mut SqliteConnection,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("delete from sign_in_failure where forget_at <= ?")
        .bind(time_text(now))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "delete from sign_in_failure where rowid in
           (select rowid from sign_in_failure order by last desc limit -1 offset ?)",
    )
    .bind(MAX_ROWS)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Reads the count under `scope` and `key`.
pub(crate) async fn read_in(
    conn: &mut SqliteConnection,
    scope: Scope,
    key: &str,
) -> Result<Option<Failures>, StoreError> {
    read(conn, scope, key).await
}

/// The account's own subject when it exists, otherwise the name as typed.
async fn subject_for(conn: &mut SqliteConnection, username: &str) -> Result<Subject, StoreError> {
    let person: Option<(String, String)> =
        sqlx::query_as("select id, username from person where username = ? collate nocase")
            .bind(username)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(match person {
        Some((id, name)) => Subject {
            key: format!("person:{id}"),
            label: name,
        },
        None => Subject {
            key: format!("login:{username}"),
            label: username.to_owned(),
        },
    })
}

impl Store {
    /// The recent failures that bear on `username` signing in from `address`.
    pub async fn sign_in_counts(
        &self,
        username: &str,
        address: &str,
    ) -> Result<Counts, StoreError> {
        let mut conn = self.reader().acquire().await?;
        let known_place: bool = sqlx::query_scalar(
            "select exists (select 1 from sign_in_known where username = ? and address = ? and last > ?)",
        )
        .bind(username)
        .bind(address)
        .bind(time_text(Utc::now() - KNOWN_FOR))
        .fetch_one(&mut *conn)
        .await?;
        Ok(Counts {
            pair: read(&mut conn, Scope::Pair, &key(Scope::Pair, username, address)).await?,
            account: read(&mut conn, Scope::Account, username).await?,
            address: read(&mut conn, Scope::Address, address).await?,
            known_place,
        })
    }

    /// Records a failed sign-in (a wrong password, or a wrong code at the second
    /// step) in the activity log and in the throttle's counts, together.
    /// `username` and `address` must already be bounded (the web layer refuses longer
    /// usernames before any work).
    pub async fn record_sign_in_failed(
        &self,
        step: Step,
        username: String,
        address: String,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let subject = subject_for(conn, &username).await?;
                let action = match step {
                    Step::Password => "person.sign_in_failed",
                    Step::Code => "person.two_factor_failed",
                };
                append(
                    conn,
                    &anonymous(),
                    action,
                    &subject,
                    json!({"address": address, "username": username}),
                    now,
                )
                .await?;
                count_failure(conn, &username, &address, now).await
            })
        })
        .await
    }

    /// Records attempts refused without being checked, as one event with their
    /// number.
    pub async fn record_sign_in_refusals(&self, r: Refusals) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let subject = subject_for(conn, &r.username).await?;
                append(
                    conn,
                    &anonymous(),
                    r.action,
                    &subject,
                    json!({
                        "address": r.address,
                        "username": r.username,
                        "attempts": r.attempts,
                        "from": time_text(r.from),
                        "until": time_text(r.until),
                    }),
                    Utc::now(),
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// How many rows the throttle keeps (for tests and the operator).
    pub async fn sign_in_failure_rows(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("select count(*) from sign_in_failure")
            .fetch_one(self.reader())
            .await?)
    }
}

/// `username` has just signed in from `address`, password and second step alike:
/// forgets their failures from there, and keeps the address as one of the
/// account's known places (only its latest [`KNOWN_PLACES`], and none older than
/// [`KNOWN_FOR`]).
pub(crate) async fn signed_in_from(
    conn: &mut SqliteConnection,
    username: &str,
    address: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query("delete from sign_in_failure where scope = 'pair' and key = ?")
        .bind(key(Scope::Pair, username, address))
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "insert into sign_in_known (username, address, last) values (?, ?, ?)
         on conflict (username, address) do update set last = excluded.last",
    )
    .bind(username)
    .bind(address)
    .bind(time_text(now))
    .execute(&mut *conn)
    .await?;
    sqlx::query(
        "delete from sign_in_known where username = ? and address not in
         (select address from sign_in_known where username = ? order by last desc limit ?)",
    )
    .bind(username)
    .bind(username)
    .bind(i64::from(KNOWN_PLACES))
    .execute(&mut *conn)
    .await?;
    sqlx::query("delete from sign_in_known where last <= ?")
        .bind(time_text(now - KNOWN_FOR))
        .execute(&mut *conn)
        .await?;
    Ok(())
}
