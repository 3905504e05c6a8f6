//! Running the web app and its background work.
//!
//! Connections are served by hyper's HTTP/1 connection in Kitroom's own accept loop
//! (`serve`) rather than by `axum::serve`, which has no header-read timer: a
//! connection that sent nothing, or half a request, stayed open for ever, and a
//! thousand of them used up the process's files until `/health` stopped answering.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use kitroom_store::Store;
use kitroom_web::{AppState, Config};
use tokio::net::TcpListener;
use tokio::sync::{oneshot, watch, Mutex, Semaphore};
use tokio::task::JoinHandle;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
    keeper: Arc<Mutex<crate::witness::Keeper>>,
}

impl Running {
    /// Stops taking connections, lets requests in flight finish, stops the
    /// background work and closes the database.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.task.await??;
        for b in &self.background {
            b.abort();
        }
        // Refused sign-ins still being gathered are written down, so far as they go.
        if let Err(e) = self
            .state
            .write_sign_in_refusals(chrono::Utc::now() + chrono::Duration::days(1))
            .await
        {
            tracing::warn!(error = %e, "could not record refused sign-ins");
        }
        // the last word: the log's head as the server leaves it
        self.keeper.lock().await.keep(self.state.store()).await;
        self.state.store().close().await;
        Ok(())
    }
}

/// Opens the database in `data_dir` (creating and migrating it on first start) and
/// serves the app on `listener`, with its housekeeping and, when configured, the
/// mail sender. With no account yet, makes a one-time setup link and returns its
/// token beside the server so the caller can print the link.
pub async fn start(
    data_dir: &Path,
    listener: TcpListener,
    config: Config,
) -> anyhow::Result<(Running, Option<String>)> {
    if config.mail.is_some() && config.public_url.is_none() {
        tracing::warn!(
            "email is on but no public address is set (--public-url or KITROOM_PUBLIC_URL): emails will carry no links, only the name of the page to open in Kitroom"
        );
    }
    if let Some(oidc) = &config.oidc {
        if config.public_url.is_none() {
            anyhow::bail!("signing in with the school's account (--oidc-issuer) needs --public-url (KITROOM_PUBLIC_URL): the provider sends people back to PUBLIC-URL{}, and Kitroom never takes that address from a request", kitroom_web::auth::oidc::CALLBACK_PATH);
        }
        kitroom_web::auth::oidc::check_config(oidc).map_err(anyhow::Error::msg)?;
    }
    let mailer = config
        .mail
        .as_ref()
        .map(|m| crate::mailer::Mailer::new(m, config.public_url.as_ref()))
        .transpose()?;
    let store = Store::open(data_dir)
        .await
        .with_context(|| format!("opening the database in {}", data_dir.display()))?;
    let key = kitroom_web::two_factor::SecretKey::load_or_create(data_dir).with_context(|| {
        format!(
            "reading or making {} in {}",
            kitroom_web::two_factor::KEY_FILE,
            data_dir.display()
        )
    })?;
    let keeper =
        crate::witness::Keeper::start(&store, data_dir.to_owned(), key.witness_key()).await;
    let keeper = Arc::new(Mutex::new(keeper));
    let state = AppState::new(store, config, key);
    if state.oidc().is_some() {
        // Discovery at start; a failure is logged, password sign-in works, and it is
        // tried again at the next sign-in through the provider.
        let s = state.clone();
        tokio::spawn(async move {
            if let Some(p) = s.oidc() {
                let _ = p.discover().await;
            }
        });
    }
    let setup = if state.store().count_people().await? == 0 {
        Some(state.issue_setup_token())
    } else {
        None
    };
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = kitroom_web::app(state.clone());
    let limits = Limits {
        header_read_timeout: state.config().header_read_timeout,
        max_connections: state
            .config()
            .max_connections
            .unwrap_or_else(default_max_connections)
            .clamp(1, 1 << 20),
    };
    tracing::info!(
        max_connections = limits.max_connections,
        header_read_timeout_secs = limits.header_read_timeout.as_secs_f64(),
        "connection limits"
    );
    let task = tokio::spawn(serve(listener, app, limits, stopped));
    let mut background = vec![
        tokio::spawn(housekeeping(state.clone())),
        tokio::spawn(keep_witness(state.clone(), keeper.clone())),
    ];
    match mailer {
        Some(m) => background.push(tokio::spawn(
            m.run(state.store().clone(), state.mail_wake()),
        )),
        None => tracing::info!(
            "email is off (KITROOM_SMTP_URL is not set): notifications stay in the app"
        ),
    }
    Ok((
        Running {
            addr,
            state,
            stop,
            task,
            background,
            keeper,
        },
        setup,
    ))
}

