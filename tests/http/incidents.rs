//! Damage, loss and theft: the report, the manager told at once (in the app and by
//! email through the outbox), the breach assessment, handling, change requests.

use std::time::Duration;

use kitroom_tests::smtp::SmtpSink;
use kitroom_tests::{spawn_app, spawn_app_with_mail, TestApp};
use serde_json::{json, Value};

const UNENCRYPTED_LAPTOP: &[(&str, &str)] = &[
    ("tag", "LAP-9"),
    ("kind", "laptop"),
    ("make", "Dell"),
    ("model", "Latitude"),
    ("location", "Staff room"),
    ("holds_personal_data", "on"),
];

/// The incident's page address from a redirect after reporting.
fn incident_path(r: &reqwest::Response) -> String {
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/incidents/") && to.ends_with("?reported=1"),
        "{to}"
    );
    to.trim_end_matches("?reported=1").to_owned()
}

async fn report(
    app: &TestApp,
    c: &reqwest::Client,
    tag: &str,
    fields: &[(&str, &str)],
) -> reqwest::Response {
    app.submit(
        c,
        &format!("/devices/{tag}/report"),
        &format!("/devices/{tag}/report"),
        fields,
    )
    .await
}

/// A lost laptop would sit unreported until someone happened to look.
#[tokio::test]
async fn a_reported_loss_reaches_the_manager_at_once_in_the_app_and_by_email() {
    let sink = SmtpSink::start().await;
    let app = spawn_app_with_mail(&sink.url(), Duration::from_millis(200)).await;
    app.add_user_with_email("sbm", "manager", "sbm@school.example")
        .await;
    let sbm = app.client();
    app.login(&sbm, "sbm", kitroom_tests::PASSWORD).await;
    app.register_device(&sbm, UNENCRYPTED_LAPTOP).await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Bloggs").await;
    assert_eq!(app.check_out(&jo, "LAP-9", &[]).await.status(), 303);

    // from "my loans", the report link; the form; the confirmation
    let home = app.page(&jo, "/").await;
    assert!(home.contains("/devices/LAP-9/report"));
    let r = report(
        &app,
        &jo,
        "LAP-9",
        &[
            ("kind", "loss"),
            ("description", "Left it on the coach"),
            ("place", "School trip coach"),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let path = incident_path(&r);
    let page = app.page(&jo, &format!("{path}?reported=1")).await;
    assert!(page.contains("Thank you. Your report is saved."));
    assert!(page.contains(
        "Possible personal data breach: not recorded as encrypted, and it may hold personal data."
    ));

    // the device is lost and its loan ended
    let device = app.device("LAP-9").await;
    assert_eq!(device.status.as_str(), "lost");
    assert!(app.store().open_loan(device.id).await.unwrap().is_none());
    let page = app.page(&jo, "/devices/LAP-9").await;
    assert!(page.contains("This device is recorded as lost."));

    // the manager: a count on every page, the list, and the desk with the deadline
    let devices = app.page(&sbm, "/devices").await;
    assert!(devices.contains("<span class=\"count\">1</span>"));
    let list = app.page(&sbm, "/notifications").await;
    assert!(list.contains("Loss of LAP-9 reported by Jo Test"));
    let desk = app.page(&sbm, "/").await;
    assert!(desk.contains("possible data breach waiting for a decision"));
    assert!(desk.contains("data protection decision due"));
    assert!(
        desk.contains("2 days 23 h left") || desk.contains("3 days 0 h left"),
        "72 hours from now"
    );

    // and the email, with the device, the reporter and where to find it
    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(
        mail.len(),
        1,
        "one email to the one manager with an address"
    );
    // quoted-printable: undo the soft line breaks
    let m = &mail[0]
        .replace("=\r\n", "")
        .replace("=\n", "")
        .replace("=3D", "=");
    assert!(m.contains("sbm@school.example"));
    assert!(m.contains("LAP-9"));
    assert!(m.contains("Jo Test"));
    // no public address is configured, so no link (mail_links.rs has the link)
    assert!(!m.contains(&path), "{m}");
    assert!(
        m.contains("Open Incidents in Kitroom and choose incident 1."),
        "the page to open, in words: {m}"
    );
}

/// An encrypted, verified laptop's loss would be treated as a breach, or the other way round.
#[tokio::test]
async fn the_breach_assessment_states_the_facts_on_record() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_device(
        &sbm,
        "LAP-1",
        "laptop",
        "Office",
        &[
            ("encryption_state", "encrypted"),
            ("encryption_method", "bitlocker"),
            ("encryption_verified_on", "2025-09-03"),
            ("holds_personal_data", "on"),
        ],
    )
    .await;
    let r = report(
        &app,
        &sbm,
        "LAP-1",
        &[
            ("kind", "theft"),
            ("description", "Taken from a car"),
            ("occurred_on", "2026-11-01"),
        ],
    )
    .await;
    let page = app.page(&sbm, &incident_path(&r)).await;
    assert!(page.contains("Low risk: encrypted with BitLocker, verified 3 Sep 2025."));
    assert!(!page.contains("Data protection decision due"));
    assert!(
        page.contains("Add the police reference"),
        "asked for again later"
    );
}

/// A report without what happened would be useless, and the typed words would be lost.
#[tokio::test]
async fn a_refused_report_keeps_what_was_typed() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, UNENCRYPTED_LAPTOP).await;
    let r = report(
        &app,
        &sbm,
        "LAP-9",
        &[("place", "Hall"), ("occurred_time", "half past")],
    )
    .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("Choose what happened: damage, loss or theft."));
    assert!(body.contains("Describe what happened, in a sentence or two."));
    assert!(body.contains("Write the time like 14:20"));
    assert!(body.contains("value=\"Hall\""));
    assert_eq!(app.device("LAP-9").await.status.as_str(), "available");
    // the report link finds a device by its tag, and says so when there is none
    let r = app.get(&sbm, "/report?tag=lap-9").await;
    assert_eq!(r.headers()["location"], "/devices/LAP-9/report");
    let r = app.get(&sbm, "/report?tag=NOPE").await;
    assert_eq!(r.status(), 404);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("No device has the tag “NOPE”"));
}

