//! Email as a mail program reads it (every kind Kitroom sends, parsed by a standard
//! MIME parser), and email that gives up honestly: a bounded number of tries, the
//! admins told on their desk, stale reminders dropped, incident emails always sent.

use kitroom_core::school::SchoolId;
use std::io::Cursor;
use std::time::Duration;

use chrono::Utc;
use kitroom_core::person::PersonInput;
use kitroom_tests::smtp::{Mail, SmtpSink, REFUSAL};
use kitroom_tests::{spawn_app_with, TestApp, PASSWORD};
use serde_json::json;

/// Kitroom sending through `smtp_url`, quick retries, `tries` tries.
async fn app_with_mail(smtp_url: &str, public_url: Option<&str>, tries: u32) -> TestApp {
    spawn_app_with(kitroom_web::Config {
        mail: Some(kitroom_web::MailConfig {
            smtp_url: smtp_url.to_owned(),
            from: "Kitroom <kitroom@school.example>".into(),
            retry_base: Duration::from_millis(100),
            tries,
        }),
        public_url: public_url.map(|u| kitroom_core::link::PublicUrl::parse(u).unwrap()),
        housekeeping_every: Duration::from_secs(1),
        digest_every: Some(Duration::from_secs(3600)),
        ..Default::default()
    })
    .await
}

/// Adds an account with this full name and email address, as `kitroom user add` does.
async fn add_person(app: &TestApp, username: &str, full_name: &str, role: &str, email: &str) {
    let input = PersonInput {
        username: username.into(),
        full_name: full_name.into(),
        email: email.into(),
        role: role.into(),
        ..Default::default()
    };
    let mut password = Cursor::new(format!("{PASSWORD}\n"));
    let code = kitroom::cli::user_add(app.dir.path(), input, None, Some(&mut password))
        .await
        .expect("user add runs");
    assert_eq!(code, std::process::ExitCode::SUCCESS, "user add {username}");
}

