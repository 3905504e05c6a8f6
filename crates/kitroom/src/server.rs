//! Running the web app and its background work.

use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use kitroom_store::Store;
use kitroom_web::{AppState, Config};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running server.
pub struct Running {
    pub addr: SocketAddr,
    pub state: AppState,
    stop: oneshot::Sender<()>,
    task: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
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
    let mailer = config
        .mail
        .as_ref()
        .map(crate::mailer::Mailer::new)
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
    let state = AppState::new(store, config, key);
    let setup = if state.store().count_people().await? == 0 {
        Some(state.issue_setup_token())
    } else {
        None
    };
    let addr = listener.local_addr()?;
    let (stop, stopped) = oneshot::channel::<()>();
    let app = kitroom_web::app(state.clone());
    let task = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move {
            let _ = stopped.await;
        })
        .await
    });
    let mut background = vec![tokio::spawn(housekeeping(state.clone()))];
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
        },
        setup,
    ))
}

/// Once a tick (a minute unless configured): devices that have charged for their
/// kind's charging time become ready to lend, bookings nobody collected in time are
/// released, stretches of refused sign-ins that have ended are written to the
/// activity log, borrowers are reminded of loans falling due and overdue, and the daily
/// backup is taken when due. Once an hour (and at start): expired sessions are
/// removed, and people who left longer ago than the retention setting are anonymised.
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
        match store.settings().await {
            Ok(settings) => {
                match store
                    .mark_charged_devices_ready(settings.clone(), now)
                    .await
                {
                    Ok(n) if n > 0 => tracing::info!(devices = n, "charged devices marked ready"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not mark charged devices ready"),
                }
                match store
                    .release_uncollected(settings.booking_release_minutes, now)
                    .await
                {
                    Ok(n) if n > 0 => tracing::info!(bookings = n, "uncollected bookings released"),
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not release uncollected bookings"),
                }
                let link_base = state.config().public_url.clone();
                match store
                    .queue_loan_reminders(settings.reminder_minutes_before, now, link_base)
                    .await
                {
                    Ok(n) if n > 0 => {
                        tracing::info!(loans = n, "loan reminders queued");
                        state.wake_mailer();
                    }
                    Ok(_) => {}
                    Err(e) => tracing::warn!(error = %e, "could not queue loan reminders"),
                }
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
    match state.store().automatic_backup(&folder, now, keep).await {
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
