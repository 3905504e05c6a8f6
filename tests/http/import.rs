//! Importing CSV files through the pages (paste, map, preview, confirm) and the
//! command line: every problem by line and column, and all of a file or none of it.

use std::process::ExitCode;
use std::time::Instant;

use kitroom::import::{run_with, ImportKind};
use kitroom_tests::{spawn_app, TestApp};
use reqwest::{Client, Response};

async fn count(app: &TestApp, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(app.store().reader())
        .await
        .unwrap()
}

/// Posts one step of an import with the CSRF token from the import page.
async fn step(app: &TestApp, c: &Client, path: &str, fields: &[(&str, &str)]) -> Response {
    app.submit(c, "/import", path, fields).await
}

async fn register(app: &TestApp, c: &Client, tag: &str, serial: &str) {
    let r = app
        .register_device(
            c,
            &[
                ("tag", tag),
                ("kind", "laptop"),
                ("make", "Dell"),
                ("model", "Latitude"),
                ("serial", serial),
                ("location", "Computer room"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{tag} is registered");
}

/// The row of the problems table for this line and column.
fn problem_row(line: u64, column: &str) -> String {
    format!("<td class=\"line\">{line}</td><td>{column}</td>")
}

const EVERY_ERROR: &str = "\
Label,Type,Serial Number,Room,Bought,Price,Colour
,laptop,SN-A,Library,,,grey
LAP-0100,laptop,SN-B,Library,,,
lap-0100,laptop,SN-C,Library,,,
LAP-0001,laptop,SN-D,Library,,,
LAP-0101,laptop,SN-B,Library,,,
LAP-0102,toaster,SN-E,Library,,,
LAP-0103,laptop,SN-F,Library,2024-02-31,,
LAP-0104,laptop,SN-G,Library,,lots,
LAP-0105,laptop,SN-OLD,Library,,,
";

const CORRECTED: &str = "\
Label,Type,Serial Number,Room,Bought,Price,Colour
LAP-0099,laptop,SN-A,Library,,,grey
LAP-0100,laptop,SN-B,Library,,,
LAP-0106,laptop,SN-C,Library,,,
LAP-0107,Chromebook,SN-D,Sports hall,,,
LAP-0101,laptop,SN-H,Library,,,
LAP-0102,laptop,SN-E,Library,,,
LAP-0103,laptop,SN-F,Library,2024-02-29,,
LAP-0104,laptop,SN-G,Library,,349.99,
LAP-0105,laptop,SN-I,Library,,,
";

/// The column choices for the files above: "Label" holds the tag, "Colour" is ignored.
const CHOICES: &[(&str, &str)] = &[
    ("col-0", "tag"),
    ("col-1", "kind"),
    ("col-2", "serial"),
    ("col-3", "location"),
    ("col-4", "purchased_on"),
    ("col-5", "cost"),
    ("col-6", ""),
];

fn with_csv<'a>(csv: &'a str, more: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    let mut fields = vec![("csv", csv)];
    fields.extend_from_slice(more);
    fields
}

/// A manager pasting a spreadsheet with mistakes would get half a register, or have
/// to hunt for the mistakes one at a time.
#[tokio::test]
async fn every_problem_in_a_pasted_file_is_listed_by_line_and_column_and_nothing_is_written() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    register(&app, &c, "LAP-0001", "SN-OLD").await;
    let (devices, events) = (count(&app, "device").await, count(&app, "event").await);

    let r = step(&app, &c, "/import/devices/map", &[("csv", EVERY_ERROR)]).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("The file has 9 rows below its headings on line 1."));
    assert!(
        page.contains(r#"<option value="kind" selected>"#),
        "a heading Kitroom knows (Type) is matched for the manager"
    );
    assert!(page.contains(r#"name="col-0""#) && page.contains("Ignore this column"));

    // Without choosing which column holds the tag, the file cannot be checked.
    let r = step(&app, &c, "/import/devices/preview", &[("csv", EVERY_ERROR)]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    // The message is about the whole file, in words, not an internal field's name.
    assert!(page.contains(&problem_row(1, "")), "{page}");
    assert!(page.contains("No column holds the asset tag"));

    let r = step(
        &app,
        &c,
        "/import/devices/preview",
        &with_csv(EVERY_ERROR, CHOICES),
    )
    .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("8 problems in 9 rows checked. Nothing has been imported."),
        "{page}"
    );
    for (line, column, says) in [
        (2, "Label", "There is no asset tag on this line"),
        (4, "Label", "The asset tag lap-0100 is also on line 3"),
        (
            5,
            "Label",
            "The asset tag LAP-0001 is already on the register: LAP-0001 (Dell Latitude)",
        ),
        (
            6,
            "Serial Number",
            "The serial number SN-B is also on line 3",
        ),
        (7, "Type", "“toaster” is not a kind of device Kitroom knows"),
        (8, "Bought", "Purchase date must be a real date"),
        (9, "Price", "“lots” is not an amount of money"),
        (
            10,
            "Serial Number",
            "The serial number SN-OLD is already registered, on LAP-0001",
        ),
    ] {
        let row = problem_row(line, column);
        let at = page
            .find(&row)
            .unwrap_or_else(|| panic!("no problem at line {line}, column {column}"));
        assert!(page[at..].contains(says), "line {line} says {says}");
    }

    // Confirming anyway checks again and writes nothing.
    let r = step(
        &app,
        &c,
        "/import/devices/confirm",
        &with_csv(EVERY_ERROR, CHOICES),
    )
    .await;
    assert_eq!(r.status(), 422);
    assert_eq!(count(&app, "device").await, devices, "no device is written");
    assert_eq!(count(&app, "event").await, events, "no event is written");
    assert_eq!(count(&app, "location").await, 1, "no location is created");
}

/// Once the manager fixed the file, it would not go in, or only part of it would.
#[tokio::test]
async fn a_corrected_file_imports_whole_and_says_how_many() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    register(&app, &c, "LAP-0001", "SN-OLD").await;
    let (devices, events) = (count(&app, "device").await, count(&app, "event").await);

    let r = step(
        &app,
        &c,
        "/import/devices/preview",
        &with_csv(CORRECTED, CHOICES),
    )
    .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Checked 9 rows: 9 devices are ready to import."),
        "{page}"
    );
    assert!(page.contains("Import 9 devices"));
    assert_eq!(
        count(&app, "device").await,
        devices,
        "the preview writes nothing"
    );

    let r = step(
        &app,
        &c,
        "/import/devices/confirm",
        &with_csv(CORRECTED, CHOICES),
    )
    .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/devices");
    let list = app.page(&c, "/devices").await;
    assert!(list.contains("9 devices imported."));
    assert_eq!(count(&app, "device").await, devices + 9);
    // Nine registrations and two new locations, each logged.
    assert_eq!(count(&app, "event").await, events + 11);
    let page = app.page(&c, "/devices/LAP-0104").await;
    assert!(page.contains("£349.99") && page.contains("Library"));
    assert!(
        page.contains("CSV import, line 9"),
        "the history says where it came from"
    );
    let page = app.page(&c, "/devices/LAP-0107").await;
    assert!(page.contains("Sports hall") && page.contains("Chromebook"));
}

/// A school with a few thousand devices could not paste its inventory in one go.
#[tokio::test]
async fn two_thousand_pasted_devices_import_in_one_go() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let mut csv = String::from(
        "tag,kind,make,model,serial,location,cost,encryption_state,encryption_method\n",
    );
    for i in 0..2_000 {
        csv.push_str(&format!(
            "IPAD-{i:04},ipad,Apple,iPad 10th gen,DMP{i:08},Trolley {},329.00,encrypted,ipados\n",
            i % 12
        ));
    }
    let started = Instant::now();
    let r = step(&app, &c, "/import/devices/preview", &[("csv", &csv)]).await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Checked 2000 rows: 2000 devices are ready to import."));
    let previewed = started.elapsed();
    let r = step(&app, &c, "/import/devices/confirm", &[("csv", &csv)]).await;
    assert_eq!(r.status(), 303);
    eprintln!(
        "2,000 devices over HTTP: preview {previewed:?}, import {:?}",
        started.elapsed() - previewed
    );
    assert_eq!(count(&app, "device").await, 2_000);
    assert_eq!(count(&app, "location").await, 12);
}

