//! Account security a person can see: their signed-in sessions, ending them, and
//! what a password change does to the others.

use kitroom_tests::{spawn_app, TestApp, PASSWORD};
use reqwest::{Client, StatusCode};

const FIREFOX: &str =
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0";
const IPAD: &str = "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1";

/// A client that says it is this browser, signed in as `username`.
async fn browser(app: &TestApp, username: &str, user_agent: &str) -> Client {
    let c = Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(user_agent)
        .build()
        .unwrap();
    assert_eq!(app.login(&c, username, PASSWORD).await.status(), 303);
    c
}

async fn account(app: &TestApp, c: &Client) -> reqwest::Response {
    app.get(c, "/account").await
}

async fn signed_in(app: &TestApp, c: &Client) -> bool {
    account(app, c).await.status() == StatusCode::OK
}

/// The "End" forms on the account page, in order: the id hashes they name.
fn end_forms(page: &str) -> Vec<String> {
    page.match_indices("action=\"/account/sessions/")
        .filter_map(|(at, m)| {
            let rest = &page[at + m.len()..];
            let id = &rest[..rest.find('"')?];
            id.strip_suffix("/end").map(str::to_owned)
        })
        .collect()
}

/// A person who left themselves signed in on a shared computer could not see it or
/// end it from elsewhere.
#[tokio::test]
async fn a_person_sees_where_they_are_signed_in_and_ends_one_session() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let laptop = browser(&app, "teacher", FIREFOX).await;
    let ipad = browser(&app, "teacher", IPAD).await;

    let page = account(&app, &laptop).await.text().await.unwrap();
    assert!(page.contains("Where you are signed in"));
    assert!(
        page.contains("Firefox on Windows"),
        "the laptop's own session"
    );
    assert!(page.contains("Safari on iPad"), "the other session");
    assert!(page.contains("This session"));
    assert!(page.contains("127.0.0.1"), "from which address");
    let ends = end_forms(&page);
    assert_eq!(ends.len(), 1, "only the other session has an End button");

    let token = kitroom_tests::csrf_in(&page).unwrap();
    let r = laptop
        .post(app.url(&format!("/account/sessions/{}/end", ends[0])))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    assert!(!signed_in(&app, &ipad).await, "the iPad must sign in again");
    let page = account(&app, &laptop).await;
    assert_eq!(page.status(), 200, "the laptop is still signed in");
    let page = page.text().await.unwrap();
    assert!(page.contains("That session has ended"));
    assert!(!page.contains("Safari on iPad"));
    assert!(page.contains("You are not signed in anywhere else."));

    let events = app
        .store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(events
        .iter()
        .any(|e| e.action == "person.session_ended" && e.actor == "teacher"));
}

