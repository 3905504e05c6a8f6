//! Races: many people pressing the button at the same moment. Exactly one wins, the
//! rest are told plainly (409), and the activity log records what happened once.
//! (A hundred check-outs of one device race in `loans.rs`.)

use kitroom_store::events::EventFilter;
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::{json, Value};

const N: usize = 30;

/// A manager with a token who has signed the policy, and one registered device.
async fn lending(app: &TestApp) -> String {
    let sbm = app.api_token("sbm", "manager").await;
    app.api_create(
        &sbm,
        &[(
            "/api/v1/devices",
            json!({"tag": "IPAD-1", "kind": "ipad", "location": "Trolley"}),
        )],
    )
    .await;
    app.api_publish_policy(&sbm).await;
    app.api_sign_policy(&sbm, "Sam B").await;
    sbm
}

/// Fires these requests all at once; returns each one's status and body.
async fn at_once(reqs: Vec<reqwest::RequestBuilder>) -> Vec<(u16, String)> {
    let tasks: Vec<_> = reqs
        .into_iter()
        .map(|r| {
            tokio::spawn(async move {
                let r = r.send().await.unwrap();
                (r.status().as_u16(), r.text().await.unwrap())
            })
        })
        .collect();
    let mut out = Vec::new();
    for t in tasks {
        out.push(t.await.unwrap());
    }
    out
}

fn api_post(app: &TestApp, token: &str, path: &str, body: Value) -> reqwest::RequestBuilder {
    Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
}

