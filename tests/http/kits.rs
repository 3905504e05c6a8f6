//! Sets and trolleys: checked out and returned as one, with the state of every device.

use kitroom_core::device::DeviceStatus;
use kitroom_store::loans::LoanFilter;
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::Value;

/// A manager with a trolley of three iPads, one of them in repair; Jo has signed.
async fn trolley(app: &TestApp) -> (Client, Client, String) {
    let sbm = app.signed_in("sbm", "manager").await;
    for tag in ["IPAD-1", "IPAD-2", "IPAD-3"] {
        let r = app
            .register_device(
                &sbm,
                &[
                    ("tag", tag),
                    ("kind", "ipad"),
                    ("make", "Apple"),
                    ("model", "iPad"),
                    ("location", "Library"),
                    ("captures_images", "on"),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
    }
    let r = app
        .submit(
            &sbm,
            "/devices/IPAD-3",
            "/devices/IPAD-3/status",
            &[("change", "send_to_repair")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(
            &sbm,
            "/sets",
            "/sets",
            &[
                ("name", "iPad trolley A"),
                ("notes", "30 iPads and the trolley"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let set = r.headers()["location"].to_str().unwrap().to_owned();
    for tag in ["IPAD-1", "IPAD-2", "IPAD-3"] {
        let r = app
            .submit(&sbm, &set, &format!("{set}/devices"), &[("tag", tag)])
            .await;
        assert_eq!(r.status(), 303, "{tag} joins the set");
    }
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    (sbm, jo, set)
}

async fn text(c: &Client, app: &TestApp, path: &str) -> String {
    app.page(c, path).await
}

async fn status(app: &TestApp, tag: &str) -> DeviceStatus {
    app.device(tag).await.status
}

/// A teacher taking the trolley would not know an iPad was in repair, and a missing
/// iPad would go unnoticed until the next stocktake.
#[tokio::test]
async fn a_set_goes_out_without_the_ipad_in_repair_and_a_missing_ipad_is_reported_at_once() {
    let app = spawn_app().await;
    let (sbm, jo, set) = trolley(&app).await;

    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/checkout"),
            &[("purpose", "6B science")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = text(&jo, &app, &set).await;
    assert!(page.contains("2 devices went"), "{page}");
    assert!(page.contains("Not in it: IPAD-3 (in repair)"));
    assert!(page.contains("Out to Jo Test"));
    let loans = app
        .store()
        .list_loans(
            kitroom_core::school::SchoolId::FIRST,
            &LoanFilter {
                open: true,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(loans.len(), 2, "one loan per device that went");
    assert!(loans
        .iter()
        .all(|l| l.group_id.is_some() && l.group_id == loans[0].group_id));

    // someone else cannot take it while it is out
    let r = app
        .submit(&sbm, &set, &format!("{set}/checkout"), &[])
        .await;
    assert_eq!(r.status(), 409);
    assert!(r.text().await.unwrap().contains("already checked out"));

    // Jo brings it back with IPAD-2 missing: the box for it is left unticked
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/return"),
            &[
                ("back", "IPAD-1"),
                ("battery.IPAD-1", "35"),
                ("on_charge", "on"),
                ("images_cleared", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = text(&jo, &app, &set).await;
    assert!(page.contains("1 back and on charge"), "{page}");
    assert!(page.contains("Missing: IPAD-2. It is reported lost"));

    assert_eq!(status(&app, "IPAD-1").await, DeviceStatus::ReturnedCharging);
    assert_eq!(status(&app, "IPAD-2").await, DeviceStatus::Lost);
    assert_eq!(
        status(&app, "IPAD-3").await,
        DeviceStatus::InRepair,
        "it never went"
    );
    assert!(app
        .store()
        .list_loans(
            kitroom_core::school::SchoolId::FIRST,
            &LoanFilter {
                open: true,
                ..Default::default()
            }
        )
        .await
        .unwrap()
        .is_empty());
    let all = app
        .store()
        .list_loans(
            kitroom_core::school::SchoolId::FIRST,
            &LoanFilter::default(),
        )
        .await
        .unwrap();
    let ipad2 = all.iter().find(|l| l.device_tag == "IPAD-2").unwrap();
    assert!(ipad2.missing_on_return);
    assert_eq!(ipad2.outcome.as_deref(), Some("lost"));
    let ipad1 = all.iter().find(|l| l.device_tag == "IPAD-1").unwrap();
    assert_eq!(ipad1.battery_percent, Some(35));

    // the manager's desk shows it, with its loss report
    let desk = text(&sbm, &app, "/").await;
    assert!(desk.contains("Missing from sets"), "{desk}");
    assert!(desk.contains("did not come back with iPad trolley A from Jo Test"));
    let token = app.token_for("sbm").await;
    let incidents: Value = Client::new()
        .get(app.url("/api/v1/incidents?status=open"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let items = incidents["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["kind"], "loss");
    assert_eq!(items[0]["device"], "IPAD-2");
    assert!(items[0]["description"]
        .as_str()
        .unwrap()
        .contains("did not come back when the set iPad trolley A was returned"));
    // and the manager was notified in the app
    assert!(text(&sbm, &app, "/notifications")
        .await
        .contains("Loss of IPAD-2"));
}

/// A set could go out to someone who has not signed the policy, or half a set
/// could be written when one device is refused.
#[tokio::test]
async fn a_set_goes_out_only_under_every_check_out_rule_and_never_half_way() {
    let app = spawn_app().await;
    let (sbm, _jo, set) = trolley(&app).await;
    app.add_user("kim", "borrower").await;
    let r = app
        .submit(
            &sbm,
            &set,
            &format!("{set}/checkout"),
            &[("borrower", "kim")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Kim Test has not signed the acceptable-use policy (v1) yet"));
    assert!(
        app.store()
            .list_loans(
                kitroom_core::school::SchoolId::FIRST,
                &LoanFilter::default()
            )
            .await
            .unwrap()
            .is_empty(),
        "nothing written"
    );
    assert_eq!(app.device("IPAD-1").await.status, DeviceStatus::Available);

    // returning with nothing ticked is refused, not thirty loss reports
    let r = app
        .submit(
            &sbm,
            &set,
            &format!("{set}/checkout"),
            &[("borrower", "jo")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(
            &sbm,
            &set,
            &format!("{set}/return"),
            &[("on_charge", "on"), ("images_cleared", "on")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Tick the devices that came back"));
    // an iPad's photos must be cleared, as for a single return
    let r = app
        .submit(
            &sbm,
            &set,
            &format!("{set}/return"),
            &[("back", "IPAD-1"), ("back", "IPAD-2"), ("on_charge", "on")],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("IPAD-1: This device takes photos"));
    assert_eq!(
        app.store()
            .list_loans(
                kitroom_core::school::SchoolId::FIRST,
                &LoanFilter {
                    open: true,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .len(),
        2
    );
}

/// A device could end up in two trolleys, and be promised to two classes.
#[tokio::test]
async fn a_device_belongs_to_one_set_at_most() {
    let app = spawn_app().await;
    let (sbm, _jo, _set) = trolley(&app).await;
    let r = app
        .submit(&sbm, "/sets", "/sets", &[("name", "iPad trolley B")])
        .await;
    let b = r.headers()["location"].to_str().unwrap().to_owned();
    let r = app
        .submit(&sbm, &b, &format!("{b}/devices"), &[("tag", "ipad-1")])
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("IPAD-1 is already in the set iPad trolley A"),
        "{page}"
    );
    let r = app
        .submit(&sbm, "/sets", "/sets", &[("name", "ipad trolley a")])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("There is already a set called"));
    // typing or scanning a set's name opens the set
    let r = app.get(&sbm, "/scan?tag=iPad+trolley+B").await;
    assert_eq!(r.headers()["location"].to_str().unwrap(), b);
    let list = text(&sbm, &app, "/sets").await;
    assert!(list.contains("iPad trolley A") && list.contains("iPad trolley B"));
}

/// A cracked iPad screen found when the trolley comes back would go unrecorded, or
/// the trolley's checklist could be skipped.
#[tokio::test]
async fn a_sets_return_asks_the_checklist_once_per_kind_and_a_no_about_damage_opens_a_report() {
    let app = spawn_app().await;
    let (sbm, jo, set) = trolley(&app).await;
    app.set_checklist(
        &sbm,
        "ipad",
        "Charger returned?\nScreen undamaged? [damage]",
    )
    .await;
    let r = app.submit(&jo, &set, &format!("{set}/checkout"), &[]).await;
    assert_eq!(r.status(), 303);
    let page = text(&jo, &app, &set).await;
    assert_eq!(
        page.matches("Screen undamaged?").count(),
        1,
        "asked once for the iPads"
    );

    // a no about damage must say which iPad; the refusal keeps the answers
    let back = [
        ("back", "IPAD-1"),
        ("back", "IPAD-2"),
        ("on_charge", "on"),
        ("images_cleared", "on"),
        ("check.ipad.0", "yes"),
        ("check.ipad.1", "no"),
    ];
    let r = app.submit(&jo, &set, &format!("{set}/return"), &back).await;
    assert_eq!(r.status(), 422);
    let body = r.text().await.unwrap();
    assert!(
        body.contains("type the tag of each device it is about"),
        "{body}"
    );
    assert!(body.contains(r#"value="no" checked"#), "the answer is kept");
    assert_eq!(
        status(&app, "IPAD-1").await,
        DeviceStatus::OnLoan,
        "nothing returned"
    );
    assert_eq!(status(&app, "IPAD-2").await, DeviceStatus::OnLoan);

    let mut named = back.to_vec();
    named.push(("which.ipad.1", "ipad-2"));
    let r = app
        .submit(&jo, &set, &format!("{set}/return"), &named)
        .await;
    assert_eq!(r.status(), 303);
    let page = text(&jo, &app, &set).await;
    assert!(
        page.contains("a damage report is open for IPAD-2"),
        "{page}"
    );
    let incidents = app
        .store()
        .list_incidents(
            kitroom_core::school::SchoolId::FIRST,
            &kitroom_store::incidents::IncidentFilter::default(),
        )
        .await
        .unwrap();
    assert_eq!(incidents.len(), 1, "one report, for the iPad named");
    assert_eq!(incidents[0].kind.as_str(), "damage");
    assert_eq!(
        incidents[0].description,
        "On return of IPAD-2, the return checklist found damage: “Screen undamaged?” — no. It came back with the set iPad trolley A."
    );
    assert_ne!(status(&app, "IPAD-1").await, DeviceStatus::OnLoan);
    assert_ne!(status(&app, "IPAD-2").await, DeviceStatus::OnLoan);
}

/// The QR texts of every label on a label sheet, read as a phone's camera would:
/// each label's SVG is drawn onto a bitmap, module by module, and decoded.
fn decode_labels(html: &str) -> Vec<String> {
    let mut texts = Vec::new();
    for part in html.split("<div class=\"label set-label\">").skip(1) {
        let svg = part
            .split("<svg")
            .nth(1)
            .unwrap()
            .split("</svg>")
            .next()
            .unwrap();
        let view_box = svg.split("viewBox=\"0 0 ").nth(1).unwrap();
        let mut size = view_box
            .split(['"', ' '])
            .map(|n| n.parse::<usize>().unwrap());
        let (w, h) = (size.next().unwrap(), size.next().unwrap());
        // Two pixels a unit, white paper, and each dark rectangle drawn in black.
        let scale = 2;
        let (pw, ph) = (w * scale, h * scale);
        let mut luma = vec![255u8; pw * ph];
        let d = svg
            .split(" d=\"")
            .nth(1)
            .unwrap()
            .split('"')
            .next()
            .unwrap();
        for rect in d.split('M').filter(|r| !r.is_empty()) {
            // "M{left} {top}h{width}v{height}H{left}V{top}", as the qrcode crate writes it
            let nums: Vec<usize> = rect
                .split(|c: char| !c.is_ascii_digit())
                .filter(|n| !n.is_empty())
                .map(|n| n.parse().unwrap())
                .collect();
            let (left, top, width, height) = (nums[0], nums[1], nums[2], nums[3]);
            for y in top * scale..(top + height) * scale {
                for x in left * scale..(left + width) * scale {
                    luma[y * pw + x] = 0;
                }
            }
        }
        let mut image =
            rqrr::PreparedImage::prepare_from_greyscale(pw, ph, |x, y| luma[y * pw + x]);
        let grids = image.detect_grids();
        assert_eq!(grids.len(), 1, "one readable QR code a label");
        texts.push(grids[0].decode().expect("the code reads").1);
    }
    texts
}

/// A teacher scanning the trolley's label would land nowhere, or on the wrong set.
#[tokio::test]
async fn a_sets_label_opens_the_sets_page_and_says_how_many_devices_it_holds() {
    let app = spawn_app().await;
    let (sbm, jo, set) = trolley(&app).await;
    let page = text(&sbm, &app, &set).await;
    assert!(
        page.contains(&format!("href=\"{set}/label\"")),
        "the set page links its label"
    );
    assert!(
        !text(&jo, &app, &set).await.contains("/label\""),
        "not for a borrower"
    );

    let one = text(&sbm, &app, &format!("{set}/label")).await;
    assert!(one.contains("iPad trolley A"), "the label names the set");
    assert!(
        one.contains("3 devices"),
        "and says how many devices it holds"
    );
    assert_eq!(decode_labels(&one), vec![app.url(&set)]);

    // a second set: the sheet of all sets has a label for each, each opening its own page
    let r = app
        .submit(&sbm, "/sets", "/sets", &[("name", "Chromebook box 1")])
        .await;
    let second = r.headers()["location"].to_str().unwrap().to_owned();
    let sheet = text(&sbm, &app, "/sets/labels").await;
    assert!(sheet.contains("0 devices"), "{sheet}");
    let mut got = decode_labels(&sheet);
    got.sort();
    let mut want = vec![app.url(&set), app.url(&second)];
    want.sort();
    assert_eq!(got, want);
    // the address on the label is the set's page, which answers
    let r = jo.get(&got[0]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // and a scanner that types the label's address into the scan box lands there too
    let r = jo
        .get(app.url("/scan"))
        .query(&[("tag", app.url(&set))])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], set.as_str());
    assert_eq!(app.get(&jo, "/sets/labels").await.status(), 403);
}