/// Someone could sign another person out by guessing or copying a session's name.
#[tokio::test]
async fn a_person_cannot_end_someone_elses_session() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    app.add_user("pupil", "borrower").await;
    let victim = browser(&app, "teacher", FIREFOX).await;
    let other = browser(&app, "pupil", IPAD).await;
    // Another browser of the teacher's shows the victim session's id hash.
    let second = browser(&app, "teacher", IPAD).await;
    let page = account(&app, &second).await.text().await.unwrap();
    let victim_id = end_forms(&page).pop().unwrap();

    let token = app.csrf(&other, "/account").await;
    let r = other
        .post(app.url(&format!("/account/sessions/{victim_id}/end")))
        .form(&[("csrf", token.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let page = account(&app, &other).await.text().await.unwrap();
    assert!(page.contains("That session had already ended."));
    assert!(
        signed_in(&app, &victim).await,
        "the teacher is still signed in"
    );
}

/// A person who thinks their password was seen could not throw everyone else out.
#[tokio::test]
async fn sign_out_everywhere_else_keeps_only_this_session() {
    let app = spawn_app().await;
    app.add_user("sbm", "borrower").await;
    let here = browser(&app, "sbm", FIREFOX).await;
    let a = browser(&app, "sbm", IPAD).await;
    let b = browser(&app, "sbm", IPAD).await;
    let r = app
        .submit(&here, "/account", "/account/sessions/end-others", &[])
        .await;
    assert_eq!(r.status(), 303);
    assert!(!signed_in(&app, &a).await);
    assert!(!signed_in(&app, &b).await);
    let page = account(&app, &here).await.text().await.unwrap();
    assert!(page.contains("You are now signed out of 2 other sessions."));
    assert!(end_forms(&page).is_empty());
}

/// A stolen session would outlive the password change meant to shut the thief out.
#[tokio::test]
async fn a_password_change_or_reset_ends_every_other_session() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let here = browser(&app, "teacher", FIREFOX).await;
    let elsewhere = browser(&app, "teacher", IPAD).await;
    let r = app
        .submit(
            &here,
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "a fresh long password"),
                ("confirm", "a fresh long password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(signed_in(&app, &here).await, "the person changing it stays");
    assert!(
        !signed_in(&app, &elsewhere).await,
        "the other session ended"
    );

    // Reset by a manager: every session of that person ends, including `here`.
    let sbm = app.signed_in("sbm", "manager").await;
    let r = app
        .submit(
            &sbm,
            "/people/teacher",
            "/people/teacher/password",
            &[("password", "the manager's choice")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(!signed_in(&app, &here).await);
    assert!(signed_in(&app, &sbm).await);
}

fn events_named(events: &[kitroom_store::events::Event], action: &str) -> usize {
    events.iter().filter(|e| e.action == action).count()
}

async fn all_events(app: &TestApp) -> Vec<kitroom_store::events::Event> {
    app.store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
}

/// Someone who learned a manager's password could open everyone's records.
#[tokio::test]
async fn a_manager_must_set_up_two_step_sign_in_before_anything_else() {
    let app = spawn_app().await;
    app.add_user("sbm", "manager").await;
    app.add_user("pupil", "borrower").await;
    let c = app.client();
    assert_eq!(app.login_password(&c, "sbm", PASSWORD).await.status(), 303);
    for page in ["/", "/devices", "/people", "/account", "/log"] {
        let r = app.get(&c, page).await;
        assert_eq!(r.status(), 303, "{page} waits for the setup");
        assert_eq!(kitroom_tests::location(&r), "/account/two-factor");
    }
    let setup = app.page(&c, "/account/two-factor").await;
    assert!(setup.contains("Your school asks everyone who can see other people"));
    // A wrong first code does not turn it on.
    let token = kitroom_tests::csrf_in(&setup).unwrap();
    let r = c
        .post(app.url("/account/two-factor"))
        .form(&[("csrf", token.as_str()), ("code", "12345x")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("That code is not right"));
    let codes = app.set_up_two_factor(&c, "sbm").await;
    assert_eq!(codes.len(), 10);
    assert_eq!(app.get(&c, "/devices").await.status(), 200);
    let account = app.page(&c, "/account").await;
    assert!(account.contains("You have 10 unused recovery codes."));
    assert!(
        !account.contains("Turn off two-step sign-in"),
        "required: no way to turn it off"
    );
    assert_eq!(
        events_named(&all_events(&app).await, "person.two_factor_on"),
        1
    );

    // A borrower is not asked to, but is offered it.
    let pupil = app.signed_in("pupil2", "borrower").await;
    let account = app.page(&pupil, "/account").await;
    assert!(account.contains("Set up two-step sign-in"));

    // With the setting off, a new head is not sent to set it up.
    app.do_not_require_two_factor().await;
    let head = app.client();
    app.add_user("head", "head").await;
    assert_eq!(
        app.login_password(&head, "head", PASSWORD).await.status(),
        303
    );
    assert_eq!(app.get(&head, "/devices").await.status(), 200);
}

/// A stolen password alone would be enough to sign in, or a code seen over someone's
/// shoulder could be used again.
#[tokio::test]
async fn with_two_step_sign_in_the_password_alone_is_not_enough() {
    let app = spawn_app().await;
    let _first = app.signed_in("sbm", "manager").await;
    let c = app.client();
    let r = app.login_password(&c, "sbm", PASSWORD).await;
    assert_eq!(r.status(), 303);
    assert_eq!(kitroom_tests::location(&r), "/login/code");
    // Not signed in yet.
    let r = app.get(&c, "/devices").await;
    assert_eq!(r.status(), 303);
    assert!(kitroom_tests::location(&r).starts_with("/login"));

    let r = app.enter_code(&c, "000000").await;
    assert_eq!(r.status(), 401);
    assert!(r.text().await.unwrap().contains("That code is not right"));
    let events = all_events(&app).await;
    assert_eq!(events_named(&events, "person.two_factor_failed"), 1);
    let signed_in_before = events_named(&events, "person.signed_in");

    let code = app.totp_code("sbm");
    let r = app.enter_code(&c, &code).await;
    assert_eq!(r.status(), 303);
    assert_eq!(app.get(&c, "/devices").await.status(), 200);
    assert_eq!(
        events_named(&all_events(&app).await, "person.signed_in"),
        signed_in_before + 1
    );

    // The same code, seen and typed again elsewhere, is refused.
    let thief = app.client();
    assert_eq!(
        app.login_password(&thief, "sbm", PASSWORD).await.status(),
        303
    );
    assert_eq!(app.enter_code(&thief, &code).await.status(), 401);
    assert_eq!(app.get(&thief, "/devices").await.status(), 303);
}

/// A guesser could try all million codes once they had the password.
#[tokio::test]
async fn wrong_codes_are_throttled_and_logged() {
    let app = spawn_app().await;
    let _first = app.signed_in("sbm", "manager").await;
    let c = app.client();
    app.login_password(&c, "sbm", PASSWORD).await;
    for guess in ["111111", "222222", "333333", "444444", "555555"] {
        assert_eq!(app.enter_code(&c, guess).await.status(), 401);
    }
    let code = app.totp_code("sbm");
    let r = app.enter_code(&c, &code).await;
    assert_eq!(r.status(), 429, "even the right code waits");
    assert!(r.text().await.unwrap().contains("Too many wrong codes"));
    // The refusals are one entry for the wait, written when it ends.
    app.state()
        .write_sign_in_refusals(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    let events = all_events(&app).await;
    assert_eq!(events_named(&events, "person.two_factor_failed"), 5);
    assert_eq!(events_named(&events, "person.two_factor_throttled"), 1);
}

/// A person who lost their phone could not get in, or a recovery code could be used
/// twice.
#[tokio::test]
async fn a_recovery_code_signs_in_once() {
    let app = spawn_app().await;
    let _first = app.signed_in("sbm", "manager").await;
    let codes = app.authenticator("sbm").unwrap().recovery_codes;
    let c = app.client();
    app.login_password(&c, "sbm", PASSWORD).await;
    // Typed loosely: upper case, spaces instead of dashes.
    let typed = codes[3].to_uppercase().replace('-', " ");
    assert_eq!(app.enter_code(&c, &typed).await.status(), 303);
    let account = app.page(&c, "/account").await;
    assert!(account.contains("You have 9 unused recovery codes."));
    let again = app.client();
    app.login_password(&again, "sbm", PASSWORD).await;
    assert_eq!(app.enter_code(&again, &codes[3]).await.status(), 401);
    assert_eq!(
        events_named(&all_events(&app).await, "person.recovery_code_used"),
        1
    );
    // New codes replace the old ones.
    let r = app
        .submit(&c, "/account", "/account/two-factor/recovery-codes", &[])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("They will not be shown again"));
    assert_eq!(app.enter_code(&again, &codes[4]).await.status(), 401);
}

/// A copy of the database (a lost backup) would hand over everyone's second factor.
#[tokio::test]
async fn the_authenticator_secret_is_not_in_the_database() {
    let app = spawn_app().await;
    let _first = app.signed_in("it", "admin").await;
    let secret = app.authenticator("it").unwrap().secret;
    let bytes = totp_rs::Secret::Encoded(secret.clone()).to_bytes().unwrap();
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let file = std::fs::read(app.dir.path().join("kitroom.db")).unwrap();
    let mut everything = file;
    if let Ok(wal) = std::fs::read(app.dir.path().join("kitroom.db-wal")) {
        everything.extend(wal);
    }
    let contains = |needle: &[u8]| everything.windows(needle.len()).any(|w| w == needle);
    assert!(!contains(secret.as_bytes()), "not as base32");
    assert!(!contains(hex.as_bytes()), "not as hex");
    assert!(!contains(&bytes), "not as raw bytes");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(app.dir.path().join("kitroom.key"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the key file is for its owner only");
    }
}

/// A manager who lost their phone and recovery codes would be locked out for good.
#[tokio::test]
async fn an_admin_resets_two_step_sign_in_on_the_page_or_at_the_command_line() {
    let mut app = spawn_app().await;
    let admin = app.signed_in("it", "admin").await;
    let sbm = app.signed_in("sbm", "manager").await;
    let r = app
        .submit(&admin, "/people/sbm", "/people/sbm/two-factor/reset", &[])
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get(&sbm, "/devices").await.status(),
        303,
        "their sessions ended"
    );
    assert_eq!(
        events_named(&all_events(&app).await, "person.two_factor_reset"),
        1
    );
    // They sign in with the password and must set it up again.
    let c = app.client();
    let r = app.login_password(&c, "sbm", PASSWORD).await;
    assert_eq!(kitroom_tests::location(&r), "/");
    let r = app.get(&c, "/devices").await;
    assert_eq!(kitroom_tests::location(&r), "/account/two-factor");

    // The command line, for when the admin themselves is locked out.
    app.stop().await;
    let code = kitroom::cli::user_reset_two_factor(app.dir.path(), "it")
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    app.restart().await;
    let c = app.client();
    let r = app.login_password(&c, "it", PASSWORD).await;
    assert_eq!(kitroom_tests::location(&r), "/", "no code asked for");
}

/// A school would keep the names of people who left years ago for ever, or erasing
/// them would break the activity log's proof or the devices' histories.
#[tokio::test]
async fn people_who_left_are_anonymised_after_the_retention_period_and_the_log_still_verifies() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.publish_policy(&sbm, "2026/27").await;
    app.add_device(&sbm, "LAP-1", "laptop", "Computer room", &[])
        .await;
    app.add_device(&sbm, "LAP-2", "laptop", "Computer room", &[])
        .await;
    app.add_user_with_email("jbloggs", "borrower", "jo.bloggs@school.example")
        .await;
    app.add_user("stillout", "borrower").await;
    let jo = app.client();
    assert_eq!(app.login(&jo, "jbloggs", PASSWORD).await.status(), 303);
    app.sign_policy(&jo, "Jbloggs Test").await;
    assert_eq!(app.check_out(&jo, "LAP-1", &[]).await.status(), 303);
    let back = [
        ("location", "Computer room"),
        ("condition", "fine"),
        ("battery_percent", "80"),
        ("on_charge", "on"),
    ];
    assert_eq!(app.return_device(&jo, "LAP-1", &back).await.status(), 303);
    let out = app.client();
    assert_eq!(app.login(&out, "stillout", PASSWORD).await.status(), 303);
    app.sign_policy(&out, "Stillout Test").await;
    assert_eq!(app.check_out(&out, "LAP-2", &[]).await.status(), 303);

    let store = app.store();
    let jo_id = store
        .account_by_username("jbloggs")
        .await
        .unwrap()
        .unwrap()
        .id;
    let out_id = store
        .account_by_username("stillout")
        .await
        .unwrap()
        .unwrap()
        .id;
    for id in [jo_id, out_id] {
        store
            .set_active(kitroom_store::Actor::system(), id, false)
            .await
            .unwrap();
    }
    let history_before = app.page(&sbm, "/devices/LAP-1").await;
    assert!(history_before.contains("jbloggs"));
    let events_before = all_events(&app).await.len();

    // Not yet: they left today and the school keeps leavers for 24 months.
    let now = chrono::Utc::now();
    assert_eq!(store.anonymise_leavers(24, now).await.unwrap(), 0);
    // 25 months on (the housekeeping loop runs this every hour with the setting).
    let later = now + chrono::Duration::days(25 * 31);
    assert_eq!(store.anonymise_leavers(24, later).await.unwrap(), 1);
    assert_eq!(
        store.anonymise_leavers(24, later).await.unwrap(),
        0,
        "once is enough"
    );

    let jo_now = store.account_by_id(jo_id).await.unwrap().unwrap();
    assert!(jo_now.username.starts_with("former-"));
    assert!(jo_now.full_name.starts_with("Former person "));
    assert_eq!(jo_now.email, None);
    assert!(jo_now.password_hash.is_none());
    let out_now = store.account_by_id(out_id).await.unwrap().unwrap();
    assert_eq!(
        out_now.username, "stillout",
        "kept while a device is still on loan to them"
    );

    // The device's history keeps its shape, without the name.
    let history = app.page(&sbm, "/devices/LAP-1").await;
    assert!(!history.contains("jbloggs") && !history.contains("Jbloggs Test"));
    assert!(history.contains(&jo_now.username));
    let events = all_events(&app).await;
    assert_eq!(
        events.len(),
        events_before + 1,
        "one event added, none removed"
    );
    for e in &events {
        let text = format!("{} {} {}", e.actor, e.subject_label, e.details);
        assert!(
            !text.contains("jbloggs")
                && !text.contains("Jbloggs Test")
                && !text.contains("jo.bloggs@school.example"),
            "event {} still names them: {text}",
            e.seq
        );
    }
    let record = events
        .iter()
        .find(|e| e.action == "person.anonymised")
        .expect("the anonymisation is in the log");
    assert!(!record.details_json()["redacted_events"]
        .as_array()
        .unwrap()
        .is_empty());
    let log = app.page(&sbm, "/log").await;
    assert!(!log.contains("Jbloggs Test"));

    // The account cannot come back.
    assert!(store
        .set_active(kitroom_store::Actor::system(), jo_id, true)
        .await
        .is_err());

    // `kitroom check` still passes: the hash chain is intact.
    let mut out = Vec::new();
    let code = kitroom::cli::check(app.dir.path(), &mut out).await.unwrap();
    let report = String::from_utf8(out).unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS, "{report}");
    assert!(report.contains("hash chain intact"), "{report}");
}

/// Someone with the database could quietly rewrite an event and pass it off as an
/// anonymisation.
#[tokio::test]
async fn a_redaction_no_anonymisation_recorded_is_caught_by_the_check() {
    let app = spawn_app().await;
    let _sbm = app.signed_in("sbm", "manager").await;
    let db = app.dir.path().join("kitroom.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    // The trigger allows the shape of a redaction...
    sqlx::query("update event set details = '{}', salt = null where seq = 1")
        .execute(&mut conn)
        .await
        .unwrap();
    // ...but nothing else.
    assert!(sqlx::query("update event set action = 'x' where seq = 2")
        .execute(&mut conn)
        .await
        .is_err());
    drop(conn);
    let mut out = Vec::new();
    let code = kitroom::cli::check(app.dir.path(), &mut out).await.unwrap();
    let report = String::from_utf8(out).unwrap();
    assert_ne!(code, std::process::ExitCode::SUCCESS);
    assert!(
        report.contains(
            "event 1 has had its personal details removed, but no anonymisation event records it"
        ),
        "{report}"
    );
}

/// An admin could not set the school's retention period or the two-step rule, or a
/// mistyped period would be saved.
#[tokio::test]
async fn the_admin_sets_the_retention_period_and_the_two_step_rule() {
    let app = spawn_app().await;
    let admin = app.signed_in("it", "admin").await;
    let page = app.page(&admin, "/settings").await;
    assert!(page.contains("name=\"require_two_factor\" type=\"checkbox\" checked"));
    assert!(page.contains("name=\"keep_leavers_months\" type=\"number\" value=\"24\""));
    let mut fields: Vec<(String, String)> = vec![
        ("school_name".into(), "Hillside".into()),
        ("day_ends_at".into(), "15:30".into()),
        ("return_location".into(), "Computer room".into()),
        ("keep_leavers_months".into(), "two years".into()),
        ("backups_kept".into(), "7".into()),
    ];
    for kind in kitroom_core::device::DeviceKind::ALL {
        fields.push((format!("charge_minutes.{}", kind.as_str()), "60".into()));
    }
    let post = |fields: Vec<(String, String)>| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let token = app.csrf(&admin, "/settings").await;
            let mut all = fields;
            all.push(("csrf".into(), token));
            admin
                .post(app.url("/settings"))
                .form(&all)
                .send()
                .await
                .unwrap()
        }
    };
    let r = post(fields.clone()).await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Enter a number of months from 0 to 300"));
    fields[3].1 = "36".into();
    // The two-step box left unticked: off.
    assert_eq!(post(fields).await.status(), 303);
    let settings = app
        .store()
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    assert_eq!(settings.keep_leavers_months, 36);
    assert!(!settings.require_two_factor);
}

/// Tests that sign one manager in from many clients at once (races, crashes) would
/// stall on codes that work only once.
#[tokio::test]
async fn the_harness_signs_a_manager_in_many_times_in_a_row() {
    let app = spawn_app().await;
    let _first = app.signed_in("sbm", "manager").await;
    for i in 0..25 {
        let c = app.client();
        assert_eq!(
            app.login(&c, "sbm", PASSWORD).await.status(),
            303,
            "sign-in {i}"
        );
        assert_eq!(
            app.get(&c, "/devices").await.status(),
            200,
            "sign-in {i} is complete"
        );
    }
}

/// A plain page view reads the session and writes nothing (so page views do not
/// queue behind check-outs for the database's one writer): the "last used" stamp,
/// and with it the idle expiry, moves at most once a minute, and a one-time notice
/// is removed only when there is one. Signing out still ends the session at once.
#[tokio::test]
async fn a_page_view_does_not_rewrite_the_session() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let db = app.dir.path().join("kitroom.db");
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(&db)
        .read_only(true);
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    let stored = async |conn: &mut sqlx::SqliteConnection| -> Vec<(String, i64)> {
        sqlx::query_as("select data, expires_at from session order by id_hash")
            .fetch_all(conn)
            .await
            .unwrap()
    };
    assert_eq!(app.get(&sbm, "/devices").await.status(), 200);
    let before = stored(&mut conn).await;
    assert_eq!(before.len(), 1);
    tokio::time::sleep(std::time::Duration::from_millis(1_100)).await;
    for path in ["/devices", "/", "/devices?kind=laptop"] {
        assert_eq!(app.get(&sbm, path).await.status(), 200);
    }
    assert_eq!(
        stored(&mut conn).await,
        before,
        "page views wrote the session"
    );

    // still signed in, and signing out ends it in the database too
    let form = app.page(&sbm, "/").await;
    let csrf = kitroom_tests::value_of(&form, "csrf").expect("csrf field");
    let out = sbm
        .post(app.url("/logout"))
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert!(out.status().is_redirection() || out.status().is_success());
    assert!(
        stored(&mut conn).await.is_empty(),
        "signing out left the session"
    );
    let after = app.get(&sbm, "/devices").await;
    let to = after
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .unwrap_or_default();
    assert!(
        after.status().is_redirection() && to.starts_with("/login"),
        "{} {to}",
        after.status()
    );
}

/// A borrower could find out who has an account by asking for loans or histories
/// under guessed usernames: a name nobody has must get the same answer as someone
/// else's.
#[tokio::test]
async fn a_borrower_cannot_tell_whether_a_username_exists() {
    let app = spawn_app().await;
    let jo = app.api_token("jo", "borrower").await;
    // someone real, with no loans and no bookings
    app.add_user("sam", "borrower").await;
    let answer = |path: String| {
        let c = Client::new();
        let url = app.url(&path);
        let token = jo.clone();
        async move {
            let r = c.get(url).bearer_auth(token).send().await.unwrap();
            (r.status(), r.text().await.unwrap())
        }
    };
    for (real, nobody) in [
        (
            "/api/v1/loans?borrower=sam",
            "/api/v1/loans?borrower=nosuch",
        ),
        (
            "/api/v1/people/sam/history",
            "/api/v1/people/nosuch/history",
        ),
        (
            "/api/v1/bookings?person=sam",
            "/api/v1/bookings?person=nosuch",
        ),
    ] {
        let (a, b) = (answer(real.into()).await, answer(nobody.into()).await);
        assert_eq!(a, b, "{real} and {nobody}");
        assert!(!b.1.contains("nosuch"), "{nobody}: {}", b.1);
    }
    // their own still work
    assert_eq!(answer("/api/v1/loans?borrower=jo".into()).await.0, 200);
    assert_eq!(answer("/api/v1/people/jo/history".into()).await.0, 200);
    // and staff who keep the accounts are still told of a typo
    let sbm = app.api_token("sbm", "manager").await;
    let r = Client::new()
        .get(app.url("/api/v1/loans?borrower=nosuch"))
        .bearer_auth(&sbm)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
}

/// Whether `token` still reaches the API.
async fn token_works(app: &TestApp, token: &str) -> bool {
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/devices"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    match r.status() {
        StatusCode::OK => true,
        StatusCode::UNAUTHORIZED => false,
        other => panic!("unexpected {other}"),
    }
}

