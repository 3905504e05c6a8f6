//! Incidents, change requests and the head's off-site authorisations through the
//! API alone: the same commands as the pages, so the same rules, the same refusals
//! and the same events.

use kitroom_tests::{spawn_app, TestApp};
use serde_json::{json, Value};

/// An unencrypted laptop holding personal data: its loss is a possible breach.
fn laptop(tag: &str) -> Vec<(&str, &str)> {
    vec![
        ("tag", tag),
        ("kind", "laptop"),
        ("make", "Dell"),
        ("model", "Latitude"),
        ("location", "Staff room"),
        ("holds_personal_data", "on"),
    ]
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.api_post_json(token, path, &body).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    app.api_get_json(token, path).await
}

/// The actions recorded about one device, oldest first.
async fn actions_of(app: &TestApp, tag: &str) -> Vec<String> {
    let id = app.device(tag).await.id;
    app.store()
        .events_after(kitroom_core::school::SchoolId::FIRST, 0, 1000)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.subject.contains(&id.to_string()))
        .map(|e| e.action)
        .collect()
}

/// A script handling an incident could skip the data protection decision, resolve
/// a lost laptop as repaired, or leave a different trail in the log than the
/// manager's pages do.
#[tokio::test]
async fn an_incident_from_report_to_resolution_through_the_api_matches_the_pages() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, &laptop("LAP-8")).await;
    app.register_device(&sbm, &laptop("LAP-9")).await;

    // the pages, on LAP-9
    let r = app
        .submit(
            &sbm,
            "/devices/LAP-9/report",
            "/devices/LAP-9/report",
            &[("kind", "loss"), ("description", "Cannot find it")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let path = r.headers()["location"]
        .to_str()
        .unwrap()
        .trim_end_matches("?reported=1")
        .to_owned();
    let mut pages = Vec::new();
    for (action, fields) in [
        (
            "status",
            vec![("status", "resolved"), ("resolution", "recovered")],
        ),
        (
            "decision",
            vec![("reportable", "no"), ("reason", "Files are on the network")],
        ),
        (
            "status",
            vec![
                ("status", "investigating"),
                ("note", "Asked the coach company"),
            ],
        ),
        (
            "status",
            vec![("status", "resolved"), ("resolution", "repaired")],
        ),
        (
            "status",
            vec![
                ("status", "resolved"),
                ("resolution", "recovered"),
                ("cost", "12.50"),
            ],
        ),
    ] {
        let r = app
            .submit(&sbm, &path, &format!("{path}/{action}"), &fields)
            .await;
        pages.push(r.status().as_u16());
    }
    assert_eq!(pages, [422, 303, 303, 422, 303]);

    // the API alone, on LAP-8
    let token = app.token_for("sbm").await;
    let (status, incident) = post(
        &app,
        &token,
        "/api/v1/devices/LAP-8/incidents",
        json!({"kind": "loss", "description": "Cannot find it"}),
    )
    .await;
    assert_eq!(status, 201, "{incident}");
    assert_eq!(incident["breach_assessment"]["risk"], "possible");
    let id = incident["id"].as_str().unwrap().to_owned();
    let mut api = Vec::new();
    let mut last = Value::Null;
    for (action, body) in [
        (
            "progress",
            json!({"status": "resolved", "resolution": "recovered"}),
        ),
        (
            "decision",
            json!({"reportable": false, "reason": "Files are on the network"}),
        ),
        (
            "progress",
            json!({"status": "investigating", "note": "Asked the coach company"}),
        ),
        (
            "progress",
            json!({"status": "resolved", "resolution": "repaired"}),
        ),
        (
            "progress",
            json!({"status": "resolved", "resolution": "recovered", "cost_pence": 1250}),
        ),
    ] {
        let (status, body) = post(
            &app,
            &token,
            &format!("/api/v1/incidents/{id}/{action}"),
            body,
        )
        .await;
        api.push(status);
        last = body;
    }
    assert_eq!(api, [422, 200, 200, 422, 200], "{last}");
    assert_eq!(last["status"], "resolved");
    assert_eq!(last["resolution"], "recovered");
    assert_eq!(last["cost_pence"], 1250);
    assert_eq!(
        last["breach_assessment"]["decision"]["reportable"],
        json!(false)
    );
    assert_eq!(last["notes"][0]["body"], "Asked the coach company");

    // a note, then the same read the page gives
    let (status, read) = post(
        &app,
        &token,
        &format!("/api/v1/incidents/{id}/notes"),
        json!({"body": "Found in lost property"}),
    )
    .await;
    assert_eq!(status, 201, "{read}");
    let (status, read) = get(&app, &token, &format!("/api/v1/incidents/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(read["notes"].as_array().unwrap().len(), 2);
    let r = app
        .submit(
            &sbm,
            &path,
            &format!("{path}/notes"),
            &[("body", "Found in lost property")],
        )
        .await;
    assert_eq!(r.status(), 303);

    // deciding twice is refused as a clash with what is recorded
    let (status, problem) = post(
        &app,
        &token,
        &format!("/api/v1/incidents/{id}/decision"),
        json!({"reportable": true, "reason": "Changed my mind"}),
    )
    .await;
    assert_eq!(status, 409, "{problem}");

    // the same statuses for the device, and the same trail in the log
    for tag in ["LAP-8", "LAP-9"] {
        let d = app.device(tag).await;
        assert_eq!(d.status.as_str(), "returned_charging", "{tag}");
    }
    let (by_api, by_pages) = (
        actions_of(&app, "LAP-8").await,
        actions_of(&app, "LAP-9").await,
    );
    assert!(
        by_api.contains(&"incident.breach_decided".to_owned()),
        "{by_api:?}"
    );
    assert_eq!(by_api, by_pages);
}

/// A teacher's script could take a laptop full of pupils' reports home without
/// the head teacher's say, or a borrower could approve their own request.
#[tokio::test]
async fn an_offsite_request_approved_by_the_heads_token_lets_the_borrower_take_it_off_site() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let mut fields = vec![
        ("tag", "LAP-1"),
        ("kind", "laptop"),
        ("location", "Computer room"),
        ("encryption_state", "encrypted"),
        ("encryption_method", "bitlocker"),
        ("encryption_verified_on", "2025-09-03"),
    ];
    fields.push(("holds_personal_data", "on"));
    assert_eq!(app.register_device(&sbm, &fields).await.status(), 303);
    app.publish_policy(&sbm, "v1").await;
    let jo_page = app.signed_in("jo", "borrower").await;
    app.sign_policy(&jo_page, "Jo Bloggs").await;
    let jo = app.token_for("jo").await;
    let head = app.api_token("head", "head").await;

    let (status, problem) = post(
        &app,
        &jo,
        "/api/v1/devices/LAP-1/checkout",
        json!({"off_site": true}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");

    let (status, problem) = post(
        &app,
        &jo,
        "/api/v1/devices/LAP-1/offsite-requests",
        json!({"reason": ""}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "reason");
    let (status, asked) = post(
        &app,
        &jo,
        "/api/v1/devices/LAP-1/offsite-requests",
        json!({"reason": "Writing reports at home"}),
    )
    .await;
    assert_eq!(status, 201, "{asked}");
    assert_eq!(asked["status"], "pending");
    let (status, again) = post(
        &app,
        &jo,
        "/api/v1/devices/LAP-1/offsite-requests",
        json!({"reason": "Writing reports at home"}),
    )
    .await;
    assert_eq!(status, 200, "asking again changes nothing");
    assert_eq!(again["id"], asked["id"]);
    let id = asked["id"].as_str().unwrap().to_owned();

    // the borrower may neither see the head's list nor decide
    assert_eq!(get(&app, &jo, "/api/v1/offsite-requests").await.0, 403);
    let decision = format!("/api/v1/offsite-requests/{id}/decision");
    let (status, _) = post(&app, &jo, &decision, json!({"approve": true})).await;
    assert_eq!(status, 403);

    let (status, list) = get(&app, &head, "/api/v1/offsite-requests").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["reason"], "Writing reports at home");
    let (status, decided) = post(
        &app,
        &head,
        &decision,
        json!({"approve": true, "note": "Bring it back Monday"}),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "approved");
    let (status, _) = post(&app, &head, &decision, json!({"approve": false})).await;
    assert_eq!(status, 409, "a request is decided once");
    let (status, _) = post(&app, &head, &decision, json!({"note": "Which?"})).await;
    assert_eq!(status, 422, "approve or decline must be said");

    let (status, loan) = post(
        &app,
        &jo,
        "/api/v1/devices/LAP-1/checkout",
        json!({"off_site": true}),
    )
    .await;
    assert_eq!(status, 201, "{loan}");
    assert_eq!(loan["off_site"], true);
    assert_eq!(loan["head_authorised"], true);
    let actions = actions_of(&app, "LAP-1").await;
    for a in ["offsite.requested", "offsite.approved", "loan.checked_out"] {
        assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
    }
}

/// Software could go on a school device without the head teacher agreeing, or a
/// script could decide a change request twice.
#[tokio::test]
async fn a_change_request_through_the_api_goes_to_the_head_once() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, &laptop("LAP-9")).await;
    let jo = app.api_token("jo", "borrower").await;
    let head = app.api_token("head", "head").await;
    let manager = app.token_for("sbm").await;

    let (status, problem) = post(
        &app,
        &jo,
        "/api/v1/devices/LAP-9/change-requests",
        json!({"what": "Scratch 3"}),
    )
    .await;
    assert_eq!(status, 422);
    assert_eq!(problem["errors"][0]["field"], "why");
    let (status, asked) = post(
        &app,
        &jo,
        "/api/v1/devices/LAP-9/change-requests",
        json!({"what": "Scratch 3", "why": "Year 5 coding club"}),
    )
    .await;
    assert_eq!(status, 201, "{asked}");
    let id = asked["id"].as_str().unwrap().to_owned();
    assert_eq!(get(&app, &jo, "/api/v1/change-requests").await.0, 403);
    assert_eq!(get(&app, &manager, "/api/v1/change-requests").await.0, 403);
    let (status, list) = get(&app, &head, "/api/v1/change-requests").await;
    assert_eq!(status, 200);
    assert_eq!(list["items"][0]["what"], "Scratch 3");
    let decision = format!("/api/v1/change-requests/{id}/decision");
    assert_eq!(
        post(&app, &jo, &decision, json!({"approve": true})).await.0,
        403
    );
    let (status, decided) = post(
        &app,
        &head,
        &decision,
        json!({"approve": false, "note": "Use the web version"}),
    )
    .await;
    assert_eq!(status, 200, "{decided}");
    assert_eq!(decided["status"], "declined");
    assert_eq!(decided["note"], "Use the web version");
    assert_eq!(
        post(&app, &head, &decision, json!({"approve": true}))
            .await
            .0,
        409
    );
    let actions = actions_of(&app, "LAP-9").await;
    for a in ["change.requested", "change.declined"] {
        assert!(actions.contains(&a.to_owned()), "{a} in {actions:?}");
    }
}
