//! The register through the API alone: registering and editing a device, its
//! status changes by hand, charging and disposal are the same commands as the
//! pages', so they give the same devices, the same refusals and the same events.

use kitroom_tests::{spawn_app, TestApp};
use reqwest::{Client, Response};
use serde_json::{json, Value};

/// A manager signed in to the pages, and the same manager's API token.
async fn manager(app: &TestApp) -> (Client, String) {
    let sbm = app.signed_in("sbm", "manager").await;
    let token = app.token_for("sbm").await;
    (sbm, token)
}

async fn api(
    app: &TestApp,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Response {
    let c = Client::new();
    let url = app.url(path);
    let req = match method {
        "GET" => c.get(url),
        "PATCH" => c.patch(url),
        _ => c.post(url),
    }
    .bearer_auth(token);
    let req = match body {
        Some(b) => req.json(&b),
        None => req,
    };
    req.send().await.unwrap()
}

/// A device as the API shows it, without its tag.
async fn device(app: &TestApp, token: &str, tag: &str) -> Value {
    let r = api(app, token, "GET", &format!("/api/v1/devices/{tag}"), None).await;
    assert_eq!(r.status(), 200, "{tag}");
    let mut d: Value = r.json().await.unwrap();
    d.as_object_mut().unwrap().remove("tag");
    d
}

/// The activity log's events about the device `tag`, each as its action and its
/// details with the tag taken out (so two devices' histories can be compared).
async fn events_of(app: &TestApp, token: &str, tag: &str) -> Vec<(String, Value)> {
    let r = api(app, token, "GET", "/api/v1/events?limit=1000", None).await;
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["subject_label"] == tag)
        .map(|e| {
            let mut details = e["details"].clone();
            if let Some(o) = details.as_object_mut() {
                o.remove("tag");
            }
            (e["action"].as_str().unwrap().to_owned(), details)
        })
        .collect()
}

/// The same laptop, as the register form and as the API send it.
fn laptop_form(tag: &str) -> Vec<(&'static str, String)> {
    vec![
        ("tag", tag.to_owned()),
        ("kind", "laptop".into()),
        ("make", "Dell".into()),
        ("model", "Latitude 3540".into()),
        ("serial", "SN-1".into()),
        ("location", "Library".into()),
        ("condition", "good".into()),
        ("purchased_on", "2025-09-01".into()),
        ("cost", "499.99".into()),
        ("supplier", "XMA".into()),
        ("warranty_until", "2028-09-01".into()),
        ("notes", "Staff laptop".into()),
        ("encryption_state", "encrypted".into()),
        ("encryption_method", "bitlocker".into()),
        ("encryption_verified_on", "2025-09-02".into()),
        ("passcode_enforced", "on".into()),
        ("holds_personal_data", "on".into()),
    ]
}

fn laptop_json(tag: &str) -> Value {
    json!({
        "tag": tag, "kind": "laptop", "make": "Dell", "model": "Latitude 3540", "serial": "SN-1",
        "location": "Library", "condition": "good", "purchased_on": "2025-09-01", "cost_pence": 49999,
        "supplier": "XMA", "warranty_until": "2028-09-01", "notes": "Staff laptop",
        "encryption": {"state": "encrypted", "method": "bitlocker", "verified_on": "2025-09-02"},
        "passcode_enforced": true, "holds_personal_data": true, "captures_images": false,
    })
}

async fn register_on_page(app: &TestApp, sbm: &Client, tag: &str) {
    let fields = laptop_form(tag);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.register_device(sbm, &fields).await;
    assert_eq!(r.status(), 303, "{tag}: {}", r.text().await.unwrap());
}

async fn register_by_api(app: &TestApp, token: &str, tag: &str) {
    let r = api(
        app,
        token,
        "POST",
        "/api/v1/devices",
        Some(laptop_json(tag)),
    )
    .await;
    assert_eq!(r.status(), 201, "{tag}: {}", r.text().await.unwrap());
}

