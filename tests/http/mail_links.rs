//! Addresses in email and on labels: they come from the configured public address,
//! never from the request (its `Host` header is whatever the sender typed).

use std::time::Duration;

use kitroom_tests::smtp::SmtpSink;
use kitroom_tests::{spawn_app_with, TestApp};

const LOST_LAPTOP: &[(&str, &str)] = &[
    ("tag", "LAP-7"),
    ("kind", "laptop"),
    ("make", "Dell"),
    ("model", "Latitude"),
    ("location", "Staff room"),
];

/// Kitroom with email through `sink` and, when given, a public address.
async fn app_with_mail(sink: &SmtpSink, public_url: Option<&str>) -> TestApp {
    spawn_app_with(kitroom_web::Config {
        mail: Some(kitroom_web::MailConfig {
            smtp_url: sink.url(),
            from: "Kitroom <kitroom@school.example>".into(),
            retry_base: Duration::from_millis(200),
            tries: kitroom_core::mail::TRIES,
        }),
        public_url: public_url.map(|u| kitroom_core::link::PublicUrl::parse(u).unwrap()),
        ..Default::default()
    })
    .await
}

/// A borrower reports a loss with a forged `Host` header; returns the email the
/// manager was sent, with quoted-printable soft breaks undone.
async fn loss_reported_with_forged_host(app: &TestApp, sink: &SmtpSink) -> String {
    app.add_user_with_email("sbm", "manager", "sbm@school.example")
        .await;
    let sbm = app.client();
    app.login(&sbm, "sbm", kitroom_tests::PASSWORD).await;
    app.register_device(&sbm, LOST_LAPTOP).await;
    let jo = app.signed_in("jo", "borrower").await;
    let token = app.csrf(&jo, "/devices/LAP-7/report").await;
    let r = jo
        .post(app.url("/devices/LAP-7/report"))
        .header("host", "evil.example")
        .form(&[
            ("csrf", token.as_str()),
            ("kind", "loss"),
            ("description", "Left it on the bus"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "the report is taken");
    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail.len(), 1, "one email to the manager");
    mail[0]
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=")
}

/// A borrower could make Kitroom email every manager a link to a site of their own
/// (a phishing page that looks like Kitroom's sign-in).
#[tokio::test]
async fn a_forged_host_never_reaches_the_managers_email() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink, None).await;
    let m = loss_reported_with_forged_host(&app, &sink).await;
    assert!(!m.contains("evil.example"), "{m}");
    assert!(
        !m.contains("http://") && !m.contains("https://"),
        "no public address is set, so the email carries no link: {m}"
    );
    assert!(
        m.contains("Open Incidents in Kitroom"),
        "the email names the page to open: {m}"
    );
}

/// With the school's public address set, managers could not open the incident from
/// the email in one click, or the link would go elsewhere.
#[tokio::test]
async fn with_a_public_address_the_email_links_to_it() {
    let sink = SmtpSink::start().await;
    let app = app_with_mail(&sink, Some("https://kitroom.school.example/")).await;
    let m = loss_reported_with_forged_host(&app, &sink).await;
    assert!(!m.contains("evil.example"), "{m}");
    assert!(
        m.contains("https://kitroom.school.example/incidents/"),
        "the link starts with the public address: {m}"
    );
}

/// A manager could print a whole sheet of labels whose codes point at an address
/// other people cannot reach, without being told.
#[tokio::test]
async fn the_label_sheet_warns_when_no_public_address_is_set() {
    let app = spawn_app_with(kitroom_web::Config::default()).await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, LOST_LAPTOP).await;
    let sheet = app.page(&sbm, "/labels").await;
    assert!(
        sheet.contains("use the address this page was opened at"),
        "{sheet}"
    );
    assert!(sheet.contains("public address"), "{sheet}");
    let sets = app.page(&sbm, "/sets/labels").await;
    assert!(sets.contains("use the address this page was opened at"));

    let configured = spawn_app_with(kitroom_web::Config {
        public_url: Some(
            kitroom_core::link::PublicUrl::parse("https://kitroom.school.example").unwrap(),
        ),
        ..Default::default()
    })
    .await;
    let sbm = configured.signed_in("sbm", "manager").await;
    configured.register_device(&sbm, LOST_LAPTOP).await;
    let sheet = sbm
        .get(configured.url("/labels"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(!sheet.contains("use the address this page was opened at"));
}
