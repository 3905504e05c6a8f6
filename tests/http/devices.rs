//! The register through its pages: register, edit, find, change status.

use kitroom_tests::spawn_app;

const LAPTOP: &[(&str, &str)] = &[
    ("tag", "LAP-0042"),
    ("kind", "laptop"),
    ("make", "Dell"),
    ("model", "Latitude 5440"),
    ("serial", "SN-42-XYZ"),
    ("location", "Computer room"),
    ("encryption_state", "encrypted"),
    ("encryption_method", "bitlocker"),
    ("encryption_verified_on", "2025-09-03"),
    ("holds_personal_data", "on"),
    ("cost", "749.99"),
];

/// The business manager could not put a device on the register, or it would vanish on restart.
#[tokio::test]
async fn a_registered_device_is_shown_and_survives_a_restart() {
    let mut app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let r = app.register_device(&c, LAPTOP).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/devices/LAP-0042");
    let page = app.page(&c, "/devices/LAP-0042").await;
    assert!(page.contains("LAP-0042 is on the register."));
    assert!(page.contains("Latitude 5440"));
    assert!(page.contains("BitLocker"));
    assert!(
        page.contains("3 Sep 2025 by sbm"),
        "the verifier is recorded"
    );
    assert!(page.contains("£749.99"));
    assert!(
        page.contains("Registered"),
        "its history shows the registration"
    );
    app.restart().await;
    let c = app.client();
    assert_eq!(
        app.login(&c, "sbm", kitroom_tests::PASSWORD).await.status(),
        303
    );
    let page = app.get(&c, "/devices/lap-0042").await;
    assert_eq!(page.status(), 200, "tags are found whatever their case");
    assert!(page.text().await.unwrap().contains("SN-42-XYZ"));
}

