//! Walls between schools (issue 19): in a trust's Kitroom, a manager of one school
//! reaches nothing of another school's by any route, as if it did not exist.
//!
//! Walled: the register (devices and locations), stocktakes, incidents, requests
//! to change a device or take it off site, loans, sets, bookings, accessories,
//! policies, people, settings, reports, exports and the activity log. Every route of the role × route
//! table that names one of these is walked as a manager and as the head teacher of
//! the first school with the second school's tag or id, and with one nobody has;
//! the two answers must be the same. [`WALLED`] grows as each kind of record gains its
//! school.

use kitroom_core::device::DeviceInput;
use kitroom_core::school::{SchoolId, SchoolSlug};
use kitroom_store::Actor;
use kitroom_tests::{spawn_app, TestApp};

use crate::roles::{fixtures, letter, request, MATRIX};

/// A second school, Hillside Academy (short name `hillside`).
async fn hillside(app: &TestApp) -> SchoolId {
    app.store()
        .add_school(
            Actor::system(),
            SchoolSlug::parse("hillside").unwrap(),
            "Hillside Academy".into(),
        )
        .await
        .unwrap()
        .id
}

/// The person `who` as seen at `school`, who must hold a role there.
async fn person_at(app: &TestApp, school: SchoolId, who: &str) -> kitroom_store::people::Person {
    app.store()
        .person_by_username(school, who)
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{who} at school {school}"))
}

/// A device of `school` with this tag, at `location`, registered through the store.
async fn register_in(app: &TestApp, school: SchoolId, tag: &str, location: &str) {
    let input = DeviceInput {
        tag: tag.into(),
        kind: "laptop".into(),
        location: location.into(),
        ..Default::default()
    };
    let today = kitroom_core::time::school_day(chrono::Utc::now());
    app.store()
        .create_device(Actor::system(), school, input.parse(today).unwrap())
        .await
        .unwrap();
}

/// What a row of the matrix may name that is walled between schools: a device's
/// tag, a location, a device's id, a stocktake, an incident, a request to change a
/// device or to take it off site, a set, a booking, a type of accessory, a version
/// of the acceptable-use policy.
const WALLED: [&str; 13] = [
    "LAP-1",
    "LAP-2",
    "LAP-3",
    ":location",
    ":device",
    ":stocktake",
    ":incident",
    ":change",
    ":offsite",
    ":set",
    ":booking",
    ":accessory",
    ":policy",
];

fn names_a_walled_record(path: &str, body: &str) -> bool {
    [path, body]
        .iter()
        .any(|s| WALLED.iter().any(|w| s.contains(w)))
}

