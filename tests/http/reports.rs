//! The manager's reports: each page and its CSV checked against a small school built
//! through the app, and the subject-access export of one person's record.

use std::collections::HashMap;

use chrono::{Duration, Utc};
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::{json, Value};

/// A CSV file as rows of cells (quoted cells, doubled quotes and newlines in quotes),
/// after the byte-order mark a download starts with.
pub(crate) fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                cell.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => cell.push(c),
            (false, '"') => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut cell)),
            (false, '\n') => {
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
            }
            (false, '\r') => {}
            (false, c) => cell.push(c),
        }
    }
    if !cell.is_empty() || !row.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// A CSV file as records keyed by its header.
fn records(text: &str) -> Vec<HashMap<String, String>> {
    let mut rows = parse_csv(text).into_iter();
    let header = rows.next().expect("a header row");
    rows.map(|r| header.iter().cloned().zip(r).collect())
        .collect()
}

async fn get(c: &Client, app: &TestApp, path: &str) -> reqwest::Response {
    app.get(c, path).await
}

async fn text(c: &Client, app: &TestApp, path: &str) -> String {
    let r = get(c, app, path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    r.text().await.expect("body")
}

/// A CSV report, checked to be served as a CSV download.
pub(crate) async fn csv(c: &Client, app: &TestApp, path: &str) -> Vec<HashMap<String, String>> {
    let r = get(c, app, path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    assert!(r.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/csv"));
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    records(&r.text().await.unwrap())
}

pub(crate) fn n(r: &HashMap<String, String>, field: &str) -> i64 {
    r[field]
        .parse()
        .unwrap_or_else(|_| panic!("{field} is a number: {r:?}"))
}

/// The school: a manager, the head, two borrowers; six devices of three kinds in two
/// locations with every state of encryption; loans (one overdue); three incidents.
pub(crate) struct School {
    pub(crate) app: TestApp,
    pub(crate) sbm: Client,
    pub(crate) jo: Client,
    pub(crate) kim: Client,
    pub(crate) jo_token: String,
}

/// Reports a problem with `tag` as `c` and returns the incident's page.
async fn report(app: &TestApp, c: &Client, tag: &str, fields: &[(&str, &str)]) -> String {
    let page = format!("/devices/{tag}/report");
    let r = app.submit(c, &page, &page, fields).await;
    assert_eq!(r.status(), 303, "report on {tag}");
    let to = r.headers()["location"].to_str().unwrap().to_owned();
    to.trim_end_matches("?reported=1").to_owned()
}

pub(crate) async fn school() -> School {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let recent = (Utc::now().date_naive() - Duration::days(10)).to_string();
    let devices: &[&[(&str, &str)]] = &[
        &[
            ("tag", "LAP-1"),
            ("kind", "laptop"),
            ("make", "Dell"),
            ("location", "Office"),
            ("encryption_state", "encrypted"),
            ("encryption_method", "bitlocker"),
            ("encryption_verified_on", &recent),
        ],
        &[
            ("tag", "LAP-2"),
            ("kind", "laptop"),
            ("make", "=SUM(1+1)"),
            ("location", "Office"),
            ("encryption_state", "encrypted"),
            ("encryption_method", "bitlocker"),
            ("encryption_verified_on", "2020-01-01"),
        ],
        &[
            ("tag", "LAP-3"),
            ("kind", "laptop"),
            ("make", "HP"),
            ("location", "Library"),
            ("encryption_state", "not_encrypted"),
        ],
        &[
            ("tag", "IPD-1"),
            ("kind", "ipad"),
            ("make", "Apple"),
            ("location", "Library"),
            ("encryption_state", "encrypted"),
            ("encryption_method", "ipados"),
            ("encryption_verified_on", &recent),
        ],
        &[
            ("tag", "IPD-2"),
            ("kind", "ipad"),
            ("make", "Apple"),
            ("location", "Library"),
            ("encryption_state", "unknown"),
        ],
        &[
            ("tag", "CAM-1"),
            ("kind", "camera"),
            ("make", "Canon"),
            ("location", "Office"),
            ("encryption_state", "encrypted"),
            ("encryption_method", "other"),
        ],
    ];
    for d in devices {
        assert_eq!(app.register_device(&sbm, d).await.status(), 303, "{d:?}");
    }
    app.publish_policy(&sbm, "v1").await;
    let jo_token = app.api_token("jo", "borrower").await;
    let jo = app.client();
    assert_eq!(
        app.login(&jo, "jo", kitroom_tests::PASSWORD).await.status(),
        303
    );
    app.sign_policy(&jo, "Jo Bloggs").await;
    let kim = app.signed_in("kim", "borrower").await;
    app.sign_policy(&kim, "Kim Keeper").await;

    let back = |location: &'static str| {
        [
            ("location", location),
            ("condition", "fine"),
            ("battery_percent", "80"),
            ("on_charge", "on"),
        ]
    };
    // jo borrows LAP-1 herself; the manager lends her IPD-1 and takes it back
    assert_eq!(app.check_out(&jo, "LAP-1", &[]).await.status(), 303);
    assert_eq!(
        app.return_device(&jo, "LAP-1", &back("Office"))
            .await
            .status(),
        303
    );
    assert_eq!(
        app.check_out(&sbm, "IPD-1", &[("borrower", "jo")])
            .await
            .status(),
        303
    );
    assert_eq!(
        app.return_device(&sbm, "IPD-1", &back("Library"))
            .await
            .status(),
        303
    );
    // kim has the camera; the manager lends her LAP-3 until a moment ago
    assert_eq!(app.check_out(&kim, "CAM-1", &[]).await.status(), 303);
    let sbm_token = kitroom::cli::new_token(app.dir.path(), "sbm", "script".into())
        .await
        .unwrap()
        .unwrap();
    let due = (Utc::now() + chrono::Duration::milliseconds(2000)).to_rfc3339();
    let r = Client::new()
        .post(app.url("/api/v1/devices/LAP-3/checkout"))
        .bearer_auth(&sbm_token)
        .json(&json!({"borrower": "kim", "due_at": due}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201);
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;

    // damage in autumn 2025 (£120.50) and summer 2026 (£30), a loss in autumn 2026
    let a = report(
        &app,
        &jo,
        "LAP-1",
        &[
            ("kind", "damage"),
            ("description", "=HYPERLINK(\"http://evil.example\")"),
            ("occurred_on", "2025-10-15"),
        ],
    )
    .await;
    let b = report(
        &app,
        &jo,
        "IPD-1",
        &[
            ("kind", "damage"),
            ("description", "Cracked screen"),
            ("occurred_on", "2026-05-20"),
        ],
    )
    .await;
    for (path, cost) in [(&a, "120.50"), (&b, "30")] {
        let r = app
            .submit(
                &sbm,
                path,
                &format!("{path}/status"),
                &[
                    ("status", "resolved"),
                    ("resolution", "repaired"),
                    ("cost", cost),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "resolve {path}");
    }
    report(
        &app,
        &kim,
        "CAM-1",
        &[
            ("kind", "loss"),
            ("description", "Left on the coach"),
            ("occurred_on", "2026-11-02"),
        ],
    )
    .await;
    School {
        app,
        sbm,
        jo,
        kim,
        jo_token,
    }
}

/// The business manager could not count the devices, or the totals would not add up.
#[tokio::test]
async fn the_inventory_counts_devices_by_kind_status_and_location_with_totals() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let rows = csv(sbm, app, "/reports/inventory.csv").await;
    let row = |group: &str, name: &str| {
        rows.iter()
            .find(|r| r["group"] == group && r["name"] == name)
            .unwrap_or_else(|| panic!("a row for {group} {name}: {rows:?}"))
    };
    let laptops = row("kind", "laptop");
    assert_eq!(
        (
            n(laptops, "available"),
            n(laptops, "on_loan"),
            n(laptops, "returned_charging"),
            n(laptops, "total")
        ),
        (1, 1, 1, 3)
    );
    let ipads = row("kind", "ipad");
    assert_eq!(
        (
            n(ipads, "available"),
            n(ipads, "returned_charging"),
            n(ipads, "total")
        ),
        (1, 1, 2)
    );
    assert_eq!(n(row("kind", "camera"), "lost"), 1);
    assert_eq!(n(row("location", "Office"), "total"), 3);
    assert_eq!(n(row("location", "Library"), "total"), 3);
    let all = row("total", "all devices");
    assert_eq!(n(all, "total"), 6);
    assert_eq!(n(all, "lost"), 1);
    assert_eq!(n(all, "retired"), 0);

    // filters narrow the same figures
    let library = csv(
        sbm,
        app,
        "/reports/inventory.csv?location=Library&kind=ipad",
    )
    .await;
    let total = library.iter().find(|r| r["group"] == "total").unwrap();
    assert_eq!(n(total, "total"), 2);
    let lost = csv(sbm, app, "/reports/inventory.csv?status=lost").await;
    assert_eq!(
        n(
            lost.iter().find(|r| r["group"] == "total").unwrap(),
            "total"
        ),
        1
    );

    // the page: tables, a chart that reads without colour, and the CSV link
    let page = text(sbm, app, "/reports/inventory?location=Library").await;
    assert!(page.contains("role=\"img\""));
    assert!(page.contains("<title id=\"inventory-status-title\">Devices by status</title>"));
    assert!(
        page.contains(
            "Available: 1; On loan: 1; Returned, charging: 1; In repair: 0; Lost: 0; Retired: 0"
        ),
        "{page}"
    );
    assert!(page.contains("href=\"/reports/inventory.csv?location=Library\""));
    // a filter that cannot be read is explained, not a crash
    let r = get(sbm, app, "/reports/inventory?kind=toaster").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("is not a device kind"));
}

/// Unencrypted devices could go unnoticed, or an old check would count as current.
#[tokio::test]
async fn encryption_compliance_counts_only_recent_verifications() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let devices = csv(sbm, app, "/reports/encryption.csv").await;
    assert_eq!(devices.len(), 6, "every device in service");
    let compliance: HashMap<&str, &str> = devices
        .iter()
        .map(|r| (r["tag"].as_str(), r["compliance"].as_str()))
        .collect();
    assert_eq!(compliance["LAP-1"], "verified");
    assert_eq!(compliance["IPD-1"], "verified");
    assert_eq!(compliance["LAP-2"], "verification_old");
    assert_eq!(compliance["CAM-1"], "never_verified");
    assert_eq!(compliance["LAP-3"], "not_encrypted");
    assert_eq!(compliance["IPD-2"], "unknown");

    let page = text(sbm, app, "/reports/encryption").await;
    assert!(
        page.contains("<span class=\"n\">33%</span> verified as encrypted"),
        "{page}"
    );
    assert!(
        page.contains("Encrypted and verified: 2 (33%)"),
        "the chart says it in text"
    );
    for tag in ["LAP-2", "CAM-1", "LAP-3", "IPD-2"] {
        assert!(
            page.contains(&format!("href=\"/devices/{tag}\"")),
            "{tag} is listed"
        );
    }
    assert!(
        !page.contains("href=\"/devices/LAP-1\""),
        "a verified device is not listed"
    );

    // a longer allowance counts the 2020 check
    let page = text(sbm, app, "/reports/encryption?max_age_days=3000").await;
    assert!(page.contains("<span class=\"n\">50%</span> verified as encrypted"));
    let devices = csv(
        sbm,
        app,
        "/reports/encryption.csv?max_age_days=3000&kind=laptop",
    )
    .await;
    let verified = devices
        .iter()
        .filter(|r| r["compliance"] == "verified")
        .count();
    assert_eq!((devices.len(), verified), (3, 2));
    assert_eq!(
        get(sbm, app, "/reports/encryption?max_age_days=0")
            .await
            .status(),
        422
    );
}

/// A late device or one never counted in a stocktake would not come to light.
#[tokio::test]
async fn overdue_loans_and_unaudited_devices_are_listed() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let overdue = csv(sbm, app, "/reports/overdue.csv").await;
    assert_eq!(overdue.len(), 1, "{overdue:?}");
    assert_eq!(overdue[0]["tag"], "LAP-3");
    assert_eq!(overdue[0]["borrower"], "kim");
    assert_eq!(n(&overdue[0], "days_overdue"), 0);
    assert!(csv(sbm, app, "/reports/overdue.csv?location=Office")
        .await
        .is_empty());
    let page = text(sbm, app, "/reports/overdue").await;
    assert!(page.contains("href=\"/reports/people/kim\""));
    assert!(page.contains("minute"), "how late, in words");

    let audit = csv(sbm, app, "/reports/audit.csv").await;
    assert_eq!(audit.len(), 6, "nothing has been audited");
    assert!(audit.iter().all(|r| r["last_audited_on"].is_empty()));
    assert_eq!(
        csv(sbm, app, "/reports/audit.csv?kind=ipad&days=30")
            .await
            .len(),
        2
    );
    let page = text(sbm, app, "/reports/audit").await;
    assert!(page.contains("never audited"));
}

