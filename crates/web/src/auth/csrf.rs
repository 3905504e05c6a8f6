//! Cross-site request forgery: every form post carries the session's token and
//! passes [`csrf_guard`] before its handler sees it.

use axum::body::Body;
use axum::http::{header, Method, Request};
use axum::middleware::Next;
use axum::response::Response;
use sha2::{Digest, Sha256};
use tower_sessions::Session;

use super::tokens::random_token;
use crate::AppError;

/// The session's CSRF token, made on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session.get::<String>("csrf").await? {
        return Ok(t);
    }
    let t = random_token();
    session.insert("csrf", &t).await?;
    Ok(t)
}

/// Refuses any form post whose `csrf` field does not match the session's token, and
/// any cross-site post (by `Origin`), before a handler sees it.
pub async fn csrf_guard(
    session: Session,
    req: Request<Body>,
    next: Next,
) -> Result<Response, AppError> {
    if matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        return Ok(next.run(req).await);
    }
    let (parts, body) = req.into_parts();
    if parts
        .headers
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
        == Some("cross-site")
    {
        tracing::warn!("cross-site form post refused (Sec-Fetch-Site)");
        return Err(AppError::CsrfRejected);
    }
    if let (Some(origin), Some(host)) = (
        parts.headers.get(header::ORIGIN),
        parts.headers.get(header::HOST),
    ) {
        let origin = origin.to_str().unwrap_or("");
        let host = host.to_str().unwrap_or("");
        let origin_host = origin.split_once("://").map(|(_, h)| h).unwrap_or(origin);
        if origin_host != host {
            tracing::warn!(origin, "cross-site form post refused");
            return Err(AppError::CsrfRejected);
        }
    }
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    if !is_form {
        return Err(AppError::BadRequest(
            "This page only accepts its own forms.".into(),
        ));
    }
    let bytes = axum::body::to_bytes(body, 1024 * 1024)
        .await
        .map_err(|_| AppError::TooLarge)?;
    let sent: Option<String> = serde_urlencoded::from_bytes::<Vec<(String, String)>>(&bytes)
        .ok()
        .and_then(|fields| {
            fields
                .into_iter()
                .find(|(k, _)| k == "csrf")
                .map(|(_, v)| v)
        });
    let expected = session.get::<String>("csrf").await?;
    match (sent, expected) {
        (Some(s), Some(e)) if Sha256::digest(s.as_bytes()) == Sha256::digest(e.as_bytes()) => {
            Ok(next
                .run(Request::from_parts(parts, Body::from(bytes)))
                .await)
        }
        _ => Err(AppError::CsrfRejected),
    }
}
