//! Kitroom's web app: the pages people use and the JSON API scripts use.
//!
//! A request flows one way: a handler parses and authorises it, `kitroom_core`
//! decides, `kitroom_store` persists the decision with its event, and a view renders
//! the answer. Handlers never hold an unchecked value: forms and JSON bodies are
//! turned into domain types first.
//!
//! # Layout
//! - [`auth`]: who is asking: sessions, sign-in and sign-out, the setup link, CSRF,
//!   login throttling, API tokens, password hashing.
//! - [`session`]: the `tower-sessions` store kept in Kitroom's database.
//! - [`two_factor`]: two-step sign-in (authenticator codes, recovery codes) and the
//!   key, kept outside the database, that seals the secrets.
//! - [`error`]: [`AppError`] for pages and [`error::ApiError`] for the API.
//! - [`devices`], [`locations`], [`people`], [`account`], [`log`], [`policies`],
//!   [`loans`], [`settings`], [`calendar`], [`kits`], [`bookings`], [`checklists`]: the pages, one module per feature, each with its own
//!   `router()`.
//! - [`lend_to`]: whom a loan or booking is for, by username or full name, and the
//!   search that finds people to lend to.
//! - [`markdown`]: policy text rendered safely.
//! - [`spreadsheet`]: what every CSV download has: the byte-order mark Excel needs,
//!   the dated file name, pounds and school times for reports.
//! - [`api`]: the JSON API under `/api/v1`; [`api_bookings`] its bookings and sets;
//!   [`api_incidents`] its incidents, change requests and off-site requests;
//!   [`api_reports`] its reports, exports and imports;
//!   [`api_stocktakes`] its stocktakes; [`api_policies`] its policies; [`api_people`] its accounts, locations,
//!   settings and calendar.
//! - [`openapi`]: the API's router and its OpenAPI document, generated from the
//!   handlers' `#[utoipa::path]` annotations.
//! - [`views`]: maud templates: the layout, shared partials and each feature's pages.
//! - [`assets`]: the CSS and JavaScript in `web/`, embedded in the binary.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderName, HeaderValue, Method};
use axum::Router;
use kitroom_store::Store;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub mod accessories;
pub mod account;
pub mod api;
pub mod api_accessories;
pub mod api_bookings;
pub mod api_devices;
pub mod api_incidents;
pub mod api_people;
pub mod api_policies;
pub mod api_reports;
pub mod api_stocktakes;
pub mod api_words;
pub mod assets;
pub mod auth;
pub mod bookings;
pub mod calendar;
pub mod checklists;
pub mod devices;
pub mod error;
pub mod export;
pub mod import;
pub mod incidents;
pub mod input;
pub mod kits;
pub mod lend_to;
pub mod loans;
pub mod locations;
pub mod log;
pub mod markdown;
pub mod openapi;
pub mod paths;
pub mod people;
pub mod permits;
pub mod policies;
pub mod reports;
pub mod schools;
pub mod session;
pub mod settings;
pub mod spreadsheet;
pub mod stocktakes;
pub mod time;
pub mod two_factor;
pub mod views;

pub use error::AppError;

/// How the app is set up, from the command line or environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Mark the session cookie `Secure` and send HSTS: set when Kitroom is served
    /// over HTTPS (directly or behind a reverse proxy).
    pub secure_cookies: bool,
    /// Take the client's address from the last `X-Forwarded-For` entry, for login
    /// throttling. Only set when a reverse proxy you control sets that header.
    pub trust_proxy: bool,
    /// Sign people out after this long without a request.
    pub idle_timeout: Duration,
    /// Sign people out this long after they signed in, however active they are.
    pub session_lifetime: Duration,
    /// The address people use to reach Kitroom: the only source of links in email.
    /// Without it, emails carry no links (they name the page to open) and QR labels
    /// use the address the label sheet was opened at, with a warning.
    pub public_url: Option<kitroom_core::link::PublicUrl>,
    /// Email through SMTP; `None` keeps notifications in the app only.
    pub mail: Option<MailConfig>,
    /// How often the housekeeping loop runs (charged devices, sessions, backups).
    pub housekeeping_every: Duration,
    /// Take automatic backups this often instead of once a school day: for tests.
    pub backup_every: Option<Duration>,
    /// Send the admins' log witness digest this often instead of once a school day:
    /// for tests.
    pub digest_every: Option<Duration>,
    /// How long a client has to send a request's headers, counted from when its
    /// connection starts waiting for one: just opened, or kept open after an
    /// answer. A connection that has not sent them by then is closed, so this is
    /// also how long an idle kept-alive connection stays open.
    pub header_read_timeout: Duration,
    /// The most connections open at once; `None` sizes it from the process's
    /// open-file limit (see the server).
    pub max_connections: Option<usize>,
    /// Signing in with the school's Google or Microsoft account (OpenID Connect);
    /// needs `public_url` for its callback address.
    pub oidc: Option<OidcConfig>,
}

