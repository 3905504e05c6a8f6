//! Stocktakes through the API alone: the same commands as the stocktake pages, so
//! the same results, the same refusals and the same events.

use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::{json, Value};

/// Three Chromebooks that live in the computer room and one that lives in the
/// library; a manager signed in to the pages, and the same manager's token. The
/// sequence number of the last event before the stocktake.
async fn school(app: &TestApp) -> (Client, String, i64) {
    let sbm = app.signed_in("sbm", "manager").await;
    for (tag, location) in [
        ("CB-1", "Computer room"),
        ("CB-2", "Computer room"),
        ("CB-3", "Computer room"),
        ("LIB-1", "Library"),
    ] {
        let r = app
            .register_device(
                &sbm,
                &[("tag", tag), ("kind", "chromebook"), ("location", location)],
            )
            .await;
        assert_eq!(r.status(), 303, "{tag}");
    }
    let token = app.token_for("sbm").await;
    let last = app
        .store()
        .events_after(kitroom_core::school::SchoolId::FIRST, 0, 1000)
        .await
        .unwrap();
    (sbm, token, last.last().map(|e| e.seq).unwrap_or(0))
}

async fn post(app: &TestApp, token: &str, path: &str, body: Value) -> (u16, Value) {
    app.api_post_json(token, path, &body).await
}

async fn get(app: &TestApp, token: &str, path: &str) -> (u16, Value) {
    app.api_get_json(token, path).await
}

/// Each event after `after`: who did what to what, with what details.
async fn events_since(app: &TestApp, after: i64) -> Vec<(String, String, String, Value)> {
    app.store()
        .events_after(kitroom_core::school::SchoolId::FIRST, after, 1000)
        .await
        .unwrap()
        .into_iter()
        .map(|e| {
            let details = e.details_json();
            (e.actor, e.action, e.subject_label, details)
        })
        .collect()
}

/// Every device's outcome, its last-audit date and where it lives now.
async fn register_after(app: &TestApp) -> Vec<(String, Option<chrono::NaiveDate>, String)> {
    let mut out = Vec::new();
    for tag in ["CB-1", "CB-2", "CB-3", "LIB-1"] {
        let d = app.device(tag).await;
        out.push((tag.to_owned(), d.last_audited_on, d.details.location));
    }
    out
}

