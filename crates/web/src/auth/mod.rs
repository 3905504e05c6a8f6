//! Who is asking, and may they? One module a concern:
//!
//! - [`ctx`]: the signed-in person on a page ([`Ctx`]), as the views see it;
//!   [`signed_in`] makes one from the session cookie, checked on every request. A
//!   page asks for a [`Permission`](kitroom_core::person::Permission) with
//!   [`Ctx::require`].
//! - [`api_user`]: the API's caller, by personal token ([`ApiUser`]).
//! - [`csrf`]: every form post passes [`csrf_guard`] before its handler sees it.
//! - [`flash`]: one-time notices for the next page.
//! - [`password`] hashing and [`tokens`].
//! - [`throttle`]: sign-in is throttled per account and per address ([`Throttle`]).
//! - [`client`]: the client's address and browser.
//! - [`sign_in`] and out, and the first admin's [`setup`] link; [`begin`], the
//!   step every way of signing in ends with.
//! - [`by_email`]: "Forgotten your password?" and the pages emailed links open
//!   (invitations and resets).
//! - [`oidc`]: signing in with the school's Google or Microsoft account.
//!
//! The names other modules use are re-exported here; new code may import them from
//! their concern's module.

use axum::routing::{get, post};
use axum::Router;

use crate::AppState;

pub mod api_user;
pub mod begin;
pub mod by_email;
pub mod client;
pub mod csrf;
pub mod ctx;
pub mod flash;
pub mod oidc;
pub mod password;
pub mod setup;
pub mod sign_in;
pub mod signed_in;
pub mod throttle;
pub mod tokens;

pub use api_user::ApiUser;
pub(crate) use begin::safe_next;
pub use client::{client_address, ClientAddr};
pub use csrf::{csrf_guard, csrf_token};
pub use ctx::Ctx;
pub use flash::set_flash;
pub use password::{hash_password, verify_password};
pub use signed_in::SetupCtx;
pub use throttle::Throttle;
pub use tokens::{new_api_token, random_token, token_hash};

pub use crate::input::{checkbox, parse_id, FormBody, QueryParams};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(sign_in::login_page).post(sign_in::login))
        .route("/logout", post(sign_in::logout))
        .route("/setup", get(setup::setup_page).post(setup::setup))
        .route("/forgot", get(by_email::forgot_page).post(by_email::forgot))
        .route(
            "/welcome/{token}",
            get(by_email::welcome_page).post(by_email::welcome),
        )
        .route(
            "/reset/{token}",
            get(by_email::reset_page).post(by_email::reset),
        )
        .route("/sign-in/oidc", get(oidc::start))
        .route("/sign-in/oidc/callback", get(oidc::callback))
}
