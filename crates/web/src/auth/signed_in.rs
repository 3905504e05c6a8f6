//! Pages ask for the signed-in person ([`Ctx`]): the session's person, checked on
//! every request, with the page's CSRF token and any notice.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use chrono::Utc;
use kitroom_core::person::{Permission, Role};
use tower_sessions::Session;
use uuid::Uuid;

use super::csrf::csrf_token;
use super::ctx::Ctx;
use super::flash::take_flash;
use crate::session::{PERSON_KEY, SCHOOL_KEY};
use crate::{AppError, AppState};
use kitroom_core::school::SchoolId;

impl Ctx {
    /// Refuses unless the person's role allows `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.user.role.may(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }
}

/// How often a session's expiry is pushed back while it is used (seconds): often
/// enough to keep an active person signed in, rarely enough to spare the database.
const TOUCH_EVERY: i64 = 60;

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        signed_in(parts, state, true).await
    }
}

/// The signed-in person on the pages where they set up two-step sign-in: like
/// [`Ctx`], but reachable before it is set up when the school requires it.
pub struct SetupCtx(pub Ctx);

impl FromRequestParts<AppState> for SetupCtx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        signed_in(parts, state, false).await.map(SetupCtx)
    }
}

/// The session's person, checked: still active, within the session's lifetime and,
/// with `enforce_two_factor`, signed in with a second step where the school requires
/// one (otherwise they are sent to set it up).
async fn signed_in(
    parts: &mut Parts,
    state: &AppState,
    enforce_two_factor: bool,
) -> Result<Ctx, AppError> {
    let next = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str().to_owned())
        .unwrap_or_else(|| "/".into());
    let session = Session::from_request_parts(parts, state)
        .await
        .map_err(|(_, m)| AppError::Internal(m.into()))?;
    let Some(id) = session.get::<Uuid>(PERSON_KEY).await? else {
        return Err(AppError::SignInRequired { next });
    };
    // The person as seen in the school they chose, or in their first school.
    let school = session.get::<SchoolId>(SCHOOL_KEY).await?;
    let mut person = match school {
        Some(school) => state.store().person_by_id(school, id).await?,
        None => None,
    };
    if person.is_none() {
        if school.is_some() {
            // No longer a member of the school they chose: back to their first.
            session.remove::<SchoolId>(SCHOOL_KEY).await?;
        }
        person = state.store().account_by_id(id).await?;
    }
    let Some(user) = person.filter(|p| p.active) else {
        // Deactivated or removed: this session ends now.
        session.flush().await?;
        return Err(AppError::SignInRequired { next });
    };
    let now = Utc::now().timestamp();
    let signed_in_at = session
        .get::<i64>(crate::session::SIGNED_IN_AT_KEY)
        .await?
        .unwrap_or(0);
    if now - signed_in_at > state.config().session_lifetime.as_secs() as i64 {
        // However active, a session ends after its lifetime: sign in again.
        session.flush().await?;
        return Err(AppError::SignInRequired { next });
    }
    if enforce_two_factor
        && user.role != Role::Borrower
        && session
            .get::<bool>(crate::session::TWO_FACTOR_KEY)
            .await?
            .is_none()
        && state
            .store()
            .settings(user.school)
            .await?
            .two_factor_required(user.role)
    {
        match state.store().two_factor(user.id).await? {
            // Set up since this session began (in another browser): the pages are
            // open to it, but the session itself never passed the second step, so it
            // is not marked as having done so (making an API token asks for that).
            Some(t) if t.confirmed => {}
            _ => return Err(AppError::TwoFactorSetupRequired),
        }
    }
    if session
        .get::<i64>(crate::session::SEEN_KEY)
        .await?
        .is_none_or(|seen| now - seen >= TOUCH_EVERY)
    {
        session.insert(crate::session::SEEN_KEY, now).await?;
    }
    let csrf = csrf_token(&session).await?;
    let flash = take_flash(&session).await?;
    let unread = state.store().unread_notifications(user.id).await?;
    let schools = state.store().schools_of(user.id).await?;
    Ok(Ctx {
        schools,
        user,
        csrf,
        flash,
        session,
        unread,
    })
}