/// Waits until every one of `subjects` has arrived (each as often as it is listed).
async fn wait_for_subjects(sink: &SmtpSink, subjects: &[&str]) -> Vec<Mail> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mail = sink.mail();
        let missing: Vec<&&str> = subjects
            .iter()
            .filter(|s| {
                let wanted = subjects.iter().filter(|t| t == s).count();
                mail.iter().filter(|m| m.subject.contains(**s)).count() < wanted
            })
            .collect();
        if missing.is_empty() {
            return mail;
        }
        if tokio::time::Instant::now() >= deadline {
            let got: Vec<&str> = mail.iter().map(|m| m.subject.as_str()).collect();
            panic!("still waiting for {missing:?}; arrived: {got:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn one<'a>(mail: &'a [Mail], to: &str, subject: &str) -> &'a Mail {
    mail.iter()
        .find(|m| m.to == to && m.subject.contains(subject))
        .unwrap_or_else(|| panic!("no email to {to} about {subject:?}"))
}

/// Every kind of email Kitroom sends: account news, the admins' digest, the
/// due-soon and overdue reminders, incident reports. Returns what arrived.
async fn every_kind_of_email(app: &TestApp, sink: &SmtpSink) -> Vec<Mail> {
    add_person(app, "it", "Ifan Thomas", "admin", "it@school.example").await;
    add_person(
        app,
        "sbm",
        "Siân Burke-Morgan",
        "manager",
        "sbm@school.example",
    )
    .await;
    add_person(app, "zoe", "Zoë Ashworth", "borrower", "zoe@school.example").await;
    let sbm = app.token_for("sbm").await;
    let zoe = app.token_for("zoe").await;
    for tag in ["LAP-9", "LAP-10"] {
        let r = app.api_post(&sbm, "/api/v1/devices", &json!({"tag": tag, "kind": "laptop", "make": "Dell", "model": "Latitude", "location": "Library"})).await;
        assert_eq!(r.status(), 201);
    }
    app.api_post(&sbm, "/api/v1/policies", &json!({"title": "AUP", "version_label": "v1", "issued_on": "2026-09-01", "body": "Be kind."})).await;
    app.api_post(
        &zoe,
        "/api/v1/policies/current/signatures",
        &json!({"full_name": "Zoë Ashworth", "position": "Teacher"}),
    )
    .await;
    let due = Utc::now() + chrono::Duration::minutes(30);
    let r = app
        .api_post(
            &zoe,
            "/api/v1/devices/LAP-9/checkout",
            &json!({"due_at": due}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    app.store()
        .queue_loan_reminders(SchoolId::FIRST, 60, Utc::now(), None)
        .await
        .unwrap();
    app.store()
        .queue_loan_reminders(
            SchoolId::FIRST,
            60,
            due + chrono::Duration::minutes(1),
            None,
        )
        .await
        .unwrap();
    for tag in ["LAP-9", "LAP-10"] {
        let r = app.api_post(&zoe, &format!("/api/v1/devices/{tag}/incidents"), &json!({"kind": "damage", "description": "Zoë's screen — cracked at the hinge, £45 to fix"})).await;
        assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    }
    wait_for_subjects(
        sink,
        &[
            "new business manager account",
            "daily log witness",
            "due back",
            "overdue",
            "damage of LAP-9",
            "damage of LAP-9",
            "damage of LAP-10",
            "damage of LAP-10",
        ],
    )
    .await
}

/// A report with "Zoë's", "—" and "£45" would arrive garbled, mail programs would not
/// thread an incident's emails, and an out-of-office reply would answer Kitroom.
#[tokio::test]
async fn every_kind_of_email_reads_right_in_a_mail_program() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink.url(), Some("https://kitroom.school.example/"), 16).await;
    let mail = every_kind_of_email(&app, &sink).await;

    let mut ids = std::collections::HashSet::new();
    for m in &mail {
        let id = m.message_id.clone().unwrap_or_default();
        assert!(
            id.ends_with("@kitroom.school.example"),
            "Message-ID at the public address's domain: {id:?} in\n{}",
            m.raw
        );
        assert!(ids.insert(id), "each Message-ID is new");
        assert!(m.has_date, "Date: {}", m.raw);
        assert_eq!(m.mime_version.as_deref(), Some("1.0"), "{}", m.raw);
        assert_eq!(m.content_type.as_deref(), Some("text/plain"), "{}", m.raw);
        assert_eq!(m.charset.as_deref(), Some("utf-8"), "{}", m.raw);
        assert_eq!(
            m.auto_submitted.as_deref(),
            Some("auto-generated"),
            "{}",
            m.raw
        );
        assert!(!m.text.trim().is_empty(), "{}", m.raw);
    }

    // the decoded text, accents, pound sign and dash included
    let report = one(&mail, "sbm@school.example", "damage of LAP-9");
    assert!(
        report
            .text
            .contains("What happened: Zoë's screen — cracked at the hinge, £45 to fix"),
        "{}",
        report.text
    );
    assert!(report
        .text
        .contains("Zoë Ashworth has reported the damage of LAP-9"));
    assert!(report
        .text
        .contains("https://kitroom.school.example/incidents/"));
    let manager = one(&mail, "it@school.example", "new business manager account");
    assert!(
        manager.text.contains("Siân Burke-Morgan (sbm)"),
        "{}",
        manager.text
    );
    let due = one(&mail, "zoe@school.example", "due back");
    assert!(due.text.starts_with("Hello Zoë,"), "{}", due.text);
    let overdue = one(&mail, "zoe@school.example", "overdue");
    assert!(overdue.text.starts_with("Hello Zoë,"), "{}", overdue.text);
    let digest = one(&mail, "it@school.example", "daily log witness");
    assert!(digest.text.contains("kitroom log witness v1"));

    // one incident, one thread: the manager's and the admin's copies share it, and
    // another incident has its own
    let thread = |to: &str, subject: &str| {
        let m = one(&mail, to, subject);
        assert_eq!(m.in_reply_to.len(), 1, "{}", m.raw);
        assert_eq!(m.references, m.in_reply_to, "{}", m.raw);
        m.references.clone()
    };
    let nine = thread("sbm@school.example", "damage of LAP-9");
    assert_eq!(nine, thread("it@school.example", "damage of LAP-9"));
    let ten = thread("sbm@school.example", "damage of LAP-10");
    assert_eq!(ten, thread("it@school.example", "damage of LAP-10"));
    assert_ne!(nine, ten);
    assert!(nine[0].ends_with("@kitroom.school.example"), "{nine:?}");
    // what is not about an incident starts no thread
    assert!(due.in_reply_to.is_empty() && due.references.is_empty());
}

/// Without a public address, mail programs and spam filters would see Message-IDs
/// at no domain of the school's.
#[tokio::test]
async fn without_a_public_address_message_ids_are_at_the_senders_domain() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink.url(), None, 16).await;
    add_person(&app, "it", "Ifan Thomas", "admin", "it@school.example").await;
    add_person(
        &app,
        "sbm",
        "Siân Burke-Morgan",
        "manager",
        "sbm@school.example",
    )
    .await;
    let mail = wait_for_subjects(&sink, &["new business manager account"]).await;
    let id = mail[0].message_id.clone().unwrap_or_default();
    assert!(id.ends_with("@school.example"), "{id:?}: {}", mail[0].raw);
}

