//! Who may look after whose account: a manager looks after borrowers, only an IT
//! administrator looks after heads and admins, and every role change or reset is told
//! to the person and to the head and admins.

use kitroom_tests::{spawn_app, TestApp, PASSWORD};
use reqwest::Client;

const SENSITIVE_LAPTOP: &[(&str, &str)] = &[
    ("tag", "LAP-1"),
    ("kind", "laptop"),
    ("make", "Dell"),
    ("model", "Latitude"),
    ("location", "Computer room"),
    ("encryption_state", "encrypted"),
    ("encryption_method", "bitlocker"),
    ("encryption_verified_on", "2025-09-03"),
    ("holds_personal_data", "on"),
];

/// The manager asks to take a laptop that holds personal data off site.
async fn managers_own_offsite_request(app: &TestApp, sbm: &Client) {
    assert_eq!(
        app.register_device(sbm, SENSITIVE_LAPTOP).await.status(),
        303
    );
    let r = app
        .submit(
            sbm,
            "/devices/LAP-1",
            "/devices/LAP-1/offsite-request",
            &[("reason", "Payroll at home")],
        )
        .await;
    assert_eq!(r.status(), 303);
    // the manager cannot approve it as themselves
    assert_eq!(app.get(sbm, "/approvals").await.status(), 403);
}