/// How connections are bounded.
#[derive(Debug, Clone, Copy)]
struct Limits {
    /// A connection that has not sent a whole request head this long after it
    /// started waiting for one (when opened, or after its last answer) is closed.
    header_read_timeout: Duration,
    /// Connections open at once.
    max_connections: usize,
}

/// Files kept free of connections for the database and its log (a writer and a few
/// readers, each with its WAL and shared-memory files), backups, exports, email and
/// the logs.
const FILES_KEPT_FOR_OTHER_WORK: u64 = 128;

/// How many connections Kitroom takes at once unless told: its open-file limit less
/// [`FILES_KEPT_FOR_OTHER_WORK`], from 32 up to 2,048 (more than a school's staff
/// need at once; each idle connection costs some memory).
fn default_max_connections() -> usize {
    #[cfg(target_os = "linux")]
    let limit = rustix::process::getrlimit(rustix::process::Resource::Nofile)
        .current
        .unwrap_or(u64::MAX);
    #[cfg(not(target_os = "linux"))]
    let limit = 1024u64;
    let free = limit.saturating_sub(FILES_KEPT_FOR_OTHER_WORK);
    usize::try_from(free).unwrap_or(usize::MAX).clamp(32, 2048)
}

/// Raises this process's open-file limit to the most the system lets it have (its
/// hard limit): many systems start services with 1,024, and every connection is a
/// file. Returns the limit before and after; an error leaves it as it was.
#[cfg(target_os = "linux")]
pub fn raise_file_limit() -> std::io::Result<(u64, u64)> {
    use rustix::process::{getrlimit, setrlimit, Resource, Rlimit};
    let now = getrlimit(Resource::Nofile);
    let current = now.current.unwrap_or(u64::MAX);
    match now.maximum {
        Some(max) if max > current => {
            setrlimit(
                Resource::Nofile,
                Rlimit {
                    current: Some(max),
                    maximum: Some(max),
                },
            )?;
            Ok((current, max))
        }
        // Already at the hard limit, or no hard limit (then the soft one is kept:
        // the kernel refuses "unlimited" open files).
        _ => Ok((current, current)),
    }
}

/// Whether `every` has passed since `last`; if so, `last` becomes now. Keeps a
/// warning to one line per burst.
fn due(last: &mut Option<Instant>, every: Duration) -> bool {
    if last.is_some_and(|t| t.elapsed() < every) {
        return false;
    }
    *last = Some(Instant::now());
    true
}

/// How long a connection must have been quiet (no request started or answered, or
/// nothing since it opened) before it is closed to make room when the connection
/// limit is reached: a browser sends its request as soon as it has connected, so a
/// connection that has just opened is left to send it.
const QUIET_BEFORE_CLOSING: Duration = Duration::from_millis(250);