/// A script registering or editing a device would store it differently from the
/// register's form, or leave a different entry in the activity log.
#[tokio::test]
async fn registering_and_editing_through_the_page_and_the_api_store_the_same() {
    let app = spawn_app().await;
    let (sbm, token) = manager(&app).await;
    register_on_page(&app, &sbm, "PAGE-1").await;
    register_by_api(&app, &token, "API-1").await;
    assert_eq!(
        device(&app, &token, "PAGE-1").await,
        device(&app, &token, "API-1").await
    );
    // the edit: notes changed and the personal data box unticked
    let mut fields = laptop_form("PAGE-1");
    fields.retain(|(k, _)| *k != "holds_personal_data");
    fields.retain(|(k, _)| *k != "notes");
    fields.push(("notes", "Spare".into()));
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app
        .submit(
            &sbm,
            "/devices/PAGE-1/edit",
            "/devices/PAGE-1/edit",
            &fields,
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = api(
        &app,
        &token,
        "PATCH",
        "/api/v1/devices/API-1",
        Some(json!({"notes": "Spare", "holds_personal_data": false})),
    )
    .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let (page, by_api) = (
        device(&app, &token, "PAGE-1").await,
        device(&app, &token, "API-1").await,
    );
    assert_eq!(page, by_api);
    assert_eq!(by_api["notes"], "Spare");
    assert_eq!(by_api["holds_personal_data"], false);
    let (page, by_api) = (
        events_of(&app, &token, "PAGE-1").await,
        events_of(&app, &token, "API-1").await,
    );
    let actions: Vec<_> = by_api.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["device.registered", "device.updated"]);
    assert_eq!(page, by_api);
    // a tag already in use: the form is shown again with it beside the tag, and the
    // API answers a conflict naming the field, in the same words
    let r = api(
        &app,
        &token,
        "POST",
        "/api/v1/devices",
        Some(laptop_json("page-1")),
    )
    .await;
    assert_eq!(r.status(), 409);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "tag");
    let words = problem["errors"][0]["message"].as_str().unwrap().to_owned();
    assert!(words.contains("already on another device"), "{words}");
    let fields = laptop_form("api-1");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let r = app.register_device(&sbm, &fields).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("The asset tag API-1 is already on another device (Dell Latitude 3540)."));
}

/// A script moving a device to repair, back, lost or found would follow other
/// rules than the device's page, or log something different.
#[tokio::test]
async fn status_changes_through_the_api_match_the_page() {
    let app = spawn_app().await;
    let (sbm, token) = manager(&app).await;
    register_on_page(&app, &sbm, "PAGE-1").await;
    register_on_page(&app, &sbm, "API-1").await;
    let on_page = |change: &'static str, note: &'static str| {
        let (app, sbm) = (&app, &sbm);
        async move {
            app.submit(
                sbm,
                "/devices/PAGE-1",
                "/devices/PAGE-1/status",
                &[("change", change), ("note", note)],
            )
            .await
        }
    };
    let by_api = |change: &'static str, note: &'static str| {
        let (app, token) = (&app, &token);
        async move {
            api(
                app,
                token,
                "POST",
                "/api/v1/devices/API-1/status",
                Some(json!({"change": change, "note": note})),
            )
            .await
        }
    };
    assert_eq!(
        on_page("send_to_repair", "Cracked screen").await.status(),
        303
    );
    let r = by_api("send_to_repair", "Cracked screen").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "in_repair");
    // an illegal move: 409 in the same words on both
    let page = on_page("mark_ready", "").await;
    assert_eq!(page.status(), 409);
    let page = page.text().await.unwrap();
    let r = by_api("mark_ready", "").await;
    assert_eq!(r.status(), 409);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["type"], "urn:kitroom:problem:illegal-status-change");
    let words = problem["detail"].as_str().unwrap();
    assert_eq!(
        words,
        "This device is in repair, so it cannot be marked ready."
    );
    assert!(page.contains(words));
    // checking out by hand is refused: the page's form never offers it (400), the
    // API names the field (422)
    let r = by_api("check_out", "").await;
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["errors"][0]["field"],
        "change"
    );
    assert_eq!(on_page("check_out", "").await.status(), 400);
    // back, lost, found, ready
    for change in ["back_from_repair", "report_lost", "found"] {
        assert_eq!(on_page(change, "").await.status(), 303, "{change}");
        assert_eq!(by_api(change, "").await.status(), 200, "{change}");
    }
    assert_eq!(on_page("mark_ready", "").await.status(), 303);
    let r = api(&app, &token, "POST", "/api/v1/devices/API-1/ready", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "available");
    assert_eq!(
        device(&app, &token, "PAGE-1").await,
        device(&app, &token, "API-1").await
    );
    let (page, by_api) = (
        events_of(&app, &token, "PAGE-1").await,
        events_of(&app, &token, "API-1").await,
    );
    assert_eq!(by_api.len(), 6, "{by_api:?}");
    assert_eq!(page, by_api);
}

