//! The JSON API for devices, with personal tokens and problem+json errors.

use kitroom_tests::spawn_app;
use serde_json::{json, Value};

/// A script could not register or read devices, or got errors it cannot act on.
#[tokio::test]
async fn a_script_registers_reads_edits_and_lists_devices() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    let body = json!({
        "tag": "IPAD-007", "kind": "ipad", "make": "Apple", "model": "iPad (10th generation)",
        "location": "iPad trolley A", "cost_pence": 32900, "captures_images": true,
        "encryption": {"state": "encrypted", "method": "ipados", "verified_on": "2025-09-03"}
    });
    let r = app.api_post(&token, "/api/v1/devices", &body).await;
    assert_eq!(r.status(), 201);
    assert_eq!(r.headers()["location"], "/api/v1/devices/IPAD-007");
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["status"], "available");
    assert_eq!(d["encryption"]["verified_by"], "sbm");
    assert_eq!(d["cost_pence"], 32900);

    let r = app
        .api_patch(
            &token,
            "/api/v1/devices/ipad-007",
            &json!({"notes": "Cracked case", "cost_pence": null}),
        )
        .await;
    assert_eq!(r.status(), 200);
    let d: Value = r.json().await.unwrap();
    assert_eq!(d["notes"], "Cracked case");
    assert_eq!(d["cost_pence"], Value::Null);
    assert_eq!(
        d["model"], "iPad (10th generation)",
        "fields not sent are kept"
    );

    let r = app
        .api_get(&token, "/api/v1/devices?kind=ipad&per_page=10")
        .await;
    let list: Value = r.json().await.unwrap();
    assert_eq!(list["total"], 1);
    assert_eq!(list["items"][0]["tag"], "IPAD-007");
    assert_eq!(list["per_page"], 10);
}

