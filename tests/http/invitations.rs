//! Invitations by email (issue 16): a manager sends one from the people pages (or
//! `kitroom user invite` at the server), the person opens the link from the email,
//! chooses a password once and is signed in.

use std::time::Duration;

use kitroom_tests::smtp::{Mail, SmtpSink};
use kitroom_tests::{kitroom_command, location, spawn_app_in, spawn_app_with, TestApp};

pub(crate) const PUBLIC: &str = "https://kitroom.school.example";
pub(crate) const NEW_PASSWORD: &str = "marmalade tractor singing";

/// Kitroom sending email through `sink`, with its public address set.
pub(crate) async fn app_with_mail(sink: &SmtpSink) -> TestApp {
    spawn_app_with(kitroom_web::Config {
        mail: Some(kitroom_web::MailConfig {
            smtp_url: sink.url(),
            from: "Kitroom <kitroom@school.example>".into(),
            retry_base: Duration::from_millis(100),
            tries: kitroom_core::mail::TRIES,
        }),
        public_url: Some(kitroom_core::link::PublicUrl::parse(PUBLIC).unwrap()),
        ..Default::default()
    })
    .await
}

/// Waits for `n` emails to `to` whose subject contains `subject`; returns them.
pub(crate) async fn mail_to(sink: &SmtpSink, to: &str, subject: &str, n: usize) -> Vec<Mail> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let got: Vec<Mail> = sink
            .mail()
            .into_iter()
            .filter(|m| m.to == to && m.subject.contains(subject))
            .collect();
        if got.len() >= n {
            return got;
        }
        if tokio::time::Instant::now() >= deadline {
            panic!(
                "{} of {n} emails to {to} about {subject:?} arrived",
                got.len()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The path of the link in an email that starts with `PUBLIC` then `prefix`.
pub(crate) fn link_in(mail: &Mail, prefix: &str) -> String {
    let start = format!("{PUBLIC}{prefix}");
    let at = mail
        .text
        .find(&start)
        .unwrap_or_else(|| panic!("no {start} link in:\n{}", mail.text));
    let link: String = mail.text[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    link[PUBLIC.len()..].to_owned()
}

/// Opens the link's page as `c` and chooses `password` there (typed twice).
pub(crate) async fn choose_password(
    app: &TestApp,
    c: &reqwest::Client,
    path: &str,
    password: &str,
) -> reqwest::Response {
    let page = app.get(c, path).await;
    assert_eq!(page.status(), 200, "the link's page opens");
    let body = page.text().await.unwrap();
    let csrf = kitroom_tests::csrf_in(&body).expect("a form");
    c.post(app.url(path))
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", password),
            ("confirm", password),
        ])
        .send()
        .await
        .unwrap()
}

/// Makes every one-time link run out, as if its time had passed: edits the rows in
/// the database file behind Kitroom's back.
pub(crate) async fn expire_every_link(app: &TestApp) {
    use sqlx::Connection;
    let db = app.dir.path().join("kitroom.db");
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::query("update one_time_link set expires_at = '2020-01-01T00:00:00.000000Z'")
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
}

/// A manager signed in, and a new teacher added on the people page with an email
/// address and no password; returns the manager's client.
async fn manager_and_new_teacher(app: &TestApp) -> reqwest::Client {
    app.add_user_with_email("sbm", "manager", "sbm@school.example")
        .await;
    let sbm = app.client();
    assert_eq!(
        app.login(&sbm, "sbm", kitroom_tests::PASSWORD)
            .await
            .status(),
        303
    );
    let r = app
        .submit(
            &sbm,
            "/people/new",
            "/people",
            &[
                ("username", "t.jones"),
                ("full_name", "Tegan Jones"),
                ("email", "t.jones@school.example"),
                ("kind", "staff"),
                ("role", "borrower"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "the teacher is added");
    sbm
}

/// Sends the teacher's invitation from the people list.
async fn invite_from_list(app: &TestApp, sbm: &reqwest::Client) -> reqwest::Response {
    let list = app.page(sbm, "/people").await;
    assert!(list.contains("Send invitation"), "{list}");
    app.submit(
        sbm,
        "/people",
        "/people/t.jones/invite",
        &[("from", "list")],
    )
    .await
}

/// A school could not roll Kitroom out to its staff without typing and handing over a
/// password for each: the invitation's link lets each choose their own and signs
/// them in, and the people page shows who has not accepted yet.
#[tokio::test]
async fn an_invited_teacher_chooses_a_password_and_is_signed_in() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    let sbm = manager_and_new_teacher(&app).await;
    let r = invite_from_list(&app, &sbm).await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/people");
    let list = app.page(&sbm, "/people").await;
    assert!(list.contains("not yet accepted"), "{list}");
    assert!(list.contains("Send again"), "{list}");

    let mail = &mail_to(&sink, "t.jones@school.example", "invited you", 1).await[0];
    assert!(
        mail.text.contains("Sbm Test has invited you"),
        "who invited them: {}",
        mail.text
    );
    assert!(
        mail.text.contains("Our school"),
        "the school's name: {}",
        mail.text
    );
    assert!(
        mail.text.contains("t.jones"),
        "their username: {}",
        mail.text
    );
    let path = link_in(mail, "/welcome/");

    let teacher = app.client();
    let page = app.page(&teacher, &path).await;
    assert!(
        page.contains("Tegan Jones") && page.contains("Choose"),
        "{page}"
    );
    let r = choose_password(&app, &teacher, &path, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303, "the password is taken");
    assert_eq!(location(&r), "/");
    let home = app.get(&teacher, "/").await;
    assert_eq!(home.status(), 200, "signed in at once");
    let account = app.page(&teacher, "/account").await;
    assert!(account.contains("t.jones"), "{account}");

    // and from now on with the password they chose
    let later = app.client();
    assert_eq!(
        app.login(&later, "t.jones", NEW_PASSWORD).await.status(),
        303
    );
    let list = app.page(&sbm, "/people").await;
    assert!(!list.contains("not yet accepted"), "{list}");
    let log = app.page(&sbm, "/people/t.jones").await;
    assert!(log.contains("Invitation accepted"), "{log}");
}

/// A forwarded or leaked invitation could otherwise be used again to take over the
/// account after the teacher set their password.
#[tokio::test]
async fn an_invitation_link_works_once() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    let sbm = manager_and_new_teacher(&app).await;
    invite_from_list(&app, &sbm).await;
    let mail = &mail_to(&sink, "t.jones@school.example", "invited you", 1).await[0];
    let path = link_in(mail, "/welcome/");
    let teacher = app.client();
    let r = choose_password(&app, &teacher, &path, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);

    let someone = app.client();
    let again = app.get(&someone, &path).await;
    assert_eq!(again.status(), 409);
    let body = again.text().await.unwrap();
    assert!(body.contains("already been used"), "{body}");
    // posting to it anyway changes nothing
    let csrf = app.csrf(&someone, "/login").await;
    let r = someone
        .post(app.url(&path))
        .form(&[
            ("csrf", csrf.as_str()),
            ("password", "another long password here"),
            ("confirm", "another long password here"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        app.login(&app.client(), "t.jones", NEW_PASSWORD)
            .await
            .status(),
        303
    );
}

/// An invitation lying in an old mailbox could otherwise open the account months
/// later; the teacher is told plainly to ask for it again.
#[tokio::test]
async fn an_expired_invitation_is_refused_plainly() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    let sbm = manager_and_new_teacher(&app).await;
    invite_from_list(&app, &sbm).await;
    let mail = &mail_to(&sink, "t.jones@school.example", "invited you", 1).await[0];
    let path = link_in(mail, "/welcome/");
    expire_every_link(&app).await;
    let teacher = app.client();
    let r = app.get(&teacher, &path).await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(body.contains("run out"), "{body}");
    assert!(body.contains("send your invitation again"), "{body}");

    // "Send again" makes a new link that works, and the old one stays dead
    let r = app
        .submit(&sbm, "/people/t.jones", "/people/t.jones/invite", &[])
        .await;
    assert_eq!(r.status(), 303);
    let mails = mail_to(&sink, "t.jones@school.example", "invited you", 2).await;
    let fresh = link_in(&mails[1], "/welcome/");
    assert_ne!(fresh, path);
    assert_eq!(app.get(&teacher, &path).await.status(), 409);
    let r = choose_password(&app, &teacher, &fresh, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
}

/// A manager pressing "Send invitation" for someone with no email address would
/// otherwise think it was sent.
#[tokio::test]
async fn an_invitation_needs_an_email_address() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    let sbm = manager_and_new_teacher(&app).await;
    let r = app
        .submit(
            &sbm,
            "/people/new",
            "/people",
            &[
                ("username", "no.mail"),
                ("full_name", "No Mail"),
                ("role", "borrower"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(&sbm, "/people/no.mail", "/people/no.mail/invite", &[])
        .await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(body.contains("no email address for No Mail"), "{body}");
}

/// An IT administrator setting Kitroom up before email is configured could not
/// invite anyone: the command prints the link to pass on, and it works.
#[tokio::test]
async fn the_command_line_prints_the_invitation_link_when_email_is_off() {
    let dir = tempfile::tempdir().unwrap();
    let (ok, out) = kitroom_command(
        crate::crash::KITROOM,
        dir.path(),
        &[
            "user",
            "invite",
            "r.patel",
            "--email",
            "r.patel@school.example",
            "--role",
            "manager",
            "--full-name",
            "Ravi Patel",
        ],
    );
    assert!(ok, "{out}");
    assert!(out.contains("Created r.patel"), "{out}");
    assert!(out.contains("Email is off"), "{out}");
    let at = out
        .find("/welcome/")
        .unwrap_or_else(|| panic!("no link in {out}"));
    let path: String = out[at..]
        .chars()
        .take_while(|c| !c.is_whitespace())
        .collect();
    assert!(out.contains("http://127.0.0.1:8080/welcome/"), "{out}");

    let app = spawn_app_in(dir, kitroom_web::Config::default()).await;
    let ravi = app.client();
    let r = choose_password(&app, &ravi, &path, NEW_PASSWORD).await;
    assert_eq!(r.status(), 303);
    // a business manager must use two-step sign-in: set it up first, as at any
    // first sign-in
    let r = app.get(&ravi, "/people").await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/account/two-factor");
}

/// A manager who set a teacher's password by hand would otherwise leave the
/// invitation working, and whoever held it could set the password again.
#[tokio::test]
async fn a_password_set_by_hand_ends_the_invitation() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    let sbm = manager_and_new_teacher(&app).await;
    invite_from_list(&app, &sbm).await;
    let mail = &mail_to(&sink, "t.jones@school.example", "invited you", 1).await[0];
    let path = link_in(mail, "/welcome/");
    let r = app
        .submit(
            &sbm,
            "/people/t.jones",
            "/people/t.jones/password",
            &[("password", "a handed over password")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app.get(&app.client(), &path).await;
    assert_eq!(r.status(), 409);
    let list = app.page(&sbm, "/people").await;
    assert!(!list.contains("not yet accepted"), "{list}");
}

/// After importing 35 staff, a business manager had to open each person's page to
/// invite them: the result page offers to invite every new person with an email
/// address at once, and only those.
#[tokio::test]
async fn imported_people_are_invited_in_one_go() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink).await;
    app.add_user_with_email("sbm", "manager", "sbm@school.example")
        .await;
    let sbm = app.client();
    assert_eq!(
        app.login(&sbm, "sbm", kitroom_tests::PASSWORD)
            .await
            .status(),
        303
    );
    let csv = "username,full_name,email\na.one,Amy One,a.one@school.example\nb.two,Ben Two,b.two@school.example\nc.three,Cai Three,\n";
    let r = app
        .submit(&sbm, "/import", "/import/people/confirm", &[("csv", csv)])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(location(&r), "/people");
    let result = app.page(&sbm, "/people").await;
    assert!(
        result.contains("Send invitations to the 2 new people with email addresses"),
        "{result}"
    );
    let r = app.submit(&sbm, "/people", "/people/invite-new", &[]).await;
    assert_eq!(r.status(), 303);
    let after = app.page(&sbm, "/people").await;
    assert!(after.contains("2 invitations sent"), "{after}");
    assert!(!after.contains("Send invitations to the"), "{after}");
    for to in ["a.one@school.example", "b.two@school.example"] {
        let mail = &mail_to(&sink, to, "invited you", 1).await[0];
        link_in(mail, "/welcome/");
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(sink.mail().len(), 2, "Cai has no email address");
}
