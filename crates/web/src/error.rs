//! Errors, as a person or a script sees them.
//!
//! Pages answer with [`AppError`], rendered as a short HTML page in plain words. The
//! API answers with [`ApiError`], rendered as `application/problem+json` with a
//! stable `type`. Internal errors are logged with their whole cause chain and a
//! reference; the person sees only the apology and the reference.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use kitroom_app::{Kind, Refusal};
use kitroom_core::Invalid;
use kitroom_store::StoreError;
use serde_json::{json, Value};

use crate::views;

/// An error on a page.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// 303 to the sign-in page, coming back to `next` afterwards.
    #[error("sign in required")]
    SignInRequired { next: String },
    /// 303 to setting up two-step sign-in, which the school requires for this role.
    #[error("two-step sign-in must be set up first")]
    TwoFactorSetupRequired,
    /// 403: signed in, but this role may not do this.
    #[error("forbidden")]
    Forbidden,
    /// 404.
    #[error("not found")]
    NotFound,
    /// 405.
    #[error("method not allowed")]
    MethodNotAllowed,
    /// 400: the request could not be read at all (a form that did not come from ours).
    #[error("{0}")]
    BadRequest(String),
    /// 413: the form was larger than Kitroom accepts.
    #[error("too large")]
    TooLarge,
    /// 403: the form's CSRF token was missing or wrong.
    #[error("the form has expired")]
    CsrfRejected,
    /// 409: the change is not possible in the thing's current state.
    #[error("{0}")]
    Conflict(String),
    /// An operation's refusal, with its kind (see [`status_of`]).
    #[error(transparent)]
    Refused(Box<Refusal>),
    /// 503: the disk holding the database is full; nothing was changed.
    #[error("storage is full")]
    StorageFull,
    /// 500: logged, never shown.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl AppError {
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> AppError {
        AppError::Internal(Box::new(e))
    }
}

/// The one mapping from a refusal's kind to its HTTP status, for pages and the
/// API alike.
pub fn status_of(kind: Kind) -> StatusCode {
    match kind {
        Kind::NotAllowed => StatusCode::FORBIDDEN,
        Kind::NotFound => StatusCode::NOT_FOUND,
        Kind::Conflict => StatusCode::CONFLICT,
        Kind::Invalid => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// A refusal to show on the form again; "not allowed", "not found" and failures
/// get their own pages.
pub fn page_refusal(e: kitroom_app::Error) -> Result<kitroom_app::Refusal, AppError> {
    match e {
        kitroom_app::Error::Refused(r) if !matches!(r.kind, Kind::NotAllowed | Kind::NotFound) => {
            Ok(*r)
        }
        other => Err(other.into()),
    }
}

/// The answer to a refused form that is only buttons (a status change, a move to
/// another school), with no fields to show a problem beside: an invalid request is
/// a bad request with its message; any other refusal its own page.
pub fn button_refusal(e: kitroom_app::Error) -> AppError {
    match page_refusal(e) {
        Ok(r) if r.kind == Kind::Invalid => AppError::BadRequest(r.message),
        Ok(r) => AppError::Refused(Box::new(r)),
        Err(e) => e,
    }
}

/// What a refused form shows beside its fields: the refusal's own field problems,
/// or else its message beside `field` (a refusal about no one field, shown there).
pub fn refusal_fields(refusal: &kitroom_app::Refusal, field: &'static str) -> Invalid {
    refusal
        .fields
        .clone()
        .unwrap_or_else(|| Invalid::one(field, refusal.message.clone()))
}

impl From<kitroom_app::Error> for AppError {
    fn from(e: kitroom_app::Error) -> Self {
        match e {
            kitroom_app::Error::Refused(r) => match r.kind {
                Kind::NotAllowed => AppError::Forbidden,
                Kind::NotFound => AppError::NotFound,
                _ => AppError::Refused(r),
            },
            kitroom_app::Error::Failed(e) => e.into(),
            kitroom_app::Error::Internal(e) => AppError::Internal(e.into()),
        }
    }
}

impl From<kitroom_app::Error> for ApiError {
    fn from(e: kitroom_app::Error) -> Self {
        match e {
            kitroom_app::Error::Refused(r) => ApiError::from(*r),
            kitroom_app::Error::Failed(e) => e.into(),
            e @ kitroom_app::Error::Internal(_) => {
                let reference = log_internal(&e);
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("Something went wrong on our side and nothing was changed. Reference {reference}."),
                )
            }
        }
    }
}

impl From<Refusal> for ApiError {
    fn from(r: Refusal) -> Self {
        ApiError {
            status: status_of(r.kind),
            kind: r.code,
            detail: r.message,
            errors: r.fields,
            extra: r.extra,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => AppError::NotFound,
            StoreError::Invalid(i) => AppError::Conflict(i.to_string()),
            other if other.is_storage_full() => {
                tracing::error!(error = %other, "the disk holding the database is full");
                AppError::StorageFull
            }
            other => AppError::internal(other),
        }
    }
}

impl From<tower_sessions::session::Error> for AppError {
    fn from(e: tower_sessions::session::Error) -> Self {
        if crate::session::found_disk_full() {
            AppError::StorageFull
        } else {
            AppError::internal(e)
        }
    }
}

/// Writes an error and every cause under it to the log, and returns a short
/// reference to show the person, so a report can be matched to the log line.
pub fn log_internal(e: &(dyn std::error::Error + 'static)) -> String {
    let reference = uuid::Uuid::new_v4().simple().to_string()[..8].to_owned();
    let mut chain = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        chain.push_str(": ");
        chain.push_str(&s.to_string());
        source = s.source();
    }
    tracing::error!(reference, error = %chain, "request failed");
    reference
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let (status, title, message) = match &self {
            AppError::SignInRequired { next } => {
                let to = if next == "/" || next.is_empty() {
                    "/login".to_owned()
                } else {
                    format!("/login?next={}", crate::paths::url_encode(next))
                };
                return Redirect::to(&to).into_response();
            }
            AppError::TwoFactorSetupRequired => {
                return Redirect::to("/account/two-factor").into_response();
            }
            AppError::Forbidden => (
                StatusCode::FORBIDDEN,
                "You cannot do that",
                "Your account does not allow this. If you need it, ask the business manager.".to_owned(),
            ),
            AppError::NotFound => (
                StatusCode::NOT_FOUND,
                "Page not found",
                "There is nothing here. If you typed the address, check it; if you scanned a label, the device may not be registered yet.".to_owned(),
            ),
            AppError::MethodNotAllowed => {
                (StatusCode::METHOD_NOT_ALLOWED, "That did not work", "That page cannot be used this way.".to_owned())
            }
            AppError::BadRequest(m) => (StatusCode::BAD_REQUEST, "That did not work", m.clone()),
            AppError::TooLarge => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "That is too much at once",
                "The form was larger than Kitroom accepts (1 MB). For a big import, use the command line: kitroom import.".to_owned(),
            ),
            AppError::CsrfRejected => (
                StatusCode::FORBIDDEN,
                "The form has expired",
                "For your security, forms expire when you sign out or stay idle. Go back, reload the page and try again.".to_owned(),
            ),
            AppError::Conflict(m) => (StatusCode::CONFLICT, "That cannot be done now", m.clone()),
            AppError::Refused(r) => (status_of(r.kind), "That cannot be done now", r.message.clone()),
            AppError::StorageFull => (
                StatusCode::SERVICE_UNAVAILABLE,
                "Storage is full",
                "Kitroom's storage is full, so nothing was saved. You can still look things up. Tell your IT administrator: the disk holding Kitroom's data needs more space; once it has, saving works again straight away.".to_owned(),
            ),
            AppError::Internal(e) => {
                let reference = log_internal(e.as_ref());
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    format!("Something went wrong on our side and nothing was changed. Please try again; if it keeps happening, tell your IT administrator and quote reference {reference}."),
                )
            }
        };
        (status, views::error_page(title, &message)).into_response()
    }
}

