//! The API's OpenAPI document, as served: every route in it, every error described
//! as problem+json, and the errors it describes answered as it says.

use std::collections::BTreeSet;
use std::path::Path;

use kitroom_tests::spawn_app;
use kitroom_web::openapi::OUTSIDE_DOCUMENT;
use serde_json::Value;

async fn live_document(app: &kitroom_tests::TestApp) -> Value {
    let r = reqwest::get(app.url("/api/v1/openapi.json")).await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

/// Every `.route(`-like call in the API's source, as (file, path): a route added
/// this way bypasses `routes!` and so the document.
fn plain_routes_in_api_source() -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/web/src");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if !(name == "api.rs" || name.starts_with("api_") || name == "openapi.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        for call in [".route(", ".route_service(", ".nest(", ".nest_service("] {
            let mut rest = text.as_str();
            while let Some(at) = rest.find(call) {
                let after = &rest[at + call.len()..];
                let route = after.split('"').nth(1).unwrap_or_default().to_owned();
                found.push((name.clone(), route));
                rest = after;
            }
        }
    }
    found
}

/// A route under /api/v1 that scripts can call would be missing from the document
/// integrators generate their clients from.
#[tokio::test]
async fn every_api_route_is_in_the_live_document() {
    let app = spawn_app().await;
    let doc = live_document(&app).await;
    // The router and the document are split from one OpenApiRouter, so the routes
    // the web crate lists are the router's; each must be in the live document.
    let routes = kitroom_web::openapi::routes();
    assert!(
        routes.len() >= 23,
        "the API's routes are listed: {routes:?}"
    );
    let outside: BTreeSet<(String, String)> = OUTSIDE_DOCUMENT
        .iter()
        .map(|(m, p)| (m.to_string(), p.to_string()))
        .collect();
    let mut missing = Vec::new();
    for (method, path) in &routes {
        if outside.contains(&(method.clone(), path.clone())) {
            continue;
        }
        if !doc["paths"][path][method.to_lowercase()].is_object() {
            missing.push(format!("{method} {path}"));
        }
    }
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );

    // Nothing under /api/v1 is added beside `routes!` except what OUTSIDE_DOCUMENT
    // names, so no route can be served without being listed.
    let plain: Vec<_> = plain_routes_in_api_source()
        .into_iter()
        .filter(|(file, path)| {
            !(file == "openapi.rs" && OUTSIDE_DOCUMENT.iter().any(|(_, p)| p == path))
        })
        .collect();
    assert!(
        plain.is_empty(),
        "routes added outside routes!(…) (register them with routes! and #[utoipa::path], \
         or list them in openapi::OUTSIDE_DOCUMENT): {plain:?}"
    );

    // Each documented operation is served: without a token it answers 401 (an
    // unknown path would be 404, a method the path does not take 405).
    let c = reqwest::Client::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        let concrete = path
            .replace("{tag}", "LAP-1")
            .replace("{id}", "x")
            .replace("{username}", "jo");
        for method in item.as_object().unwrap().keys() {
            let Ok(m) = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()) else {
                continue;
            };
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let r = c
                .request(m, app.url(&format!("/api/v1{concrete}")))
                .send()
                .await
                .unwrap();
            assert_eq!(
                r.status(),
                401,
                "{method} {path} is served and asks for a token"
            );
        }
    }
    for (method, path) in OUTSIDE_DOCUMENT {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let r = c
            .request(m, app.url(&format!("/api/v1{path}")))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{method} {path} is served");
    }
}

