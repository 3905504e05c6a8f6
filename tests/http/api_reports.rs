//! Reports, exports and imports through the JSON API alone: each report's JSON
//! holds the rows and totals of its CSV, an export is the page's CSV, and an import
//! checks a file (dry run) or writes all of it, never part.

use chrono::{DateTime, Utc};
use kitroom_tests::{spawn_app, TestApp};
use serde_json::Value;

use crate::reports::{parse_csv, school};

/// Every report the pages have, with filters the pages take.
const REPORTS: &[&str] = &[
    "inventory",
    "inventory?location=Office&kind=laptop",
    "encryption",
    "encryption?max_age_days=3000",
    "overdue",
    "audit?days=30",
    "incidents",
    "incidents?from=2026-01-01&to=2026-08-31",
    "utilisation",
    "disposals",
];

/// A JSON value as its CSV cell should read: pence as pounds, times compared as
/// instants, yes/no for flags, nothing as an empty cell, formulas neutralised.
fn same_cell(json_name: &str, csv_name: &str, json: &Value, csv: &str) -> bool {
    match json {
        Value::Null => csv.is_empty(),
        Value::Bool(b) => csv == if *b { "yes" } else { "no" },
        Value::Number(n) if json_name != csv_name => {
            let pence = n.as_i64().unwrap();
            csv == format!("{}.{:02}", pence / 100, pence % 100)
        }
        Value::Number(n) => csv == n.to_string(),
        Value::String(s) => match (
            DateTime::parse_from_rfc3339(s),
            DateTime::parse_from_rfc3339(csv),
        ) {
            (Ok(a), Ok(b)) => {
                assert!(s.ends_with('Z'), "{json_name}: {s} is UTC");
                a.with_timezone(&Utc) == b.with_timezone(&Utc)
            }
            // The CSV neutralises a cell a spreadsheet would run as a formula.
            _ => s == csv || (s.starts_with(['=', '+', '-', '@']) && csv == format!("'{s}")),
        },
        other => panic!("{json_name}: unexpected {other}"),
    }
}

async fn text(app: &TestApp, c: &reqwest::Client, path: &str) -> String {
    let r = c.get(app.url(path)).send().await.unwrap();
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.unwrap()
}

/// A manager's script reads each report as JSON and finds exactly the rows (and
/// total rows) that "Download CSV" gives on the report's page, filters included;
/// if this broke, the API and the spreadsheet would disagree about the figures.
#[tokio::test]
async fn each_reports_json_has_the_same_rows_and_totals_as_its_csv() {
    let s = school().await;
    let token = s.app.token_for("sbm").await;
    for report in REPORTS {
        let (name, filters) = report.split_once('?').unwrap_or((report, ""));
        let csv_path = format!("/reports/{name}.csv?{filters}");
        let csv = parse_csv(&text(&s.app, &s.sbm, &csv_path).await);
        let r = s
            .app
            .api_get(&token, &format!("/api/v1/reports/{report}"))
            .await;
        assert_eq!(r.status(), 200, "{report}");
        let json: Value = r.json().await.unwrap();
        let (header, rows) = csv.split_first().unwrap();
        let columns: Vec<&str> = json["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        assert_eq!(
            columns.len(),
            header.len(),
            "{report}: {columns:?} {header:?}"
        );
        let items = json["items"].as_array().unwrap();
        assert_eq!(items.len(), rows.len(), "{report}: as many rows");
        assert_eq!(json["total"], rows.len(), "{report}");
        for (item, row) in items.iter().zip(rows) {
            for ((json_name, csv_name), cell) in columns.iter().zip(header).zip(row) {
                assert!(
                    *json_name == csv_name || *json_name == format!("{csv_name}_pence"),
                    "{report}: {json_name} is {csv_name}"
                );
                assert!(
                    same_cell(json_name, csv_name, &item[*json_name], cell),
                    "{report}: {json_name} is {} in JSON and {cell:?} in the CSV",
                    item[*json_name]
                );
            }
        }
        if name == "inventory" {
            let last = items.last().unwrap();
            assert_eq!(last["group"], "total", "{report}: the total row");
        }
    }
    // The school's figures are really there, not two empty lists agreeing.
    let all: Value = s
        .app
        .api_get(&token, "/api/v1/reports/inventory")
        .await
        .json()
        .await
        .unwrap();
    assert!(all["items"].as_array().unwrap().last().unwrap()["total"].as_i64() > Some(0));
    let costs: Value = s
        .app
        .api_get(&token, "/api/v1/reports/incidents")
        .await
        .json()
        .await
        .unwrap();
    assert!(costs["columns"]
        .as_array()
        .unwrap()
        .contains(&"cost_pence".into()));
    assert!(!costs["items"].as_array().unwrap().is_empty());

    // Filters that cannot be read are a 422 naming the field; an unknown report 404.
    let r = s
        .app
        .api_get(&token, "/api/v1/reports/audit?days=lots")
        .await;
    assert_eq!(r.status(), 422);
    let problem: Value = r.json().await.unwrap();
    assert!(problem.to_string().contains("days"), "{problem}");
    let r = s.app.api_get(&token, "/api/v1/reports/nosuch").await;
    assert_eq!(r.status(), 404);
}

