//! Importing CSV files: upload, map columns, preview every problem, confirm.

use axum::Router;

use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
}
