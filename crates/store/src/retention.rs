//! Retention and erasure (UK GDPR): once the school's retention period has passed
//! since a person left (was deactivated), their personal details are anonymised.
//!
//! What changes: the person's name, username, email and position become a
//! pseudonym (`former-1a2b3c4d`, "Former person 1a2b3c4d"); their password, sessions,
//! API tokens, two-step sign-in, notifications and unsent email go; the name and
//! position typed in their policy signatures are replaced; and in the activity log,
//! every version 2 event that names them has that text replaced (see
//! [`kitroom_core::event`]: the chain covers only a salted digest of it, so the chain
//! still verifies). What stays: the person's row and id, so loans, incidents and
//! device histories keep their shape and their counts.
//!
//! The anonymisation itself is recorded as a `person.anonymised` event listing the
//! events it redacted; `kitroom check` accepts a redacted event only when such an
//! event lists it. Events written before migration 0006 (version 1) hash the text
//! directly and are left as they are: the event says how many.
//!
//! A person with a device still on loan is not anonymised until it is returned.

use chrono::{DateTime, Months, Utc};
use serde_json::{json, Value};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_uuid, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject, ANONYMISED};

/// What stands for an anonymised person.
fn pseudonym(id: Uuid) -> (String, String) {
    let short = &id.simple().to_string()[..8];
    (format!("former-{short}"), format!("Former person {short}"))
}

/// Replaces, anywhere in `v`, a string equal (ignoring case) to one of `names` with
/// `to`; and, when `about_them`, network addresses with "removed". True when
/// anything changed.
fn scrub(v: &mut Value, names: &[String], to: &str, about_them: bool) -> bool {
    match v {
        Value::String(s) if names.iter().any(|n| n.eq_ignore_ascii_case(s)) => {
            *s = to.to_owned();
            true
        }
        Value::Object(map) => {
            let mut changed = false;
            for (k, v) in map.iter_mut() {
                if about_them && k == "address" && v.is_string() {
                    *v = json!("removed");
                    changed = true;
                } else {
                    changed |= scrub(v, names, to, about_them);
                }
            }
            changed
        }
        Value::Array(items) => items
            .iter_mut()
            .fold(false, |c, v| scrub(v, names, to, about_them) | c),
        _ => false,
    }
}

#[derive(sqlx::FromRow)]
struct Leaver {
    id: String,
    username: String,
    full_name: String,
    email: Option<String>,
    position: String,
    left_at: String,
}

/// Events that may name a person: by them, about them, or with their username or
/// full name in the details. Binds: id, `person:<id>`, two `like` patterns.
const NAMES_THEM: &str =
    "(actor_id = ? or subject = ? or details like ? escape '\\' or details like ? escape '\\')";

