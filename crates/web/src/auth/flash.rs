//! One-time notices ("Device saved"), left by one request for the next page the
//! session sees.

use tower_sessions::Session;

use crate::AppError;

/// Leaves a notice for the next page this session sees.
pub async fn set_flash(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session.insert("flash", message.into()).await?;
    Ok(())
}

/// Takes the notice left for this page, if any.
pub(crate) async fn take_flash(session: &Session) -> Result<Option<String>, AppError> {
    // Removing marks the session changed (and so written back) even when the key
    // is absent: only remove a notice that is there, so a plain page view is a read.
    Ok(match session.get::<String>("flash").await? {
        Some(_) => session.remove::<String>("flash").await?,
        None => None,
    })
}
