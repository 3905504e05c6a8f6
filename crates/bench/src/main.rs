//! `kitroom-bench`: Kitroom measured against the physical limit of the same machine,
//! in one run.
//!
//! It builds a large school in a fresh data directory through Kitroom's own store
//! code, measures the same check-out and return transactions written directly
//! against SQLite (the limit), then starts the real `kitroom` binary on a loopback
//! port and drives it over HTTP with API tokens and a signed-in session: writes at 1
//! and 50 clients and at a fixed 200 a second, the filtered device list (page and
//! API), the device page, search, the manager's desk, the million-event CSV export
//! against a raw scan of the same rows, a burst of sign-ins, memory and start-up.
//! It prints a table, writes every figure as JSON (`--json FILE`) and, with
//! `--check`, fails when the CI guard's thresholds are crossed.
//!
//! Run it from the workspace root:
//!
//! ```text
//! cargo build --release -p kitroom -p kitroom-bench
//! target/release/kitroom-bench [--quick] [--json FILE] [--check]
//! target/release/kitroom-bench --seed-only [--keep] --devices 1000000 --people 20000 --events 10000000
//! ```
//!
//! `--seed-only` builds the school, prints how long each part took and exits without
//! starting the server (with `--keep`, the data directory stays for `kitroom check`).
//!
//! # Layout
//! - [`seed`]: the school: accounts, policy, imports, and a bulk-loaded history.
//! - [`raw`]: the limit: the same transactions and queries straight on SQLite.
//! - [`server`]: the `kitroom` binary: tokens, start-up, stop, `/proc` sampling.
//! - [`http`]: the API and browser clients and the HTTP scenarios.
//! - [`load`]: closed and open loops and their latency figures.
//! - [`report`]: the figures, the table, the JSON and the targets.

mod http;
mod load;
mod raw;
mod report;
mod seed;
mod server;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Parser;
use serde_json::{json, Value};

use crate::http::{Api, Reader, Web};
use crate::load::Samples;
use crate::report::{Report, GUARD, TARGETS};
use crate::seed::{Dev, Lending, Rng, Sizes, MANAGER, PASSWORD, TEACHER};
use crate::server::{cpu_secs, machine_busy_secs, mib, proc_status, Sampler, Server};

/// Kitroom against raw SQLite on this machine: a large school, a load generator
/// on loopback, and the performance targets.
#[derive(Debug, Parser)]
#[command(name = "kitroom-bench")]
struct Args {
    /// A small school and short phases (10,000 devices, 2,000 people, 100,000
    /// events; 1.5 s a phase): for CI.
    #[arg(long)]
    quick: bool,
    /// Write every figure to this file as JSON.
    #[arg(long)]
    json: Option<PathBuf>,
    /// Exit with status 1 if the regression guard's thresholds are crossed
    /// (http_to_raw_ratio < 0.7 or list_p99_ms_at_200 > 25).
    #[arg(long)]
    check: bool,
    /// Devices in the school (default 100,000; 10,000 with --quick).
    #[arg(long)]
    devices: Option<usize>,
    /// People in the school (default 20,000; 2,000 with --quick).
    #[arg(long)]
    people: Option<usize>,
    /// Events in the activity log (default 1,000,000; 100,000 with --quick).
    #[arg(long)]
    events: Option<usize>,
    /// Seconds each closed-loop phase runs (default 5; 1.5 with --quick). Fixed-rate
    /// phases run twice as long.
    #[arg(long)]
    secs: Option<f64>,
    /// The kitroom binary (default: `kitroom` next to this program).
    #[arg(long)]
    kitroom: Option<PathBuf>,
    /// Keep the data directory and the server's log instead of deleting them.
    #[arg(long)]
    keep: bool,
    /// Only build the school: print how long each part of the seed took (and write
    /// them with --json), then exit without starting the server. With --keep the
    /// data directory stays.
    #[arg(long)]
    seed_only: bool,
    /// KEY=VALUE added to the server's environment, for what-if runs (such as
    /// MALLOC_ARENA_MAX=2). The figures then no longer describe Kitroom as shipped.
    #[arg(long, value_name = "KEY=VALUE")]
    server_env: Vec<String>,
}

/// The available devices, handed out so that no two phases or clients lend the same one.
struct Pool {
    devs: Vec<Dev>,
    next: usize,
}

impl Pool {
    fn take(&mut self, n: usize) -> Vec<Dev> {
        let end = (self.next + n).min(self.devs.len());
        let out = self.devs[self.next..end].to_vec();
        self.next = end;
        out
    }

    fn left(&self) -> usize {
        self.devs.len() - self.next
    }

    /// `n` devices for a closed-loop write phase of `clients` clients.
    fn lending(&mut self, n: usize, clients: usize) -> Arc<Lending> {
        Arc::new(Lending::new(self.take(n), clients))
    }
}

fn main() -> ExitCode {
    let args = Args::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("kitroom-bench: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(run(args)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kitroom-bench: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// What a phase cost the server and this program, beside its latencies.
struct Cost {
    rss_max_kib: u64,
    wal_max_bytes: u64,
    threads_max: u64,
    server_cpu_s: f64,
    bench_cpu_s: f64,
}

struct Bench<'a> {
    sampler: &'a Sampler,
    pid: u32,
    report: Report,
}

impl Bench<'_> {
    /// Runs a phase, watching the server while it runs, and records its figures
    /// under `name` in the details.
    async fn phase<F>(&mut self, name: &str, fut: F) -> (Samples, Cost)
    where
        F: std::future::Future<Output = Samples>,
    {
        // A moment for the last phase's stragglers to clear.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let pid = self.pid.to_string();
        let (c0, b0, m0) = (cpu_secs(&pid), cpu_secs("self"), machine_busy_secs());
        let t0 = Instant::now();
        let s = fut.await;
        let t1 = Instant::now();
        let machine = machine_busy_secs() - m0;
        let cost = Cost {
            rss_max_kib: self.sampler.max_rss_kib(t0, t1),
            wal_max_bytes: self.sampler.max_wal_bytes(t0, t1),
            threads_max: self.sampler.max_threads(t0, t1),
            server_cpu_s: cpu_secs(&pid) - c0,
            bench_cpu_s: cpu_secs("self") - b0,
        };
        let mut j = s.json();
        let n = s.count().max(1) as f64;
        j["server_rss_max_mib"] = json!(load::round(mib(cost.rss_max_kib), 1));
        j["wal_max_mib"] = json!(load::round(cost.wal_max_bytes as f64 / 1048576.0, 2));
        j["server_threads_max"] = json!(cost.threads_max);
        j["server_cpu_ms_per_request"] = json!(load::round(cost.server_cpu_s * 1000.0 / n, 3));
        j["bench_cpu_ms_per_request"] = json!(load::round(cost.bench_cpu_s * 1000.0 / n, 3));
        // CPU that neither the server nor the benchmark used: other programs on the
        // machine, which make the figures noisier (2 cores = 2 CPU-seconds a second).
        j["other_cpu_share"] = json!(load::round(
            ((machine - cost.server_cpu_s - cost.bench_cpu_s) / (t1 - t0).as_secs_f64()).max(0.0),
            2
        ));
        println!(
            "  {name:<34} {:>7} ok {:>4} err {:>8.1}/s  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
            s.count(),
            s.errors,
            s.rate(),
            s.pct(50.0),
            s.pct(99.0),
            s.max()
        );
        if let Some(e) = &s.first_error {
            println!("    first error: {e}");
        }
        self.report.detail(name, j);
        (s, cost)
    }
}

