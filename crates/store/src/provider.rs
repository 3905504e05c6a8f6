//! Who signs in through the school's OpenID provider: the provider's subject kept
//! with the person (`person.oidc_issuer`, `person.oidc_subject`, migration 0017).

use chrono::Utc;
use kitroom_core::person::PersonDetails;
use serde_json::json;

use crate::db::{Actor, Store, StoreError};
use crate::events::append;
use crate::people::{insert_person_in, Person, PersonRow, ACCOUNTS, COLUMNS};
use kitroom_core::school::SchoolId;

/// How linking a subject to a person went.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Linked now, or already linked to this subject.
    Linked,
    /// The person is linked to another subject at this issuer.
    PersonTaken,
    /// The subject is linked to someone else.
    SubjectTaken,
}

impl Store {
    /// The person linked to `subject` at `issuer`.
    pub async fn person_by_provider_subject(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Person>, StoreError> {
        sqlx::query_as::<_, PersonRow>(&format!(
            "select {COLUMNS} from {ACCOUNTS} where id in
               (select id from person where oidc_issuer = ? and oidc_subject = ?)"
        ))
        .bind(issuer)
        .bind(subject)
        .fetch_optional(self.reader())
        .await?
        .map(Person::try_from)
        .transpose()
    }

    /// Everyone with this email address (case ignored), at most a few.
    pub async fn people_with_email(&self, email: &str) -> Result<Vec<Person>, StoreError> {
        sqlx::query_as::<_, PersonRow>(&format!(
            "select {COLUMNS} from {ACCOUNTS} where email = ? collate nocase limit 5"
        ))
        .bind(email)
        .fetch_all(self.reader())
        .await?
        .into_iter()
        .map(Person::try_from)
        .collect()
    }

    /// Links `person` to `subject` at `issuer`, with an event, unless either is
    /// linked already to another.
    pub async fn link_provider_subject(
        &self,
        person: &Person,
        issuer: &str,
        subject: &str,
    ) -> Result<Link, StoreError> {
        let (id, actor, subj) = (person.id, person.actor(), person.subject());
        let (issuer, subject) = (issuer.to_owned(), subject.to_owned());
        self.write(move |conn| {
            Box::pin(async move {
                let current: Option<(Option<String>, Option<String>)> =
                    sqlx::query_as("select oidc_issuer, oidc_subject from person where id = ?")
                        .bind(id.to_string())
                        .fetch_optional(&mut *conn)
                        .await?;
                match current {
                    Some((Some(i), Some(s))) if i == issuer && s == subject => {
                        return Ok(Link::Linked)
                    }
                    Some((Some(i), Some(_))) if i == issuer => return Ok(Link::PersonTaken),
                    _ => {}
                }
                let updated =
                    sqlx::query("update person set oidc_issuer = ?, oidc_subject = ? where id = ?")
                        .bind(&issuer)
                        .bind(&subject)
                        .bind(id.to_string())
                        .execute(&mut *conn)
                        .await;
                match updated {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Ok(Link::SubjectTaken)
                    }
                    other => other?,
                };
                append(
                    conn,
                    &actor,
                    "person.provider_linked",
                    &subj,
                    json!({"issuer": issuer}),
                    Utc::now(),
                )
                .await?;
                Ok(Link::Linked)
            })
        })
        .await
    }

    /// Makes a borrower's account at its first sign-in through the provider, linked
    /// to `subject`; the first of `usernames` not taken is used.
    pub async fn create_provider_borrower(
        &self,
        candidates: Vec<PersonDetails>,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<Person>, StoreError> {
        let (issuer, subject) = (issuer.to_owned(), subject.to_owned());
        self.write(move |conn| {
            Box::pin(async move {
                for details in candidates {
                    let taken: i64 = sqlx::query_scalar(
                        "select count(*) from person where username = ? collate nocase",
                    )
                    .bind(details.username.as_str())
                    .fetch_one(&mut *conn)
                    .await?;
                    if taken > 0 {
                        continue;
                    }
                    // A borrower of the first school: a trust gives people their
                    // roles in other schools at the command line or the people page.
                    let person = insert_person_in(
                        conn,
                        &Actor::system(),
                        SchoolId::FIRST,
                        &details,
                        None,
                        Utc::now(),
                    )
                    .await?;
                    sqlx::query("update person set oidc_issuer = ?, oidc_subject = ? where id = ?")
                        .bind(&issuer)
                        .bind(&subject)
                        .bind(person.id.to_string())
                        .execute(&mut *conn)
                        .await?;
                    return Ok(Some(person));
                }
                Ok(None)
            })
        })
        .await
    }

    /// `person` signed in through the provider from `address`: the same event as a
    /// password sign-in, saying how.
    pub async fn record_provider_sign_in(
        &self,
        person: &Person,
        address: String,
        two_factors: bool,
    ) -> Result<(), StoreError> {
        let (actor, subject, username) =
            (person.actor(), person.subject(), person.username.clone());
        self.write(move |conn| {
            Box::pin(async move {
                crate::throttle::signed_in_from(conn, &username, &address, Utc::now()).await?;
                append(
                    conn,
                    &actor,
                    "person.signed_in",
                    &subject,
                    json!({"address": address, "through": "provider", "provider_two_factors": two_factors}),
                    Utc::now(),
                )
                .await?;
                Ok(())
            })
        })
        .await
    }
}
