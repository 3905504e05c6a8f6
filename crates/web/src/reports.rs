//! The manager's reports, as pages (with SVG charts) and as CSV.

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
