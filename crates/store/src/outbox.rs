//! The email outbox: emails written in the same transaction as the change they are
//! about, read by the sender, and how each one ended.
//!
//! An email is waiting until it is sent, failed (tried as often as the schedule
//! allows, or refused for good: listed for the admins until one dismisses it) or
//! dropped (its moment passed before it could go). The rules that decide which come
//! from `kitroom_core::mail`; this module only records them.

use chrono::{DateTime, Duration, Utc};
use kitroom_core::mail::{self, MailKind};
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};

/// An email to put in the outbox.
pub(crate) struct Queued<'a> {
    pub to: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    pub kind: MailKind,
    /// The thread it joins in a mail program (see [`incident_thread`]).
    pub thread: Option<&'a str>,
    /// What a reminder is about: the time the loan falls due.
    pub moment: Option<DateTime<Utc>>,
}

/// The thread every email about one incident shares.
pub fn incident_thread(incident: Uuid) -> String {
    format!("incident.{incident}")
}

/// Puts an email in the outbox, due at once, inside the caller's transaction.
pub(crate) async fn queue_email(
    conn: &mut SqliteConnection,
    e: Queued<'_>,
    queued_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let send_by = mail::send_by(e.kind, queued_at, e.moment);
    sqlx::query(
        "insert into outbox (id, created_at, to_address, subject, body, next_attempt_at, kind, thread, send_by)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(time_text(queued_at))
    .bind(e.to)
    .bind(e.subject)
    .bind(e.body)
    .bind(time_text(queued_at))
    .bind(e.kind.as_str())
    .bind(e.thread)
    .bind(send_by.map(time_text))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An email waiting in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingEmail {
    pub id: String,
    pub created_at: DateTime<Utc>,
    pub to_address: String,
    pub subject: String,
    pub body: String,
    /// Tries so far.
    pub attempts: i64,
    pub kind: MailKind,
    pub thread: Option<String>,
    pub send_by: Option<DateTime<Utc>>,
}

/// An email Kitroom gave up on, for the admins' desk.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct UndeliveredEmail {
    pub id: String,
    pub to_address: String,
    pub subject: String,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub failed_at: String,
}

type Row = (
    String,
    String,
    String,
    String,
    String,
    i64,
    String,
    Option<String>,
    Option<String>,
);

impl Store {
    /// Emails due to be tried now, oldest first.
    pub async fn due_emails(
        &self,
        now: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutgoingEmail>, StoreError> {
        let rows: Vec<Row> = sqlx::query_as(
            "select id, created_at, to_address, subject, body, attempts, kind, thread, send_by from outbox
             where sent_at is null and failed_at is null and dropped_at is null and next_attempt_at <= ?
             order by next_attempt_at limit ?",
        )
        .bind(time_text(now))
        .bind(limit)
        .fetch_all(self.reader())
        .await?;
        rows.into_iter()
            .map(|r| {
                Ok(OutgoingEmail {
                    id: r.0,
                    created_at: parse_time(&r.1)?,
                    to_address: r.2,
                    subject: r.3,
                    body: r.4,
                    attempts: r.5,
                    kind: MailKind::parse(&r.6),
                    thread: r.7,
                    send_by: r.8.as_deref().map(parse_time).transpose()?,
                })
            })
            .collect()
    }

    /// How many emails are waiting to be sent (not sent, failed or dropped).
    pub async fn unsent_emails(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "select count(*) from outbox where sent_at is null and failed_at is null and dropped_at is null",
        )
        .fetch_one(self.reader())
        .await?)
    }

    pub async fn mark_email_sent(&self, id: String) -> Result<(), StoreError> {
        self.outbox_update(
            "update outbox set sent_at = ?, attempts = attempts + 1 where id = ?",
            id,
            None,
        )
        .await
    }

    /// Records a failed try; the next comes after `retry_in`.
    pub async fn mark_email_failed(
        &self,
        id: String,
        error: String,
        retry_in: Duration,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("update outbox set attempts = attempts + 1, last_error = ?, next_attempt_at = ? where id = ?")
                    .bind(error)
                    .bind(time_text(Utc::now() + retry_in))
                    .bind(id)
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }

    /// Records the last failed try: the email is not tried again, and the admins
    /// see it on their desk with `error`.
    pub async fn mark_email_given_up(&self, id: String, error: String) -> Result<(), StoreError> {
        self.outbox_update(
            "update outbox set attempts = attempts + 1, failed_at = ?, last_error = ? where id = ?",
            id,
            Some(error),
        )
        .await
    }

    /// Records that an email was dropped unsent: its moment had passed.
    pub async fn mark_email_dropped(&self, id: String) -> Result<(), StoreError> {
        self.outbox_update("update outbox set dropped_at = ? where id = ?", id, None)
            .await
    }

    /// Runs an update whose first parameter is the time now, then (when given)
    /// `text`, then the email's id.
    async fn outbox_update(
        &self,
        sql: &'static str,
        id: String,
        text: Option<String>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let mut q = sqlx::query(sql).bind(time_text(Utc::now()));
                if let Some(text) = text {
                    q = q.bind(text);
                }
                q.bind(id).execute(&mut *conn).await?;
                Ok(())
            })
        })
        .await
    }

    /// Emails Kitroom gave up on that no admin has dismissed, newest first.
    pub async fn undelivered_emails(&self) -> Result<Vec<UndeliveredEmail>, StoreError> {
        Ok(sqlx::query_as(
            "select id, to_address, subject, attempts, last_error, failed_at from outbox
             where failed_at is not null and dismissed_at is null order by failed_at desc limit 50",
        )
        .fetch_all(self.reader())
        .await?)
    }

    /// Takes a failed email off the admins' desk, recording who did and which email
    /// in the activity log. False when there is no such failed email still shown.
    pub async fn dismiss_undelivered_email(
        &self,
        actor: Actor,
        id: String,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let row: Option<(String, String)> = sqlx::query_as(
                    "select to_address, subject from outbox
                     where id = ? and failed_at is not null and dismissed_at is null",
                )
                .bind(&id)
                .fetch_optional(&mut *conn)
                .await?;
                let Some((recipient, subject)) = row else {
                    return Ok(false);
                };
                sqlx::query("update outbox set dismissed_at = ? where id = ?")
                    .bind(time_text(now))
                    .bind(&id)
                    .execute(&mut *conn)
                    .await?;
                append(
                    conn,
                    &actor,
                    "email.dismissed",
                    &Subject {
                        key: format!("email:{id}"),
                        label: subject.clone(),
                    },
                    json!({"recipient": recipient, "subject": subject}),
                    now,
                )
                .await?;
                Ok(true)
            })
        })
        .await
    }
}
