//! Signing in under attack: what a stranger without an account can make Kitroom keep
//! (disk, memory, log lines), and how the throttle slows guessing without becoming a
//! way to lock staff out.

use std::path::Path;

use kitroom_tests::{account_with_token, ChildServer};

use crate::crash::KITROOM;

/// The database and its write-ahead log, in bytes.
fn database_bytes(dir: &Path) -> u64 {
    ["kitroom.db", "kitroom.db-wal"]
        .iter()
        .map(|f| std::fs::metadata(dir.join(f)).map_or(0, |m| m.len()))
        .sum()
}

/// Anyone who can reach the sign-in page could fill the school's disk, or its
/// memory, by typing huge usernames and passwords, without an account.
#[tokio::test]
async fn huge_sign_in_attempts_leave_nothing_behind() {
    let work = tempfile::tempdir().unwrap();
    let dir = work.path().join("data");
    let log = work.path().join("server.log");
    account_with_token(&dir, "sbm", "manager").await;
    let server = ChildServer::start(KITROOM, &dir, &log).await;
    let c = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let page = c.get(server.url("/login")).send().await.unwrap();
    let csrf = kitroom_tests::csrf_in(&page.text().await.unwrap()).unwrap();
    let huge = "a".repeat(1_000_000);
    // Four at a time, each body encoded by hand (letters and digits need no escaping).
    let attempts = |from: usize, to: usize, field: &'static str| {
        let mut set = tokio::task::JoinSet::new();
        for i in from..to {
            let body = match field {
                "username" => format!("csrf={csrf}&username=u{i}{huge}&password=not+the+password"),
                _ => format!("csrf={csrf}&username=sbm&password={i}{huge}"),
            };
            let (c, url) = (c.clone(), server.url("/login"));
            set.spawn(async move {
                let r = c
                    .post(url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                let body = r.text().await.unwrap();
                assert!(
                    status.is_client_error(),
                    "attempt {i}: {status} {}",
                    &body[..body.len().min(300)]
                );
                assert!(body.len() < 100_000, "attempt {i} echoed the huge input");
                body
            });
        }
        set
    };
    let all = |mut set: tokio::task::JoinSet<String>| async move {
        let mut bodies = Vec::new();
        while let Some(b) = set.join_next().await {
            bodies.push(b.unwrap());
        }
        bodies
    };
    // Warm up, so the allocator has what a few requests at once need.
    all(attempts(0, 40, "username")).await;
    let disk_before = database_bytes(&dir);
    let memory_before = server.resident_bytes();
    let log_before = std::fs::metadata(&log).map_or(0, |m| m.len());
    let started = std::time::Instant::now();
    for round in 0..250 {
        let bodies = all(attempts(round * 4, round * 4 + 4, "username")).await;
        if round == 0 {
            assert!(bodies[0].contains("longer than any username"), "{}", bodies[0]);
        }
    }
    // A huge password is refused as quickly, without being hashed.
    for round in 0..25 {
        let bodies = all(attempts(round * 4, round * 4 + 4, "password")).await;
        if round == 0 {
            assert!(bodies[0].contains("longer than any password"), "{}", bodies[0]);
        }
    }
    let took = started.elapsed();
    let disk = database_bytes(&dir) - disk_before;
    let memory = server.resident_bytes().saturating_sub(memory_before);
    let logged = std::fs::metadata(&log).map_or(0, |m| m.len()) - log_before;
    assert!(disk < 1_000_000, "the database grew by {disk} bytes");
    assert!(memory < 16 << 20, "the server's memory grew by {memory} bytes");
    assert!(logged < 16_000, "the server's log grew by {logged} bytes");
    // The person whose account it is can still sign in (huge attempts are not
    // failures against anyone).
    let r = c
        .post(server.url("/login"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("username", "sbm"),
            ("password", kitroom_tests::PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "after {took:?}");
}