/// The school could not tell the governors what damage and loss cost each term.
#[tokio::test]
async fn incident_costs_add_up_per_term_and_school_year() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let rows = csv(sbm, app, "/reports/incidents.csv").await;
    let cell = |year: &str, term: &str, kind: &str| {
        rows.iter()
            .find(|r| r["school_year"] == year && r["term"] == term && r["kind"] == kind)
            .unwrap_or_else(|| panic!("{year} {term} {kind}: {rows:?}"))
    };
    let autumn = cell("2025/26", "autumn", "damage");
    assert_eq!(n(autumn, "incidents"), 1);
    assert_eq!(autumn["cost"], "120.50");
    assert_eq!(cell("2025/26", "summer", "damage")["cost"], "30.00");
    let year = cell("2025/26", "year", "all");
    assert_eq!(n(year, "incidents"), 2);
    assert_eq!(year["cost"], "150.50");
    let loss = cell("2026/27", "autumn", "loss");
    assert_eq!(
        (n(loss, "incidents"), n(loss, "incidents_with_cost")),
        (1, 0)
    );
    assert_eq!(loss["cost"], "0.00");
    assert!(
        !rows.iter().any(|r| r["term"] == "spring"),
        "no incident in spring"
    );

    // filters: one kind, a date range
    let damage = csv(sbm, app, "/reports/incidents.csv?kind=loss").await;
    assert!(damage.iter().all(|r| r["school_year"] == "2026/27"));
    let range = csv(
        sbm,
        app,
        "/reports/incidents.csv?from=2026-01-01&to=2026-08-31",
    )
    .await;
    let year = range
        .iter()
        .find(|r| r["term"] == "year" && r["kind"] == "all")
        .unwrap();
    assert_eq!(year["cost"], "30.00");

    let page = text(sbm, app, "/reports/incidents").await;
    assert!(
        page.contains("31 March stands in for it"),
        "the term rule is stated"
    );
    assert!(page.contains("£150.50"));
    assert!(
        page.contains("2025/26: £150.50 (2 incidents)"),
        "the chart's bars in text"
    );
    assert_eq!(
        get(sbm, app, "/reports/incidents?from=2026-05-01&to=2026-01-01")
            .await
            .status(),
        422
    );
}

