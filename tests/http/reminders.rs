//! Reminders: borrowers see due and overdue loans and upcoming bookings at home, and
//! are emailed once before a loan falls due and once when it is overdue.

use kitroom_core::school::SchoolId;
use std::time::Duration;

use chrono::Utc;
use kitroom_tests::smtp::SmtpSink;
use kitroom_tests::spawn_app_with_mail;
use serde_json::{json, Value};

/// A teacher would forget the laptop was due, or be emailed about it every minute.
#[tokio::test]
async fn a_borrower_is_reminded_once_before_a_loan_is_due_and_once_when_it_is_overdue() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_mail(&sink.url(), Duration::from_millis(200)).await;
    let sbm = app.api_token("sbm", "manager").await;
    // the server's own once-a-minute run sends no due-soon reminders here, so this
    // test decides when they go
    let settings = kitroom_core::settings::Settings {
        reminder_minutes_before: 0,
        ..Default::default()
    };
    app.store()
        .save_settings(
            kitroom_store::Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            settings,
        )
        .await
        .unwrap();
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    let jo = app.token_for("jo").await;
    for tag in ["LAP-1", "LAP-2"] {
        let r = app
            .api_post(
                &sbm,
                "/api/v1/devices",
                &json!({"tag": tag, "kind": "laptop", "location": "Library"}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    app.api_post(&sbm, "/api/v1/policies", &json!({"title": "AUP", "version_label": "v1", "issued_on": "2026-09-01", "body": "Be kind."})).await;
    app.api_post(
        &jo,
        "/api/v1/policies/current/signatures",
        &json!({"full_name": "Jo Test", "position": "Teacher"}),
    )
    .await;
    let due = Utc::now() + chrono::Duration::minutes(30);
    for tag in ["LAP-1", "LAP-2"] {
        let r = app
            .api_post(
                &jo,
                &format!("/api/v1/devices/{tag}/checkout"),
                &json!({"due_at": due}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }

    // an hour before (the default), one email lists both laptops; a second run sends nothing
    let now = Utc::now();
    assert_eq!(
        app.store()
            .queue_loan_reminders(SchoolId::FIRST, 60, now, None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        app.store()
            .queue_loan_reminders(SchoolId::FIRST, 60, now, None)
            .await
            .unwrap(),
        0,
        "sent once"
    );
    let mail = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(mail.len(), 1, "one email for both laptops");
    assert!(mail[0].contains("jo@school.example"));
    assert!(mail[0].contains("LAP-1, LAP-2"), "{}", mail[0]);
    assert!(mail[0].contains("due back"));

    // once overdue, one more, and never again
    let later = due + chrono::Duration::minutes(1);
    assert_eq!(
        app.store()
            .queue_loan_reminders(SchoolId::FIRST, 60, later, None)
            .await
            .unwrap(),
        2
    );
    assert_eq!(
        app.store()
            .queue_loan_reminders(
                SchoolId::FIRST,
                60,
                later + chrono::Duration::hours(5),
                None
            )
            .await
            .unwrap(),
        0
    );
    let mail = sink.wait_for(2, Duration::from_secs(15)).await;
    assert_eq!(mail.len(), 2);
    assert!(mail[1].contains("overdue"), "{}", mail[1]);

    // and in the app
    let notes: Value = reqwest::Client::new()
        .get(app.url("/api/v1/loans?open=true&borrower=jo"))
        .bearer_auth(&jo)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(notes["total"], 2);
    let c = app.client();
    app.login(&c, "jo", kitroom_tests::PASSWORD).await;
    let page = app.page(&c, "/notifications").await;
    assert!(page.contains("LAP-1, LAP-2: due back"));
    assert!(page.contains("LAP-1, LAP-2: overdue"));
}

/// After a holiday a school can have hundreds of loans overdue at once. If this
/// broke, some borrowers would never be reminded, or the reminders would be queued
/// in one long write that holds every check-out back meanwhile.
#[tokio::test]
async fn a_backlog_of_overdue_loans_is_reminded_in_full_in_small_writes() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_mail(&sink.url(), Duration::from_secs(3600)).await;
    let sbm = app.api_token("sbm", "manager").await;
    app.api_post(&sbm, "/api/v1/policies", &json!({"title": "AUP", "version_label": "v1", "issued_on": "2026-09-01", "body": "Be kind."})).await;
    app.api_post(
        &sbm,
        "/api/v1/policies/current/signatures",
        &json!({"full_name": "Sam B", "position": "Business manager"}),
    )
    .await;
    const LOANS: usize = 120;
    let due = Utc::now() + chrono::Duration::minutes(30);
    for i in 0..LOANS {
        let tag = format!("LAP-{i}");
        let r = app
            .api_post(
                &sbm,
                "/api/v1/devices",
                &json!({"tag": tag, "kind": "laptop", "location": "Library"}),
            )
            .await;
        assert_eq!(r.status(), 201);
        let r = app
            .api_post(
                &sbm,
                &format!("/api/v1/devices/{tag}/checkout"),
                &json!({"due_at": due}),
            )
            .await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    let later = due + chrono::Duration::minutes(1);
    let before = app.store().write_counts();
    assert_eq!(
        app.store()
            .queue_loan_reminders(SchoolId::FIRST, 0, later, None)
            .await
            .unwrap(),
        LOANS as u64,
        "every overdue loan at once"
    );
    let after = app.store().write_counts();
    assert!(
        after.writes - before.writes >= 3,
        "in writes of twenty: {before:?} {after:?}"
    );
    assert_eq!(
        app.store()
            .queue_loan_reminders(SchoolId::FIRST, 0, later, None)
            .await
            .unwrap(),
        0,
        "and once only"
    );
}
