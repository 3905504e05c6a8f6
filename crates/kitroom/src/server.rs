//! Running the web app.

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
    sweeper: JoinHandle<()>,
}

impl Running {
    /// Stops taking connections, lets requests in flight finish, closes the database.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.sweeper.abort();
        self.task.await??;
        self.state.store().close().await;
        Ok(())
    }
}

/// Opens the database in `data_dir` (creating and migrating it on first start) and
/// serves the app on `listener`. With no account yet, makes a one-time setup link;
/// returns its token beside the server so the caller can print the link.
pub async fn start(
    data_dir: &Path,
    listener: TcpListener,
    config: Config,
) -> anyhow::Result<(Running, Option<String>)> {
    let store = Store::open(data_dir)
        .await
        .with_context(|| format!("opening the database in {}", data_dir.display()))?;
    let state = AppState::new(store, config);
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
    // Expired sessions are removed every hour.
    let sessions = state.store().clone();
    let sweeper = tokio::spawn(async move {
        let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
        loop {
            every.tick().await;
            match sessions
                .delete_expired_sessions(chrono::Utc::now().timestamp())
                .await
            {
                Ok(n) if n > 0 => tracing::info!(sessions = n, "expired sessions removed"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "could not remove expired sessions"),
            }
        }
    });
    Ok((
        Running {
            addr,
            state,
            stop,
            task,
            sweeper,
        },
        setup,
    ))
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
