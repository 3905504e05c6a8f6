//! Lending: the policy, check-out rules, returns, the head's authorisation, charging.

use kitroom_tests::spawn_app;
use serde_json::{json, Value};

const LAPTOP: &[(&str, &str)] = &[
    ("tag", "LAP-1"),
    ("kind", "laptop"),
    ("make", "Dell"),
    ("model", "Latitude"),
    ("location", "Computer room"),
    ("encryption_state", "encrypted"),
    ("encryption_method", "bitlocker"),
    ("encryption_verified_on", "2025-09-03"),
];

/// A member of staff could borrow without having signed, or could not borrow after signing.
#[tokio::test]
async fn a_borrower_signs_the_policy_then_checks_out_in_one_tap() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, LAPTOP).await;
    let jo = app.signed_in("jo", "borrower").await;

    let r = app.check_out(&jo, "LAP-1", &[]).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Kitroom has no acceptable-use policy yet"));

    app.publish_policy(&sbm, "2026/27").await;
    let page = app.page(&jo, "/devices/LAP-1").await;
    assert!(page.contains("Sign the acceptable-use policy to borrow devices"));
    assert!(
        page.contains("href=\"/policy?next=%2Fdevices%2FLAP-1\""),
        "shown where to sign, and brought back"
    );
    let r = app.check_out(&jo, "LAP-1", &[]).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("You need to sign the acceptable-use policy (2026/27)"));

    app.sign_policy(&jo, "Jo Bloggs").await;
    let r = app.check_out(&jo, "LAP-1", &[]).await;
    assert_eq!(r.status(), 303);
    let page = app.page(&jo, "/devices/LAP-1").await;
    assert!(page.contains("LAP-1 is checked out to you until"));
    assert!(page.contains("You have it."));
    let home = app.page(&jo, "/").await;
    assert!(home.contains("My loans") && home.contains("LAP-1"));

    // a new version asks everyone to sign again
    app.publish_policy(&sbm, "2027/28").await;
    let home = app.page(&jo, "/").await;
    assert!(home.contains("Version 2027/28 is in force and you have not signed it yet"));
    // and the manager sees who has not signed, also as CSV
    let list = app.page(&sbm, "/policies").await;
    assert!(list.contains("2027/28") && list.contains("In force"));
    let id = app
        .store()
        .current_policy(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()
        .unwrap()
        .id;
    let csv = app
        .get(&sbm, &format!("/policies/{id}/signatures.csv"))
        .await;
    assert_eq!(csv.headers()["content-type"], "text/csv; charset=utf-8");
    let csv = csv.text().await.unwrap();
    assert!(csv.starts_with("\u{feff}username,full_name,kind,role,signed"));
    assert!(csv
        .lines()
        .any(|l| l.starts_with("jo,") && l.contains(",no,")));
}

/// An unencrypted laptop could go home, or the refusal would not say why.
#[tokio::test]
async fn an_unencrypted_device_is_refused_off_site_with_the_reason() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_device(
        &sbm,
        "LAP-2",
        "laptop",
        "Computer room",
        &[("encryption_state", "unknown")],
    )
    .await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Bloggs").await;
    let r = app
        .check_out(
            &jo,
            "LAP-2",
            &[("off_site", "on"), ("purpose", "Marking at home")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains(
        "This laptop is not recorded as encrypted, so it cannot leave the school site. Ask the business manager to verify its encryption."
    ));
    assert!(
        body.contains("value=\"Marking at home\""),
        "the purpose typed is kept"
    );
    // on site it is fine
    assert_eq!(app.check_out(&jo, "LAP-2", &[]).await.status(), 303);
}