/// A breach deadline could pass unrecorded, or the device's status would not follow.
#[tokio::test]
async fn the_manager_decides_investigates_and_resolves_and_the_device_follows() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, UNENCRYPTED_LAPTOP).await;
    let r = report(
        &app,
        &sbm,
        "LAP-9",
        &[("kind", "loss"), ("description", "Cannot find it")],
    )
    .await;
    let path = incident_path(&r);
    let post = |action: &str, fields: &[(&str, &str)]| {
        let action = format!("{path}/{action}");
        let fields: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let (app, sbm, path) = (&app, &sbm, path.clone());
        async move {
            let f: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.submit(sbm, &path, &action, &f).await
        }
    };
    let r = post(
        "status",
        &[("status", "resolved"), ("resolution", "recovered")],
    )
    .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Record the data protection decision before resolving"));
    let r = post("decision", &[("reason", "")]).await;
    assert_eq!(r.status(), 422);
    let r = post(
        "decision",
        &[
            ("reportable", "no"),
            (
                "reason",
                "No personal data was on it: files are on the network",
            ),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        post(
            "status",
            &[
                ("status", "investigating"),
                ("note", "Asked the coach company")
            ]
        )
        .await
        .status(),
        303
    );
    let r = post(
        "status",
        &[("status", "resolved"), ("resolution", "repaired")],
    )
    .await;
    assert_eq!(
        r.status(),
        422,
        "a lost device is recovered or written off, not repaired"
    );
    let r = post(
        "status",
        &[
            ("status", "resolved"),
            ("resolution", "recovered"),
            ("cost", "0"),
            ("claim_reference", ""),
        ],
    )
    .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&sbm, &path).await;
    assert!(page.contains("Not reportable."));
    assert!(page.contains("Asked the coach company"));
    assert!(page.contains("Resolved"));
    assert_eq!(
        app.device("LAP-9").await.status.as_str(),
        "returned_charging"
    );

    // damage: the device is marked damaged, goes to repair, comes back repaired with a cost
    let r = report(
        &app,
        &sbm,
        "LAP-9",
        &[("kind", "damage"), ("description", "Cracked screen")],
    )
    .await;
    let damage = incident_path(&r);
    assert_eq!(
        app.device("LAP-9").await.details.condition.as_str(),
        "damaged"
    );
    app.submit(
        &sbm,
        "/devices/LAP-9",
        "/devices/LAP-9/status",
        &[("change", "send_to_repair")],
    )
    .await;
    let r = app
        .submit(
            &sbm,
            &damage,
            &format!("{damage}/status"),
            &[
                ("status", "resolved"),
                ("resolution", "repaired"),
                ("cost", "89.50"),
                ("claim_reference", "INS-77"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let d = app.device("LAP-9").await;
    assert_eq!(
        (d.status.as_str(), d.details.condition.as_str()),
        ("returned_charging", "good")
    );
    let page = app.page(&sbm, &damage).await;
    assert!(page.contains("£89.50") && page.contains("INS-77"));

    // a theft written off retires the device
    let r = report(
        &app,
        &sbm,
        "LAP-9",
        &[("kind", "theft"), ("description", "Stolen from the hall")],
    )
    .await;
    let theft = incident_path(&r);
    app.submit(
        &sbm,
        &theft,
        &format!("{theft}/decision"),
        &[("reportable", "yes"), ("reason", "Unencrypted, pupil data")],
    )
    .await;
    let r = app
        .submit(
            &sbm,
            &theft,
            &format!("{theft}/status"),
            &[
                ("status", "resolved"),
                ("resolution", "written_off"),
                ("confirm", "yes"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.device("LAP-9").await.status.as_str(), "retired");
    // the whole story is in the device's history
    let history = app.page(&sbm, "/devices/LAP-9").await;
    assert!(history.contains("Incident reported") && history.contains("Breach decision recorded"));
}

/// An email would be lost while the mail server is down, or after Kitroom restarts.
#[tokio::test]
async fn the_outbox_survives_an_smtp_outage_and_a_restart() {
    // a port with nothing listening on it: the mail server is down
    let down = SmtpSink::start().await;
    let url = down.url();
    let port = down.stop();
    let mut app = spawn_app_with_mail(&url, Duration::from_millis(100)).await;
    app.add_user_with_email("sbm", "manager", "sbm@school.example")
        .await;
    let sbm = app.client();
    app.login(&sbm, "sbm", kitroom_tests::PASSWORD).await;
    app.register_device(&sbm, UNENCRYPTED_LAPTOP).await;
    let r = report(
        &app,
        &sbm,
        "LAP-9",
        &[
            ("kind", "theft"),
            ("description", "Gone from the staff room"),
        ],
    )
    .await;
    assert_eq!(
        r.status(),
        303,
        "the report saves although email cannot be sent"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        app.store().unsent_emails().await.unwrap(),
        1,
        "still waiting in the outbox"
    );

    // Kitroom restarts while the mail server is still down, then the server comes back
    app.restart().await;
    let sink = SmtpSink::start_on(port).await;
    let mail = sink.wait_for(1, Duration::from_secs(15)).await;
    assert_eq!(mail.len(), 1);
    assert!(mail[0].contains("theft of LAP-9"));
    // the sender marks it sent just after the server accepts it
    let mut unsent = 1;
    for _ in 0..100 {
        unsent = app.store().unsent_emails().await.unwrap();
        if unsent == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(unsent, 0);
}

/// A script could not report a problem, or could not read the assessment.
#[tokio::test]
async fn the_api_reports_and_lists_incidents_with_their_assessment() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    let jo = app.api_token("jo", "borrower").await;
    app.api_post(
        &sbm,
        "/api/v1/devices",
        &json!({"tag": "CAM-1", "kind": "camera", "location": "Office", "captures_images": true}),
    )
    .await;
    let r = app
        .api_post(
            &jo,
            "/api/v1/devices/CAM-1/incidents",
            &json!({"kind": "loss"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["field"],
        "description"
    );
    let r = app.api_post(&jo, "/api/v1/devices/CAM-1/incidents", &json!({"kind": "loss", "occurred_at": "2026-11-20T10:00:00Z", "description": "Lost on the field trip"})).await;
    assert_eq!(r.status(), 201);
    let i: Value = r.json().await.unwrap();
    assert_eq!(i["breach_assessment"]["risk"], "possible");
    assert!(i["breach_assessment"]["reason"]
        .as_str()
        .unwrap()
        .contains("takes photos"));
    assert!(i["breach_assessment"]["decide_by"].is_string());
    let open: Value = app
        .api_get(&sbm, "/api/v1/incidents?status=open")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(open["total"], 1);
    assert_eq!(open["items"][0]["device"], "CAM-1");
    let r = app.api_get(&sbm, "/api/v1/incidents?status=lost").await;
    assert_eq!(r.status(), 422);
    // another borrower sees none of it
    let other = app.api_token("sam", "borrower").await;
    let theirs: Value = app
        .api_get(&other, "/api/v1/incidents")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(theirs["total"], 0);
    let mine: Value = app
        .api_get(&jo, "/api/v1/incidents")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
}

/// Software could be installed on a school device without the head teacher agreeing.
#[tokio::test]
async fn a_change_request_goes_to_the_head_and_the_answer_shows_on_the_device() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, UNENCRYPTED_LAPTOP).await;
    let jo = app.signed_in("jo", "borrower").await;
    let head = app.signed_in("head", "head").await;
    let r = app
        .submit(
            &jo,
            "/devices/LAP-9",
            "/devices/LAP-9/change-request",
            &[("what", "Scratch 3")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .submit(
            &jo,
            "/devices/LAP-9",
            "/devices/LAP-9/change-request",
            &[("what", "Scratch 3"), ("why", "Year 5 coding club")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get(&sbm, "/approvals").await.status(),
        403,
        "the head decides, not the manager"
    );
    let page = app.page(&head, "/approvals").await;
    assert!(page.contains("Scratch 3") && page.contains("Year 5 coding club"));
    let id = page
        .split("action=\"/changes/")
        .nth(1)
        .map(|s| s[..36].to_owned())
        .unwrap();
    let r = app
        .submit(
            &head,
            "/approvals",
            &format!("/changes/{id}"),
            &[
                ("decision", "approve"),
                ("note", "Fine for the club laptops"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let device = app.page(&jo, "/devices/LAP-9").await;
    assert!(device.contains("Approved") && device.contains("Fine for the club laptops"));
    assert!(device.contains("Change approved"), "the history shows it");
}
