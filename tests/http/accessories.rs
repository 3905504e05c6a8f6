//! Accessories: chargers and cables counted per place, lent with a loan or a set
//! and counted back; one not returned shows on the loan and on the manager's desk.

use kitroom_core::device::DeviceStatus;
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;

async fn text(c: &Client, app: &TestApp, path: &str) -> String {
    app.page(c, path).await
}

/// The charger count in the ICT room, and its stock row's id.
async fn chargers(app: &TestApp) -> (i64, i64) {
    let all = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    let s = &all[0].stock[0];
    (s.count, s.id)
}

/// The accessories lent with a device's open loan: (row id, count out).
async fn lent_with(app: &TestApp, tag: &str) -> Vec<(i64, i64)> {
    let d = app.device(tag).await;
    let loan = app.store().open_loan(d.id).await.unwrap().unwrap();
    app.store()
        .accessories_lent(Some(loan.id), None)
        .await
        .unwrap()
        .into_iter()
        .map(|l| (l.id, l.count_out))
        .collect()
}

/// A manager with two USB-C chargers in the ICT room and a laptop; Jo has signed.
async fn school(app: &TestApp) -> (Client, Client) {
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_accessory(&sbm, "USB-C charger", ("ICT room", "+2", "New delivery"))
        .await;
    app.add_device(&sbm, "LAP-1", "laptop", "Library", &[])
        .await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    (sbm, jo)
}

