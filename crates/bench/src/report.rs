//! The figures: collected by name, printed as a table, written as JSON, and judged
//! against the targets of the performance issue.

use serde_json::{Map, Value};

use crate::load::round;

/// A target from the issue: a figure, its limit, and which side of it is good.
pub struct Target {
    pub key: &'static str,
    pub what: &'static str,
    pub at_least: bool,
    pub limit: f64,
}

/// The targets `docs/performance.md` lists, judged at the default size.
pub const TARGETS: &[Target] = &[
    Target {
        key: "http_to_raw_ratio",
        what: "check-out+return over HTTP, 50 clients, vs raw SQLite one transaction each",
        at_least: true,
        limit: 1.0,
    },
    Target {
        key: "http_to_raw_batched_ratio",
        what: "the same vs raw SQLite batching as Kitroom does (the ceiling)",
        at_least: true,
        limit: 0.7,
    },
    Target {
        key: "write_p99_ms_at_200",
        what: "write p99 at 200 writes/s (ms)",
        at_least: false,
        limit: 10.0,
    },
    Target {
        key: "list_p99_ms_at_200",
        what: "filtered list page p99 at 200 req/s (ms)",
        at_least: false,
        limit: 10.0,
    },
    Target {
        key: "list_server_to_raw_ratio",
        what: "list page server time / raw query time",
        at_least: false,
        limit: 4.0,
    },
    Target {
        key: "search_p99_ms",
        what: "search by tag, serial or model p99 (ms)",
        at_least: false,
        limit: 15.0,
    },
    Target {
        key: "export_to_raw_ratio",
        what: "event export time / raw scan-and-write time",
        at_least: false,
        limit: 1.5,
    },
    Target {
        key: "export_first_byte_ms",
        what: "export first bytes (ms)",
        at_least: false,
        limit: 500.0,
    },
    Target {
        key: "export_rss_growth_mib",
        what: "export peak memory growth (MiB)",
        at_least: false,
        limit: 32.0,
    },
    Target {
        key: "checkout_max_ms_during_export",
        what: "slowest check-out while exporting (ms)",
        at_least: false,
        limit: 100.0,
    },
    Target {
        key: "checkout_p99_ms_during_logins",
        what: "write p99 while 100 sign-ins a second are offered (ms)",
        at_least: false,
        limit: 50.0,
    },
    Target {
        key: "rss_idle_mib",
        what: "resident memory when idle (MiB)",
        at_least: false,
        limit: 32.0,
    },
    Target {
        key: "rss_load_mib",
        what: "resident memory under 50-client load (MiB)",
        at_least: false,
        limit: 96.0,
    },
    Target {
        key: "startup_ms",
        what: "start to first answered request (ms)",
        at_least: false,
        limit: 300.0,
    },
    Target {
        key: "argon2_memory_kib",
        what: "argon2id memory per hash (KiB)",
        at_least: true,
        limit: 19_456.0,
    },
    Target {
        key: "argon2_iterations",
        what: "argon2id iterations",
        at_least: true,
        limit: 2.0,
    },
];

/// The CI guard's thresholds (`--check`, with `--quick`).
pub const GUARD: &[Target] = &[
    Target {
        key: "http_to_raw_ratio",
        what: "check-out+return over HTTP vs raw SQLite",
        at_least: true,
        limit: 0.7,
    },
    Target {
        key: "list_p99_ms_at_200",
        what: "filtered list page p99 at 200 req/s (ms)",
        at_least: false,
        limit: 25.0,
    },
];

#[derive(Default)]
pub struct Report {
    pub figures: Map<String, Value>,
    /// The table's rows in order: the figure's key and its description.
    rows: Vec<(String, String)>,
    pub details: Map<String, Value>,
}

impl Report {
    /// Records a figure, rounded, and shows it in the table.
    pub fn set(&mut self, key: &str, what: &str, value: f64) {
        let places = if value.abs() >= 100.0 { 1 } else { 3 };
        self.figures
            .insert(key.to_owned(), round(value, places).into());
        self.rows.push((key.to_owned(), what.to_owned()));
    }

    pub fn get(&self, key: &str) -> Option<f64> {
        self.figures.get(key).and_then(Value::as_f64)
    }

    pub fn detail(&mut self, key: &str, value: Value) {
        self.details.insert(key.to_owned(), value);
    }

    /// Each target as JSON, with whether it is met; `None` for a figure not measured.
    pub fn judge(&self, targets: &[Target]) -> Vec<(String, Option<bool>, Value)> {
        targets
            .iter()
            .map(|t| {
                let v = self.get(t.key);
                let met = v.map(|v| {
                    if t.at_least {
                        v >= t.limit
                    } else {
                        v <= t.limit
                    }
                });
                let json = serde_json::json!({
                    "key": t.key,
                    "what": t.what,
                    "value": v,
                    "limit": t.limit,
                    "at_least": t.at_least,
                    "met": met,
                });
                (t.key.to_owned(), met, json)
            })
            .collect()
    }

    pub fn print(&self) {
        let judged = self.judge(TARGETS);
        println!();
        println!("{:<38} {:>12}  {:<12} what", "figure", "value", "target");
        println!("{}", "-".repeat(110));
        for (key, what) in &self.rows {
            let value = self
                .figures
                .get(key)
                .map(|v| v.to_string())
                .unwrap_or_default();
            let target = TARGETS
                .iter()
                .zip(&judged)
                .find(|(t, _)| t.key == key)
                .map(|(t, (_, met, _))| {
                    let side = if t.at_least { "≥" } else { "≤" };
                    let mark = match met {
                        Some(true) => "met",
                        Some(false) => "MISSED",
                        None => "?",
                    };
                    format!("{side}{} {mark}", t.limit)
                })
                .unwrap_or_default();
            println!("{key:<38} {value:>12}  {target:<12} {what}");
        }
    }
}
