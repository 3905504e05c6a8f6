//! CSV files as the programs that read them see them: a download from a page opens
//! in Excel and goes back in through the importer; the command line's export is
//! plain for scripts.

use std::process::ExitCode;

use kitroom::import::{run_with, ImportKind};
use kitroom_tests::spawn_app;

/// A script reading `kitroom export` would find three stray bytes before the first
/// column's name.
#[tokio::test]
async fn the_command_line_export_has_no_byte_order_mark() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let fields = [
        ("tag", "LAP-1"),
        ("kind", "laptop"),
        ("location", "Office"),
        ("notes", "Charger £45"),
    ];
    assert_eq!(app.register_device(&sbm, &fields).await.status(), 303);
    let mut out = Vec::new();
    kitroom::cli::export(app.dir.path(), "devices", None, &mut out)
        .await
        .unwrap();
    assert!(out.starts_with(b"tag,kind,"), "{:?}", &out[..12]);
    assert!(String::from_utf8(out).unwrap().contains("Charger £45"));
}

/// A register downloaded from the Export page and imported into another Kitroom
/// would be refused, or lose its costs or its pound signs.
#[tokio::test]
async fn a_register_downloaded_from_the_page_imports_again() {
    let from = spawn_app().await;
    let sbm = from.signed_in("sbm", "manager").await;
    let fields = [
        ("tag", "LAP-1"),
        ("kind", "laptop"),
        ("location", "Office"),
        ("cost", "329.10"),
        ("purchased_on", "2024-09-02"),
        ("notes", "Charger £45 — Zoë's"),
    ];
    assert_eq!(from.register_device(&sbm, &fields).await.status(), 303);
    let bytes = sbm
        .get(from.url("/export/devices.csv"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(bytes.starts_with(b"\xEF\xBB\xBFtag,"), "{:?}", &bytes[..12]);

    // into another school's Kitroom, at the command line while it is stopped
    let mut to = spawn_app().await;
    to.stop().await;
    let to = to.dir;
    let file = to.path().join("kitroom-devices.csv");
    std::fs::write(&file, &bytes).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let code = run_with(
        to.path(),
        ImportKind::Devices,
        &file,
        false,
        &mut out,
        &mut err,
        false,
    )
    .await
    .unwrap();
    assert_eq!(
        code,
        ExitCode::SUCCESS,
        "{}{}",
        String::from_utf8_lossy(&out),
        String::from_utf8_lossy(&err)
    );
    let mut again = Vec::new();
    kitroom::cli::export(to.path(), "devices", None, &mut again)
        .await
        .unwrap();
    let mut rows = csv::Reader::from_reader(&again[..]);
    let header = rows.headers().unwrap().clone();
    let lap1 = rows.records().next().unwrap().unwrap();
    let cell = |name: &str| &lap1[header.iter().position(|h| h == name).unwrap()];
    assert_eq!(cell("tag"), "LAP-1");
    assert_eq!(cell("cost_pence"), "32910");
    assert_eq!(cell("purchased_on"), "2024-09-02");
    assert_eq!(cell("notes"), "Charger £45 — Zoë's");
}