/// Bad input would be a 500, or an error a script cannot tell apart from others.
#[tokio::test]
async fn bad_requests_get_problem_details_and_change_nothing() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    let c = reqwest::Client::new();
    let post = |body: &'static str| {
        c.post(app.url("/api/v1/devices"))
            .bearer_auth(&token)
            .header("content-type", "application/json")
            .body(body)
            .send()
    };
    let r = post("{not json").await.unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["type"], "urn:kitroom:problem:malformed-body");

    let r = post(r#"{"tag": "X-1", "kind": "toaster", "location": "Hall", "cost_pence": -5}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["type"], "urn:kitroom:problem:validation");
    assert_eq!(p["errors"][0]["field"], "cost_pence");

    let r = post(r#"{"tag": "X-1", "kind": "toaster", "location": "Hall"}"#)
        .await
        .unwrap();
    let p: Value = r.json().await.unwrap();
    assert_eq!(p["errors"][0]["field"], "kind");
    assert!(p["detail"].as_str().unwrap().contains("toaster"));

    let r = post(r#"{"tag": "X-1", "kind": "laptop", "location": "Hall", "colour": "red"}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 422, "an unknown field is refused, not ignored");
    assert!(r.json::<Value>().await.unwrap()["detail"]
        .as_str()
        .unwrap()
        .contains("colour"));

    assert_eq!(
        post(r#"{"tag": "X-1", "kind": "laptop", "location": "Hall"}"#)
            .await
            .unwrap()
            .status(),
        201
    );
    let r = post(r#"{"tag": "x-1", "kind": "laptop", "location": "Hall"}"#)
        .await
        .unwrap();
    assert_eq!(r.status(), 409);
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:conflict"
    );

    let r = app.api_get(&token, "/api/v1/devices?status=broken").await;
    assert_eq!(r.status(), 422);
    // A query value of the wrong type is refused as a wrong value is (422, as
    // `status=broken` above), not 400: the same mistake, the same answer.
    let r = app.api_get(&token, "/api/v1/devices?page=x").await;
    assert_eq!(r.status(), 422);
    let r = app.api_get(&token, "/api/v1/devices/NOPE").await;
    assert_eq!(r.status(), 404);
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:not-found"
    );
    let list: Value = app
        .api_get(&token, "/api/v1/devices")
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(list["total"], 1, "only the one good device was written");
}

/// A script without a token, or with a borrower's, could change the register.
#[tokio::test]
async fn tokens_carry_their_owners_permissions() {
    let app = spawn_app().await;
    let borrower = app.api_token("teacher", "borrower").await;
    let c = reqwest::Client::new();
    let r = app.get(&c, "/api/v1/devices").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        r.json::<Value>().await.unwrap()["type"],
        "urn:kitroom:problem:unauthorized"
    );
    let r = app.api_get("kr_0000", "/api/v1/devices").await;
    assert_eq!(r.status(), 401);
    assert_eq!(
        app.api_get(&borrower, "/api/v1/devices").await.status(),
        200
    );
    let r = app
        .api_post(
            &borrower,
            "/api/v1/devices",
            &json!({"tag": "A-1", "kind": "laptop", "location": "Hall"}),
        )
        .await;
    assert_eq!(r.status(), 403);
}

/// A person could not make or revoke their own token, or a revoked one would still work.
#[tokio::test]
async fn a_person_creates_and_revokes_a_token_on_their_account_page() {
    let app = spawn_app().await;
    let c = app.signed_in("teacher", "borrower").await;
    let r = app
        .submit(&c, "/account", "/account/tokens", &[("name", "my script")])
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    let start = page.find("kr_").expect("the new token is shown once");
    let token = page[start..start + 67].to_owned();
    assert_eq!(app.api_get(&token, "/api/v1/devices").await.status(), 200);
    let again = app.page(&c, "/account").await;
    assert!(!again.contains(&token), "the token is never shown again");
    let id = app
        .store()
        .list_tokens(
            app.store()
                .account_by_username("teacher")
                .await
                .unwrap()
                .unwrap()
                .id,
        )
        .await
        .unwrap()[0]
        .id
        .clone();
    let r = app
        .submit(&c, "/account", &format!("/account/tokens/{id}/revoke"), &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.api_get(&token, "/api/v1/devices").await.status(), 401);
}

/// Integrators would have no description of the API.
#[tokio::test]
async fn the_openapi_description_is_served_and_names_every_route() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    let doc: Value = r.json().await.unwrap();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
    for path in ["/devices", "/devices/{tag}"] {
        assert!(doc["paths"][path].is_object(), "{path} is described");
    }
    assert!(
        doc["paths"]["/devices"]["get"].is_object() && doc["paths"]["/devices"]["post"].is_object()
    );
    assert!(doc["paths"]["/devices/{tag}"]["patch"].is_object());
    assert!(doc["paths"]["/bookings"]["post"].is_object());
    assert!(doc["paths"]["/bookings/{id}/collect"]["post"].is_object());
    assert!(doc["paths"]["/sets/{id}/return"]["post"].is_object());
}

/// A person could not get what Kitroom holds on them, or could get someone else's.
#[tokio::test]
async fn a_persons_history_is_theirs_and_the_managers_only() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    let jo = app.api_token("jo", "borrower").await;
    let sam = app.api_token("sam", "borrower").await;
    let r = app.api_get(&jo, "/api/v1/people/jo/history").await;
    assert_eq!(r.status(), 200);
    let mine: Value = r.json().await.unwrap();
    assert!(mine.to_string().contains("\"jo\""));
    assert!(
        !mine.to_string().contains("sam"),
        "nothing about anyone else"
    );
    assert_eq!(
        app.api_get(&sam, "/api/v1/people/jo/history")
            .await
            .status(),
        403
    );
    assert_eq!(
        app.api_get(&sbm, "/api/v1/people/jo/history")
            .await
            .status(),
        200
    );
    assert_eq!(
        app.api_get(&sbm, "/api/v1/people/nobody/history")
            .await
            .status(),
        404
    );
}
