//! The log witness: the head of the activity log's hash chain, sealed with the key in
//! `kitroom.key` and kept outside the database, so that cutting the newest events
//! from the log is noticed by `kitroom check`.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use kitroom_tests::smtp::SmtpSink;
use kitroom_tests::{spawn_app, spawn_app_with, TestApp};

const LAPTOP: &[(&str, &str)] = &[("kind", "laptop"), ("location", "Office")];

/// Registers a few devices, so that the log has events to cut.
async fn some_events(app: &TestApp) {
    let sbm = app.signed_in("sbm", "manager").await;
    for i in 0..4 {
        let mut fields = vec![("tag", format!("LAP-{i}"))];
        fields.extend(LAPTOP.iter().map(|(k, v)| (*k, v.to_string())));
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(app.register_device(&sbm, &fields).await.status(), 303);
    }
}

async fn check(dir: &Path) -> (ExitCode, String) {
    let mut out = Vec::new();
    let code = kitroom::cli::check(dir, &mut out).await.unwrap();
    (code, String::from_utf8(out).unwrap())
}

/// Deletes the newest `n` events from the database file, as someone with the file
/// and a SQLite shell might (the triggers that forbid it dropped first), and returns
/// the numbers of the first and last deleted.
async fn cut_newest_events(db: &Path, n: i64) -> (i64, i64) {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let last: i64 = sqlx::query_scalar("select max(seq) from event")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::query("drop trigger event_no_delete")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("delete from event where seq > ?")
        .bind(last - n)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    (last - n + 1, last)
}

/// Someone with the database file could delete the newest events (what they did
/// last) and `kitroom check` would still say the log is intact.
#[tokio::test]
async fn cutting_the_newest_events_is_named_by_the_check() {
    let mut app = spawn_app().await;
    some_events(&app).await;
    let dir = app.dir.path().to_owned();
    let db = app.store().path().to_owned();
    app.stop().await;
    let (first, last) = cut_newest_events(&db, 3).await;
    let (code, text) = check(&dir).await;
    assert_eq!(code, ExitCode::from(1), "{text}");
    assert!(
        text.contains(&format!("events {first} to {last} are missing")),
        "{text}"
    );
}

/// After an ordinary stop, the check would fail for no reason and be ignored.
#[tokio::test]
async fn after_a_normal_shutdown_the_check_passes_with_the_witness() {
    let mut app = spawn_app().await;
    some_events(&app).await;
    let dir = app.dir.path().to_owned();
    app.stop().await;
    assert!(dir.join("kitroom.witness").exists());
    let (code, text) = check(&dir).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.contains("log witness: ok"), "{text}");
    // events written later by the command line are fine: the witness is a floor
    app.add_user("later", "borrower").await;
    let (code, text) = check(&dir).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
}

/// A witness edited to hide a cut would be believed.
#[tokio::test]
async fn a_witness_with_a_bad_seal_is_reported_as_tampered() {
    let mut app = spawn_app().await;
    some_events(&app).await;
    let dir = app.dir.path().to_owned();
    app.stop().await;
    let file = dir.join("kitroom.witness");
    let text = std::fs::read_to_string(&file).unwrap();
    let edited: String = text
        .lines()
        .map(|l| {
            if let Some(n) = l.strip_prefix("seq ") {
                format!("seq {}\n", n.parse::<i64>().unwrap() - 2)
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    assert_ne!(edited, text);
    std::fs::write(&file, edited).unwrap();
    let (code, report) = check(&dir).await;
    assert_eq!(code, ExitCode::from(1), "{report}");
    assert!(report.contains("tampered"), "{report}");
}

/// A backup whose newest events were cut could be restored without anyone knowing.
#[tokio::test]
async fn a_backup_carries_its_witness_and_restore_refuses_a_cut_one() {
    let app = spawn_app().await;
    some_events(&app).await;
    let file = app.dir.path().join("backup.db");
    let code = kitroom::cli::backup(app.dir.path(), &file).await.unwrap();
    assert_eq!(code, ExitCode::SUCCESS);

    // restored beside the same key, the backup and its witness agree
    let restored = tempfile::tempdir().unwrap();
    std::fs::copy(
        app.dir.path().join("kitroom.key"),
        restored.path().join("kitroom.key"),
    )
    .unwrap();
    let mut out = Vec::new();
    let code = kitroom::cli::restore(restored.path(), &file, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    let (code, text) = check(restored.path()).await;
    assert_eq!(code, ExitCode::SUCCESS, "{text}");
    assert!(text.contains("log witness: ok"), "{text}");

    // the same backup with its newest events cut is refused
    let (first, last) = cut_newest_events(&file, 2).await;
    let again = tempfile::tempdir().unwrap();
    std::fs::copy(
        app.dir.path().join("kitroom.key"),
        again.path().join("kitroom.key"),
    )
    .unwrap();
    let mut out = Vec::new();
    let code = kitroom::cli::restore(again.path(), &file, &mut out)
        .await
        .unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(code, ExitCode::from(1), "{text}");
    assert!(
        text.contains(&format!("events {first} to {last} are missing")),
        "{text}"
    );
    assert!(!again.path().join("kitroom.db").exists());
}

/// Admins would have no copy of the log's head outside the server to compare with.
#[tokio::test]
async fn admins_get_a_daily_digest_with_the_witness() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with(kitroom_web::Config {
        mail: Some(kitroom_web::MailConfig {
            smtp_url: sink.url(),
            from: "Kitroom <kitroom@school.example>".into(),
            retry_base: Duration::from_millis(200),
            tries: kitroom_core::mail::TRIES,
        }),
        housekeeping_every: Duration::from_secs(1),
        digest_every: Some(Duration::from_secs(1)),
        ..Default::default()
    })
    .await;
    app.add_user_with_email("it", "admin", "it@school.example")
        .await;
    let mail = sink.wait_for(1, Duration::from_secs(15)).await;
    assert!(!mail.is_empty(), "a digest arrives");
    let m = mail[0]
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(m.contains("it@school.example"), "{m}");
    assert!(m.contains("Latest event: "), "{m}");
    assert!(m.contains("kitroom log witness v1"), "{m}");
}