/// Devices nobody uses would keep being bought, or the busy ones not spotted.
#[tokio::test]
async fn utilisation_counts_loans_per_device_and_kind_and_finds_idle_devices() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let rows = csv(sbm, app, "/reports/utilisation.csv").await;
    let loans: HashMap<&str, i64> = rows
        .iter()
        .map(|r| (r["tag"].as_str(), n(r, "loans")))
        .collect();
    assert_eq!(loans.len(), 6);
    assert_eq!(loans["LAP-1"], 1);
    assert_eq!(loans["LAP-3"], 1);
    assert_eq!(loans["IPD-1"], 1);
    assert_eq!(loans["CAM-1"], 1);
    assert_eq!(loans["LAP-2"], 0);
    assert_eq!(loans["IPD-2"], 0);
    let laptops: i64 = rows
        .iter()
        .filter(|r| r["kind"] == "laptop")
        .map(|r| n(r, "loans"))
        .sum();
    assert_eq!(laptops, 2);
    let today = Utc::now().date_naive();
    assert!(
        rows[0]["period_to"] == today.to_string()
            || rows[0]["period_to"] == (today + Duration::days(1)).to_string()
    );

    let page = text(sbm, app, "/reports/utilisation").await;
    assert!(
        page.contains("Laptop: 2 loans on 3 devices"),
        "the chart in text"
    );
    assert!(page.contains("Never borrowed in the period"));
    let long_ago = csv(
        sbm,
        app,
        "/reports/utilisation.csv?from=2020-01-01&to=2020-12-31",
    )
    .await;
    assert!(long_ago.iter().all(|r| r["loans"] == "0"));
}

