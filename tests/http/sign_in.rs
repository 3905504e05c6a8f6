//! Signing in under attack: what a stranger without an account can make Kitroom keep
//! (disk, memory, log lines), and how the throttle slows guessing without becoming a
//! way to lock staff out.

use std::path::Path;

use kitroom_tests::{account_with_token, spawn_app_with, ChildServer, TestApp, PASSWORD};
use reqwest::Client;

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
            assert!(
                bodies[0].contains("longer than any username"),
                "{}",
                bodies[0]
            );
        }
    }
    // A huge password is refused as quickly, without being hashed.
    for round in 0..25 {
        let bodies = all(attempts(round * 4, round * 4 + 4, "password")).await;
        if round == 0 {
            assert!(
                bodies[0].contains("longer than any password"),
                "{}",
                bodies[0]
            );
        }
    }
    let took = started.elapsed();
    let disk = database_bytes(&dir) - disk_before;
    let memory = server.resident_bytes().saturating_sub(memory_before);
    let logged = std::fs::metadata(&log).map_or(0, |m| m.len()) - log_before;
    eprintln!(
        "1,000 huge usernames and 100 huge passwords in {took:?}: database +{disk} bytes, \
         memory +{memory} bytes, server log +{logged} bytes"
    );
    assert!(disk < 1_000_000, "the database grew by {disk} bytes");
    assert!(
        memory < 16 << 20,
        "the server's memory grew by {memory} bytes"
    );
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

/// A Kitroom behind the school's proxy, which says who each client is.
async fn behind_proxy() -> TestApp {
    spawn_app_with(kitroom_web::Config {
        trust_proxy: true,
        ..Default::default()
    })
    .await
}

/// A browser-like client at this public address (as the proxy reports it).
fn client_at(address: &str) -> Client {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert("x-forwarded-for", address.parse().unwrap());
    Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .default_headers(headers)
        .build()
        .unwrap()
}

const HOME: &str = "203.0.113.7";
const SCHOOL: &str = "198.51.100.1";

async fn reaches_devices(app: &TestApp, c: &Client) -> bool {
    app.get(c, "/devices").await.status() == 200
}

/// A pupil who knows the head's username could lock the head out at will by typing
/// wrong passwords from home.
#[tokio::test]
async fn a_pupil_guessing_from_home_does_not_lock_the_head_out_at_school() {
    let app = behind_proxy().await;
    drop(app.signed_in("head", "head").await);
    let pupil = client_at(HOME);
    let mut refused = 0;
    for _ in 0..20 {
        let status = app.login(&pupil, "head", "maybe-this-one").await.status();
        assert!(status == 401 || status == 429, "{status}");
        refused += usize::from(status == 429);
    }
    assert_eq!(refused, 15, "the pupil waits after five failures");
    // The head, at school, with the right password and code, gets straight in.
    let head = client_at(SCHOOL);
    assert_eq!(app.login(&head, "head", PASSWORD).await.status(), 303);
    assert!(reaches_devices(&app, &head).await);
}

/// Restarting Kitroom (or crashing it on purpose) would give a guesser a fresh set
/// of tries.
#[tokio::test]
async fn failed_sign_ins_are_remembered_across_a_restart() {
    let mut app = behind_proxy().await;
    app.add_user("teacher", "borrower").await;
    let guesser = client_at(HOME);
    for _ in 0..5 {
        assert_eq!(
            app.login(&guesser, "teacher", "guess-guess-guess")
                .await
                .status(),
            401
        );
    }
    app.restart().await;
    let r = app.login(&guesser, "teacher", PASSWORD).await;
    assert_eq!(r.status(), 429, "even the right password waits");
    let body = r.text().await.unwrap();
    assert!(body.contains("wait 1 minute"), "{body}");
    // From elsewhere, the teacher signs in.
    assert_eq!(
        app.login(&client_at(SCHOOL), "teacher", PASSWORD)
            .await
            .status(),
        303
    );
}

/// A guesser with many addresses could try passwords against one account without
/// end; or, stopped, could keep its owner out of Kitroom from everywhere.
#[tokio::test]
async fn thirty_failures_in_an_hour_refuse_an_account_except_where_its_owner_signs_in() {
    let app = behind_proxy().await;
    app.add_user("teacher", "borrower").await;
    // The teacher signs in at school, as every day.
    let at_school = client_at(SCHOOL);
    assert_eq!(
        app.login(&at_school, "teacher", PASSWORD).await.status(),
        303
    );
    for address in 0..6 {
        let c = client_at(&format!("192.0.2.{address}"));
        for _ in 0..5 {
            assert_eq!(
                app.login(&c, "teacher", "guess-guess-guess").await.status(),
                401,
                "each address has five tries"
            );
        }
    }
    // From anywhere else, even the right password waits for the hour to end.
    let r = app
        .login(&client_at("198.51.100.9"), "teacher", PASSWORD)
        .await;
    assert_eq!(r.status(), 429);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("For the next 60 minutes, it can sign in only where it has signed in lately"),
        "{body}"
    );
    // At school, where the teacher signs in, the teacher still gets in.
    let again = client_at(SCHOOL);
    assert_eq!(app.login(&again, "teacher", PASSWORD).await.status(), 303);
    assert!(reaches_devices(&app, &again).await);
    // Other accounts are not touched.
    app.add_user("other", "borrower").await;
    assert_eq!(
        app.login(&client_at("198.51.100.9"), "other", PASSWORD)
            .await
            .status(),
        303
    );
}