async fn import(
    app: &TestApp,
    token: &str,
    sheet: &str,
    dry_run: bool,
    csv: &str,
) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(&format!("/api/v1/imports/{sheet}?dry_run={dry_run}")))
        .bearer_auth(token)
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap()
}

async fn device_count(app: &TestApp, token: &str) -> i64 {
    let list: Value = app
        .api_get(token, "/api/v1/devices")
        .await
        .json()
        .await
        .unwrap();
    list["total"].as_i64().unwrap()
}

/// A script checking a file first (a dry run) writes nothing and is told each
/// problem by the file's own line and column; if this broke, a trial run could fill
/// the register with half a file.
#[tokio::test]
async fn an_import_dry_run_writes_nothing_and_lists_problems_by_line() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    let bad = "tag,kind,location\nLAP-1,laptop,Library\nLAP-2,spaceship,Library\n";
    for dry_run in [true, false] {
        let r = import(&app, &token, "devices", dry_run, bad).await;
        assert_eq!(r.status(), 422, "dry_run={dry_run}");
        assert!(r.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/problem+json"));
        let problem: Value = r.json().await.unwrap();
        let problems = problem["problems"].as_array().unwrap();
        assert_eq!(problems.len(), 1, "{problem}");
        assert_eq!(problems[0]["line"], 3);
        assert_eq!(problems[0]["column"], "kind");
        assert!(problem["detail"]
            .as_str()
            .unwrap()
            .contains("Nothing was imported"));
    }
    let good = "tag,kind,location\nLAP-1,laptop,Library\nLAP-2,laptop,Library\n";
    let r = import(&app, &token, "devices", true, good).await;
    assert_eq!(r.status(), 200);
    let checked: Value = r.json().await.unwrap();
    assert_eq!(checked["dry_run"], true);
    assert_eq!(checked["ready"], 2);
    assert_eq!(checked["written"], 0);
    assert_eq!(checked["problems"], serde_json::json!([]));
    assert_eq!(device_count(&app, &token).await, 0, "nothing was written");

    // Sent as JSON instead of the file itself: told how to send it.
    let r = app
        .api_post(
            &token,
            "/api/v1/imports/devices?dry_run=true",
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(r.status(), 415);
}

/// A real import writes every row (with each row's event) and the export then holds
/// them; a file with one bad row writes none; if this broke, a school's register
/// could be half imported.
#[tokio::test]
async fn a_real_import_writes_all_of_the_file_and_the_export_holds_it() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    let good = "tag,kind,location\nLAP-1,laptop,Library\nLAP-2,laptop,Hall\nCAM-1,camera,Hall\n";
    let r = import(&app, &token, "devices", false, good).await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["written"], 3);
    assert_eq!(device_count(&app, &token).await, 3);
    let events: Value = app
        .api_get(&token, "/api/v1/events")
        .await
        .json()
        .await
        .unwrap();
    let registered = events["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "device.registered")
        .count();
    assert_eq!(registered, 3, "{events}");

    // The same file again clashes on every tag: nothing more is written.
    let r = import(&app, &token, "devices", false, good).await;
    assert_eq!(r.status(), 422);
    assert_eq!(device_count(&app, &token).await, 3);

    let people = "username,full_name,role\nj.smith,Jo Smith,borrower\nk.lee,Kim Lee,\n";
    let r = import(&app, &token, "people", false, people).await;
    assert_eq!(r.status(), 200);
    let done: Value = r.json().await.unwrap();
    assert_eq!(done["written"], 2);

    let r = app.api_get(&token, "/api/v1/exports/devices").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    let rows = parse_csv(&r.text().await.unwrap());
    assert_eq!(rows[0][0], "tag");
    assert_eq!(rows.len(), 4, "the header and the three devices");
    let r = app.api_get(&token, "/api/v1/exports/nosuch").await;
    assert_eq!(r.status(), 404);
}