/// The journey through the pages: open a stocktake of the computer room, scan two
/// of its Chromebooks (one twice) and the library's, mistype a tag, close it, and
/// move the library's Chromebook to where it was found. Each device's outcome.
async fn through_the_pages(app: &TestApp, sbm: &Client) -> Vec<(String, String)> {
    let room = app.location("Computer room").await.id;
    let r = app
        .submit(
            sbm,
            "/stocktakes",
            "/stocktakes",
            &[("location", &room.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let url = r.headers()["location"].to_str().unwrap().to_owned();
    for tag in ["CB-1", "cb-2", "LIB-1", "CB-1", "NOPE-1"] {
        let r = app
            .submit(sbm, &url, &format!("{url}/scan"), &[("tag", tag)])
            .await;
        // an unknown tag is an error on the page (issue 17), not a notice
        let expected = if tag == "NOPE-1" { 422 } else { 303 };
        assert_eq!(r.status(), expected, "{tag}");
    }
    let r = app
        .submit(sbm, &url, &format!("{url}/close"), &[("confirm", "yes")])
        .await;
    assert_eq!(r.status(), 303);
    let lib = app.device("LIB-1").await;
    let r = app
        .submit(sbm, &url, &format!("{url}/move/{}", lib.id), &[])
        .await;
    assert_eq!(r.status(), 303);
    let csv = sbm
        .get(app.url(&format!("{url}/results.csv")))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let mut outcomes: Vec<(String, String)> = csv
        .lines()
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.split(',').collect();
            (cells[0].to_owned(), cells[2].to_owned())
        })
        .collect();
    outcomes.sort();
    outcomes
}

/// A script running the yearly stocktake would get different results, or leave a
/// different trail in the activity log, from the manager doing it on the pages.
#[tokio::test]
async fn a_stocktake_from_open_to_close_through_the_api_matches_the_pages() {
    let pages = spawn_app().await;
    let (sbm, _, before) = school(&pages).await;
    let page_outcomes = through_the_pages(&pages, &sbm).await;
    let page_events = events_since(&pages, before).await;

    let api = spawn_app().await;
    let (_, token, before) = school(&api).await;
    let (status, opened) = post(
        &api,
        &token,
        "/api/v1/stocktakes",
        json!({"location": "computer room"}),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["location"], "Computer room");
    assert_eq!(opened["status"], "open");
    assert_eq!(opened["expected"], 3);
    let id = opened["id"].as_str().unwrap().to_owned();
    let scans = format!("/api/v1/stocktakes/{id}/scans");

    let (status, seen) = post(&api, &token, &scans, json!({"tag": "CB-1"})).await;
    assert_eq!(status, 201, "{seen}");
    assert_eq!(seen["result"], "seen");
    assert_eq!(seen["message"], "✓ CB-1 seen.");
    let (status, seen) = post(&api, &token, &scans, json!({"tag": "cb-2"})).await;
    assert_eq!(status, 201, "{seen}");
    assert_eq!(seen["device"], "CB-2", "the register's spelling");
    // the label's address, as a phone's camera reads it, names the device too
    let (status, seen) = post(
        &api,
        &token,
        &scans,
        json!({"tag": format!("{}/d/LIB-1", api.base)}),
    )
    .await;
    assert_eq!(status, 201, "{seen}");
    assert_eq!(seen["elsewhere"], true);
    // LIB-1 belongs elsewhere: it is in the result, but not one of the three
    // expected (issue 17: it raised the count to "3 of 3 seen")
    assert_eq!(seen["stocktake"]["progress"], "2 of 3 seen");
    let (status, again) = post(&api, &token, &scans, json!({"tag": "CB-1"})).await;
    assert_eq!(status, 200, "{again}");
    assert_eq!(again["result"], "already_seen");
    let (status, _) = post(&api, &token, &scans, json!({"tag": "NOPE-1"})).await;
    assert_eq!(status, 422);

    // while open, the stocktake shows what is not seen yet
    let (status, open) = get(&api, &token, &format!("/api/v1/stocktakes/{id}")).await;
    assert_eq!(status, 200, "{open}");
    let unseen: Vec<&str> = open["unseen"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["device"].as_str().unwrap())
        .collect();
    assert_eq!(unseen, ["CB-3"]);

    let (status, closed) = post(
        &api,
        &token,
        &format!("/api/v1/stocktakes/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["status"], "closed");
    assert_eq!(
        closed["counts"],
        json!({"seen": 2, "seen_elsewhere": 1, "on_loan": 0, "missing": 1})
    );
    let (status, moved) = post(
        &api,
        &token,
        &format!("/api/v1/stocktakes/{id}/move-here"),
        json!({"tag": "LIB-1"}),
    )
    .await;
    assert_eq!(status, 200, "{moved}");
    assert_eq!(
        moved,
        json!({"device": "LIB-1", "from": "Library", "to": "Computer room"})
    );
    // a second move has nothing left to do
    let (status, again) = post(
        &api,
        &token,
        &format!("/api/v1/stocktakes/{id}/move-here"),
        json!({"tag": "LIB-1"}),
    )
    .await;
    assert_eq!(status, 409, "{again}");

    let (status, result) = get(&api, &token, &format!("/api/v1/stocktakes/{id}")).await;
    assert_eq!(status, 200);
    let mut api_outcomes: Vec<(String, String)> = result["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["device"].as_str().unwrap().to_owned(),
                r["outcome"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    api_outcomes.sort();
    assert_eq!(api_outcomes, page_outcomes);
    assert_eq!(
        api_outcomes,
        [
            ("CB-1".to_owned(), "seen".to_owned()),
            ("CB-2".to_owned(), "seen".to_owned()),
            ("CB-3".to_owned(), "missing".to_owned()),
            ("LIB-1".to_owned(), "seen_elsewhere".to_owned()),
        ]
    );
    assert_eq!(register_after(&api).await, register_after(&pages).await);
    let (status, list) = get(&api, &token, "/api/v1/stocktakes").await;
    assert_eq!(status, 200);
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["id"], id.as_str());

    let api_events = events_since(&api, before).await;
    let actions: Vec<&str> = api_events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        actions,
        [
            "stocktake.opened",
            "stocktake.seen",
            "stocktake.seen",
            "stocktake.seen",
            "stocktake.closed",
            "device.updated"
        ]
    );
    assert_eq!(api_events, page_events, "the same trail, detail for detail");
}

/// A borrower's script could run or read the school's stocktakes.
#[tokio::test]
async fn a_borrowers_token_is_refused_every_stocktake_route() {
    let app = spawn_app().await;
    let (_, token, _) = school(&app).await;
    let (_, opened) = post(&app, &token, "/api/v1/stocktakes", json!({})).await;
    let id = opened["id"].as_str().unwrap().to_owned();
    let jo = app.api_token("jo", "borrower").await;
    assert_eq!(get(&app, &jo, "/api/v1/stocktakes").await.0, 403);
    assert_eq!(
        get(&app, &jo, &format!("/api/v1/stocktakes/{id}")).await.0,
        403
    );
    let (status, problem) = post(&app, &jo, "/api/v1/stocktakes", json!({})).await;
    assert_eq!(status, 403, "{problem}");
    for (path, body) in [
        ("scans", json!({"tag": "CB-1"})),
        ("close", json!({})),
        ("move-here", json!({"tag": "CB-1"})),
    ] {
        let (status, _) = post(&app, &jo, &format!("/api/v1/stocktakes/{id}/{path}"), body).await;
        assert_eq!(status, 403, "{path}");
    }
    let s = app
        .store()
        .stocktake(kitroom_core::school::SchoolId::FIRST, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert!(s.is_open() && s.seen == 0, "nothing changed");
}

/// A script with a wrong or stale id would get a server error or a confusing
/// answer instead of "not found".
#[tokio::test]
async fn an_unknown_stocktake_is_not_found() {
    let app = spawn_app().await;
    let (_, token, _) = school(&app).await;
    for id in ["00000000-0000-4000-8000-000000000000", "not-an-id"] {
        let (status, problem) = get(&app, &token, &format!("/api/v1/stocktakes/{id}")).await;
        assert_eq!(status, 404, "{id}: {problem}");
        assert_eq!(
            problem["type"], "urn:kitroom:problem:not-found",
            "{problem}"
        );
        let (status, _) = post(
            &app,
            &token,
            &format!("/api/v1/stocktakes/{id}/scans"),
            json!({"tag": "CB-1"}),
        )
        .await;
        assert_eq!(status, 404, "{id}");
        let (status, _) = post(
            &app,
            &token,
            &format!("/api/v1/stocktakes/{id}/close"),
            json!({}),
        )
        .await;
        assert_eq!(status, 404, "{id}");
    }
}

/// A mistyped or unregistered label would be silently ignored, or answered with a
/// server error, instead of telling the person scanning what to do.
#[tokio::test]
async fn a_scan_of_an_unknown_tag_says_so() {
    let app = spawn_app().await;
    let (_, token, _) = school(&app).await;
    let (status, opened) = post(
        &app,
        &token,
        "/api/v1/stocktakes",
        json!({"scope": "whole_school"}),
    )
    .await;
    assert_eq!(status, 201, "{opened}");
    assert_eq!(opened["scope"], "whole_school");
    let id = opened["id"].as_str().unwrap().to_owned();
    let scans = format!("/api/v1/stocktakes/{id}/scans");
    let (status, problem) = post(&app, &token, &scans, json!({"tag": "NOPE-1"})).await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["type"], "urn:kitroom:problem:unknown-tag",
        "{problem}"
    );
    assert_eq!(
        problem["detail"],
        "No device has the tag “NOPE-1”. Check the label; if it is new, register it first."
    );
    assert!(problem["errors"].to_string().contains("tag"), "{problem}");
    // nothing scanned, a place that does not exist, a field it does not know
    for body in [
        json!({"tag": "  "}),
        json!({"tag": "CB-1", "at": "Moon base"}),
        json!({"tag": "CB-1", "room": "Hall"}),
    ] {
        let (status, problem) = post(&app, &token, &scans, body.clone()).await;
        assert_eq!(status, 422, "{body}: {problem}");
        assert!(!problem["detail"].as_str().unwrap().is_empty());
    }
    // a second whole-school stocktake beside the open one is a conflict
    let (status, problem) = post(&app, &token, "/api/v1/stocktakes", json!({})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["type"], "urn:kitroom:problem:stocktake-already-open",
        "{problem}"
    );
    // a location that does not exist is not opened (nor created)
    let (status, problem) = post(
        &app,
        &token,
        "/api/v1/stocktakes",
        json!({"location": "Moon base"}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    let s = app
        .store()
        .stocktake(kitroom_core::school::SchoolId::FIRST, id.parse().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(s.seen, 0, "nothing was marked");
    // once closed, it takes no more scans
    let (status, _) = post(
        &app,
        &token,
        &format!("/api/v1/stocktakes/{id}/close"),
        json!({}),
    )
    .await;
    assert_eq!(status, 200);
    let (status, problem) = post(&app, &token, &scans, json!({"tag": "CB-1"})).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["detail"], "This stocktake is closed.");
}