/// A manager of one school could open, edit, lend, report on or move another
/// school's devices, rename its rooms or scan into its stocktakes, by typing its
/// tag or id into an address.
#[tokio::test]
async fn a_manager_of_one_school_reaches_no_record_of_another() {
    let app = spawn_app().await;
    let fx = fixtures(&app).await;
    let store = app.store();
    let theirs = hillside(&app).await;
    // The second school has a device no one else has, and one with the same tag
    // as the first school's LAP-1, in a room of its own and one called like ours.
    register_in(&app, theirs, "WALL-1", "Hillside hall").await;
    register_in(&app, theirs, "LAP-1", "Library").await;
    let their_hall = store
        .list_locations(theirs)
        .await
        .unwrap()
        .into_iter()
        .find(|l| l.name == "Hillside hall")
        .unwrap();
    let nobody = "00000000-0000-4000-8000-00000000beef".to_owned();
    // Their business manager, at the command line as a trust would; and "other",
    // who borrows at our school, borrows at theirs too.
    app.add_user_at("hillside", "hsbm", "manager").await;
    app.add_user_at("hillside", "other", "borrower").await;
    // Their manager opens a stocktake of their hall, through the same operation
    // the pages run, acting in their school.
    let their_manager = store
        .person_by_username(theirs, "hsbm")
        .await
        .unwrap()
        .expect("a manager of theirs");
    assert_eq!(their_manager.school, theirs);
    let their_stocktake = kitroom_app::stocktakes::open(
        app.state().app(),
        &their_manager,
        kitroom_app::stocktakes::OpenInput {
            location: "Hillside hall".into(),
            scope: String::new(),
        },
    )
    .await
    .unwrap();
    let their_incident = kitroom_app::incidents::report(
        app.state().app(),
        &their_manager,
        "WALL-1",
        kitroom_app::incidents::ReportInput {
            kind: "damage".into(),
            description: "Cracked screen".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let their_change = kitroom_app::incidents::request_change(
        app.state().app(),
        &their_manager,
        "WALL-1",
        kitroom_app::incidents::ChangeInput {
            what: "Install a kiosk app".into(),
            why: "Open day".into(),
        },
    )
    .await
    .unwrap();
    let their_offsite = kitroom_app::offsite::request(
        app.state().app(),
        &their_manager,
        "WALL-1",
        kitroom_app::offsite::OffsiteInput {
            reason: "Residential trip".into(),
        },
    )
    .await
    .unwrap();
    // Their own acceptable-use policy, labelled as ours is, which "other" signs
    // there before borrowing: our school's signature does not count at theirs.
    let their_policy = kitroom_app::policies::publish(
        app.state().app(),
        &their_manager,
        kitroom_app::policies::PublishInput {
            title: "Hillside ICT policy".into(),
            version_label: "v1".into(),
            issued_on: "2026-09-01".into(),
            body: "Hillside rules.".into(),
        },
    )
    .await
    .unwrap();
    let other_there = store
        .person_by_username(theirs, "other")
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        store.policy_standing(theirs, other_there.id).await.unwrap(),
        kitroom_core::loan::PolicyStanding::NotSigned { .. }
    ));
    kitroom_app::policies::sign(
        app.state().app(),
        &other_there,
        kitroom_app::policies::SignInput {
            full_name: "Other Test".into(),
            position: "Teacher".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    kitroom_app::loans::check_out(
        app.state().app(),
        &their_manager,
        "LAP-1",
        kitroom_app::loans::CheckOutInput {
            borrower: "other".into(),
            purpose: "Hillside trip".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let their_lap = store.device_by_tag(theirs, "LAP-1").await.unwrap().unwrap();
    // Their booking of their laptop for "other", a borrower at both schools.
    let starts = chrono::Utc::now() + chrono::Duration::days(40);
    let their_booking = kitroom_app::bookings::book(
        app.state().app(),
        &their_manager,
        kitroom_app::bookings::BookingInput {
            device: "LAP-1".into(),
            borrower: "other".into(),
            starts_at: Some(starts.to_rfc3339()),
            ends_at: Some((starts + chrono::Duration::hours(1)).to_rfc3339()),
            purpose: "Hillside booking".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    // Their chargers, named as ours are.
    let (their_charger, _) = kitroom_app::accessories::create(
        app.state().app(),
        &their_manager,
        kitroom_app::accessories::NewAccessoryInput {
            name: "Role charger".into(),
        },
    )
    .await
    .unwrap();
    // Their trolley, named as ours is: a set's name is unique within its school.
    let their_set = kitroom_app::set_admin::create(
        app.state().app(),
        &their_manager,
        kitroom_app::set_admin::NewSetInput {
            name: "Trolley".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    kitroom_app::set_admin::add_device(
        app.state().app(),
        &their_manager,
        &their_set.id.to_string(),
        kitroom_app::set_admin::AddDeviceInput {
            tag: "WALL-1".into(),
        },
    )
    .await
    .unwrap();
    // As it is now, damage reported and all.
    let wall = store
        .device_by_tag(theirs, "WALL-1")
        .await
        .unwrap()
        .unwrap();
    // Each walled placeholder of the matrix: their record, and one nobody has.
    let ids = |theirs: String| (theirs, nobody.clone());
    let walled: Vec<(&str, (String, String))> = vec![
        (":location", ids(their_hall.id.to_string())),
        (":device", ids(wall.id.to_string())),
        (":stocktake", ids(their_stocktake.id.to_string())),
        (":incident", ids(their_incident.id.to_string())),
        (":change", ids(their_change.id.clone())),
        (":offsite", ids(their_offsite.request.id.clone())),
        (":set", ids(their_set.id.to_string())),
        (":booking", ids(their_booking.id.to_string())),
        (":accessory", ids(their_charger.to_string())),
        (":policy", ids(their_policy.id.to_string())),
    ];

    let mut walked = 0;
    let mut leaks = Vec::new();
    // The matrix's columns: anonymous, borrower, head, manager, admin.
    for (column, role) in [(3, "manager"), (2, "head")] {
        let me = format!("as-{role}");
        let me = me.as_str();
        let web = app.signed_in(me, role).await;
        let token = app.token_for(me).await;
        let csrf = app.csrf(&web, "/account").await;
        for (method, route, path, body, expected) in MATRIX {
            if !names_a_walled_record(path, body) || expected.chars().nth(column) != Some('O') {
                continue;
            }
            let mut answers = Vec::new();
            for (n, tag) in ["WALL-1", "NOPE-1"].into_iter().enumerate() {
                let fill = |s: &str| {
                    let mut s = s
                        .replace(":me", me)
                        .replace("LAP-1", tag)
                        .replace("LAP-2", tag)
                        .replace("LAP-3", tag);
                    for (k, (theirs, nobody)) in &walled {
                        s = s.replace(k, if n == 0 { theirs } else { nobody });
                    }
                    for (k, v) in &fx.subs {
                        s = s.replace(k, v);
                    }
                    s
                };
                let (path, body) = (fill(path), fill(body));
                let req = request(&app, &web, Some(&token), &csrf, method, &path, body);
                let resp = req.send().await.unwrap();
                let status = resp.status().as_u16();
                let to = resp
                    .headers()
                    .get("location")
                    .and_then(|l| l.to_str().ok())
                    .map(|l| l.replace(tag, "TAG"));
                let text = resp.text().await.unwrap_or_default();
                assert!(
                    !text.contains("Hillside hall") && !text.contains(&wall.id.to_string()),
                    "{path}: the answer shows the other school's record: {text}"
                );
                answers.push((letter(status, to.as_deref()), status, to));
            }
            walked += 1;
            if answers[0] != answers[1] {
                leaks.push(format!(
                "{method} {path} ({route}) as {role}: the other school's record got {:?}, one that does not exist {:?}",
                answers[0], answers[1]
            ));
            }
        }
    }
    assert!(walked >= 93, "only {walked} routes name a walled record");
    // Our list of sets has our trolley alone.
    assert_eq!(store.list_kits(SchoolId::FIRST).await.unwrap().len(), 1);
    assert!(leaks.is_empty(), "{leaks:#?}");

    // Nothing of theirs moved: the same status, home and details as registered,
    // and their stocktake saw nothing.
    let after = store
        .stocktake(theirs, their_stocktake.id)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((after.seen, after.closed_at), (0, None));
    assert_eq!(
        store
            .device_by_tag(theirs, "WALL-1")
            .await
            .unwrap()
            .unwrap(),
        wall
    );
    assert_eq!(
        store.device_by_tag(theirs, "LAP-1").await.unwrap().unwrap(),
        their_lap
    );
    // Our lists, searches, rooms, incidents and the desk do not show theirs.
    let web = app.signed_in("our-manager", "manager").await;
    let token = app.token_for("our-manager").await;
    for path in [
        "/",
        "/devices",
        "/devices?q=WALL",
        "/locations",
        "/charging",
        "/stocktakes",
        "/incidents",
        "/loans",
        // reports, exports and the activity log are the school's own too
        "/bookings",
        "/bookings?view=week",
        "/reports/inventory",
        "/reports/encryption.csv",
        "/reports/audit",
        "/reports/utilisation.csv",
        "/export/devices.csv",
        "/export/loans.csv",
        "/export/incidents.csv",
        "/export/events.csv",
        "/log",
        "/policies",
        "/policy",
    ] {
        let page = web.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let page = page.text().await.unwrap();
        assert!(
            !page.contains("WALL-1") && !page.contains("Hillside hall"),
            "{path} shows the other school's register"
        );
        assert!(
            !page.contains("Cracked screen")
                && !page.contains("Hillside trip")
                && !page.contains("Hillside booking")
                && !page.contains("Hillside ICT policy"),
            "{path} shows the other school's incident or loan"
        );
    }
    for path in [
        "/api/v1/devices?per_page=200",
        "/api/v1/devices?q=WALL",
        "/api/v1/locations",
        "/api/v1/incidents",
        "/api/v1/loans",
        "/api/v1/events",
        "/api/v1/bookings",
        "/api/v1/reports/inventory",
        "/api/v1/exports/devices",
        "/api/v1/exports/events",
    ] {
        let r = app.api_get(&token, path).await;
        assert_eq!(r.status(), 200, "{path}");
        let text = r.text().await.unwrap();
        assert!(
            !text.contains("WALL-1")
                && !text.contains("Hillside hall")
                && !text.contains("Cracked screen")
                && !text.contains("Hillside trip")
                && !text.contains("Hillside booking")
                && !text.contains("Hillside ICT policy"),
            "{path} lists the other school's records: {text}"
        );
    }
    // Our head teacher is not asked to decide their requests.
    let head = app.signed_in("our-head", "head").await;
    let head_token = app.token_for("our-head").await;
    for path in ["/", "/approvals"] {
        let page = head.get(app.url(path)).send().await.unwrap();
        assert_eq!(page.status(), 200, "{path}");
        let page = page.text().await.unwrap();
        assert!(
            !page.contains("Residential trip") && !page.contains("Install a kiosk app"),
            "{path} shows the head the other school's requests"
        );
    }
    let r = app.api_get(&head_token, "/api/v1/offsite-requests").await;
    assert_eq!(r.status(), 200);
    let text = r.text().await.unwrap();
    assert!(!text.contains("Residential trip"), "{text}");

    // People: their manager holds no role here, so is not ours to see, lend to,
    // look after or read the history of: the same answers as for nobody.
    let csrf = app.csrf(&web, "/account").await;
    for path in [
        "/people/WHO",
        "/people/WHO/active",
        "/api/v1/people/WHO",
        "/api/v1/people/WHO/history",
        "/api/v1/people/WHO/password-reset",
        "/reports/people/WHO",
    ] {
        let (method, body) = if path.contains("password-reset") {
            (
                "POST",
                r#"{"password": "a long new password 42"}"#.to_owned(),
            )
        } else if path.ends_with("/active") {
            ("POST", "active=no".to_owned())
        } else {
            ("GET", String::new())
        };
        let mut answers = Vec::new();
        for who in ["hsbm", "nosuch"] {
            let p = path.replace("WHO", who);
            let r = request(&app, &web, Some(&token), &csrf, method, &p, body.clone())
                .send()
                .await
                .unwrap();
            answers.push(r.status().as_u16());
        }
        assert_eq!(answers[0], answers[1], "{path}: theirs vs nobody's");
        assert!(answers[0] >= 400, "{path}: {answers:?}");
    }
    let lend = |who: &'static str| {
        let token = token.clone();
        let url = app.url("/api/v1/devices/LAP-3/checkout");
        async move {
            let r = reqwest::Client::new()
                .post(url)
                .bearer_auth(&token)
                .json(&serde_json::json!({"borrower": who}))
                .send()
                .await
                .unwrap();
            r.status().as_u16()
        }
    };
    assert_eq!(lend("hsbm").await, lend("nosuch").await);
    let lap3 = app.device("LAP-3").await;
    assert!(store.open_loan(lap3.id).await.unwrap().is_none());
    for path in ["/people", "/people?q=hsbm"] {
        let page = web
            .get(app.url(path))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            !page.contains("Hsbm Test"),
            "{path} lists the other school's manager"
        );
    }
    let text = app
        .api_get(&token, "/api/v1/people?q=hsbm")
        .await
        .text()
        .await
        .unwrap();
    assert!(!text.contains("hsbm"), "{text}");

    // Our return checklists (kept with our settings) are ours alone.
    let r = app
        .submit(
            &web,
            "/checklists",
            "/checklists",
            &[("checklist.laptop", "Charger back?")],
        )
        .await;
    assert!(r.status().is_redirection(), "{}", r.status());
    let laptop = kitroom_core::device::DeviceKind::Laptop;
    assert_eq!(
        store
            .checklist(SchoolId::FIRST, laptop)
            .await
            .unwrap()
            .len(),
        1
    );
    assert!(store.checklist(theirs, laptop).await.unwrap().is_empty());
}

/// Someone with a role at two schools works in one at a time, chooses which, and
/// sees only that school's register; someone at one school never sees a choice.
#[tokio::test]
async fn a_teacher_at_two_schools_chooses_where_to_work() {
    let app = spawn_app().await;
    let store = app.store();
    let theirs = hillside(&app).await;
    register_in(&app, SchoolId::FIRST, "OURS-1", "Library").await;
    register_in(&app, theirs, "WALL-1", "Hillside hall").await;
    app.add_user("ours", "borrower").await;
    app.add_user_at("hillside", "hsbm", "manager").await;
    app.add_user("both", "borrower").await;
    app.add_user_at("hillside", "both", "head").await;

    // At one school only: no choice shown, and their own school's register.
    let c = app.signed_in_as("ours").await;
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        !home.contains("href=\"/schools\""),
        "a one-school person is offered schools"
    );
    let devices = c
        .get(app.url("/devices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(devices.contains("OURS-1") && !devices.contains("WALL-1"));
    let c = app.signed_in_as("hsbm").await;
    let devices = c
        .get(app.url("/devices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        devices.contains("WALL-1") && !devices.contains("OURS-1"),
        "{devices}"
    );

    // At two: the first school first, its name in the header, the other one choice away.
    let c = app.signed_in_as("both").await;
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains("href=\"/schools\""),
        "the header offers the other school"
    );
    assert!(home.contains("Borrower"), "a borrower at the first school");
    let devices = c
        .get(app.url("/devices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(devices.contains("OURS-1") && !devices.contains("WALL-1"));
    let schools = c
        .get(app.url("/schools"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(schools.contains("Hillside Academy"), "{schools}");
    let r = app
        .submit(&c, "/schools", "/schools/switch", &[("school", "hillside")])
        .await;
    assert_eq!(r.status(), 303);
    // A head teacher there: the school requires two-step sign-in of that role, and
    // this session, a borrower's, never passed it.
    let r = c.get(app.url("/")).send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/account/two-factor");
    app.set_up_two_factor(&c, "both").await;
    let home = c
        .get(app.url("/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        home.contains(r#"<a href="/schools">Hillside Academy</a>"#),
        "the header names the school now worked in"
    );
    assert!(
        home.contains("Head teacher"),
        "the head teacher at Hillside"
    );
    let devices = c
        .get(app.url("/devices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(devices.contains("WALL-1") && !devices.contains("OURS-1"));
    // A school they hold no role in is not there to choose.
    store
        .add_school(
            Actor::system(),
            SchoolSlug::parse("elsewhere").unwrap(),
            "Elsewhere School".into(),
        )
        .await
        .unwrap();
    let r = app
        .submit(
            &c,
            "/schools",
            "/schools/switch",
            &[("school", "elsewhere")],
        )
        .await;
    assert_eq!(r.status(), 404);
    let devices = c
        .get(app.url("/devices"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(devices.contains("WALL-1"), "still at Hillside");
}

/// A trust sets its schools up at the command line: a school added twice, a short
/// name that cannot be one, or a role at a school that does not exist would
/// otherwise leave it guessing what happened.
#[tokio::test]
async fn a_trust_adds_schools_and_roles_at_the_command_line() {
    let app = spawn_app().await;
    let dir = app.dir.path();
    let mut out = Vec::new();
    let code = kitroom::cli::school_add(dir, "St-Marys", "St Mary's Primary", &mut out)
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    let said = String::from_utf8(out).unwrap();
    assert!(
        said.contains("Added St Mary's Primary (st-marys)"),
        "{said}"
    );
    for (slug, name) in [("st-marys", "Again"), ("St Mary's", "Bad"), ("ok", " ")] {
        let code = kitroom::cli::school_add(dir, slug, name, &mut Vec::new())
            .await
            .unwrap();
        assert_eq!(code, std::process::ExitCode::from(2), "{slug:?} {name:?}");
    }
    let mut out = Vec::new();
    kitroom::cli::school_list(dir, &mut out).await.unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "main\tOur school\nst-marys\tSt Mary's Primary\n"
    );
    // A role at a school nobody added is refused, and nobody is made.
    let input = kitroom_core::person::PersonInput {
        username: "lost".into(),
        full_name: "Lost Person".into(),
        role: "manager".into(),
        ..Default::default()
    };
    let code = kitroom::cli::user_add(dir, input, Some("nowhere"), None)
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::from(2));
    assert!(app
        .store()
        .account_by_username("lost")
        .await
        .unwrap()
        .is_none());
    // The trust's IT administrator works in every school.
    app.add_user("trust-it", "trust_admin").await;
    let c = app.signed_in_as("trust-it").await;
    let schools = app.page(&c, "/schools").await;
    assert!(
        schools.contains("Our school") && schools.contains("St Mary's Primary"),
        "{schools}"
    );
    let home = app.page(&c, "/").await;
    assert!(home.contains("Trust IT administrator"), "{home}");
}

/// The trust moves a laptop from one school to another: it leaves the first
/// school's register, joins the second's in its return room, and both schools'
/// logs and managers hear of it; a device still out on loan, or one whose tag the
/// other school uses, stays where it is.
#[tokio::test]
async fn the_trust_moves_a_device_to_another_school() {
    let app = spawn_app().await;
    let store = app.store();
    let theirs = hillside(&app).await;
    register_in(&app, SchoolId::FIRST, "MOVE-1", "Library").await;
    register_in(&app, SchoolId::FIRST, "SAME-1", "Library").await;
    register_in(&app, theirs, "SAME-1", "Hillside hall").await;
    app.add_user("our-sbm", "manager").await;
    app.add_user_at("hillside", "their-sbm", "manager").await;
    // A school's own manager may not move devices away.
    let sbm = app.signed_in_as("our-sbm").await;
    let r = app
        .submit(
            &sbm,
            "/devices/MOVE-1",
            "/devices/MOVE-1/transfer",
            &[("school", "hillside")],
        )
        .await;
    assert_eq!(r.status(), 403);

    app.add_user("trust-bm", "trust_manager").await;
    let c = app.signed_in_as("trust-bm").await;
    let page = app.page(&c, "/devices/MOVE-1").await;
    assert!(page.contains("Move to another school"), "{page}");
    let r = app
        .submit(
            &c,
            "/devices/MOVE-1",
            "/devices/MOVE-1/transfer",
            &[("school", "hillside")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/devices");
    assert!(store
        .device_by_tag(SchoolId::FIRST, "MOVE-1")
        .await
        .unwrap()
        .is_none());
    let moved = store
        .device_by_tag(theirs, "MOVE-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(moved.details.location, "Computer room", "their return room");
    assert!(store
        .list_locations(theirs)
        .await
        .unwrap()
        .iter()
        .any(|l| l.name == "Computer room"));
    // In both schools' logs, and told to both schools' managers.
    for school in [SchoolId::FIRST, theirs] {
        let events = store
            .list_events(&kitroom_store::events::EventFilter {
                school: Some(school),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(
            events
                .iter()
                .any(|e| e.action == "device.transferred" && e.subject_label == "MOVE-1"),
            "school {school}: {events:?}"
        );
    }
    for (who, school) in [("our-sbm", SchoolId::FIRST), ("their-sbm", theirs)] {
        let p = person_at(&app, school, who).await;
        let told = store.notifications(p.id, 20).await.unwrap();
        assert!(
            told.iter().any(|n| n.body.contains("MOVE-1")),
            "{who}: {told:?}"
        );
    }
    // Their tag is taken there: refused, nothing moved.
    let token = app.token_for("trust-bm").await;
    let r = app
        .api_post(
            &token,
            "/api/v1/devices/SAME-1/transfer",
            &serde_json::json!({"school": "hillside"}),
        )
        .await;
    assert_eq!(r.status(), 409);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("already has a device tagged SAME-1"));
    assert!(store
        .device_by_tag(SchoolId::FIRST, "SAME-1")
        .await
        .unwrap()
        .is_some());
    // Nowhere, or where it is already: told beside the field.
    for school in ["nowhere", "main"] {
        let r = app
            .api_post(
                &token,
                "/api/v1/devices/SAME-1/transfer",
                &serde_json::json!({"school": school}),
            )
            .await;
        assert_eq!(r.status(), 422, "{school}");
    }
}

/// The trust's business manager could not compare its schools without opening each
/// one's reports in turn, nor read what happened at every school in one log; a
/// school's own manager must see neither, and a subject-access export asked of a
/// school names nothing from another school, while the trust's covers them all.
#[tokio::test]
async fn the_trust_sees_every_school_side_by_side() {
    use crate::reports::{csv, n};
    let s = crate::reports::school().await;
    let (app, sbm) = (&s.app, &s.sbm);
    let store = app.store();
    let theirs = hillside(app).await;
    register_in(app, theirs, "HIL-1", "Hillside hall").await;
    app.add_user_at("hillside", "jo", "borrower").await;
    let jo_there = store
        .person_by_username(theirs, "jo")
        .await
        .unwrap()
        .unwrap();
    let input = DeviceInput {
        tag: "HIL-2".into(),
        kind: "camera".into(),
        location: "Hillside hall".into(),
        ..Default::default()
    };
    let today = kitroom_core::time::school_day(chrono::Utc::now());
    store
        .create_device(jo_there.actor(), theirs, input.parse(today).unwrap())
        .await
        .unwrap();

    // A school's manager: neither the trust's report nor the trust's log.
    for path in [
        "/reports/schools",
        "/reports/schools.csv",
        "/log?scope=trust",
    ] {
        assert_eq!(app.get(sbm, path).await.status(), 403, "{path}");
    }
    assert!(!app.page(sbm, "/reports").await.contains("Across the trust"));
    // Their export of jo holds her record at their school only.
    let export = app.page(sbm, "/reports/people/jo/export.json").await;
    assert!(
        export.contains("LAP-1") && !export.contains("HIL-2"),
        "{export}"
    );

    app.add_user("trust-bm", "trust_manager").await;
    let c = app.signed_in_as("trust-bm").await;
    assert!(app.page(&c, "/reports").await.contains("Across the trust"));
    let rows = csv(&c, app, "/reports/schools.csv?year=2025").await;
    let names: Vec<&str> = rows.iter().map(|r| r["school"].as_str()).collect();
    assert_eq!(names, ["main", "hillside", "all"]);
    let (main, hill, all) = (&rows[0], &rows[1], &rows[2]);
    assert_eq!(n(main, "in_service"), 6);
    assert_eq!(n(main, "verified"), 2, "{main:?}");
    assert_eq!(n(main, "overdue_loans"), 1);
    assert_eq!(
        (n(main, "incidents"), main["incident_cost"].as_str()),
        (2, "150.50")
    );
    assert_eq!(main["school_year"], "2025/26");
    assert_eq!(hill["school_name"], "Hillside Academy");
    assert_eq!(n(hill, "in_service"), 2);
    assert_eq!(n(hill, "unknown"), 2);
    assert_eq!((n(hill, "overdue_loans"), n(hill, "incidents")), (0, 0));
    assert_eq!(hill["verified_percent"], "0");
    assert_eq!(n(all, "in_service"), 8);
    assert_eq!(all["incident_cost"], "150.50");
    let page = app.page(&c, "/reports/schools?year=2025").await;
    assert!(
        page.contains("Hillside Academy") && page.contains("<svg"),
        "{page}"
    );
    assert!(
        page.contains("2025/26") && page.contains("2026/27"),
        "years"
    );
    assert!(
        page.contains("<td class=\"n\">2 · £150.50</td>"),
        "each school's costs in its own cell of the years table"
    );
    let r = app.get(&c, "/reports/schools?year=soon").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("like 2025"));

    // The same rows from the API.
    let token = app.token_for("trust-bm").await;
    let (status, body) = app.api_get_json(&token, "/api/v1/reports/schools").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["items"].as_array().unwrap().len(), 3, "{body}");
    assert_eq!(body["items"][1]["school"], "hillside");

    // The log: each school's own by default, every school's when asked.
    let ours = app.page(&c, "/log").await;
    assert!(!ours.contains("HIL-1"), "the school's log shows another's");
    let every = app.page(&c, "/log?scope=trust").await;
    assert!(every.contains("HIL-1") && every.contains("LAP-1"));
    assert!(
        every.contains("Hillside Academy"),
        "each entry names its school"
    );
    let hers = app.page(&c, "/log?scope=trust&person=jo").await;
    assert!(hers.contains("HIL-2") && !hers.contains("HIL-1"), "{hers}");

    // The trust answers a subject-access request for every school.
    let export = app.page(&c, "/reports/people/jo/export.json").await;
    assert!(
        export.contains("LAP-1") && export.contains("HIL-2"),
        "{export}"
    );
}

/// Every school's housekeeping ran by the first school's settings: a school that
/// reminds borrowers two hours ahead had its loans reminded one hour ahead, as the
/// first school chose. The running server now sweeps each school by its own.
#[tokio::test]
async fn each_school_reminds_its_borrowers_by_its_own_settings() {
    let app = kitroom_tests::spawn_app_with(kitroom_web::Config {
        housekeeping_every: std::time::Duration::from_millis(100),
        ..Default::default()
    })
    .await;
    let store = app.store();
    let theirs = hillside(&app).await;
    let mut settings = store.settings(theirs).await.unwrap();
    settings.reminder_minutes_before = 120;
    store
        .save_settings(Actor::system(), theirs, settings)
        .await
        .unwrap();
    assert_eq!(
        store
            .settings(SchoolId::FIRST)
            .await
            .unwrap()
            .reminder_minutes_before,
        60
    );
    register_in(&app, SchoolId::FIRST, "OURS-1", "Library").await;
    register_in(&app, theirs, "THEIRS-1", "Hillside hall").await;
    let ours = app.api_token("sbm", "manager").await;
    app.add_user_at("hillside", "hsbm", "manager").await;
    let their = app.token_for("hsbm").await;
    let due = (chrono::Utc::now() + chrono::Duration::minutes(90)).to_rfc3339();
    for (token, tag) in [(&ours, "OURS-1"), (&their, "THEIRS-1")] {
        app.api_publish_policy(token).await;
        app.api_sign_policy(token, "Sam Manager").await;
        app.api_create(
            token,
            &[(
                &format!("/api/v1/devices/{tag}/checkout"),
                serde_json::json!({"due_at": due}),
            )],
        )
        .await;
    }
    let told = |school: SchoolId, who: &'static str| {
        let app = &app;
        async move {
            let p = person_at(app, school, who).await;
            app.store().notifications(p.id, 20).await.unwrap()
        }
    };
    for _ in 0..100 {
        if !told(theirs, "hsbm").await.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let theirs_told = told(theirs, "hsbm").await;
    assert!(
        theirs_told.iter().any(|n| n.body.contains("THEIRS-1")),
        "due in 90 minutes, reminded 120 ahead: {theirs_told:?}"
    );
    let ours_told = told(SchoolId::FIRST, "sbm").await;
    assert!(
        !ours_told.iter().any(|n| n.body.contains("OURS-1")),
        "due in 90 minutes, reminded only 60 ahead: {ours_told:?}"
    );
}

/// With several schools, a school's IT administrator could change how everyone
/// signs in, how many backups the server keeps and when leavers are anonymised:
/// or thought they had, when the first school's values were the ones used. Those
/// are now the trust's to change; each school keeps its own for the rest.
#[tokio::test]
async fn the_settings_every_school_shares_are_the_trusts_to_change() {
    let app = spawn_app().await;
    let store = app.store();
    let theirs = hillside(&app).await;
    let shared = store.settings(SchoolId::FIRST).await.unwrap().backups_kept;
    app.add_user_at("hillside", "hit", "admin").await;
    let c = app.signed_in_as("hit").await;
    let page = app.page(&c, "/settings").await;
    assert!(
        page.contains("Shared by every school of the trust"),
        "{page}"
    );
    assert!(!page.contains("name=\"backups_kept\""));
    assert!(!page.contains("Automatic backups"));
    // Their own settings save; a shared one slipped into the form is left alone.
    let mut fields: Vec<(String, String)> = kitroom_core::settings::Settings::default()
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| k != "reminder_minutes_before")
        .collect();
    fields.push(("reminder_minutes_before".into(), "90".into()));
    fields.retain(|(k, _)| k != "backups_kept");
    fields.push(("backups_kept".into(), "1".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app.submit(&c, "/settings", "/settings", &borrowed).await;
    assert_eq!(r.status(), 303);
    // A refused save shows the shared ones as they stand, not blank.
    let refused: Vec<(&str, &str)> = borrowed
        .iter()
        .map(|&(k, v)| {
            if k == "reminder_minutes_before" {
                (k, "soon")
            } else {
                (k, v)
            }
        })
        .collect();
    let r = app.submit(&c, "/settings", "/settings", &refused).await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains(&format!("Daily backups kept: {shared}.")),
        "{page}"
    );
    let (ours, their) = (
        store.settings(SchoolId::FIRST).await.unwrap(),
        store.settings(theirs).await.unwrap(),
    );
    assert_eq!(
        (ours.reminder_minutes_before, their.reminder_minutes_before),
        (60, 90)
    );
    assert_eq!((ours.backups_kept, their.backups_kept), (shared, shared));
    // By the API, refused beside the field, for any school's administrator.
    let first_it = app.api_token("it", "admin").await;
    for token in [app.token_for("hit").await, first_it] {
        let r = app
            .api_patch(
                &token,
                "/api/v1/settings",
                &serde_json::json!({"backups_kept": 1}),
            )
            .await;
        assert_eq!(r.status(), 422);
        let body = r.text().await.unwrap();
        assert!(
            body.contains("backups_kept") && body.contains("trust's IT administrator"),
            "{body}"
        );
    }
    // The trust's IT administrator changes it for every school at once.
    app.add_user("trust-it", "trust_admin").await;
    let token = app.token_for("trust-it").await;
    let r = app
        .api_patch(
            &token,
            "/api/v1/settings",
            &serde_json::json!({"backups_kept": 2}),
        )
        .await;
    assert_eq!(r.status(), 200);
    for school in [SchoolId::FIRST, theirs] {
        assert_eq!(store.settings(school).await.unwrap().backups_kept, 2);
    }
}

/// A trust with one acceptable-use policy had every school publish and collect
/// signatures on its own copy, and a teacher at two schools signed it twice. Now the
/// trust can keep one: its newest version is in force at every school (each keeps
/// its own until the trust publishes), one signature counts everywhere, and only
/// the trust's own staff publish.
#[tokio::test]
async fn the_trust_keeps_one_policy_for_every_school() {
    use kitroom_core::loan::PolicyStanding;
    let app = spawn_app().await;
    let store = app.store();
    let theirs = hillside(&app).await;
    let sbm = app.api_token("sbm", "manager").await;
    app.add_user_at("hillside", "hsbm", "manager").await;
    let hsbm = app.token_for("hsbm").await;
    app.api_publish_policy(&sbm).await;
    app.api_publish_policy(&hsbm).await;
    app.add_user("both", "borrower").await;
    app.add_user_at("hillside", "both", "borrower").await;
    app.add_user_at("hillside", "hb", "borrower").await;
    let label = |school: SchoolId| {
        let store = store.clone();
        async move {
            store
                .current_policy(school)
                .await
                .unwrap()
                .map(|p| (p.id, p.version_label))
        }
    };
    let (ours_v1, theirs_v1) = (label(SchoolId::FIRST).await, label(theirs).await);
    assert_ne!(ours_v1, theirs_v1, "each school its own");

    // Only the trust's IT administrator chooses one policy for all.
    let it = app.api_token("it", "admin").await;
    let on = serde_json::json!({"one_policy_for_trust": true});
    assert_eq!(
        app.api_patch(&it, "/api/v1/settings", &on).await.status(),
        422
    );
    app.add_user("trust-it", "trust_admin").await;
    let trust_it = app.token_for("trust-it").await;
    assert_eq!(
        app.api_patch(&trust_it, "/api/v1/settings", &on)
            .await
            .status(),
        200
    );
    // Until the trust publishes, each school's own stays in force.
    assert_eq!(label(theirs).await, theirs_v1);
    // A school's manager no longer publishes; the trust's staff do, once for all.
    let v2 = serde_json::json!({"title": "ICT", "version_label": "Trust 2027", "issued_on": "2026-12-01", "body": "Care, everywhere."});
    let r = app.api_post(&hsbm, "/api/v1/policies", &v2).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("trust's own staff"));
    app.add_user("trust-bm", "trust_manager").await;
    let trust_bm = app.token_for("trust-bm").await;
    assert_eq!(
        app.api_post(&trust_bm, "/api/v1/policies", &v2)
            .await
            .status(),
        201
    );
    let (ours, their) = (label(SchoolId::FIRST).await, label(theirs).await);
    assert_eq!(ours, their, "one version in force at both");
    assert_eq!(ours.unwrap().1, "Trust 2027");
    // Signed once, at their first school: signed at both.
    let both = app.token_for("both").await;
    app.api_sign_policy(&both, "Bo Th").await;
    let standing = |school: SchoolId, who: &'static str| {
        let app = &app;
        async move {
            let p = person_at(app, school, who).await;
            app.store().policy_standing(school, p.id).await.unwrap()
        }
    };
    assert_eq!(standing(theirs, "both").await, PolicyStanding::Signed);
    assert_eq!(
        standing(theirs, "hb").await,
        PolicyStanding::NotSigned {
            version_label: "Trust 2027".into()
        }
    );
    // and so may borrow there; who has not signed it may not
    register_in(&app, theirs, "T-1", "Hillside hall").await;
    register_in(&app, theirs, "T-2", "Hillside hall").await;
    for (tag, to, status) in [("T-1", "both", 201), ("T-2", "hb", 422)] {
        let r = app
            .api_post(
                &hsbm,
                &format!("/api/v1/devices/{tag}/checkout"),
                &serde_json::json!({"borrower": to}),
            )
            .await;
        assert_eq!(r.status(), status, "lend {tag} to {to}");
    }
    let page = app.page(&app.signed_in_as("hsbm").await, "/policies").await;
    assert!(
        page.contains("one acceptable-use policy for every school"),
        "{page}"
    );
    assert!(
        !page.contains("action=\"/policies\""),
        "no form for a school's manager"
    );
    // signed by one of Hillside's five people (its three, and the trust's two)
    assert!(page.contains("1 of 5"), "{page}");
    // Back to one policy per school: each school's own again.
    let off = serde_json::json!({"one_policy_for_trust": false});
    assert_eq!(
        app.api_patch(&trust_it, "/api/v1/settings", &off)
            .await
            .status(),
        200
    );
    assert_eq!(label(theirs).await, theirs_v1);
}