/// A school's staff share one public address: thirty typing mistakes across the
/// staff room would otherwise lock everyone out.
#[tokio::test]
async fn a_busy_school_address_is_slowed_by_a_second_not_locked() {
    let app = behind_proxy().await;
    drop(app.signed_in("head", "head").await);
    app.add_user("teacher", "borrower").await;
    let school = client_at(SCHOOL);
    for n in 0..30 {
        let status = app
            .login(&school, &format!("pupil{n}"), "guess-guess-guess")
            .await
            .status();
        assert_eq!(status, 401, "failure {n} is checked");
    }
    // Past thirty failures in a quarter of an hour, each sign-in from the address
    // waits a second before its password is checked, and is then checked as usual.
    let started = std::time::Instant::now();
    assert_eq!(
        app.login(&school, "teacher", "not-the-password-either")
            .await
            .status(),
        401
    );
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    let started = std::time::Instant::now();
    let head = client_at(SCHOOL);
    assert_eq!(app.login(&head, "head", PASSWORD).await.status(), 303);
    assert!(started.elapsed() >= std::time::Duration::from_secs(1));
    assert!(reaches_devices(&app, &head).await);
}

/// The activity log would fill with one line per refused attempt (or miss them).
#[tokio::test]
async fn refused_attempts_are_logged_once_per_wait_with_their_number() {
    let app = behind_proxy().await;
    app.add_user("teacher", "borrower").await;
    let guesser = client_at(HOME);
    for _ in 0..5 {
        app.login(&guesser, "teacher", "guess-guess-guess").await;
    }
    for _ in 0..7 {
        assert_eq!(
            app.login(&guesser, "teacher", "guess-guess-guess")
                .await
                .status(),
            429
        );
    }
    let written = app
        .state()
        .write_sign_in_refusals(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    assert_eq!(written, 1);
    let events = app
        .store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    let throttled: Vec<_> = events
        .iter()
        .filter(|e| e.action == "person.sign_in_throttled")
        .collect();
    assert_eq!(throttled.len(), 1);
    let details = throttled[0].details_json();
    assert_eq!(details["attempts"], 7);
    assert_eq!(details["address"], HOME);
    assert_eq!(throttled[0].subject_label, "teacher");
}

/// The first admin's setup form would show a huge name back in full, or hash a
/// huge password, before saying it is too long.
#[tokio::test]
async fn the_setup_form_refuses_huge_input_without_showing_it_back() {
    let app = kitroom_tests::spawn_app().await;
    let token = app.setup_token.clone().unwrap();
    let c = app.client();
    let page = app.get(&c, &format!("/setup?token={token}")).await;
    let csrf = kitroom_tests::csrf_in(&page.text().await.unwrap()).unwrap();
    // Five fields of 150 kB: within the 1 MiB a form may be.
    let huge = "a".repeat(150_000);
    let r = c
        .post(app.url("/setup"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("token", token.as_str()),
            ("full_name", huge.as_str()),
            ("username", huge.as_str()),
            ("position", huge.as_str()),
            ("password", huge.as_str()),
            ("confirm", huge.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.len() < 100_000, "the page is {} bytes", body.len());
    assert!(body.contains("2 to 40 characters"), "{body:.2000}");
    assert_eq!(app.store().count_people().await.unwrap(), 0);
}

/// A huge "code" at the second step would be hashed and logged, and counted against
/// the person as a wrong code.
#[tokio::test]
async fn a_huge_second_step_code_is_refused_at_once_and_not_counted() {
    let app = kitroom_tests::spawn_app().await;
    drop(app.signed_in("sbm", "manager").await);
    let c = app.client();
    assert_eq!(app.login_password(&c, "sbm", PASSWORD).await.status(), 303);
    let huge = "1".repeat(500_000);
    for _ in 0..10 {
        let r = app.enter_code(&c, &huge).await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(body.contains("longer than any code"), "{body:.2000}");
        assert!(body.len() < 100_000);
    }
    let code = app.totp_code("sbm");
    assert_eq!(app.enter_code(&c, &code).await.status(), 303);
}
