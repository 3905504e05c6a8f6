//! People through the API alone: the same commands as the people pages, so the
//! same rule (`may_manage_account`, asked inside the write transaction), the same
//! outcomes and the same events.

use kitroom_store::events::EventFilter;
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::{json, Value};

const NEW_PASSWORD: &str = "a perfectly long new password";

/// The actions recorded about one person, oldest first.
async fn actions(app: &TestApp, username: &str) -> Vec<String> {
    let p = app
        .store()
        .account_by_username(username)
        .await
        .unwrap()
        .expect("the person exists");
    let mut events = app
        .store()
        .list_events(&EventFilter {
            person: Some(p.id),
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    events.sort_by_key(|e| e.seq);
    events.into_iter().map(|e| e.action).collect()
}

/// What a deactivated person meets: signing in (status) and a manager lending them a
/// device through the API (status and problem type).
async fn shut_out(app: &TestApp, manager_token: &str, username: &str) -> (u16, u16, Value) {
    let c = app.client();
    let signed = app
        .login(&c, username, NEW_PASSWORD)
        .await
        .status()
        .as_u16();
    let r = Client::new()
        .post(app.url("/api/v1/devices/LAP-1/checkout"))
        .bearer_auth(manager_token)
        .json(&json!({"borrower": username}))
        .send()
        .await
        .unwrap();
    let status = r.status().as_u16();
    let body: Value = r.json().await.unwrap();
    (signed, status, body["type"].clone())
}

/// A person added and deactivated through the API would sign in or borrow where
/// one added and deactivated on the pages cannot, or leave a different trail in the
/// activity log.
#[tokio::test]
async fn a_person_added_and_deactivated_through_the_api_is_shut_out_as_on_the_pages() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let token = app.token_for("sbm").await;
    let r = app
        .register_device(
            &sbm,
            &[
                ("tag", "LAP-1"),
                ("kind", "laptop"),
                ("location", "Library"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    app.publish_policy(&sbm, "v1").await;

    // through the pages
    let r = app
        .submit(
            &sbm,
            "/people/new",
            "/people",
            &[
                ("username", "pg"),
                ("full_name", "Page Person"),
                ("kind", "staff"),
                ("role", "borrower"),
                ("password", NEW_PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(
            &sbm,
            "/people/pg",
            "/people/pg/active",
            &[("active", "false")],
        )
        .await;
    assert_eq!(r.status(), 303);

    // through the API alone
    let api = Client::new();
    let r = api
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .json(&json!({
            "username": "ap", "full_name": "Api Person", "kind": "staff",
            "role": "borrower", "password": NEW_PASSWORD,
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["username"], "ap");
    assert_eq!(made["active"], true);
    assert!(
        !made.to_string().contains("argon2"),
        "no password hash: {made}"
    );
    let r = api
        .post(app.url("/api/v1/people/ap/deactivate"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let gone: Value = r.json().await.unwrap();
    assert_eq!(gone["active"], false);

    // the same outcome: neither signs in, neither can be lent a device
    let page = shut_out(&app, &token, "pg").await;
    let through_api = shut_out(&app, &token, "ap").await;
    assert_eq!(page, through_api);
    assert_ne!(page.0, 303, "a deactivated person cannot sign in");
    assert_eq!(page.1, 422, "{:?}", page.2);

    // the same events
    let page = actions(&app, "pg").await;
    assert_eq!(page, actions(&app, "ap").await);
    assert!(page.contains(&"person.created".to_owned()), "{page:?}");
    assert!(page.contains(&"person.deactivated".to_owned()), "{page:?}");

    // the listing shows them only when asked for inactive accounts, never a hash
    let list: Value = api
        .get(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!list.to_string().contains("\"ap\""), "{list}");
    let list: Value = api
        .get(app.url("/api/v1/people?inactive=true"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(list.to_string().contains("\"ap\""), "{list}");
    assert!(!list.to_string().contains("argon2"), "{list}");

    // and back again, through the API
    let r = api
        .post(app.url("/api/v1/people/ap/reactivate"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        app.login(&app.client(), "ap", NEW_PASSWORD).await.status(),
        303
    );
    assert_eq!(
        actions(&app, "ap").await.last().map(String::as_str),
        Some("person.signed_in")
    );
}

/// A manager's token could make an administrator, take over the head teacher's
/// account or change the school's settings, which the pages refuse them.
#[tokio::test]
async fn a_managers_token_cannot_make_an_admin_or_reset_the_head() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    app.add_user("hd", "head").await;
    let api = Client::new();
    let r = api
        .post(app.url("/api/v1/people"))
        .bearer_auth(&token)
        .json(&json!({"username": "boss", "full_name": "New Boss", "role": "admin"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("Only an IT administrator can manage administrator accounts"),
        "{body}"
    );
    assert!(app
        .store()
        .account_by_username("boss")
        .await
        .unwrap()
        .is_none());
    for (path, body) in [
        (
            "/api/v1/people/hd/password-reset",
            json!({"password": NEW_PASSWORD}),
        ),
        ("/api/v1/people/hd/two-factor-reset", json!({})),
        ("/api/v1/people/hd/deactivate", json!({})),
    ] {
        let r = api
            .post(app.url(path))
            .bearer_auth(&token)
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 403, "{path}");
    }
    let r = api
        .patch(app.url("/api/v1/people/hd"))
        .bearer_auth(&token)
        .json(&json!({"full_name": "Someone Else"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // the head still signs in with their own password
    assert_eq!(
        app.login(&app.client(), "hd", kitroom_tests::PASSWORD)
            .await
            .status(),
        303
    );
    let r = api
        .get(app.url("/api/v1/settings"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

/// The actions in the activity log whose subject's key starts with `prefix`, oldest
/// first.
async fn actions_about(app: &TestApp, prefix: &str) -> Vec<String> {
    let mut events = app
        .store()
        .list_events(&EventFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap();
    events.sort_by_key(|e| e.seq);
    events
        .into_iter()
        .filter(|e| e.action.starts_with(prefix))
        .map(|e| e.action)
        .collect()
}

/// A location added or renamed through the API would be refused where the page
/// allows it (or the reverse), or leave a different trail in the activity log.
#[tokio::test]
async fn locations_through_the_api_are_added_and_renamed_as_on_the_page() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let token = app.token_for("sbm").await;
    let r = app
        .submit(&sbm, "/locations", "/locations", &[("name", "Library")])
        .await;
    assert_eq!(r.status(), 303);
    let page = actions_about(&app, "location.").await;
    let api = Client::new();
    let r = api
        .post(app.url("/api/v1/locations"))
        .bearer_auth(&token)
        .json(&json!({"name": "ICT room"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["name"], "ICT room");
    assert_eq!(
        actions_about(&app, "location.").await,
        [page.clone(), page].concat()
    );
    // a name in use is refused beside the name, as the page refuses it
    let r = api
        .post(app.url("/api/v1/locations"))
        .bearer_auth(&token)
        .json(&json!({"name": "library"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let r = app
        .submit(&sbm, "/locations", "/locations", &[("name", "library")])
        .await;
    assert_eq!(r.status(), 422);
    let id = made["id"].as_str().unwrap();
    let r = api
        .patch(app.url(&format!("/api/v1/locations/{id}")))
        .bearer_auth(&token)
        .json(&json!({"name": "Computer room"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let list: Value = api
        .get(app.url("/api/v1/locations"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 2, "{list}");
    assert!(list.to_string().contains("Computer room"), "{list}");
    assert_eq!(
        actions_about(&app, "location.")
            .await
            .last()
            .map(String::as_str),
        Some("location.renamed")
    );
}

/// The school calendar sent through the API would be read differently from the
/// same calendar typed on the page, or a manager's token could change it.
#[tokio::test]
async fn the_calendar_through_the_api_reads_as_the_page_does() {
    let app = spawn_app().await;
    let it = app.signed_in("it", "admin").await;
    let token = app.token_for("it").await;
    let r = app
        .submit(
            &it,
            "/calendar",
            "/calendar",
            &[
                ("periods", "Period 1, 09:00-10:00\nPeriod 2, 10:00-11:00"),
                ("terms", "Autumn term, 2026-09-03 to 2026-12-18"),
                ("holidays", "Half term, 2026-10-26 to 2026-10-30"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let api = Client::new();
    let from_page: Value = api
        .get(app.url("/api/v1/calendar"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(from_page["periods"][1]["ends"], "11:00", "{from_page}");
    // the same calendar back through the API changes nothing
    let r = api
        .put(app.url("/api/v1/calendar"))
        .bearer_auth(&token)
        .json(&from_page)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), from_page);
    assert_eq!(actions_about(&app, "calendar.").await, ["calendar.changed"]);
    // a bad line is refused, as on the page
    let r = api
        .put(app.url("/api/v1/calendar"))
        .bearer_auth(&token)
        .json(&json!({"periods": [{"name": "Period 1", "starts": "25:00", "ends": "26:00"}]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let manager = app.api_token("sbm", "manager").await;
    let r = api
        .put(app.url("/api/v1/calendar"))
        .bearer_auth(&manager)
        .json(&from_page)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}
