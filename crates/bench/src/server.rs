//! The real `kitroom` binary: finding it, its command-line tools, starting it on a
//! loopback port, and watching its memory, CPU and WAL from `/proc` while it runs.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// The `kitroom` binary: `--kitroom`, else the one next to this program
/// (`target/release/kitroom` when run with `cargo run --release`).
pub fn binary(given: Option<&Path>) -> anyhow::Result<PathBuf> {
    let path = match given {
        Some(p) => p.to_owned(),
        None => std::env::current_exe()
            .context("cannot tell where kitroom-bench is")?
            .parent()
            .context("kitroom-bench has no directory")?
            .join("kitroom"),
    };
    if !path.is_file() {
        bail!(
            "the kitroom server binary is missing: {} does not exist.\n\
             The benchmark runs the real server. Build both first, in release:\n\n    \
             cargo build --release -p kitroom -p kitroom-bench\n\n\
             then run target/release/kitroom-bench (or cargo run --release -p kitroom-bench), \
             or point --kitroom at a kitroom binary.",
            path.display()
        );
    }
    Ok(path)
}

/// The commit of the source tree `bin` was built in (when it sits in that tree's
/// `target/`), and the files changed since: which Kitroom the figures describe.
pub fn source_version(bin: &Path) -> serde_json::Value {
    let Some(root) = bin.ancestors().find(|d| d.join("Cargo.lock").is_file()) else {
        return serde_json::Value::Null;
    };
    let git = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    serde_json::json!({
        "commit": git(&["rev-parse", "--short", "HEAD"]),
        "changed_files": git(&["status", "--porcelain", "--untracked-files=no"])
            .map(|s| s.lines().map(|l| l.trim().to_owned()).collect::<Vec<_>>()),
        "binary_modified": std::fs::metadata(bin)
            .and_then(|m| m.modified())
            .ok()
            .map(|t| chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339()),
    })
}

/// Whether this program was built without optimisations (its figures would mean little).
pub fn is_debug_build() -> bool {
    cfg!(debug_assertions)
}

/// `kitroom ARGS… --data-dir DATA_DIR` (the global option goes after the command).
fn command(bin: &Path, args: &[&str], data_dir: &Path) -> Command {
    let mut c = Command::new(bin);
    c.args(args).arg("--data-dir").arg(data_dir);
    // Nothing from the caller's environment may change what is measured.
    for var in [
        "KITROOM_DATA_DIR",
        "KITROOM_LISTEN",
        "KITROOM_SMTP_URL",
        "KITROOM_PUBLIC_URL",
        "KITROOM_SECURE_COOKIES",
        "KITROOM_TRUST_PROXY",
        "KITROOM_IDLE_MINUTES",
        "RUST_LOG",
    ] {
        c.env_remove(var);
    }
    c
}

