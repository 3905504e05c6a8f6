//! Hostile input over HTTP: thousands of generated requests at every route in the
//! authorisation matrix, with broken percent-encoding, invalid UTF-8, NUL bytes,
//! markup, formulas, negative and enormous numbers, wrong types, wrong content
//! types and oversized bodies. Never a 5xx, the server stays up, whatever got stored
//! is shown escaped on every page, and CSV exports carry no live formula.

use kitroom_tests::{random_u64, spawn_app, TestApp, PASSWORD};
use reqwest::{Client, Method};
use serde_json::{json, Value};

use crate::roles::MATRIX;

/// Percent-encoded, so they can go into paths, queries and forms as they are.
const HOSTILE: &[&str] = &[
    "",
    "%00",
    "a%00b",
    "%FF%FE%FD",
    "%C0%AF",
    "%E2%80%AE",
    "%",
    "%G1",
    "%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "%22%27%3E%3Cimg%20src%3Dx%20onerror%3Dalert(2)%3E",
    "%3Dcmd%7C%27%2FC%20calc%27!A0",
    "%2BSUM(1%2B1)",
    "%40SUM(A1)",
    "-1",
    "0",
    "-99999999999999999999",
    "99999999999999999999999",
    "9223372036854775808",
    "1e309",
    "NaN",
    "%25_%25",
    "_",
    "..%2F..%2Fetc%2Fpasswd",
    "true",
    "on",
    "2026-02-30",
    "25%3A61",
    "laptop",
    "admin",
];

const FIELDS: &[&str] = &[
    "tag",
    "kind",
    "make",
    "model",
    "serial",
    "location",
    "status",
    "condition",
    "purchased_on",
    "cost",
    "supplier",
    "warranty_until",
    "notes",
    "encryption_state",
    "encryption_method",
    "borrower",
    "due_at",
    "due_on",
    "purpose",
    "off_site",
    "on_charge",
    "battery_percent",
    "images_cleared",
    "name",
    "username",
    "full_name",
    "email",
    "position",
    "role",
    "active",
    "password",
    "current",
    "confirm",
    "title",
    "version_label",
    "issued_on",
    "body",
    "policy",
    "agree",
    "school_name",
    "day_ends_at",
    "return_location",
    "description",
    "place",
    "occurred_on",
    "occurred_time",
    "police_reference",
    "reportable",
    "reason",
    "decision",
    "note",
    "q",
    "page",
    "per_page",
    "csv",
    "change",
    "what",
    "method",
    "after",
    "open",
    "overdue",
    "sheet",
    "mapping",
];

fn pick<T: Copy>(items: &[T]) -> T {
    items[(random_u64() % items.len() as u64) as usize]
}

fn hostile_value() -> String {
    match random_u64() % 12 {
        0 => "x".repeat(5000),
        1 => "%3Cb%3E".repeat(300),
        _ => pick(HOSTILE).to_owned(),
    }
}

/// A form body of hostile fields, already encoded.
fn hostile_form() -> String {
    (0..1 + random_u64() % 6)
        .map(|_| format!("{}={}", pick(FIELDS), hostile_value()))
        .collect::<Vec<_>>()
        .join("&")
}

fn hostile_json_value() -> Value {
    match random_u64() % 14 {
        0 => json!(-1),
        1 => json!(i64::MIN),
        2 => json!(u64::MAX),
        3 => json!(1e300),
        4 => json!(null),
        5 => json!([]),
        6 => json!({"a": {"b": [1, 2, {"c": null}]}}),
        7 => json!("\u{0}"),
        8 => json!("<script>alert(1)</script>"),
        9 => json!("=HYPERLINK(\"http://x\")"),
        10 => json!(true),
        11 => json!("x".repeat(5000)),
        12 => json!("2026-02-30T25:61:00Z"),
        _ => json!("%_"),
    }
}

/// A JSON body: hostile fields, or raw bytes that are not JSON at all.
fn hostile_json() -> Vec<u8> {
    match random_u64() % 8 {
        0 => b"{\"tag\": \"\xff\xfe\"}".to_vec(),
        1 => b"{\"tag\": ".to_vec(),
        2 => b"\0\0\0".to_vec(),
        3 => b"{\"cost_pence\": 1e400, \"battery_percent\": 99999999999999999999999}".to_vec(),
        4 => format!("{}{}", "[".repeat(5000), "]".repeat(5000)).into_bytes(),
        _ => {
            let mut o = serde_json::Map::new();
            for _ in 0..1 + random_u64() % 6 {
                o.insert(pick(FIELDS).to_owned(), hostile_json_value());
            }
            Value::Object(o).to_string().into_bytes()
        }
    }
}