/// Accepts connections on `listener` and serves `app` on each, until `stop`
/// resolves; then stops accepting and waits for the open connections to finish
/// the requests they are in.
///
/// Each connection holds one of `max_connections` permits. When none is left,
/// connections quiet for [`QUIET_BEFORE_CLOSING`] are asked to close: an idle one
/// (opened but silent, or kept alive after its answer) closes at once, one in the
/// middle of a request closes after its answer, and one that sent half a request is
/// closed by the header-read timer. Meanwhile accepting waits: new connections queue
/// in the listener's backlog rather than being turned away, and the next real
/// request is answered as soon as room is made. A warning is logged at most once a
/// minute while this goes on.
async fn serve(
    listener: TcpListener,
    app: Router,
    limits: Limits,
    mut stop: oneshot::Receiver<()>,
) -> std::io::Result<()> {
    const WARN_EVERY: Duration = Duration::from_secs(60);
    let cap = limits.max_connections;
    let permits = Arc::new(Semaphore::new(cap));
    // A change asks every quiet connection to close; dropping the sender asks every
    // connection to close once idle, at shutdown.
    let (close_quiet, _) = watch::channel(());
    let mut http = hyper::server::conn::http1::Builder::new();
    http.timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let clock = Clock(Instant::now());
    let mut warned_full = None;
    let mut warned_accept = None;
    loop {
        let permit = match permits.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                if due(&mut warned_full, WARN_EVERY) {
                    tracing::warn!(
                        max_connections = cap,
                        "connection limit reached: closing quiet connections; new ones wait \
                         until there is room (this is logged at most once a minute)"
                    );
                }
                let permit = loop {
                    close_quiet.send_replace(());
                    tokio::select! {
                        p = permits.clone().acquire_owned() => break p.ok(),
                        _ = tokio::time::sleep(QUIET_BEFORE_CLOSING / 2) => {}
                        _ = &mut stop => break None,
                    }
                };
                match permit {
                    Some(p) => p,
                    None => break,
                }
            }
        };
        let (stream, remote) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionAborted
                        | std::io::ErrorKind::ConnectionReset
                        | std::io::ErrorKind::ConnectionRefused
                ) => continue,
                Err(e) => {
                    // Out of files, most likely: make room and try again shortly.
                    if due(&mut warned_accept, WARN_EVERY) {
                        tracing::error!(error = %e, "cannot accept connections; closing quiet ones");
                    }
                    close_quiet.send_replace(());
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // When this connection last opened, started a request or answered one.
        let active = Arc::new(AtomicU64::new(clock.now()));
        let router = TowerToHyperService::new(app.clone());
        let seen = active.clone();
        let service = hyper::service::service_fn(move |mut req| {
            // What `ConnectInfo<SocketAddr>` extractors read (login throttling).
            req.extensions_mut().insert(ConnectInfo(remote));
            seen.store(clock.now(), Ordering::Relaxed);
            let answer = hyper::service::Service::call(&router, req);
            let seen = seen.clone();
            async move {
                let answer = answer.await;
                seen.store(clock.now(), Ordering::Relaxed);
                answer
            }
        });
        let conn = http.serve_connection(TokioIo::new(stream), service);
        let mut close = close_quiet.subscribe();
        tokio::spawn(async move {
            let _permit = permit;
            let mut conn = std::pin::pin!(conn);
            loop {
                tokio::select! {
                    done = conn.as_mut() => {
                        if let Err(e) = done {
                            tracing::debug!(error = %e, "connection ended");
                        }
                        break;
                    }
                    changed = close.changed() => {
                        if changed.is_err() {
                            // Shutting down: finish what is in progress.
                            conn.as_mut().graceful_shutdown();
                            if let Err(e) = conn.as_mut().await {
                                tracing::debug!(error = %e, "connection ended");
                            }
                            break;
                        }
                        let quiet = clock.now().saturating_sub(active.load(Ordering::Relaxed));
                        if quiet >= QUIET_BEFORE_CLOSING.as_millis() as u64 {
                            conn.as_mut().graceful_shutdown();
                        }
                    }
                }
            }
        });
    }
    drop(listener);
    drop(close_quiet);
    // Every permit back means every connection has finished.
    let _ = permits
        .acquire_many(u32::try_from(cap).unwrap_or(u32::MAX))
        .await;
    Ok(())
}

