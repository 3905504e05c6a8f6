//! Disconnects: people close the laptop lid, lose the wifi, or press stop mid-save.
//! Hundreds of write requests cut off at random moments must leave no connection
//! stuck inside a transaction and nothing half done.

use std::time::Duration;

use kitroom_tests::{random_u64, spawn_app};
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
        let r = api
            .post(app.url(&path))
            .bearer_auth(&sbm)
            .json(&body)
            .send()
            .await
            .unwrap();
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
