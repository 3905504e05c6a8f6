//! Personal API tokens. Only a SHA-256 hash of each token is stored; the token itself
//! is shown once, when it is made.

use chrono::Utc;
use serde_json::json;
use uuid::Uuid;

use crate::db::{time_text, Actor, Store, StoreError};
use crate::events::append;
use crate::people::Person;

/// A token as its owner sees it on their account page.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TokenInfo {
    pub id: String,
    pub name: String,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

impl Store {
    pub async fn create_token(
        &self,
        actor: Actor,
        owner: &Person,
        name: String,
        token_hash: String,
    ) -> Result<Uuid, StoreError> {
        let owner_subject = owner.subject();
        let owner_id = owner.id;
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = Uuid::new_v4();
                sqlx::query("insert into api_token (id, person_id, name, token_hash, created_at) values (?, ?, ?, ?, ?)")
                    .bind(id.to_string())
                    .bind(owner_id.to_string())
                    .bind(&name)
                    .bind(token_hash)
                    .bind(time_text(now))
                    .execute(&mut *conn)
                    .await?;
                append(conn, &actor, "token.created", &owner_subject, json!({"token": id, "name": name}), now).await?;
                Ok(id)
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

    pub async fn list_tokens(&self, owner: Uuid) -> Result<Vec<TokenInfo>, StoreError> {
        Ok(sqlx::query_as(
            "select id, name, created_at, last_used_at from api_token
             where person_id = ? and revoked_at is null order by created_at desc",
        )
        .bind(owner.to_string())
        .fetch_all(self.reader())
        .await?)
    }

    /// The owner of a live token, by the token's hash.
    pub async fn token_owner(&self, token_hash: &str) -> Result<Option<Uuid>, StoreError> {
        let id: Option<String> = sqlx::query_scalar(
            "select person_id from api_token where token_hash = ? and revoked_at is null",
        )
        .bind(token_hash)
        .fetch_optional(self.reader())
        .await?;
        id.map(|s| crate::db::parse_uuid(&s)).transpose()
    }
}
