//! Real exports, as each system writes its heading line (rows made up): Snipe-IT's
//! asset file, Google Admin's Chrome devices, Intune's devices and Jamf Pro's
//! computers and mobile devices, imported from outside and checked device by device.
//!
//! Dates and costs here are ones today's reader already understands (ISO dates, "£1,299.00");
//! the whole-column date reading (US `3/1/23`, two-digit years) extends these files
//! in the dates work.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use kitroom::import::{run_chosen, Choices, ImportKind};
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/import")
        .join(name)
}

fn day(y: i32, m: u32, d: u32) -> Option<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, d)
}

/// Runs `kitroom import` on a file with these `--map-column` and `--map-value` options.
async fn import(
    app: &TestApp,
    what: ImportKind,
    file: &Path,
    dry_run: bool,
    columns: &[&str],
    values: &[&str],
) -> (ExitCode, String, String) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let choices = Choices {
        columns: columns.iter().map(|s| s.to_string()).collect(),
        values: values.iter().map(|s| s.to_string()).collect(),
    };
    let code = run_chosen(
        app.dir.path(),
        what,
        file,
        dry_run,
        &choices,
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
}

async fn register(app: &TestApp, c: &Client, tag: &str, kind: &str, serial: &str) {
    let r = app
        .register_device(
            c,
            &[
                ("tag", tag),
                ("kind", kind),
                ("serial", serial),
                ("location", "Computer room"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "{tag} is registered");
}

/// (state, method, verified on) of a device's encryption record.
async fn encryption(app: &TestApp, tag: &str) -> (String, Option<String>, Option<NaiveDate>) {
    let d = app.device(tag).await;
    let e = d.details.encryption;
    (
        e.state.as_str().to_owned(),
        e.method.map(|m| m.as_str().to_owned()),
        e.verified_on,
    )
}

fn enc(
    state: &str,
    method: Option<&str>,
    on: Option<NaiveDate>,
) -> (String, Option<String>, Option<NaiveDate>) {
    (state.to_owned(), method.map(str::to_owned), on)
}

/// A school moving from Snipe-IT would get its devices with the wrong kind, cost or
/// warranty, or be told about an internal field instead of its own "Category" column.
#[tokio::test]
async fn snipe_it_assets_import_with_their_kinds_dates_costs_and_one_mapped_category() {
    let app = spawn_app().await;
    let file = fixture("snipe-it-assets.csv");

    let (code, out, err) = import(&app, ImportKind::Devices, &file, true, &[], &[]).await;
    assert_eq!(code, ExitCode::from(2), "{out}{err}");
    assert!(
        err.contains(
            "line 9, column Category: “Ornamental Railings” is not a kind of device Kitroom knows"
        ),
        "{err}"
    );
    assert!(
        err.contains("--map-value \"kind:Ornamental Railings=other\""),
        "{err}"
    );
    assert!(
        err.contains("Nothing was imported: 1 problem in 8 rows checked."),
        "the usual categories are kinds, and Purchase Cost and Warranty are read: {err}"
    );

    let (code, out, err) = import(
        &app,
        ImportKind::Devices,
        &file,
        false,
        &[],
        &["kind:Ornamental Railings=other"],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("Imported 8 devices."), "{out}");

    // tag, kind, make, model, serial, location, bought, cost in pence, warranty ends, supplier
    let expected = [
        (
            "LAP-0101",
            "laptop",
            "Dell",
            "Latitude 5440",
            "SNIPE-LAP-01",
            "Library",
            day(2023, 1, 3),
            Some(226_613),
            day(2026, 1, 3),
            "Stone Computers",
        ),
        (
            "DSK-0101",
            "desktop",
            "Dell",
            "OptiPlex 7010",
            "SNIPE-DSK-01",
            "School office",
            day(2022, 10, 1),
            Some(129_900),
            None,
            "Stone Computers",
        ),
        (
            "TAB-0101",
            "tablet",
            "Samsung",
            "Tab A9",
            "SNIPE-TAB-01",
            "Year 2",
            day(2024, 2, 29),
            Some(14_900),
            None,
            "",
        ),
        (
            "IPAD-0101",
            "ipad",
            "Apple",
            "iPad (10th generation)",
            "SNIPE-IPD-01",
            "Art room",
            day(2024, 9, 2),
            Some(34_900),
            day(2025, 9, 2),
            "",
        ),
        (
            "CB-0101",
            "chromebook",
            "HP",
            "Chromebook 314",
            "SNIPE-CHR-01",
            "Year 5",
            None,
            None,
            None,
            "",
        ),
        (
            "CAM-0101",
            "camera",
            "Canon",
            "PowerShot SX740",
            "SNIPE-CAM-01",
            "School office",
            day(2021, 6, 15),
            Some(22_999),
            None,
            "",
        ),
        (
            "PHN-0101",
            "phone",
            "Samsung",
            "Galaxy A15",
            "SNIPE-PHN-01",
            "Site office",
            day(2024, 4, 30),
            Some(13_950),
            None,
            "",
        ),
        (
            "RAIL-0101",
            "other",
            "Ironworks Ltd",
            "Heritage",
            "",
            "Playground",
            day(2019, 5, 20),
            Some(450_000),
            None,
            "",
        ),
    ];
    for (tag, kind, make, model, serial, location, bought, cost, warranty, supplier) in expected {
        let d = app.device(tag).await.details;
        assert_eq!(
            (
                d.kind.as_str(),
                d.make.as_str(),
                d.model.as_str(),
                d.serial.as_str(),
                d.location.as_str(),
                d.purchased_on,
                d.cost.map(|p| p.0),
                d.warranty_until,
                d.supplier.as_str()
            ),
            (kind, make, model, serial, location, bought, cost, warranty, supplier),
            "{tag}"
        );
    }
    let lap = app.device("LAP-0101").await;
    assert_eq!(lap.details.notes, "Spare charger in drawer");
}

/// Chromebooks managed in Google Admin could never go home: the export has no
/// encryption column, and the import named an internal field instead of helping.
#[tokio::test]
async fn a_google_chrome_export_records_chromeos_encryption_for_provisioned_devices_only() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    for n in 1..=4 {
        register(
            &app,
            &c,
            &format!("CB-000{n}"),
            "chromebook",
            &format!("GCB-000{n}"),
        )
        .await;
    }
    let file = fixture("google-chrome-devices.csv");
    let (code, out, err) = import(&app, ImportKind::Encryption, &file, false, &[], &[]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}{err}");
    assert!(
        out.contains("line 4: GCB-0003 left alone: its Status is DEPROVISIONED"),
        "{out}"
    );
    assert!(
        out.contains("line 5: GCB-0004 left alone: its Status is DISABLED"),
        "{out}"
    );
    assert!(
        out.contains("line 6: no device has the serial number GCB-0999"),
        "{out}"
    );
    assert!(out.contains("Encryption recorded for 2 devices"), "{out}");

    assert_eq!(
        encryption(&app, "CB-0001").await,
        enc("encrypted", Some("chromeos"), day(2026, 11, 28))
    );
    assert_eq!(
        encryption(&app, "CB-0002").await,
        enc("encrypted", Some("chromeos"), day(2026, 11, 27))
    );
    assert_eq!(
        encryption(&app, "CB-0003").await,
        enc("unknown", None, None)
    );
    assert_eq!(
        encryption(&app, "CB-0004").await,
        enc("unknown", None, None)
    );

    // As a devices file it has no kind; the message says so in words, and "Asset ID"
    // is taken as the tag.
    let (code, _, err) = import(&app, ImportKind::Devices, &file, true, &[], &[]).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("No column holds the kind of device"), "{err}");
    assert!(!err.contains("column Asset ID is not one of"), "{err}");
    for internal in [
        "encryption_state",
        "column tag",
        "column kind",
        "purchased_on",
    ] {
        assert!(!err.contains(internal), "{internal} in {err}");
    }
}