/// A borrower's token cannot read reports or exports or import anything; if this
/// broke, any pupil-facing account could read the school's figures or add devices.
#[tokio::test]
async fn a_borrowers_token_gets_403_for_reports_exports_and_imports() {
    let app = spawn_app().await;
    let token = app.api_token("jo", "borrower").await;
    for report in REPORTS {
        let r = app
            .api_get(&token, &format!("/api/v1/reports/{report}"))
            .await;
        assert_eq!(r.status(), 403, "{report}");
    }
    for kind in ["devices", "loans", "incidents", "signatures", "events"] {
        let r = app
            .api_get(&token, &format!("/api/v1/exports/{kind}"))
            .await;
        assert_eq!(r.status(), 403, "{kind}");
    }
    for sheet in ["devices", "people"] {
        let r = import(
            &app,
            &token,
            sheet,
            true,
            "tag,kind,location\nLAP-1,laptop,Hall\n",
        )
        .await;
        assert_eq!(r.status(), 403, "{sheet}");
    }
    let manager = app.api_token("sbm", "manager").await;
    assert_eq!(device_count(&app, &manager).await, 0);
}

/// A script generating its client from the API document would send the import
/// JSON and read the export as JSON, and a file too big or a `dry_run` that is not
/// yes or no would get an answer the document does not describe; if this broke,
/// an integration could not send a file at all.
#[tokio::test]
async fn the_document_says_an_import_takes_csv_and_an_export_answers_csv() {
    let app = spawn_app().await;
    let doc: Value = reqwest::get(app.url("/api/v1/openapi.json"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let import_op = &doc["paths"]["/imports/{sheet}"]["post"];
    assert!(
        import_op["requestBody"]["content"]["text/csv"].is_object(),
        "{import_op}"
    );
    for status in ["400", "413", "415", "422"] {
        assert!(
            import_op["responses"][status].is_object(),
            "import lists {status}"
        );
    }
    let sheets = import_op["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "sheet")
        .unwrap();
    assert_eq!(
        sheets["schema"]["enum"],
        serde_json::json!(["devices", "people"])
    );
    let export_ok = &doc["paths"]["/exports/{kind}"]["get"]["responses"]["200"];
    assert!(export_ok["content"]["text/csv"].is_object(), "{export_ok}");
    let report_op = &doc["paths"]["/reports/{name}"]["get"];
    assert!(
        report_op["parameters"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "days" && p["in"] == "query"),
        "{report_op}"
    );

    let token = app.api_token("sbm", "manager").await;
    let mut big = String::from("tag,kind,location\n");
    while big.len() <= 1024 * 1024 {
        big.push_str("LAP-0000000001,laptop,Library\n");
    }
    let r = import(&app, &token, "devices", true, &big).await;
    assert_eq!(r.status(), 413);
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("application/problem+json"));
    let problem: Value = r.json().await.unwrap();
    assert!(
        problem["detail"].as_str().unwrap().contains("Split it"),
        "{problem}"
    );
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/imports/devices?dry_run=maybe"))
        .bearer_auth(&token)
        .header("content-type", "text/csv")
        .body("tag,kind,location\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert_eq!(device_count(&app, &token).await, 0);
}
