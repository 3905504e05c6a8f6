use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

/// mimalloc gives freed memory back to the system. With the C library's allocator
/// each password hash's 19 MiB block stayed in a per-thread arena after use: a burst
/// of sign-ins left the server at 500-600 MiB (docs/performance.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // With transparent huge pages on ("always" on many Linux systems), each of the
    // allocator's regions that is touched becomes a 2 MiB page: 40 MiB resident when
    // idle instead of 25 (docs/performance.md). Off for this process before the
    // runtime's threads start; the C library and SQLite are unaffected otherwise.
    #[cfg(target_os = "linux")]
    let _ = rustix::thread::disable_transparent_huge_pages(true);
    match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime.block_on(run()),
        Err(e) => {
            eprintln!("error: cannot start: {e}");
            ExitCode::from(2)
        }
    }
}

async fn run() -> ExitCode {
    let cli = kitroom::cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,tower_sessions=warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    match kitroom::cli::run(cli).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
