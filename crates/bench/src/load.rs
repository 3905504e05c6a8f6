//! The load generator: closed loops of N clients, open loops at a fixed rate, and
//! the latency figures they produce.
//!
//! An open loop schedules request `i` at `start + i / rate` and measures from that
//! scheduled time, not from when the request was actually sent, so a server that
//! falls behind is charged for the queue it builds (no coordinated omission).

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// Latencies of every request (a failed one counts with the time it took to fail,
/// so an overloaded server cannot look fast by timing out), and how many failed.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    pub ms: Vec<f64>,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Wall time of the phase.
    pub secs: f64,
}

impl Samples {
    fn error(&mut self, ms: f64, e: String) {
        self.ms.push(ms);
        self.errors += 1;
        if self.first_error.is_none() {
            self.first_error = Some(e);
        }
    }

    pub fn merge(&mut self, other: Samples) {
        self.ms.extend(other.ms);
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error = other.first_error;
        }
    }

    /// Requests that succeeded.
    pub fn count(&self) -> usize {
        self.ms.len() - self.errors as usize
    }

    /// Successful requests per second of wall time.
    pub fn rate(&self) -> f64 {
        if self.secs > 0.0 {
            self.count() as f64 / self.secs
        } else {
            0.0
        }
    }

    /// The `p`th percentile (nearest rank) in milliseconds; 0 with no samples.
    pub fn pct(&self, p: f64) -> f64 {
        percentile(&self.ms, p)
    }

    pub fn max(&self) -> f64 {
        self.ms.iter().copied().fold(0.0, f64::max)
    }

    pub fn mean(&self) -> f64 {
        if self.ms.is_empty() {
            0.0
        } else {
            self.ms.iter().sum::<f64>() / self.ms.len() as f64
        }
    }

    /// The figures as JSON, rounded for reading.
    pub fn json(&self) -> Value {
        json!({
            "count": self.count(),
            "errors": self.errors,
            "first_error": self.first_error,
            "secs": round(self.secs, 3),
            "per_s": round(self.rate(), 1),
            "p50_ms": round(self.pct(50.0), 3),
            "p90_ms": round(self.pct(90.0), 3),
            "p99_ms": round(self.pct(99.0), 3),
            "max_ms": round(self.max(), 3),
            "mean_ms": round(self.mean(), 3),
        })
    }
}

/// Nearest-rank percentile of unsorted values.
pub fn percentile(values: &[f64], p: f64) -> f64 {
    if values.is_empty() {
        return 0.0;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * v.len() as f64).ceil() as usize;
    v[rank.clamp(1, v.len()) - 1]
}

pub fn round(x: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (x * f).round() / f
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// What one request of a closed loop did: `None` when the client has run out of
/// work (its devices are used up) and stops early.
pub type Step = Option<Result<(), String>>;

/// `clients` clients, each sending its next request as soon as the last is answered,
/// for `dur`. `op(client, step)` makes client `client`'s request number `step`. With
/// `pairs`, a client stops only after an odd step, so a check-out is always followed
/// by its return.
pub async fn closed_loop<F, Fut>(clients: usize, dur: Duration, pairs: bool, op: F) -> Samples
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Step> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now();
    let deadline = start + dur;
    let mut tasks = JoinSet::new();
    for c in 0..clients {
        let op = op.clone();
        tasks.spawn(async move {
            let mut s = Samples::default();
            let mut step = 0u64;
            loop {
                if Instant::now() >= deadline && (!pairs || step.is_multiple_of(2)) {
                    break;
                }
                let t0 = Instant::now();
                match op(c, step).await {
                    None => break,
                    Some(Ok(())) => s.ms.push(ms(t0.elapsed())),
                    Some(Err(e)) => s.error(ms(t0.elapsed()), e),
                }
                step += 1;
            }
            s
        });
    }
    let mut all = Samples::default();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(s) => all.merge(s),
            Err(e) => all.error(0.0, format!("client task failed: {e}")),
        }
    }
    all.secs = start.elapsed().as_secs_f64();
    all
}

/// At most this many requests of an open loop are in flight at once, as a client
/// with this many connections. Requests beyond wait for a free connection, and that
/// wait counts in their latency.
const IN_FLIGHT: usize = 256;

/// An open loop waits at most this long after its last scheduled request for the
/// answers still out; any not in by then count as failed (the server is not keeping
/// up), so an overloaded server cannot stretch a phase without end.
const GIVE_UP: Duration = Duration::from_secs(5);

/// Requests at a fixed `rate` per second for `dur` (or until `stop` is set), each
/// measured from the moment it was scheduled. `op(i)` makes request number `i`.
pub async fn open_loop<F, Fut>(
    rate: f64,
    dur: Duration,
    stop: Option<Arc<AtomicBool>>,
    op: F,
) -> Samples
where
    F: Fn(u64) -> Fut,
    Fut: Future<Output = Result<(), String>> + Send + 'static,
{
    let start = Instant::now();
    let end = start + dur;
    let slots = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut tasks = JoinSet::new();
    let mut i = 0u64;
    loop {
        let at = start + Duration::from_secs_f64(i as f64 / rate);
        if at >= end || stop.as_ref().is_some_and(|s| s.load(Ordering::Relaxed)) {
            break;
        }
        tokio::time::sleep_until(at.into()).await;
        let fut = op(i);
        let slots = slots.clone();
        let give_up = end.max(at) + GIVE_UP;
        tasks.spawn(async move {
            let sent = async {
                let _slot = slots.acquire_owned().await.map_err(|e| e.to_string())?;
                fut.await
            };
            let r = tokio::time::timeout_at(give_up.into(), sent)
                .await
                .unwrap_or_else(|_| {
                    Err(format!(
                        "no answer {} s after the phase's last request: the server is not keeping up",
                        GIVE_UP.as_secs()
                    ))
                });
            (at, Instant::now(), r)
        });
        i += 1;
    }
    let mut all = Samples::default();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok((at, done, Ok(()))) => all.ms.push(ms(done.saturating_duration_since(at))),
            Ok((at, done, Err(e))) => all.error(ms(done.saturating_duration_since(at)), e),
            Err(e) => all.error(0.0, format!("request task failed: {e}")),
        }
    }
    all.secs = start.elapsed().as_secs_f64();
    all
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 50.0), 50.0);
        assert_eq!(percentile(&v, 99.0), 99.0);
        assert_eq!(percentile(&v, 100.0), 100.0);
        assert_eq!(percentile(&[7.0], 99.0), 7.0);
        assert_eq!(percentile(&[], 99.0), 0.0);
    }
}
