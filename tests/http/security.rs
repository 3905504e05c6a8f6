//! Account security a person can see: their signed-in sessions, ending them, and
//! what a password change does to the others.

use kitroom_tests::{spawn_app, TestApp, PASSWORD};
use reqwest::{Client, StatusCode};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// A client that says it is this browser, signed in as `username`.
async fn browser(app: &TestApp, username: &str, user_agent: &str) -> Client {
    let c = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap();
    assert_eq!(app.login(&c, username, PASSWORD).await.status(), 303);
    c
}

async fn account(app: &TestApp, c: &Client) -> reqwest::Response {
    c.get(app.url("/account")).send().await.unwrap()
}

async fn signed_in(app: &TestApp, c: &Client) -> bool {
    account(app, c).await.status() == StatusCode::OK
}

/// The "End" forms on the account page, in order: the id hashes they name.
fn end_forms(page: &str) -> Vec<String> {
    page.match_indices("action=\"/account/sessions/")
        .filter_map(|(at, m)| {
            let rest = &page[at + m.len()..];
            let id = &rest[..rest.find('"')?];
            id.strip_suffix("/end").map(str::to_owned)
        })
        .collect()
}

/// A person who left themselves signed in on a shared computer could not see it or
/// end it from elsewhere.
#[tokio::test]
async fn a_person_sees_where_they_are_signed_in_and_ends_one_session() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let laptop = browser(&app, "teacher", FIREFOX).await;
    let ipad = browser(&app, "teacher", IPAD).await;

    let page = account(&app, &laptop).await.text().await.unwrap();
    assert!(page.contains("Where you are signed in"));
    assert!(
        page.contains("Firefox on Windows"),
        "the laptop's own session"
    );
    assert!(page.contains("Safari on iPad"), "the other session");
    assert!(page.contains("This session"));
    assert!(page.contains("127.0.0.1"), "from which address");
    let ends = end_forms(&page);
    assert_eq!(ends.len(), 1, "only the other session has an End button");

    let token = kitroom_tests::csrf_in(&page).unwrap();
    let r = laptop
        .post(app.url(&format!("/account/sessions/{}/end", ends[0])))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!signed_in(&app, &ipad).await, "the iPad must sign in again");
    let page = account(&app, &laptop).await;
    assert_eq!(page.status(), 200, "the laptop is still signed in");
    let page = page.text().await.unwrap();
    assert!(page.contains("That session has ended"));
    assert!(!page.contains("Safari on iPad"));
    assert!(page.contains("You are not signed in anywhere else."));

    let events = app
        .store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.action == "person.session_ended" && e.actor == "teacher"));
}

/// Someone could sign another person out by guessing or copying a session's name.
#[tokio::test]
async fn a_person_cannot_end_someone_elses_session() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    app.add_user("pupil", "borrower").await;
    let victim = browser(&app, "teacher", FIREFOX).await;
    let other = browser(&app, "pupil", IPAD).await;
    // Another browser of the teacher's shows the victim session's id hash.
    let second = browser(&app, "teacher", IPAD).await;
    let page = account(&app, &second).await.text().await.unwrap();
    let victim_id = end_forms(&page).pop().unwrap();

    let token = app.csrf(&other, "/account").await;
    let r = other
        .post(app.url(&format!("/account/sessions/{victim_id}/end")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = account(&app, &other).await.text().await.unwrap();
    assert!(page.contains("That session had already ended."));
    assert!(
        signed_in(&app, &victim).await,
        "the teacher is still signed in"
    );
}

/// A person who thinks their password was seen could not throw everyone else out.
#[tokio::test]
async fn sign_out_everywhere_else_keeps_only_this_session() {
    let app = spawn_app().await;
    app.add_user("sbm", "borrower").await;
    let here = browser(&app, "sbm", FIREFOX).await;
    let a = browser(&app, "sbm", IPAD).await;
    let b = browser(&app, "sbm", IPAD).await;
    let r = app
        .submit(&here, "/account", "/account/sessions/end-others", &[])
        .await;
    assert_eq!(r.status(), 303);
    assert!(!signed_in(&app, &a).await);
    assert!(!signed_in(&app, &b).await);
    let page = account(&app, &here).await.text().await.unwrap();
    assert!(page.contains("You are now signed out of 2 other sessions."));
    assert!(end_forms(&page).is_empty());
}

/// A stolen session would outlive the password change meant to shut the thief out.
#[tokio::test]
async fn a_password_change_or_reset_ends_every_other_session() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let here = browser(&app, "teacher", FIREFOX).await;
    let elsewhere = browser(&app, "teacher", IPAD).await;
    let r = app
        .submit(
            &here,
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "a fresh long password"),
                ("confirm", "a fresh long password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(signed_in(&app, &here).await, "the person changing it stays");
    assert!(
        !signed_in(&app, &elsewhere).await,
        "the other session ended"
    );

    // Reset by a manager: every session of that person ends, including `here`.
    let sbm = app.signed_in("sbm", "manager").await;
    let r = app
        .submit(
            &sbm,
            "/people/teacher",
            "/people/teacher/password",
            &[("password", "the manager's choice")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(!signed_in(&app, &here).await);
    assert!(signed_in(&app, &sbm).await);
}