/// Accounts could not be brought in from the school's staff list, or a manager could
/// make someone an administrator by import.
#[tokio::test]
async fn people_import_creates_accounts_without_passwords_and_no_admin_for_a_manager() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let people = count(&app, "person").await;
    let bad = "Username,Name,Email,Role\nj.smith,Jo Smith,jo@school.example,\nroot2,Al Admin,,admin\nSBM,Again,,\n";
    let r = step(&app, &c, "/import/people/preview", &[("csv", bad)]).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains(&problem_row(3, "Role")));
    assert!(page.contains("Only an IT administrator can manage administrator accounts."));
    assert!(page.contains(&problem_row(4, "Username")));
    assert!(page.contains("The username sbm is already taken in Kitroom."));
    let r = step(&app, &c, "/import/people/confirm", &[("csv", bad)]).await;
    assert_eq!(r.status(), 422);
    assert_eq!(count(&app, "person").await, people);

    let good = "username,full_name,email,position,kind,role\nj.smith,Jo Smith,jo@school.example,Year 4 teacher,staff,\nh.gov,Hal Governor,,Chair,Governor,\n";
    let r = step(&app, &c, "/import/people/confirm", &[("csv", good)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/people");
    assert_eq!(count(&app, "person").await, people + 2);
    let jo = app
        .store()
        .account_by_username("j.smith")
        .await
        .unwrap()
        .unwrap();
    assert!(jo.password_hash.is_none(), "no password until one is set");
    assert_eq!(jo.position, "Year 4 teacher");
    let gov = app
        .store()
        .account_by_username("h.gov")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(gov.kind.as_str(), "governor");
}

/// The device-management report would not reach the register, so encrypted laptops
/// could not go home, or serial numbers Kitroom does not know would vanish unseen.
#[tokio::test]
async fn encryption_import_updates_matching_devices_and_lists_unmatched_serials() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    register(&app, &c, "LAP-1", "SN-1").await;
    register(&app, &c, "LAP-2", "SN-2").await;
    let events = count(&app, "event").await;
    let csv = "Serial Number,BitLocker Status\nsn-1,BitLocker On\nSN-2,Off\nSN-404,On\n";
    let r = step(&app, &c, "/import/encryption/preview", &[("csv", csv)]).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("2 serial numbers match a device on the register."),
        "{page}"
    );
    assert!(page.contains("<code>SN-404</code>"));
    assert!(page.contains("Record encryption for 2 devices"));

    let r = step(&app, &c, "/import/encryption/confirm", &[("csv", csv)]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/import/encryption/done");
    let done = app.page(&c, "/import/encryption/done").await;
    assert!(done.contains("Encryption recorded for 2 devices."));
    assert!(done.contains("1 serial number matches no device"));
    assert!(done.contains("<code>SN-404</code>"));
    assert_eq!(
        count(&app, "event").await,
        events + 2,
        "each change is logged"
    );

    let lap1 = app.device("LAP-1").await;
    assert_eq!(lap1.details.encryption.state.as_str(), "encrypted");
    assert_eq!(
        lap1.details.encryption.method.map(|m| m.as_str()),
        Some("bitlocker")
    );
    assert_eq!(
        lap1.encryption_verified_by.as_deref(),
        Some("sbm"),
        "the importer verified it"
    );
    assert_eq!(lap1.details.encryption.verified_on, Some(kitroom::today()));
    let lap2 = app.device("LAP-2").await;
    assert_eq!(lap2.details.encryption.state.as_str(), "not_encrypted");
}

