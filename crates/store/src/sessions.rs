//! Server-side login sessions, stored for `tower-sessions`.
//!
//! The session machinery (ids, cookies, expiry) is the crate's; this module only
//! keeps the records. Ids are kept as SHA-256 hashes so a stolen copy of the database
//! does not give live sessions, and each record names its person so that deactivating
//! an account can end all of that person's sessions in one statement.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::db::{Actor, Store, StoreError};
use crate::events::{append, Subject};

/// What signing out everywhere else ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedOutElsewhere {
    pub sessions: u64,
    pub tokens: u64,
}

/// A stored session.
#[derive(Debug, Clone)]
pub struct SessionRow {
    pub data: String,
    pub expires_at: i64,
}

impl Store {
    pub async fn load_session(
        &self,
        id_hash: &str,
        now_unix: i64,
    ) -> Result<Option<SessionRow>, StoreError> {
        let row: Option<(String, i64)> = sqlx::query_as(
            "select data, expires_at from session where id_hash = ? and expires_at > ?",
        )
        .bind(id_hash)
        .bind(now_unix)
        .fetch_optional(self.reader())
        .await?;
        Ok(row.map(|(data, expires_at)| SessionRow { data, expires_at }))
    }

    /// Inserts or replaces a session. With `only_if_new`, an id already in use is left
    /// alone and `false` is returned, so the caller can pick another.
    pub async fn save_session(
        &self,
        id_hash: String,
        person: Option<Uuid>,
        data: String,
        expires_at: i64,
        only_if_new: bool,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let sql = if only_if_new {
                    "insert into session (id_hash, person_id, data, expires_at) values (?, ?, ?, ?) on conflict do nothing"
                } else {
                    "insert into session (id_hash, person_id, data, expires_at) values (?, ?, ?, ?)
                     on conflict (id_hash) do update set person_id = excluded.person_id, data = excluded.data, expires_at = excluded.expires_at"
                };
                let done = sqlx::query(sql)
                    .bind(id_hash)
                    .bind(person.map(|p| p.to_string()))
                    .bind(data)
                    .bind(expires_at)
                    .execute(&mut *conn)
                    .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    pub async fn delete_session(&self, id_hash: String) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("delete from session where id_hash = ?")
                    .bind(id_hash)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// A person's sessions that have not expired, as `(id_hash, data)`: the data is
    /// the session's JSON, which holds when it signed in, was last seen, and from
    /// which browser and address.
    pub async fn list_sessions(
        &self,
        person: Uuid,
        now_unix: i64,
    ) -> Result<Vec<(String, String)>, StoreError> {
        Ok(sqlx::query_as(
            "select id_hash, data from session where person_id = ? and expires_at > ?",
        )
        .bind(person.to_string())
        .bind(now_unix)
        .fetch_all(self.reader())
        .await?)
    }

    /// Ends one of a person's sessions (only theirs: the id hash alone is not
    /// enough), with a `person.session_ended` event. False when there was no such
    /// session.
    pub async fn end_session(
        &self,
        actor: Actor,
        subject: Subject,
        person: Uuid,
        id_hash: String,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let ended = sqlx::query("delete from session where person_id = ? and id_hash = ?")
                    .bind(person.to_string())
                    .bind(&id_hash)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                if ended == 0 {
                    return Ok(false);
                }
                append(
                    conn,
                    &actor,
                    "person.session_ended",
                    &subject,
                    json!({"sessions_ended": ended}),
                    Utc::now(),
                )
                .await?;
                Ok(true)
            })
        })
        .await
    }

    /// Signs a person out everywhere but `keep` (the one asking): ends their other
    /// sessions and revokes their API tokens, with a `person.session_ended` event.
    pub async fn end_other_sessions(
        &self,
        actor: Actor,
        subject: Subject,
        person: Uuid,
        keep: String,
    ) -> Result<SignedOutElsewhere, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let sessions = sqlx::query("delete from session where person_id = ? and id_hash <> ?")
                    .bind(person.to_string())
                    .bind(&keep)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected();
                let tokens = crate::revocation::revoke_all(conn, person, now).await?;
                if sessions > 0 || tokens > 0 {
                    append(
                        conn,
                        &actor,
                        "person.session_ended",
                        &subject,
                        json!({"sessions_ended": sessions, "all_others": true, "tokens_revoked": tokens}),
                        now,
                    )
                    .await?;
                }
                Ok(SignedOutElsewhere { sessions, tokens })
            })
        })
        .await
    }

    /// Removes sessions that have expired. Run now and then; returns how many went.
    pub async fn delete_expired_sessions(&self, now_unix: i64) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                Ok(sqlx::query("delete from session where expires_at <= ?")
                    .bind(now_unix)
                    .execute(&mut *conn)
                    .await?
                    .rows_affected())
            })
        })
        .await
    }
}
