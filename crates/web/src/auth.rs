//! Who is asking, and may they?
//!
//! - Pages use the session cookie: [`Ctx`] is the signed-in person, their CSRF token
//!   and any one-time notice. A page asks for a [`Permission`] with [`Ctx::require`].
//! - The API uses personal tokens: [`ApiUser`].
//! - Every form post passes [`csrf_guard`] before its handler sees it.
//! - Sign-in is throttled per account and per address ([`Throttle`]).

use std::collections::HashMap;
use std::net::SocketAddr;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use axum::body::Body;
use axum::extract::{ConnectInfo, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method, Request, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::Utc;
use kitroom_core::person::{new_password, PasswordOwner, Permission, PersonInput, Role};
use kitroom_core::throttle::{
    cut, decide, wait_words, Decision, Refusal, PASSWORD_MAX, USERNAME_MAX,
};
use kitroom_core::Invalid;
use kitroom_store::people::Person;
use kitroom_store::throttle::{Refusals, Step};
use kitroom_store::tokens::{TokenCheck, USE_NOTED_EVERY};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use tower_sessions::Session;
use uuid::Uuid;

use crate::error::ApiError;
use crate::session::PERSON_KEY;
use crate::views::auth as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/setup", get(setup_page).post(setup))
}

/// 32 random bytes from the operating system, as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How an API token is stored: its SHA-256. Tokens are random, so no salt is needed.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A new personal API token: `kr_` and 64 hex digits.
pub fn new_api_token() -> String {
    format!("kr_{}", random_token())
}

fn hashing_permits() -> &'static tokio::sync::Semaphore {
    kitroom_app::password::permits()
}

/// Hashes a password with argon2id, off the async threads: see
/// [`kitroom_app::password::hash`].
pub async fn hash_password(password: String) -> Result<String, AppError> {
    Ok(kitroom_app::password::hash(password).await?)
}

