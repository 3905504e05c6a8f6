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
    let attempt = |i: usize, username: String, password: String| {
        let c = c.clone();
        let url = server.url("/login");
        let csrf = csrf.clone();
        async move {
            let r = c
                .post(url)
                .form(&[
                    ("csrf", csrf.as_str()),
                    ("username", username.as_str()),
                    ("password", password.as_str()),
                ])
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
        }
    };
    // Warm up, so the allocator has what one request needs.
    for i in 0..20 {
        attempt(i, format!("u{i}{huge}"), "not the password".into()).await;
    }
    let disk_before = database_bytes(&dir);
    let memory_before = server.resident_bytes();
    let log_before = std::fs::metadata(&log).map_or(0, |m| m.len());
    let started = std::time::Instant::now();
    for i in 0..1000 {
        let body = attempt(i, format!("u{i}{huge}"), "not the password".into()).await;
        if i == 0 {
            assert!(body.contains("longer than any username"), "{body}");
        }
    }
    // A huge password is refused as quickly, without being hashed.
    for i in 0..100 {
        let body = attempt(i, "sbm".into(), format!("{i}{huge}")).await;
        if i == 0 {
            assert!(body.contains("longer than any password"), "{body}");
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