/// A script could meet an error the document does not describe, or one not in
/// the problem+json shape it was promised.
#[tokio::test]
async fn every_operation_declares_its_problem_responses() {
    let app = spawn_app().await;
    let doc = live_document(&app).await;
    assert_eq!(doc["info"]["title"], "Kitroom API");
    assert_eq!(doc["servers"][0]["url"], "/api/v1");
    assert_eq!(
        doc["components"]["securitySchemes"]["token"]["scheme"],
        "bearer"
    );
    let problem = &doc["components"]["schemas"]["Problem"];
    for field in ["type", "title", "status", "detail"] {
        assert!(
            problem["required"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f == field),
            "Problem requires {field}"
        );
    }
    let mut wrong = Vec::new();
    let mut operations = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            operations += 1;
            let responses = op["responses"].as_object().unwrap();
            let mut needed = vec!["401", "405", "500", "503"];
            if op.get("requestBody").is_some() {
                needed.extend(["400", "413", "415", "422"]);
            }
            let queried = op["parameters"]
                .as_array()
                .is_some_and(|ps| ps.iter().any(|p| p["in"] == "query"));
            if queried {
                needed.push("422");
            }
            for status in needed {
                if !responses.contains_key(status) {
                    wrong.push(format!("{method} {path}: no {status}"));
                }
            }
            if !responses.keys().any(|s| s.starts_with('2')) {
                wrong.push(format!("{method} {path}: no success response"));
            }
            for (status, response) in responses {
                if status.starts_with('4') || status.starts_with('5') {
                    let content = response["content"].as_object();
                    let ok = content.is_some_and(|c| {
                        c.len() == 1
                            && c["application/problem+json"]["schema"]["$ref"]
                                == "#/components/schemas/Problem"
                    });
                    if !ok {
                        wrong.push(format!("{method} {path}: {status} is not problem+json"));
                    }
                }
            }
        }
    }
    assert!(operations >= 22, "{operations} operations");
    assert!(wrong.is_empty(), "{wrong:#?}");

    // A body that refuses unknown fields says so.
    let schemas = &doc["components"]["schemas"];
    for name in [
        "DeviceInput",
        "EncryptionInput",
        "StatusInput",
        "DisposalInput",
        "CheckOutInput",
        "ReturnInput",
        "BookingInput",
        "SetReturnInput",
        "CollectInput",
        "NewAccessoryInput",
        "AdjustInput",
        "ChangeInput",
        "ChecklistInput",
    ] {
        assert_eq!(schemas[name]["additionalProperties"], false, "{name}");
    }
    assert_eq!(schemas["SetReturnInput"]["required"][0], "came_back");
}

/// A script would get an answer with no body, or 400 on one route and 422 on
/// another for the same mistake, and could not tell what to fix.
#[tokio::test]
async fn the_same_mistake_gets_the_same_problem_on_every_route() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    let c = reqwest::Client::new();
    let problem = |r: reqwest::Response| async move {
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let status = r.status().as_u16();
        let p: Value = r.json().await.unwrap();
        assert_eq!(p["status"], status);
        (status, p["type"].as_str().unwrap().to_owned())
    };
    // A booking id that does not exist: the body is read before the booking is
    // looked up, so the body's mistakes are what is answered.
    let paths = [
        "/api/v1/devices",
        "/api/v1/bookings/00000000-0000-0000-0000-000000000000/collect",
    ];
    for path in paths {
        let post = |ct: Option<&str>, body: &str| {
            let mut rq = c
                .post(app.url(path))
                .bearer_auth(&token)
                .body(body.to_owned());
            if let Some(ct) = ct {
                rq = rq.header("content-type", ct);
            }
            rq.send()
        };
        let r = post(Some("text/plain"), r#"{"accessories": []}"#)
            .await
            .unwrap();
        assert_eq!(
            problem(r).await,
            (415, "urn:kitroom:problem:unsupported-media-type".into()),
            "{path}: not sent as JSON"
        );
        let r = post(Some("application/json"), "{not json").await.unwrap();
        assert_eq!(
            problem(r).await,
            (400, "urn:kitroom:problem:malformed-body".into()),
            "{path}: not JSON"
        );
        let r = post(Some("application/json"), r#"{"colour": "red"}"#)
            .await
            .unwrap();
        assert_eq!(
            problem(r).await,
            (422, "urn:kitroom:problem:invalid-body".into()),
            "{path}: JSON of the wrong shape"
        );
    }
    let r = c
        .get(app.url("/api/v1/events?after=soon"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(r).await,
        (422, "urn:kitroom:problem:invalid-query".into()),
        "a query value of the wrong type"
    );
    let r = c
        .put(app.url("/api/v1/devices"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    let allow = r.headers()["allow"].to_str().unwrap().to_owned();
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    assert_eq!(
        problem(r).await,
        (405, "urn:kitroom:problem:method-not-allowed".into())
    );
    let r = c
        .get(app.url("/api/v1/nothing-here"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        problem(r).await,
        (404, "urn:kitroom:problem:not-found".into())
    );
}