/// Whether the manager's request is still waiting for the real head teacher.
async fn still_waiting_for_the_head(app: &TestApp) -> bool {
    app.store()
        .pending_offsite(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()
        .iter()
        .any(|o| o.reason == "Payroll at home")
}

/// A business manager could make a head teacher's account and, signed in as it,
/// approve their own request to take personal data off site.
#[tokio::test]
async fn a_manager_cannot_make_a_head_account_to_approve_their_own_request() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_user("hd", "head").await;
    managers_own_offsite_request(&app, &sbm).await;

    // the form does not offer the head's role to a manager
    let form = app.page(&sbm, "/people/new").await;
    assert!(!form.contains("value=\"head\""), "{form}");
    // and a crafted post is refused, writing nothing
    let r = app
        .submit(
            &sbm,
            "/people/new",
            "/people",
            &[
                ("username", "fakehead"),
                ("full_name", "Fake Head"),
                ("role", "head"),
                ("password", "another long password"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Only an IT administrator can create or change a head teacher"));
    assert!(app
        .store()
        .account_by_username("fakehead")
        .await
        .unwrap()
        .is_none());
    // nor can a borrower be raised to head
    app.add_user("friend", "borrower").await;
    let r = app
        .submit(
            &sbm,
            "/people/friend/edit",
            "/people/friend/edit",
            &[
                ("username", "friend"),
                ("full_name", "Friend Test"),
                ("role", "head"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    let friend = app
        .store()
        .account_by_username("friend")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(friend.role.as_str(), "borrower");

    // Had the account been made, its first sign-in would approve the request.
    if app
        .store()
        .account_by_username("fakehead")
        .await
        .unwrap()
        .is_some()
    {
        let fake = app.client();
        app.login(&fake, "fakehead", "another long password").await;
        let page = app.page(&fake, "/approvals").await;
        if let Some(id) = page.split("action=\"/approvals/").nth(1) {
            app.submit(
                &fake,
                "/approvals",
                &format!("/approvals/{}", &id[..36]),
                &[("decision", "approve"), ("note", "")],
            )
            .await;
        }
    }
    assert!(still_waiting_for_the_head(&app).await);
}

/// A business manager could reset the real head teacher's password and two-step
/// sign-in, sign in as the head, and approve their own request.
#[tokio::test]
async fn a_manager_cannot_take_over_the_head_teachers_account() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    // the head has signed in and set up two-step sign-in
    app.signed_in("hd", "head").await;
    app.add_user("it", "admin").await;
    managers_own_offsite_request(&app, &sbm).await;

    let new_password = "the manager's own choice";
    let page = app.page(&sbm, "/people/hd").await;
    assert!(
        !page.contains("/people/hd/password") && !page.contains("/people/hd/two-factor/reset"),
        "the head's page offers a manager no resets"
    );
    for (path, fields) in [
        ("/people/hd/password", vec![("password", new_password)]),
        ("/people/hd/two-factor/reset", vec![]),
        (
            "/people/hd/edit",
            vec![
                ("username", "hd"),
                ("full_name", "Hd Test"),
                ("email", "me@sbm.example"),
                ("role", "head"),
            ],
        ),
        ("/people/hd/active", vec![("active", "false")]),
        ("/people/it/password", vec![("password", new_password)]),
        ("/people/it/two-factor/reset", vec![]),
    ] {
        let r = app.submit(&sbm, "/people", path, &fields).await;
        assert_eq!(r.status(), 403, "{path}");
    }
    // the head still signs in with their own password and authenticator, and the
    // manager's password does not work
    let hd = app.client();
    assert_eq!(app.login(&hd, "hd", PASSWORD).await.status(), 303);
    assert_eq!(app.get(&hd, "/approvals").await.status(), 200);
    let stranger = app.client();
    assert_eq!(
        app.login_password(&stranger, "hd", new_password)
            .await
            .status(),
        401
    );
    assert!(still_waiting_for_the_head(&app).await);
    // and nobody was told of a reset, because there was none
    let head = app
        .store()
        .account_by_username("hd")
        .await
        .unwrap()
        .unwrap();
    assert!(!app
        .store()
        .notifications(head.id, 50)
        .await
        .unwrap()
        .iter()
        .any(|n| n.body.contains("reset")));
}

/// The IT administrator could no longer look after the head's account, or the
/// manager their borrowers'.
#[tokio::test]
async fn an_admin_looks_after_the_head_and_a_manager_after_borrowers() {
    let app = spawn_app().await;
    let it = app.signed_in("it", "admin").await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.signed_in("hd", "head").await;
    app.add_user("jo", "borrower").await;
    let r = app
        .submit(
            &it,
            "/people/hd",
            "/people/hd/password",
            &[("password", "a brand new head password")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(&it, "/people/hd", "/people/hd/two-factor/reset", &[])
        .await;
    assert_eq!(r.status(), 303);
    let r = app
        .submit(
            &it,
            "/people/new",
            "/people",
            &[
                ("username", "deputy"),
                ("full_name", "Deputy Head"),
                ("role", "head"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    // the head hears of a new head teacher's account
    let head = app
        .store()
        .account_by_username("hd")
        .await
        .unwrap()
        .unwrap();
    assert!(app
        .store()
        .notifications(head.id, 50)
        .await
        .unwrap()
        .iter()
        .any(|n| n
            .body
            .contains("made an account for Deputy Head (deputy) with the role Head teacher")));
    for path in ["/people/jo/password"] {
        let r = app
            .submit(
                &sbm,
                "/people/jo",
                path,
                &[("password", "brand new secret words")],
            )
            .await;
        assert_eq!(r.status(), 303, "{path}");
    }
    let r = app
        .submit(
            &sbm,
            "/people/jo",
            "/people/jo/active",
            &[("active", "false")],
        )
        .await;
    assert_eq!(r.status(), 303);
}

/// A manager could take over another manager's account though the school had not
/// allowed it, or could not once an admin had.
#[tokio::test]
async fn managers_look_after_other_managers_only_when_an_admin_allows_it() {
    let app = spawn_app().await;
    let it = app.signed_in("it", "admin").await;
    let sbm = app.signed_in("sbm", "manager").await;
    app.add_user("sbm2", "manager").await;
    app.add_user("jo", "borrower").await;
    let reset = || {
        app.submit(
            &sbm,
            "/people/jo",
            "/people/sbm2/password",
            &[("password", "quite another secret")],
        )
    };
    assert_eq!(reset().await.status(), 403);
    let promote = || {
        app.submit(
            &sbm,
            "/people/jo/edit",
            "/people/jo/edit",
            &[
                ("username", "jo"),
                ("full_name", "Jo Test"),
                ("role", "manager"),
            ],
        )
    };
    assert_eq!(promote().await.status(), 422);

    // the setting is the admin's alone
    let settings = app.get(&sbm, "/settings").await;
    assert_eq!(settings.status(), 403);
    let page = app.page(&it, "/settings").await;
    assert!(page.contains("name=\"managers_manage_managers\""));
    // every field as it is, and the box ticked (a ticked box is sent, an unticked
    // one is not)
    let mut fields: Vec<(String, String)> = kitroom_core::settings::Settings::default()
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| k != "managers_manage_managers")
        .collect();
    fields.push(("managers_manage_managers".into(), "on".into()));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = app.submit(&it, "/settings", "/settings", &borrowed).await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());

    assert_eq!(reset().await.status(), 303);
    let r = promote().await;
    assert_eq!(r.status(), 303, "{}", r.text().await.unwrap());
    // still never the head
    app.add_user("hd", "head").await;
    let r = app
        .submit(
            &sbm,
            "/people/hd",
            "/people/hd/password",
            &[("password", "the head's new password")],
        )
        .await;
    assert_eq!(r.status(), 403);
}

/// A manager could import a head teacher's account from a spreadsheet.
#[tokio::test]
async fn a_manager_cannot_import_a_head_teacher() {
    let app = spawn_app().await;
    let sbm = app.signed_in("sbm", "manager").await;
    let csv = "username,full_name,role\nnewhead,New Head,head\n";
    let r = app
        .submit(&sbm, "/import", "/import/people/preview", &[("csv", csv)])
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Only an IT administrator can create or change a head teacher"));
    let r = app
        .submit(&sbm, "/import", "/import/people/confirm", &[("csv", csv)])
        .await;
    assert_eq!(r.status(), 422);
    assert!(app
        .store()
        .account_by_username("newhead")
        .await
        .unwrap()
        .is_none());
}

/// A role change or a reset of someone's sign-in could happen without the person or
/// the head teacher hearing of it.
#[tokio::test]
async fn role_changes_and_resets_are_told_to_the_person_and_to_the_head_and_admins() {
    let app = spawn_app().await;
    app.add_user_with_email("hd", "head", "head@school.example")
        .await;
    app.add_user_with_email("it2", "admin", "it2@school.example")
        .await;
    app.add_user_with_email("jo", "borrower", "jo@school.example")
        .await;
    let it = app.signed_in("it", "admin").await;
    let store = app.store();
    let id = |name: &'static str| async move {
        store.account_by_username(name).await.unwrap().unwrap().id
    };
    let told = |who, words: &'static str| async move {
        store
            .notifications(who, 50)
            .await
            .unwrap()
            .iter()
            .any(|n| n.body.contains(words))
    };
    let mailed = |to: &'static str, words: &'static str| async move {
        store
            .due_emails(chrono::Utc::now() + chrono::Duration::hours(1), 500)
            .await
            .unwrap()
            .iter()
            .any(|e| e.to_address == to && e.body.contains(words))
    };

    let r = app
        .submit(
            &it,
            "/people/jo/edit",
            "/people/jo/edit",
            &[
                ("username", "jo"),
                ("full_name", "Jo Test"),
                ("email", "jo@school.example"),
                ("role", "manager"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    let (hd, it2, jo, me) = (
        id("hd").await,
        id("it2").await,
        id("jo").await,
        id("it").await,
    );
    let words = "changed Jo Test (jo)'s role from Borrower to Business manager";
    assert!(told(hd, words).await && told(it2, words).await);
    assert!(mailed("head@school.example", words).await);
    assert!(mailed("it2@school.example", words).await);
    assert!(
        told(
            jo,
            "changed your role in Kitroom from Borrower to Business manager"
        )
        .await
    );
    assert!(mailed("jo@school.example", "changed your role").await);
    assert!(!told(me, words).await, "not the admin who did it");

    let r = app
        .submit(
            &it,
            "/people/jo",
            "/people/jo/password",
            &[("password", "a fresh set of words")],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert!(told(hd, "reset Jo Test (jo)'s password").await);
    assert!(told(jo, "reset your Kitroom password").await);
    assert!(mailed("jo@school.example", "reset your Kitroom password").await);

    // the head's own two-step sign-in, reset by an admin: the head hears of it
    let hd_client = app.client();
    app.login(&hd_client, "hd", PASSWORD).await;
    let r = app
        .submit(&it, "/people/hd", "/people/hd/two-factor/reset", &[])
        .await;
    assert_eq!(r.status(), 303);
    assert!(told(hd, "reset your two-step sign-in").await);
    assert!(mailed("head@school.example", "reset your two-step sign-in").await);
    assert!(told(it2, "reset Hd Test (hd)'s two-step sign-in").await);
    // in the app too: the head's notifications page
    let hd_client = app.client();
    app.login(&hd_client, "hd", PASSWORD).await;
    let page = app.page(&hd_client, "/notifications").await;
    assert!(page.contains("reset your two-step sign-in"), "{page}");
}
