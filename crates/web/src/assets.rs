//! The static files in `web/`, embedded in the binary at build time so Kitroom runs
//! from any folder. Their URLs carry the version, so browsers may cache them.

use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;

use crate::AppState;

pub const CSS: &str = include_str!("../../../web/kitroom.css");
pub const JS: &str = include_str!("../../../web/kitroom.js");
pub const ICON: &str = include_str!("../../../web/icon.svg");
/// The QR decoder for phones whose browser has no `BarcodeDetector` (web/jsqr/).
pub const JSQR: &str = include_str!("../../../web/jsqr/jsQR.js");
pub const JSQR_LICENSE: &str = include_str!("../../../web/jsqr/LICENSE");

pub const CSS_URL: &str = concat!("/static/kitroom.css?v=", env!("CARGO_PKG_VERSION"));
pub const JS_URL: &str = concat!("/static/kitroom.js?v=", env!("CARGO_PKG_VERSION"));
pub const ICON_URL: &str = "/static/icon.svg";
pub const JSQR_URL: &str = "/static/jsQR.js?v=1.4.0";

fn asset(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "public, max-age=86400"),
        ],
        body,
    )
}

pub fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/static/kitroom.css",
            get(|| async { asset("text/css; charset=utf-8", CSS) }),
        )
        .route(
            "/static/kitroom.js",
            get(|| async { asset("text/javascript; charset=utf-8", JS) }),
        )
        .route(
            "/static/jsQR.js",
            get(|| async { asset("text/javascript; charset=utf-8", JSQR) }),
        )
        .route(
            "/static/jsQR.LICENSE.txt",
            get(|| async { asset("text/plain; charset=utf-8", JSQR_LICENSE) }),
        )
        .route(
            "/static/icon.svg",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
        .route(
            "/favicon.ico",
            get(|| async { asset("image/svg+xml", ICON) }),
        )
}
