//! Disconnects: people close the laptop lid, lose the wifi, or press stop mid-save.
//! Hundreds of write requests cut off at random moments must leave no connection
//! stuck inside a transaction and nothing half done.

use std::time::Duration;

use kitroom_tests::{random_u64, spawn_app, spawn_app_with};
use serde_json::json;
use tokio::io::AsyncWriteExt;

const DEVICES: usize = 20;
const REQUESTS: usize = 400;

/// The raw bytes of one API write: a check-out, a return or an incident report.
fn request(host: &str, token: &str, n: u64) -> Vec<u8> {
    let tag = format!("D-{}", n % DEVICES as u64);
    let (path, body) = match n % 3 {
        0 => (format!("/api/v1/devices/{tag}/checkout"), json!({})),
        1 => (
            format!("/api/v1/devices/{tag}/return"),
            json!({"on_charge": true}),
        ),
        _ => (
            format!("/api/v1/devices/{tag}/incidents"),
            json!({"kind": if n.is_multiple_of(17) { "loss" } else { "damage" }, "description": "Dropped."}),
        ),
    };
    let body = body.to_string();
    format!(
        "POST {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer {token}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// A client that hangs up at a random moment: before sending everything, right
/// after, or a little while after, sometimes with a reset instead of a goodbye.
async fn hang_up(addr: std::net::SocketAddr, bytes: Vec<u8>) {
    let Ok(mut s) = tokio::net::TcpStream::connect(addr).await else {
        return;
    };
    let r = random_u64();
    let cut = match r % 4 {
        0 => (r >> 8) as usize % bytes.len(),
        _ => bytes.len(),
    };
    if s.write_all(&bytes[..cut]).await.is_err() {
        return;
    }
    if r % 4 == 3 {
        tokio::time::sleep(Duration::from_micros((r >> 16) % 20_000)).await;
    }
    if r.is_multiple_of(5) {
        // RST: the connection vanishes rather than closes. A zero linger never
        // blocks on drop, which is what the deprecation warns about.
        #[allow(deprecated)]
        let _ = s.set_linger(Some(Duration::ZERO));
    }
    drop(s);
}

/// A dropped connection mid-save could leave the database locked for everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hundreds_of_writes_cut_off_mid_request_leave_nothing_stuck_or_half_done() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    let api = reqwest::Client::new();
    for (path, body) in [
        (
            "/api/v1/policies".to_owned(),
            json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Care."}),
        ),
        (
            "/api/v1/policies/current/signatures".to_owned(),
            json!({"full_name": "Sam B", "position": "SBM"}),
        ),
    ]
    .into_iter()
    .chain((0..=DEVICES).map(|i| {
        (
            "/api/v1/devices".to_owned(),
            json!({"tag": format!("D-{i}"), "kind": "desktop", "location": "Hall"}),
        )
    })) {
        let r = app.api_post(&sbm, &path, &body).await;
        assert_eq!(r.status(), 201, "{path}");
    }
    let host = app.addr.to_string();
    for batch in 0..REQUESTS / 50 {
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let bytes = request(&host, &sbm, (batch * 50 + i) as u64 + random_u64() % 3);
                tokio::spawn(hang_up(app.addr, bytes))
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
    }
    // the next write works at once, without a restart
    let r = api
        .post(app.url(&format!("/api/v1/devices/D-{DEVICES}/checkout")))
        .bearer_auth(&sbm)
        .json(&json!({}))
        .timeout(Duration::from_secs(10))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let health = r.text().await.unwrap();
    assert!(health.contains("not inside a transaction"), "{health}");
    assert!(
        health.contains("replaced since start: 0"),
        "no writer connection was left inside a transaction: {health}"
    );
    let wrong = crate::crash::invariant_breaches(app.store().reader()).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(app.store().verify_log().await.unwrap().is_ok());
    // some of the cut-off requests did arrive whole: the test exercised writes
    let events = app
        .store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 5000,
            ..Default::default()
        })
        .await
        .unwrap();
    eprintln!(
        "{REQUESTS} requests cut off; {} events written",
        events.len()
    );
}

/// Reads from `s` until the server closes the connection; false if it is still
/// open after `within`.
async fn closed_within(s: &mut tokio::net::TcpStream, within: Duration) -> bool {
    use tokio::io::AsyncReadExt;
    let mut buf = [0u8; 4096];
    tokio::time::timeout(within, async {
        while let Ok(n) = s.read(&mut buf).await {
            if n == 0 {
                break;
            }
        }
    })
    .await
    .is_ok()
}

/// A client that sends half a request, or nothing, or keeps a connection open after
/// its answer, would hold a connection (and a file) for ever, until Kitroom runs out
/// of them and stops answering everyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_sent_silent_and_idle_connections_are_closed_after_the_header_timeout() {
    let app = spawn_app_with(kitroom_web::Config {
        header_read_timeout: Duration::from_secs(1),
        ..Default::default()
    })
    .await;
    let mut half = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"GET /hea").await.unwrap();
    let mut headers = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    headers
        .write_all(b"GET /health HTTP/1.1\r\nhost: kitroom\r\nx-slow: ")
        .await
        .unwrap();
    let mut silent = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    let mut idle = tokio::net::TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /health HTTP/1.1\r\nhost: kitroom\r\n\r\n")
        .await
        .unwrap();
    let started = std::time::Instant::now();
    for (what, s) in [
        ("half a request line", &mut half),
        ("half the headers", &mut headers),
        ("nothing", &mut silent),
        ("a request, then nothing", &mut idle),
    ] {
        assert!(
            closed_within(s, Duration::from_secs(5)).await,
            "a connection that sent {what} is still open after {:?}",
            started.elapsed()
        );
    }
    // the server itself is fine
    let r = reqwest::get(app.url("/health")).await.unwrap();
    assert_eq!(r.status(), 200);
}

/// Hundreds of connections that say nothing (a broken client, or someone trying it
/// on) made the service stop answering: monitoring's `/health` timed out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_silent_connections_do_not_keep_a_real_request_waiting() {
    const CAP: usize = 100;
    const SILENT: usize = 500;
    let app = spawn_app_with(kitroom_web::Config {
        max_connections: Some(CAP),
        ..Default::default()
    })
    .await;
    let mut silent = Vec::new();
    for _ in 0..SILENT {
        silent.push(tokio::net::TcpStream::connect(app.addr).await.unwrap());
    }
    let asked = std::time::Instant::now();
    let r = reqwest::Client::new()
        .get(app.url("/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .expect("/health answers while hundreds of silent connections are open");
    assert_eq!(r.status(), 200);
    assert_eq!(r.text().await.unwrap(), "ok");
    eprintln!(
        "/health answered in {:?} with {SILENT} silent connections open",
        asked.elapsed()
    );
    if let Some(open) = server_sockets(app.addr.port()) {
        assert!(
            open <= CAP + 1,
            "the server holds {open} connections open with a cap of {CAP}"
        );
    }
    drop(silent);
}

/// How many connections to `port` this process holds open as the server's end:
/// its open files that are TCP sockets with that local port (Linux only).
fn server_sockets(port: u16) -> Option<usize> {
    let ours: std::collections::HashSet<String> = std::fs::read_dir("/proc/self/fd")
        .ok()?
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let local = format!(":{port:04X}");
    Some(
        table
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .filter(|f| f.len() > 9 && f[1].ends_with(&local) && f[3] != "0A")
            .filter(|f| ours.contains(f[9]))
            .count(),
    )
}
