//! "Lend to": a manager finds the borrower by full name or username, on the pages
//! (with a plain search that works without JavaScript) and on the API.

use kitroom_core::person::PersonInput;
use kitroom_tests::{spawn_app, TestApp, PASSWORD};
use reqwest::Client;
use serde_json::{json, Value};

const LAPTOP: &[(&str, &str)] = &[
    ("tag", "LAP-1"),
    ("kind", "laptop"),
    ("location", "Computer room"),
];

/// An account with this full name and [`PASSWORD`], made by `kitroom user add`'s code.
async fn add_person(app: &TestApp, username: &str, full_name: &str) {
    let input = PersonInput {
        username: username.into(),
        full_name: full_name.into(),
        role: "borrower".into(),
        ..Default::default()
    };
    let mut password = std::io::Cursor::new(format!("{PASSWORD}\n"));
    let code = kitroom::cli::user_add(app.dir.path(), input, None, Some(&mut password))
        .await
        .expect("user add runs");
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{username} is added");
}

/// The account signs the policy in force, so a check-out to them is allowed.
async fn signs(app: &TestApp, username: &str, full_name: &str) {
    let c = app.client();
    let r = app.login(&c, username, PASSWORD).await;
    assert_eq!(r.status(), 303, "{username} signs in");
    app.sign_policy(&c, full_name).await;
}

/// A manager, LAP-1, a policy, and Hannah Adeyemi (hadeyemi) who has signed it.
async fn school() -> (TestApp, Client) {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    assert_eq!(app.register_device(&sbm, LAPTOP).await.status(), 303);
    app.publish_policy(&sbm, "2026/27").await;
    add_person(&app, "hadeyemi", "Hannah Adeyemi").await;
    signs(&app, "hadeyemi", "Hannah Adeyemi").await;
    (app, sbm)
}

async fn page(c: &Client, app: &TestApp, path: &str) -> (u16, String) {
    let r = app.get(c, path).await;
    (r.status().as_u16(), r.text().await.unwrap())
}

/// A manager typing "Hannah Adeyemi" in "Lend to" was refused; now the device goes to her.
#[tokio::test]
async fn a_manager_lends_a_device_by_full_name() {
    let (app, sbm) = school().await;
    let r = app
        .check_out(&sbm, "LAP-1", &[("borrower", "  hannah   ADEYEMI ")])
        .await;
    assert_eq!(
        r.status(),
        303,
        "lent by full name, in any case and spacing"
    );
    let (_, body) = page(&sbm, &app, "/devices/LAP-1").await;
    assert!(
        body.contains("Hannah Adeyemi (hadeyemi) has it."),
        "the loan is Hannah's"
    );
}

/// A name two people share must not lend to whichever came first: the manager is
/// shown both and picks.
#[tokio::test]
async fn a_shared_name_is_refused_listing_everyone_called_that() {
    let (app, sbm) = school().await;
    add_person(&app, "hadeyemi2", "Hannah Adeyemi").await;
    let r = app
        .check_out(&sbm, "LAP-1", &[("borrower", "Hannah Adeyemi")])
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(body.contains("Hannah Adeyemi (hadeyemi)"), "{body}");
    assert!(body.contains("Hannah Adeyemi (hadeyemi2)"));
    assert!(
        body.contains("value=\"Hannah Adeyemi\""),
        "the input is kept"
    );
    // the username still picks one of them
    let r = app
        .check_out(&sbm, "LAP-1", &[("borrower", "HADEYEMI")])
        .await;
    assert_eq!(r.status(), 303);
}

/// A mistyped name gave no hint and lost what was typed.
#[tokio::test]
async fn an_unknown_name_is_refused_and_the_input_kept() {
    let (app, sbm) = school().await;
    let r = app
        .check_out(&sbm, "LAP-1", &[("borrower", "Hanna Adeyemi")])
        .await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains(
            "Nobody is called “Hanna Adeyemi” — check the spelling, or search by part of the name."
        ),
        "{body}"
    );
    assert!(
        body.contains("value=\"Hanna Adeyemi\""),
        "the input is kept"
    );
    // and the search is offered with what was typed
    assert!(body.contains("/people/find?q=Hanna+Adeyemi"), "{body}");
}

/// The lend field tells the manager a name will do, and offers the search.
#[tokio::test]
async fn the_lend_field_says_a_name_will_do() {
    let (app, sbm) = school().await;
    let (_, body) = page(&sbm, &app, "/devices/LAP-1").await;
    assert!(body.contains("Type a name or username"));
    assert!(body.contains("data-people-search=\"/people/find.json\""));
    assert!(
        body.contains("href=\"/people/find?q=&amp;back=%2Fdevices%2FLAP-1\""),
        "{body}"
    );
}