/// A teacher whose password leaked would still be reachable through the token a
/// script of theirs uses, after the business manager reset the password.
#[tokio::test]
async fn a_password_reset_by_a_manager_revokes_the_persons_api_tokens() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let token = app.token_for("teacher").await;
    assert!(token_works(&app, &token).await);
    let sbm = app.signed_in("sbm", "manager").await;
    let r = app
        .submit(
            &sbm,
            "/people/teacher",
            "/people/teacher/password",
            &[("password", "violin tundra copper meadow")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let page = app.page(&sbm, "/people/teacher").await;
    assert!(
        page.contains("their API tokens no longer work"),
        "the notice says tokens ended: {page}"
    );
    assert!(!token_works(&app, &token).await, "the old token is refused");
}

/// A member of staff who left and came back (or was deactivated by mistake) would
/// find a token from before still working: a script forgotten on an old laptop
/// would come back to life with the account.
#[tokio::test]
async fn deactivating_an_account_revokes_its_tokens_for_good() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let token = app.token_for("teacher").await;
    assert!(token_works(&app, &token).await);
    let sbm = app.signed_in("sbm", "manager").await;
    for active in ["false", "true"] {
        let r = app
            .submit(
                &sbm,
                "/people/teacher",
                "/people/teacher/active",
                &[("active", active)],
            )
            .await;
        assert_eq!(r.status(), 303, "active={active}");
    }
    assert!(
        !token_works(&app, &token).await,
        "the token from before is refused after the account comes back"
    );
    let fresh = app.token_for("teacher").await;
    assert!(token_works(&app, &fresh).await, "a new token works");
}

