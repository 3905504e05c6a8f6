//! The acceptable-use policy through the API alone: the same commands as the
//! policy pages, so the same refusals, in the same words, and the same events.

use kitroom_tests::{spawn_app, value_of, TestApp};
use serde_json::{json, Value};

const BODY: &str = "## Rules\n\n- Look after devices.";

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

async fn last_seq(app: &TestApp) -> i64 {
    let events = app
        .store()
        .events_after(kitroom_core::school::SchoolId::FIRST, 0, 10_000)
        .await
        .unwrap();
    events.last().map(|e| e.seq).unwrap_or(0)
}

/// A page's answer to a refused form: its status and its text.
struct Refused {
    status: u16,
    text: String,
}

/// The journey through the pages: v1 published; Jo reads it, v2 is published while
/// she reads, her signature on v1 is refused; she signs v2, then tries again; the
/// manager tries to publish v2 a second time. The refusals and the events.
async fn through_the_pages() -> (Vec<Refused>, Vec<(String, String, String, Value)>) {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let jo = app.signed_in("jo", "borrower").await;
    let from = last_seq(&app).await;
    app.publish_policy(&sbm, "v1").await;
    let reading = app.page(&jo, "/policy").await;
    let v1 = value_of(&reading, "policy").expect("the sign form names the version");
    app.publish_policy(&sbm, "v2").await;
    let sign = |policy: String| {
        let (app, jo) = (&app, &jo);
        async move {
            app.submit(
                jo,
                "/policy",
                "/policy/sign",
                &[
                    ("policy", policy.as_str()),
                    ("full_name", "Jo Bloggs"),
                    ("position", "Teacher"),
                    ("agree", "on"),
                ],
            )
            .await
        }
    };
    let mut refusals = Vec::new();
    let r = sign(v1).await;
    refusals.push(Refused {
        status: r.status().as_u16(),
        text: r.text().await.unwrap(),
    });
    let v2 = value_of(&app.page(&jo, "/policy").await, "policy").expect("v2's form");
    assert_eq!(sign(v2.clone()).await.status(), 303, "Jo signs v2");
    let r = sign(v2).await;
    refusals.push(Refused {
        status: r.status().as_u16(),
        text: r.text().await.unwrap(),
    });
    let r = app
        .submit(
            &sbm,
            "/policies",
            "/policies",
            &[
                ("title", "Acceptable use of school devices"),
                ("version_label", "v2"),
                ("issued_on", "2026-09-01"),
                ("body", BODY),
            ],
        )
        .await;
    refusals.push(Refused {
        status: r.status().as_u16(),
        text: r.text().await.unwrap(),
    });
    (refusals, events_since(&app, from).await)
}

fn version(label: &str) -> Value {
    json!({"title": "Acceptable use of school devices", "version_label": label, "issued_on": "2026-09-01", "body": BODY})
}

/// The same journey through the API alone; the signature names the version read as
/// the page's form does.
async fn through_the_api(
    app: &TestApp,
) -> (Vec<(u16, Value)>, Vec<(String, String, String, Value)>) {
    let sbm = app.api_token("sbm", "manager").await;
    let jo = app.api_token("jo", "borrower").await;
    let from = last_seq(app).await;
    let answer = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    };
    let (status, _) = answer(app.api_post(&sbm, "/api/v1/policies", &version("v1")).await).await;
    assert_eq!(status, 201);
    let (_, reading) = answer(app.api_get(&jo, "/api/v1/policies/current").await).await;
    let v1 = reading["id"].as_str().unwrap().to_owned();
    let (status, _) = answer(app.api_post(&sbm, "/api/v1/policies", &version("v2")).await).await;
    assert_eq!(status, 201);
    let sign = |policy: String| {
        let jo = jo.clone();
        async move {
            let body = json!({"policy": policy, "full_name": "Jo Bloggs", "position": "Teacher"});
            app.api_post(&jo, "/api/v1/policies/current/signatures", &body)
                .await
        }
    };
    let mut refusals = Vec::new();
    refusals.push(answer(sign(v1).await).await);
    let (status, signed) = answer(sign("v2".into()).await).await;
    assert_eq!(status, 201, "Jo signs v2, named by its label: {signed}");
    assert_eq!(signed["policy"], "v2");
    assert_eq!(signed["person"], "jo");
    refusals.push(answer(sign("v2".into()).await).await);
    refusals.push(answer(app.api_post(&sbm, "/api/v1/policies", &version("v2")).await).await);
    (refusals, events_since(app, from).await)
}

/// If this broke, a script publishing and signing the policy would be refused
/// differently from a person using the pages (or not refused at all), or leave a
/// different trail in the activity log.
#[tokio::test]
async fn publishing_and_signing_through_the_api_alone_matches_the_pages() {
    let (pages, page_events) = through_the_pages().await;
    let app = spawn_app().await;
    let (api, api_events) = through_the_api(&app).await;
    let words = [
        (
            "policy-superseded",
            "A newer version of the policy was published while you were reading. Read the new version and sign that.",
        ),
        (
            "policy-already-signed",
            "You have already signed this version of the policy.",
        ),
        (
            "policy-version-taken",
            "Version “v2” has already been published. Give this one a new version label.",
        ),
    ];
    for ((page, (status, problem)), (kind, said)) in pages.iter().zip(&api).zip(words) {
        assert_eq!(page.status, 409, "the page refuses: {said}");
        assert!(page.text.contains(said), "the page says: {said}");
        assert_eq!(*status, 409, "the API refuses: {problem}");
        assert_eq!(problem["type"], format!("urn:kitroom:problem:{kind}"));
        assert_eq!(problem["detail"], said);
    }
    let actions: Vec<&str> = api_events.iter().map(|e| e.1.as_str()).collect();
    assert_eq!(
        actions,
        ["policy.published", "policy.published", "policy.signed"]
    );
    assert_eq!(api_events, page_events, "the same events, word for word");
}

/// If this broke, a script could not see the versions, or whom to remind to sign
/// the one in force, as the manager's pages show them.
#[tokio::test]
async fn the_api_lists_versions_and_who_has_signed_one() {
    let app = spawn_app().await;
    through_the_api(&app).await;
    let sbm = app.token_for("sbm").await;
    let jo = app.token_for("jo").await;
    let list: Value = app
        .api_get(&sbm, "/api/v1/policies")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2);
    let labels: Vec<(&str, bool, i64)> = list["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["version_label"].as_str().unwrap(),
                p["in_force"].as_bool().unwrap(),
                p["signed"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(labels, [("v2", true, 1), ("v1", false, 0)]);
    let v2 = list["items"][0]["id"].as_str().unwrap();
    let r = app
        .api_get(&sbm, &format!("/api/v1/policies/{v2}/signatures"))
        .await;
    assert_eq!(r.status(), 200);
    let who: Value = r.json().await.unwrap();
    assert_eq!(who["signed"], 1);
    let jo_row = who["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person"] == "jo")
        .expect("Jo is listed");
    assert_eq!(jo_row["signature"]["full_name"], "Jo Bloggs");
    assert_eq!(jo_row["signature"]["position"], "Teacher");
    let sbm_row = who["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["person"] == "sbm")
        .expect("the manager is listed");
    assert_eq!(sbm_row["signature"], Value::Null);
    for path in [
        "/api/v1/policies".to_owned(),
        format!("/api/v1/policies/{v2}/signatures"),
    ] {
        assert_eq!(app.api_get(&jo, &path).await.status(), 403, "{path}");
    }
    let r = app
        .api_get(&sbm, "/api/v1/policies/not-a-version/signatures")
        .await;
    assert_eq!(r.status(), 404);
}