/// Intune's laptops would be refused for their check-in times, or a device with no
/// answer in "Encrypted" would stop the whole file.
#[tokio::test]
async fn an_intune_export_records_its_encrypted_column_and_leaves_blank_rows_alone() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    for n in 1..=3 {
        register(
            &app,
            &c,
            &format!("LAP-020{n}"),
            "laptop",
            &format!("INT-000{n}"),
        )
        .await;
    }
    let file = fixture("intune-devices.csv");
    let (code, out, err) = import(&app, ImportKind::Encryption, &file, false, &[], &[]).await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}{err}");
    assert!(
        out.contains("line 4: INT-0003 left alone: its Encrypted cell is empty, so its encryption is unknown"),
        "{out}"
    );
    assert!(
        out.contains("line 5: no device has the serial number INT-0099"),
        "{out}"
    );
    assert_eq!(encryption(&app, "LAP-0201").await.0, "encrypted");
    assert_eq!(encryption(&app, "LAP-0201").await.2, day(2026, 11, 30));
    assert_eq!(
        encryption(&app, "LAP-0202").await,
        enc("not_encrypted", None, day(2026, 11, 29))
    );
    assert_eq!(
        encryption(&app, "LAP-0203").await,
        enc("unknown", None, None)
    );
}

/// Macs and iPads managed in Jamf Pro would be refused for Jamf's own words
/// ("All Partitions Encrypted"), or recorded without FileVault.
#[tokio::test]
async fn jamf_computer_and_mobile_exports_record_filevault_and_data_protection() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    for n in 1..=3 {
        register(
            &app,
            &c,
            &format!("MAC-000{n}"),
            "laptop",
            &format!("C02JAMF000{n}"),
        )
        .await;
    }
    for n in 1..=2 {
        register(
            &app,
            &c,
            &format!("IPAD-000{n}"),
            "ipad",
            &format!("DMPJAMF000{n}"),
        )
        .await;
    }
    let (code, out, err) = import(
        &app,
        ImportKind::Encryption,
        &fixture("jamf-computers.csv"),
        false,
        &[],
        &[],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}{err}");
    assert!(
        out.contains("line 4: C02JAMF0003 left alone: its FileVault 2 Status cell is empty"),
        "{out}"
    );
    assert_eq!(
        encryption(&app, "MAC-0001").await,
        enc("encrypted", Some("filevault"), day(2026, 11, 25))
    );
    assert_eq!(
        encryption(&app, "MAC-0002").await,
        enc("not_encrypted", None, day(2026, 11, 24))
    );
    assert_eq!(
        encryption(&app, "MAC-0003").await,
        enc("unknown", None, None)
    );

    let (code, out, err) = import(
        &app,
        ImportKind::Encryption,
        &fixture("jamf-mobile-devices.csv"),
        false,
        &[],
        &[],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{out}{err}");
    assert_eq!(
        encryption(&app, "IPAD-0001").await,
        enc("encrypted", Some("ipados"), day(2026, 11, 26))
    );
    assert_eq!(
        encryption(&app, "IPAD-0002").await,
        enc("not_encrypted", None, day(2026, 11, 22))
    );
}

