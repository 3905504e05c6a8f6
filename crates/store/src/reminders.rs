//! Reminders to borrowers: a loan falling due soon and a loan overdue, each sent
//! once per loan, in the app and (when the borrower has an email address) by email
//! through the outbox. One message per borrower per run lists all their devices, so
//! a trolley of thirty iPads makes one email, not thirty.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use kitroom_core::school::SchoolId;

use crate::db::{parse_time, parse_uuid, time_text, Store, StoreError};

/// Which reminder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    DueSoon,
    Overdue,
}

impl Kind {
    fn as_str(self) -> &'static str {
        match self {
            Kind::DueSoon => "due_soon",
            Kind::Overdue => "overdue",
        }
    }
}

/// How many loans of each kind one write reminds about.
const REMINDER_BATCH: i64 = 20;

/// Open loans of school `?4` falling due between `?1` and `?2` with no reminder
/// yet, earliest first, at most `?3` (the school checked on each, `+` keeping SQLite
/// from starting at every device of the school instead): a seek on the partial index `loan_to_remind_due_soon`
/// (migration 0020), which holds only the open loans still to remind, so a batch
/// never walks past the loans already reminded. (A borrower made inactive keeps
/// their loans in it; they are few.)
pub const DUE_SOON_TO_REMIND: &str =
    "select l.id, p.id, p.email, p.full_name, d.tag, l.due_at from loan l
     join person p on p.id = l.borrower_id join device d on d.id = l.device_id
     where l.returned_at is null and l.overdue_reminded = 0 and l.due_soon_reminded = 0
       and l.due_at > ?1 and l.due_at <= ?2 and p.active = 1 and +d.school_id = ?4
     order by l.due_at limit ?3";

/// Open loans of school `?3` due by `?1` with no overdue reminder yet, earliest
/// first, at most `?2`: a seek on the partial index `loan_to_remind_overdue` (migration 0020).
pub const OVERDUE_TO_REMIND: &str =
    "select l.id, p.id, p.email, p.full_name, d.tag, l.due_at from loan l
     join person p on p.id = l.borrower_id join device d on d.id = l.device_id
     where l.returned_at is null and l.overdue_reminded = 0 and l.due_at <= ?1 and p.active = 1
       and +d.school_id = ?3
     order by l.due_at limit ?2";

impl Store {
    /// Queues the reminders due at `now` for `school`'s loans: for loans due within `minutes_before`
    /// (none when 0) and for loans now overdue, each once. `link_base` starts the
    /// link in the email, when Kitroom knows its public address. Returns how many
    /// loans were reminded about.
    pub async fn queue_loan_reminders(
        &self,
        school: SchoolId,
        minutes_before: u32,
        now: DateTime<Utc>,
        link_base: Option<kitroom_core::link::PublicUrl>,
    ) -> Result<u64, StoreError> {
        // Twenty loans of each kind to a write, so that a backlog (the first morning after a
        // holiday) never holds the one writer for long: check-outs go in between.
        let mut total = 0;
        loop {
            let n = self
                .queue_some_loan_reminders(school, minutes_before, now, link_base.clone())
                .await?;
            total += n;
            if n < REMINDER_BATCH as u64 {
                return Ok(total);
            }
        }
    }

    /// Up to [`REMINDER_BATCH`] loans of each kind's reminders, in one write.
    async fn queue_some_loan_reminders(
        &self,
        school: SchoolId,
        minutes_before: u32,
        now: DateTime<Utc>,
        link_base: Option<kitroom_core::link::PublicUrl>,
    ) -> Result<u64, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                // (loan, borrower, email, name, tag, due_at, kind)
                type Row = (String, String, Option<String>, String, String, String);
                let mut due: Vec<(Row, Kind)> = Vec::new();
                if minutes_before > 0 {
                    let rows: Vec<Row> = sqlx::query_as(DUE_SOON_TO_REMIND)
                    .bind(time_text(now))
                    .bind(time_text(now + Duration::minutes(minutes_before.into())))
                    .bind(REMINDER_BATCH)
                    .bind(school.0)
                    .fetch_all(&mut *conn)
                    .await?;
                    due.extend(rows.into_iter().map(|r| (r, Kind::DueSoon)));
                }
                let rows: Vec<Row> = sqlx::query_as(OVERDUE_TO_REMIND)
                .bind(time_text(now))
                .bind(REMINDER_BATCH)
                .bind(school.0)
                .fetch_all(&mut *conn)
                .await?;
                due.extend(rows.into_iter().map(|r| (r, Kind::Overdue)));
                let n = due.len() as u64;
                // one message per borrower and kind
                let mut by_person: BTreeMap<(String, Kind), Vec<Row>> = BTreeMap::new();
                for (row, kind) in due {
                    sqlx::query("insert into loan_reminder (loan_id, kind, sent_at) values (?, ?, ?)")
                        .bind(&row.0)
                        .bind(kind.as_str())
                        .bind(time_text(now))
                        .execute(&mut *conn)
                        .await?;
                    by_person.entry((row.1.clone(), kind)).or_default().push(row);
                }
                for ((person, kind), rows) in by_person {
                    let (_, _, email, name, _, _) = &rows[0];
                    let first = name.split_whitespace().next().unwrap_or(name);
                    let tags: Vec<&str> = rows.iter().map(|r| r.4.as_str()).collect();
                    let earliest = rows.iter().filter_map(|r| parse_time(&r.5).ok()).min().unwrap_or(now);
                    let when = kitroom_core::time::school_time(earliest);
                    let list = tags.join(", ");
                    let (body, subject, text) = match kind {
                        Kind::DueSoon => (
                            format!("{list}: due back {when}."),
                            format!("Kitroom: {list} due back {when}"),
                            format!("Hello {first},\n\n{list} {is} due back {when}. Please bring {it} back to the return room and put {it} on charge.\n", is = if tags.len() == 1 { "is" } else { "are" }, it = if tags.len() == 1 { "it" } else { "them" }),
                        ),
                        Kind::Overdue => (
                            format!("{list}: overdue, it was due back {when}."),
                            format!("Kitroom: {list} overdue"),
                            format!("Hello {first},\n\n{list} {was} due back {when} and {is} now overdue. Please bring {it} back as soon as you can. If {it} {is} lost or damaged, report it in Kitroom straight away.\n", was = if tags.len() == 1 { "was" } else { "were" }, is = if tags.len() == 1 { "is" } else { "are" }, it = if tags.len() == 1 { "it" } else { "they" }),
                        ),
                    };
                    let text = match &link_base {
                        Some(base) => format!("{text}\nYour loans: {}\n", base.link("/")),
                        None => format!("{text}\nYour loans are on your Kitroom home page.\n"),
                    };
                    crate::notifications::notify_in(conn, parse_uuid(&person)?, &body, "/", now).await?;
                    if let Some(address) = email.as_deref().filter(|a| !a.is_empty()) {
                        // the outbox runs on the clock, whatever `now` the caller reasons with
                        // a due-soon reminder is about the time the loan falls due,
                        // and is dropped rather than sent after it
                        let email = crate::outbox::Queued {
                            to: address,
                            subject: &subject,
                            body: &text,
                            kind: kitroom_core::mail::MailKind::Reminder,
                            thread: None,
                            moment: (kind == Kind::DueSoon).then_some(earliest),
                        };
                        crate::outbox::queue_email(conn, email, Utc::now()).await?;
                    }
                }
                Ok(n)
            })
        })
        .await
    }
}
