//! Signing in and out, the setup link, sessions, CSRF and throttling.

use kitroom_tests::{spawn_app, PASSWORD};

/// A newcomer who starts Kitroom could not create the first admin account.
#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = spawn_app().await;
    let token = app
        .setup_token
        .clone()
        .expect("a fresh data directory prints a setup link");
    let c = app.client();
    let page = c
        .get(app.url(&format!("/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let form_token = kitroom_tests::csrf_in(&page.text().await.unwrap()).unwrap();
    let r = c
        .post(app.url("/setup"))
        .form(&[
            ("csrf", form_token.as_str()),
            ("token", token.as_str()),
            ("full_name", "Alex Morgan"),
            ("username", "alex"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let devices = c.get(app.url("/devices")).send().await.unwrap();
    assert_eq!(devices.status(), 200, "the new admin is signed in");
    assert!(devices.text().await.unwrap().contains("Alex Morgan"));
    // the link cannot be used again
    let again = app
        .client()
        .get(app.url(&format!("/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
}
