//! One way to show an error on every form (the error summary with a link to each
//! field, the message beside the field, `aria-invalid`, every problem at once, the
//! input kept), a confirmation before what cannot be undone, and the stocktake
//! and return fixes of issue 17.

use kitroom_core::device::DeviceStatus;
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::{json, Value};

/// The opening tag of the element with `id`, or a panic that shows the page.
fn tag_with_id<'a>(html: &'a str, id: &str) -> &'a str {
    let at = html
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("an element with id {id} in {html}"));
    let start = html[..at].rfind('<').unwrap();
    let end = at + html[at..].find('>').unwrap();
    &html[start..=end]
}

/// Asserts the error pattern for `field`: a link to it in the summary, its message
/// beside it, and the field marked invalid and described by the message.
fn shows_error_at(html: &str, field: &str, message: &str) {
    assert!(
        html.contains("<h2>There is a problem</h2>"),
        "the error summary: {html}"
    );
    let summary = &html[html.find("error-summary").unwrap()..];
    let summary = &summary[..summary.find("</div>").unwrap()];
    assert!(
        summary.contains(&format!("<a href=\"#{field}\">{message}</a>")),
        "a link to {field} saying {message:?} in {summary}"
    );
    let beside = tag_with_id(html, &format!("{field}-error"));
    assert!(beside.starts_with("<p class=\"error\""), "{beside}");
    assert!(
        html.contains(&format!(
            "id=\"{field}-error\"><span class=\"visually-hidden\">Error: </span>{message}</p>"
        )),
        "{message:?} beside {field}"
    );
    let input = tag_with_id(html, field);
    assert!(input.contains("aria-invalid=\"true\""), "{input}");
}

/// The business manager, an iPad on loan to Jo whose return asks three questions.
async fn ipad_on_loan(app: &TestApp) -> (Client, Client) {
    let sbm = app.signed_in("sbm", "manager").await;
    app.set_checklist(
        &sbm,
        "ipad",
        "Charger returned?\nCase returned?\nScreen undamaged? [damage]",
    )
    .await;
    app.add_device(&sbm, "IPAD-1", "ipad", "iPad trolley B", &[])
        .await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    assert_eq!(app.check_out(&jo, "IPAD-1", &[]).await.status(), 303);
    (sbm, jo)
}

const UNANSWERED: [&str; 3] = [
    "Answer every question on the return checklist: “Charger returned?”.",
    "Answer every question on the return checklist: “Case returned?”.",
    "Answer every question on the return checklist: “Screen undamaged?”.",
];
const BATTERY: &str = "The battery level must be a percentage from 0 to 100.";