/// A borrower could add devices or accounts by import.
#[tokio::test]
async fn a_borrower_gets_403_on_every_import_page() {
    let app = spawn_app().await;
    let c = app.signed_in("pupil.helper", "borrower").await;
    for path in [
        "/import",
        "/import/devices",
        "/import/people",
        "/import/encryption",
    ] {
        let r = app.get(&c, path).await;
        assert_eq!(r.status(), 403, "GET {path}");
    }
    let devices = count(&app, "device").await;
    let csv = "tag,kind,location\nLAP-1,laptop,Library\n";
    for path in [
        "/import/devices/map",
        "/import/devices/preview",
        "/import/devices/confirm",
        "/import/people/confirm",
    ] {
        let r = app.submit(&c, "/devices", path, &[("csv", csv)]).await;
        assert_eq!(r.status(), 403, "POST {path}");
    }
    assert_eq!(count(&app, "device").await, devices);
    let head = app.signed_in("head", "head").await;
    assert_eq!(app.get(&head, "/import").await.status(), 403);
}

/// Pasting something that is not a file, or a file too big for the web, would fail
/// without saying what to do.
#[tokio::test]
async fn an_empty_or_oversized_paste_is_refused_with_advice() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let r = step(&app, &c, "/import/devices/map", &[("csv", "  \n ")]).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Paste the contents of your CSV file"));
    // The CSRF check reads at most 1 MiB of form: a bigger paste never reaches the
    // import, is refused as too large with a pointer to the command line, and
    // nothing is written.
    let big = format!(
        "tag,kind,location\n{}",
        "LAP-1,laptop,Library\n".repeat(60_000)
    );
    let r = step(&app, &c, "/import/devices/confirm", &[("csv", &big)]).await;
    assert_eq!(r.status(), 413);
    assert!(
        r.text().await.unwrap().contains("kitroom import"),
        "it points to the command line"
    );
    assert_eq!(count(&app, "device").await, 0);
}