/// Checks a password against a stored hash, off the async threads. With no hash (an
/// unknown username), a dummy hash is checked so the answer takes as long either way.
pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    let Ok(_permit) = hashing_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let dummy = dummy_hash();
        let (hash, real) = match hash {
            Some(h) => (h, true),
            None => (dummy.to_owned(), false),
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && real
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// How long a stretch of refused attempts from one address with input longer than
/// any that could be right is gathered before it is written down.
const TOO_LONG_STRETCH: chrono::Duration = chrono::Duration::minutes(1);

/// The most stretches of refused attempts gathered at once; beyond it, attempts are
/// only counted (and that count logged).
const GATHERED_MAX: usize = 1_000;

/// Attempts refused without being checked, gathered in memory by what was refused,
/// the username typed (cut) and the address, until their stretch of time ends; then
/// each stretch becomes one event with its number of attempts
/// ([`AppState::write_sign_in_refusals`]) and one line in the server's log. The
/// throttle's decisions themselves rest on the counts of failures in the database
/// ([`kitroom_core::throttle`]); this only spares the disk one event per refusal.
#[derive(Debug, Default)]
pub struct Throttle {
    gathering: HashMap<(&'static str, String, String), Gathered>,
    ended: Vec<Refusals>,
    /// Refusals not gathered because too many stretches were open.
    uncounted: u64,
}

/// Over-long input, gathered by address alone (a sample of what was typed is kept).
const TOO_LONG: &str = "person.sign_in_too_long";

#[derive(Debug, Clone)]
struct Gathered {
    /// The first username typed in the stretch, cut.
    sample: String,
    attempts: u64,
    from: chrono::DateTime<Utc>,
    until: chrono::DateTime<Utc>,
}

impl Throttle {
    /// Counts one refused attempt, whose refusal lasts `until`. True when it is the
    /// first of its stretch, so the caller logs one line for the stretch.
    pub(crate) fn refused(
        &mut self,
        action: &'static str,
        username: &str,
        address: &str,
        now: chrono::DateTime<Utc>,
        until: chrono::DateTime<Utc>,
    ) -> bool {
        let sample = cut(username, USERNAME_MAX);
        let keyed = if action == TOO_LONG {
            String::new()
        } else {
            sample.clone()
        };
        let key = (action, keyed, address.to_owned());
        if let Some(g) = self.gathering.get_mut(&key) {
            if g.until > now {
                g.attempts += 1;
                g.until = g.until.max(until);
                return false;
            }
            if let Some(g) = self.gathering.remove(&key) {
                self.end(&key, g);
            }
        }
        if self.gathering.len() >= GATHERED_MAX {
            self.uncounted += 1;
            return self.uncounted == 1;
        }
        self.gathering.insert(
            key,
            Gathered {
                sample,
                attempts: 1,
                from: now,
                until,
            },
        );
        true
    }

    fn end(&mut self, key: &(&'static str, String, String), g: Gathered) {
        if self.ended.len() >= GATHERED_MAX {
            self.uncounted += g.attempts;
            return;
        }
        self.ended.push(Refusals {
            action: key.0,
            username: g.sample,
            address: key.2.clone(),
            attempts: g.attempts,
            from: g.from,
            until: g.until,
        });
    }

    /// The stretches that have ended by `now`, and the attempts refused uncounted.
    fn take_ended(&mut self, now: chrono::DateTime<Utc>) -> (Vec<Refusals>, u64) {
        let done: Vec<_> = self
            .gathering
            .iter()
            .filter(|(_, g)| g.until <= now)
            .map(|(k, g)| (k.clone(), g.clone()))
            .collect();
        for (key, g) in done {
            self.gathering.remove(&key);
            self.end(&key, g);
        }
        (
            std::mem::take(&mut self.ended),
            std::mem::take(&mut self.uncounted),
        )
    }
}

impl AppState {
    fn throttle(&self) -> std::sync::MutexGuard<'_, Throttle> {
        self.inner
            .throttle
            .lock()
            .unwrap_or_else(|e| e.into_inner())
    }

    /// Counts a refused attempt ([`Throttle::refused`]).
    pub(crate) fn throttle_refused(
        &self,
        action: &'static str,
        username: &str,
        address: &str,
        now: chrono::DateTime<Utc>,
        until: chrono::DateTime<Utc>,
    ) -> bool {
        self.throttle()
            .refused(action, username, address, now, until)
    }

    /// Writes each stretch of refused sign-ins that has ended by `now` as one event
    /// with its number of attempts. The server does this once a tick; returns how
    /// many events it wrote.
    pub async fn write_sign_in_refusals(
        &self,
        now: chrono::DateTime<Utc>,
    ) -> Result<usize, kitroom_store::StoreError> {
        let (ended, uncounted) = self.throttle().take_ended(now);
        if uncounted > 0 {
            tracing::warn!(
                attempts = uncounted,
                "sign-ins refused while too many others were being counted"
            );
        }
        let written = ended.len();
        for r in ended {
            tracing::info!(
                action = r.action,
                username = r.username,
                address = r.address,
                attempts = r.attempts,
                "sign-ins refused without being checked"
            );
            self.store().record_sign_in_refusals(r).await?;
        }
        Ok(written)
    }
}

/// The longest client address kept (an IPv6 address is at most 45 characters).
const ADDRESS_MAX: usize = 64;

/// The client's address: the TCP peer, or behind a trusted proxy the last
/// `X-Forwarded-For` entry (the one the proxy itself added), at most
/// [`ADDRESS_MAX`] characters.
pub fn client_address(headers: &HeaderMap, peer: Option<SocketAddr>, trust_proxy: bool) -> String {
    if trust_proxy {
        if let Some(last) = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|s| !s.is_empty())
        {
            return last.chars().take(ADDRESS_MAX).collect();
        }
    }
    peer.map(|p| p.ip().to_string())
        .unwrap_or_else(|| "unknown".into())
}

/// The client's address as [`client_address`] reads it, for throttling and the log.
pub struct ClientAddr(pub String);

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0);
        Ok(ClientAddr(client_address(
            &parts.headers,
            peer,
            state.config().trust_proxy,
        )))
    }
}

/// The signed-in person on a page, with the CSRF token for the page's forms and a
/// notice left by the previous request ("Device saved").
pub struct Ctx {
    pub user: Person,
    pub csrf: String,
    pub flash: Option<String>,
    pub session: Session,
    /// Unread notifications, for the count in the menu.
    pub unread: i64,
}