/// An IT administrator with a column Kitroom cannot guess would have no way to say
/// which column is which at the command line.
#[tokio::test]
async fn map_column_says_which_column_holds_a_field_and_names_a_wrong_one() {
    let app = spawn_app().await;
    let file = app.dir.path().join("own.csv");
    std::fs::write(
        &file,
        "Inventory No,Category,Room,Tag colour\nLAP-9,Laptops,Library,red\n",
    )
    .unwrap();
    let (code, _, err) = import(&app, ImportKind::Devices, &file, true, &[], &[]).await;
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("No column holds the asset tag"), "{err}");
    assert!(err.contains("--map-column"), "the message says how: {err}");

    let (code, out, err) = import(
        &app,
        ImportKind::Devices,
        &file,
        false,
        &["Inventory No=tag"],
        &[],
    )
    .await;
    assert_eq!(code, ExitCode::SUCCESS, "{err}");
    assert!(out.contains("Imported 1 device."), "{out}");
    let d = app.device("LAP-9").await;
    assert_eq!(d.details.kind.as_str(), "laptop");

    let (code, _, err) = import(
        &app,
        ImportKind::Devices,
        &file,
        true,
        &["Stock number=tag"],
        &[],
    )
    .await;
    assert_eq!(code, ExitCode::from(2));
    assert!(
        err.contains("The file has no column “Stock number”. Its columns are: Inventory No, Category, Room, Tag colour."),
        "{err}"
    );
    let (code, _, err) = import(
        &app,
        ImportKind::Devices,
        &file,
        true,
        &["Room=colour"],
        &[],
    )
    .await;
    assert_eq!(code, ExitCode::from(2));
    assert!(
        err.contains("“colour” is not one of Kitroom's devices fields"),
        "{err}"
    );
    let (code, _, err) = import(
        &app,
        ImportKind::Devices,
        &file,
        true,
        &[],
        &["kind:Laptops=toaster"],
    )
    .await;
    assert_eq!(code, ExitCode::from(2));
    assert!(err.contains("“toaster” is not a kind of device"), "{err}");
}

/// A manager pasting Snipe-IT's file would have to edit the spreadsheet for every
/// category Kitroom does not know, instead of choosing a kind once in the preview.
#[tokio::test]
async fn the_web_preview_asks_once_for_each_unknown_category_and_carries_it_to_the_import() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let csv = std::fs::read_to_string(fixture("snipe-it-assets.csv")).unwrap();
    let r = app
        .submit(&c, "/import", "/import/devices/preview", &[("csv", &csv)])
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(page.contains("Kinds Kitroom does not know"), "{page}");
    assert!(
        page.contains("name=\"map:kind:Ornamental Railings\""),
        "{page}"
    );
    assert!(
        !page.contains("name=\"map:kind:Laptops\""),
        "a usual category is a kind already"
    );
    assert!(
        page.contains("<td>Category</td>"),
        "the problem names the file's own column"
    );

    let chosen = [
        ("csv", csv.as_str()),
        ("map:kind:Ornamental Railings", "other"),
    ];
    let r = app
        .submit(&c, "/import", "/import/devices/preview", &chosen)
        .await;
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("8 devices are ready to import"), "{page}");
    assert!(
        page.contains("type=\"hidden\" name=\"map:kind:Ornamental Railings\" value=\"other\""),
        "the choice is carried to the confirmation: {page}"
    );
    let r = app
        .submit(&c, "/import", "/import/devices/confirm", &chosen)
        .await;
    assert_eq!(r.status(), 303);
    let d = app.device("RAIL-0101").await;
    assert_eq!(d.details.kind.as_str(), "other");
    let d = app.device("PHN-0101").await;
    assert_eq!(d.details.kind.as_str(), "phone");
}