/// Three unanswered questions and a battery of 150 took three round trips, one
/// error a time, in a box with no links and nothing marked beside the fields.
#[tokio::test]
async fn a_return_shows_every_problem_at_once_each_beside_its_field() {
    let app = spawn_app().await;
    let (_, jo) = ipad_on_loan(&app).await;
    let r = app
        .return_device(
            &jo,
            "IPAD-1",
            &[("battery_percent", "150"), ("on_charge", "on")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    shows_error_at(&html, "battery_percent", BATTERY);
    for (i, message) in UNANSWERED.iter().enumerate() {
        shows_error_at(&html, &format!("checklist.{i}"), message);
    }
    let summary = &html[html.find("error-summary").unwrap()..];
    assert_eq!(
        summary[..summary.find("</ul>").unwrap()]
            .matches("<li>")
            .count(),
        4,
        "four problems, no more"
    );
    assert!(
        tag_with_id(&html, "battery_percent").contains("value=\"150\""),
        "the input is kept"
    );
    assert!(tag_with_id(&html, "on_charge").contains("checked"));
    let d = app.device("IPAD-1").await;
    assert_eq!(d.status, DeviceStatus::OnLoan, "nothing was returned");
}

/// A script returning the iPad would still be told one problem at a time.
#[tokio::test]
async fn the_apis_return_lists_every_problem_at_once() {
    let app = spawn_app().await;
    let (_, _) = ipad_on_loan(&app).await;
    let token = app.token_for("jo").await;
    let (status, problem) = app
        .api_post_json(
            &token,
            "/api/v1/devices/IPAD-1/return",
            &json!({"battery_percent": 150, "on_charge": true, "checklist": [null, null, null]}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(
        problem["type"], "urn:kitroom:problem:validation",
        "{problem}"
    );
    let errors: Vec<(String, String)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_owned(),
                e["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        errors,
        vec![
            ("battery_percent".to_owned(), BATTERY.to_owned()),
            ("checklist.0".to_owned(), UNANSWERED[0].to_owned()),
            ("checklist.1".to_owned(), UNANSWERED[1].to_owned()),
            ("checklist.2".to_owned(), UNANSWERED[2].to_owned()),
        ]
    );
}

/// An iPad that lives on "iPad trolley B" would be suggested, and recorded, as
/// returned to the computer room.
#[tokio::test]
async fn a_return_goes_back_to_the_devices_own_home_by_default() {
    let app = spawn_app().await;
    let (_, jo) = ipad_on_loan(&app).await;
    let page = app.page(&jo, "/devices/IPAD-1").await;
    assert!(
        page.contains("Bring it back to the iPad trolley B"),
        "the check-out says where it goes back"
    );
    assert!(
        tag_with_id(&page, "location").contains("value=\"iPad trolley B\""),
        "the return suggests its home"
    );
    let r = app
        .return_device(
            &jo,
            "IPAD-1",
            &[
                ("on_charge", "on"),
                ("check.0", "yes"),
                ("check.1", "yes"),
                ("check.2", "yes"),
                // the page's form sends the location it shows; a script sends none
                ("location", ""),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&jo, "/devices/IPAD-1").await;
    assert!(
        page.contains("IPAD-1 is returned to the iPad trolley B"),
        "{page}"
    );
    let d = app.device("IPAD-1").await;
    assert_eq!(d.details.location, "iPad trolley B");
}

/// A check-out refused for a date in the past showed a box with no link and left
/// the date field looking fine.
#[tokio::test]
async fn a_refused_check_out_shows_the_error_summary_linked_to_the_field() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_device(&sbm, "CB-1", "chromebook", "Computer room", &[])
        .await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    let r = app
        .check_out(
            &jo,
            "CB-1",
            &[("due_on", "2020-01-06"), ("purpose", "Maths")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    shows_error_at(&html, "due_on", "The return time must be later than now.");
    assert!(tag_with_id(&html, "due_on").contains("value=\"2020-01-06\""));
    assert!(tag_with_id(&html, "purpose").contains("value=\"Maths\""));
}

/// Three Chromebooks and a spare in the computer room, one in the library; a
/// stocktake of the computer room open. Its address.
async fn room_stocktake(app: &TestApp, sbm: &Client) -> String {
    for tag in ["CB-1", "CB-2", "CB-3", "CB-4", "CB-5"] {
        app.add_device(sbm, tag, "chromebook", "Computer room", &[])
            .await;
    }
    app.add_device(sbm, "LIB-1", "chromebook", "Library", &[])
        .await;
    let room = app.location("Computer room").await.id.to_string();
    let r = app
        .submit(sbm, "/stocktakes", "/stocktakes", &[("location", &room)])
        .await;
    assert_eq!(r.status(), 303);
    kitroom_tests::location(&r)
}

/// An unknown tag appeared in a green success box, like a device found.
#[tokio::test]
async fn an_unknown_tag_in_a_stocktake_scan_is_an_error_beside_the_tag() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let url = room_stocktake(&app, &sbm).await;
    let r = app
        .submit(&sbm, &url, &format!("{url}/scan"), &[("tag", "NOPE-1")])
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    shows_error_at(
        &html,
        "tag",
        "No device has the tag “NOPE-1”. Check the label; if it is new, register it first.",
    );
    assert!(tag_with_id(&html, "tag").contains("value=\"NOPE-1\""));
    assert!(!html.contains("class=\"notice\""), "no success box");
}

/// "4 of 5 seen" with two of the five unseen, and a different count once closed.
#[tokio::test]
async fn stocktake_progress_counts_only_devices_in_its_scope_open_and_closed() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let url = room_stocktake(&app, &sbm).await;
    for tag in ["CB-1", "CB-2", "CB-3", "LIB-1"] {
        let r = app
            .submit(&sbm, &url, &format!("{url}/scan"), &[("tag", tag)])
            .await;
        assert_eq!(r.status(), 303, "{tag}");
    }
    let page = app.page(&sbm, &url).await;
    assert!(page.contains("3 of 5 seen"), "{page}");
    let progress: Value = app
        .get(&sbm, &format!("{url}/progress.json"))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(progress["seen"], 3);
    let r = app
        .submit(&sbm, &url, &format!("{url}/close"), &[("confirm", "yes")])
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&sbm, &url).await;
    assert!(
        page.contains("3 of 5 seen"),
        "the same count once closed: {page}"
    );
    assert!(
        page.contains("<span class=\"n\">2</span> missing"),
        "{page}"
    );
}

/// Closing a stocktake was one tap, with no confirmation and no way back.
#[tokio::test]
async fn closing_a_stocktake_asks_first_and_says_what_will_happen() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let url = room_stocktake(&app, &sbm).await;
    for tag in ["CB-1", "CB-2", "CB-3"] {
        app.submit(&sbm, &url, &format!("{url}/scan"), &[("tag", tag)])
            .await;
    }
    let r = app.submit(&sbm, &url, &format!("{url}/close"), &[]).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains("2 devices not seen will be marked missing; this cannot be undone."),
        "{html}"
    );
    assert!(html.contains("name=\"confirm\" value=\"yes\""));
    let id = url.rsplit('/').next().unwrap().parse().unwrap();
    let s = app
        .store()
        .stocktake(kitroom_core::school::SchoolId::FIRST, id)
        .await
        .unwrap()
        .unwrap();
    assert!(s.is_open(), "nothing was closed");
    let r = app
        .submit(&sbm, &url, &format!("{url}/close"), &[("confirm", "yes")])
        .await;
    assert_eq!(r.status(), 303);
    let s = app
        .store()
        .stocktake(kitroom_core::school::SchoolId::FIRST, id)
        .await
        .unwrap()
        .unwrap();
    assert!(!s.is_open());
}

/// A device could be retired for good by one press of a button.
#[tokio::test]
async fn a_disposal_is_confirmed_before_the_device_is_retired() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_device(&sbm, "LAP-OLD", "laptop", "Library", &[])
        .await;
    let fields = [
        ("authorised_by", "Ruth Okafor, head teacher"),
        ("disposed_on", "2026-11-20"),
        ("method", "recycled"),
        ("recipient", "GreenTech Recycling"),
        ("wipe_evidence", "Certificate DW-2026-0042"),
    ];
    let page = "/devices/LAP-OLD/dispose";
    let r = app.submit(&sbm, page, page, &fields).await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "LAP-OLD will be retired and taken off the active register for good; this cannot be undone."
        ),
        "{html}"
    );
    assert!(html.contains("name=\"recipient\" value=\"GreenTech Recycling\""));
    let d = app.device("LAP-OLD").await;
    assert_eq!(d.status, DeviceStatus::Available, "nothing was retired");
    let mut confirmed = fields.to_vec();
    confirmed.push(("confirm", "yes"));
    let r = app.submit(&sbm, page, page, &confirmed).await;
    assert_eq!(r.status(), 303);
    let d = app.device("LAP-OLD").await;
    assert_eq!(d.status, DeviceStatus::Retired);
}