/// An error from the JSON API, as RFC 9457 problem details.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    /// Stable and machine-readable, such as `urn:kitroom:problem:validation`.
    pub kind: &'static str,
    pub detail: String,
    pub errors: Option<Invalid>,
    /// More members for the problem object, such as what is free instead of a
    /// booking that clashed.
    pub extra: Option<(&'static str, Value)>,
}

impl ApiError {
    pub fn new(status: StatusCode, kind: &'static str, detail: impl Into<String>) -> ApiError {
        ApiError {
            status,
            kind,
            detail: detail.into(),
            errors: None,
            extra: None,
        }
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", "Send a personal API token as `Authorization: Bearer <token>`. Create one on your account page.")
    }

    /// A token past its expiry: still 401, with its own type so a script can tell
    /// its owner to make a new one.
    pub fn token_expired(at: chrono::DateTime<chrono::Utc>) -> ApiError {
        ApiError::new(
            StatusCode::UNAUTHORIZED,
            "token-expired",
            format!(
                "This API token expired on {}. Its owner can make a new one on their account page in Kitroom.",
                kitroom_core::time::school_time(at)
            ),
        )
    }

    pub fn forbidden() -> ApiError {
        ApiError::new(
            StatusCode::FORBIDDEN,
            "forbidden",
            "Your account does not allow this.",
        )
    }

    pub fn not_found(what: &str) -> ApiError {
        ApiError::new(
            StatusCode::NOT_FOUND,
            "not-found",
            format!("{what} was not found."),
        )
    }

    pub fn invalid(invalid: Invalid) -> ApiError {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            kind: "validation",
            detail: invalid.to_string(),
            errors: Some(invalid),
            extra: None,
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound => ApiError::not_found("That"),
            StoreError::Invalid(i) => ApiError {
                status: StatusCode::CONFLICT,
                kind: "conflict",
                detail: i.to_string(),
                errors: Some(i),
                extra: None,
            },
            other if other.is_storage_full() => {
                tracing::error!(error = %other, "the disk holding the database is full");
                ApiError::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "storage-full",
                    "Kitroom's storage is full, so nothing was saved. Reading still works; writing resumes as soon as the disk holding Kitroom's data has space again.",
                )
            }
            other => {
                let reference = log_internal(&other);
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("Something went wrong on our side and nothing was changed. Reference {reference}."),
                )
            }
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut body = json!({
            "type": format!("urn:kitroom:problem:{}", self.kind),
            "title": self.status.canonical_reason().unwrap_or("Error"),
            "status": self.status.as_u16(),
            "detail": self.detail,
        });
        if let Some(errors) = self.errors {
            body["errors"] = json!(errors);
        }
        if let Some((name, value)) = self.extra {
            body[name] = value;
        }
        (
            self.status,
            [(header::CONTENT_TYPE, "application/problem+json")],
            body.to_string(),
        )
            .into_response()
    }
}