/// How many events of `action` the device's history has.
async fn events(app: &TestApp, action: &str) -> usize {
    let d = app.device("IPAD-1").await;
    app.store()
        .list_events(&EventFilter {
            device: Some(d.id),
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .iter()
        .filter(|e| e.action == action)
        .count()
}

fn count(results: &[(u16, String)], status: u16) -> usize {
    results.iter().filter(|(s, _)| *s == status).count()
}

/// A device reported lost at the moment someone checks it out could end up lost and
/// on loan, or on two loans.
#[tokio::test]
async fn check_outs_racing_loss_reports_leave_one_consistent_story() {
    let app = spawn_app().await;
    let sbm = lending(&app).await;
    let web = app.signed_in("tech", "manager").await;
    let csrf = app.csrf(&web, "/devices/IPAD-1").await;
    let mut reqs = Vec::new();
    for i in 0..N {
        if i % 3 == 0 {
            reqs.push(web.post(app.url("/devices/IPAD-1/status")).form(&[
                ("csrf", csrf.as_str()),
                ("change", "report_lost"),
                ("note", "Not on the trolley"),
            ]));
        } else {
            reqs.push(api_post(
                &app,
                &sbm,
                "/api/v1/devices/IPAD-1/checkout",
                json!({}),
            ));
        }
    }
    let results = at_once(reqs).await;
    let (losses, checkouts): (Vec<_>, Vec<_>) = results
        .into_iter()
        .enumerate()
        .partition(|(i, _)| i % 3 == 0);
    let losses: Vec<_> = losses.into_iter().map(|(_, r)| r).collect();
    let checkouts: Vec<_> = checkouts.into_iter().map(|(_, r)| r).collect();
    // the page answers a successful status change with a redirect
    assert_eq!(count(&losses, 303), 1, "one loss report wins: {losses:?}");
    assert_eq!(count(&losses, 409), losses.len() - 1, "{losses:?}");
    assert!(losses
        .iter()
        .filter(|(s, _)| *s == 409)
        .all(|(_, b)| b.contains("That cannot be done now")));
    let won = count(&checkouts, 201);
    assert!(won <= 1, "at most one check-out: {checkouts:?}");
    assert_eq!(count(&checkouts, 409), checkouts.len() - won);
    for (s, b) in &checkouts {
        if *s == 409 {
            let p: Value = serde_json::from_str(b).unwrap();
            assert_eq!(p["type"], "urn:kitroom:problem:device-not-available");
        }
    }
    assert_eq!(events(&app, "loan.checked_out").await, won);
    assert_eq!(events(&app, "device.status_changed").await, 1);
    let d = app.device("IPAD-1").await;
    assert_eq!(d.status.as_str(), "lost");
    assert!(
        app.store().open_loan(d.id).await.unwrap().is_none(),
        "a lost device is on no open loan"
    );
}

/// A device handed back at the moment someone else tries to take it.
#[tokio::test]
async fn returns_racing_check_outs_make_one_return_and_no_new_loan() {
    let app = spawn_app().await;
    let sbm = lending(&app).await;
    let r = api_post(&app, &sbm, "/api/v1/devices/IPAD-1/checkout", json!({}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let loan: Value = r.json().await.unwrap();
    let reqs = (0..N)
        .map(|i| {
            if i % 2 == 0 {
                api_post(
                    &app,
                    &sbm,
                    "/api/v1/devices/IPAD-1/return",
                    json!({"on_charge": true}),
                )
            } else {
                api_post(&app, &sbm, "/api/v1/devices/IPAD-1/checkout", json!({}))
            }
        })
        .collect();
    let results = at_once(reqs).await;
    let returns: Vec<_> = results.iter().step_by(2).cloned().collect();
    let checkouts: Vec<_> = results.iter().skip(1).step_by(2).cloned().collect();
    assert_eq!(count(&returns, 200), 1, "one return wins: {returns:?}");
    assert_eq!(count(&returns, 409), returns.len() - 1, "{returns:?}");
    // a returned device charges before it is lent again, so every check-out is refused
    assert_eq!(count(&checkouts, 409), checkouts.len(), "{checkouts:?}");
    let winner = returns.iter().find(|(s, _)| *s == 200).unwrap();
    let back: Value = serde_json::from_str(&winner.1).unwrap();
    assert_eq!(back["id"], loan["id"]);
    assert_eq!(events(&app, "loan.returned").await, 1);
    assert_eq!(events(&app, "loan.checked_out").await, 1);
    for (_, b) in returns.iter().filter(|(s, _)| *s == 409) {
        let p: Value = serde_json::from_str(b).unwrap();
        assert!(p["detail"].as_str().unwrap().contains("not on loan"), "{p}");
    }
}

/// Two people at the desk both take the same device back.
#[tokio::test]
async fn two_returns_of_one_loan_close_it_once() {
    let app = spawn_app().await;
    let sbm = lending(&app).await;
    let desk = app.api_token("desk", "manager").await;
    for round in 0..5 {
        // mark it ready again between rounds
        if round > 0 {
            let r = api_post(&app, &desk, "/api/v1/devices/IPAD-1/ready", json!({}))
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
        }
        let r = api_post(&app, &sbm, "/api/v1/devices/IPAD-1/checkout", json!({}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
        let results = at_once(vec![
            api_post(
                &app,
                &sbm,
                "/api/v1/devices/IPAD-1/return",
                json!({"on_charge": true}),
            ),
            api_post(
                &app,
                &desk,
                "/api/v1/devices/IPAD-1/return",
                json!({"on_charge": true}),
            ),
        ])
        .await;
        let mut statuses: Vec<u16> = results.iter().map(|(s, _)| *s).collect();
        statuses.sort();
        assert_eq!(statuses, [200, 409], "round {round}: {results:?}");
        assert_eq!(events(&app, "loan.returned").await, round + 1);
    }
}

/// An IT administrator runs `kitroom token create` (its own connection to the
/// file) while staff check devices out and in: the command must not fail with
/// "database is locked" because the server wrote between its read and its write.
#[tokio::test]
async fn the_command_line_writes_while_the_server_is_busy() {
    let app = spawn_app().await;
    let sbm = lending(&app).await;
    for n in 0..10 {
        app.add_user(&format!("it{n}"), "admin").await;
    }
    let busy = {
        let (url, sbm) = (app.url(""), sbm.clone());
        tokio::spawn(async move {
            let client = Client::new();
            for _ in 0..60 {
                for path in ["checkout", "return"] {
                    let body = if path == "return" {
                        json!({"location": "Trolley", "battery_percent": 80})
                    } else {
                        json!({})
                    };
                    client
                        .post(format!("{url}/api/v1/devices/IPAD-1/{path}"))
                        .bearer_auth(&sbm)
                        .json(&body)
                        .send()
                        .await
                        .unwrap();
                }
                client
                    .post(format!("{url}/api/v1/devices/IPAD-1/ready"))
                    .bearer_auth(&sbm)
                    .send()
                    .await
                    .unwrap();
            }
        })
    };
    for _round in 0..3 {
        for n in 0..10 {
            app.token_for(&format!("it{n}")).await;
        }
    }
    busy.await.unwrap();
}

/// The numbers `/healthz` gives for the writer: writes, commits, largest group.
async fn write_counts(app: &TestApp) -> (u64, u64, u64) {
    let text = reqwest::get(app.url("/healthz"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("writes since start: "))
        .unwrap_or_else(|| panic!("no writes line in {text}"));
    let n: Vec<u64> = line
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|w| w.parse().ok())
        .collect();
    (n[0], n[1], n[2])
}

/// Check-outs arriving together are committed together; if one refused check-out
/// undid the others of its group, teachers would be told "done" for loans that do
/// not exist, or be refused for nothing.
#[tokio::test]
async fn refused_check_outs_in_a_group_leave_the_others_committed() {
    let app = spawn_app().await;
    let sbm = lending(&app).await;
    let devices: Vec<(&str, Value)> = (2..=2 * N)
        .map(|i| {
            (
                "/api/v1/devices",
                json!({"tag": format!("IPAD-{i}"), "kind": "ipad", "location": "Trolley"}),
            )
        })
        .collect();
    app.api_create(&sbm, &devices).await;
    let before = write_counts(&app).await;
    // IPAD-1 to N once each, IPAD-1 N more times (only one can win), and IPAD-N+1
    // to 2N each asking for a due date in the past (refused inside the write).
    let mut reqs = Vec::new();
    for i in 1..=N {
        reqs.push(api_post(
            &app,
            &sbm,
            &format!("/api/v1/devices/IPAD-{i}/checkout"),
            json!({"purpose": "lesson"}),
        ));
        reqs.push(api_post(
            &app,
            &sbm,
            "/api/v1/devices/IPAD-1/checkout",
            json!({"purpose": "lesson"}),
        ));
        reqs.push(api_post(
            &app,
            &sbm,
            &format!("/api/v1/devices/IPAD-{}/checkout", N + i),
            json!({"purpose": "lesson", "due_on": "2000-01-01"}),
        ));
    }
    let results = at_once(reqs).await;
    assert_eq!(count(&results, 201), N, "{results:?}");
    assert_eq!(count(&results, 409), N, "{results:?}");
    assert_eq!(count(&results, 422), N, "{results:?}");
    for i in 1..=N {
        let d = app
            .store()
            .device_by_tag(kitroom_core::school::SchoolId::FIRST, &format!("IPAD-{i}"))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d.status.as_str(), "on_loan", "IPAD-{i}");
        let refused = app
            .store()
            .device_by_tag(
                kitroom_core::school::SchoolId::FIRST,
                &format!("IPAD-{}", N + i),
            )
            .await
            .unwrap()
            .unwrap();
        assert_eq!(refused.status.as_str(), "available", "IPAD-{}", N + i);
    }
    assert_eq!(events(&app, "loan.checked_out").await, 1);
    let (checked, _) = app.store().verify_log().await.unwrap().unwrap();
    assert!(checked > N as u64);
    let after = write_counts(&app).await;
    let (writes, commits) = (after.0 - before.0, after.1 - before.1);
    assert!(
        writes >= 2 * N as u64,
        "the writes that reached the writer: {before:?} {after:?}"
    );
    assert!(
        commits < writes && after.2 > 1,
        "writes arriving together share commits: {before:?} {after:?}"
    );
}