/// Writing a device off from its incident retired it at once.
#[tokio::test]
async fn writing_a_device_off_is_confirmed_first() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_device(&sbm, "LAP-9", "laptop", "Library", &[])
        .await;
    let r = app
        .submit(
            &sbm,
            "/devices/LAP-9/report",
            "/devices/LAP-9/report",
            &[
                ("kind", "damage"),
                ("description", "Dropped down the stairs"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let incident = kitroom_tests::location(&r)
        .trim_end_matches("?reported=1")
        .to_owned();
    let write_off = [("status", "resolved"), ("resolution", "written_off")];
    let r = app
        .submit(&sbm, &incident, &format!("{incident}/status"), &write_off)
        .await;
    assert_eq!(r.status(), 200);
    let html = r.text().await.unwrap();
    assert!(
        html.contains(
            "LAP-9 will be retired: taken off the active register for good; this cannot be undone."
        ),
        "{html}"
    );
    let d = app.device("LAP-9").await;
    assert_ne!(d.status, DeviceStatus::Retired, "nothing was written off");
    let mut confirmed = write_off.to_vec();
    confirmed.push(("confirm", "yes"));
    let r = app
        .submit(&sbm, &incident, &format!("{incident}/status"), &confirmed)
        .await;
    assert_eq!(r.status(), 303);
    let d = app.device("LAP-9").await;
    assert_eq!(d.status, DeviceStatus::Retired);
}

/// "Report a problem" with a tag that names no device showed a box with no link.
#[tokio::test]
async fn report_by_an_unknown_tag_shows_the_error_summary_linked_to_the_tag() {
    let app = spawn_app().await;
    let jo = app.signed_in("jo", "borrower").await;
    let r = app.get(&jo, "/report?tag=NOPE-1").await;
    assert_eq!(r.status(), 404);
    let html = r.text().await.unwrap();
    shows_error_at(
        &html,
        "tag",
        "No device has the tag “NOPE-1”. Check the label and try again.",
    );
    assert!(tag_with_id(&html, "tag").contains("value=\"NOPE-1\""));
}

/// A set's check-out refused for a date in the past showed the same unlinked box.
#[tokio::test]
async fn a_refused_set_check_out_shows_the_error_summary_linked_to_the_field() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    for tag in ["IPAD-1", "IPAD-2"] {
        app.add_device(&sbm, tag, "ipad", "iPad trolley B", &[])
            .await;
    }
    let id = app.make_set("Trolley B", "", &["IPAD-1", "IPAD-2"]).await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    let set = format!("/sets/{id}");
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/checkout"),
            &[("due_on", "2020-01-06")],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    shows_error_at(&html, "due_on", "The return time must be later than now.");
    assert!(tag_with_id(&html, "due_on").contains("value=\"2020-01-06\""));
    assert_eq!(app.device("IPAD-1").await.status, DeviceStatus::Available);
}

/// A set's return refused for a battery level that is not a number showed a box
/// with no link, and nothing beside the batteries.
#[tokio::test]
async fn a_refused_set_return_links_to_the_batteries_and_says_so_beside_them() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    for tag in ["IPAD-1", "IPAD-2"] {
        app.add_device(&sbm, tag, "ipad", "iPad trolley B", &[])
            .await;
    }
    let id = app.make_set("Trolley B", "", &["IPAD-1", "IPAD-2"]).await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    let set = format!("/sets/{id}");
    let r = app.submit(&jo, &set, &format!("{set}/checkout"), &[]).await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/return"),
            &[
                ("back", "IPAD-1"),
                ("back", "IPAD-2"),
                ("battery.IPAD-1", "lots"),
                ("on_charge", "on"),
                ("images_cleared", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    let message = "The battery level of IPAD-1 must be a number from 0 to 100.";
    assert!(html.contains("<h2>There is a problem</h2>"), "{html}");
    assert!(
        html.contains(&format!("<a href=\"#battery\">{message}</a>")),
        "{html}"
    );
    assert!(
        tag_with_id(&html, "battery").contains("has-error"),
        "the batteries are marked"
    );
    assert!(html.contains(&format!(
        "id=\"battery-error\"><span class=\"visually-hidden\">Error: </span>{message}</p>"
    )));
}

/// A trolley of two iPads out to Jo, the iPads' return asking three questions.
/// The set's page.
async fn trolley_with_checklist_out(app: &TestApp) -> (Client, String) {
    let sbm = app.signed_in("sbm", "manager").await;
    app.set_checklist(
        &sbm,
        "ipad",
        "Charger returned?\nCase returned?\nScreen undamaged? [damage]",
    )
    .await;
    for tag in ["IPAD-1", "IPAD-2"] {
        app.add_device(&sbm, tag, "ipad", "iPad trolley B", &[])
            .await;
    }
    let id = app.make_set("Trolley B", "", &["IPAD-1", "IPAD-2"]).await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    let set = format!("/sets/{id}");
    let r = app.submit(&jo, &set, &format!("{set}/checkout"), &[]).await;
    assert_eq!(r.status(), 303);
    (jo, set)
}

/// A trolley's return with a question blank, a "no" naming no iPad, a battery of
/// 150 and the charging box unticked took four round trips, one problem at a time
/// in a box with no links, and lost the ticks and batteries typed.
#[tokio::test]
async fn a_sets_return_shows_every_problem_at_once_each_beside_its_field() {
    let app = spawn_app().await;
    let (jo, set) = trolley_with_checklist_out(&app).await;
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/return"),
            &[
                ("back", "IPAD-1"),
                ("battery.IPAD-1", "150"),
                ("battery.IPAD-2", "40"),
                ("images_cleared", "on"),
                ("check.ipad.1", "yes"),
                ("check.ipad.2", "no"),
                ("location", "Staff room"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    shows_error_at(
        &html,
        "checklist.ipad.answers.0",
        "iPad: Answer every question on the return checklist: “Charger returned?”.",
    );
    let on_charge = kitroom_core::loan::ReturnRefusal::NotOnCharge.to_string();
    shows_error_at(&html, "on_charge", &format!("IPAD-1: {on_charge}"));
    let battery = "IPAD-1: The battery level must be a percentage from 0 to 100.";
    assert!(
        html.contains(&format!("<a href=\"#battery\">{battery}</a>")),
        "{html}"
    );
    assert!(html.contains(&format!(
        "id=\"battery-error\"><span class=\"visually-hidden\">Error: </span>{battery}</p>"
    )));
    let ipad1 = tag_with_id(&html, "battery-IPAD-1");
    assert!(ipad1.contains("aria-invalid=\"true\""), "{ipad1}");
    assert!(ipad1.contains("value=\"150\""), "the battery typed is kept");
    let ipad2 = tag_with_id(&html, "battery-IPAD-2");
    assert!(!ipad2.contains("aria-invalid"), "{ipad2}");
    assert!(ipad2.contains("value=\"40\""), "{ipad2}");
    let summary = &html[html.find("error-summary").unwrap()..];
    assert_eq!(
        summary[..summary.find("</ul>").unwrap()]
            .matches("<li>")
            .count(),
        3,
        "three problems: the one iPad back needs no tag named"
    );
    assert!(
        !tag_with_id(&html, "back-IPAD-2").contains("checked"),
        "the iPad left unticked stays unticked"
    );
    assert!(tag_with_id(&html, "back-IPAD-1").contains("checked"));
    assert!(tag_with_id(&html, "checklist.ipad.answers.2-no").contains("checked"));
    assert!(tag_with_id(&html, "location").contains("value=\"Staff room\""));
    assert!(!tag_with_id(&html, "on_charge").contains("checked"));
    assert!(tag_with_id(&html, "images_cleared").contains("checked"));

    // both back, a "no" about damage naming neither: the tags box is the field
    let r = app
        .submit(
            &jo,
            &set,
            &format!("{set}/return"),
            &[
                ("back", "IPAD-1"),
                ("back", "IPAD-2"),
                ("on_charge", "on"),
                ("images_cleared", "on"),
                ("check.ipad.0", "yes"),
                ("check.ipad.1", "yes"),
                ("check.ipad.2", "no"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let html = r.text().await.unwrap();
    shows_error_at(
        &html,
        "checklist.ipad.devices.2",
        "iPad: You answered no to “Screen undamaged?”: type the tag of each device it is about, so its damage report names it.",
    );
    for tag in ["IPAD-1", "IPAD-2"] {
        let d = app.device(tag).await;
        assert_eq!(d.status, DeviceStatus::OnLoan, "nothing was returned");
    }
}

/// A set's return through the API with two questions blank and the charging box
/// unticked was refused one problem a time.
#[tokio::test]
async fn the_apis_set_return_lists_every_problem_at_once() {
    let app = spawn_app().await;
    let (_, set) = trolley_with_checklist_out(&app).await;
    let token = app.token_for("jo").await;
    let (status, problem) = app
        .api_post_json(
            &token,
            &format!("/api/v1{set}/return"),
            &json!({"came_back": ["IPAD-1", "IPAD-2"], "images_cleared": true,
                    "checklist": {"ipad": {"answers": [null, true, null]}}}),
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(problem["type"], "urn:kitroom:problem:validation");
    let fields: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        vec![
            "checklist.ipad.answers.0",
            "checklist.ipad.answers.2",
            "on_charge"
        ],
        "{problem}"
    );
}

/// Collecting a booking with a count of chargers that is not a number showed a
/// box with no heading and no link, and nothing beside the count.
#[tokio::test]
async fn a_refused_collection_shows_the_error_summary_linked_to_the_accessories() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_accessory(&sbm, "USB-C charger", ("ICT room", "+2", "New delivery"))
        .await;
    app.add_device(&sbm, "LAP-1", "laptop", "Library", &[])
        .await;
    let jo = app.borrower_under_new_policy(&sbm, "jo", "Jo Test").await;
    let token = app.token_for("jo").await;
    let now = chrono::Utc::now();
    let (status, booked) = app
        .api_post_json(
            &token,
            "/api/v1/bookings",
            &json!({"device": "LAP-1", "starts_at": now, "ends_at": now + chrono::Duration::hours(1)}),
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    let stock = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()[0]
        .stock[0]
        .id
        .to_string();
    let path = format!("/bookings/{}/collect", booked["id"].as_str().unwrap());
    for (count, status, message) in [
        (
            "lots",
            422,
            "How many accessories must be a whole number from 1 to ",
        ),
        ("3", 409, "Only 2 × USB-C charger left in the ICT room"),
    ] {
        let r = app
            .submit(
                &jo,
                &path,
                &path,
                &[("also", &stock), ("also_count", count)],
            )
            .await;
        assert_eq!(r.status(), status);
        let html = r.text().await.unwrap();
        assert!(html.contains("<h2>There is a problem</h2>"), "{html}");
        assert!(
            html.contains(&format!("<a href=\"#accessories\">{message}")),
            "{html}"
        );
        assert!(html.contains(&format!(
            "id=\"accessories-error\"><span class=\"visually-hidden\">Error: </span>{message}"
        )));
        let input = tag_with_id(&html, "also_count");
        assert!(input.contains("aria-invalid=\"true\""), "{input}");
        assert!(input.contains(&format!("value=\"{count}\"")), "{input}");
        assert!(tag_with_id(&html, "also").contains("aria-invalid=\"true\""));
    }
}