/// Someone who changed their own password because it leaked would still be
/// reachable through their old token.
#[tokio::test]
async fn changing_your_own_password_revokes_your_api_tokens() {
    let app = spawn_app().await;
    let c = app.signed_in("teacher", "borrower").await;
    let token = app.token_for("teacher").await;
    assert!(token_works(&app, &token).await);
    let r = app
        .submit(
            &c,
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "violin tundra copper meadow"),
                ("confirm", "violin tundra copper meadow"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(!token_works(&app, &token).await, "the old token is refused");
}

/// "Sign out everywhere else", pressed after a laptop was stolen, would leave the
/// scripts' tokens on it working.
#[tokio::test]
async fn signing_out_everywhere_else_revokes_your_api_tokens() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let here = browser(&app, "teacher", FIREFOX).await;
    let _stolen = browser(&app, "teacher", IPAD).await;
    let token = app.token_for("teacher").await;
    assert!(token_works(&app, &token).await);
    let page = account(&app, &here).await.text().await.unwrap();
    assert!(
        page.contains("also revokes your API tokens"),
        "the page says what the button does"
    );
    let r = app
        .submit(&here, "/account", "/account/sessions/end-others", &[])
        .await;
    assert_eq!(r.status(), 303);
    assert!(!token_works(&app, &token).await, "the old token is refused");
    let page = account(&app, &here).await.text().await.unwrap();
    assert!(page.contains("1 API token"), "the notice says so: {page}");
}

