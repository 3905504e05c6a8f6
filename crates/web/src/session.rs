//! Login sessions: `tower-sessions` does the work (ids, cookies, expiry, cycling the
//! id at sign-in); this module keeps its records in Kitroom's database.

use async_trait::async_trait;
use kitroom_store::Store;
use sha2::{Digest, Sha256};
use time::OffsetDateTime;
use tower_sessions::cookie::SameSite;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};
use tower_sessions::{Expiry, SessionManagerLayer};

use crate::AppState;

/// The session key that holds the signed-in person's id.
pub const PERSON_KEY: &str = "person_id";

/// The session key that holds the school the signed-in person acts in, for someone
/// who holds roles in several: absent until they choose one (their first school).
pub const SCHOOL_KEY: &str = "school_id";

/// The session cookie's name.
pub const COOKIE_NAME: &str = "kitroom_session";

/// Sessions kept in the `session` table.
#[derive(Debug, Clone)]
pub struct DbSessions(pub Store);

/// Session ids are stored as a SHA-256 hash.
pub fn id_hash(id: &Id) -> String {
    Sha256::digest(id.to_string().as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn backend(e: impl std::fmt::Display) -> session_store::Error {
    session_store::Error::Backend(e.to_string())
}

/// What the session store needs to know of the request it is saving for.
struct SessionWrites {
    /// A page view (GET or HEAD) rather than a form post.
    read: bool,
    /// Writing the session failed because the disk is full.
    disk_full: std::cell::Cell<bool>,
}

tokio::task_local! {
    /// Set by [`explain_save_failure`] for each request to the pages.
    static REQUEST: SessionWrites;
}

/// Turns a failed session save into a page a person can understand.
///
/// tower-sessions saves a changed session after the handler has answered, and when
/// that fails it replaces the answer with a blank 500. On a full disk that locked
/// everyone out: the sign-in page keeps its form token in a new session, so it
/// showed a blank error, then "The form has expired"; and a signed-in person's page
/// view, which notes when the session was last used once a minute, failed too.
///
/// Runs outside the session layer. A page view whose existing session could not be
/// updated for want of space is shown anyway ([`DbSessions`] lets that save go);
/// any other request whose session could not be written for want of space gets
/// the "Storage is full" page (503), like any other refused change.
pub async fn explain_save_failure(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::http::Method;
    use axum::response::IntoResponse;
    let writes = SessionWrites {
        read: matches!(*req.method(), Method::GET | Method::HEAD),
        disk_full: std::cell::Cell::new(false),
    };
    REQUEST
        .scope(writes, async move {
            let res = next.run(req).await;
            if res.status() == axum::http::StatusCode::INTERNAL_SERVER_ERROR && found_disk_full() {
                return crate::AppError::StorageFull.into_response();
            }
            res
        })
        .await
}

/// Whether a session write in this request failed because the disk is full (so a
/// handler's session error is "storage is full", not an internal error).
pub fn found_disk_full() -> bool {
    REQUEST.try_with(|r| r.disk_full.get()).unwrap_or(false)
}

/// Maps a failed session write, noting a full disk for [`explain_save_failure`].
fn write_failed(e: kitroom_store::StoreError) -> session_store::Error {
    if e.is_storage_full() {
        tracing::error!(error = %e, "the disk holding the database is full: a session could not be saved");
        let _ = REQUEST.try_with(|r| r.disk_full.set(true));
    }
    backend(e)
}

impl DbSessions {
    async fn put(&self, record: &Record, only_if_new: bool) -> session_store::Result<bool> {
        let person = record
            .data
            .get(PERSON_KEY)
            .and_then(|v| v.as_str())
            .and_then(|s| uuid::Uuid::parse_str(s).ok());
        let data = serde_json::to_string(&record.data)
            .map_err(|e| session_store::Error::Encode(e.to_string()))?;
        self.0
            .save_session(
                id_hash(&record.id),
                person,
                data,
                record.expiry_date.unix_timestamp(),
                only_if_new,
            )
            .await
            .map_err(write_failed)
    }
}

#[async_trait]
impl SessionStore for DbSessions {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        // A clash of random 128-bit ids is all but impossible; pick again if it happens.
        while !self.put(record, true).await? {
            record.id = Id::default();
        }
        Ok(())
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        match self.put(record, false).await {
            Ok(_) => Ok(()),
            // A page view changes an existing session only in passing: when it was
            // last used, a notice shown once, a form token. On a full disk the page
            // is shown without keeping that, so people can still look things up;
            // sign-in, sign-out and every form post still fail as "storage is full".
            Err(_) if found_disk_full() && REQUEST.try_with(|r| r.read).unwrap_or(false) => {
                tracing::warn!(
                    "the disk is full: a page view's change to its session was not kept"
                );
                let _ = REQUEST.try_with(|r| r.disk_full.set(false));
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        let now = OffsetDateTime::now_utc().unix_timestamp();
        let Some(row) = self
            .0
            .load_session(&id_hash(id), now)
            .await
            .map_err(backend)?
        else {
            return Ok(None);
        };
        let data = serde_json::from_str(&row.data)
            .map_err(|e| session_store::Error::Decode(e.to_string()))?;
        let expiry_date = OffsetDateTime::from_unix_timestamp(row.expires_at).map_err(backend)?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        self.0
            .delete_session(id_hash(id))
            .await
            .map_err(write_failed)
    }
}

/// The session cookie's name over HTTPS: the `__Host-` prefix makes browsers refuse
/// it unless it is Secure, for this host only and for the whole site.
pub const SECURE_COOKIE_NAME: &str = "__Host-kitroom_session";

/// The session key holding when the person signed in (Unix seconds).
pub const SIGNED_IN_AT_KEY: &str = "signed_in_at";

/// The session key holding when the session was last used (Unix seconds, updated
/// at most once a minute).
pub const SEEN_KEY: &str = "seen";

/// The session key holding the address the person signed in from.
pub const ADDRESS_KEY: &str = "address";

/// The session key set when the session is known to satisfy two-step sign-in
/// (signed in with a code, or set it up during the session).
pub const TWO_FACTOR_KEY: &str = "two_factor";

/// The session keys of a sign-in waiting for its second step: who, since when
/// (Unix seconds), and where to go afterwards.
pub const PENDING_PERSON_KEY: &str = "pending_person";
pub const PENDING_AT_KEY: &str = "pending_at";
pub const PENDING_NEXT_KEY: &str = "pending_next";

/// The session key holding the browser's `User-Agent` at sign-in.
pub const BROWSER_KEY: &str = "browser";

/// The session layer: HttpOnly, SameSite=Lax (links from email still arrive signed
/// in; cross-site posts do not carry the cookie), Secure and `__Host-` when served
/// over HTTPS, expiring after the idle timeout. The absolute lifetime is checked by
/// [`crate::auth::Ctx`].
pub fn layer(state: AppState) -> SessionManagerLayer<DbSessions> {
    let idle = time::Duration::try_from(state.config().idle_timeout)
        .unwrap_or(time::Duration::minutes(30));
    let name = if state.config().secure_cookies {
        SECURE_COOKIE_NAME
    } else {
        COOKIE_NAME
    };
    SessionManagerLayer::new(DbSessions(state.store().clone()))
        .with_name(name)
        .with_http_only(true)
        .with_same_site(SameSite::Lax)
        .with_secure(state.config().secure_cookies)
        .with_expiry(Expiry::OnInactivity(idle))
}
