//! "Forgotten your password?" (issue 16): a one-time link by email, the same answer
//! whether or not the account exists, throttled, and a new password that ends every
//! old session and API token.

use std::time::Duration;

use kitroom_store::events::EventFilter;
use kitroom_tests::smtp::SmtpSink;
use kitroom_tests::{location, TestApp, PASSWORD};

use crate::invitations::{
    app_with_mail, choose_password, expire_every_link, link_in, mail_to, NEW_PASSWORD,
};

const SUBJECT: &str = "choose a new password";

/// Asks for a reset link as someone at the sign-in page would; returns the answer.
async fn ask(app: &TestApp, who: &str) -> reqwest::Response {
    let c = app.client();
    let login = app.page(&c, "/login").await;
    assert!(
        login.contains("href=\"/forgot\""),
        "the sign-in page offers it: {login}"
    );
    app.submit(&c, "/forgot", "/forgot", &[("who", who)]).await
}

/// A teacher who forgot their password had to find the business manager; and a
/// reset that left an old session or a leaked API token working would not lock
/// out whoever had them.
#[tokio::test]
async fn a_forgotten_password_is_reset_by_email_and_ends_old_sessions_and_tokens() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    let old = app.client();
    assert_eq!(app.login(&old, "jo", PASSWORD).await.status(), 303);
    let token = app.token_for("jo").await;
    assert_eq!(app.api_get(&token, "/api/v1/devices").await.status(), 200);

    let r = ask(&app, "jo@school.example").await;
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("If an account matches, we have sent an email"),
        "{body}"
    );
    let mail = &mail_to(&sink, "jo@school.example", SUBJECT, 1).await[0];
    let path = link_in(mail, "/reset/");

    let jo = app.client();
    let r = choose_password(&app, &jo, &path, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/");
    assert_eq!(
        app.get(&jo, "/").await.status(),
        200,
        "signed in with the new password"
    );

    let r = app.get(&old, "/account").await;
    assert_eq!(r.status(), 303, "the old session has ended");
    assert!(location(&r).starts_with("/login"));
    assert_eq!(
        app.api_get(&token, "/api/v1/devices").await.status(),
        401,
        "the old API token no longer works"
    );
    assert_eq!(app.login(&app.client(), "jo", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login(&app.client(), "jo", NEW_PASSWORD).await.status(),
        303
    );

    let me = app
        .store()
        .account_by_username("jo")
        .await
        .unwrap()
        .unwrap();
    let actions: Vec<String> = app
        .store()
        .list_events(&EventFilter {
            person: Some(me.id),
            limit: 50,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect();
    for a in ["person.reset_requested", "person.password_reset_by_email"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

/// Anyone could find out who has an account by asking for resets, or fill a
/// stranger's mailbox.
#[tokio::test]
async fn an_unknown_account_gets_the_same_answer_and_no_email() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    let unknown = ask(&app, "nobody@school.example").await;
    assert_eq!(unknown.status(), 200);
    let unknown = unknown.text().await.unwrap();
    let known = ask(&app, "jo").await;
    assert_eq!(known.status(), 200);
    assert_eq!(
        known.text().await.unwrap(),
        unknown,
        "the same page either way"
    );
    mail_to(&sink, "jo@school.example", SUBJECT, 1).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let all = sink.mail();
    assert_eq!(
        all.len(),
        1,
        "only jo was sent an email: {:?}",
        all.iter().map(|m| &m.to).collect::<Vec<_>>()
    );
}

/// A reset link found later in a mailbox, or used twice, could otherwise change the
/// password again behind the teacher's back.
#[tokio::test]
async fn a_reset_link_works_once_and_runs_out() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    ask(&app, "jo").await;
    let first = link_in(
        &mail_to(&sink, "jo@school.example", SUBJECT, 1).await[0],
        "/reset/",
    );
    let r = choose_password(&app, &app.client(), &first, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    let again = app.get(&app.client(), &first).await;
    assert_eq!(again.status(), 409);
    let body = again.text().await.unwrap();
    assert!(body.contains("already been used"), "{body}");
    assert!(
        body.contains("href=\"/forgot\""),
        "a way to ask again: {body}"
    );

    ask(&app, "jo").await;
    let second = link_in(
        &mail_to(&sink, "jo@school.example", SUBJECT, 2).await[1],
        "/reset/",
    );
    expire_every_link(&app).await;
    let r = app.get(&app.client(), &second).await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(body.contains("run out"), "{body}");
}

/// Someone could flood a teacher's mailbox with reset emails, or try every
/// username from one place.
#[tokio::test]
async fn reset_emails_are_throttled_per_account() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    for _ in 0..5 {
        let r = ask(&app, "jo").await;
        assert_eq!(r.status(), 200, "the same answer each time");
    }
    mail_to(&sink, "jo@school.example", SUBJECT, 3).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(sink.mail().len(), 3, "no more than three in an hour");
}

/// Someone trying every username from one place could otherwise send a reset email
/// to each account in turn.
#[tokio::test]
async fn reset_requests_are_throttled_per_address() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    for i in 0..10 {
        let r = ask(&app, &format!("guess{i}")).await;
        assert_eq!(r.status(), 200);
    }
    let r = ask(&app, "jo").await;
    assert_eq!(r.status(), 200, "the same answer");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(sink.mail().is_empty(), "nothing sent from a busy address");
}

/// A huge name typed at the form must not be looked up or stored; the form says so
/// and keeps what fits.
#[tokio::test]
async fn a_name_longer_than_any_is_refused_before_any_work() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    let r = ask(&app, &"a".repeat(10_000)).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("longer than any username or email address"),
        "{body}"
    );
    assert!(body.len() < 20_000, "what is shown back is bounded");
    let r = ask(&app, "  ").await;
    assert_eq!(r.status(), 422);
}