/// The school's OpenID provider, from `--oidc-issuer` and the settings beside it.
#[derive(Clone)]
pub struct OidcConfig {
    /// Such as `https://accounts.google.com` or
    /// `https://login.microsoftonline.com/<tenant>/v2.0`.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// The school's email domains, lower-case: only verified addresses in these
    /// match someone (and Google's `hd` must be one of them).
    pub allowed_domains: Vec<String>,
}

impl std::fmt::Debug for OidcConfig {
    // The secret never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcConfig")
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("allowed_domains", &self.allowed_domains)
            .finish_non_exhaustive()
    }
}

/// How the last automatic backup went, for the admin's settings page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BackupStatus {
    Written {
        file: String,
        at: chrono::DateTime<chrono::Utc>,
        bytes: u64,
    },
    Failed {
        at: chrono::DateTime<chrono::Utc>,
        reason: String,
    },
}

/// Where and how email is sent.
#[derive(Debug, Clone)]
pub struct MailConfig {
    /// `smtp://host:port` (plain, for a relay on the local network),
    /// `smtp://host:587?tls=required` (STARTTLS) or `smtps://user:pass@host:465`.
    pub smtp_url: String,
    /// The sender, such as `Kitroom <kitroom@school.example>`.
    pub from: String,
    /// The wait after the first failed attempt; it doubles after each failure, up
    /// to six hours (see [`kitroom_core::mail::RetrySchedule`]).
    pub retry_base: Duration,
    /// How many times an email is tried before it is marked failed and shown to the
    /// admins ([`kitroom_core::mail::TRIES`] in production: about two days).
    pub tries: u32,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            secure_cookies: false,
            trust_proxy: false,
            idle_timeout: Duration::from_secs(30 * 60),
            session_lifetime: Duration::from_secs(12 * 3600),
            public_url: None,
            mail: None,
            housekeeping_every: Duration::from_secs(60),
            backup_every: None,
            digest_every: None,
            header_read_timeout: Duration::from_secs(10),
            max_connections: None,
            oidc: None,
        }
    }
}

/// An address to show on the page it was asked for: see [`AppState::page_address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageAddress {
    /// `https://kitroom.school.example`, without a trailing slash.
    pub base: String,
    /// Whether it is the configured public address (else the request's own).
    pub configured: bool,
}

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    store: Store,
    app: kitroom_app::App,
    config: Config,
    throttle: Mutex<auth::Throttle>,
    setup_token: Mutex<Option<String>>,
    mail_wake: Arc<tokio::sync::Notify>,
    secret_key: two_factor::SecretKey,
    backup_status: Mutex<Option<BackupStatus>>,
    oidc: Option<auth::oidc::Provider>,
}

impl AppState {
    /// The app's state; `secret_key` seals two-step sign-in secrets (it is read from
    /// the data directory by the server: [`two_factor::SecretKey::load_or_create`]).
    pub fn new(store: Store, config: Config, secret_key: two_factor::SecretKey) -> AppState {
        let mail_wake = Arc::new(tokio::sync::Notify::new());
        let app =
            kitroom_app::App::new(store.clone(), config.public_url.clone(), mail_wake.clone());
        // The server refuses to start with a provider it cannot use; here, one that
        // cannot be set up is left off (and said so).
        let oidc = match (&config.oidc, &config.public_url) {
            (Some(c), Some(url)) => auth::oidc::Provider::new(c.clone(), url)
                .map_err(|e| tracing::error!(error = e, "signing in with the provider is off"))
                .ok(),
            (Some(_), None) => {
                tracing::error!("signing in with the provider is off: it needs the public address (--public-url)");
                None
            }
            _ => None,
        };
        AppState {
            inner: Arc::new(Inner {
                store,
                app,
                config,
                throttle: Mutex::new(auth::Throttle::default()),
                setup_token: Mutex::new(None),
                mail_wake,
                secret_key,
                backup_status: Mutex::new(None),
                oidc,
            }),
        }
    }