/// Milliseconds since the server started, to keep in an atomic.
#[derive(Debug, Clone, Copy)]
struct Clock(Instant);

impl Clock {
    fn now(self) -> u64 {
        u64::try_from(self.0.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// Once a tick (a minute unless configured): at each school, by its own settings,
/// devices that have charged for their kind's charging time become ready to lend,
/// bookings nobody collected in time are released and borrowers are reminded of
/// loans falling due and overdue ([`sweep_school`]); stretches of refused sign-ins that have ended are written to the
/// activity log, and the daily backup is taken when due. Once an hour (and at start): expired sessions are
/// removed, and people who left longer ago than the retention setting are anonymised.
/// One school's part of the housekeeping tick, by that school's settings.
async fn sweep_school(
    state: &AppState,
    school: kitroom_core::school::SchoolId,
    now: chrono::DateTime<chrono::Utc>,
) {
    let store = state.store();
    let settings = match store.settings(school).await {
        Ok(s) => s,
        Err(e) => {
            tracing::warn!(error = %e, school = school.0, "could not read the school's settings");
            return;
        }
    };
    match kitroom_app::charging::mark_charged_ready(state.app(), school, settings.clone(), now)
        .await
    {
        Ok(n) if n > 0 => tracing::info!(
            devices = n,
            school = school.0,
            "charged devices marked ready"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not mark charged devices ready"),
    }
    match store
        .release_uncollected(school, settings.booking_release_minutes, now)
        .await
    {
        Ok(n) if n > 0 => tracing::info!(
            bookings = n,
            school = school.0,
            "uncollected bookings released"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not release uncollected bookings"),
    }
    let link_base = state.config().public_url.clone();
    match store
        .queue_loan_reminders(school, settings.reminder_minutes_before, now, link_base)
        .await
    {
        Ok(n) if n > 0 => {
            tracing::info!(loans = n, school = school.0, "loan reminders queued");
            state.wake_mailer();
        }
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "could not queue loan reminders"),
    }
}

async fn housekeeping(state: AppState) {
    let store = state.store().clone();
    let every = state.config().housekeeping_every;
    let mut tick = tokio::time::interval(every);
    let per_hour = (3600 / every.as_secs().max(1)).max(1);
    let mut ticks = 0u64;
    // The first daily backup waits a few minutes after a start, so that it does not
    // compete with people (or a benchmark) arriving at a server just started.
    let settle = if state.config().backup_every.is_some() {
        chrono::Duration::zero()
    } else {
        chrono::Duration::minutes(5)
    };
    let started = chrono::Utc::now();
    loop {
        tick.tick().await;
        let now = chrono::Utc::now();
        if let Err(e) = state.write_sign_in_refusals(now).await {
            tracing::warn!(error = %e, "could not record refused sign-ins");
        }
        match store.schools().await {
            Ok(schools) => {
                for school in schools {
                    sweep_school(&state, school.id, now).await;
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the schools"),
        }
        // The deployment's own: backups and retention, by the first school's settings.
        match store.settings(kitroom_core::school::SchoolId::FIRST).await {
            Ok(settings) => {
                if now - started >= settle {
                    backup_if_due(&state, settings.backups_kept, now).await;
                }
                if ticks.is_multiple_of(per_hour) {
                    // Retention: people who left longer ago than the setting are anonymised.
                    match store
                        .anonymise_leavers(settings.keep_leavers_months, now)
                        .await
                    {
                        Ok(n) if n > 0 => tracing::info!(
                            people = n,
                            months = settings.keep_leavers_months,
                            "people who left were anonymised after the retention period"
                        ),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(error = %e, "could not anonymise people who left"),
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "could not read the settings"),
        }
        if ticks.is_multiple_of(per_hour) {
            match store.delete_expired_sessions(now.timestamp()).await {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
            }
        }
        ticks = ticks.wrapping_add(1);
    }
}

/// Once a tick (a minute at most): writes the log witness when the log has grown, and
/// with email on, queues the admins' digest once a school day.
async fn keep_witness(state: AppState, keeper: Arc<Mutex<crate::witness::Keeper>>) {
    let every = state
        .config()
        .housekeeping_every
        .min(std::time::Duration::from_secs(60));
    let mut tick = tokio::time::interval(every);
    let digest_every = state
        .config()
        .digest_every
        .and_then(|d| chrono::Duration::from_std(d).ok());
    // as with backups, not in the first minutes after a start
    let settle = if digest_every.is_some() {
        chrono::Duration::zero()
    } else {
        chrono::Duration::minutes(5)
    };
    let started = chrono::Utc::now();
    loop {
        tick.tick().await;
        let sealed = keeper.lock().await.keep(state.store()).await;
        let now = chrono::Utc::now();
        let (Some(sealed), true) = (sealed, state.config().mail.is_some()) else {
            continue;
        };
        if now - started < settle {
            continue;
        }
        let last = match state.store().last_digest_at().await {
            Ok(l) => l,
            Err(e) => {
                tracing::warn!(error = %e, "could not read when the admins' digest was last sent");
                continue;
            }
        };
        if !kitroom_core::backup::due(last, now, digest_every) {
            continue;
        }
        let (witness, sealed) = sealed;
        let (subject, body) = crate::witness::digest(&sealed, witness.seq, &witness.hash);
        match state.store().queue_admin_digest(subject, body, now).await {
            Ok(n) if n > 0 => {
                tracing::info!(admins = n, "the daily log witness digest is queued");
                state.wake_mailer();
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not queue the admins' digest"),
        }
    }
}

/// Takes the automatic backup when one is due (once a school day), keeping the
/// newest `keep`; 0 turns automatic backups off. The outcome is logged and shown
/// to the admin on the settings page.
async fn backup_if_due(state: &AppState, keep: u32, now: chrono::DateTime<chrono::Utc>) {
    if keep == 0 {
        return;
    }
    let folder = state.backup_folder();
    let newest = kitroom_store::backups::list_backups(&folder)
        .first()
        .map(|b| b.taken_at);
    let every = state
        .config()
        .backup_every
        .and_then(|d| chrono::Duration::from_std(d).ok());
    // After a failure, try again at the next tick only when on a short schedule;
    // otherwise once an hour, so a full disk is not hammered every minute.
    if let Some(kitroom_web::BackupStatus::Failed { at, .. }) = state.backup_status() {
        let wait = every.unwrap_or(chrono::Duration::hours(1));
        if now - at < wait {
            return;
        }
    }
    if !kitroom_core::backup::due(newest, now, every) {
        return;
    }
    let key = state.secret_key().witness_key();
    match state
        .store()
        .automatic_backup(&folder, now, keep, Some(&key))
        .await
    {
        Ok(b) => {
            tracing::info!(file = %b.path.display(), bytes = b.bytes, "automatic backup written and checked");
            state.set_backup_status(kitroom_web::BackupStatus::Written {
                file: b.path.display().to_string(),
                at: now,
                bytes: b.bytes,
            });
        }
        Err(e) => {
            let reason = if e.is_storage_full() {
                "the disk is full".to_owned()
            } else {
                let mut chain = e.to_string();
                let mut source = std::error::Error::source(&e);
                while let Some(s) = source {
                    chain.push_str(": ");
                    chain.push_str(&s.to_string());
                    source = s.source();
                }
                chain
            };
            tracing::error!(folder = %folder.display(), reason, "the automatic backup failed");
            state.set_backup_status(kitroom_web::BackupStatus::Failed { at: now, reason });
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