/// The IT administrator's import of a large file at the server would half-write it,
/// hide its problems, or write during a dry run.
#[tokio::test]
async fn the_command_line_checks_everything_and_writes_all_or_nothing() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    register(&app, &c, "LAP-0001", "SN-OLD").await;
    let dir = app.dir.path();
    let run = |file: &'static str, what: ImportKind, dry_run: bool| async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(
            dir,
            what,
            &dir.join(file),
            dry_run,
            &mut out,
            &mut err,
            false,
        )
        .await
        .expect("import runs");
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    std::fs::write(
        dir.join("bad.csv"),
        "\u{feff}tag,kind,serial,location,cost_pence\n\nLAP-0001,laptop,,Library,\nLAP-2,laptop,SN-OLD,Library,12.5\n",
    )
    .unwrap();
    let devices = count(&app, "device").await;
    let (code, _, err) = run("bad.csv", ImportKind::Devices, false).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(
        err.contains("line 3, column tag: The asset tag LAP-0001 is already on the register"),
        "{err}"
    );
    assert!(err.contains("line 4, column serial: The serial number SN-OLD is already registered"));
    assert!(err.contains("line 4, column cost_pence:"));
    assert!(err.contains("Nothing was imported: 3 problems in 2 rows checked."));
    assert_eq!(count(&app, "device").await, devices);

    std::fs::write(
        dir.join("good.csv"),
        "tag,kind,serial,location,cost_pence,Colour\nLAP-2,laptop,SN-2,Library,34999,red\nCAM-1,camera,,Library,,\n",
    )
    .unwrap();
    let (code, out, err) = run("good.csv", ImportKind::Devices, true).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        out.contains(
            "Checked 2 rows: 2 devices are ready to import. Dry run: nothing was written."
        ),
        "{out}"
    );
    assert!(err.contains("column Colour is not one of Kitroom's devices fields"));
    assert_eq!(
        count(&app, "device").await,
        devices,
        "a dry run writes nothing"
    );
    let (code, out, _) = run("good.csv", ImportKind::Devices, false).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(out.contains("Imported 2 devices."));
    assert_eq!(count(&app, "device").await, devices + 2);

    std::fs::write(
        dir.join("people.csv"),
        "username,full_name,role\nit.admin2,Ida Admin,admin\n",
    )
    .unwrap();
    let (code, out, _) = run("people.csv", ImportKind::People, false).await;
    assert_eq!(
        code,
        ExitCode::SUCCESS,
        "at the server anyone may be imported"
    );
    assert!(out.contains("Imported 1 person."));

    std::fs::write(
        dir.join("enc.csv"),
        "serial,encryption_state\nSN-2,yes\nSN-9,no\n",
    )
    .unwrap();
    let (code, out, _) = run("enc.csv", ImportKind::Encryption, false).await;
    assert_eq!(code, ExitCode::SUCCESS);
    assert!(
        out.contains("line 3: no device has the serial number SN-9"),
        "{out}"
    );
    assert!(out.contains("Encryption recorded for 1 device"));
}

