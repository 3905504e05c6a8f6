//! The API's caller: the owner of a personal token.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use chrono::Utc;
use kitroom_core::person::Permission;
use kitroom_store::people::Person;
use kitroom_store::tokens::{TokenCheck, USE_NOTED_EVERY};

use super::tokens::token_hash;
use crate::error::ApiError;
use crate::AppState;

/// The owner of the API token in the `Authorization: Bearer` header.
pub struct ApiUser(pub Person);

impl ApiUser {
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.0.role.may(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        let now = Utc::now();
        let (id, owner, last_used_at) =
            match state.store().check_token(&token_hash(token), now).await? {
                TokenCheck::Live {
                    id,
                    owner,
                    last_used_at,
                } => (id, owner, last_used_at),
                TokenCheck::Expired { at } => return Err(ApiError::token_expired(at)),
                TokenCheck::Unknown => return Err(ApiError::unauthorized()),
            };
        if !owner.active {
            return Err(ApiError::unauthorized());
        }
        // The last use is written at most once a minute, so a busy script's calls
        // stay reads.
        if last_used_at.is_none_or(|t| now - t >= USE_NOTED_EVERY) {
            state.store().note_token_used(id, now).await?;
        }
        Ok(ApiUser(*owner))
    }
}
