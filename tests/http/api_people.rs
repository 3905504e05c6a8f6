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
        .person_by_username(username)
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
        .person_by_username("boss")
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