impl Ctx {
    /// Refuses unless the person's role allows `p`.
    pub fn require(&self, p: Permission) -> Result<(), AppError> {
        if self.user.role.may(p) {
            Ok(())
        } else {
            Err(AppError::Forbidden)
        }
    }

    pub fn may(&self, p: Permission) -> bool {
        self.user.role.may(p)
    }
}

/// Leaves a notice for the next page this session sees.
pub async fn set_flash(session: &Session, message: impl Into<String>) -> Result<(), AppError> {
    session.insert("flash", message.into()).await?;
    Ok(())
}

/// The session's CSRF token, made on first use.
pub async fn csrf_token(session: &Session) -> Result<String, AppError> {
    if let Some(t) = session.get::<String>("csrf").await? {
        return Ok(t);
    }
    let t = random_token();
    session.insert("csrf", &t).await?;
    Ok(t)
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
    let person = state.store().person_by_id(id).await?;
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
            .settings()
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
    // Removing marks the session changed (and so written back) even when the key
    // is absent: only remove a notice that is there, so a plain page view is a read.
    let flash = match session.get::<String>("flash").await? {
        Some(_) => session.remove::<String>("flash").await?,
        None => None,
    };
    let unread = state.store().unread_notifications(user.id).await?;
    Ok(Ctx {
        user,
        csrf,
        flash,
        session,
        unread,
    })
}

/// The owner of the API token in the `Authorization: Bearer` header.
pub struct ApiUser(pub Person);

impl ApiUser {
    pub fn require(&self, p: Permission) -> Result<(), ApiError> {
        if self.0.role.may(p) {
            Ok(())
        } else {
            Err(ApiError::forbidden())
        }
    }
}

impl FromRequestParts<AppState> for ApiUser {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .ok_or_else(ApiError::unauthorized)?;
        let now = Utc::now();
        let (id, owner, last_used_at) =
            match state.store().check_token(&token_hash(token), now).await? {
                TokenCheck::Live {
                    id,
                    owner,
                    last_used_at,
                } => (id, owner, last_used_at),
                TokenCheck::Expired { at } => return Err(ApiError::token_expired(at)),
                TokenCheck::Unknown => return Err(ApiError::unauthorized()),
            };
        let person = state.store().person_by_id(owner).await?;
        let person = match person {
            Some(p) if p.active => p,
            _ => return Err(ApiError::unauthorized()),
        };
        // The last use is written at most once a minute, so a busy script's calls
        // stay reads.
        if last_used_at.is_none_or(|t| now - t >= USE_NOTED_EVERY) {
            state.store().note_token_used(id, now).await?;
        }
        Ok(ApiUser(person))
    }
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
        axum::extract::Form::<T>::from_request(req, state)
            .await
            .map(|f| FormBody(f.0))
            .map_err(|_| {
                AppError::BadRequest(
                    "The form could not be read. Go back, reload the page and try again.".into(),
                )
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

/// The longest address to go to after signing in that is kept (it is carried in the
/// form and, during the second step, in the session).
const NEXT_MAX: usize = 2_000;

/// Where to go after signing in: a page of this site, or home.
///
/// `next` comes from a link anyone can write, so it is read the way a browser
/// would read it in a `Location` header: a browser drops tabs and newlines, turns
/// backslashes into slashes and takes `//host` for another site, so `/\t/evil`
/// would lead away. Anything longer than [`NEXT_MAX`], or with a control
/// character, a space, a backslash or a character a header cannot carry, is
/// refused outright; what is left must resolve, by the WHATWG URL rules the `url`
/// crate implements, to a path on this site, and the answer is that resolved path
/// (so it is always a valid header).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.and_then(site_path).unwrap_or_else(|| "/".to_owned())
}

fn site_path(next: &str) -> Option<String> {
    if next.len() > NEXT_MAX
        || !next.starts_with('/')
        || next.starts_with("//")
        || !next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return None;
    }
    let base = url::Url::parse("http://kitroom.invalid/").ok()?;
    let to = base.join(next).ok()?;
    (to.origin() == base.origin()).then(|| to[url::Position::BeforePath..].to_owned())
}