/// Someone who learned a manager's password, but not their phone, could make a
/// token on a session that never passed the second step, and read everything
/// through the API without it.
#[tokio::test]
async fn a_session_without_the_second_step_cannot_make_a_token() {
    let app = spawn_app().await;
    app.add_user("sbm", "manager").await;
    // The password alone, before two-step sign-in was set up.
    let half = app.client();
    assert_eq!(
        app.login_password(&half, "sbm", PASSWORD).await.status(),
        303
    );
    // Set up (by the harness's sign-in) in another browser.
    let full = app.client();
    assert_eq!(app.login(&full, "sbm", PASSWORD).await.status(), 303);

    let r = app
        .submit(&half, "/account", "/account/tokens", &[("name", "export")])
        .await;
    assert_eq!(r.status(), 403);
    let page = r.text().await.unwrap();
    assert!(!page.contains("kr_"), "no token is shown");
    assert!(page.contains("sign in again"), "it says what to do: {page}");
    let sbm = app
        .store()
        .account_by_username("sbm")
        .await
        .unwrap()
        .unwrap();
    assert!(app.store().list_tokens(sbm.id).await.unwrap().is_empty());

    // The session that typed a code can.
    let r = app
        .submit(&full, "/account", "/account/tokens", &[("name", "export")])
        .await;
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("kr_"));
}