/// A set goes to a person named in full too.
#[tokio::test]
async fn a_set_is_lent_by_full_name() {
    let (app, sbm) = school().await;
    let r = app
        .submit(&sbm, "/sets", "/sets", &[("name", "Laptop trolley")])
        .await;
    assert_eq!(r.status(), 303);
    let id = kitroom_tests::location(&r)
        .trim_start_matches("/sets/")
        .to_owned();
    let r = app
        .submit(
            &sbm,
            &format!("/sets/{id}"),
            &format!("/sets/{id}/devices"),
            &[("tag", "LAP-1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(
            &sbm,
            &format!("/sets/{id}"),
            &format!("/sets/{id}/checkout"),
            &[("borrower", "Hannah Adeyemi")],
        )
        .await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    let (_, body) = page(&sbm, &app, &format!("/sets/{id}")).await;
    assert!(body.contains("Out to Hannah Adeyemi"));
}

/// A script lending with `borrower: "Hannah Adeyemi"` was refused; a shared or
/// unknown name is a 422 that says why.
#[tokio::test]
async fn the_api_lends_by_full_name() {
    let (app, _sbm) = school().await;
    let token = app.token_for("sbm").await;
    let r = app
        .api_post(
            &token,
            "/api/v1/devices/LAP-1/checkout",
            &json!({"borrower": "Hannah Adeyemi"}),
        )
        .await;
    assert_eq!(r.status(), 201);
    let loan: Value = r.json().await.unwrap();
    assert_eq!(loan["borrower"], "hadeyemi");

    add_person(&app, "hadeyemi2", "Hannah Adeyemi").await;
    let r = app
        .api_post(
            &token,
            "/api/v1/bookings",
            &json!({"device": "LAP-1", "borrower": "Hannah Adeyemi",
            "starts_at": "2030-01-07T09:00:00Z", "ends_at": "2030-01-07T10:00:00Z"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let problem = r.text().await.unwrap();
    assert!(
        problem.contains("Hannah Adeyemi (hadeyemi)")
            && problem.contains("Hannah Adeyemi (hadeyemi2)"),
        "{problem}"
    );
    let r = app
        .api_post(
            &token,
            "/api/v1/bookings",
            &json!({"device": "LAP-1", "borrower": "Nobody Here",
            "starts_at": "2030-01-07T09:00:00Z", "ends_at": "2030-01-07T10:00:00Z"}),
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Nobody is called “Nobody Here”"));
}

/// The type-ahead's search: managers find active people by part of a name;
/// borrowers are refused, so the list of accounts is not open to everyone.
#[tokio::test]
async fn the_api_searches_people_by_name() {
    let (app, sbm) = school().await;
    add_person(&app, "hbrown", "Harriet Brown").await;
    add_person(&app, "gone", "Hannah Gone").await;
    let r = app
        .submit(
            &sbm,
            "/people/gone",
            "/people/gone/active",
            &[("active", "false")],
        )
        .await;
    assert!(r.status().is_redirection(), "gone is deactivated");
    let token = app.token_for("sbm").await;
    let found: Value = app
        .api_get(&token, "/api/v1/people?q=hann")
        .await
        .json()
        .await
        .unwrap();
    let items = found["items"].as_array().expect("items");
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(
        items[0],
        json!({"username": "hadeyemi", "full_name": "Hannah Adeyemi", "kind": "staff"})
    );
    let borrower = app.token_for("hadeyemi").await;
    let r = app.api_get(&borrower, "/api/v1/people?q=hann").await;
    assert_eq!(r.status(), 403);
}

/// Without JavaScript, the manager searches by part of a name and one click fills
/// the lend form; a borrower cannot list people this way.
#[tokio::test]
async fn the_search_page_fills_the_lend_form() {
    let (app, sbm) = school().await;
    let (status, body) = page(&sbm, &app, "/people/find?q=adey&back=%2Fdevices%2FLAP-1").await;
    assert_eq!(status, 200);
    assert!(body.contains("Hannah Adeyemi"));
    assert!(
        body.contains("href=\"/devices/LAP-1?borrower=hadeyemi#checkout\""),
        "{body}"
    );
    let (_, device) = page(&sbm, &app, "/devices/LAP-1?borrower=hadeyemi").await;
    assert!(
        device.contains("value=\"hadeyemi\""),
        "the lend field is filled"
    );
    // an address elsewhere is not linked to
    let (_, body) = page(&sbm, &app, "/people/find?q=adey&back=%2F%2Fevil.example%2F").await;
    assert!(!body.contains("evil.example"));
    // the JSON the type-ahead reads
    let (status, json) = page(&sbm, &app, "/people/find.json?q=adey").await;
    assert_eq!(status, 200);
    let v: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["items"][0]["username"], "hadeyemi");

    let jo = app.signed_in("jo", "borrower").await;
    assert_eq!(page(&jo, &app, "/people/find?q=adey").await.0, 403);
    assert_eq!(page(&jo, &app, "/people/find.json?q=adey").await.0, 403);
}

/// In a small school the "Lend to" field offers every name as the manager types:
/// if the count of people that decides it went wrong, the suggestions would vanish.
#[tokio::test]
async fn a_small_schools_device_page_suggests_every_name() {
    let (app, sbm) = school().await;
    let (status, body) = page(&sbm, &app, "/devices/LAP-1").await;
    assert_eq!(status, 200);
    assert!(
        body.contains(r#"<option value="hadeyemi">Hannah Adeyemi</option>"#),
        "Hannah is suggested: {body}"
    );
    assert!(
        body.contains(r#"<option value="sbm">"#),
        "the manager is suggested too"
    );
}
