//! The activity log: appended to inside every write transaction, read by managers,
//! verified by `kitroom check`.

use chrono::{DateTime, Utc};
use kitroom_core::event::{
    event_hash_v2, personal_hash, ChainBreak, ChainVerifier, EventRecord, GENESIS_HASH,
};
use kitroom_core::school::SchoolId;
use serde_json::Value;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

use crate::db::{time_text, Actor, Batch, Store, StoreError};

/// What an event happened to.
#[derive(Debug, Clone)]
pub struct Subject {
    /// `device:<id>`, `person:<id>`, `location:<id>`, `school:<id>`, `token:<id>`, `system`.
    pub key: String,
    /// Its human name at the time: a tag, a username, a location's name.
    pub label: String,
}

impl Subject {
    pub fn device(id: Uuid, tag: &str) -> Subject {
        Subject {
            key: format!("device:{id}"),
            label: tag.to_owned(),
        }
    }
    pub fn person(id: Uuid, username: &str) -> Subject {
        Subject {
            key: format!("person:{id}"),
            label: username.to_owned(),
        }
    }
    pub fn location(id: Uuid, name: &str) -> Subject {
        Subject {
            key: format!("location:{id}"),
            label: name.to_owned(),
        }
    }

    pub fn school(id: SchoolId, slug: &str) -> Subject {
        Subject {
            key: format!("school:{id}"),
            label: slug.to_owned(),
        }
    }
}

/// Appends one event, linked to the last. Call it inside the transaction that makes
/// the change, so the two commit together or not at all.
pub async fn append(
    conn: &mut SqliteConnection,
    actor: &Actor,
    action: &str,
    subject: &Subject,
    details: Value,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    append_after(conn, Batch::default(), actor, action, subject, details, now).await
}

/// Runs `change` and appends the event that records it, in one round trip: the
/// event is written only if every statement of the change succeeded, and a change
/// that fails leaves the chain as it was. The change's own error comes back (a
/// unique index's refusal, say).
pub async fn append_after(
    conn: &mut SqliteConnection,
    change: Batch,
    actor: &Actor,
    action: &str,
    subject: &Subject,
    details: Value,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    // Inside a group of writes the writer knows the head: the previous append of
    // the group wrote it (see `db::ChainHead`).
    let last = match crate::db::ChainHead::known() {
        Some(head) => Some(head),
        None => {
            sqlx::query_as("select seq, hash from event order by seq desc limit 1")
                .fetch_optional(&mut *conn)
                .await?
        }
    };
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS_HASH.to_owned()),
    };
    let at = time_text(now);
    let details = details.to_string();
    // Version 2: the personal text (who, the subject's name, the details) is hashed
    // apart with a random salt, so it can be erased later without breaking the chain.
    let salt = Uuid::new_v4().simple().to_string();
    let personal = personal_hash(&salt, &actor.username, &subject.label, &details);
    let hash = event_hash_v2(&prev_hash, seq, &at, action, &subject.key, &personal);
    let about = |kind: &str| subject.key.strip_prefix(kind).map(str::to_owned);
    change
        .then(
            "insert into event (seq, at, actor_id, actor, action, subject, subject_label, details, prev_hash, hash, hash_version, salt, personal_hash, school_id)
             values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 2, ?, ?, coalesce(?, ?,
                 (select school_id from device where id = ?),
                 (select school_id from location where id = ?),
                 (select min(school_id) from membership where person_id = ?),
                 (select min(id) from school having count(*) = 1)))",
        )
        .bind(seq)
        .bind(at)
        .bind(actor.id.map(|id| id.to_string()))
        .bind(actor.username.clone())
        .bind(action.to_owned())
        .bind(subject.key.clone())
        .bind(subject.label.clone())
        .bind(details)
        .bind(prev_hash)
        .bind(hash.clone())
        .bind(salt)
        .bind(personal)
        // The school: the actor's, else that of what the event is about, else the
        // only school there is; with several, none (the whole deployment's).
        .bind(actor.school.map(|s| s.0))
        .bind(about("school:").and_then(|s| s.parse::<i64>().ok()))
        .bind(about("device:"))
        .bind(about("location:"))
        .bind(about("person:"))
        .execute(&mut *conn)
        .await?;
    crate::db::ChainHead::wrote(seq, hash);
    Ok(seq)
}

