//! Loans through the API alone: the same command as the device's page, so the same
//! rules, the same refusals and the same events.

use kitroom_core::device::DeviceStatus;
use kitroom_store::incidents::IncidentFilter;
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::{json, Value};

/// A manager with an iPad checklist and two chargers; Jo has signed and has a token.
async fn school(app: &TestApp) -> (Client, String) {
    let sbm = app.signed_in("sbm", "manager").await;
    app.set_checklist(
        &sbm,
        "ipad",
        "Charger returned?\nScreen undamaged? [damage]",
    )
    .await;
    app.add_accessory(&sbm, "USB-C charger", ("ICT room", "+2", "New"))
        .await;
    let r = app
        .register_device(
            &sbm,
            &[("tag", "IPAD-1"), ("kind", "ipad"), ("location", "Library")],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    let token = app.token_for("jo").await;
    (sbm, token)
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.api_post_json(token, path, &body).await
}

async fn actions(app: &TestApp) -> Vec<String> {
    app.store()
        .events_after(kitroom_core::school::SchoolId::FIRST, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.action)
        .collect()
}

/// A check-out and a return find the device inside the write: a tag no device has
/// is still "not found" for both, before any other problem with the request (an
/// accessory nobody lists, a battery level over 100), and nothing is written.
#[tokio::test]
async fn a_check_out_or_return_of_a_tag_no_device_has_is_not_found_and_writes_nothing() {
    let app = spawn_app().await;
    let (_, token) = school(&app).await;
    let before = actions(&app).await;
    for (path, body) in [
        (
            "/api/v1/devices/NOPE-1/checkout",
            json!({"purpose": "Lesson"}),
        ),
        (
            "/api/v1/devices/NOPE-1/checkout",
            json!({"accessories": [{"name": "Laser pointer", "count": 1}]}),
        ),
        (
            "/api/v1/devices/NOPE-1/return",
            json!({"battery_percent": 80, "on_charge": true}),
        ),
        (
            "/api/v1/devices/NOPE-1/return",
            json!({"battery_percent": 180}),
        ),
    ] {
        let (status, problem) = post(&app, &token, path, body).await;
        assert_eq!(status, 404, "{path}: {problem}");
        assert_eq!(
            problem["type"], "urn:kitroom:problem:not-found",
            "{problem}"
        );
    }
    assert_eq!(actions(&app).await, before);
}

/// A script returning an iPad could skip the return checklist the page insists on,
/// and a cracked screen reported there would open no damage report; the chargers
/// lent with it would be recorded as lost whatever the script said.
#[tokio::test]
async fn the_apis_return_asks_the_same_checklist_and_counts_the_same_accessories_as_the_page() {
    let app = spawn_app().await;
    let (_, token) = school(&app).await;
    let (status, loan) = post(
        &app,
        &token,
        "/api/v1/devices/IPAD-1/checkout",
        json!({"accessories": [{"name": "USB-C charger", "count": 2}]}),
    )
    .await;
    assert_eq!(status, 201, "{loan}");

    // unanswered: refused, naming the question, and nothing changes
    let (status, problem) = post(
        &app,
        &token,
        "/api/v1/devices/IPAD-1/return",
        json!({"on_charge": true}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["type"], "urn:kitroom:problem:checklist-unanswered",
        "{problem}"
    );
    assert!(problem["detail"]
        .as_str()
        .unwrap()
        .contains("“Charger returned?”"));
    let device = app.device("IPAD-1").await;
    assert_eq!(device.status, DeviceStatus::OnLoan, "nothing was returned");

    // a field the return does not know is refused, not ignored
    let (status, problem) = post(
        &app,
        &token,
        "/api/v1/devices/IPAD-1/return",
        json!({"on_charge": true, "checklist": [true, true], "chargers": 2}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert!(problem["detail"].as_str().unwrap().contains("chargers"));

    // a cracked screen opens a damage report; one charger of two came back
    let (status, loan) = post(
        &app,
        &token,
        "/api/v1/devices/IPAD-1/return",
        json!({"on_charge": true, "checklist": [true, false],
               "accessories": [{"name": "usb-c charger", "count": 1}]}),
    )
    .await;
    assert_eq!(status, 200, "{loan}");
    assert!(loan["returned_at"].is_string());
    assert!(loan["damage_report"].is_string(), "{loan}");
    assert_eq!(
        loan["accessories"],
        json!([{"name": "USB-C charger", "from": "ICT room", "out": 2, "back": 1}])
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
    assert!(incidents[0].description.contains("Screen undamaged?"));
    let missing = app
        .store()
        .accessories_not_returned(kitroom_core::school::SchoolId::FIRST, None, None)
        .await
        .unwrap();
    assert_eq!(
        missing.len(),
        1,
        "the charger not returned shows on the desk"
    );
    assert_eq!(missing[0].missing, 1);

    // the same events as a return from the page
    let log = actions(&app).await;
    for action in [
        "loan.checked_out",
        "accessory.lent",
        "loan.returned",
        "loan.checklist",
        "incident.reported",
    ] {
        assert!(log.iter().any(|a| a == action), "{action} in {log:?}");
    }
}

/// A script checking out for someone who has not signed the policy is told which
/// rule refused it, in the same words the manager's page uses.
#[tokio::test]
async fn a_check_out_refused_for_an_unsigned_policy_reads_the_same_on_the_api_as_on_the_page() {
    let app = spawn_app().await;
    let (sbm, _) = school(&app).await;
    app.add_user("sam", "borrower").await;
    let manager = app.api_token("mgr", "manager").await;
    let (status, problem) = post(
        &app,
        &manager,
        "/api/v1/devices/IPAD-1/checkout",
        json!({"borrower": "sam"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "urn:kitroom:problem:policy-not-signed");
    let api_words = problem["detail"].as_str().unwrap().to_owned();
    assert!(api_words.contains("has not signed"), "{api_words}");

    let r = app.check_out(&sbm, "IPAD-1", &[("borrower", "sam")]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&api_words.replace('\'', "&#39;"))
            || page.contains(&api_words.replace('\'', "&apos;"))
            || page.contains(&api_words),
        "the page says what the API says: {api_words}"
    );
    assert!(
        !actions(&app).await.iter().any(|a| a == "loan.checked_out"),
        "nothing was lent"
    );
}

/// A check-out's and a return's answers are built from what was written rather
/// than read back: if they drifted from the loan as stored, a script would keep
/// a different loan (another issuer, a location spelt differently, a time a
/// fraction off) from the one the register shows.
#[tokio::test]
async fn the_answers_to_a_check_out_and_a_return_are_the_loan_as_stored() {
    let app = spawn_app().await;
    let (_, _) = school(&app).await;
    let manager = app.token_for("sbm").await;
    let (status, out) = post(
        &app,
        &manager,
        "/api/v1/devices/ipad-1/checkout",
        json!({"borrower": "jo", "purpose": "Year 9 trip",
               "accessories": [{"name": "USB-C charger", "count": 1}]}),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["issued_by"], "sbm", "{out}");
    assert_eq!(out, jos_loan_as_stored(&app, &manager).await);

    // Returned by the manager to the library typed in another case: the stored
    // location's own name, and who received it.
    let (status, back) = post(
        &app,
        &manager,
        "/api/v1/devices/IPAD-1/return",
        json!({"location": "library", "battery_percent": 80, "on_charge": true,
               "checklist": [true, true], "accessories": [{"name": "USB-C charger", "count": 1}]}),
    )
    .await;
    assert_eq!(status, 200, "{back}");
    assert_eq!(back["location"], "Library", "{back}");
    assert_eq!(back["received_by"], "sbm", "{back}");
    assert_eq!(back, jos_loan_as_stored(&app, &manager).await);
}

async fn jos_loan_as_stored(app: &TestApp, token: &str) -> Value {
    let (status, list) = app.api_get_json(token, "/api/v1/loans?borrower=jo").await;
    assert_eq!(status, 200, "{list}");
    list["items"][0].clone()
}
