//! Kitroom over HTTP on loopback: an API client with a personal token, a browser-like
//! client with a signed-in session, and the scenarios the benchmark runs with them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::redirect::Policy;
use reqwest::Client;
use serde_json::json;

use crate::load::{closed_loop, ms, open_loop, Samples};
use crate::seed::{Dev, Lending};

/// How long one request may take before it counts as failed.
const TIMEOUT: Duration = Duration::from_secs(10);

fn client(cookies: bool) -> anyhow::Result<Client> {
    Ok(Client::builder()
        .cookie_store(cookies)
        .redirect(Policy::none())
        .tcp_nodelay(true)
        .pool_max_idle_per_host(256)
        .build()?)
}

fn describe(e: reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".into()
    } else {
        e.to_string()
    }
}

/// Reads the whole answer and checks its status.
async fn expect(r: Result<reqwest::Response, reqwest::Error>, status: u16) -> Result<(), String> {
    let r = r.map_err(describe)?;
    let got = r.status().as_u16();
    let body = r.bytes().await.map_err(describe)?;
    if got == status {
        Ok(())
    } else {
        Err(format!(
            "{got} (wanted {status}): {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    }
}

/// The JSON API with one person's token.
#[derive(Clone)]
pub struct Api {
    client: Client,
    base: String,
    auth: String,
}

impl Api {
    pub fn new(base: &str, token: &str) -> anyhow::Result<Api> {
        Ok(Api {
            client: client(false)?,
            base: base.to_owned(),
            auth: format!("Bearer {token}"),
        })
    }

    pub async fn check_out(&self, tag: &str) -> Result<(), String> {
        let r = self
            .client
            .post(format!("{}/api/v1/devices/{tag}/checkout", self.base))
            .header("authorization", &self.auth)
            .json(&json!({"purpose": "benchmark"}))
            .timeout(TIMEOUT)
            .send()
            .await;
        expect(r, 201).await
    }

    pub async fn return_device(&self, tag: &str) -> Result<(), String> {
        let r = self
            .client
            .post(format!("{}/api/v1/devices/{tag}/return", self.base))
            .header("authorization", &self.auth)
            // Devices that take photos must be confirmed cleared; others ignore it.
            .json(&json!({"on_charge": true, "images_cleared": true}))
            .timeout(TIMEOUT)
            .send()
            .await;
        expect(r, 200).await
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<(), String> {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .header("authorization", &self.auth)
            .query(query)
            .timeout(TIMEOUT)
            .send()
            .await;
        expect(r, 200).await
    }
}

/// A browser: a cookie jar holding a signed-in session.
#[derive(Clone)]
pub struct Web {
    client: Client,
    base: String,
}

/// The value of the `csrf` field in a page's form.
fn csrf_in(html: &str) -> Option<String> {
    let needle = "name=\"csrf\" value=\"";
    let at = html.find(needle)? + needle.len();
    let rest = &html[at..];
    Some(rest[..rest.find('"')?].to_owned())
}

/// Signs in as a browser does: the login page for its CSRF token, then the form.
async fn sign_in(
    client: &Client,
    base: &str,
    username: &str,
    password: &str,
) -> Result<(), String> {
    let page = client
        .get(format!("{base}/login"))
        .timeout(TIMEOUT)
        .send()
        .await
        .map_err(describe)?
        .text()
        .await
        .map_err(describe)?;
    let csrf = csrf_in(&page).ok_or("no csrf field on /login")?;
    let r = client
        .post(format!("{base}/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", username),
            ("password", password),
        ])
        .timeout(TIMEOUT)
        .send()
        .await;
    expect(r, 303).await
}

impl Web {
    pub async fn signed_in(base: &str, username: &str, password: &str) -> anyhow::Result<Web> {
        let client = client(true)?;
        sign_in(&client, base, username, password)
            .await
            .map_err(|e| anyhow::anyhow!("signing in as {username}: {e}"))?;
        let web = Web {
            client,
            base: base.to_owned(),
        };
        web.get("/", &[])
            .await
            .map_err(|e| anyhow::anyhow!("the desk after signing in: {e}"))?;
        Ok(web)
    }

    pub async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<(), String> {
        let r = self
            .client
            .get(format!("{}{path}", self.base))
            .query(query)
            .timeout(TIMEOUT)
            .send()
            .await;
        expect(r, 200).await
    }

    /// Downloads an export, timing the first bytes and the whole.
    pub async fn export(&self, path: &str) -> anyhow::Result<Export> {
        let t0 = Instant::now();
        let mut r = self
            .client
            .get(format!("{}{path}", self.base))
            .timeout(Duration::from_secs(600))
            .send()
            .await?;
        if r.status() != 200 {
            bail!("{path} answered {}", r.status());
        }
        let mut first_byte = None;
        let (mut bytes, mut lines) = (0u64, 0u64);
        while let Some(chunk) = r.chunk().await.context("reading the export")? {
            if first_byte.is_none() {
                first_byte = Some(t0.elapsed());
            }
            bytes += chunk.len() as u64;
            lines += chunk.iter().filter(|b| **b == b'\n').count() as u64;
        }
        Ok(Export {
            first_byte_ms: first_byte.map(ms).unwrap_or(0.0),
            secs: t0.elapsed().as_secs_f64(),
            bytes,
            lines,
        })
    }
}

pub struct Export {
    pub first_byte_ms: f64,
    pub secs: f64,
    pub bytes: u64,
    pub lines: u64,
}

/// One sign-in with a fresh browser: the login page, then the form.
pub async fn login_once(
    base: String,
    username: &'static str,
    password: &'static str,
) -> Result<(), String> {
    let c = client(true).map_err(|e| e.to_string())?;
    sign_in(&c, &base, username, password).await
}

/// Check-out and return pairs from `clients` clients for `dur`, lending the
/// devices of `lending`. Each sample is one request.
pub async fn write_pairs(
    api: &Api,
    lending: Arc<Lending>,
    clients: usize,
    dur: Duration,
) -> Samples {
    let api = api.clone();
    closed_loop(clients, dur, true, move |c, step| {
        let (api, lending) = (api.clone(), lending.clone());
        async move {
            Some(if step.is_multiple_of(2) {
                api.check_out(&lending.lend(c)?.tag).await
            } else {
                api.return_device(&lending.current(c).tag).await
            })
        }
    })
    .await
}

/// Pairs needed for `write_rate` at `rate` writes per second for `dur`.
pub fn devices_for_rate(rate: f64, dur: Duration) -> usize {
    lag(rate) + (rate * dur.as_secs_f64() / 2.0).ceil() as usize + 2
}

/// How many devices are out at once at a fixed rate: each is returned about half a
/// second after it was lent.
pub fn lag(rate: f64) -> usize {
    ((rate / 2.0) * 0.5).ceil().max(1.0) as usize
}

/// Writes at a fixed `rate` per second, alternating a check-out and a return, for
/// `dur` or until `stop`. Each device is returned about half a second after it was
/// lent; the first few are lent before the clock starts, and any still out at the
/// end are returned after it stops.
pub async fn write_rate(
    api: &Api,
    devs: Vec<Dev>,
    rate: f64,
    dur: Duration,
    stop: Option<Arc<AtomicBool>>,
) -> anyhow::Result<Samples> {
    let lag = lag(rate);
    if devs.len() <= lag {
        bail!("too few devices for writes at {rate}/s");
    }
    for d in &devs[..lag] {
        api.check_out(&d.tag)
            .await
            .map_err(|e| anyhow::anyhow!("lending {} before the clock: {e}", d.tag))?;
    }
    let devs = Arc::new(devs);
    let s = {
        let (api, devs) = (api.clone(), devs.clone());
        open_loop(rate, dur, stop, move |i| {
            let (api, devs) = (api.clone(), devs.clone());
            async move {
                let (checkout, k) = if i % 2 == 0 {
                    (true, lag + (i / 2) as usize)
                } else {
                    (false, (i / 2) as usize)
                };
                let Some(d) = devs.get(k) else {
                    return Err("ran out of devices".into());
                };
                if checkout {
                    api.check_out(&d.tag).await
                } else {
                    api.return_device(&d.tag).await
                }
            }
        })
        .await
    };
    let sent = s.ms.len() as u64;
    let (lent, returned) = (lag + sent.div_ceil(2) as usize, (sent / 2) as usize);
    for d in devs.iter().take(lent.min(devs.len())).skip(returned) {
        let _ = api.return_device(&d.tag).await;
    }
    Ok(s)
}

/// GETs from `clients` clients for `dur`; `path(client, step)` names each request.
pub async fn reads<F>(web: Reader, clients: usize, dur: Duration, path: F) -> Samples
where
    F: Fn(usize, u64) -> (String, Vec<(&'static str, String)>) + Send + Sync + 'static,
{
    let path = Arc::new(path);
    closed_loop(clients, dur, false, move |c, step| {
        let (web, path) = (web.clone(), path.clone());
        async move {
            let (p, q) = path(c, step);
            Some(web.get(&p, &q).await)
        }
    })
    .await
}

/// GETs at a fixed `rate` for `dur`.
pub async fn reads_at<F>(web: Reader, rate: f64, dur: Duration, path: F) -> Samples
where
    F: Fn(u64) -> (String, Vec<(&'static str, String)>),
{
    open_loop(rate, dur, None, move |i| {
        let web = web.clone();
        let (p, q) = path(i);
        async move { web.get(&p, &q).await }
    })
    .await
}

/// Either client, for the read scenarios.
#[derive(Clone)]
pub enum Reader {
    Web(Web),
    Api(Api),
}

impl Reader {
    async fn get(&self, path: &str, query: &[(&str, String)]) -> Result<(), String> {
        match self {
            Reader::Web(w) => w.get(path, query).await,
            Reader::Api(a) => a.get(path, query).await,
        }
    }
}
