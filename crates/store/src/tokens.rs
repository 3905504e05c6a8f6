//! Personal API tokens. Only a SHA-256 hash of each token is stored; the token itself
//! is shown once, when it is made.
//!
//! A token works until the first of: it is revoked, it expires (the school's
//! `token_lifetime_days` after it was made), or its owner's password is changed or
//! reset or they sign out everywhere else ([`crate::revocation::revoke_all`], called from those
//! writes). Its last use is recorded at most once a minute ([`USE_NOTED_EVERY`]).

use chrono::{DateTime, Duration, Utc};
use serde_json::json;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, time_text, Actor, Store, StoreError};
use crate::events::append;
use crate::people::Person;
use crate::settings::settings_in;

/// A token as its owner sees it on their account page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub expires_at: Option<String>,
}

/// A token just made.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub id: Uuid,
    pub expires_at: DateTime<Utc>,
    /// The school requires two-step sign-in of the owner, who has not set it up: the
    /// token (made at the command line) skips it, and the log says so.
    pub without_two_step: bool,
}

/// What a token presented to the API is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenCheck {
    /// No such token, or it was revoked.
    Unknown,
    Expired {
        at: DateTime<Utc>,
    },
    Live {
        id: Uuid,
        /// Whose it is, read with the token (an account since made inactive
        /// included: the caller refuses it).
        owner: Box<Person>,
        last_used_at: Option<DateTime<Utc>>,
    },
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    token_id: String,
    token_expires_at: Option<String>,
    token_last_used_at: Option<String>,
    #[sqlx(flatten)]
    owner: crate::people::PersonRow,
}

/// How often a token's last use is written while it is used: often enough for its
/// owner to see which tokens are in use, rarely enough that API calls do not queue
/// behind check-outs for the database's one writer (as sessions are touched).
pub const USE_NOTED_EVERY: Duration = Duration::minutes(1);