/// The browser's own description of itself, for the list of sessions.
pub(crate) fn user_agent(headers: &HeaderMap) -> &str {
    headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// Makes `session` a signed-in session of `person`: a fresh session id (so an id
/// planted before sign-in is worthless), a fresh CSRF token, and when, from where
/// and from which browser it signed in, for the person's list of sessions.
pub(crate) async fn begin_session(
    session: &Session,
    person: Uuid,
    address: &str,
    browser: &str,
) -> Result<(), AppError> {
    let now = Utc::now().timestamp();
    session.cycle_id().await?;
    session.insert(PERSON_KEY, person).await?;
    session
        .insert(crate::session::SIGNED_IN_AT_KEY, now)
        .await?;
    session.insert(crate::session::SEEN_KEY, now).await?;
    session
        .insert(crate::session::ADDRESS_KEY, truncate(address, 100))
        .await?;
    session
        .insert(crate::session::BROWSER_KEY, truncate(browser, 300))
        .await?;
    session.insert("csrf", random_token()).await?;
    Ok(())
}

fn truncate(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginQuery {
    next: Option<String>,
    signed_out: Option<String>,
}

async fn login_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<LoginQuery>,
) -> Result<Response, AppError> {
    if session.get::<Uuid>(PERSON_KEY).await?.is_some() {
        return Ok(Redirect::to(&safe_next(q.next.as_deref())).into_response());
    }
    if state.store().count_people().await? == 0 {
        return Ok(v::no_accounts_yet().into_response());
    }
    let csrf = csrf_token(&session).await?;
    let notice = q.signed_out.map(|_| "You have signed out.");
    Ok(v::login(&csrf, "", q.next.as_deref().unwrap_or(""), None, notice).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct LoginForm {
    username: String,
    password: String,
    next: String,
}

async fn login(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    FormBody(form): FormBody<LoginForm>,
) -> Result<Response, AppError> {
    let csrf = csrf_token(&session).await?;
    // What is shown back on the form is bounded too: a huge username is not echoed.
    let typed = cut(form.username.trim(), USERNAME_MAX);
    let next = safe_next(Some(&form.next));
    let refuse = |status: StatusCode, message: String| {
        (status, v::login(&csrf, &typed, &next, Some(&message), None)).into_response()
    };
    // Every input is bounded before any work is done: nothing longer than the
    // longest username or password can be right, so it is refused at once, counted
    // in memory and never hashed, looked up or written down in full.
    let too_long = if form.username.trim().chars().nth(USERNAME_MAX).is_some() {
        Some(format!("That is longer than any username: usernames are at most {USERNAME_MAX} characters. Check what you typed."))
    } else if form.password.chars().nth(PASSWORD_MAX).is_some() {
        Some(format!("That is longer than any password Kitroom accepts (at most {PASSWORD_MAX} characters), so it cannot be right. Check what you typed."))
    } else {
        None
    };
    if let Some(message) = too_long {
        let now = Utc::now();
        let first = state.throttle().refused(
            TOO_LONG,
            form.username.trim(),
            &address,
            now,
            now + TOO_LONG_STRETCH,
        );
        if first {
            tracing::warn!(
                username = typed,
                address,
                "sign-in with a username or password longer than any refused; more from this address in the next minute are counted, not logged"
            );
        }
        return Ok(refuse(StatusCode::UNPROCESSABLE_ENTITY, message));
    }
    let username = form.username.trim().to_lowercase();
    if username.is_empty() || form.password.is_empty() {
        return Ok(refuse(
            StatusCode::UNPROCESSABLE_ENTITY,
            "Enter your username and password.".into(),
        ));
    }
    let now = Utc::now();
    let counts = state.store().sign_in_counts(&username, &address).await?;
    match decide(&counts, now) {
        Decision::Wait { until, why } => {
            let first = state.throttle().refused(
                "person.sign_in_throttled",
                &username,
                &address,
                now,
                until,
            );
            if first {
                tracing::warn!(username, address, %until, ?why, "sign-in throttled; further attempts until then are counted, not logged");
            }
            return Ok(refuse(
                StatusCode::TOO_MANY_REQUESTS,
                wait_message(why, until - now),
            ));
        }
        Decision::Check { delay } => {
            if let Ok(delay) = delay.to_std() {
                // A busy address is slowed, never refused: everyone behind a
                // school's one public address still gets in.
                tokio::time::sleep(delay).await;
            }
        }
    }
    let person = state.store().person_by_username(&username).await?;
    let hash = person.as_ref().and_then(|p| p.password_hash.clone());
    if !verify_password(hash, form.password.clone()).await {
        tracing::info!(username, address, "sign-in failed");
        state
            .store()
            .record_sign_in_failed(Step::Password, username.clone(), address.clone(), now)
            .await?;
        return Ok(refuse(
            StatusCode::UNAUTHORIZED,
            "The username or password is not right. Check them and try again.".into(),
        ));
    }
    let Some(person) = person else {
        return Err(AppError::Internal(
            "a password matched without a person".into(),
        ));
    };
    if !person.active {
        return Ok(refuse(
            StatusCode::FORBIDDEN,
            "This account has been deactivated. If you still need Kitroom, ask the business manager.".into(),
        ));
    }
    if state
        .store()
        .two_factor(person.id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        // The password was right; the sign-in waits for the authenticator's code.
        crate::two_factor::await_code(&session, person.id, &next).await?;
        return Ok(Redirect::to("/login/code").into_response());
    }
    begin_session(&session, person.id, &address, user_agent(&headers)).await?;
    state.store().record_sign_in(&person, true, address).await?;
    Ok(Redirect::to(&next).into_response())
}

/// What a person refused by the throttle is told, for the password and the code
/// alike.
pub(crate) fn wait_message(why: Refusal, wait: chrono::Duration) -> String {
    match why {
        Refusal::Pair => format!(
            "Too many failed sign-ins to this account from here. For your security, wait {} and try again. If you have forgotten your password, ask the business manager to reset it.",
            wait_words(wait)
        ),
        Refusal::Account => format!(
            "This account has had too many failed sign-ins in the last hour, from more than one place. For the next {}, it can sign in only where it has signed in lately, such as at school. Tell the IT administrator: someone may be trying to guess its password.",
            wait_words(wait)
        ),
    }
}

async fn logout(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
) -> Result<Response, AppError> {
    if let Some(id) = session.get::<Uuid>(PERSON_KEY).await? {
        if let Some(person) = state.store().person_by_id(id).await? {
            state
                .store()
                .record_sign_in(&person, false, address)
                .await?;
        }
    }
    session.flush().await?;
    Ok(Redirect::to("/login?signed_out=1").into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct SetupQuery {
    token: String,
}

fn setup_token_matches(state: &AppState, token: &str) -> bool {
    let guard = state
        .inner
        .setup_token
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    guard.as_deref().is_some_and(|t| {
        !token.is_empty() && Sha256::digest(t.as_bytes()) == Sha256::digest(token.as_bytes())
    })
}

async fn setup_page(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<SetupQuery>,
) -> Result<Response, AppError> {
    if state.store().count_people().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    if !setup_token_matches(&state, &q.token) {
        return Ok((StatusCode::FORBIDDEN, v::setup_link_wrong()).into_response());
    }
    let csrf = csrf_token(&session).await?;
    Ok(v::setup(&csrf, &q.token, &SetupForm::default(), &Invalid::new()).into_response())
}

#[derive(Deserialize, Default, Clone)]
#[serde(default)]
pub struct SetupForm {
    pub token: String,
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub position: String,
    pub password: String,
    pub confirm: String,
}

impl SetupForm {
    /// The form as shown back with its errors: each field cut to a length beyond
    /// every limit (so a value just too long is still there to shorten), and no
    /// longer, whatever was sent.
    fn shown_back(&self) -> SetupForm {
        const SHOWN: usize = 300;
        let c = |s: &str| s.chars().take(SHOWN).collect::<String>();
        SetupForm {
            token: c(&self.token),
            username: c(&self.username),
            full_name: c(&self.full_name),
            email: c(&self.email),
            position: c(&self.position),
            password: String::new(),
            confirm: String::new(),
        }
    }
}

async fn setup(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    FormBody(form): FormBody<SetupForm>,
) -> Result<Response, AppError> {
    if state.store().count_people().await? > 0 {
        return Ok(Redirect::to("/login").into_response());
    }
    if !setup_token_matches(&state, &form.token) {
        return Ok((StatusCode::FORBIDDEN, v::setup_link_wrong()).into_response());
    }
    let input = PersonInput {
        username: form.username.clone(),
        full_name: form.full_name.clone(),
        email: form.email.clone(),
        position: form.position.clone(),
        kind: "staff".into(),
        role: Role::Admin.as_str().into(),
    };
    let mut invalid = Invalid::new();
    let details = input.parse().map_err(|e| invalid.0.extend(e.0)).ok();
    let school_name = state.store().settings().await?.school_name;
    let owner = PasswordOwner {
        username: &form.username,
        full_name: &form.full_name,
        school_name: &school_name,
    };
    let password = invalid.check("password", new_password(&form.password, &owner));
    if password.is_some() && form.password != form.confirm {
        invalid.add("confirm", "The two passwords are not the same.");
    }
    let csrf = csrf_token(&session).await?;
    let (Some(details), Some(password), true) = (details, password, invalid.is_empty()) else {
        let shown = form.shown_back();
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v::setup(&csrf, &shown.token, &shown, &invalid),
        )
            .into_response());
    };
    let hash = hash_password(password).await?;
    let person = match state.store().create_first_admin(details, hash).await {
        Ok(p) => p,
        Err(kitroom_store::StoreError::Invalid(_)) => {
            return Ok(Redirect::to("/login").into_response())
        }
        Err(e) => return Err(e.into()),
    };
    *state
        .inner
        .setup_token
        .lock()
        .unwrap_or_else(|e| e.into_inner()) = None;
    tracing::info!(
        username = person.username,
        "first admin account created through the setup link"
    );
    begin_session(&session, person.id, &address, user_agent(&headers)).await?;
    set_flash(&session, format!("Welcome, {}. Your admin account is ready. Start by registering a device or adding people.", person.full_name)).await?;
    Ok(Redirect::to("/devices").into_response())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_a_path_of_this_site_is_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/devices?q=ipad#top")),
            "/devices?q=ipad#top"
        );
        assert_eq!(safe_next(Some("/a/../loans")), "/loans");
        for away in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil.example",
            "/\n",
            "/é",
            "",
        ] {
            assert_eq!(safe_next(Some(away)), "/", "{away:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}

#[cfg(test)]
mod throttle_tests {
    use super::*;

    #[test]
    fn a_thousand_over_long_sign_ins_from_one_address_become_one_cut_entry() {
        let t0 = Utc::now();
        let mut t = Throttle::default();
        let huge = "b".repeat(100_000);
        for i in 0..1000 {
            let typed = format!("u{i}{huge}");
            let now = t0 + chrono::Duration::milliseconds(i);
            let first = t.refused(TOO_LONG, &typed, "192.0.2.1", now, now + TOO_LONG_STRETCH);
            assert_eq!(first, i == 0);
        }
        assert!(
            t.take_ended(t0).0.is_empty(),
            "nothing until the minute ends"
        );
        let (ended, uncounted) = t.take_ended(t0 + chrono::Duration::hours(1));
        assert_eq!(uncounted, 0);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].attempts, 1000);
        assert_eq!(ended[0].username.chars().count(), USERNAME_MAX + 1);
        assert!(ended[0].username.starts_with("u0bbb"));
    }

    #[test]
    fn refusals_gathered_at_once_are_bounded() {
        let now = Utc::now();
        let mut t = Throttle::default();
        for i in 0..(GATHERED_MAX + 500) {
            t.refused(
                "person.sign_in_throttled",
                &format!("user{i}"),
                "192.0.2.1",
                now,
                now + chrono::Duration::minutes(1),
            );
        }
        assert_eq!(t.gathering.len(), GATHERED_MAX);
        let (ended, uncounted) = t.take_ended(now + chrono::Duration::hours(1));
        assert_eq!(ended.len(), GATHERED_MAX);
        assert_eq!(uncounted, 500);
    }
}