/// The trolley's devices could not be marked ready from a script, or would be
/// logged differently from the charging page.
#[tokio::test]
async fn charging_through_the_api_matches_the_page() {
    let app = spawn_app().await;
    let (sbm, token) = manager(&app).await;
    for tag in ["PAGE-1", "API-1"] {
        let mut fields = laptop_form(tag);
        fields.retain(|(k, _)| *k != "location");
        let place = if tag == "PAGE-1" {
            "Library"
        } else {
            "Trolley B"
        };
        fields.push(("location", place.into()));
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        assert_eq!(app.register_device(&sbm, &fields).await.status(), 303);
        // lost and found again: back on charge
        for change in ["report_lost", "found"] {
            let r = api(
                &app,
                &token,
                "POST",
                &format!("/api/v1/devices/{tag}/status"),
                Some(json!({"change": change})),
            )
            .await;
            assert_eq!(r.status(), 200);
        }
    }
    let r = api(&app, &token, "GET", "/api/v1/charging", None).await;
    assert_eq!(r.status(), 200);
    let charging: Value = r.json().await.unwrap();
    assert_eq!(charging["total"], 2);
    assert!(charging["items"][0]["charge_minutes"].is_number());
    let library = app.location("Library").await.id;
    let r = app
        .submit(
            &sbm,
            "/charging",
            &format!("/charging/{library}/ready"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = api(
        &app,
        &token,
        "POST",
        "/api/v1/charging/trolley%20b/ready",
        None,
    )
    .await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(
        done,
        json!({"location": "Trolley B", "total": 1, "devices": ["API-1"]})
    );
    let r = api(&app, &token, "POST", "/api/v1/charging/Nowhere/ready", None).await;
    assert_eq!(r.status(), 404);
    let r = api(&app, &token, "GET", "/api/v1/charging", None).await;
    assert_eq!(r.json::<Value>().await.unwrap()["total"], 0);
    let (mut page, by_api) = (
        device(&app, &token, "PAGE-1").await,
        device(&app, &token, "API-1").await,
    );
    page["location"] = by_api["location"].clone();
    assert_eq!(page, by_api);
    // after the registration (whose location differs), the same moves and notes
    let (page, by_api) = (
        events_of(&app, &token, "PAGE-1").await,
        events_of(&app, &token, "API-1").await,
    );
    assert_eq!(by_api.len(), 4, "{by_api:?}");
    assert_eq!(
        by_api[3].1["note"],
        "marked ready with the rest of its location"
    );
    assert_eq!(page[1..], by_api[1..]);
}

/// A script could dispose of a laptop holding pupils' data without proof it was
/// wiped, or record the disposal differently from the page.
#[tokio::test]
async fn a_disposal_through_the_api_matches_the_page() {
    let app = spawn_app().await;
    let (sbm, token) = manager(&app).await;
    register_on_page(&app, &sbm, "PAGE-1").await;
    register_by_api(&app, &token, "API-1").await;
    let fields = [
        ("authorised_by", "Ruth Okafor, head teacher"),
        ("disposed_on", "2026-11-20"),
        ("method", "recycled"),
        ("recipient", "GreenTech Recycling"),
        ("recipient_reference", "CBDU123456"),
    ];
    let body = json!({
        "authorised_by": "Ruth Okafor, head teacher", "disposed_on": "2026-11-20", "method": "recycled",
        "recipient": "GreenTech Recycling", "recipient_reference": "CBDU123456",
    });
    // without wipe evidence: 422 on both, beside the same field, in the same words
    let page = app
        .submit(
            &sbm,
            "/devices/PAGE-1/dispose",
            "/devices/PAGE-1/dispose",
            &fields,
        )
        .await;
    assert_eq!(page.status(), 422);
    let page = page.text().await.unwrap();
    let r = api(
        &app,
        &token,
        "POST",
        "/api/v1/devices/API-1/disposal",
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status(), 422);
    let problem: Value = r.json().await.unwrap();
    assert_eq!(problem["errors"][0]["field"], "wipe_evidence");
    let words = problem["errors"][0]["message"].as_str().unwrap();
    assert!(words.contains("record the evidence that its storage was wiped or destroyed"));
    assert!(page.contains(words), "the same words on the page");
    let r = api(&app, &token, "GET", "/api/v1/devices/API-1/disposal", None).await;
    assert_eq!(r.status(), 404, "nothing was recorded");
    // with it: retired on both
    let mut with = fields.to_vec();
    with.push(("wipe_evidence", "Certificate DW-2026-0042"));
    with.push(("confirm", "yes"));
    let r = app
        .submit(
            &sbm,
            "/devices/PAGE-1/dispose",
            "/devices/PAGE-1/dispose",
            &with,
        )
        .await;
    assert_eq!(r.status(), 303);
    let mut body = body;
    body["wipe_evidence"] = json!("Certificate DW-2026-0042");
    let r = api(
        &app,
        &token,
        "POST",
        "/api/v1/devices/API-1/disposal",
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status(), 201);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["device"]["status"], "retired");
    assert_eq!(
        done["disposal"]["wipe_evidence"],
        "Certificate DW-2026-0042"
    );
    let r = api(&app, &token, "GET", "/api/v1/devices/API-1/disposal", None).await;
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.json::<Value>().await.unwrap()["recipient_reference"],
        "CBDU123456"
    );
    // disposing of it again: the status machine refuses, 409 on both
    let page = app
        .submit(&sbm, "/devices/PAGE-1", "/devices/PAGE-1/dispose", &with)
        .await;
    assert_eq!(page.status(), 409);
    let page = page.text().await.unwrap();
    let r = api(
        &app,
        &token,
        "POST",
        "/api/v1/devices/API-1/disposal",
        Some(body),
    )
    .await;
    assert_eq!(r.status(), 409);
    let words = r.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(words, "This device is retired, so it cannot be retired.");
    assert!(page.contains(&words));
    assert_eq!(
        device(&app, &token, "PAGE-1").await,
        device(&app, &token, "API-1").await
    );
    let (page, by_api) = (
        events_of(&app, &token, "PAGE-1").await,
        events_of(&app, &token, "API-1").await,
    );
    let actions: Vec<_> = by_api.iter().map(|(a, _)| a.as_str()).collect();
    assert_eq!(actions, ["device.registered", "device.status_changed"]);
    assert_eq!(page, by_api);
    // a borrower's token may not dispose of anything
    let jo = app.api_token("jo", "borrower").await;
    let r = api(
        &app,
        &jo,
        "POST",
        "/api/v1/devices/PAGE-1/disposal",
        Some(json!({})),
    )
    .await;
    assert_eq!(r.status(), 403);
}

