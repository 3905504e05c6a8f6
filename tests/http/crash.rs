//! Crash safety: the real server, killed with SIGKILL at a random moment while many
//! clients lend, take back and report devices, loses nothing it acknowledged.
//!
//! `KITROOM_CRASH_ROUNDS` sets the number of kill-and-restart rounds (3 by default;
//! the full run is `KITROOM_CRASH_ROUNDS=20 cargo test -p kitroom-tests --test http
//! -- crash --nocapture`, see docs/operations.md).

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kitroom_tests::{account_with_token, kitroom_command, random_u64, ChildServer};
use serde_json::{json, Value};

pub const KITROOM: &str = env!("CARGO_BIN_EXE_kitroom-under-test");

const CLIENTS: usize = 8;
const DEVICES_EACH: usize = 12;

/// What the server said was saved.
#[derive(Debug, Clone)]
enum Ack {
    CheckedOut(String),
    Returned(String),
    Reported(i64),
}

#[derive(Default)]
struct Acks {
    list: Vec<Ack>,
    refused: usize,
    server_errors: Vec<String>,
}

/// Devices are desktops: their charging time is 0 minutes, so a device returned on
/// charge is ready again when the restarted server's housekeeping first runs.
async fn setup(server: &ChildServer, tokens: &[String]) {
    let api = reqwest::Client::new();
    let r = api
        .post(server.url("/api/v1/policies"))
        .bearer_auth(&tokens[0])
        .json(&json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Care."}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "policy published");
    for (k, token) in tokens.iter().enumerate() {
        let r = api
            .post(server.url("/api/v1/policies/current/signatures"))
            .bearer_auth(token)
            .json(&json!({"full_name": format!("Client {k}"), "position": "Teacher"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201, "client {k} signs");
        for i in 0..DEVICES_EACH {
            let r = api
                .post(server.url("/api/v1/devices"))
                .bearer_auth(token)
                .json(&json!({"tag": format!("D-{k}-{i}"), "kind": "desktop", "location": "Hall"}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 201, "device registered");
        }
    }
}

/// One client: works through its own devices until the server goes away.
async fn client(base: String, k: usize, token: String, acks: Arc<Mutex<Acks>>) {
    let api = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    let mut status: Vec<String> = Vec::new();
    for i in 0..DEVICES_EACH {
        let Ok(r) = api
            .get(format!("{base}/api/v1/devices/D-{k}-{i}"))
            .bearer_auth(&token)
            .send()
            .await
        else {
            return;
        };
        let Ok(d) = r.json::<Value>().await else {
            return;
        };
        status.push(d["status"].as_str().unwrap_or("").to_owned());
    }
    loop {
        let i = (random_u64() % DEVICES_EACH as u64) as usize;
        let tag = format!("D-{k}-{i}");
        let dice = random_u64() % 100;
        let (url, body, kind) = if dice < 1 {
            (
                format!("{base}/api/v1/devices/{tag}/incidents"),
                json!({"kind": "loss", "description": "Left on the bus."}),
                2,
            )
        } else if dice < 15 || !matches!(status[i].as_str(), "available" | "on_loan") {
            (
                format!("{base}/api/v1/devices/{tag}/incidents"),
                json!({"kind": "damage", "description": "Cracked screen."}),
                2,
            )
        } else if status[i] == "available" {
            (
                format!("{base}/api/v1/devices/{tag}/checkout"),
                json!({}),
                0,
            )
        } else {
            (
                format!("{base}/api/v1/devices/{tag}/return"),
                json!({"on_charge": true}),
                1,
            )
        };
        let Ok(r) = api.post(&url).bearer_auth(&token).json(&body).send().await else {
            return;
        };
        let code = r.status().as_u16();
        let Ok(v) = r.json::<Value>().await else {
            // the answer was cut off: not acknowledged
            return;
        };
        let mut acks = acks.lock().unwrap();
        match (kind, code) {
            (0, 201) => {
                acks.list
                    .push(Ack::CheckedOut(v["id"].as_str().unwrap().to_owned()));
                status[i] = "on_loan".into();
            }
            (1, 200) => {
                acks.list
                    .push(Ack::Returned(v["id"].as_str().unwrap().to_owned()));
                status[i] = "returned_charging".into();
            }
            (2, 201) => {
                acks.list.push(Ack::Reported(v["number"].as_i64().unwrap()));
                if body["kind"] == "loss" {
                    status[i] = "lost".into();
                }
            }
            (_, 409 | 422) => {
                acks.refused += 1;
                status[i] = "unknown".into();
            }
            (_, c) => acks.server_errors.push(format!("POST {url}: {c} {v}")),
        }
    }
}

/// Reads the database the killed server left behind and returns what is wrong.
async fn verify(dir: &Path, acks: &[Ack]) -> Vec<String> {
    let store = kitroom_store::Store::open(dir).await.unwrap();
    let db = store.reader();
    let mut wrong = Vec::new();
    for a in acks {
        let found: i64 = match a {
            Ack::CheckedOut(id) => sqlx::query_scalar("select count(*) from loan where id = ?")
                .bind(id)
                .fetch_one(db)
                .await
                .unwrap(),
            Ack::Returned(id) => sqlx::query_scalar(
                "select count(*) from loan where id = ? and returned_at is not null",
            )
            .bind(id)
            .fetch_one(db)
            .await
            .unwrap(),
            Ack::Reported(n) => {
                sqlx::query_scalar("select count(*) from incident where number = ?")
                    .bind(n)
                    .fetch_one(db)
                    .await
                    .unwrap()
            }
        };
        if found != 1 {
            wrong.push(format!("acknowledged but missing: {a:?}"));
        }
    }
    wrong.extend(invariant_breaches(db).await);
    store.close().await;
    wrong
}

/// What would show a half-done change: a device whose status disagrees with its open
/// loans, a device on two open loans, a loan or incident without exactly one event.
pub async fn invariant_breaches(db: &sqlx::SqlitePool) -> Vec<String> {
    let mut wrong = Vec::new();
    let checks = [
        (
            "devices whose status and open loans disagree",
            "select count(*) from device d where (d.status = 'on_loan') <>
               exists (select 1 from loan l where l.device_id = d.id and l.returned_at is null)",
        ),
        (
            "devices on more than one open loan",
            "select count(*) from (select device_id from loan where returned_at is null
               group by device_id having count(*) > 1)",
        ),
        (
            "loans without exactly one check-out event",
            "select count(*) from loan l where (select count(*) from event e
               where e.action = 'loan.checked_out' and json_extract(e.details, '$.loan') = l.id) <> 1",
        ),
        (
            "closed loans without exactly one closing event",
            "select count(*) from loan l where l.returned_at is not null and (select count(*) from event e
               where e.action in ('loan.returned', 'device.status_changed')
               and json_extract(e.details, '$.loan') = l.id) <> 1",
        ),
        (
            "incidents without exactly one report event",
            "select count(*) from incident i where (select count(*) from event e
               where e.action = 'incident.reported' and json_extract(e.details, '$.incident') = i.number) <> 1",
        ),
        (
            "check-out events without their loan",
            "select count(*) from event e where e.action = 'loan.checked_out'
               and not exists (select 1 from loan l where l.id = json_extract(e.details, '$.loan'))",
        ),
    ];
    for (what, sql) in checks {
        let n: i64 = sqlx::query_scalar(sql).fetch_one(db).await.unwrap();
        if n != 0 {
            wrong.push(format!("{n} {what}"));
        }
    }
    wrong
}