/// One event as the log page and the API show it.
#[derive(Debug, Clone, sqlx::FromRow, serde::Serialize)]
pub struct Event {
    pub seq: i64,
    pub at: String,
    pub actor: String,
    pub action: String,
    pub subject: String,
    pub subject_label: String,
    pub details: String,
    /// The school it happened in; `None` for the whole deployment's own events.
    /// Read by the trust's view of the log only.
    #[sqlx(default)]
    #[serde(skip)]
    pub school_id: Option<i64>,
}

impl Event {
    /// The details, parsed; an empty object if they do not parse.
    pub fn details_json(&self) -> Value {
        serde_json::from_str(&self.details).unwrap_or(Value::Null)
    }
}

/// Which events to show.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    /// The school's events only; every event when `None` (the command line).
    pub school: Option<SchoolId>,
    /// Events done by, or done to, this person.
    pub person: Option<Uuid>,
    /// Events about this device.
    pub device: Option<Uuid>,
    /// Events at or after this instant.
    pub from: Option<DateTime<Utc>>,
    /// Events before this instant.
    pub until: Option<DateTime<Utc>>,
    /// Only events before this sequence number (the next page, newest first).
    pub before: Option<i64>,
    pub limit: i64,
}

fn push_filter(qb: &mut QueryBuilder<'_, Sqlite>, f: &EventFilter) {
    qb.push(" where 1 = 1");
    if let Some(school) = f.school {
        // With a person or a device named, their index drives (`+` keeps SQLite
        // from starting at the school's); otherwise the school's own.
        let column = if f.person.is_some() || f.device.is_some() {
            " and +school_id = "
        } else {
            " and school_id = "
        };
        qb.push(column).push_bind(school.0);
    }
    if let Some(p) = f.person {
        qb.push(" and (actor_id = ").push_bind(p.to_string());
        qb.push(" or subject = ")
            .push_bind(format!("person:{p}"))
            .push(")");
    }
    if let Some(d) = f.device {
        qb.push(" and subject = ").push_bind(format!("device:{d}"));
    }
    if let Some(from) = f.from {
        qb.push(" and at >= ").push_bind(time_text(from));
    }
    if let Some(until) = f.until {
        qb.push(" and at < ").push_bind(time_text(until));
    }
}

/// Every stored field of an event, for checking the chain (on either engine).
#[derive(sqlx::FromRow)]
pub(crate) struct ChainRow {
    seq: i64,
    at: String,
    actor: String,
    action: String,
    subject: String,
    subject_label: String,
    details: String,
    prev_hash: String,
    hash: String,
    hash_version: i64,
    salt: Option<String>,
    personal_hash: Option<String>,
}

impl From<ChainRow> for EventRecord {
    fn from(r: ChainRow) -> Self {
        EventRecord {
            seq: r.seq,
            at: r.at,
            actor: r.actor,
            action: r.action,
            subject: r.subject,
            subject_label: r.subject_label,
            details: r.details,
            prev_hash: r.prev_hash,
            hash: r.hash,
            hash_version: r.hash_version,
            salt: r.salt,
            personal_hash: r.personal_hash,
        }
    }
}

/// The events an anonymisation's details (`redacted_events`) say it redacted.
pub(crate) fn redacted_by(details: &str) -> Vec<i64> {
    let details: Value = serde_json::from_str(details).unwrap_or(Value::Null);
    details["redacted_events"]
        .as_array()
        .map(|seqs| seqs.iter().filter_map(Value::as_i64).collect())
        .unwrap_or_default()
}

/// The action of the event that records an anonymisation; its details list the
/// events it redacted under `redacted_events`.
pub const ANONYMISED: &str = "person.anonymised";

impl Store {
    /// A page of the log, newest first.
    pub async fn list_events(&self, f: &EventFilter) -> Result<Vec<Event>, StoreError> {
        let mut qb = QueryBuilder::new(
            "select seq, at, actor, action, subject, subject_label, details, school_id from event",
        );
        push_filter(&mut qb, f);
        if let Some(b) = f.before {
            qb.push(" and seq < ").push_bind(b);
        }
        qb.push(" order by seq desc limit ")
            .push_bind(f.limit.clamp(1, 1000));
        Ok(qb.build_query_as().fetch_all(self.reader()).await?)
    }