/// The business manager could not tell how many chargers are left, or a count
/// could fall below none.
#[tokio::test]
async fn a_manager_counts_chargers_per_place_and_a_count_cannot_go_below_none() {
    let app = spawn_app().await;
    let (sbm, _jo) = school(&app).await;
    let page = text(&sbm, &app, "/accessories").await;
    assert!(
        page.contains("USB-C charger") && page.contains("ICT room"),
        "{page}"
    );
    assert_eq!(chargers(&app).await.0, 2);

    let id = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()[0]
        .id;
    let r = app
        .submit(
            &sbm,
            "/accessories",
            &format!("/accessories/{id}/adjust"),
            &[
                ("location", "ICT room"),
                ("change", "-5"),
                ("reason", "Counted again"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(
            "The ICT room has 2 × USB-C charger: taking away 5 would leave fewer than none."
        ),
        "{body}"
    );
    assert!(
        body.contains(r#"value="-5""#),
        "the change is kept on the form"
    );
    assert_eq!(chargers(&app).await.0, 2, "nothing changed");

    // a change needs a reason
    let r = app
        .submit(
            &sbm,
            "/accessories",
            &format!("/accessories/{id}/adjust"),
            &[("location", "ICT room"), ("change", "-1")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert_eq!(chargers(&app).await.0, 2);

    let log = text(&sbm, &app, "/log").await;
    assert!(
        log.contains("Accessory count changed"),
        "each change is in the activity log"
    );
}

/// A charger lent with a laptop would vanish from the count, or one not brought
/// back would go unnoticed.
#[tokio::test]
async fn a_charger_goes_out_with_a_loan_and_one_not_returned_shows_on_the_desk() {
    let app = spawn_app().await;
    let (sbm, jo) = school(&app).await;
    let (_, stock) = chargers(&app).await;
    let stock = stock.to_string();

    let page = text(&jo, &app, "/devices/LAP-1").await;
    assert!(page.contains("Also taking") && page.contains("USB-C charger — ICT room (2 left)"));

    // asking for more than there are is refused, kept on the form, and nothing is lent
    let r = app
        .check_out(&jo, "LAP-1", &[("also", &stock), ("also_count", "3")])
        .await;
    assert_eq!(r.status(), 409);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("Only 2 × USB-C charger left in the ICT room, so 3 cannot go out."),
        "{body}"
    );
    assert!(body.contains(r#"value="3""#), "the count is kept");
    let d = app.device("LAP-1").await;
    assert_eq!(d.status, DeviceStatus::Available, "no half-made loan");
    assert_eq!(chargers(&app).await.0, 2);

    // one charger goes out and comes back
    let r = app
        .check_out(&jo, "LAP-1", &[("also", &stock), ("also_count", "1")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(chargers(&app).await.0, 1);
    let page = text(&jo, &app, "/devices/LAP-1").await;
    assert!(page.contains("Also taken: 1 × USB-C charger"), "{page}");
    assert!(page.contains("1 went out"), "the return form lists it");
    let lent = lent_with(&app, "LAP-1").await;
    assert_eq!(lent.len(), 1);
    // the API's loan shows it too
    let token = app.token_for("jo").await;
    let loans: serde_json::Value = reqwest::Client::new()
        .get(app.url("/api/v1/loans"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let a = &loans["items"][0]["accessories"][0];
    assert_eq!(a["name"], "USB-C charger");
    assert_eq!(a["out"], 1);
    assert!(a["back"].is_null());
    let field = format!("acc_back.{}", lent[0].0);

    // more back than went out is refused and nothing is returned
    let r = app
        .return_device(&jo, "LAP-1", &[("on_charge", "on"), (&field, "2")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("1 × USB-C charger went out, so at most 1 can come back."));
    let d = app.device("LAP-1").await;
    assert_eq!(d.status, DeviceStatus::OnLoan);

    let r = app
        .return_device(&jo, "LAP-1", &[("on_charge", "on"), (&field, "1")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        chargers(&app).await.0,
        2,
        "the charger is back in the count"
    );
    assert!(!text(&sbm, &app, "/")
        .await
        .contains("Accessories not returned"));

    // the next time it does not come back
    let mut d = app.device("LAP-1").await;
    if d.status != DeviceStatus::Available {
        let r = app
            .submit(
                &sbm,
                "/devices/LAP-1",
                "/devices/LAP-1/status",
                &[("change", "mark_ready")],
            )
            .await;
        assert_eq!(r.status(), 303, "charged");
        d = app.device("LAP-1").await;
    }
    assert_eq!(d.status, DeviceStatus::Available);
    let r = app
        .check_out(&jo, "LAP-1", &[("also", &stock), ("also_count", "1")])
        .await;
    assert_eq!(r.status(), 303);
    let field = format!("acc_back.{}", lent_with(&app, "LAP-1").await[0].0);
    let r = app
        .return_device(&jo, "LAP-1", &[("on_charge", "on"), (&field, "0")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(chargers(&app).await.0, 1);
    let desk = text(&sbm, &app, "/").await;
    assert!(desk.contains("Accessories not returned"), "{desk}");
    assert!(desk.contains("1 × USB-C charger lent with"));
    let mine = text(&jo, &app, "/").await;
    assert!(mine.contains("Accessories you have not returned"));
    let device = text(&sbm, &app, "/devices/LAP-1").await;
    assert!(device.contains("Accessories not returned with this device"));

    // it turns up: back in the count and off the desk
    let lent = app
        .store()
        .accessories_not_returned(kitroom_core::school::SchoolId::FIRST, None, None)
        .await
        .unwrap();
    let r = app
        .submit(
            &sbm,
            "/",
            &format!("/accessories/lent/{}/found", lent[0].id),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(chargers(&app).await.0, 2);
    assert!(!text(&sbm, &app, "/")
        .await
        .contains("Accessories not returned"));
    assert!(!text(&jo, &app, "/")
        .await
        .contains("Accessories you have not returned"));
}

/// A trolley's chargers would not be counted out and back with the set.
#[tokio::test]
async fn a_charger_goes_out_with_a_set_and_comes_back() {
    let app = spawn_app().await;
    let (sbm, jo) = school(&app).await;
    let (_, stock) = chargers(&app).await;
    let r = app
        .submit(&sbm, "/sets", "/sets", &[("name", "Laptop set")])
        .await;
    assert_eq!(r.status(), 303);
    let set = r.headers()["location"].to_str().unwrap().to_owned();
    let r = app
        .submit(&sbm, &set, &format!("{set}/devices"), &[("tag", "LAP-1")])
        .await;
    assert_eq!(r.status(), 303);
    let stock = stock.to_string();
    // more than there are refuses the whole set: nothing goes out
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/checkout"),
            &[("also", &stock), ("also_count", "3")],
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Only 2 × USB-C charger left"));
    assert!(app
        .store()
        .kit_by_name(kitroom_core::school::SchoolId::FIRST, "Laptop set")
        .await
        .unwrap()
        .unwrap()
        .open
        .is_none());
    let d = app.device("LAP-1").await;
    assert_eq!(d.status, DeviceStatus::Available, "no half-made set loan");
    assert_eq!(chargers(&app).await.0, 2);
    let stock = stock.to_string();
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/checkout"),
            &[("also", &stock), ("also_count", "2")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(chargers(&app).await.0, 0);
    let page = text(&jo, &app, &set).await;
    assert!(page.contains("Also taken: 2 × USB-C charger"), "{page}");
    let group = app
        .store()
        .kit_by_name(kitroom_core::school::SchoolId::FIRST, "Laptop set")
        .await
        .unwrap()
        .unwrap()
        .open
        .unwrap();
    let lent = app
        .store()
        .accessories_lent(None, Some(group.id))
        .await
        .unwrap();
    let field = format!("acc_back.{}", lent[0].id);
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/return"),
            &[("back", "LAP-1"), ("on_charge", "on"), (&field, "2")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(chargers(&app).await.0, 2);
    assert!(!text(&sbm, &app, "/")
        .await
        .contains("Accessories not returned"));
}

/// Books `what` (`{"device": …}` or `{"set": …}`) for the hour from now with Jo's
/// token and returns the booking's id.
async fn book_now(app: &TestApp, token: &str, what: serde_json::Value) -> String {
    let now = chrono::Utc::now();
    let mut body = what;
    body["starts_at"] = serde_json::json!(now);
    body["ends_at"] = serde_json::json!(now + chrono::Duration::hours(1));
    let r = Client::new()
        .post(app.url("/api/v1/bookings"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let b: serde_json::Value = r.json().await.unwrap();
    b["id"].as_str().unwrap().to_owned()
}

async fn booking_status(app: &TestApp, id: &str) -> &'static str {
    app.store()
        .booking(kitroom_core::school::SchoolId::FIRST, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap()
        .status
        .as_str()
}

/// A teacher collecting a booked laptop could not take its charger with it, or
/// asking for more chargers than there are would lend the laptop without them.
#[tokio::test]
async fn chargers_go_out_when_a_booking_is_collected_and_too_many_refuse_the_collection() {
    let app = spawn_app().await;
    let (_sbm, jo) = school(&app).await;
    let token = app.token_for("jo").await;
    let id = book_now(&app, &token, serde_json::json!({"device": "LAP-1"})).await;
    let (_, stock) = chargers(&app).await;
    let stock = stock.to_string();
    let home = text(&jo, &app, "/").await;
    assert!(
        home.contains(&format!("href=\"/bookings/{id}/collect\"")),
        "Home offers collecting with accessories"
    );
    let page = text(&jo, &app, &format!("/bookings/{id}/collect")).await;
    assert!(page.contains("Also taking"), "{page}");
    assert!(page.contains("USB-C charger — ICT room (2 left)"), "{page}");

    let path = format!("/bookings/{id}/collect");
    let r = app
        .submit(&jo, &path, &path, &[("also", &stock), ("also_count", "3")])
        .await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(page.contains("Only 2 × USB-C charger left"), "{page}");
    assert!(page.contains("value=\"3\""), "the count typed is kept");
    assert_eq!(chargers(&app).await.0, 2, "no charger went");
    assert_eq!(booking_status(&app, &id).await, "booked", "nor the laptop");
    let d = app.device("LAP-1").await;
    assert_eq!(d.status, DeviceStatus::Available);

    let r = app
        .submit(&jo, &path, &path, &[("also", &stock), ("also_count", "2")])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(booking_status(&app, &id).await, "collected");
    assert_eq!(chargers(&app).await.0, 0);
    assert_eq!(
        lent_with(&app, "LAP-1")
            .await
            .iter()
            .map(|l| l.1)
            .collect::<Vec<_>>(),
        vec![2]
    );
}

/// A script or app using the API could not lend chargers with a device, a set or a
/// collected booking, or a short count would lend the device without them.
#[tokio::test]
async fn the_api_lends_accessories_with_a_device_a_set_and_a_collected_booking() {
    let app = spawn_app().await;
    let (sbm, _jo) = school(&app).await;
    let token = app.token_for("jo").await;
    let api = Client::new();
    let post = |path: &str, body: serde_json::Value| {
        api.post(app.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    // a device: too many is refused whole, naming the accessory
    let r = post(
        "/api/v1/devices/LAP-1/checkout",
        serde_json::json!({"accessories": [{"type": "usb-c charger", "quantity": 3}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
    let p: serde_json::Value = r.json().await.unwrap();
    assert!(
        p["detail"]
            .as_str()
            .unwrap()
            .contains("Only 2 × USB-C charger left"),
        "{p}"
    );
    assert_eq!(chargers(&app).await.0, 2);
    let d = app.device("LAP-1").await;
    assert_eq!(d.status, DeviceStatus::Available, "the laptop did not go");
    let r = post(
        "/api/v1/devices/LAP-1/checkout",
        serde_json::json!({"accessories": [{"name": "Mouse", "count": 1}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("No accessory in use is called “Mouse”"));
    let r = post(
        "/api/v1/devices/LAP-1/checkout",
        serde_json::json!({"accessories": [{"name": "USB-C charger", "count": 1}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let loan: serde_json::Value = r.json().await.unwrap();
    assert_eq!(
        loan["accessories"],
        serde_json::json!([{"name": "USB-C charger", "from": "ICT room", "out": 1, "back": null}])
    );
    assert_eq!(chargers(&app).await.0, 1);

    // a set: the same, and the set's loan lists them
    for tag in ["LAP-2", "LAP-3"] {
        app.add_device(&sbm, tag, "laptop", "Library", &[]).await;
    }
    let r = app
        .submit(&sbm, "/sets", "/sets", &[("name", "Laptop set")])
        .await;
    let set = r.headers()["location"].to_str().unwrap().to_owned();
    let r = app
        .submit(&sbm, &set, &format!("{set}/devices"), &[("tag", "LAP-2")])
        .await;
    assert_eq!(r.status(), 303);
    let api_set = format!("/api/v1{set}");
    let r = post(
        &format!("{api_set}/checkout"),
        serde_json::json!({"accessories": [{"name": "USB-C charger", "from": "ICT room", "count": 2}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(chargers(&app).await.0, 1);
    let s: serde_json::Value = app.api_get(&token, &api_set).await.json().await.unwrap();
    assert!(s["set_loan"].is_null(), "the set did not go: {s}");
    let r = post(
        &format!("{api_set}/checkout"),
        serde_json::json!({"accessories": [{"name": "USB-C charger", "count": 1}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let g: serde_json::Value = r.json().await.unwrap();
    assert_eq!(g["accessories"][0]["out"], 1, "{g}");
    let s: serde_json::Value = app.api_get(&token, &api_set).await.json().await.unwrap();
    assert_eq!(
        s["set_loan"]["accessories"],
        serde_json::json!([{"name": "USB-C charger", "from": "ICT room", "out": 1, "back": null}]),
        "{s}"
    );
    assert_eq!(chargers(&app).await.0, 0);

    // a booking collected: three more chargers arrive; five are too many
    let id = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()[0]
        .id;
    app.count_accessory(&sbm, id, ("ICT room", "+3", "New delivery"))
        .await;
    let booking = book_now(&app, &token, serde_json::json!({"device": "LAP-3"})).await;
    let collect = format!("/api/v1/bookings/{booking}/collect");
    let r = post(
        &collect,
        serde_json::json!({"accessories": [{"name": "USB-C charger", "count": 5}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(booking_status(&app, &booking).await, "booked");
    assert_eq!(chargers(&app).await.0, 3);
    let r = post(
        &collect,
        serde_json::json!({"accessories": [{"name": "USB-C charger", "count": 2}]}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 200);
    let done: serde_json::Value = r.json().await.unwrap();
    assert_eq!(done["status"], "collected");
    assert_eq!(done["loans"][0]["accessories"][0]["out"], 2, "{done}");
    assert_eq!(chargers(&app).await.0, 1);
}

/// The business manager could not fix a misspelt accessory, or a retired charger
/// would still be offered with loans, or retiring it would hide chargers still out.
#[tokio::test]
async fn a_manager_renames_and_retires_an_accessory_type_and_its_history_stays() {
    let app = spawn_app().await;
    let (sbm, jo) = school(&app).await;
    let id = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()[0]
        .id;
    let (_, stock) = chargers(&app).await;
    let stock = stock.to_string();
    // one goes out and does not come back
    let r = app
        .check_out(&jo, "LAP-1", &[("also", &stock), ("also_count", "1")])
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .return_device(&sbm, "LAP-1", &[("on_charge", "on")])
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(
            &sbm,
            "/devices/LAP-1",
            "/devices/LAP-1/status",
            &[("change", "mark_ready")],
        )
        .await;
    assert_eq!(r.status(), 303, "charged");

    // renamed: a duplicate name is refused with the name kept; the new name shows everywhere
    let r = app
        .submit(
            &sbm,
            "/accessories",
            "/accessories",
            &[("name", "HDMI cable")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let rename = format!("/accessories/{id}/rename");
    let r = app
        .submit(&sbm, "/accessories", &rename, &[("rename", "hdmi cable")])
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("There is already an accessory called hdmi cable"),
        "{page}"
    );
    assert!(
        page.contains("value=\"hdmi cable\""),
        "the name typed is kept"
    );
    let r = app
        .submit(
            &sbm,
            "/accessories",
            &rename,
            &[("rename", "USB-C charger 65W")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(
        text(&sbm, &app, "/").await.contains("USB-C charger 65W"),
        "the desk's not-returned list uses the new name"
    );

    // retired: no longer offered with a loan, but its count and the one not returned stay
    let r = app
        .submit(
            &sbm,
            "/accessories",
            &format!("/accessories/{id}/retire"),
            &[("retired", "yes")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = text(&sbm, &app, "/accessories").await;
    assert!(
        page.contains("USB-C charger 65W <span class=\"badge\">Retired</span>"),
        "{page}"
    );
    assert!(page.contains("Put back in use"));
    let device = text(&jo, &app, "/devices/LAP-1").await;
    assert!(
        !device.contains("USB-C charger 65W —"),
        "not offered: {device}"
    );
    let desk = text(&sbm, &app, "/").await;
    assert!(
        desk.contains("Accessories not returned") && desk.contains("USB-C charger 65W"),
        "{desk}"
    );
    // a form sent with the retired stock row is refused, nothing lent
    let r = app
        .check_out(&jo, "LAP-1", &[("also", &stock), ("also_count", "1")])
        .await;
    assert_eq!(r.status(), 409);
    let page = r.text().await.unwrap();
    assert!(page.contains("no longer lent"), "{page}");
    let d = app.device("LAP-1").await;
    assert!(app.store().open_loan(d.id).await.unwrap().is_none());
    assert_eq!(
        chargers_named(&app, "USB-C charger 65W").await,
        1,
        "the count stays"
    );
    // and through the API
    let token = app.token_for("jo").await;
    let r = Client::new()
        .post(app.url("/api/v1/devices/LAP-1/checkout"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"accessories": [{"name": "USB-C charger 65W", "count": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);

    // the activity log has each change
    let log = text(&sbm, &app, "/log").await;
    for action in ["Accessory type renamed", "Accessory type retired"] {
        assert!(log.contains(action), "{action} in the log");
    }
    // and it can be put back in use
    let r = app
        .submit(
            &sbm,
            "/accessories",
            &format!("/accessories/{id}/retire"),
            &[("retired", "no")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(text(&jo, &app, "/devices/LAP-1")
        .await
        .contains("USB-C charger 65W — ICT room (1 left)"));
}

/// The count of a type, by name, across every place.
async fn chargers_named(app: &TestApp, name: &str) -> i64 {
    app.store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()
        .iter()
        .filter(|a| a.name == name)
        .flat_map(|a| a.stock.iter().map(|s| s.count))
        .sum()
}

/// Collecting "any 1 laptop" with a charger would lose the charger's record.
#[tokio::test]
async fn accessories_collected_with_any_n_of_a_kind_go_with_the_first_devices_loan() {
    let app = spawn_app().await;
    let (_sbm, _jo) = school(&app).await;
    let token = app.token_for("jo").await;
    let id = book_now(
        &app,
        &token,
        serde_json::json!({"kind": "laptop", "count": 1}),
    )
    .await;
    let r = Client::new()
        .post(app.url(&format!("/api/v1/bookings/{id}/collect")))
        .bearer_auth(&token)
        .json(&serde_json::json!({"accessories": [{"name": "USB-C charger", "count": 1}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let done: serde_json::Value = r.json().await.unwrap();
    assert_eq!(done["loans"][0]["device"], "LAP-1", "{done}");
    assert_eq!(done["loans"][0]["accessories"][0]["out"], 1, "{done}");
    assert_eq!(lent_with(&app, "LAP-1").await.len(), 1);
    assert_eq!(chargers(&app).await.0, 1);
}

/// A manager renaming a charger to a name already taken would be told one thing
/// on the page and another by the API (the API's problem named a `rename` field
/// its body does not have), so a script could not show the problem beside the name.
#[tokio::test]
async fn a_clashing_rename_is_refused_alike_on_the_page_and_through_the_api() {
    let app = spawn_app().await;
    let (sbm, _jo) = school(&app).await;
    app.add_accessory(&sbm, "HDMI cable", ("ICT room", "+1", "New delivery"))
        .await;
    let all = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    assert_eq!(all[1].name, "USB-C charger", "listed by name");
    let id = all[1].id;
    let said = "There is already an accessory called hdmi cable. Choose another name.";

    let r = app
        .submit(
            &sbm,
            "/accessories",
            &format!("/accessories/{id}/rename"),
            &[("rename", "hdmi cable")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains(said), "{page}");
    assert!(
        page.contains("value=\"hdmi cable\""),
        "the name typed is kept"
    );

    let token = app.token_for("sbm").await;
    let r = app
        .api_patch(
            &token,
            &format!("/api/v1/accessories/{id}"),
            &serde_json::json!({"name": "hdmi cable"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let problem: serde_json::Value = r.json().await.unwrap();
    assert_eq!(problem["detail"], said, "{problem}");
    assert_eq!(
        problem["errors"],
        serde_json::json!([{"field": "name", "message": said}]),
        "beside the body's own field"
    );
    assert_eq!(
        chargers_named(&app, "USB-C charger").await,
        2,
        "nothing was renamed"
    );

    // a rename and a retirement sent together happen together or not at all
    let r = app
        .api_patch(
            &token,
            &format!("/api/v1/accessories/{id}"),
            &serde_json::json!({"name": "HDMI Cable", "retired": true}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let all = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    let charger = all.iter().find(|a| a.id == id).unwrap();
    assert!(!charger.retired, "not retired when the rename was refused");
}