fn like(s: &str) -> String {
    format!(
        "%{}%",
        s.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// The events found by searching the whole log, up to `searched_to`.
struct Found {
    candidates: Vec<i64>,
    searched_to: i64,
}

/// Anonymises one person inside the caller's transaction; returns how many events
/// were redacted.
async fn anonymise(
    conn: &mut SqliteConnection,
    p: &Leaver,
    found: &Found,
    keep_months: u32,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let id = parse_uuid(&p.id)?;
    let (username, full_name) = pseudonym(id);
    let at = time_text(now);
    sqlx::query(
        "update person set username = ?, full_name = ?, email = null, position = '', password_hash = null, oidc_issuer = null, oidc_subject = null,
            anonymised_at = ?, updated_at = ? where id = ?",
    )
    .bind(&username)
    .bind(&full_name)
    .bind(&at)
    .bind(&at)
    .bind(&p.id)
    .execute(&mut *conn)
    .await?;
    for sql in [
        "delete from session where person_id = ?",
        "delete from api_token where person_id = ?",
        "delete from recovery_code where person_id = ?",
        "delete from two_factor where person_id = ?",
        "delete from notification where person_id = ?",
    ] {
        sqlx::query(sql).bind(&p.id).execute(&mut *conn).await?;
    }
    if let Some(email) = &p.email {
        sqlx::query("delete from outbox where to_address = ? collate nocase and sent_at is null")
            .bind(email)
            .execute(&mut *conn)
            .await?;
    }
    sqlx::query("update signature set full_name = ?, position = '' where person_id = ?")
        .bind(&full_name)
        .bind(&p.id)
        .execute(&mut *conn)
        .await?;

    // The activity log: version 2 events that name them, by id or by name. The
    // whole log was searched before this transaction, on a reader, so the writer is
    // not held for a scan; here only those events and any written since are read.
    let mut names = vec![p.username.clone(), p.full_name.clone()];
    names.extend(p.email.clone());
    if p.position.chars().count() >= 3 {
        names.push(p.position.clone());
    }
    let subject_key = format!("person:{}", p.id);
    let rows: Vec<(i64, String, String, String, String, Option<String>)> =
        sqlx::query_as(&format!(
            "select seq, actor, subject, subject_label, details, actor_id from event
         where hash_version = 2 and salt is not null
           and (seq in (select value from json_each(?)) or (seq > ? and {NAMES_THEM}))
         order by seq"
        ))
        .bind(serde_json::to_string(&found.candidates).unwrap_or_else(|_| "[]".into()))
        .bind(found.searched_to)
        .bind(&p.id)
        .bind(&subject_key)
        .bind(like(&p.username))
        .bind(like(&p.full_name))
        .fetch_all(&mut *conn)
        .await?;
    let mut redacted = Vec::new();
    for (seq, actor, subject, label, details, actor_id) in rows {
        let about_them = subject == subject_key;
        let by_them = actor_id.as_deref() == Some(p.id.as_str());
        let new_actor = if by_them || names.iter().any(|n| n.eq_ignore_ascii_case(&actor)) {
            username.clone()
        } else {
            actor.clone()
        };
        let new_label = if about_them || names.iter().any(|n| n.eq_ignore_ascii_case(&label)) {
            username.clone()
        } else {
            label.clone()
        };
        let mut json: Value = serde_json::from_str(&details).unwrap_or(Value::Null);
        let changed_details = scrub(&mut json, &names, &username, about_them);
        let new_details = if changed_details {
            json.to_string()
        } else {
            details.clone()
        };
        if new_actor == actor && new_label == label && !changed_details {
            continue;
        }
        sqlx::query(
            "update event set actor = ?, subject_label = ?, details = ?, salt = null where seq = ?",
        )
        .bind(&new_actor)
        .bind(&new_label)
        .bind(&new_details)
        .bind(seq)
        .execute(&mut *conn)
        .await?;
        redacted.push(seq);
    }
    let version_1: i64 = sqlx::query_scalar(
        "select count(*) from event where hash_version = 1 and (actor_id = ? or subject = ?)",
    )
    .bind(&p.id)
    .bind(&subject_key)
    .fetch_one(&mut *conn)
    .await?;
    append(
        conn,
        &Actor::system(),
        ANONYMISED,
        &Subject {
            key: subject_key,
            label: username,
        },
        json!({
            "left_at": p.left_at,
            "kept_months": keep_months,
            "redacted_events": redacted,
            "older_events_kept": version_1,
        }),
        now,
    )
    .await?;
    Ok(redacted.len())
}

impl Store {
    /// Anonymises everyone who left more than `keep_months` months before `now` and
    /// has nothing on loan, each in its own transaction with its event. Returns how
    /// many people were anonymised. `keep_months` of 0 keeps everyone.
    pub async fn anonymise_leavers(
        &self,
        keep_months: u32,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        if keep_months == 0 {
            return Ok(0);
        }
        let Some(cutoff) = now.checked_sub_months(Months::new(keep_months)) else {
            return Ok(0);
        };
        let due: Vec<Leaver> = sqlx::query_as(
            "select id, username, full_name, email, position, left_at from person p
             where active = 0 and anonymised_at is null and left_at is not null and left_at <= ?
               and not exists (select 1 from loan l where l.borrower_id = p.id and l.returned_at is null)
             order by left_at limit 100",
        )
        .bind(time_text(cutoff))
        .fetch_all(self.reader())
        .await?;
        let mut done = 0;
        for leaver in due {
            let searched_to: i64 = sqlx::query_scalar("select coalesce(max(seq), 0) from event")
                .fetch_one(self.reader())
                .await?;
            let candidates: Vec<i64> = sqlx::query_scalar(&format!(
                "select seq from event where hash_version = 2 and salt is not null and seq <= ? and {NAMES_THEM}"
            ))
            .bind(searched_to)
            .bind(&leaver.id)
            .bind(format!("person:{}", leaver.id))
            .bind(like(&leaver.username))
            .bind(like(&leaver.full_name))
            .fetch_all(self.reader())
            .await?;
            let found = Found {
                candidates,
                searched_to,
            };
            let redacted = self
                .write(move |conn| {
                    Box::pin(async move {
                        // Still due? (Reactivated since the list was read, say.)
                        let still: Option<(i64,)> = sqlx::query_as(
                            "select 1 from person where id = ? and active = 0 and anonymised_at is null",
                        )
                        .bind(&leaver.id)
                        .fetch_optional(&mut *conn)
                        .await?;
                        if still.is_none() {
                            return Ok(None);
                        }
                        anonymise(conn, &leaver, &found, keep_months, now)
                            .await
                            .map(Some)
                    })
                })
                .await?;
            if let Some(n) = redacted {
                tracing::info!(events = n, "a person who left was anonymised");
                done += 1;
            }
        }
        Ok(done)
    }
}