async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bin = server::binary(args.kitroom.as_deref())?;
    if server::is_debug_build() {
        eprintln!("warning: kitroom-bench was built without --release; its own overhead will distort the figures");
    }
    let (devices, people, events, secs) = if args.quick {
        (10_000, 2_000, 100_000, 1.5)
    } else {
        (100_000, 20_000, 1_000_000, 5.0)
    };
    let sizes = Sizes {
        devices: args.devices.unwrap_or(devices),
        people: args.people.unwrap_or(people).max(2),
        events: args.events.unwrap_or(events),
    };
    let secs = args.secs.unwrap_or(secs);
    let dur = Duration::from_secs_f64(secs);
    let rate_dur = Duration::from_secs_f64(secs * 2.0);
    let run_started = Instant::now();
    let load_at_start = server::load_average();

    let dir = tempfile::Builder::new()
        .prefix("kitroom-bench-")
        .tempdir()?;
    let data = dir.path().join("data");
    let db = data.join(kitroom_store::db::DB_FILE);
    println!(
        "kitroom-bench: {} devices, {} people, {} events in {}; {secs} s a phase",
        sizes.devices,
        sizes.people,
        sizes.events,
        data.display()
    );
    println!("Load average at start: {load_at_start} (other work on the machine makes the figures noisier)");
    println!("Building the school through Kitroom's store code…");
    let school = seed::build(&data, sizes).await?;
    let db_mib = std::fs::metadata(&db).map(|m| m.len()).unwrap_or(0) as f64 / 1048576.0;
    for (what, s) in &school.timings {
        println!("  {what:<34} {s:>8.1}");
    }
    println!("  database: {db_mib:.0} MiB; {}", school.counts);
    if args.seed_only {
        return seed_only(&args, dir, &school, sizes, db_mib);
    }
    let mut pool = Pool {
        devs: school.available.clone(),
        next: 0,
    };

    let mut report = Report::default();
    report.detail(
        "sizes",
        json!({
            "devices": sizes.devices, "people": sizes.people, "events": sizes.events,
            "stored": school.counts, "db_mib": load::round(db_mib, 1),
            "seconds_per_phase": secs, "quick": args.quick,
        }),
    );
    report.detail(
        "seed_seconds",
        Value::Object(
            school
                .timings
                .iter()
                .map(|(k, v)| ((*k).to_owned(), json!(load::round(*v, 2))))
                .collect(),
        ),
    );

    let actors = raw::Actors {
        borrower: school.teacher_id,
        borrower_name: TEACHER.into(),
        receiver: school.manager_id,
        location: school.return_location_id,
    };

    // Tokens, through the real command line.
    let (teacher_token, manager_token) = {
        let (bin, data) = (bin.clone(), data.clone());
        tokio::task::spawn_blocking(move || -> anyhow::Result<(String, String)> {
            Ok((
                server::token_create(&bin, &data, TEACHER)?,
                server::token_create(&bin, &data, MANAGER)?,
            ))
        })
        .await??
    };

    // Kitroom.
    println!("Kitroom: {} serve on loopback…", bin.display());
    let env: Vec<(String, String)> = args
        .server_env
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .with_context(|| format!("--server-env {kv:?} is not KEY=VALUE"))
        })
        .collect::<anyhow::Result<_>>()?;
    if !env.is_empty() {
        println!("warning: the server runs with {env:?}: a what-if run, not Kitroom as shipped");
    }
    let (server, startup) = Server::start(&bin, &data, dir.path(), &env).await?;
    let sampler = Sampler::start(
        server.pid,
        data.join(format!("{}-wal", kitroom_store::db::DB_FILE)),
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_idle = proc_status(server.pid, "VmRSS").unwrap_or(0);
    let smaps_idle = server::smaps(server.pid);
    println!(
        "  started in {:.1} ms; {:.1} MiB resident when idle",
        startup.as_secs_f64() * 1000.0,
        mib(rss_idle)
    );
    let api = Api::new(&server.base, &teacher_token)?;
    let manager_api = Api::new(&server.base, &manager_token)?;
    let web = Web::signed_in(&server.base, MANAGER, PASSWORD).await?;

    report.detail("server_env", json!(args.server_env));
    report.detail("kitroom_source", server::source_version(&bin));
    report.detail("memory_idle", smaps_idle);
    let mut b = Bench {
        sampler: &sampler,
        pid: server.pid,
        report,
    };
    let result = drive(
        &mut b,
        &server,
        &school,
        &mut pool,
        Clients {
            api: &api,
            manager_api: &manager_api,
            web: &web,
            actors: &actors,
        },
        &db,
        dur,
        rate_dur,
    )
    .await;
    let problems = server.log_problems();
    let rss_hwm = proc_status(server.pid, "VmHWM").unwrap_or(0);
    let log_tail = server.log_tail();
    let stopped = server.stop().await;
    let mut report = b.report;
    drop(sampler);
    let (load_rss_kib, idle_after_kib) = match result {
        Ok(x) => x,
        Err(e) => {
            eprintln!("server log:\n{log_tail}");
            return Err(e);
        }
    };
    if let Err(e) = stopped {
        eprintln!("warning: {e:#}");
    }

    // The figures the issue names.
    let d = |r: &Report, k: &str, f: &str| -> f64 {
        r.details
            .get(k)
            .and_then(|v| v.get(f))
            .and_then(Value::as_f64)
            .unwrap_or(0.0)
    };
    let raw_txn_per_s = d(&report, "raw_writes_1_task", "per_s").max(d(
        &report,
        "raw_writes_50_tasks_one_writer",
        "per_s",
    ));
    report.set(
        "raw_txn_per_s",
        "raw SQLite check-out/return transactions a second (best of 1 and 50 tasks)",
        raw_txn_per_s,
    );
    report.set(
        "raw_txn_per_s_1",
        "raw, 1 task",
        d(&report, "raw_writes_1_task", "per_s"),
    );
    report.set(
        "raw_txn_per_s_50",
        "raw, 50 tasks through one writer connection",
        d(&report, "raw_writes_50_tasks_one_writer", "per_s"),
    );
    report.set(
        "raw_txn_ms_p50",
        "raw transaction latency p50, 1 task (ms)",
        d(&report, "raw_writes_1_task", "p50_ms"),
    );
    let http50 = d(&report, "http_writes_50_clients", "per_s");
    report.set(
        "http_txn_per_s",
        "HTTP check-outs+returns a second, 50 clients",
        http50,
    );
    report.set(
        "http_txn_per_s_1",
        "HTTP check-outs+returns a second, 1 client",
        d(&report, "http_writes_1_client", "per_s"),
    );
    report.set(
        "http_to_raw_ratio",
        "http_txn_per_s / raw_txn_per_s",
        if raw_txn_per_s > 0.0 {
            http50 / raw_txn_per_s
        } else {
            0.0
        },
    );
    let batched = d(&report, "raw_writes_50_tasks_batched", "per_s");
    report.set(
        "raw_batched_txn_per_s",
        "raw, 50 tasks batched as Kitroom's writer batches (the real ceiling)",
        batched,
    );
    report.set(
        "http_to_raw_batched_ratio",
        "http_txn_per_s / raw_batched_txn_per_s",
        if batched > 0.0 { http50 / batched } else { 0.0 },
    );
    report.set(
        "http_to_raw_batched_ratio_median_round",
        "the same ratio, median of the interleaved rounds",
        d(&report, "write_rounds", "median_batched_ratio"),
    );
    report.set(
        "http_to_raw_ratio_median_round",
        "the same ratio, median of the interleaved rounds",
        d(&report, "write_rounds", "median_ratio"),
    );
    report.set(
        "http_txn_ms_p99_50_clients",
        "HTTP write p99 at 50 clients (ms)",
        d(&report, "http_writes_50_clients", "p99_ms"),
    );
    report.set(
        "write_p50_ms_at_200",
        "write p50 at 200 writes/s (ms)",
        d(&report, "http_writes_at_200_per_s", "p50_ms"),
    );
    report.set(
        "write_p99_ms_at_200",
        "write p99 at 200 writes/s, from the scheduled time (ms)",
        d(&report, "http_writes_at_200_per_s", "p99_ms"),
    );
    report.set(
        "write_max_ms_at_200",
        "slowest write at 200 writes/s (ms)",
        d(&report, "http_writes_at_200_per_s", "max_ms"),
    );
    report.set(
        "fsync_p50_ms",
        "this disk: append 4 KiB + fdatasync, p50 (ms)",
        d(&report, "fsync_4k", "p50_ms"),
    );
    report.set(
        "fsync_p99_ms",
        "this disk: append 4 KiB + fdatasync, p99 (ms)",
        d(&report, "fsync_4k", "p99_ms"),
    );
    report.set(
        "raw_write_p99_ms_at_200",
        "raw SQLite at 200 writes/s, Kitroom's settings: p99 (ms)",
        d(&report, "raw_writes_at_200_per_s", "p99_ms"),
    );
    report.set(
        "raw_write_p99_ms_at_200_checkpoint_apart",
        "raw at 200 writes/s, WAL checkpoint on its own connection every 100 ms: p99 (ms)",
        d(
            &report,
            "raw_writes_at_200_per_s_checkpoint_apart",
            "p99_ms",
        ),
    );
    report.set(
        "raw_write_p99_ms_at_200_checkpoint_apart_bounded",
        "the same, and a TRUNCATE checkpoint whenever the WAL passes 4,096 frames: p99 (ms)",
        d(
            &report,
            "raw_writes_at_200_per_s_checkpoint_apart_bounded",
            "p99_ms",
        ),
    );
    report.set(
        "checkpoint_ms_max",
        "longest of those checkpoints (ms)",
        d(&report, "checkpoints_apart", "max_ms"),
    );
    report.set(
        "wal_max_mib",
        "largest WAL file seen while writing (MiB)",
        d(&report, "http_writes_at_200_per_s", "wal_max_mib").max(d(
            &report,
            "http_writes_50_clients",
            "wal_max_mib",
        )),
    );
    report.set(
        "list_p50_ms_at_200",
        "list page (HTML, 50 rows, kind+status filter) p50 at 200 req/s (ms)",
        d(&report, "list_page_at_200_per_s", "p50_ms"),
    );
    report.set(
        "list_p99_ms_at_200",
        "list page p99 at 200 req/s (ms)",
        d(&report, "list_page_at_200_per_s", "p99_ms"),
    );
    report.set(
        "list_page_per_s_50_clients",
        "list pages a second, 50 clients",
        d(&report, "list_page_50_clients", "per_s"),
    );
    report.set(
        "list_api_p99_ms_at_200",
        "API list p99 at 200 req/s (ms)",
        d(&report, "list_api_at_200_per_s", "p99_ms"),
    );
    report.set(
        "list_api_per_s_50_clients",
        "API lists a second, 50 clients",
        d(&report, "list_api_50_clients", "per_s"),
    );
    let list_server = d(&report, "list_page_1_client", "p50_ms");
    let raw_list = d(&report, "raw_list_query", "p50_ms");
    report.set("list_server_ms_p50", "list page time at 1 client, p50 (ms): the server time, approximated by the loopback response time", list_server);
    report.set(
        "raw_list_query_ms_p50",
        "the list's SQL (count + page) run directly, p50 (ms)",
        raw_list,
    );
    report.set(
        "list_server_to_raw_ratio",
        "list_server_ms_p50 / raw_list_query_ms_p50",
        if raw_list > 0.0 {
            list_server / raw_list
        } else {
            0.0
        },
    );
    report.set(
        "list_api_ms_p50",
        "API list at 1 client, p50 (ms)",
        d(&report, "list_api_1_client", "p50_ms"),
    );
    report.set(
        "raw_location_names_ms_p50",
        "the list page's location names run directly, p50 (ms)",
        d(&report, "raw_location_names_query", "p50_ms"),
    );
    report.set(
        "raw_location_counts_ms_p50",
        "locations with device counts (the locations page; the list page before 828bad9), p50 (ms)",
        d(&report, "raw_location_counts_query", "p50_ms"),
    );
    report.set(
        "device_page_ms_p50",
        "device page (manager) p50 (ms)",
        d(&report, "device_page_1_client", "p50_ms"),
    );
    report.set(
        "device_page_ms_p99",
        "device page p99 (ms)",
        d(&report, "device_page_1_client", "p99_ms"),
    );
    report.set(
        "search_p50_ms",
        "search page (tag, serial or model) p50 (ms)",
        d(&report, "search_page_1_client", "p50_ms"),
    );
    report.set(
        "search_p99_ms",
        "search page p99 (ms)",
        d(&report, "search_page_1_client", "p99_ms"),
    );
    report.set(
        "search_api_p99_ms",
        "API search p99 (ms)",
        d(&report, "search_api_1_client", "p99_ms"),
    );
    report.set(
        "raw_search_ms_p50",
        "the search's SQL run directly, p50 (ms)",
        d(&report, "raw_search_query", "p50_ms"),
    );
    report.set(
        "desk_ms_p50",
        "manager's desk (/) p50 (ms)",
        d(&report, "desk_1_client", "p50_ms"),
    );
    report.set(
        "desk_ms_p99",
        "manager's desk p99 (ms)",
        d(&report, "desk_1_client", "p99_ms"),
    );
    let export_s = d(&report, "export", "secs");
    let raw_export_s = d(&report, "export", "raw_secs");
    report.set("export_s", "events CSV export over HTTP (s)", export_s);
    report.set(
        "raw_export_s",
        "raw scan of the same rows written as CSV to /dev/null (s)",
        raw_export_s,
    );
    report.set(
        "export_to_raw_ratio",
        "export_s / raw_export_s",
        if raw_export_s > 0.0 {
            export_s / raw_export_s
        } else {
            0.0
        },
    );
    report.set(
        "export_first_byte_ms",
        "export: first bytes after (ms)",
        d(&report, "export", "first_byte_ms"),
    );
    report.set(
        "export_rows",
        "export: data rows received",
        d(&report, "export", "rows"),
    );
    report.set(
        "export_peak_rss_mib",
        "server's peak resident memory during the export (MiB)",
        d(&report, "export", "peak_rss_mib"),
    );
    report.set(
        "export_rss_growth_mib",
        "export peak minus resident memory just before (MiB)",
        d(&report, "export", "rss_growth_mib"),
    );
    report.set(
        "checkout_p99_ms_during_export",
        "write p99 at 20 writes/s during the export (ms)",
        d(&report, "writes_during_export", "p99_ms"),
    );
    report.set(
        "checkout_max_ms_during_export",
        "slowest write during the export (ms)",
        d(&report, "writes_during_export", "max_ms"),
    );
    report.set(
        "rss_idle_mib",
        "server resident memory, idle after start (MiB)",
        mib(rss_idle),
    );
    report.set(
        "rss_idle_after_load_mib",
        "server resident memory, idle after the load (MiB)",
        mib(idle_after_kib),
    );
    report.set(
        "rss_load_mib",
        "server's largest resident memory under the 50-client phases (MiB)",
        mib(load_rss_kib),
    );
    report.set(
        "rss_hwm_mib",
        "server's peak resident memory over the whole run (VmHWM, MiB)",
        mib(rss_hwm),
    );
    report.set(
        "startup_ms",
        "spawn to first 200 from /health on the large database (ms)",
        startup.as_secs_f64() * 1000.0,
    );
    report.set(
        "login_p50_ms",
        "sign-in (login page + form) p50 at 100 logins/s (ms)",
        d(&report, "logins_at_100_per_s", "p50_ms"),
    );
    report.set(
        "login_p99_ms",
        "sign-in p99 at 100 logins/s (ms)",
        d(&report, "logins_at_100_per_s", "p99_ms"),
    );
    report.set(
        "logins_per_s",
        "sign-ins completed a second",
        d(&report, "logins_at_100_per_s", "per_s"),
    );
    report.set(
        "checkout_p99_ms_during_logins",
        "write p99 at 50 writes/s during 100 logins/s (ms)",
        d(&report, "writes_during_logins", "p99_ms"),
    );
    report.set(
        "checkout_max_ms_during_logins",
        "slowest write during the logins (ms)",
        d(&report, "writes_during_logins", "max_ms"),
    );
    report.set(
        "server_threads_max_during_logins",
        "server threads at most during the logins",
        d(&report, "logins_at_100_per_s", "server_threads_max"),
    );
    if let Some(v) = report.details.get("argon2").cloned() {
        for (k, what) in [
            ("memory_kib", "argon2id memory per hash (KiB)"),
            ("iterations", "argon2id iterations"),
            ("lanes", "argon2id lanes"),
        ] {
            report.set(
                &format!("argon2_{k}"),
                what,
                v.get(k).and_then(Value::as_f64).unwrap_or(0.0),
            );
        }
    }
    report.detail("server_log_problems", json!(problems));

    // The log must still verify: every event, the bulk history's, the raw
    // transactions' and the server's, is linked into one chain.
    println!("kitroom check…");
    let t = Instant::now();
    let (ok, text) = {
        let (bin, data) = (bin.clone(), data.clone());
        tokio::task::spawn_blocking(move || server::check(&bin, &data)).await??
    };
    println!(
        "  {} ({:.1} s)",
        text.replace('\n', "; "),
        t.elapsed().as_secs_f64()
    );
    report.detail(
        "kitroom_check",
        json!({"ok": ok, "output": text, "secs": load::round(t.elapsed().as_secs_f64(), 1)}),
    );
    report.detail(
        "load_average",
        json!({"start": load_at_start, "end": server::load_average()}),
    );
    report.detail(
        "total_seconds",
        json!(load::round(run_started.elapsed().as_secs_f64(), 1)),
    );

    report.print();
    let targets: Vec<Value> = report
        .judge(TARGETS)
        .into_iter()
        .map(|(_, _, j)| j)
        .collect();
    let guard = report.judge(GUARD);
    let guard_ok = guard.iter().all(|(_, met, _)| *met == Some(true));
    let mut out = report.figures.clone();
    out.insert(
        "sizes".into(),
        report.details.get("sizes").cloned().unwrap_or(Value::Null),
    );
    out.insert("targets".into(), json!(targets));
    out.insert("guard".into(), json!({"passed": guard_ok, "thresholds": guard.iter().map(|(_, _, j)| j.clone()).collect::<Vec<_>>()}));
    out.insert("details".into(), Value::Object(report.details.clone()));
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&Value::Object(out))?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("\nFigures written to {}", path.display());
    }
    println!("Total {:.0} s.", run_started.elapsed().as_secs_f64());
    if args.keep {
        let kept = dir.keep();
        println!("Data directory kept: {}", kept.display());
    }
    if !ok {
        eprintln!("kitroom check failed after the benchmark: {text}");
        return Ok(ExitCode::from(1));
    }
    if args.check {
        for (key, met, j) in &guard {
            if *met != Some(true) {
                eprintln!(
                    "regression guard: {key} = {} crosses its threshold {}",
                    j["value"], j["limit"]
                );
            }
        }
        if !guard_ok {
            return Ok(ExitCode::from(1));
        }
        println!("Regression guard passed.");
    }
    Ok(ExitCode::SUCCESS)
}

