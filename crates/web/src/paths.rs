//! Where things live: the address of each page that a link, a redirect or a label
//! points to. Pages and views both build their addresses here, so no view needs the
//! handler that serves the page.

use kitroom_store::incidents::Incident;
use kitroom_store::stocktakes::Stocktake;
use serde::Deserialize;
use uuid::Uuid;

/// Percent-encodes one value for a query string.
pub fn url_encode(s: &str) -> String {
    serde_urlencoded::to_string([("", s)])
        .map(|e| e[1..].to_owned())
        .unwrap_or_default()
}

/// The page of the device with this tag.
pub fn device_url(tag: &str) -> String {
    format!("/devices/{}", url_encode(tag))
}

/// The page of a set.
pub fn kit_url(id: Uuid) -> String {
    format!("/sets/{id}")
}

/// The page of an incident.
pub fn incident_url(i: &Incident) -> String {
    format!("/incidents/{}", i.id)
}

/// The page of a person.
pub fn person_url(username: &str) -> String {
    format!("/people/{}", url_encode(username))
}

/// A person's history report: everything Kitroom holds on them.
pub fn person_history_url(username: &str) -> String {
    format!("/reports/people/{}", url_encode(username))
}

/// The page of a stocktake.
pub fn stocktake_url(s: &Stocktake) -> String {
    format!("/stocktakes/{}", s.id)
}

/// The list's filters as they arrive in the query string. Unknown words are ignored
/// rather than refused: a bookmarked list keeps working.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ListQuery {
    pub q: String,
    pub status: String,
    pub kind: String,
    pub location: String,
    pub encryption: String,
    /// A page number, from bookmarks made before the list paged by key.
    pub page: Option<i64>,
    /// The page after this tag (the Next link).
    pub after: String,
    /// The page before this tag (the Previous link).
    pub before: String,
    /// The last page.
    #[serde(deserialize_with = "crate::input::checkbox")]
    pub last: bool,
}
