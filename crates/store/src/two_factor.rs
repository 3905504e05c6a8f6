//! Two-step sign-in: each person's authenticator secret, sealed by the web layer
//! with a key this database never sees, and their one-time recovery codes, hashed.

use chrono::Utc;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};

/// A person's authenticator secret, as stored.
#[derive(Clone)]
pub struct TwoFactor {
    /// Nonce and ciphertext, as the web layer sealed them.
    pub sealed_secret: String,
    /// False while the person is still setting it up.
    pub confirmed: bool,
    /// The last 30-second step whose code was accepted.
    pub last_step: i64,
}

impl std::fmt::Debug for TwoFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TwoFactor")
            .field("confirmed", &self.confirmed)
            .finish_non_exhaustive()
    }
}

async fn remove(conn: &mut SqliteConnection, person: Uuid) -> Result<u64, StoreError> {
    sqlx::query("delete from recovery_code where person_id = ?")
        .bind(person.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(sqlx::query("delete from two_factor where person_id = ?")
        .bind(person.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

async fn replace_codes(
    conn: &mut SqliteConnection,
    person: Uuid,
    code_hashes: &[String],
) -> Result<(), StoreError> {
    sqlx::query("delete from recovery_code where person_id = ?")
        .bind(person.to_string())
        .execute(&mut *conn)
        .await?;
    for h in code_hashes {
        sqlx::query("insert into recovery_code (person_id, code_hash) values (?, ?)")
            .bind(person.to_string())
            .bind(h)
            .execute(&mut *conn)
            .await?;
    }
    Ok(())
}

impl Store {
    pub async fn two_factor(&self, person: Uuid) -> Result<Option<TwoFactor>, StoreError> {
        let row: Option<(String, Option<String>, i64)> = sqlx::query_as(
            "select sealed_secret, confirmed_at, last_step from two_factor where person_id = ?",
        )
        .bind(person.to_string())
        .fetch_optional(self.reader())
        .await?;
        Ok(
            row.map(|(sealed_secret, confirmed_at, last_step)| TwoFactor {
                sealed_secret,
                confirmed: confirmed_at.is_some(),
                last_step,
            }),
        )
    }

    /// Keeps a new, unconfirmed secret while the person sets up their authenticator.
    /// Refused (false) when two-step sign-in is already on for them.
    pub async fn start_two_factor(
        &self,
        person: Uuid,
        sealed_secret: String,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let done = sqlx::query(
                    "insert into two_factor (person_id, sealed_secret, created_at) values (?, ?, ?)
                     on conflict (person_id) do update set sealed_secret = excluded.sealed_secret,
                        created_at = excluded.created_at where two_factor.confirmed_at is null",
                )
                .bind(person.to_string())
                .bind(sealed_secret)
                .bind(time_text(Utc::now()))
                .execute(&mut *conn)
                .await?;
                Ok(done.rows_affected() == 1)
            })
        })
        .await
    }

    /// Turns two-step sign-in on: the pending secret is confirmed (its code for
    /// `step` was right) and the recovery codes are stored. False when there was no
    /// pending secret.
    pub async fn confirm_two_factor(
        &self,
        actor: Actor,
        subject: Subject,
        person: Uuid,
        step: i64,
        code_hashes: Vec<String>,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let done = sqlx::query(
                    "update two_factor set confirmed_at = ?, last_step = ? where person_id = ? and confirmed_at is null",
                )
                .bind(time_text(now))
                .bind(step)
                .bind(person.to_string())
                .execute(&mut *conn)
                .await?;
                if done.rows_affected() == 0 {
                    return Ok(false);
                }
                replace_codes(conn, person, &code_hashes).await?;
                append(
                    conn,
                    &actor,
                    "person.two_factor_on",
                    &subject,
                    json!({"recovery_codes": code_hashes.len()}),
                    now,
                )
                .await?;
                Ok(true)
            })
        })
        .await
    }

    /// Accepts a code for `step` if no code for this step or a later one was accepted
    /// before: a code works once.
    pub async fn use_two_factor_step(&self, person: Uuid, step: i64) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                Ok(sqlx::query(
                    "update two_factor set last_step = ? where person_id = ? and confirmed_at is not null and last_step < ?",
                )
                .bind(step)
                .bind(person.to_string())
                .bind(step)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1)
            })
        })
        .await
    }

    /// Spends a recovery code; false when it is not one of the person's unused codes.
    pub async fn use_recovery_code(
        &self,
        person: Uuid,
        subject: Subject,
        code_hash: String,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let used = sqlx::query(
                    "update recovery_code set used_at = ? where person_id = ? and code_hash = ? and used_at is null",
                )
                .bind(time_text(now))
                .bind(person.to_string())
                .bind(&code_hash)
                .execute(&mut *conn)
                .await?
                .rows_affected()
                    == 1;
                if used {
                    let left: i64 = sqlx::query_scalar(
                        "select count(*) from recovery_code where person_id = ? and used_at is null",
                    )
                    .bind(person.to_string())
                    .fetch_one(&mut *conn)
                    .await?;
                    let actor = Actor::person(person, &subject.label);
                    append(
                        conn,
                        &actor,
                        "person.recovery_code_used",
                        &subject,
                        json!({"recovery_codes_left": left}),
                        now,
                    )
                    .await?;
                }
                Ok(used)
            })
        })
        .await
    }

    /// How many unused recovery codes a person has.
    pub async fn recovery_codes_left(&self, person: Uuid) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(
            "select count(*) from recovery_code where person_id = ? and used_at is null",
        )
        .bind(person.to_string())
        .fetch_one(self.reader())
        .await?)
    }

    /// Replaces a person's recovery codes with new ones.
    pub async fn new_recovery_codes(
        &self,
        actor: Actor,
        subject: Subject,
        person: Uuid,
        code_hashes: Vec<String>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                replace_codes(conn, person, &code_hashes).await?;
                append(
                    conn,
                    &actor,
                    "person.recovery_codes_replaced",
                    &subject,
                    json!({"recovery_codes": code_hashes.len()}),
                    Utc::now(),
                )
                .await?;
                Ok(())
            })
        })
        .await
    }

    /// Turns two-step sign-in off for a person (their own choice, or a reset by an
    /// admin or manager when the authenticator is lost). After a reset, every session
    /// of the person ends, and where two-step sign-in is required they set it up again
    /// at their next sign-in. False when it was not on.
    pub async fn remove_two_factor(
        &self,
        actor: Actor,
        subject: Subject,
        person: Uuid,
    ) -> Result<bool, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                remove_two_factor_in(conn, &actor, &subject, person, Utc::now()).await
            })
        })
        .await
    }
}

/// Turns two-step sign-in off for a person inside the caller's transaction: see
/// [`Store::remove_two_factor`]. False when it was not on.
pub async fn remove_two_factor_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    subject: &Subject,
    person: Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<bool, StoreError> {
    if remove(conn, person).await? == 0 {
        return Ok(false);
    }
    let own = actor.id == Some(person);
    let ended = if own {
        0
    } else {
        sqlx::query("delete from session where person_id = ?")
            .bind(person.to_string())
            .execute(&mut *conn)
            .await?
            .rows_affected()
    };
    let action = if own {
        "person.two_factor_off"
    } else {
        "person.two_factor_reset"
    };
    append(
        conn,
        actor,
        action,
        subject,
        json!({"sessions_ended": ended}),
        now,
    )
    .await?;
    if !own {
        let p = crate::people::get_account(conn, person).await?;
        let news = crate::people::AccountNews::TwoFactorReset;
        crate::people::tell_about_account(conn, actor, &p, news, now).await?;
    }
    Ok(true)
}