/// A spreadsheet could run a formula someone typed into a device's details.
#[tokio::test]
async fn csv_cells_that_look_like_formulas_are_neutralised() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let audit = csv(sbm, app, "/reports/audit.csv").await;
    let lap2 = audit.iter().find(|r| r["tag"] == "LAP-2").unwrap();
    assert_eq!(lap2["make"], "'=SUM(1+1)");
    let util = csv(sbm, app, "/reports/utilisation.csv").await;
    assert!(util.iter().all(|r| !r["make"].starts_with('=')));
    let export = get(sbm, app, "/reports/people/jo/export.csv")
        .await
        .text()
        .await
        .unwrap();
    assert!(export.contains("'=HYPERLINK"), "{export}");
    assert!(!export.contains(",=HYPERLINK") && !export.contains(",\"=HYPERLINK"));
}

/// The head could not answer a subject-access request, or would hand out other people's data with it.
#[tokio::test]
async fn a_persons_export_holds_their_record_and_nobody_elses() {
    let s = school().await;
    let app = &s.app;
    app.add_user("head", "head").await;
    let head = app.client();
    app.login(&head, "head", kitroom_tests::PASSWORD).await;

    // the history page, reached from the reports index
    let r = get(&head, app, "/reports/people?username=JO").await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/reports/people/jo");
    let page = text(&head, app, "/reports/people/jo").await;
    for expected in [
        "LAP-1",
        "IPD-1",
        "Jo Bloggs",
        "v1",
        "Cracked screen",
        "href=\"/reports/people/jo/export.csv\"",
    ] {
        assert!(page.contains(expected), "{expected} on the history page");
    }

    let r = get(&head, app, "/reports/people/jo/export.json").await;
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .contains("kitroom-jo.json"));
    let raw = r.text().await.unwrap();
    let export: Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(export["account"]["username"], "jo");
    assert_eq!(export["account"]["password_set"], true);
    let loans = export["loans"].as_array().unwrap();
    let tags: Vec<&str> = loans
        .iter()
        .map(|l| l["device_tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["LAP-1", "IPD-1"]);
    assert_eq!(loans[0]["issued_by"], "jo");
    assert_eq!(loans[1]["issued_by"], "someone else");
    assert_eq!(loans[1]["received_by"], "someone else");
    assert_eq!(export["signatures"][0]["policy_version"], "v1");
    assert_eq!(export["signatures"][0]["full_name"], "Jo Bloggs");
    assert_eq!(export["incidents_reported"].as_array().unwrap().len(), 2);
    assert_eq!(export["incidents_reported"][0]["cost_pence"], 12050);
    assert_eq!(export["api_tokens"][0]["name"], "tests");
    let actions: Vec<&str> = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    for a in [
        "person.created",
        "policy.signed",
        "loan.checked_out",
        "loan.returned",
        "incident.reported",
        "person.exported",
    ] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }

    let exported = export["events"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["action"] == "person.exported")
        .unwrap();
    assert_eq!(exported["actor"], "someone else", "the head is not named");

    // nothing about anyone else, and no secrets
    for other in [
        "kim",
        "Kim",
        "Keeper",
        "sbm",
        "Sbm",
        "Head Test",
        "CAM-1",
        "LAP-3",
        "$argon2",
        "password_hash",
        "token_hash",
        &s.jo_token,
    ] {
        assert!(!raw.contains(other), "the export holds {other:?}:\n{raw}");
    }
    let csv_export = get(&head, app, "/reports/people/jo/export.csv")
        .await
        .text()
        .await
        .unwrap();
    let rows = records(&csv_export);
    assert!(rows
        .iter()
        .any(|r| r["section"] == "loans" && r["field"] == "device_tag" && r["value"] == "IPD-1"));
    assert!(rows.iter().any(|r| r["section"] == "signatures"
        && r["field"] == "policy_version"
        && r["value"] == "v1"));
    assert!(rows
        .iter()
        .any(|r| r["section"] == "change_requests" && r["value"] == "none"));
    for other in ["kim", "Kim", "sbm", "Sbm", "CAM-1", "$argon2"] {
        assert!(
            !csv_export.contains(other),
            "the CSV export holds {other:?}"
        );
    }

    // kim's export has her loans and not jo's
    let kim: Value = get(&head, app, "/reports/people/kim/export.json")
        .await
        .json()
        .await
        .unwrap();
    let tags: Vec<&str> = kim["loans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["device_tag"].as_str().unwrap())
        .collect();
    assert_eq!(tags, ["CAM-1", "LAP-3"]);
    assert_eq!(kim["loans"][0]["outcome"], "lost");
    assert!(!kim.to_string().contains("Jo Bloggs"));

    // the manager can read reports too; an unknown person is not found
    assert_eq!(get(&s.sbm, app, "/reports/people/kim").await.status(), 200);
    assert_eq!(
        get(&head, app, "/reports/people/nobody").await.status(),
        404
    );
    assert_eq!(
        get(&head, app, "/reports/people/nobody/export.json")
            .await
            .status(),
        404
    );
}

/// A borrower could read everyone's loans, or download another person's data.
#[tokio::test]
async fn a_borrower_cannot_read_reports_or_exports() {
    let s = school().await;
    let app = &s.app;
    for path in [
        "/reports",
        "/reports/inventory",
        "/reports/inventory.csv",
        "/reports/encryption.csv",
        "/reports/overdue",
        "/reports/incidents.csv",
        "/reports/utilisation",
        "/reports/people/kim",
        "/reports/people/jo",
        "/reports/people/jo/export.json",
        "/reports/people/kim/export.csv",
    ] {
        assert_eq!(get(&s.jo, app, path).await.status(), 403, "{path}");
        assert_eq!(get(&s.kim, app, path).await.status(), 403, "{path}");
    }
    // and signed out, the sign-in page
    let r = get(&app.client(), app, "/reports/people/jo/export.json").await;
    assert_eq!(r.status(), 303);
    // nobody's export was recorded, because none was made
    let log = text(&s.sbm, app, "/log").await;
    assert!(!log.contains("person.exported"));
}

/// The bytes of a CSV download from a page, checked to open in Excel as UTF-8 (it
/// starts with a byte-order mark) and to be named with today's date; returned as
/// records read by the `csv` crate after the mark.
async fn excel_csv(c: &Client, app: &TestApp, path: &str) -> Vec<HashMap<String, String>> {
    let r = get(c, app, path).await;
    assert_eq!(r.status(), 200, "GET {path}");
    let today = Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .date_naive()
        .to_string();
    let disposition = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        disposition.starts_with("attachment; filename=\"")
            && disposition.ends_with(&format!("-{today}.csv\"")),
        "{path}: the file is named with today's date: {disposition}"
    );
    let bytes = r.bytes().await.unwrap();
    assert!(
        bytes.starts_with(b"\xEF\xBB\xBF"),
        "{path}: starts with the UTF-8 byte-order mark Excel needs: {:?}",
        &bytes[..bytes.len().min(12)]
    );
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let header: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    assert!(
        header[0]
            .chars()
            .all(|c| c.is_ascii_lowercase() || c == '_'),
        "{path}: {header:?}"
    );
    reader
        .records()
        .map(|r| {
            header
                .iter()
                .cloned()
                .zip(r.unwrap().iter().map(str::to_owned))
                .collect()
        })
        .collect()
}