    pub fn store(&self) -> &Store {
        &self.inner.store
    }

    /// The application layer: every operation, once, for pages and API alike.
    pub fn app(&self) -> &kitroom_app::App {
        &self.inner.app
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The school's OpenID provider, when one is configured.
    pub fn oidc(&self) -> Option<&auth::oidc::Provider> {
        self.inner.oidc.as_ref()
    }

    pub fn secret_key(&self) -> &two_factor::SecretKey {
        &self.inner.secret_key
    }

    /// How the last automatic backup since Kitroom started went.
    pub fn backup_status(&self) -> Option<BackupStatus> {
        self.inner
            .backup_status
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn set_backup_status(&self, status: BackupStatus) {
        *self
            .inner
            .backup_status
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(status);
    }

    /// The folder automatic backups go in: `backups` beside the database.
    pub fn backup_folder(&self) -> std::path::PathBuf {
        self.store()
            .path()
            .parent()
            .unwrap_or(std::path::Path::new("."))
            .join(kitroom_core::backup::FOLDER)
    }

    /// Wakes the mail sender: something was just put in the outbox.
    pub fn wake_mailer(&self) {
        self.inner.mail_wake.notify_one();
    }

    /// What the mail sender waits on.
    pub fn mail_wake(&self) -> Arc<tokio::sync::Notify> {
        self.inner.mail_wake.clone()
    }

    /// The start of links in email: the configured public address only. An address
    /// from a request (its `Host` header) never goes into an email or anything stored.
    pub fn email_link_base(&self) -> Option<kitroom_core::link::PublicUrl> {
        self.config().public_url.clone()
    }

    /// The address to show the person who asked for this page (a label sheet's QR
    /// codes, their calendar feed's address): the public address, or else the one
    /// their own browser used for this request. Only for that person's page: never
    /// put it in an email or store it.
    pub fn page_address(&self, headers: &axum::http::HeaderMap) -> PageAddress {
        if let Some(u) = &self.config().public_url {
            return PageAddress {
                base: u.as_str().to_owned(),
                configured: true,
            };
        }
        let host = headers
            .get(header::HOST)
            .and_then(|h| h.to_str().ok())
            .unwrap_or("127.0.0.1:8080");
        let scheme = if self.config().secure_cookies {
            "https"
        } else {
            "http"
        };
        PageAddress {
            base: format!("{scheme}://{host}"),
            configured: false,
        }
    }

    /// Makes a new one-time setup token, valid while Kitroom has no account, and
    /// returns it for the console. The person at the machine opens `/setup?token=…`.
    pub fn issue_setup_token(&self) -> String {
        let token = auth::random_token();
        *self
            .inner
            .setup_token
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = Some(token.clone());
        token
    }
}

/// The whole app: every feature's routes, sessions, CSRF and security headers.
pub fn app(state: AppState) -> Router {
    let pages = Router::new()
        .merge(auth::router())
        .merge(devices::router())
        .merge(locations::router())
        .merge(people::router())
        .merge(lend_to::router())
        .merge(account::router())
        .merge(two_factor::router())
        .merge(log::router())
        .merge(policies::router())
        .merge(loans::router())
        .merge(settings::router())
        .merge(calendar::router())
        .merge(kits::router())
        .merge(checklists::router())
        .merge(accessories::router())
        .merge(bookings::router())
        .merge(incidents::router())
        .merge(reports::router())
        .merge(schools::router())
        .merge(stocktakes::router())
        .merge(export::router())
        .merge(devices::dispose_router())
        .merge(import::router())
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::csrf_guard,
        ))
        .layer(session::layer(state.clone()))
        .layer(axum::middleware::from_fn(session::explain_save_failure))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::CACHE_CONTROL,
            HeaderValue::from_static("no-store"),
        ));

    let secure = state.config().secure_cookies;
    let mut router = Router::new()
        .merge(pages)
        .nest("/api/v1", openapi::router())
        .merge(bookings::feed_router())
        .merge(assets::router())
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route("/healthz", axum::routing::get(healthz))
        .fallback(fallback)
        .with_state(state)
        .layer(SetResponseHeaderLayer::overriding(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(
                "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; \
                 object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
            ),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            header::REFERRER_POLICY,
            HeaderValue::from_static("same-origin"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("permissions-policy"),
            HeaderValue::from_static("camera=(self), microphone=(), geolocation=()"),
        ))
        .layer(SetResponseHeaderLayer::overriding(
            HeaderName::from_static("cross-origin-opener-policy"),
            HeaderValue::from_static("same-origin"),
        ));
    if secure {
        router = router.layer(SetResponseHeaderLayer::overriding(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000"),
        ));
    }
    router
        .layer(TimeoutLayer::with_status_code(
            axum::http::StatusCode::SERVICE_UNAVAILABLE,
            Duration::from_secs(30),
        ))
        .layer(
            TraceLayer::new_for_http().make_span_with(|req: &axum::http::Request<_>| {
                // The path only: query strings may carry a setup token.
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            }),
        )
}