impl Store {
    /// Makes a token for `owner`, expiring after the school's token lifetime. Where
    /// the school requires two-step sign-in of the owner and they have not set it up
    /// (only the command line can get here: the account page asks for a session that
    /// passed the second step), the event is `token.created_without_two_step`.
    pub async fn create_token(
        &self,
        actor: Actor,
        owner: &Person,
        name: String,
        token_hash: String,
    ) -> Result<NewToken, StoreError> {
        let owner_subject = owner.subject();
        let owner_id = owner.id;
        let owner_role = owner.role;
        let owner_school = owner.school;
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = Uuid::new_v4();
                let settings = settings_in(conn, owner_school).await?;
                let expires_at = now + Duration::days(i64::from(settings.token_lifetime_days));
                let two_step_on: bool = sqlx::query_scalar(
                    "select exists (select 1 from two_factor where person_id = ? and confirmed_at is not null)",
                )
                .bind(owner_id.to_string())
                .fetch_one(&mut *conn)
                .await?;
                let without_two_step = settings.two_factor_required(owner_role) && !two_step_on;
                // The token acts in the school its owner made it in.
                sqlx::query("insert into api_token (id, person_id, school_id, name, token_hash, created_at, expires_at) values (?, ?, ?, ?, ?, ?, ?)")
                    .bind(id.to_string())
                    .bind(owner_id.to_string())
                    .bind(owner_school.0)
                    .bind(&name)
                    .bind(token_hash)
                    .bind(time_text(now))
                    .bind(time_text(expires_at))
                    .execute(&mut *conn)
                    .await?;
                let action = if without_two_step {
                    "token.created_without_two_step"
                } else {
                    "token.created"
                };
                append(
                    conn,
                    &actor,
                    action,
                    &owner_subject,
                    json!({"token": id, "name": name, "expires_at": time_text(expires_at)}),
                    now,
                )
                .await?;
                Ok(NewToken {
                    id,
                    expires_at,
                    without_two_step,
                })
            })
        })
        .await
    }

    /// Revokes one of `owner`'s tokens. A token of someone else is "not found".
    pub async fn revoke_token(
        &self,
        actor: Actor,
        owner: &Person,
        token: Uuid,
    ) -> Result<(), StoreError> {
        let owner_subject = owner.subject();
        let owner_id = owner.id;
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let done = sqlx::query("update api_token set revoked_at = ? where id = ? and person_id = ? and revoked_at is null")
                    .bind(time_text(now))
                    .bind(token.to_string())
                    .bind(owner_id.to_string())
                    .execute(&mut *conn)
                    .await?;
                if done.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                append(conn, &actor, "token.revoked", &owner_subject, json!({"token": token}), now).await?;
                Ok(())
            })
        })
        .await
    }

    /// A person's tokens that have not been revoked, newest first (expired ones
    /// too, so the owner sees that a script's token ran out).
    pub async fn list_tokens(&self, owner: Uuid) -> Result<Vec<TokenInfo>, StoreError> {
        Ok(sqlx::query_as(
            "select id, name, created_at, last_used_at, expires_at from api_token
             where person_id = ? and revoked_at is null order by created_at desc",
        )
        .bind(owner.to_string())
        .fetch_all(self.reader())
        .await?)
    }

    /// What the token with this hash is at `now`, with its owner (one query: every
    /// API call asks).
    pub async fn check_token(
        &self,
        token_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<TokenCheck, StoreError> {
        static QUERY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
            format!(
                "select t.id as token_id, t.expires_at as token_expires_at,
                        t.last_used_at as token_last_used_at, {}
                 from api_token t join person p on p.id = t.person_id
                 left join membership p_m on p_m.person_id = p.id and p_m.school_id = t.school_id
                 where t.token_hash = ? and t.revoked_at is null and {}",
                crate::people::columns_of("p", "t.school_id"),
                crate::people::holds_role("p"),
            )
        });
        let row: Option<TokenRow> = sqlx::query_as(&QUERY)
            .bind(token_hash)
            .fetch_optional(self.reader())
            .await?;
        let Some(TokenRow {
            token_id: id,
            token_expires_at: expires_at,
            token_last_used_at: last_used_at,
            owner,
        }) = row
        else {
            return Ok(TokenCheck::Unknown);
        };
        // Every token has an expiry (migration 0012 gave the older ones theirs); one
        // without is treated as expired rather than as working for ever.
        let expires_at = match expires_at {
            Some(t) => parse_time(&t)?,
            None => DateTime::<Utc>::UNIX_EPOCH,
        };
        if expires_at <= now {
            return Ok(TokenCheck::Expired { at: expires_at });
        }
        Ok(TokenCheck::Live {
            id: parse_uuid(&id)?,
            owner: Box::new(Person::try_from(owner)?),
            last_used_at: last_used_at.as_deref().map(parse_time).transpose()?,
        })
    }

    /// Records that a token was used at `now`.
    pub async fn note_token_used(&self, token: Uuid, now: DateTime<Utc>) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                sqlx::query("update api_token set last_used_at = ? where id = ?")
                    .bind(time_text(now))
                    .bind(token.to_string())
                    .execute(&mut *conn)
                    .await?;
                Ok(())
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use sqlx::{Connection, SqliteConnection};

    use crate::db::{parse_time, MIGRATOR};

    /// A school upgrading would find every script's token dead the same morning, or
    /// working for ever, if the migration gave existing tokens no sensible expiry.
    #[tokio::test]
    async fn tokens_made_before_the_upgrade_expire_ninety_days_after_it() {
        let options = sqlx::sqlite::SqliteConnectOptions::new()
            .filename(":memory:")
            .foreign_keys(false);
        let mut conn = SqliteConnection::connect_with(&options).await.unwrap();
        let (before, upgrade): (Vec<_>, Vec<_>) = MIGRATOR.iter().partition(|m| m.version < 12);
        for m in before {
            sqlx::raw_sql(&m.sql).execute(&mut conn).await.unwrap();
        }
        sqlx::query(
            "insert into api_token (id, person_id, name, token_hash, created_at)
             values ('t1', 'p1', 'old script', 'hash', '2024-01-01T00:00:00.000000Z')",
        )
        .execute(&mut conn)
        .await
        .unwrap();
        let at = chrono::Utc::now();
        let token_expiry = upgrade
            .iter()
            .find(|m| m.version == 12)
            .expect("migration 0012");
        sqlx::raw_sql(&token_expiry.sql)
            .execute(&mut conn)
            .await
            .unwrap();
        let expires: String = sqlx::query_scalar("select expires_at from api_token")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        let expires = parse_time(&expires).unwrap();
        let days = (expires - at).num_hours() as f64 / 24.0;
        assert!((89.9..=90.1).contains(&days), "{expires}: {days} days");
    }
}