    /// The events of `school` after `after`, oldest first: the API's feed.
    pub async fn events_after(
        &self,
        school: SchoolId,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Event>, StoreError> {
        Ok(sqlx::query_as(
            "select seq, at, actor, action, subject, subject_label, details from event
             where school_id = ? and seq > ? order by seq limit ?",
        )
        .bind(school.0)
        .bind(after)
        .bind(limit.clamp(1, 1000))
        .fetch_all(self.reader())
        .await?)
    }

    /// Walks the whole log in order, in batches, and checks every link of the chain.
    /// Returns how many events were checked and the last one's number and hash, or
    /// where the chain first breaks.
    pub async fn verify_log(
        &self,
    ) -> Result<Result<(u64, Option<(i64, String)>), ChainBreak>, StoreError> {
        let mut verifier = ChainVerifier::default();
        let records: Vec<(String,)> = sqlx::query_as("select details from event where action = ?")
            .bind(ANONYMISED)
            .fetch_all(self.reader())
            .await?;
        for (details,) in records {
            verifier.redactions.extend(redacted_by(&details));
        }
        let mut after = 0i64;
        loop {
            let batch: Vec<ChainRow> = sqlx::query_as(
                "select seq, at, actor, action, subject, subject_label, details, prev_hash, hash,
                        hash_version, salt, personal_hash
                 from event where seq > ? order by seq limit 5000",
            )
            .bind(after)
            .fetch_all(self.reader())
            .await?;
            if batch.is_empty() {
                return Ok(Ok((verifier.checked, verifier.head())));
            }
            for row in batch {
                let e = EventRecord::from(row);
                if let Err(e) = verifier.next(&e) {
                    return Ok(Err(e));
                }
                after = e.seq;
            }
        }
    }

    /// SQLite's own integrity check, and the device tally (migration 0010_counts) and
    /// the encryption tally (0019_desk_counts) against the register: `ok`, or the
    /// problems found.
    pub async fn integrity_check(&self) -> Result<Vec<String>, StoreError> {
        let rows: Vec<(String,)> = sqlx::query_as("pragma integrity_check")
            .fetch_all(self.reader())
            .await?;
        let mut problems: Vec<String> = rows.into_iter().map(|r| r.0).collect();
        let wrong: Vec<(String, String, String, String, i64, i64)> = sqlx::query_as(
            "select kind, status, location_id, encryption_state, sum(tallied), sum(registered)
             from (select school_id, kind, status, location_id, encryption_state, devices as tallied, 0 as registered
                   from device_tally
                   union all
                   select school_id, kind, status, location_id, encryption_state, 0, count(*)
                   from device group by school_id, kind, status, location_id, encryption_state)
             group by school_id, kind, status, location_id, encryption_state
             having sum(tallied) <> sum(registered)
             limit 20",
        )
        .fetch_all(self.reader())
        .await?;
        // The encryption tally (migration 0019_desk_counts): encrypted devices in use
        // by the day they were last checked.
        let wrong_checks: Vec<(String, i64, i64)> = sqlx::query_as(
            "select verified_on, sum(tallied), sum(registered)
             from (select school_id, verified_on, devices as tallied, 0 as registered
                   from device_encryption_tally
                   union all
                   select school_id, coalesce(encryption_verified_on, ''), 0, count(*) from device
                   where status <> 'retired' and encryption_state = 'encrypted'
                   group by school_id, coalesce(encryption_verified_on, ''))
             group by school_id, verified_on
             having sum(tallied) <> sum(registered)
             limit 20",
        )
        .fetch_all(self.reader())
        .await?;
        if (!wrong.is_empty() || !wrong_checks.is_empty()) && problems == ["ok"] {
            problems.clear();
        }
        problems.extend(wrong.into_iter().map(|(kind, status, location, encryption, tallied, registered)| {
            format!(
                "device tally: {tallied} {kind} {status} {encryption} at location {location} counted, {registered} on the register"
            )
        }));
        problems.extend(wrong_checks.into_iter().map(|(day, tallied, registered)| {
            let day = if day.is_empty() { "never" } else { day.as_str() };
            format!(
                "encryption tally: {tallied} encrypted devices last checked {day} counted, {registered} on the register"
            )
        }));
        Ok(problems)
    }
}
