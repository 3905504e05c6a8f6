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
        .events_after(0, 1000)
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
        let d = app.store().device_by_tag(tag).await.unwrap().unwrap();
        statuses.push(json!([tag, d.status.as_str()]));
    }
    let incidents: Vec<Value> = app
        .store()
        .list_incidents(&IncidentFilter::default())
        .await
        .unwrap()
        .iter()
        .map(|i| json!([i.kind.as_str(), i.description]))
        .collect();
    let missing: Vec<i64> = app
        .store()
        .accessories_not_returned(None, None)
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
        let all = page_app.store().list_accessories().await.unwrap();
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
        .kit_by_name("Trolley")
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
    let d = app.store().device_by_tag("IPAD-1").await.unwrap().unwrap();
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
        app.store().list_accessories().await.unwrap()[0].stock[0].count,
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
        .checklist(kitroom_core::device::DeviceKind::Ipad)
        .await
        .unwrap();
    assert_eq!(asked.len(), 2);
    assert!(actions(&app).await.iter().any(|a| a == "checklist.changed"));
}
