//! Notifications: the list of things each person is told in the app, and the
//! managers' emails through [`crate::outbox`]. Every area writes them through
//! [`notify_in`] (or [`notify_managers_in`]) inside its own transaction.

use chrono::{DateTime, Utc};
use kitroom_core::mail::MailKind;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{time_text, Store, StoreError};
use crate::outbox::{queue_email, Queued};

/// A notification in a person's list.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Notification {
    pub id: String,
    pub created_at: String,
    pub body: String,
    pub link: String,
    pub read: bool,
}

/// Puts a notification in one person's list, inside the caller's transaction.
pub async fn notify_in(
    conn: &mut SqliteConnection,
    person: Uuid,
    body: &str,
    link: &str,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into notification (id, person_id, created_at, body, link) values (?, ?, ?, ?, ?)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(person.to_string())
    .bind(time_text(now))
    .bind(body)
    .bind(link)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// An email to every active manager and admin who has an address.
#[derive(Debug, Clone, Copy)]
pub struct ManagersEmail<'a> {
    pub subject: &'a str,
    pub body: &'a str,
    pub kind: MailKind,
    /// The thread all emails about one thing share.
    pub thread: Option<&'a str>,
}

/// Tells every active manager and admin of `school`, and the trust's own staff, in
/// the app and (when they have an email address) by email through the outbox, inside
/// the caller's transaction.
pub async fn notify_managers_in(
    conn: &mut SqliteConnection,
    school: kitroom_core::school::SchoolId,
    body: &str,
    link: &str,
    email: ManagersEmail<'_>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let managers: Vec<(String, Option<String>)> = sqlx::query_as(
        "select p.id, p.email from person p
         left join membership m on m.person_id = p.id and m.school_id = ?
         where p.active = 1 and (p.trust_role is not null or m.role in ('manager', 'admin'))",
    )
    .bind(school.0)
    .fetch_all(&mut *conn)
    .await?;
    for (id, address) in managers {
        notify_in(conn, crate::db::parse_uuid(&id)?, body, link, now).await?;
        if let Some(address) = address.filter(|a| !a.is_empty()) {
            let queued = Queued {
                to: &address,
                subject: email.subject,
                body: email.body,
                kind: email.kind,
                thread: email.thread,
                moment: None,
            };
            queue_email(conn, queued, now).await?;
        }
    }
    Ok(())
}

impl Store {
    pub async fn unread_notifications(&self, person: Uuid) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "select count(*) from notification where person_id = ? and read_at is null",
        )
        .bind(person.to_string())
        .fetch_one(self.reader())
        .await?)
    }

    pub async fn notifications(
        &self,
        person: Uuid,
        limit: i64,
    ) -> Result<Vec<Notification>, StoreError> {
        Ok(sqlx::query_as(
            "select id, created_at, body, link, read_at is not null as read from notification where person_id = ?
             order by created_at desc limit ?",
        )
        .bind(person.to_string())
        .bind(limit)
        .fetch_all(self.reader())
        .await?)
    }

    pub async fn mark_notifications_read(&self, person: Uuid) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                Ok(sqlx::query(
                    "update notification set read_at = ? where person_id = ? and read_at is null",
                )
                .bind(time_text(Utc::now()))
                .bind(person.to_string())
                .execute(&mut *conn)
                .await?
                .rows_affected())
            })
        })
        .await
    }
}