/// Personal data could leave the school without the head teacher knowing.
#[tokio::test]
async fn personal_data_goes_off_site_only_after_the_head_approves() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let mut fields = LAPTOP.to_vec();
    fields.push(("holds_personal_data", "on"));
    app.register_device(&sbm, &fields).await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Bloggs").await;
    let head = app.signed_in("head", "head").await;

    let r = app.check_out(&jo, "LAP-1", &[("off_site", "on")]).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("only with the head teacher's authorisation"));
    assert!(body.contains("Ask the head teacher"));
    let r = app
        .submit(
            &jo,
            "/devices/LAP-1",
            "/devices/LAP-1/offsite-request",
            &[("reason", "Writing reports at home")],
        )
        .await;
    assert_eq!(r.status(), 303);
    // a borrower cannot approve their own request
    assert_eq!(app.get(&jo, "/approvals").await.status(), 403);
    let approvals = app.page(&head, "/approvals").await;
    assert!(approvals.contains("Writing reports at home"));
    let id = approvals
        .split("action=\"/approvals/")
        .nth(1)
        .map(|s| s[..36].to_owned())
        .expect("a decision form");
    let r = app
        .submit(
            &head,
            "/approvals",
            &format!("/approvals/{id}"),
            &[("decision", "approve"), ("note", "Bring it back Monday")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app.check_out(&jo, "LAP-1", &[("off_site", "on")]).await;
    assert_eq!(r.status(), 303);
    let loan = app
        .store()
        .open_loan(app.device("LAP-1").await.id)
        .await
        .unwrap()
        .unwrap();
    assert!(
        loan.off_site && loan.authorised,
        "the approval is recorded on the loan"
    );
}

/// A camera could come back with pupils' photos still on it, or a device not on charge.
#[tokio::test]
async fn a_returned_camera_asks_about_its_images_and_everything_goes_on_charge() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_device(
        &sbm,
        "CAM-1",
        "camera",
        "Office",
        &[("captures_images", "on")],
    )
    .await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Bloggs").await;
    assert_eq!(app.check_out(&jo, "CAM-1", &[]).await.status(), 303);
    let page = app.page(&jo, "/devices/CAM-1").await;
    assert!(page.contains("moved to the school network and deleted"));

    let r = app
        .return_device(
            &jo,
            "CAM-1",
            &[("battery_percent", "40"), ("on_charge", "on")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("This device takes photos"));
    let r = app
        .return_device(
            &jo,
            "CAM-1",
            &[("battery_percent", "40"), ("images_cleared", "on")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("Put the device on charge"));
    let r = app
        .return_device(
            &jo,
            "CAM-1",
            &[
                ("battery_percent", "140"),
                ("on_charge", "on"),
                ("images_cleared", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let r = app
        .return_device(
            &jo,
            "CAM-1",
            &[
                ("battery_percent", "40"),
                ("on_charge", "on"),
                ("images_cleared", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&jo, "/devices/CAM-1").await;
    // back to where it lives, the office (issue 17: not the school's return room)
    assert!(page.contains("CAM-1 is returned to the Office and on charge"));
    assert!(page.contains("Returned, charging"));

    // the manager marks the trolley ready at once
    let charging = app.page(&sbm, "/charging").await;
    assert!(charging.contains("CAM-1"));
    let location = app.location("Office").await.id;
    let r = app
        .submit(
            &sbm,
            "/charging",
            &format!("/charging/{location}/ready"),
            &[],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.device("CAM-1").await.status.as_str(), "available");
}

/// The manager could not lend to a visitor, or a borrower could lend to someone else.
#[tokio::test]
async fn a_manager_lends_to_anyone_but_a_borrower_only_to_themselves() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.register_device(&sbm, LAPTOP).await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Bloggs").await;
    app.add_user("sam", "borrower").await;
    assert_eq!(
        app.check_out(&jo, "LAP-1", &[("borrower", "sam")])
            .await
            .status(),
        403
    );
    // sam has not signed: the manager is told so
    let r = app.check_out(&sbm, "LAP-1", &[("borrower", "sam")]).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Sam Test has not signed the acceptable-use policy (v1) yet"));
    let r = app
        .check_out(
            &sbm,
            "LAP-1",
            &[("borrower", "jo"), ("due_on", "2099-01-01")],
        )
        .await;
    assert_eq!(r.status(), 422, "more than a year away");
    let r = app
        .check_out(&sbm, "LAP-1", &[("borrower", "jo"), ("purpose", "Trip")])
        .await;
    assert_eq!(r.status(), 303);
    let loans = app.page(&sbm, "/loans").await;
    assert!(loans.contains("LAP-1") && loans.contains("Jo Test") && loans.contains("Trip"));
    // a second check-out of the same device is refused as not available
    let r = app.check_out(&sbm, "LAP-1", &[("borrower", "jo")]).await;
    assert_eq!(r.status(), 409);
    assert!(
        r.text().await.unwrap().contains("Jo Test (jo) has it."),
        "the page says who has it"
    );
}

/// Two people pressing "check out" at once could both walk away with the same device.
#[tokio::test]
async fn a_hundred_simultaneous_api_check_outs_make_exactly_one_loan() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    let api = reqwest::Client::new();
    let r = app
        .api_post(
            &sbm,
            "/api/v1/devices",
            &json!({"tag": "IPAD-1", "kind": "ipad", "location": "Trolley"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = app.api_post(&sbm, "/api/v1/policies", &json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Be careful."})).await;
    assert_eq!(r.status(), 201);
    let r = app
        .api_post(
            &sbm,
            "/api/v1/policies/current/signatures",
            &json!({"full_name": "Sam B", "position": "SBM"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let tries = (0..100).map(|_| {
        let api = api.clone();
        let url = app.url("/api/v1/devices/IPAD-1/checkout");
        let token = sbm.clone();
        tokio::spawn(async move {
            api.post(url)
                .bearer_auth(token)
                .json(&json!({"purpose": "Lesson"}))
                .send()
                .await
                .unwrap()
        })
    });
    let mut created = 0;
    let mut conflicts = 0;
    for t in tries {
        let r = t.await.unwrap();
        match r.status().as_u16() {
            201 => created += 1,
            409 => {
                let p: Value = r.json().await.unwrap();
                assert_eq!(p["type"], "urn:kitroom:problem:device-not-available");
                conflicts += 1;
            }
            other => panic!("unexpected status {other}"),
        }
    }
    assert_eq!((created, conflicts), (1, 99));
    let events: Value = app
        .api_get(&sbm, "/api/v1/events?after=0")
        .await
        .json()
        .await
        .unwrap();
    let checkouts = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "loan.checked_out")
        .count();
    assert_eq!(checkouts, 1);
}

/// A script could not lend and take back devices, or could not tell which rule refused it.
#[tokio::test]
async fn the_api_lends_returns_and_names_each_refusing_rule() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    let jo = app.api_token("jo", "borrower").await;
    let api = reqwest::Client::new();
    app.api_post(&sbm, "/api/v1/devices", &json!({"tag": "CB-1", "kind": "chromebook", "location": "Computer room", "encryption": {"state": "not_encrypted"}})).await;
    let checkout = |token: &str, body: Value| {
        api.post(app.url("/api/v1/devices/CB-1/checkout"))
            .bearer_auth(token.to_owned())
            .json(&body)
            .send()
    };
    let r = checkout(&jo, json!({})).await.unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:no-policy"
    );
    app.api_post(&sbm, "/api/v1/policies", &json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Be careful."})).await;
    let r = checkout(&jo, json!({})).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:policy-not-signed"
    );
    let current: Value = app
        .api_get(&jo, "/api/v1/policies/current")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(current["version_label"], "v1");
    assert_eq!(current["signed_by_you"], Value::Null);
    let r = app
        .api_post(
            &jo,
            "/api/v1/policies/current/signatures",
            &json!({"full_name": "Jo B", "position": "Teacher"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let r = app
        .api_post(
            &jo,
            "/api/v1/policies/current/signatures",
            &json!({"full_name": "Jo B", "position": "Teacher"}),
        )
        .await;
    assert_eq!(r.status(), 409, "a signature is made once");
    let r = checkout(&jo, json!({"off_site": true})).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:not-encrypted-off-site"
    );
    let r = checkout(&jo, json!({"due_at": "2020-01-01T00:00:00Z"}))
        .await
        .unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:due-in-past"
    );
    let r = checkout(&jo, json!({"borrower": "sbm"})).await.unwrap();
    assert_eq!(r.status(), 403, "a borrower lends only to themselves");
    let r = checkout(&jo, json!({"purpose": "Lesson"})).await.unwrap();
    assert_eq!(r.status(), 201);
    let loan: Value = r.json().await.unwrap();
    assert_eq!(loan["borrower"], "jo");
    assert_eq!(loan["device"], "CB-1");

    let mine: Value = app
        .api_get(&jo, "/api/v1/loans?open=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 1);
    assert_eq!(
        app.api_get(&jo, "/api/v1/loans?borrower=sbm")
            .await
            .status(),
        403
    );

    let ret = |body: Value| {
        api.post(app.url("/api/v1/devices/CB-1/return"))
            .bearer_auth(jo.clone())
            .json(&body)
            .send()
    };
    let r = ret(json!({"battery_percent": 20})).await.unwrap();
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:not-on-charge"
    );
    let r = ret(json!({"battery_percent": 20, "on_charge": true}))
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let back: Value = r.json().await.unwrap();
    assert_eq!(back["location"], "Computer room");
    assert_eq!(back["battery_percent"], 20);
    let r = ret(json!({"on_charge": true})).await.unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:device-not-on-loan"
    );

    let events: Value = app
        .api_get(&sbm, "/api/v1/events?after=0")
        .await
        .json()
        .await
        .unwrap();
    let actions: Vec<&str> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert!(actions.contains(&"policy.published") && actions.contains(&"policy.signed"));
    assert!(actions.contains(&"loan.checked_out") && actions.contains(&"loan.returned"));
    let seqs: Vec<i64> = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["seq"].as_i64().unwrap())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order");
    let after = seqs[seqs.len() - 2];
    let tail: Value = app
        .api_get(&sbm, &format!("/api/v1/events?after={after}"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(tail["items"].as_array().unwrap().len(), 1);
    assert_eq!(app.api_get(&jo, "/api/v1/events").await.status(), 403);
}

/// A late device would not stand out to the manager.
#[tokio::test]
async fn an_overdue_loan_is_highlighted() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    app.api_post(
        &sbm,
        "/api/v1/devices",
        &json!({"tag": "TAB-1", "kind": "tablet", "location": "Library"}),
    )
    .await;
    app.api_post(&sbm, "/api/v1/policies", &json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Be careful."})).await;
    app.api_post(
        &sbm,
        "/api/v1/policies/current/signatures",
        &json!({"full_name": "Sam", "position": "SBM"}),
    )
    .await;
    let due = (chrono::Utc::now() + chrono::Duration::milliseconds(2000)).to_rfc3339();
    let r = app
        .api_post(
            &sbm,
            "/api/v1/devices/TAB-1/checkout",
            &json!({"due_at": due}),
        )
        .await;
    assert_eq!(r.status(), 201);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let overdue: Value = app
        .api_get(&sbm, "/api/v1/loans?overdue=true")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(overdue["total"], 1);
    let c = app.client();
    app.login(&c, "sbm", kitroom_tests::PASSWORD).await;
    let page = app.page(&c, "/loans?view=overdue").await;
    assert!(page.contains("Overdue") && page.contains("TAB-1"));
    let device = app.page(&c, "/devices/TAB-1").await;
    assert!(device.contains("class=\"badge overdue\""));
    let home = app.page(&c, "/").await;
    assert!(home.contains("overdue loan"));
}
