//! Sets through the API alone: the same commands as the set's page, so the same
//! rules, the same outcome and the same events.

use kitroom_store::incidents::IncidentFilter;
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::{json, Value};

/// A manager with an iPad checklist, two chargers and a trolley of two iPads; Jo
/// has signed and has a token. Returns the set's page and how many events the
/// setting up wrote.
async fn trolley(app: &TestApp) -> (Client, String, String, usize) {
    let sbm = app.signed_in("sbm", "manager").await;
    app.set_checklist(
        &sbm,
        "ipad",
        "Charger returned?\nScreen undamaged? [damage]",
    )
    .await;
    app.add_accessory(&sbm, "USB-C charger", ("ICT room", "+2", "New"))
        .await;
    for tag in ["IPAD-1", "IPAD-2"] {
        let r = app
            .register_device(
                &sbm,
                &[
                    ("tag", tag),
                    ("kind", "ipad"),
                    ("location", "Library"),
                    ("captures_images", "on"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    let r = app
        .submit(&sbm, "/sets", "/sets", &[("name", "Trolley")])
        .await;
    assert_eq!(r.status(), 303);
    let set = r.headers()["location"].to_str().unwrap().to_owned();
    for tag in ["IPAD-1", "IPAD-2"] {
        let r = app
            .submit(&sbm, &set, &format!("{set}/devices"), &[("tag", tag)])
            .await;
        assert_eq!(r.status(), 303);
    }
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    let token = app.token_for("jo").await;
    let before = actions(app).await.len();
    (jo, token, set, before)
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

/// What a journey left behind: each device's status, the reports opened, the
/// chargers still out, and the events written after setting up.
async fn outcome(app: &TestApp, before: usize) -> Value {
    let mut statuses = Vec::new();
    for tag in ["IPAD-1", "IPAD-2"] {
        let d = app.device(tag).await;
        statuses.push(json!([tag, d.status.as_str()]));
    }
    let incidents: Vec<Value> = app
        .store()
        .list_incidents(
            kitroom_core::school::SchoolId::FIRST,
            &IncidentFilter::default(),
        )
        .await
        .unwrap()
        .iter()
        .map(|i| json!([i.kind.as_str(), i.description]))
        .collect();
    let missing: Vec<i64> = app
        .store()
        .accessories_not_returned(kitroom_core::school::SchoolId::FIRST, None, None)
        .await
        .unwrap()
        .iter()
        .map(|m| m.missing)
        .collect();
    let events = actions(app).await.split_off(before);
    json!({"devices": statuses, "incidents": incidents, "chargers_missing": missing, "events": events})
}

/// A script returning a trolley could skip the return checklist the set's page
/// insists on, so a cracked screen would open no damage report and the chargers
/// would be recorded as lost whatever was counted back.
#[tokio::test]
async fn a_set_out_and_back_through_the_api_gives_the_same_outcome_and_events_as_the_page() {
    // the page
    let page_app = spawn_app().await;
    let (jo, _, set, before) = trolley(&page_app).await;
    let (_, stock) = {
        let all = page_app
            .store()
            .list_accessories(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap();
        (all[0].stock[0].count, all[0].stock[0].id)
    };
    let r = page_app
        .submit(
            &jo,
            &set,
            &format!("{set}/checkout"),
            &[("also", &stock.to_string()), ("also_count", "2")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let group = page_app
        .store()
        .kit_by_name(kitroom_core::school::SchoolId::FIRST, "Trolley")
        .await
        .unwrap()
        .unwrap()
        .open
        .unwrap();
    let lent = page_app
        .store()
        .accessories_lent(None, Some(group.id))
        .await
        .unwrap();
    let counted = format!("acc_back.{}", lent[0].id);
    let r = page_app
        .submit(
            &jo,
            &set,
            &format!("{set}/return"),
            &[
                ("back", "IPAD-1"),
                ("back", "IPAD-2"),
                ("on_charge", "on"),
                ("images_cleared", "on"),
                ("check.ipad.0", "yes"),
                ("check.ipad.1", "no"),
                ("which.ipad.1", "IPAD-2"),
                (&counted, "1"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let by_page = outcome(&page_app, before).await;

    // the API alone
    let app = spawn_app().await;
    let (_, token, set, before) = trolley(&app).await;
    let set = set.trim_start_matches("/sets/").to_owned();
    let (status, out) = post(
        &app,
        &token,
        &format!("/api/v1/sets/{set}/checkout"),
        json!({"accessories": [{"name": "USB-C charger", "count": 2}]}),
    )
    .await;
    assert_eq!(status, 201, "{out}");
    assert_eq!(out["loans"].as_array().map(Vec::len), Some(2), "{out}");

    // unanswered: refused, naming the question, and nothing comes back
    let back =
        json!({"came_back": ["IPAD-1", "IPAD-2"], "on_charge": true, "images_cleared": true});
    let (status, problem) = post(&app, &token, &format!("/api/v1/sets/{set}/return"), back).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["type"], "urn:kitroom:problem:checklist-unanswered",
        "{problem}"
    );
    let d = app.device("IPAD-1").await;
    assert_eq!(d.status.as_str(), "on_loan", "nothing was returned");

    let (status, done) = post(
        &app,
        &token,
        &format!("/api/v1/sets/{set}/return"),
        json!({
            "came_back": ["IPAD-1", "IPAD-2"], "on_charge": true, "images_cleared": true,
            "checklist": {"ipad": {"answers": [true, false], "devices": ["", "IPAD-2"]}},
            "accessories": [{"name": "usb-c charger", "count": 1}],
        }),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["back"], json!(["IPAD-1", "IPAD-2"]));
    assert_eq!(done["damaged"][0]["device"], "IPAD-2", "{done}");
    let by_api = outcome(&app, before).await;

    assert_eq!(by_api, by_page);
    assert_eq!(by_page["chargers_missing"], json!([1]), "{by_page}");
    assert_eq!(
        by_page["incidents"].as_array().map(Vec::len),
        Some(1),
        "{by_page}"
    );
    for action in [
        "kit.checked_out",
        "accessory.lent",
        "loan.returned",
        "kit.checklist",
        "incident.reported",
        "kit.returned",
    ] {
        assert!(
            by_api["events"]
                .as_array()
                .unwrap()
                .iter()
                .any(|a| a == action),
            "{action} in {by_api}"
        );
    }
}

/// A script keeping the chargers' counts (a delivery, a stock check) could not
/// change them, or could take a count below none.
#[tokio::test]
async fn a_manager_adds_chargers_and_changes_their_count_through_the_api_as_on_the_page() {
    let app = spawn_app().await;
    let manager = app.api_token("mgr", "manager").await;
    let (status, made) = post(
        &app,
        &manager,
        "/api/v1/accessories",
        json!({"name": "USB-C charger"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_owned();
    let adjust = format!("/api/v1/accessories/{id}/adjust");

    // every problem at once, beside its field
    let (status, problem) = post(
        &app,
        &manager,
        &adjust,
        json!({"location": "", "change": "lots", "reason": ""}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let detail = problem.to_string();
    for field in ["location", "change", "reason"] {
        assert!(detail.contains(field), "{field} in {detail}");
    }

    let (status, done) = post(
        &app,
        &manager,
        &adjust,
        json!({"location": "ICT room", "change": "+2", "reason": "New delivery"}),
    )
    .await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["stock"], json!([{"location": "ICT room", "count": 2}]));
    // never below none
    let (status, problem) = post(
        &app,
        &manager,
        &adjust,
        json!({"location": "ICT room", "change": -3, "reason": "Stock check"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        app.store()
            .list_accessories(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap()[0]
            .stock[0]
            .count,
        2
    );
    let log = actions(&app).await;
    for action in ["accessory.created", "accessory.adjusted"] {
        assert!(log.iter().any(|a| a == action), "{action} in {log:?}");
    }

    // a borrower's token may not
    let jo = app.api_token("jo", "borrower").await;
    let (status, _) = post(
        &app,
        &jo,
        &adjust,
        json!({"location": "ICT room", "change": "+1", "reason": "Mine"}),
    )
    .await;
    assert_eq!(status, 403);
}

/// A script setting up a new school could not give the iPads their return
/// checklist, so returns through the API would ask nothing.
#[tokio::test]
async fn a_kinds_checklist_is_set_through_the_api_and_asked_on_return() {
    let app = spawn_app().await;
    let manager = app.api_token("mgr", "manager").await;
    let r = Client::new()
        .put(app.url("/api/v1/checklists/ipad"))
        .bearer_auth(&manager)
        .json(&json!({"questions": ["Charger returned?", "Screen undamaged? [damage]"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let saved: Value = r.json().await.unwrap();
    assert_eq!(
        saved["questions"][1],
        json!({"text": "Screen undamaged?", "damage": true})
    );
    let asked = app
        .store()
        .checklist(
            kitroom_core::school::SchoolId::FIRST,
            kitroom_core::device::DeviceKind::Ipad,
        )
        .await
        .unwrap();
    assert_eq!(asked.len(), 2);
    assert!(actions(&app).await.iter().any(|a| a == "checklist.changed"));
}

/// A manager with three iPads on the register, signed in on the pages and with a
/// token. Returns how many events the setting up wrote.
async fn three_ipads(app: &TestApp) -> (Client, String, usize) {
    let sbm = app.signed_in("sbm", "manager").await;
    for tag in ["IPAD-1", "IPAD-2", "IPAD-3"] {
        app.add_device(&sbm, tag, "ipad", "Library", &[("captures_images", "on")])
            .await;
    }
    let token = app.token_for("sbm").await;
    let before = actions(app).await.len();
    (sbm, token, before)
}

/// The events written after setting up, each as its action and its details.
async fn set_events(app: &TestApp, before: usize) -> Vec<Value> {
    app.store()
        .events_after(kitroom_core::school::SchoolId::FIRST, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .skip(before)
        .map(|e| json!([e.action, e.details_json()]))
        .collect()
}

/// A script keeping the trolleys up to date (a new trolley each term, iPads moved
/// between them) could not make or change a set, or would leave a different trail
/// in the activity log than the set's page does.
#[tokio::test]
async fn a_manager_makes_fills_renames_and_empties_a_set_through_the_api_as_on_the_page() {
    // the pages: make the set, add two iPads by tag and one by its label, take one out
    let page_app = spawn_app().await;
    let (sbm, _, before) = three_ipads(&page_app).await;
    let r = page_app
        .submit(
            &sbm,
            "/sets",
            "/sets",
            &[("name", "Trolley"), ("notes", "In the library")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let set = r.headers()["location"].to_str().unwrap().to_owned();
    let label = page_app.url("/d/IPAD-3");
    for tag in ["IPAD-1", "ipad-2", label.as_str()] {
        let r = page_app
            .submit(&sbm, &set, &format!("{set}/devices"), &[("tag", tag)])
            .await;
        assert_eq!(r.status(), 303, "{tag} joins the set");
    }
    let r = page_app
        .submit(&sbm, &set, &format!("{set}/devices/IPAD-2/remove"), &[])
        .await;
    assert_eq!(r.status(), 303);
    let by_page = set_events(&page_app, before).await;

    // the API: the same, and a rename
    let app = spawn_app().await;
    let (_, token, before) = three_ipads(&app).await;
    let (status, made) = post(
        &app,
        &token,
        "/api/v1/sets",
        json!({"name": "Trolley", "notes": "In the library"}),
    )
    .await;
    assert_eq!(status, 201, "{made}");
    assert_eq!(made["name"], "Trolley");
    assert_eq!(made["devices"], json!([]));
    let id = made["id"].as_str().unwrap().to_owned();
    let devices = format!("/api/v1/sets/{id}/devices");
    let label = app.url("/d/IPAD-3");
    for tag in ["IPAD-1", "ipad-2", label.as_str()] {
        let (status, body) = post(&app, &token, &devices, json!({ "tag": tag })).await;
        assert_eq!(status, 200, "{tag} joins the set: {body}");
    }
    let r = app
        .api_patch(
            &token,
            &format!("/api/v1/sets/{id}"),
            &json!({"name": "Trolley A"}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let r = app
        .api_delete(&token, &format!("/api/v1/sets/{id}/devices/IPAD-2"))
        .await;
    assert_eq!(r.status(), 200);
    let (status, got) = app
        .api_get_json(&token, &format!("/api/v1/sets/{id}"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(got["name"], "Trolley A");
    assert_eq!(got["notes"], "In the library", "a rename keeps the notes");
    let tags: Vec<&str> = got["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["IPAD-1", "IPAD-3"]);

    let mut by_api = set_events(&app, before).await;
    let renamed = by_api.remove(4);
    assert_eq!(
        renamed,
        json!(["kit.updated", {"name": "Trolley A", "notes": "In the library",
            "before": {"name": "Trolley", "notes": "In the library"}}])
    );
    assert_eq!(by_api, by_page, "the same events as the pages write");
    let actions: Vec<&str> = by_page.iter().map(|e| e[0].as_str().unwrap()).collect();
    assert_eq!(
        actions,
        [
            "kit.created",
            "kit.device_added",
            "kit.device_added",
            "kit.device_added",
            "kit.device_removed"
        ]
    );
}

/// A teacher's token could reorganise the trolleys, or a typo in a script would put
/// nothing in the set without saying why.
#[tokio::test]
async fn a_borrower_may_not_change_a_set_and_an_unknown_tag_is_refused_beside_its_field() {
    let app = spawn_app().await;
    let (_, token, _) = three_ipads(&app).await;
    let (status, made) = post(&app, &token, "/api/v1/sets", json!({"name": "Trolley"})).await;
    assert_eq!(status, 201);
    let id = made["id"].as_str().unwrap().to_owned();
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/sets/{id}/devices"),
        json!({"tag": "IPAD-1"}),
    )
    .await;
    assert_eq!(status, 200);
    let jo = app.api_token("jo", "borrower").await;
    let before = actions(&app).await.len();

    let (status, _) = post(&app, &jo, "/api/v1/sets", json!({"name": "Mine"})).await;
    assert_eq!(status, 403);
    let r = app
        .api_patch(&jo, &format!("/api/v1/sets/{id}"), &json!({"name": "Mine"}))
        .await;
    assert_eq!(r.status(), 403);
    let (status, _) = post(
        &app,
        &jo,
        &format!("/api/v1/sets/{id}/devices"),
        json!({"tag": "IPAD-2"}),
    )
    .await;
    assert_eq!(status, 403);
    let r = app
        .api_delete(&jo, &format!("/api/v1/sets/{id}/devices/IPAD-1"))
        .await;
    assert_eq!(r.status(), 403);

    // a tag nobody has, nothing typed, a device in the set already
    for (tag, words) in [
        ("IPAD-9", "No device has the tag “IPAD-9”"),
        ("  ", "Enter the device's asset tag"),
        ("ipad-1", "IPAD-1 is already in this set"),
    ] {
        let (status, problem) = post(
            &app,
            &token,
            &format!("/api/v1/sets/{id}/devices"),
            json!({ "tag": tag }),
        )
        .await;
        assert_eq!(status, 422, "{tag}: {problem}");
        assert_eq!(problem["errors"][0]["field"], "tag");
        assert!(
            problem["errors"][0]["message"]
                .as_str()
                .unwrap()
                .contains(words),
            "{problem}"
        );
    }
    // another set's name, and an unknown set
    let (status, problem) = post(&app, &token, "/api/v1/sets", json!({"name": "trolley"})).await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "name");
    let r = app
        .api_delete(&token, "/api/v1/sets/No such set/devices/IPAD-1")
        .await;
    assert_eq!(r.status(), 404);
    let r = app
        .api_delete(&token, &format!("/api/v1/sets/{id}/devices/IPAD-2"))
        .await;
    assert_eq!(r.status(), 404, "IPAD-2 is not in the set");
    assert_eq!(actions(&app).await.len(), before, "nothing was written");
}
