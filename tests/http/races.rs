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
    let d = app.store().device_by_tag("IPAD-1").await.unwrap().unwrap();
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
    let d = app.store().device_by_tag("IPAD-1").await.unwrap().unwrap();
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