/// The route's pattern with each `{param}` replaced by a hostile segment.
fn hostile_path(route: &str) -> String {
    let mut out = String::new();
    let mut rest = route;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').unwrap() + open;
        let v = hostile_value();
        out.push_str(if v.is_empty() { "%20" } else { &v });
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

struct Caller {
    web: Client,
    token: String,
    csrf: String,
}

impl Caller {
    async fn new(app: &TestApp, username: &str, role: &str) -> Caller {
        let web = app.signed_in(username, role).await;
        let token = app.token_for(username).await;
        let csrf = app.csrf(&web, "/account").await;
        Caller { web, token, csrf }
    }
}

/// Sends one request; returns its status, or `None` if the connection failed.
async fn send(
    app: &TestApp,
    who: &Caller,
    method: &Method,
    path: &str,
    body: Option<(&str, Vec<u8>)>,
) -> Option<u16> {
    let url = app.url(path);
    let api = path.starts_with("/api/");
    let mut req = if api {
        Client::new()
            .request(method.clone(), url)
            .bearer_auth(&who.token)
    } else {
        who.web.request(method.clone(), url)
    };
    if let Some((content_type, bytes)) = body {
        req = req.header("content-type", content_type).body(bytes);
    }
    req.send().await.ok().map(|r| r.status().as_u16())
}

/// A request's target and body (its content type and bytes).
type Variant = (String, Option<(&'static str, Vec<u8>)>);

/// The requests for one row of the matrix.
fn variants(method: &str, route: &str, path: &str, n: usize, csrf: &str) -> Vec<Variant> {
    let api = path.starts_with("/api/");
    let form = |fields: String| -> Option<(&'static str, Vec<u8>)> {
        Some((
            "application/x-www-form-urlencoded",
            format!("csrf={csrf}&{fields}").into_bytes(),
        ))
    };
    let mut out = Vec::new();
    for i in 0..n {
        let target = if route.contains('{') && i % 3 == 0 {
            hostile_path(route)
        } else {
            path.to_owned()
        };
        let target = if i % 4 == 1 {
            let sep = if target.contains('?') { '&' } else { '?' };
            format!("{target}{sep}{}", hostile_form())
        } else {
            target
        };
        let body = match (method, api, i % 7) {
            ("GET", ..) => None,
            (_, true, 5) => form(hostile_form()),
            (_, true, _) => Some(("application/json", hostile_json())),
            (_, false, 5) => Some(("application/json", hostile_json())),
            (_, false, 6) => Some((
                "application/x-www-form-urlencoded",
                [
                    format!("csrf={csrf}&notes=").as_bytes(),
                    b"\xff\xfe\x00\xc0",
                ]
                .concat(),
            )),
            (_, false, _) => form(hostile_form()),
        };
        out.push((target, body));
    }
    out
}

/// Anything a person or a script can send must get an answer, never a 500 or a
/// crash: a 500 means an unchecked value reached the database or a panic.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn thousands_of_hostile_requests_at_every_route_never_get_a_5xx() {
    let app = spawn_app().await;
    let admin = Caller::new(&app, "it", "admin").await;
    let head = Caller::new(&app, "hd", "head").await;
    let borrower = Caller::new(&app, "bo", "borrower").await;
    // something to aim at
    app.api_create(
        &admin.token,
        &[
            (
                "/api/v1/devices",
                json!({"tag": "LAP-1", "kind": "laptop", "location": "Library"}),
            ),
            ("/api/v1/policies", kitroom_tests::policy_v1()),
        ],
    )
    .await;
    let mut sent = 0;
    let mut server_errors = Vec::new();
    let mut answers = std::collections::BTreeMap::new();
    for (who, per_row) in [(&admin, 20), (&head, 6), (&borrower, 6)] {
        for (method, route, path, _, _) in MATRIX {
            if *route == "/logout" {
                continue;
            }
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let path = path.replace(":me", "it").replace(':', "");
            for (target, body) in variants(method, route, &path, per_row, &who.csrf) {
                sent += 1;
                match send(&app, who, &m, &target, body).await {
                    Some(s) if s >= 500 => server_errors.push(format!("{method} {target}: {s}")),
                    Some(s) => *answers.entry(s).or_insert(0) += 1,
                    None => server_errors.push(format!("{method} {target}: no answer")),
                }
            }
        }
    }
    // A hostile password that happened to be a good one may have reset the admin's
    // own password above, which ends their sessions and revokes their tokens: the
    // operator sets it back at the server, and the admin signs in afresh.
    let mut password = std::io::Cursor::new(format!("{PASSWORD}\n"));
    kitroom::cli::user_password(app.dir.path(), "it", Some(&mut password))
        .await
        .expect("user password runs");
    let web = app.client();
    assert_eq!(app.login(&web, "it", PASSWORD).await.status(), 303);
    let admin = Caller {
        web,
        token: app.token_for("it").await,
        csrf: String::new(),
    };
    // oversized bodies on every kind of write answer 413
    let big = vec![b'a'; 3 * 1024 * 1024];
    for (path, ct) in [
        ("/devices", "application/x-www-form-urlencoded"),
        ("/api/v1/devices", "application/json"),
        (
            "/import/devices/preview",
            "application/x-www-form-urlencoded",
        ),
    ] {
        sent += 1;
        let s = send(&app, &admin, &Method::POST, path, Some((ct, big.clone()))).await;
        assert_eq!(s, Some(413), "{path}");
    }
    assert!(
        server_errors.is_empty(),
        "{} of {sent} hostile requests got a server error: {server_errors:#?}",
        server_errors.len()
    );
    eprintln!("{sent} hostile requests, 0 server errors; answers: {answers:?}");
    assert_eq!(
        reqwest::get(app.url("/health")).await.unwrap().status(),
        200
    );
    assert_eq!(
        reqwest::get(app.url("/healthz")).await.unwrap().status(),
        200
    );

    // whatever hostile text was stored is shown as text on every page, and no cell of
    // any CSV export starts a formula
    for (method, route, path, _, _) in MATRIX {
        if *method != "GET"
            || route.contains('{')
                && !path.contains("LAP-1")
                && !route.starts_with("/reports/people")
        {
            continue;
        }
        let path = path.replace(":me", "it");
        let r = admin.web.get(app.url(&path)).send().await.unwrap();
        let csv = r
            .headers()
            .get("content-type")
            .is_some_and(|c| c.to_str().unwrap_or("").starts_with("text/csv"));
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("<script>alert(1)"),
            "{path} shows a script as markup"
        );
        assert!(!body.contains("<img src=x onerror"), "{path} shows markup");
        if csv {
            let mut reader = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(body.as_bytes());
            for record in reader.records() {
                for cell in record.unwrap().iter() {
                    assert!(
                        !cell.starts_with(['=', '+', '-', '@']),
                        "{path} has a live formula: {cell:?}"
                    );
                }
            }
        }
    }
}

/// Every query parameter a page or the API reads.
const QUERY_PARAMETERS: &[&str] = &[
    "after",
    "at",
    "before",
    "borrower",
    "count",
    "date",
    "device",
    "encryption",
    "free",
    "from",
    "inactive",
    "kind",
    "label",
    "last",
    "limit",
    "location",
    "max_age_days",
    "next",
    "open",
    "outcome",
    "overdue",
    "page",
    "per_page",
    "period",
    "person",
    "purpose",
    "query",
    "reported",
    "set",
    "slot",
    "status",
    "tag",
    "to",
    "unresolved",
    "user",
    "username",
    "view",
    "year",
];

/// Each control character, percent-encoded.
fn control_characters() -> Vec<String> {
    (0u8..0x20)
        .chain([0x7f])
        .map(|b| format!("%{b:02X}"))
        .collect()
}

/// A search with a NUL byte in it (`q=a.b%00`) broke the device list, the label
/// sheet and the API for everyone who tried it, borrowers included: any control
/// character in any query parameter must get an answer, never a server error.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn control_characters_in_every_query_parameter_never_get_a_5xx() {
    let app = spawn_app().await;
    let admin = Caller::new(&app, "it", "admin").await;
    let r = Client::new()
        .post(app.url("/api/v1/devices"))
        .bearer_auth(&admin.token)
        .json(&json!({"tag": "LAP-1", "kind": "laptop", "location": "Library"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    let mut targets = Vec::new();
    for (method, route, path, _, _) in MATRIX {
        if *method != "GET" || *route == "/logout" {
            continue;
        }
        let path = path.replace(":me", "it").replace(':', "");
        let sep = if path.contains('?') { '&' } else { '?' };
        for c in control_characters() {
            // The search, which becomes a full-text query: every character, in a
            // term long enough for the index and in a short one.
            for q in [
                format!("a.b{c}"),
                format!("{c}abc"),
                format!("a{c}"),
                c.clone(),
            ] {
                targets.push(format!("{path}{sep}q={q}"));
            }
        }
        for p in QUERY_PARAMETERS {
            for c in ["%00", "%0A", "%1F", "%7F"] {
                targets.push(format!("{path}{sep}{p}=a.b{c}x"));
            }
        }
    }
    let total = targets.len();
    let admin = std::sync::Arc::new(admin);
    let app = std::sync::Arc::new(app);
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in targets.chunks(total.div_ceil(4)) {
        let chunk = chunk.to_vec();
        let (app, admin) = (app.clone(), admin.clone());
        tasks.spawn(async move {
            let mut errors = Vec::new();
            for target in chunk {
                match send(&app, &admin, &Method::GET, &target, None).await {
                    Some(s) if s < 500 => {}
                    other => errors.push(format!("GET {target}: {other:?}")),
                }
            }
            errors
        });
    }
    let mut server_errors = Vec::new();
    while let Some(errors) = tasks.join_next().await {
        server_errors.extend(errors.unwrap());
    }
    assert!(
        server_errors.is_empty(),
        "{} of {total} requests with control characters got a server error: {:#?}",
        server_errors.len(),
        &server_errors[..server_errors.len().min(40)]
    );
}
