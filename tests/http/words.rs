//! Each person sees their own words (issue 17): a borrower is told what they must
//! do, reads a device's history as sentences without other people's usernames or
//! record ids; and the smaller fixes: a real "Cancel booking" button, accessories
//! offered only where the school counts them, tag examples from the school's own
//! register, one desk card for unresolved incidents.

use chrono::{Duration, Utc};
use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::json;

/// The text a person reads on a page: the HTML without its tags (attributes such
/// as `datetime` are for machines).
fn text_of(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for c in html.chars() {
        match c {
            '<' => in_tag = true,
            '>' => {
                in_tag = false;
                out.push(' ');
            }
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Whether the text has something like "2026-12-07T09:15" (an ISO time).
fn has_iso_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(11).any(|w| {
        w[..4].iter().all(u8::is_ascii_digit)
            && w[4] == b'-'
            && w[5..7].iter().all(u8::is_ascii_digit)
            && w[7] == b'-'
            && w[8..10].iter().all(u8::is_ascii_digit)
            && w[10] == b'T'
    })
}

/// Whether the text has a record id (a UUID: 8-4-4-4-12 hex digits).
fn has_uuid(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(36).any(|w| {
        w.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
    })
}

const LAPTOP: &[(&str, &str)] = &[
    ("tag", "HS-LAP-7"),
    ("kind", "laptop"),
    ("make", "Dell"),
    ("model", "Latitude"),
    ("location", "Staff room"),
    ("holds_personal_data", "on"),
    ("cost", "329.10"),
];

/// A manager ("mgr-okafor") with the laptop on the register and a policy in force.
async fn school(app: &TestApp) -> Client {
    let sbm = app.signed_in("mgr-okafor", "manager").await;
    assert_eq!(app.register_device(&sbm, LAPTOP).await.status(), 303);
    sbm
}

/// A borrower who lost a laptop would be shown the manager's 72-hour data
/// protection countdown instead of what they should do now.
#[tokio::test]
async fn a_borrower_who_reports_a_loss_is_told_what_to_do_and_not_the_managers_countdown() {
    let app = spawn_app().await;
    let sbm = school(&app).await;
    let jo = app
        .borrower_under_new_policy(&sbm, "jo-bloggs", "Jo Bloggs")
        .await;
    assert_eq!(app.check_out(&jo, "HS-LAP-7", &[]).await.status(), 303);

    // "when" is left empty, as the form says it may be
    let form = app.page(&jo, "/devices/HS-LAP-7/report").await;
    assert!(
        form.contains("Leave the date and time empty if it has only just happened"),
        "the form says what an empty time means"
    );
    for (name, kind) in [("occurred_on", "date"), ("occurred_time", "time")] {
        assert!(
            form.contains(&format!("name=\"{name}\" type=\"{kind}\" value=\"\"")),
            "{name} is not filled in for the person: {form}"
        );
    }
    let r = app
        .submit(
            &jo,
            "/devices/HS-LAP-7/report",
            "/devices/HS-LAP-7/report",
            &[("kind", "loss"), ("description", "Left it on the coach")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let to = kitroom_tests::location(&r);
    let page = app.page(&jo, &to).await;
    let text = text_of(&page);
    assert!(text.contains("Thank you. Your report is saved."), "{text}");
    assert!(text.contains("What you need to do now"), "{text}");
    assert!(text.contains("change those passwords now"), "{text}");
    assert!(
        text.contains("(when it was reported: no other time was given)"),
        "the time nobody gave is shown as the time of the report: {text}"
    );
    for managers in [
        "Data protection decision due",
        "Information Commissioner",
        "Decide within",
        " left",
    ] {
        assert!(
            !text.contains(managers),
            "the borrower is not shown {managers:?}: {text}"
        );
    }

    // the manager still has the countdown and the assessment
    let incident = to.split('?').next().unwrap();
    let manager = text_of(&app.page(&sbm, incident).await);
    assert!(
        manager.contains("Data protection decision due"),
        "{manager}"
    );
    assert!(manager.contains("Decide within 72 hours"), "{manager}");
    assert!(!manager.contains("What you need to do now"), "{manager}");
}

/// A borrower opening a device's page would read record ids, "cost pence: 32910",
/// UTC times and other people's usernames in its history.
#[tokio::test]
async fn a_borrower_reads_a_devices_history_as_sentences_without_usernames_or_ids() {
    let app = spawn_app().await;
    let sbm = school(&app).await;
    // the manager corrects the price
    let r = app
        .submit(
            &sbm,
            "/devices/HS-LAP-7/edit",
            "/devices/HS-LAP-7/edit",
            &[
                ("tag", "HS-LAP-7"),
                ("kind", "laptop"),
                ("make", "Dell"),
                ("model", "Latitude"),
                ("location", "Staff room"),
                ("holds_personal_data", "on"),
                ("cost", "349.99"),
                ("encryption_state", "encrypted"),
                ("encryption_method", "bitlocker"),
                ("encryption_verified_on", "2026-09-01"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let jo = app
        .borrower_under_new_policy(&sbm, "jo-bloggs", "Jo Bloggs")
        .await;
    assert_eq!(app.check_out(&jo, "HS-LAP-7", &[]).await.status(), 303);
    let sam = app.signed_in("sam-patel", "borrower").await;

    // while Jo has it, Sam sees her name, not her username
    let page = text_of(&app.page(&sam, "/devices/HS-LAP-7").await);
    assert!(page.contains("Jo-bloggs Test has it."), "{page}");
    assert!(!page.contains("jo-bloggs"), "{page}");

    let r = app
        .return_device(
            &jo,
            "HS-LAP-7",
            &[
                ("location", "Staff room"),
                ("battery_percent", "80"),
                ("on_charge", "on"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);

    let sams = app.page(&sam, "/devices/HS-LAP-7").await;
    let history = text_of(sams.split("<h2>History</h2>").nth(1).expect("a history"));
    let today = chrono::Utc::now()
        .with_timezone(&chrono_tz::Europe::London)
        .format("%-d %b %Y")
        .to_string();
    for sentence in [
        "Added to the register by a member of staff.",
        "A member of staff changed its cost from £329.10 to £349.99, and its encryption record.",
        "A member of staff checked it out, due back",
        "A member of staff returned it to Staff room, and it went on charge.",
        today.as_str(),
    ] {
        assert!(history.contains(sentence), "{sentence:?} in {history}");
    }
    for never in [
        "mgr-okafor",
        "jo-bloggs",
        "cost pence",
        "cost_pence",
        "32910",
    ] {
        assert!(!history.contains(never), "{never:?} in {history}");
    }
    assert!(!has_iso_time(&history), "no UTC timestamps: {history}");
    assert!(!has_uuid(&history), "no record ids: {history}");
    let whole = text_of(&sams);
    assert!(whole.contains("Verified 1 Sep 2026"), "{whole}");
    assert!(
        !whole.contains("mgr-okafor"),
        "who verified the encryption is not shown by username: {whole}"
    );

    // Jo reads her own part as "you"
    let jos = app.page(&jo, "/devices/HS-LAP-7").await;
    let history = text_of(jos.split("<h2>History</h2>").nth(1).expect("a history"));
    assert!(
        history.contains("You checked it out, due back"),
        "{history}"
    );
    assert!(
        history.contains("You returned it to Staff room"),
        "{history}"
    );

    // the manager keeps the full log
    let managers = app.page(&sbm, "/devices/HS-LAP-7").await;
    assert!(managers.contains("table class=\"events\""), "{managers}");
    assert!(managers.contains("jo-bloggs"));
}

/// A booking for now, of one Chromebook, by a signed-in borrower "ann"; gives
/// Ann's page client and the manager's.
async fn booked_now(app: &TestApp) -> (Client, Client) {
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_device(&sbm, "HS-CB-1", "chromebook", "Library", &[])
        .await;
    let ann = app.borrower_under_new_policy(&sbm, "ann", "Ann Lee").await;
    let token = app.token_for("ann").await;
    let now = Utc::now();
    let r = Client::new()
        .post(app.url("/api/v1/bookings"))
        .bearer_auth(&token)
        .json(&json!({"kind": "chromebook", "count": 1, "starts_at": now, "ends_at": now + Duration::hours(1)}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    (ann, sbm)
}

/// "Cancel booking" looked like plain text in a list, so nobody knew they could
/// press it.
#[tokio::test]
async fn cancel_booking_is_a_real_button_in_a_form_with_its_csrf_token() {
    let app = spawn_app().await;
    let (ann, _) = booked_now(&app).await;
    let home = app.page(&ann, "/").await;
    let form = home
        .split("<form")
        .find(|f| f.contains("/cancel\""))
        .expect("a cancel form");
    assert!(form.contains("method=\"post\""), "{form}");
    assert!(form.contains("name=\"csrf\""), "{form}");
    assert!(
        form.contains("<button class=\"secondary\" type=\"submit\">Cancel booking</button>"),
        "{form}"
    );
}

/// A school that counts no chargers or cables was offered "Collect with chargers
/// or cables", which led to a page with nothing to choose.
#[tokio::test]
async fn collect_with_chargers_or_cables_shows_only_when_the_school_counts_accessories() {
    let app = spawn_app().await;
    let (ann, sbm) = booked_now(&app).await;
    let home = app.page(&ann, "/").await;
    assert!(home.contains("Collect 1 Chromebook"), "{home}");
    assert!(!home.contains("Collect with chargers or cables"), "{home}");
    for path in ["/bookings", "/bookings?view=week"] {
        let page = app.page(&ann, path).await;
        assert!(!page.contains("Collect with chargers or cables"), "{path}");
    }

    app.add_accessory(&sbm, "USB-C charger", ("Library", "+3", "counted"))
        .await;
    let home = app.page(&ann, "/").await;
    assert!(home.contains("Collect with chargers or cables"), "{home}");
}

/// "LAP-0042" as the example tag confused schools whose labels read "HS-IPAD-01".
#[tokio::test]
async fn tag_examples_come_from_the_schools_own_register() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    for path in ["/", "/devices/new", "/bookings/new"] {
        let page = app.page(&sbm, path).await;
        assert!(!page.contains("LAP-0042"), "{path}");
        assert!(!page.contains("IPAD-07"), "{path}");
    }
    app.add_device(&sbm, "HS-IPAD-01", "ipad", "Library", &[])
        .await;
    let form = app.page(&sbm, "/devices/new").await;
    assert!(form.contains("like HS-IPAD-01"), "{form}");
    let booking = app.page(&sbm, "/bookings/new").await;
    assert!(booking.contains("like HS-IPAD-01"), "{booking}");
    let home = app.page(&sbm, "/").await;
    assert!(!home.contains("LAP-0042"));
}

/// The manager's desk showed "1 new incident" and "1 incident not yet resolved"
/// side by side: the same report counted twice.
#[tokio::test]
async fn one_desk_card_counts_unresolved_incidents_and_says_how_many_are_new() {
    let app = spawn_app().await;
    let sbm = school(&app).await;
    let jo = app
        .borrower_under_new_policy(&sbm, "jo-bloggs", "Jo Bloggs")
        .await;
    let r = app
        .submit(
            &jo,
            "/devices/HS-LAP-7/report",
            "/devices/HS-LAP-7/report",
            &[("kind", "damage"), ("description", "Cracked screen")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let home = app.page(&sbm, "/").await;
    let desk = text_of(home.split("Your desk").nth(1).expect("the desk"));
    assert!(
        desk.contains("1 incident not yet resolved, 1 new"),
        "{desk}"
    );
    assert!(!desk.contains("new incident"), "{desk}");
    assert_eq!(desk.matches("incident").count(), 1, "one card: {desk}");
}