/// `kitroom token create USERNAME`: the token is alone on the last line.
pub fn token_create(bin: &Path, data_dir: &Path, username: &str) -> anyhow::Result<String> {
    let out = command(
        bin,
        &["token", "create", username, "--name", "kitroom-bench"],
        data_dir,
    )
    .stdin(Stdio::null())
    .output()
    .context("running kitroom token create")?;
    if !out.status.success() {
        bail!(
            "kitroom token create {username} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .map(|l| l.trim().to_owned())
        .context("kitroom token create printed no token")
}

/// `kitroom check`: SQLite's integrity check and the activity log's hash chain.
pub fn check(bin: &Path, data_dir: &Path) -> anyhow::Result<(bool, String)> {
    let out = command(bin, &["check"], data_dir)
        .stdin(Stdio::null())
        .output()
        .context("running kitroom check")?;
    // Its log (on stderr) is shown only when it failed.
    let mut text = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    if !out.status.success() {
        text.push('\n');
        text.push_str(String::from_utf8_lossy(&out.stderr).trim());
    }
    Ok((out.status.success(), text))
}

/// A running `kitroom serve`.
pub struct Server {
    child: Child,
    pub pid: u32,
    pub base: String,
    log: PathBuf,
}

/// A free port on 127.0.0.1, chosen by the kernel. It is released before the server
/// binds it; nothing else on this machine is expected to take it in between.
fn free_port() -> anyhow::Result<u16> {
    let l = TcpListener::bind("127.0.0.1:0").context("finding a free loopback port")?;
    Ok(l.local_addr()?.port())
}

impl Server {
    /// Starts the server and waits for its first `200` from `/health`. Returns the
    /// server and the time from spawning the process to that answer.
    /// `env` is added to the server's environment (for what-if runs only).
    pub async fn start(
        bin: &Path,
        data_dir: &Path,
        log_dir: &Path,
        env: &[(String, String)],
    ) -> anyhow::Result<(Server, Duration)> {
        let port = free_port()?;
        let base = format!("http://127.0.0.1:{port}");
        let log = log_dir.join("kitroom-server.log");
        let stderr = std::fs::File::create(&log).context("creating the server log")?;
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()?;
        let t0 = Instant::now();
        let listen = format!("127.0.0.1:{port}");
        let child = command(bin, &["serve", "--listen", &listen], data_dir)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("starting {}", bin.display()))?;
        let pid = child.id();
        let mut server = Server {
            child,
            pid,
            base,
            log,
        };
        loop {
            if let Ok(r) = client.get(format!("{}/health", server.base)).send().await {
                if r.status() == 200 {
                    break;
                }
            }
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "the server exited ({status}) before answering:\n{}",
                    server.log_tail()
                );
            }
            if t0.elapsed() > Duration::from_secs(120) {
                bail!("the server did not answer /health within 2 minutes");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        let startup = t0.elapsed();
        Ok((server, startup))
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Lines of the server's log at WARN or above (errors it logged while measured).
    pub fn log_problems(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("WARN") || l.contains("ERROR"))
            .take(20)
            .map(str::to_owned)
            .collect()
    }

    /// Asks the server to stop (SIGTERM, as a service manager would) and waits for
    /// it; kills it if it has not stopped after 15 seconds.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(15) {
            if self.child.try_wait()?.is_some() {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.child.kill()?;
        self.child.wait()?;
        bail!("the server did not stop within 15 s of SIGTERM and was killed")
    }
}

/// A field of `/proc/<pid>/status` in KiB (`VmRSS`, `VmHWM`) or as a count (`Threads`).
pub fn proc_status(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = text.lines().find(|l| l.starts_with(field))?;
    line[field.len()..]
        .trim_start_matches(':')
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// The memory summary of `/proc/<pid>/smaps_rollup` (MiB): how much of the resident
/// memory is heap (anonymous) and how much is mapped files.
pub fn smaps(pid: u32) -> serde_json::Value {
    let text = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")).unwrap_or_default();
    let mut out = serde_json::Map::new();
    for line in text.lines() {
        let mut parts = line.split_whitespace();
        let (Some(key), Some(value)) = (parts.next(), parts.next()) else {
            continue;
        };
        let key = key.trim_end_matches(':');
        if matches!(
            key,
            "Rss" | "Anonymous" | "Private_Dirty" | "Shared_Clean" | "Private_Clean"
        ) {
            if let Ok(kib) = value.parse::<u64>() {
                out.insert(
                    format!("{}_mib", key.to_lowercase()),
                    serde_json::json!((mib(kib) * 10.0).round() / 10.0),
                );
            }
        }
    }
    out.into()
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// Clock ticks per second, for `/proc/<pid>/stat`'s CPU times.
fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// CPU seconds (user + system) a process has used so far; `self` for this one.
pub fn cpu_secs(pid: &str) -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(clock_ticks);
    let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // The command name may hold spaces; the fields after it are plain.
    let Some(rest) = text.rfind(')').map(|i| &text[i + 2..]) else {
        return 0.0;
    };
    let f: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 11 and 12 after ")".
    let utime: f64 = f.get(11).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    let stime: f64 = f.get(12).and_then(|s| s.parse().ok()).unwrap_or(0.0);
    (utime + stime) / ticks
}

/// CPU seconds the whole machine has spent busy (all cores), from `/proc/stat`.
pub fn machine_busy_secs() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    let ticks = *TICKS.get_or_init(clock_ticks);
    let text = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(cpu) = text.lines().next() else {
        return 0.0;
    };
    // user nice system idle iowait irq softirq steal …: busy is all but idle and iowait.
    let f: Vec<f64> = cpu
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    let busy: f64 = f
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4 && *i < 8)
        .map(|(_, v)| v)
        .sum();
    busy / ticks
}

/// The machine's load averages (1, 5 and 15 minutes).
pub fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

/// One sample of the server's resident memory, thread count and WAL size.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub at: Instant,
    pub rss_kib: u64,
    pub threads: u64,
    pub wal_bytes: u64,
}

/// Samples the server every 5 ms on a thread of its own, so a busy runtime cannot
/// delay the samples.
pub struct Sampler {
    samples: Arc<Mutex<Vec<Sample>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn start(pid: u32, wal: PathBuf) -> Sampler {
        let samples = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let samples = samples.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let s = Sample {
                        at: Instant::now(),
                        rss_kib: proc_status(pid, "VmRSS").unwrap_or(0),
                        threads: proc_status(pid, "Threads").unwrap_or(0),
                        wal_bytes: std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0),
                    };
                    samples.lock().unwrap_or_else(|e| e.into_inner()).push(s);
                    std::thread::sleep(Duration::from_millis(5));
                }
            })
        };
        Sampler {
            samples,
            stop,
            thread: Some(thread),
        }
    }

    /// The samples taken between `from` and `to`.
    pub fn between(&self, from: Instant, to: Instant) -> Vec<Sample> {
        self.samples
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|s| s.at >= from && s.at <= to)
            .copied()
            .collect()
    }

    pub fn max_rss_kib(&self, from: Instant, to: Instant) -> u64 {
        self.between(from, to)
            .iter()
            .map(|s| s.rss_kib)
            .max()
            .unwrap_or(0)
    }

    pub fn max_wal_bytes(&self, from: Instant, to: Instant) -> u64 {
        self.between(from, to)
            .iter()
            .map(|s| s.wal_bytes)
            .max()
            .unwrap_or(0)
    }

    pub fn max_threads(&self, from: Instant, to: Instant) -> u64 {
        self.between(from, to)
            .iter()
            .map(|s| s.threads)
            .max()
            .unwrap_or(0)
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