/// A refused form would lose what the manager typed, or hide why it was refused.
#[tokio::test]
async fn a_refused_form_says_why_beside_each_field_and_keeps_the_input() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let r = app
        .register_device(
            &c,
            &[
                ("tag", ""),
                ("kind", "laptop"),
                ("make", "Dell"),
                ("cost", "lots"),
                ("location", "Library"),
                ("purchased_on", "31/02/2024"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("There is a problem"));
    assert!(body.contains("Enter the asset tag shown on the device"));
    assert!(body.contains("is not an amount of money"));
    assert!(body.contains("Purchase date must be a real date"));
    assert!(body.contains("value=\"Dell\""), "the make is kept");
    assert!(body.contains("value=\"Library\""), "the location is kept");
    assert!(
        body.contains("value=\"lots\""),
        "even the wrong cost is kept, to correct it"
    );
    assert_eq!(
        app.store()
            .count_by_status(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap()
            .len(),
        0,
        "nothing was written"
    );
}

/// Two devices could carry the same label, and scanning it would open the wrong one.
#[tokio::test]
async fn a_duplicate_tag_is_refused_on_the_form() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    assert_eq!(app.register_device(&c, LAPTOP).await.status(), 303);
    let r = app
        .register_device(
            &c,
            &[
                ("tag", "lap-0042"),
                ("kind", "ipad"),
                ("location", "Library"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("The asset tag LAP-0042 is already on another device (Dell Latitude 5440)")
    );
    assert!(body.contains("value=\"lap-0042\""));
}

/// Edits would be lost or go unrecorded.
#[tokio::test]
async fn editing_a_device_records_what_changed() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    app.register_device(&c, LAPTOP).await;
    let mut edited: Vec<(&str, &str)> = LAPTOP
        .iter()
        .filter(|(k, _)| *k != "model" && *k != "location")
        .copied()
        .collect();
    edited.push(("model", "Latitude 7440"));
    edited.push(("location", "Staff room"));
    let r = app
        .submit(
            &c,
            "/devices/LAP-0042/edit",
            "/devices/LAP-0042/edit",
            &edited,
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&c, "/devices/LAP-0042").await;
    assert!(page.contains("Latitude 7440"));
    assert!(page.contains("Staff room"));
    assert!(
        page.contains("Latitude 5440 → Latitude 7440"),
        "the history shows the change"
    );
    assert!(page.contains("Computer room → Staff room"));
}

/// The manager could not find a device among hundreds.
#[tokio::test]
async fn the_list_filters_and_searches() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    for (tag, kind, make, serial, enc) in [
        ("IPAD-001", "ipad", "Apple", "DMPX1", "unknown"),
        ("IPAD-002", "ipad", "Apple", "DMPX2", "unknown"),
        ("CB-001", "chromebook", "Lenovo", "PF3ABC", "not_encrypted"),
        ("LAP-001", "laptop", "Dell", "7HX2", "unknown"),
    ] {
        let r = app
            .register_device(
                &c,
                &[
                    ("tag", tag),
                    ("kind", kind),
                    ("make", make),
                    ("serial", serial),
                    ("location", "Library"),
                    ("encryption_state", enc),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "{tag}");
    }
    let list = |q: &'static str| {
        let c = c.clone();
        let url = app.url(&format!("/devices?{q}"));
        async move { c.get(url).send().await.unwrap().text().await.unwrap() }
    };
    let all = list("").await;
    assert!(all.contains("Showing 1–4 of 4 devices"));
    let ipads = list("kind=ipad").await;
    assert!(ipads.contains("IPAD-001") && ipads.contains("IPAD-002") && !ipads.contains("CB-001"));
    let by_serial = list("q=pf3a").await;
    assert!(by_serial.contains("CB-001") && !by_serial.contains("IPAD-001"));
    let by_make = list("q=dell").await;
    assert!(by_make.contains("LAP-001") && !by_make.contains("CB-001"));
    let unencrypted = list("encryption=not_encrypted").await;
    assert!(unencrypted.contains("CB-001") && !unencrypted.contains("LAP-001"));
    let none = list("q=zzz").await;
    assert!(none.contains("No device matches these filters"));
    let bad = app.get(&c, "/devices?page=abc").await;
    assert_eq!(
        bad.status(),
        400,
        "a malformed page number is a clear 4xx, not a 500"
    );
}

/// A device sent for repair would still show as available to borrow.
#[tokio::test]
async fn a_manager_moves_a_device_through_its_statuses() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    app.register_device(&c, LAPTOP).await;
    let r = app
        .submit(
            &c,
            "/devices/LAP-0042",
            "/devices/LAP-0042/status",
            &[("change", "send_to_repair"), ("note", "Cracked screen")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&c, "/devices/LAP-0042").await;
    assert!(page.contains("LAP-0042 is now in repair."));
    assert!(page.contains("Cracked screen"));
    // an illegal move is refused in words, and changes nothing
    let r = app
        .submit(
            &c,
            "/devices/LAP-0042",
            "/devices/LAP-0042/status",
            &[("change", "mark_ready")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("This device is in repair, so it cannot be marked ready."));
    // checking out is done through a loan, never by hand
    let r = app
        .submit(
            &c,
            "/devices/LAP-0042",
            "/devices/LAP-0042/status",
            &[("change", "check_out")],
        )
        .await;
    assert_eq!(r.status(), 400);
}

/// The QR label would open nothing.
#[tokio::test]
async fn the_label_address_opens_the_device_page() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    app.register_device(&c, LAPTOP).await;
    let r = app.get(&c, "/d/LAP-0042").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/devices/LAP-0042");
    assert_eq!(app.get(&c, "/devices/NOPE-1").await.status(), 404);
}

/// Rooms could not be named, or a rename would create a duplicate.
#[tokio::test]
async fn locations_are_added_and_renamed_without_duplicates() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    assert_eq!(
        app.submit(&c, "/locations", "/locations", &[("name", "Library")])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.submit(&c, "/locations", "/locations", &[("name", "Computer room")])
            .await
            .status(),
        303
    );
    let r = app
        .submit(&c, "/locations", "/locations", &[("name", "library")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("There is already a location called"));
    let id = app.location("Library").await.id;
    let r = app
        .submit(
            &c,
            "/locations",
            &format!("/locations/{id}/rename"),
            &[("name", "Computer Room")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .submit(
            &c,
            "/locations",
            &format!("/locations/{id}/rename"),
            &[("name", "School library")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&c, "/locations").await;
    assert!(page.contains("School library"));
}

/// A tampered activity log would go unnoticed.
#[tokio::test]
async fn kitroom_check_passes_and_then_names_an_altered_event() {
    let mut app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    app.register_device(&c, LAPTOP).await;
    let dir = app.dir.path().to_owned();
    let db = app.store().path().to_owned();
    app.stop().await;
    let mut out = Vec::new();
    let code = kitroom::cli::check(&dir, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{text}");
    assert!(text.contains("hash chain intact"));
    assert!(
        text.contains("latest event: "),
        "the head of the chain is printed to keep elsewhere"
    );
    // someone edits the database by hand
    let seq = edit_event_behind_kitrooms_back(&db).await;
    let mut out = Vec::new();
    let code = kitroom::cli::check(&dir, &mut out).await.unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(code, std::process::ExitCode::from(1));
    assert!(
        text.contains(&format!("event {seq} has been altered")),
        "{text}"
    );
}

/// Edits the device's registration event behind Kitroom's back, as someone with the
/// database file might, and returns its sequence number.
async fn edit_event_behind_kitrooms_back(db: &std::path::Path) -> i64 {
    use sqlx::Connection;
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    let seq: i64 = sqlx::query_scalar("select seq from event where action = 'device.registered'")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    sqlx::query("drop trigger event_no_update")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("update event set details = replace(details, 'Dell', 'Acer') where seq = ?")
        .bind(seq)
        .execute(&mut conn)
        .await
        .unwrap();
    conn.close().await.unwrap();
    seq
}
