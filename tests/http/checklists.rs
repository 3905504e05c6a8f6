//! Return checklists: per-kind questions on return; a "no" about damage opens a
//! damage report, pre-filled.

use kitroom_core::device::DeviceStatus;
use kitroom_store::incidents::IncidentFilter;
use kitroom_tests::spawn_app;

/// A cracked screen found on return would go unrecorded, or a checklist could be
/// skipped.
#[tokio::test]
async fn a_no_to_a_damage_question_on_return_opens_a_pre_filled_damage_report() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.set_checklist(
        &sbm,
        "ipad",
        "Charger returned?\nScreen undamaged? [damage]",
    )
    .await;
    app.add_device(&sbm, "IPAD-1", "ipad", "Library", &[]).await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    assert_eq!(app.check_out(&jo, "IPAD-1", &[]).await.status(), 303);
    let page = app.page(&jo, "/devices/IPAD-1").await;
    assert!(page.contains("Charger returned?") && page.contains("Screen undamaged?"));

    // every question must be answered
    let r = app
        .return_device(&jo, "IPAD-1", &[("on_charge", "on"), ("check.1", "yes")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Answer every question on the return checklist: “Charger returned?”"));
    assert_eq!(
        app.device("IPAD-1").await.status,
        DeviceStatus::OnLoan,
        "nothing was returned"
    );

    // a missing charger is not damage; a cracked screen is
    let r = app
        .return_device(
            &jo,
            "IPAD-1",
            &[("on_charge", "on"), ("check.0", "no"), ("check.1", "no")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    assert!(
        to.starts_with("/incidents/"),
        "the damage report opens: {to}"
    );
    let incidents = app
        .store()
        .list_incidents(
            kitroom_core::school::SchoolId::FIRST,
            &IncidentFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0].kind.as_str(), "damage");
    assert_eq!(
        incidents[0].description,
        "On return of IPAD-1, the return checklist found damage: “Screen undamaged?” — no."
    );
    let page = app.page(&jo, &to).await;
    assert!(page.contains("a damage report is open for it"), "{page}");
    let d = app.device("IPAD-1").await;
    assert_ne!(d.status, DeviceStatus::OnLoan, "and it is returned");
}

/// Saving one kind's checklist on the page would wipe the other kinds' questions
/// that the form did not send, where the API keeps them.
#[tokio::test]
async fn saving_one_kinds_checklist_keeps_the_others_on_the_page_as_through_the_api() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.set_checklist(&sbm, "ipad", "Charger returned?").await;
    app.set_checklist(
        &sbm,
        "laptop",
        "Charger returned?\nKeys all there? [damage]",
    )
    .await;
    let ipad = app
        .store()
        .checklist(
            kitroom_core::school::SchoolId::FIRST,
            kitroom_core::device::DeviceKind::Ipad,
        )
        .await
        .unwrap();
    assert_eq!(ipad.len(), 1, "the iPads keep their question");

    // a question that does not read is refused on the page as through the API
    let long = "x".repeat(121);
    let r = app
        .submit(
            &sbm,
            "/checklists",
            "/checklists",
            &[("checklist.ipad", &long)],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Line 1: a question must be 120 characters or fewer."),
        "{page}"
    );
    let token = app.token_for("sbm").await;
    let r = reqwest::Client::new()
        .put(app.url("/api/v1/checklists/ipad"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"questions": [long]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("Line 1: a question must be 120 characters or fewer."),
        "{problem}"
    );
}