/// A token made at the command line for a head with no authenticator app skips
/// two-step sign-in; nobody would be told, and nothing would show it later.
#[tokio::test]
async fn a_token_for_an_account_without_its_required_second_step_is_recorded() {
    let app = spawn_app().await;
    app.add_user("head", "head").await;
    let made = kitroom::cli::make_token(app.dir.path(), "head", "reports".into())
        .await
        .unwrap()
        .unwrap();
    let warning = made.warning.expect("a plain warning");
    assert!(
        warning.contains("requires two-step sign-in for head, who has not set it up"),
        "{warning}"
    );
    assert!(token_works(&app, &made.token).await, "the token works");
    let events = all_events(&app).await;
    assert_eq!(
        events_named(&events, "token.created_without_two_step"),
        1,
        "the activity log records it"
    );

    // A borrower, of whom the school asks no second step, gets no warning.
    app.add_user("teacher", "borrower").await;
    let made = kitroom::cli::make_token(app.dir.path(), "teacher", "reports".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(made.warning, None);
}

/// A token a script leaked years ago would still open the register.
#[tokio::test]
async fn an_expired_token_is_refused_and_told_why() {
    let app = spawn_app().await;
    app.add_user("teacher", "borrower").await;
    let token = app.token_for("teacher").await;
    assert!(token_works(&app, &token).await);
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(app.dir.path().join("kitroom.db"))
        .busy_timeout(std::time::Duration::from_secs(5));
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect_with(&options)
        .await
        .unwrap();
    sqlx::query("update api_token set expires_at = '2020-01-01T00:00:00.000000Z'")
        .execute(&mut conn)
        .await
        .unwrap();
    let r = reqwest::Client::new()
        .get(app.url("/api/v1/devices"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.headers()["content-type"], "application/problem+json");
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().contains("expired"),
        "{body}"
    );
}

/// A person could not tell which of their tokens a script still uses, so could not
/// safely revoke the rest.
#[tokio::test]
async fn the_account_page_shows_when_each_token_was_last_used() {
    let app = spawn_app().await;
    let c = app.signed_in("teacher", "borrower").await;
    let token = app.token_for("teacher").await;
    let page = account(&app, &c).await.text().await.unwrap();
    assert!(page.contains("Not used yet"), "{page}");
    assert!(page.contains("Expires"), "each token's expiry is shown");
    assert!(token_works(&app, &token).await);
    let page = account(&app, &c).await.text().await.unwrap();
    assert!(!page.contains("Not used yet"), "{page}");
    assert!(page.contains("Last used"));
    // Within the minute, further use writes nothing.
    let teacher = app
        .store()
        .account_by_username("teacher")
        .await
        .unwrap()
        .unwrap();
    let first = app.store().list_tokens(teacher.id).await.unwrap()[0]
        .last_used_at
        .clone();
    assert!(first.is_some());
    assert!(token_works(&app, &token).await);
    let second = app.store().list_tokens(teacher.id).await.unwrap()[0]
        .last_used_at
        .clone();
    assert_eq!(first, second);
}

/// A teacher could choose a keyboard row as their password and not be told why
/// it is refused.
#[tokio::test]
async fn a_keyboard_row_is_refused_as_a_new_password_and_the_page_says_why() {
    let app = spawn_app().await;
    let c = app.signed_in("teacher", "borrower").await;
    let r = app
        .submit(
            &c,
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "qwertyuiopas"),
                ("confirm", "qwertyuiopas"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let page = r.text().await.unwrap();
    assert!(
        page.contains("That password would be easy to guess"),
        "{page}"
    );
    assert!(page.contains("common password"), "it says why");
    assert_eq!(
        app.login(&app.client(), "teacher", "qwertyuiopas")
            .await
            .status(),
        401,
        "the old password still stands"
    );
}

/// A school could not shorten how long tokens work, or a mistyped lifetime would
/// be saved.
#[tokio::test]
async fn the_admin_sets_how_long_a_new_token_works() {
    let app = spawn_app().await;
    let admin = app.signed_in("it", "admin").await;
    let page = app.page(&admin, "/settings").await;
    assert!(page.contains("name=\"token_lifetime_days\" type=\"number\" value=\"90\""));
    let save = |days: &'static str| {
        let admin = admin.clone();
        let app = &app;
        async move {
            let mut fields: Vec<(String, String)> = kitroom_core::settings::Settings::default()
                .to_pairs()
                .into_iter()
                .filter(|(k, _)| k != "token_lifetime_days")
                .collect();
            fields.push(("token_lifetime_days".into(), days.into()));
            let fields: Vec<(&str, &str)> = fields
                .iter()
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            app.submit(&admin, "/settings", "/settings", &fields).await
        }
    };
    let r = save("forever").await;
    assert_eq!(r.status(), 422);
    assert!(r.text().await.unwrap().contains("from 1 to 365"));
    assert_eq!(save("7").await.status(), 303);
    app.add_user("teacher", "borrower").await;
    let made = kitroom::cli::make_token(app.dir.path(), "teacher", "script".into())
        .await
        .unwrap()
        .unwrap();
    let hours = (made.expires_at - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&hours), "{hours} hours: a week");
}