/// A school was told a loan was saved; after a power cut it must still be there,
/// whole, and the activity log must still verify.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_at_a_random_moment_loses_no_acknowledged_operation() {
    let rounds: usize = std::env::var("KITROOM_CRASH_ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(3);
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("data");
    let log = work.path().join("server.log");
    let mut tokens = Vec::new();
    for k in 0..CLIENTS {
        tokens.push(account_with_token(&dir, &format!("client{k}"), "manager").await);
    }
    let acks = Arc::new(Mutex::new(Acks::default()));
    for round in 0..rounds {
        let server = ChildServer::start(KITROOM, &dir, &log).await;
        if round == 0 {
            setup(&server, &tokens).await;
        }
        let clients: Vec<_> = tokens
            .iter()
            .enumerate()
            .map(|(k, t)| tokio::spawn(client(server.base.clone(), k, t.clone(), acks.clone())))
            .collect();
        let after = Duration::from_millis(200 + random_u64() % 1300);
        tokio::time::sleep(after).await;
        server.kill();
        for c in clients {
            c.await.unwrap();
        }
        let list = acks.lock().unwrap().list.clone();
        let wrong = verify(&dir, &list).await;
        assert!(
            wrong.is_empty(),
            "round {round}, killed after {after:?}: {wrong:#?}"
        );
        let (ok, out) = kitroom_command(KITROOM, &dir, &["check"]);
        assert!(ok, "round {round}: kitroom check fails:\n{out}");
        eprintln!(
            "crash round {}/{rounds}: killed after {} ms, {} operations acknowledged so far, 0 lost; {}",
            round + 1,
            after.as_millis(),
            list.len(),
            out.lines().nth(1).unwrap_or("")
        );
    }
    let acks = acks.lock().unwrap();
    assert!(
        acks.server_errors.is_empty(),
        "server errors: {:#?}",
        acks.server_errors
    );
    let count = |f: fn(&Ack) -> bool| acks.list.iter().filter(|a| f(a)).count();
    let (outs, backs, reports) = (
        count(|a| matches!(a, Ack::CheckedOut(_))),
        count(|a| matches!(a, Ack::Returned(_))),
        count(|a| matches!(a, Ack::Reported(_))),
    );
    eprintln!(
        "crash test: {rounds} rounds, {} acknowledged operations ({outs} check-outs, {backs} returns, \
         {reports} incident reports), 0 lost; {} refused",
        acks.list.len(),
        acks.refused
    );
    assert!(
        outs > 0 && backs > 0 && reports > 0,
        "every kind of operation was acknowledged at least once"
    );
}
