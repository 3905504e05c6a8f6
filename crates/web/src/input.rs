//! What a request carries, read leniently: a form or query string that cannot be read
//! gets a plain 400 with a message a person understands, an id that is not one is
//! simply not found.

use axum::body::Body;
use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::Request;
use serde::Deserialize;
use uuid::Uuid;

use crate::AppError;

/// A form body, read leniently: missing fields are empty, and a body that cannot be
/// read at all gets a plain 400.
pub struct FormBody<T>(pub T);

impl<T, S> axum::extract::FromRequest<S> for FormBody<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request(req: Request<Body>, state: &S) -> Result<Self, Self::Rejection> {
        let unreadable = || {
            AppError::BadRequest(
                "The form could not be read. Go back, reload the page and try again.".into(),
            )
        };
        // The CSRF field was checked by the guard; the rest is the handler's input,
        // which may refuse fields it does not know (a command's input does).
        let axum::extract::Form(pairs) =
            axum::extract::Form::<Vec<(String, String)>>::from_request(req, state)
                .await
                .map_err(|_| unreadable())?;
        let fields: Vec<&(String, String)> = pairs.iter().filter(|(k, _)| k != "csrf").collect();
        let encoded = serde_urlencoded::to_string(&fields).map_err(|_| unreadable())?;
        serde_urlencoded::from_str(&encoded)
            .map(FormBody)
            .map_err(|_| unreadable())
    }
}

/// A form sent from a confirmation step: whether it carries `confirm=yes`, and
/// its other fields as sent (to show again on the confirmation page), read into
/// the operation's input.
pub struct Confirmable<T> {
    pub confirmed: bool,
    pub fields: Vec<(String, String)>,
    pub input: T,
}

impl<T: serde::de::DeserializeOwned> Confirmable<T> {
    pub fn read(pairs: Vec<(String, String)>) -> Result<Self, AppError> {
        let confirmed = pairs.iter().any(|(k, v)| k == "confirm" && v == "yes");
        let fields: Vec<(String, String)> =
            pairs.into_iter().filter(|(k, _)| k != "confirm").collect();
        let input = serde_urlencoded::to_string(&fields)
            .ok()
            .and_then(|f| serde_urlencoded::from_str(&f).ok())
            .ok_or_else(|| {
                AppError::BadRequest(
                    "The form could not be read. Go back, reload the page and try again.".into(),
                )
            })?;
        Ok(Confirmable {
            confirmed,
            fields,
            input,
        })
    }
}

/// A page's query string, read leniently like [`FormBody`]: a value that cannot be
/// read (a page number of "abc") gets a plain 400 instead of axum's text.
pub struct QueryParams<T>(pub T);

impl<T, S> FromRequestParts<S> for QueryParams<T>
where
    T: serde::de::DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        Query::<T>::from_request_parts(parts, state).await.map(|q| QueryParams(q.0)).map_err(|_| {
            AppError::BadRequest("This address has a filter or page number Kitroom cannot read. Go back to the list and try again.".into())
        })
    }
}

/// An id from the path; one that is not an id is simply not found.
pub fn parse_id(s: &str) -> Result<Uuid, AppError> {
    Uuid::parse_str(s).map_err(|_| AppError::NotFound)
}

/// A checkbox: present ("on") when ticked, absent otherwise.
pub fn checkbox<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    let v = String::deserialize(d)?;
    Ok(matches!(v.as_str(), "on" | "true" | "1" | "yes"))
}