/// Snipe-IT's US dates would be stored in the year 23 or with day and month swapped,
/// and costs written with "£" and commas refused or misread, with nothing said.
#[tokio::test]
async fn the_command_line_reads_each_date_column_as_a_whole_and_costs_as_pounds() {
    let app = spawn_app().await;
    let dir = app.dir.path();
    let run = |file: &'static str, dry_run: bool| async move {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = run_with(
            dir,
            ImportKind::Devices,
            &dir.join(file),
            dry_run,
            &mut out,
            &mut err,
            false,
        )
        .await
        .expect("import runs");
        (
            code,
            String::from_utf8(out).unwrap(),
            String::from_utf8(err).unwrap(),
        )
    };
    std::fs::write(
        dir.join("us.csv"),
        "tag,kind,location,purchased_on,warranty_until,cost\n\
         LAP-1,laptop,Library,3/1/23,3/1/28,2266.13\n\
         LAP-2,laptop,Library,10/1/22,,\"£1,299.00\"\n\
         LAP-3,laptop,Library,2/10/99,,1299\n\
         LAP-4,laptop,Library,2/13/23,2/13/2030,£45\n",
    )
    .unwrap();
    let (code, out, err) = run("us.csv", false).await;
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("Imported 4 devices."), "{out}");
    assert!(
        err.contains("note: Dates in purchased_on read as month-first (US): 2/13/23 on line 5 can only be read that way."),
        "{err}"
    );
    /// Tag, purchase date, warranty end and cost in pence, as stored.
    type Stored = (String, Option<String>, Option<String>, Option<i64>);
    let stored: Vec<Stored> = sqlx::query_as(
        "select tag, purchased_on, warranty_until, cost_pence from device order by tag",
    )
    .fetch_all(app.store().reader())
    .await
    .unwrap();
    let day = |s: &str| Some(s.to_owned());
    assert_eq!(
        stored,
        vec![
            (
                "LAP-1".into(),
                day("2023-03-01"),
                day("2028-03-01"),
                Some(226_613)
            ),
            ("LAP-2".into(), day("2022-10-01"), None, Some(129_900)),
            ("LAP-3".into(), day("1999-02-10"), None, Some(129_900)),
            (
                "LAP-4".into(),
                day("2023-02-13"),
                day("2030-02-13"),
                Some(4_500)
            ),
        ]
    );

    std::fs::write(
        dir.join("uk.csv"),
        "tag,kind,location,purchased_on\nLAP-5,laptop,Library,3/1/23\nLAP-6,laptop,Library,2026-11-30 08:14:22.0000000\n",
    )
    .unwrap();
    let (code, out, err) = run("uk.csv", true).await;
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("2 devices are ready to import"), "{out}");
    assert!(
        err.contains(
            "note: Dates in purchased_on read as day-first (UK): no value said otherwise."
        ),
        "{err}"
    );

    std::fs::write(
        dir.join("mixed.csv"),
        "tag,kind,location,purchased_on,warranty_until\n\
         LAP-7,laptop,Library,13/02/2023,\n\
         LAP-8,laptop,Library,02/14/2023,\n\
         LAP-9,laptop,Library,1/1/85,1/1/2099\n",
    )
    .unwrap();
    let devices = count(&app, "device").await;
    let (code, _, err) = run("mixed.csv", false).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(
        err.contains("line 2, column purchased_on: The dates in this column are written both ways: 13/02/2023 can only be day-first (UK), but 02/14/2023 on line 3 can only be month-first (US)."),
        "{err}"
    );
    assert!(err.contains("line 3, column purchased_on:"), "{err}");
    assert!(
        err.contains("line 4, column purchased_on: Purchase date 1 January 1985 is before 1990"),
        "{err}"
    );
    assert!(
        err.contains("line 4, column warranty_until: Warranty end 1 January 2099 is more than 15 years ahead"),
        "{err}"
    );
    assert_eq!(count(&app, "device").await, devices, "nothing is written");
}

/// A manager pasting a register with dates like 3/1/23 would not be told which way
/// they were read, nor see the dates and costs before importing.
#[tokio::test]
async fn the_preview_says_how_each_date_column_was_read() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let csv = "Asset,Kind,Room,Bought,Price\nLAP-1,laptop,Library,3/1/23,\"£1,299.00\"\n";
    let r = step(&app, &c, "/import/devices/preview", &with_csv(csv, &[])).await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Dates in Bought read as day-first (UK): no value said otherwise."),
        "{page}"
    );
    assert!(page.contains("3 January 2023"), "{page}");
    assert!(page.contains("£1,299.00"), "{page}");
}