/// A script filtering the register by a status made only of white space (a stray
/// line break) would get every device back as if it had asked for none, instead
/// of being told the filter word is wrong.
#[tokio::test]
async fn a_filter_word_of_white_space_is_refused_not_ignored() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    for query in ["status=%0A", "kind=%20", "encryption=%09"] {
        let r = app
            .api_get(&token, &format!("/api/v1/devices?{query}"))
            .await;
        assert_eq!(r.status(), 422, "{query}");
        let p: Value = r.json().await.unwrap();
        let field = query.split('=').next().unwrap();
        assert_eq!(p["errors"][0]["field"], field, "{query}: {p}");
    }
    let r = app.api_get(&token, "/api/v1/devices?status=").await;
    assert_eq!(r.status(), 200, "an empty filter is no filter");
}

/// A script sending a status change the status machine never makes by hand (or
/// none) would not learn from the API's document which words it may send.
#[tokio::test]
async fn the_document_lists_the_status_changes_made_by_hand() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    let doc: Value = app
        .api_get(&token, "/api/v1/openapi.json")
        .await
        .json()
        .await
        .unwrap();
    let schema = &doc["components"]["schemas"]["StatusInput"];
    assert_eq!(schema["required"], json!(["change"]), "{schema}");
    let words: Vec<&str> = schema["properties"]["change"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        words,
        [
            "mark_ready",
            "send_to_repair",
            "back_from_repair",
            "report_lost",
            "found"
        ]
    );
}
