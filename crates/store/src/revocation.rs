//! Ending every API token of a person at once: a leaf that accounts, sessions and
//! tokens all use, so none of them imports another for it.

use chrono::{DateTime, Utc};
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{time_text, StoreError};

/// Revokes every live token of `person` at `now`, inside the caller's transaction;
/// returns how many. For a password change or reset, and signing out everywhere:
/// whatever ends the person's other sessions ends their tokens too.
pub(crate) async fn revoke_all(
    conn: &mut SqliteConnection,
    person: Uuid,
    now: DateTime<Utc>,
) -> Result<u64, StoreError> {
    Ok(sqlx::query(
        "update api_token set revoked_at = ? where person_id = ? and revoked_at is null",
    )
    .bind(time_text(now))
    .bind(person.to_string())
    .execute(&mut *conn)
    .await?
    .rows_affected())
}
