//! A real PostgreSQL server for the tests: Debian's `postgresql` package, a cluster
//! of its own made with `initdb` in a temporary folder, listening on loopback at a
//! free port, stopped and removed when dropped.
//!
//! As root (CI), the cluster belongs to the `postgres` user the package creates:
//! PostgreSQL refuses to run as root.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server with one database, `kitroom`, created with the C locale as
/// Kitroom asks.
pub struct PgServer {
    child: Child,
    pub port: u16,
    /// Removed when the server is dropped.
    _dir: tempfile::TempDir,
}

/// The folder with `initdb` and `postgres`: the newest version installed.
fn bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let v = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((v, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

fn is_root() -> bool {
    // `id -u` rather than libc, to keep the dependency tree as it is
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// `program args…`, as the `postgres` user when we are root (`setpriv` runs the
/// program in its own process, so its id is the server's).
fn command(program: PathBuf, root: bool) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=postgres",
            "--regid=postgres",
            "--init-groups",
            "--",
        ])
        .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port on loopback")
}

impl PgServer {
    /// Starts a server, or `None` when PostgreSQL is not installed (and CI is not
    /// set: on CI a missing server fails the test).
    pub async fn start() -> Option<PgServer> {
        let Some(bin) = bin_dir() else {
            assert!(
                std::env::var_os("CI").is_none(),
                "PostgreSQL is not installed (Debian's postgresql package); .ci/run installs it"
            );
            eprintln!("skipped: PostgreSQL is not installed");
            return None;
        };
        let root = is_root();
        let dir = tempfile::tempdir().expect("a temporary folder");
        let data = dir.path().join("data");
        if root {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path())
                .status()
                .is_ok_and(|s| s.success());
            assert!(
                ok,
                "could not give the cluster's folder to the postgres user"
            );
        }
        let status = command(bin.join("initdb"), root)
            .args([
                "--locale=C",
                "--encoding=UTF8",
                "--auth=trust",
                "-U",
                "kitroom",
                "-D",
            ])
            .arg(&data)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .status()
            .expect("initdb runs");
        assert!(status.success(), "initdb failed");
        let port = free_port();
        let child = command(bin.join("postgres"), root)
            .arg("-D")
            .arg(&data)
            .args(["-p", &port.to_string(), "-k"])
            .arg(dir.path())
            .args([
                "-c",
                "listen_addresses=127.0.0.1",
                // a throwaway cluster: durability is not what these tests are about
                // unless a test says so (the crash tests set their own server up)
                "-c",
                "fsync=off",
                "-c",
                "max_connections=50",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("postgres starts");
        let server = PgServer {
            child,
            port,
            _dir: dir,
        };
        server.wait_until_ready().await;
        let mut admin = server.connect("postgres").await;
        sqlx::query("create database kitroom template template0 locale 'C' encoding 'UTF8'")
            .execute(&mut admin)
            .await
            .expect("the kitroom database is created");
        Some(server)
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://kitroom@127.0.0.1:{}/{database}", self.port)
    }

    /// A connection to `database`.
    pub async fn connect(&self, database: &str) -> sqlx::PgConnection {
        use sqlx::Connection;
        sqlx::PgConnection::connect(&self.url(database))
            .await
            .expect("connects to the test server")
    }

    async fn wait_until_ready(&self) {
        use sqlx::Connection;
        let started = Instant::now();
        loop {
            if let Ok(c) = sqlx::PgConnection::connect(&self.url("postgres")).await {
                let _ = c.close().await;
                return;
            }
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "PostgreSQL did not start within 30 seconds"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for PgServer {
    fn drop(&mut self) {
        // Fast shutdown (SIGINT), then wait for it. As root the server runs as the
        // postgres user, which the child handle cannot signal by itself.
        let _ = Command::new("kill")
            .args(["-INT", &self.child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
    }
}