/// An email the mail server keeps refusing would be retried for ever, and nobody
/// would know the managers were never told.
#[tokio::test]
async fn an_email_that_cannot_be_delivered_is_given_up_and_shown_to_admins() {
    let sink = SmtpSink::start_refusing().await;
    let app = app_with_mail(&sink.url(), None, 3).await;
    add_person(&app, "it", "Ifan Thomas", "admin", "it@school.example").await;
    add_person(
        &app,
        "sbm",
        "Siân Burke-Morgan",
        "manager",
        "sbm@school.example",
    )
    .await;

    // three tries each (the account news, and the admins' digest), then no more
    let mut refused = 0;
    for _ in 0..100 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if sink.refused() == refused && refused > 0 {
            break;
        }
        refused = sink.refused();
    }
    let failed = app.store().undelivered_emails().await.unwrap();
    assert_eq!(failed.len(), 2, "{failed:?}");
    assert!(failed.iter().all(|e| e.attempts == 3), "{failed:?}");
    assert_eq!(sink.refused(), 6, "the configured number of tries, no more");
    assert_eq!(app.store().unsent_emails().await.unwrap(), 0, "not waiting");

    // the admin's desk says so, with the reason
    let it = app.client();
    app.login(&it, "it", PASSWORD).await;
    let desk = app.page(&it, "/").await;
    assert!(desk.contains("Email not delivered"), "{desk}");
    assert!(desk.contains("it@school.example"), "{desk}");
    assert!(
        desk.contains("Kitroom: new business manager account"),
        "{desk}"
    );
    let reason = REFUSAL.trim_start_matches("451 4.3.0 ");
    assert!(desk.contains(reason), "the last error: {desk}");

    // a manager's desk does not (they do not look after email)
    let sbm = app.client();
    app.login(&sbm, "sbm", PASSWORD).await;
    let theirs = app.page(&sbm, "/").await;
    assert!(!theirs.contains("Email not delivered"));

    // the admin dismisses them, and they are gone from the desk
    let actions: Vec<String> = desk
        .split("action=\"")
        .map(|s| s.split('"').next().unwrap().to_owned())
        .filter(|a| a.starts_with("/outbox/") && a.ends_with("/dismiss"))
        .collect();
    assert_eq!(actions.len(), 2, "a dismiss form each: {desk}");
    for action in &actions {
        let r = app.submit(&it, "/", action, &[]).await;
        assert_eq!(r.status(), 303);
    }
    let desk = app.page(&it, "/").await;
    assert!(!desk.contains("Email not delivered"), "{desk}");
    // the activity log says who dismissed which email
    let log = app.page(&it, "/log").await;
    assert_eq!(
        log.matches("Undelivered email dismissed").count(),
        2,
        "one entry per email dismissed: {log}"
    );
    // dismissed once is enough; without the form's token, nothing happens
    let r = app.submit(&it, "/", &actions[0], &[]).await;
    assert_eq!(r.status(), 404);
    let r = it.post(app.url(&actions[0])).send().await.unwrap();
    assert!(r.status().is_client_error(), "{}", r.status());
}

/// A borrower would be told "due back at 3pm" hours after 3pm (when the laptop may
/// be back already), while a loss report must reach the managers however late.
#[tokio::test]
async fn a_reminder_whose_moment_passed_is_dropped_but_an_incident_email_is_sent() {
    // the mail server is down while these are queued
    let down = SmtpSink::start().await;
    let url = down.url();
    let port = down.stop();
    let app = app_with_mail(&url, None, 16).await;
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
    add_person(
        &app,
        "sbm",
        "Siân Burke-Morgan",
        "manager",
        "sbm@school.example",
    )
    .await;
    add_person(
        &app,
        "zoe",
        "Zoë Ashworth",
        "borrower",
        "zoe@school.example",
    )
    .await;
    let sbm = app.token_for("sbm").await;
    let zoe = app.token_for("zoe").await;
    app.api_post(
        &sbm,
        "/api/v1/devices",
        &json!({"tag": "LAP-1", "kind": "laptop", "location": "Library"}),
    )
    .await;
    app.api_post(&sbm, "/api/v1/policies", &json!({"title": "AUP", "version_label": "v1", "issued_on": "2026-09-01", "body": "Be kind."})).await;
    app.api_post(
        &zoe,
        "/api/v1/policies/current/signatures",
        &json!({"full_name": "Zoë Ashworth", "position": "Teacher"}),
    )
    .await;
    let due = Utc::now() + chrono::Duration::seconds(3);
    let r = app
        .api_post(
            &zoe,
            "/api/v1/devices/LAP-1/checkout",
            &json!({"due_at": due}),
        )
        .await;
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    assert_eq!(
        app.store()
            .queue_loan_reminders(SchoolId::FIRST, 60, Utc::now(), None)
            .await
            .unwrap(),
        1,
        "a due-soon reminder waits in the outbox"
    );
    let r = app
        .api_post(
            &zoe,
            "/api/v1/devices/LAP-1/incidents",
            &json!({"kind": "loss", "description": "Left it on the coach"}),
        )
        .await;
    assert_eq!(r.status(), 201);

    // the mail server comes back after the loan fell due
    let wait = (due - Utc::now()).to_std().unwrap_or_default() + Duration::from_secs(1);
    tokio::time::sleep(wait).await;
    let sink = SmtpSink::start_on(port).await;
    let mail = wait_for_subjects(&sink, &["loss of LAP-1"]).await;
    assert_eq!(
        one(&mail, "sbm@school.example", "loss of LAP-1").to,
        "sbm@school.example"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let late: Vec<String> = sink
        .mail()
        .into_iter()
        .filter(|m| m.subject.contains("due back"))
        .map(|m| m.raw)
        .collect();
    assert!(late.is_empty(), "the stale reminder is not sent: {late:?}");
    let mut unsent = 1;
    for _ in 0..100 {
        unsent = app.store().unsent_emails().await.unwrap();
        if unsent == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unsent, 0, "nothing is left waiting");
}