/// The end of a `--seed-only` run: the seed's timings and the school's size, printed
/// and (with `--json`) written; the data directory kept with `--keep`.
fn seed_only(
    args: &Args,
    dir: tempfile::TempDir,
    school: &seed::School,
    sizes: Sizes,
    db_mib: f64,
) -> anyhow::Result<ExitCode> {
    let total: f64 = school.timings.iter().map(|(_, s)| s).sum();
    println!("  {:<34} {total:>8.1}", "seed_total_s");
    if let Some(path) = &args.json {
        let mut seconds: serde_json::Map<String, Value> = school
            .timings
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(load::round(*v, 2))))
            .collect();
        seconds.insert("seed_total_s".into(), json!(load::round(total, 2)));
        let out = json!({
            "sizes": {"devices": sizes.devices, "people": sizes.people, "events": sizes.events,
                      "stored": school.counts, "db_mib": load::round(db_mib, 1)},
            "seed_seconds": seconds,
        });
        std::fs::write(path, serde_json::to_string_pretty(&out)?)
            .with_context(|| format!("writing {}", path.display()))?;
        println!("Seed timings written to {}", path.display());
    }
    if args.keep {
        let kept = dir.keep();
        println!("Data directory kept: {}", kept.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// The clients of the HTTP phases, and whom the raw transactions act as.
struct Clients<'a> {
    api: &'a Api,
    manager_api: &'a Api,
    web: &'a Web,
    actors: &'a raw::Actors,
}

/// Prints and records a phase run outside [`Bench::phase`].
fn show(report: &mut Report, name: &str, s: &Samples) {
    println!(
        "  {name:<34} {:>7} ok {:>4} err {:>8.1}/s  p50 {:>8.2} ms  p99 {:>8.2} ms  max {:>8.2} ms",
        s.count(),
        s.errors,
        s.rate(),
        s.pct(50.0),
        s.pct(99.0),
        s.max()
    );
    if let Some(e) = &s.first_error {
        println!("    first error: {e}");
    }
    report.detail(name, s.json());
}

/// Every phase with the server running, in order. Returns the largest resident
/// memory seen under the 50-client phases and the resident memory when idle after
/// the load.
#[allow(clippy::too_many_arguments)]
async fn drive(
    b: &mut Bench<'_>,
    server: &Server,
    school: &seed::School,
    pool: &mut Pool,
    clients: Clients<'_>,
    db: &std::path::Path,
    dur: Duration,
    rate_dur: Duration,
) -> anyhow::Result<(u64, u64)> {
    let Clients {
        api,
        manager_api,
        web,
        actors,
    } = clients;
    // Warm up: a few of each request, not measured.
    http::write_pairs(api, pool.lending(10, 1), 1, Duration::from_millis(200)).await;
    for i in 0..20 {
        let _ = web
            .get(
                "/devices",
                &[
                    ("kind", "laptop".into()),
                    ("status", "available".into()),
                    ("page", (i + 1).to_string()),
                ],
            )
            .await;
        let _ = web
            .get(&format!("/devices/{}", school.sample_tags[i]), &[])
            .await;
    }

    // The disk's own floor: what one durable append costs.
    let dir = db.parent().unwrap_or(db).to_owned();
    let fsync = tokio::task::spawn_blocking(move || raw::fsync_probe(&dir, 500)).await??;
    show(&mut b.report, "fsync_4k", &fsync);

    // The limit and Kitroom, in interleaved rounds so that a disk or a neighbour
    // that slows down for a while slows both alike: raw with 1 task, raw with 50
    // tasks through one writer (one transaction each), raw with 50 tasks batched as
    // Kitroom batches (the ceiling), then Kitroom with 50 clients; again and again.
    println!("Writes, the limit and Kitroom in interleaved rounds (raw: sqlx, WAL, synchronous=FULL, one writer; HTTP: API token):");
    let rounds = ((dur.as_secs_f64() * 2.0).round() as usize).clamp(2, 5);
    let round = dur.mul_f64(2.0 / rounds as f64);
    // Devices: the fixed-rate phases take what their schedules need; of the rest,
    // Kitroom's 50-client rounds take 81% and Kitroom alone at 1 client 19%. The raw
    // limit lends 50 devices of its own again and again (`raw::pairs`).
    let fixed = 4 * http::devices_for_rate(200.0, rate_dur)
        + http::devices_for_rate(20.0, EXPORT_WRITES)
        + http::devices_for_rate(50.0, dur)
        + 50;
    let rest = pool.left().saturating_sub(fixed);
    let share = rest * 81 / 100 / rounds;
    let writer = raw::writer(db).await?;
    let raw_devs = pool.take(50);
    let one = raw::Raw::OnePerOperation(writer.clone(), actors.clone());
    // The same transactions batched as Kitroom's writer batches them.
    let batched = raw::Raw::Batched(raw::Batcher::start(writer.clone(), actors.clone()));
    let (mut raw1, mut raw50, mut rawb, mut http50) = (
        Samples::default(),
        Samples::default(),
        Samples::default(),
        Samples::default(),
    );
    let mut ratios = Vec::new();
    let mut batched_ratios = Vec::new();
    let mut ran_out = false;
    // The 50-client rounds' server figures, over all rounds.
    let (mut w50_rss, mut w50_wal, mut w50_cpu, mut w50_bench) = (0u64, 0u64, 0.0, 0.0);
    for _ in 0..rounds {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let r1 = raw::pairs(&one, &raw_devs[..1], round).await;
        let r50 = raw::pairs(&one, &raw_devs, round).await;
        let rb = raw::pairs(&batched, &raw_devs, round).await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        let l = pool.lending(share, 50);
        let (h, cost) = b
            .phase(
                "http_writes_50_clients_round",
                http::write_pairs(api, l.clone(), 50, round),
            )
            .await;
        ran_out |= l.ran_out();
        let best = r1.rate().max(r50.rate());
        ratios.push(if best > 0.0 { h.rate() / best } else { 0.0 });
        batched_ratios.push(if rb.rate() > 0.0 {
            h.rate() / rb.rate()
        } else {
            0.0
        });
        w50_rss = w50_rss.max(cost.rss_max_kib);
        w50_wal = w50_wal.max(cost.wal_max_bytes);
        w50_cpu += cost.server_cpu_s;
        w50_bench += cost.bench_cpu_s;
        for (all, one) in [
            (&mut raw1, r1),
            (&mut raw50, r50),
            (&mut rawb, rb),
            (&mut http50, h),
        ] {
            all.secs += one.secs;
            all.merge(one);
        }
    }
    drop(batched);
    writer.close().await;
    if ran_out {
        println!(
            "  warning: a write round used all {share} of its devices and may have ended early"
        );
    }
    show(&mut b.report, "raw_writes_1_task", &raw1);
    show(&mut b.report, "raw_writes_50_tasks_one_writer", &raw50);
    show(&mut b.report, "raw_writes_50_tasks_batched", &rawb);
    show(&mut b.report, "http_writes_50_clients", &http50);
    b.report.details.remove("http_writes_50_clients_round");
    let median = |v: &[f64]| {
        let mut sorted = v.to_vec();
        sorted.sort_by(f64::total_cmp);
        sorted[sorted.len() / 2]
    };
    b.report.detail(
        "write_rounds",
        json!({"rounds": rounds, "round_secs": round.as_secs_f64(), "ratios": ratios,
               "median_ratio": median(&ratios), "batched_ratios": batched_ratios,
               "median_batched_ratio": median(&batched_ratios), "ran_out_of_devices": ran_out}),
    );
    if let Some(Value::Object(m)) = b.report.details.get_mut("http_writes_50_clients") {
        let n = http50.count().max(1) as f64;
        m.insert(
            "server_rss_max_mib".into(),
            json!(load::round(mib(w50_rss), 1)),
        );
        m.insert(
            "wal_max_mib".into(),
            json!(load::round(w50_wal as f64 / 1048576.0, 2)),
        );
        m.insert(
            "server_cpu_ms_per_request".into(),
            json!(load::round(w50_cpu * 1000.0 / n, 3)),
        );
        m.insert(
            "bench_cpu_ms_per_request".into(),
            json!(load::round(w50_bench * 1000.0 / n, 3)),
        );
    }
    println!("  HTTP / raw by round: {ratios:.2?}; HTTP / raw batched: {batched_ratios:.2?}");

    println!("Writes, Kitroom alone:");
    let l1 = pool.lending(rest * 19 / 100, 1);
    b.phase(
        "http_writes_1_client",
        http::write_pairs(api, l1.clone(), 1, dur),
    )
    .await;
    if l1.ran_out() {
        println!("  warning: http_writes_1_client used all its devices and may have ended early");
    }
    let mut load_rss = w50_rss;
    b.report
        .detail("memory_after_writes", server::smaps(server.pid));
    let devs = pool.take(http::devices_for_rate(200.0, rate_dur));
    let s = http::write_rate(api, devs, 200.0, rate_dur, None);
    let s = async { s.await.unwrap_or_else(failed) };
    b.phase("http_writes_at_200_per_s", s).await;

    // The same rate straight on SQLite: with Kitroom's settings, where SQLite's
    // automatic checkpoint runs inside whichever commit fills the WAL to 1,000
    // pages; then with that checkpoint moved to a connection of its own every
    // 100 ms, to show how much of the tail is the checkpoint's; then the same with
    // a TRUNCATE checkpoint whenever the WAL passes 16 MiB, to keep it bounded.
    let writer = raw::writer(db).await?;
    let t0 = Instant::now();
    let devs = pool.take(http::devices_for_rate(200.0, rate_dur));
    let raw200 = raw::pairs_at(&writer, actors, devs, 200.0, rate_dur).await;
    let wal_a = b.sampler.max_wal_bytes(t0, Instant::now());
    writer.close().await;
    show(&mut b.report, "raw_writes_at_200_per_s", &raw200);
    let mut apart = Vec::new();
    for (name, truncate_above) in [
        ("raw_writes_at_200_per_s_checkpoint_apart", None),
        // 4,096 frames: a WAL of about 16 MiB.
        (
            "raw_writes_at_200_per_s_checkpoint_apart_bounded",
            Some(4096),
        ),
    ] {
        let writer = raw::writer_without_autocheckpoint(db).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let checkpoints = tokio::spawn(raw::checkpointer(
            db.to_owned(),
            Duration::from_millis(100),
            truncate_above,
            stop.clone(),
        ));
        let t0 = Instant::now();
        let devs = pool.take(http::devices_for_rate(200.0, rate_dur));
        let s = raw::pairs_at(&writer, actors, devs, 200.0, rate_dur).await;
        let wal = b.sampler.max_wal_bytes(t0, Instant::now());
        stop.store(true, Ordering::Relaxed);
        let checkpoints = checkpoints.await??;
        writer.close().await;
        raw::truncate_wal(db).await?;
        show(&mut b.report, name, &s);
        if let Some(Value::Object(m)) = b.report.details.get_mut(name) {
            m.insert(
                "wal_max_mib".into(),
                json!(load::round(wal as f64 / 1048576.0, 2)),
            );
            m.insert("checkpoints".into(), checkpoints.json());
        }
        println!(
            "    WAL at most {:.1} MiB; each checkpoint p50 {:.2} ms, max {:.2} ms",
            wal as f64 / 1048576.0,
            checkpoints.pct(50.0),
            checkpoints.max()
        );
        apart.push(checkpoints);
    }
    println!(
        "    (with the automatic checkpoint the WAL stayed at {:.1} MiB at most)",
        wal_a as f64 / 1048576.0
    );
    if let Some(Value::Object(m)) = b.report.details.get_mut("raw_writes_at_200_per_s") {
        m.insert(
            "wal_max_mib".into(),
            json!(load::round(wal_a as f64 / 1048576.0, 2)),
        );
    }
    let checkpoints = apart.swap_remove(0);
    b.report.detail("checkpoints_apart", checkpoints.json());

    // The filtered list, and the same SQL straight on SQLite at the same moment.
    let mut conn = raw::reader(db).await?;
    // Each page's key: the tag just before it (none for the first), in the list's
    // order, so the phases ask for pages at every depth by key as the Next links do.
    let tags: Vec<String> = sqlx::query_scalar(
        "select tag from device where school_id = 1 and kind = 'laptop' and status = 'available' order by tag collate nocase",
    )
    .fetch_all(&mut conn)
    .await?;
    let available = tags.len() as i64;
    let keys: Vec<String> = std::iter::once(String::new())
        .chain(tags.iter().skip(49).step_by(50).cloned())
        .collect();
    drop(tags);
    let last_page = ((available + 49) / 50).max(1);
    // Does a page view write to the database? A session saved after the response
    // moves its expiry (to the second) even when nothing in it changed for the page.
    let expiry = "select coalesce(max(expires_at), 0) from session where person_id = ?";
    let e0: i64 = sqlx::query_scalar(expiry)
        .bind(school.manager_id.to_string())
        .fetch_one(&mut conn)
        .await?;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let _ = web.get("/devices", &[("kind", "laptop".into())]).await;
    let e1: i64 = sqlx::query_scalar(expiry)
        .bind(school.manager_id.to_string())
        .fetch_one(&mut conn)
        .await?;
    b.report.detail("page_view_saves_session", json!(e1 > e0));
    println!(
        "  a page view saves the session (a write transaction): {}",
        e1 > e0
    );
    let mut rng = Rng::new(42);
    // Pages at random depths, each named by its key ("" for the first page).
    let pages: Arc<Vec<String>> = Arc::new(
        (0..4096)
            .map(|_| keys[rng.below(keys.len().min(last_page as usize))].clone())
            .collect(),
    );
    let raw_list = raw::list_query(&mut conn, &pages[300..350], &pages[..200]).await?;
    println!("Lists ({available} available laptops: pages 1 to {last_page}, at random, by key):");
    for (name, s) in [
        ("raw_list_query", &raw_list.query),
        ("raw_list_count", &raw_list.count),
        ("raw_list_page", &raw_list.page),
        ("raw_location_names_query", &raw_list.names),
        ("raw_location_counts_query", &raw_list.counts),
    ] {
        println!(
            "  {name:<34} {:>7} ok          p50 {:>8.2} ms  p99 {:>8.2} ms",
            s.count(),
            s.pct(50.0),
            s.pct(99.0)
        );
        b.report.detail(name, s.json());
    }
    let list_query = |pages: Arc<Vec<String>>| {
        move |i: u64| -> Vec<(&'static str, String)> {
            let key = &pages[(i as usize * 7919) % pages.len()];
            let mut q = vec![("kind", "laptop".into()), ("status", "available".into())];
            if !key.is_empty() {
                q.push(("after", key.clone()));
            }
            q
        }
    };
    let page_of = list_query(pages.clone());
    let html = Reader::Web(web.clone());
    let apir = Reader::Api(manager_api.clone());
    b.phase(
        "list_page_1_client",
        http::reads(html.clone(), 1, dur, move |c, s| {
            ("/devices".into(), page_of(c as u64 * 100_003 + s))
        }),
    )
    .await;
    let page_of = list_query(pages.clone());
    let (_, l50) = b
        .phase(
            "list_page_50_clients",
            http::reads(html.clone(), 50, dur, move |c, s| {
                ("/devices".into(), page_of(c as u64 * 100_003 + s))
            }),
        )
        .await;
    load_rss = load_rss.max(l50.rss_max_kib);
    b.report
        .detail("memory_after_list_pages", server::smaps(server.pid));
    let page_of = list_query(pages.clone());
    b.phase(
        "list_page_at_200_per_s",
        http::reads_at(html.clone(), 200.0, rate_dur, move |i| {
            ("/devices".into(), page_of(i))
        }),
    )
    .await;
    let with_per_page = |pages: Arc<Vec<String>>| {
        let page_of = list_query(pages);
        move |i: u64| {
            let mut q = page_of(i);
            q.push(("per_page", "50".into()));
            q
        }
    };
    let page_of = with_per_page(pages.clone());
    b.phase(
        "list_api_1_client",
        http::reads(apir.clone(), 1, dur, move |c, s| {
            ("/api/v1/devices".into(), page_of(c as u64 * 100_003 + s))
        }),
    )
    .await;
    let page_of = with_per_page(pages.clone());
    let (_, a50) = b
        .phase(
            "list_api_50_clients",
            http::reads(apir.clone(), 50, dur, move |c, s| {
                ("/api/v1/devices".into(), page_of(c as u64 * 100_003 + s))
            }),
        )
        .await;
    load_rss = load_rss.max(a50.rss_max_kib);
    let page_of = with_per_page(pages.clone());
    b.phase(
        "list_api_at_200_per_s",
        http::reads_at(apir.clone(), 200.0, rate_dur, move |i| {
            ("/api/v1/devices".into(), page_of(i))
        }),
    )
    .await;

    println!("Pages:");
    let tags = Arc::new(school.sample_tags.clone());
    b.phase(
        "device_page_1_client",
        http::reads(html.clone(), 1, dur, move |_, s| {
            (
                format!("/devices/{}", tags[s as usize % tags.len()]),
                vec![],
            )
        }),
    )
    .await;
    let terms = Arc::new(school.search_terms.clone());
    let raw_search = raw::search_query(&mut conn, &terms[..150.min(terms.len())]).await?;
    println!(
        "  {:<34} {:>7} ok          p50 {:>8.2} ms  p99 {:>8.2} ms",
        "raw_search_query",
        raw_search.count(),
        raw_search.pct(50.0),
        raw_search.pct(99.0)
    );
    b.report.detail("raw_search_query", raw_search.json());
    let t = terms.clone();
    b.phase(
        "search_page_1_client",
        http::reads(html.clone(), 1, dur, move |_, s| {
            (
                "/devices".into(),
                vec![("q", t[s as usize % t.len()].clone())],
            )
        }),
    )
    .await;
    let t = terms.clone();
    b.phase(
        "search_api_1_client",
        http::reads(apir.clone(), 1, dur, move |_, s| {
            (
                "/api/v1/devices".into(),
                vec![("q", t[s as usize % t.len()].clone())],
            )
        }),
    )
    .await;
    b.phase(
        "desk_1_client",
        http::reads(html.clone(), 1, dur, |_, _| ("/".into(), vec![])),
    )
    .await;

    // Why, in SQLite's words.
    let mut plans = serde_json::Map::new();
    for (name, sql, binds) in [
        ("list_count", raw::LIST_COUNT, &["available", "laptop"][..]),
        (
            "list_count_from_index",
            raw::LIST_COUNT_FROM_INDEX,
            &["available", "laptop"][..],
        ),
        (
            "list_page",
            raw::LIST_PAGE,
            &["available", "laptop", "LT-05000", "51"][..],
        ),
        ("location_counts", raw::LOCATION_COUNTS, &[][..]),
        ("search_count", raw::SEARCH_COUNT, &["\"ThinkPad\""][..]),
        (
            "search_page",
            &raw::search_page(true),
            &["\"ThinkPad\"", "%ThinkPad%"][..],
        ),
    ] {
        plans.insert(
            name.into(),
            json!(raw::explain(&mut conn, sql, binds).await?),
        );
    }
    b.report.detail("query_plans", Value::Object(plans));
    let (version, fts5): (String, i64) =
        sqlx::query_as("select sqlite_version(), sqlite_compileoption_used('ENABLE_FTS5')")
            .fetch_one(&mut conn)
            .await?;
    b.report
        .detail("sqlite", json!({"version": version, "fts5": fts5 == 1}));
    let hash: Option<String> =
        sqlx::query_scalar("select password_hash from person where username = ?")
            .bind(TEACHER)
            .fetch_one(&mut conn)
            .await?;
    if let Some(params) = hash.as_deref().and_then(argon2_params) {
        b.report.detail("argon2", params);
    }

    // The export, against a raw scan of the same rows in the same run.
    println!("Export of the activity log:");
    // Twice, keeping the faster: the limit, with the file as warm as it can be.
    let first = raw::export_scan(&mut conn).await?;
    let second = raw::export_scan(&mut conn).await?;
    let (raw_secs, raw_rows, raw_bytes) = if second.0 < first.0 { second } else { first };
    println!(
        "  raw scan + CSV to /dev/null: {raw_rows} rows, {:.1} MiB in {raw_secs:.2} s (best of {:.2} and {:.2} s)",
        raw_bytes as f64 / 1048576.0,
        first.0,
        second.0
    );
    drop(conn);
    tokio::time::sleep(Duration::from_millis(500)).await;
    let before_kib = proc_status(server.pid, "VmRSS").unwrap_or(0);
    let hwm_before = proc_status(server.pid, "VmHWM").unwrap_or(0);
    let stop = Arc::new(AtomicBool::new(false));
    let writes = {
        let devs = pool.take(http::devices_for_rate(20.0, EXPORT_WRITES));
        let (api, stop) = (api.clone(), stop.clone());
        tokio::spawn(async move {
            http::write_rate(&api, devs, 20.0, Duration::from_secs(600), Some(stop)).await
        })
    };
    let pid = server.pid.to_string();
    let (c0, b0, m0) = (cpu_secs(&pid), cpu_secs("self"), machine_busy_secs());
    let t0 = Instant::now();
    let export = web.export("/export/events.csv").await;
    let t1 = Instant::now();
    let (server_cpu, bench_cpu) = (cpu_secs(&pid) - c0, cpu_secs("self") - b0);
    let other_cpu =
        ((machine_busy_secs() - m0 - server_cpu - bench_cpu) / (t1 - t0).as_secs_f64()).max(0.0);
    stop.store(true, Ordering::Relaxed);
    let export = export?;
    let writes = writes.await?.unwrap_or_else(failed);
    let hwm_after = proc_status(server.pid, "VmHWM").unwrap_or(0);
    let peak_kib = b
        .sampler
        .max_rss_kib(t0, t1)
        .max(if hwm_after > hwm_before { hwm_after } else { 0 });
    println!(
        "  HTTP: {} rows, {:.1} MiB in {:.2} s, first bytes after {:.1} ms; server {:.1} → {:.1} MiB",
        export.lines.saturating_sub(1),
        export.bytes as f64 / 1048576.0,
        export.secs,
        export.first_byte_ms,
        mib(before_kib),
        mib(peak_kib)
    );
    println!(
        "  writes during the export: {} ok {} err, p99 {:.2} ms, max {:.2} ms",
        writes.count(),
        writes.errors,
        writes.pct(99.0),
        writes.max()
    );
    b.report.detail("writes_during_export", writes.json());
    b.report.detail(
        "export",
        json!({
            "secs": export.secs, "first_byte_ms": export.first_byte_ms, "bytes": export.bytes,
            "rows": export.lines.saturating_sub(1), "raw_secs": raw_secs, "raw_rows": raw_rows, "raw_bytes": raw_bytes,
            "rss_before_mib": mib(before_kib), "peak_rss_mib": mib(peak_kib),
            "rss_growth_mib": mib(peak_kib.saturating_sub(before_kib)),
            "hwm_before_mib": mib(hwm_before), "hwm_after_mib": mib(hwm_after),
            "server_cpu_s": load::round(server_cpu, 2), "bench_cpu_s": load::round(bench_cpu, 2),
            "other_cpu_share": load::round(other_cpu, 2),
        }),
    );

    // A burst of sign-ins, with writes going on.
    println!("Sign-ins at 100 a second, with writes at 50 a second:");
    let writes = {
        let devs = pool.take(http::devices_for_rate(50.0, dur));
        let api = api.clone();
        tokio::spawn(async move { http::write_rate(&api, devs, 50.0, dur, None).await })
    };
    let base = server.base.clone();
    let logins = load::open_loop(100.0, dur, None, move |_| {
        http::login_once(base.clone(), TEACHER, PASSWORD)
    });
    b.phase("logins_at_100_per_s", logins).await;
    let writes = writes.await?.unwrap_or_else(failed);
    println!(
        "  writes during the logins: {} ok {} err, p99 {:.2} ms, max {:.2} ms",
        writes.count(),
        writes.errors,
        writes.pct(99.0),
        writes.max()
    );
    b.report.detail("writes_during_logins", writes.json());
    b.report
        .detail("memory_after_logins", server::smaps(server.pid));

    tokio::time::sleep(Duration::from_secs(2)).await;
    let idle_after = proc_status(server.pid, "VmRSS").unwrap_or(0);
    b.report.detail("devices_left_in_pool", json!(pool.left()));
    Ok((load_rss, idle_after))
}

/// Devices for the writes during the export: enough for this long (an export that
/// takes longer runs out of devices for its writes, which then count as failed).
const EXPORT_WRITES: Duration = Duration::from_secs(90);

/// A phase that could not run, as samples with one error.
fn failed(e: anyhow::Error) -> Samples {
    Samples {
        ms: vec![0.0],
        errors: 1,
        first_error: Some(format!("{e:#}")),
        ..Default::default()
    }
}

/// The parameters in an argon2 PHC string: `$argon2id$v=19$m=19456,t=2,p=1$…`.
fn argon2_params(phc: &str) -> Option<Value> {
    let mut parts = phc.split('$');
    let algorithm = parts.nth(1)?;
    let params = parts.find(|p| p.starts_with("m="))?;
    let mut m = json!({"algorithm": algorithm});
    for kv in params.split(',') {
        let (k, v) = kv.split_once('=')?;
        let key = match k {
            "m" => "memory_kib",
            "t" => "iterations",
            "p" => "lanes",
            _ => continue,
        };
        m[key] = json!(v.parse::<u64>().ok()?);
    }
    Some(m)
}