/// A time in a report's CSV: in school time with its offset from UTC, whole seconds.
fn school_time(path: &str, cell: &str) -> chrono::DateTime<chrono::FixedOffset> {
    let t = chrono::DateTime::parse_from_rfc3339(cell)
        .unwrap_or_else(|e| panic!("{path}: {cell:?} is a time with its offset: {e}"));
    assert!(
        cell.len() == "2026-12-06T09:15:00+00:00".len()
            && (cell.ends_with("+00:00") || cell.ends_with("+01:00")),
        "{path}: {cell:?} is in school time with its offset, no fractions of a second"
    );
    let london = t.with_timezone(&chrono_tz::Europe::London);
    assert_eq!(
        london.format("%Y-%m-%dT%H:%M:%S%:z").to_string(),
        cell,
        "{path}: the offset is London's on that day"
    );
    t
}

/// Excel on Windows would show "£" as "Â£" in a download, or a saved report would
/// not say which day it was taken.
#[tokio::test]
async fn every_csv_download_from_a_page_opens_in_excel_and_is_named_by_date() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let notes = "Charger £45 — Zoë's";
    app.add_device(sbm, "LAP-9", "laptop", "Office", &[("notes", notes)])
        .await;
    let office = app.location("Office").await.id;
    let r = app
        .submit(
            sbm,
            "/stocktakes",
            "/stocktakes",
            &[("location", &office.to_string())],
        )
        .await;
    assert_eq!(r.status(), 303);
    let stocktake = r.headers()["location"].to_str().unwrap().to_owned();
    let r = app
        .submit(
            sbm,
            &stocktake,
            &format!("{stocktake}/scan"),
            &[("tag", "LAP-1")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let policy = app
        .store()
        .current_policy(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()
        .unwrap()
        .id;

    let devices = excel_csv(sbm, app, "/export/devices.csv").await;
    let lap9 = devices.iter().find(|d| d["tag"] == "LAP-9").unwrap();
    assert_eq!(lap9["notes"], notes, "£, dashes and accents read intact");
    for path in [
        "/export/loans.csv".to_owned(),
        "/export/incidents.csv".into(),
        "/export/signatures.csv".into(),
        "/export/events.csv".into(),
        "/reports/inventory.csv".into(),
        "/reports/encryption.csv".into(),
        "/reports/overdue.csv".into(),
        "/reports/audit.csv".into(),
        "/reports/incidents.csv".into(),
        "/reports/utilisation.csv".into(),
        "/reports/disposals.csv".into(),
        "/reports/people/jo/export.csv".into(),
        format!("/policies/{policy}/signatures.csv"),
        format!("{stocktake}/results.csv"),
        format!("{stocktake}/results.csv?outcome=missing"),
    ] {
        excel_csv(sbm, app, &path).await;
    }
}

/// The business manager's spreadsheet would show costs in pence, or times an hour
/// out in summer with microseconds.
#[tokio::test]
async fn report_csvs_give_pounds_and_school_times_with_their_offset() {
    let s = school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let rows = excel_csv(sbm, app, "/reports/incidents.csv").await;
    let autumn = rows
        .iter()
        .find(|r| r["school_year"] == "2025/26" && r["term"] == "autumn" && r["kind"] == "damage")
        .unwrap();
    assert_eq!(autumn["cost"], "120.50");
    assert!(!autumn.contains_key("cost_pence"), "one cost, in pounds");

    let overdue = excel_csv(sbm, app, "/reports/overdue.csv").await;
    assert_eq!(overdue.len(), 1);
    let due = school_time("overdue.csv", &overdue[0]["due_at"]);
    assert!((Utc::now() - due.with_timezone(&Utc)).num_seconds() < 600);
    school_time("overdue.csv", &overdue[0]["out_at"]);

    let used = excel_csv(sbm, app, "/reports/utilisation.csv").await;
    let lap1 = used.iter().find(|d| d["tag"] == "LAP-1").unwrap();
    school_time("utilisation.csv", &lap1["last_out_at"]);

    // the subject-access export: jo's damage cost in pounds, her loans in school time
    let export = excel_csv(sbm, app, "/reports/people/jo/export.csv").await;
    let field = |section: &str, field: &str| {
        export
            .iter()
            .find(|r| r["section"] == section && r["item"] == "1" && r["field"] == field)
            .unwrap_or_else(|| panic!("{section} {field}: {export:?}"))["value"]
            .clone()
    };
    assert_eq!(field("incidents_reported", "cost"), "120.50");
    school_time("export.csv", &field("loans", "out_at"));
    school_time("export.csv", &field("export", "exported_at"));
}