/// A CSV cell that a spreadsheet will not run as a formula: a leading `=`, `+`, `-`,
/// `@`, tab or carriage return is escaped with a `'`.
/// Writes one CSV record, each cell made safe for spreadsheets ([`csv_safe`]).
pub fn write_safe_record<W: std::io::Write, S: AsRef<str>>(
    w: &mut csv::Writer<W>,
    row: impl IntoIterator<Item = S>,
) -> csv::Result<()> {
    for cell in row {
        w.write_field(csv_safe(cell.as_ref()).as_bytes())?;
    }
    w.write_record(None::<&[u8]>)
}

pub fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    if cell.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{cell}").into()
    } else {
        cell.into()
    }
}

/// For monitoring: is the one writer connection free and outside any transaction,
/// does a test write through it commit, and is there room on the disk for changes? 200 with "ok" on the first line when
/// writes work now; 503 with the reason otherwise. The lines after the first say
/// what was checked, for a person reading it.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> axum::response::Response {
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    let wait = Duration::from_secs(5);
    let unavailable = |why: &str| {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("unavailable\n{why}\n"),
        )
            .into_response()
    };
    let writer = match tokio::time::timeout(wait, state.store().writer_state()).await {
        Ok(Ok(w)) => w,
        Ok(Err(e)) => {
            error::log_internal(&e);
            return unavailable("writer connection: cannot be reached");
        }
        Err(_) => return unavailable("writer connection: busy for more than 5 seconds"),
    };
    if writer.in_transaction {
        return unavailable("writer connection: stuck inside a transaction");
    }
    match tokio::time::timeout(wait, state.store().probe_write()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            error::log_internal(&e);
            let why = if kitroom_store::StoreError::is_storage_full(&e) {
                "test write: failed, the disk holding the database is full"
            } else {
                "test write: failed, the database cannot be written to"
            };
            return unavailable(why);
        }
        Err(_) => return unavailable("test write: the database did not answer in time"),
    }
    // The test write above may still fit in space SQLite's files already hold while
    // real changes do not: a test file beside the database shows whether there is
    // room, each time, so this turns healthy as soon as space is freed.
    match tokio::time::timeout(wait, state.store().probe_space()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) if e.is_storage_full() => {
            return unavailable("test write: failed, the disk holding the database is full")
        }
        Ok(Err(e)) => {
            error::log_internal(&e);
            return unavailable(
                "test write: failed, a test file could not be written beside the database",
            );
        }
        Err(_) => return unavailable("test write: the disk did not answer in time"),
    }
    let counts = state.store().write_counts();
    format!(
        "ok\nwriter connection: idle, not inside a transaction\ntest write: committed\n\
         disk space: a 1 MiB test file fits\n\
         connections found inside a transaction and replaced since start: {}\n\
         writes since start: {} in {} commits, at most {} in one\n",
        writer.discarded, counts.writes, counts.commits, counts.largest_group
    )
    .into_response()
}

async fn fallback(method: Method) -> AppError {
    if method == Method::GET || method == Method::HEAD {
        AppError::NotFound
    } else {
        AppError::MethodNotAllowed
    }
}
