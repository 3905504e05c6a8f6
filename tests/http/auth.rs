//! Signing in and out, the setup link, sessions, CSRF and throttling.

use kitroom_tests::{spawn_app, PASSWORD};

/// A newcomer who starts Kitroom could not create the first admin account.
#[tokio::test]
async fn the_setup_link_creates_the_first_admin_once() {
    let app = spawn_app().await;
    let token = app
        .setup_token
        .clone()
        .expect("a fresh data directory prints a setup link");
    let c = app.client();
    let page = app.get(&c, &format!("/setup?token={token}")).await;
    assert_eq!(page.status(), 200);
    let form_token = kitroom_tests::csrf_in(&page.text().await.unwrap()).unwrap();
    let r = c
        .post(app.url("/setup"))
        .form(&[
            ("csrf", form_token.as_str()),
            ("token", token.as_str()),
            ("full_name", "Alex Morgan"),
            ("username", "alex"),
            ("password", PASSWORD),
            ("confirm", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    // An admin must use two-step sign-in (the default setting): set it up first.
    let devices = app.get(&c, "/devices").await;
    assert_eq!(devices.status(), 303);
    assert_eq!(kitroom_tests::location(&devices), "/account/two-factor");
    app.set_up_two_factor(&c, "alex").await;
    let devices = app.get(&c, "/devices").await;
    assert_eq!(devices.status(), 200, "the new admin is signed in");
    assert!(devices.text().await.unwrap().contains("Alex Morgan"));
    // the link cannot be used again
    let again = app
        .client()
        .get(app.url(&format!("/setup?token={token}")))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 303);
}

/// Anyone could reach the register without signing in.
#[tokio::test]
async fn every_page_but_sign_in_needs_a_session() {
    let app = spawn_app().await;
    app.add_user("sbm", "manager").await;
    let c = app.client();
    for path in [
        "/",
        "/devices",
        "/devices/new",
        "/locations",
        "/people",
        "/account",
        "/log",
        "/d/LAP-1",
        "/devices/LAP-1",
    ] {
        let r = app.get(&c, path).await;
        assert_eq!(r.status(), 303, "{path} redirects to sign-in");
        assert!(
            r.headers()["location"]
                .to_str()
                .unwrap()
                .starts_with("/login"),
            "{path}"
        );
    }
    let login = app.get(&c, "/login").await;
    assert_eq!(login.status(), 200);
}

/// A wrong password would let someone in, or give a confusing message.
#[tokio::test]
async fn a_wrong_password_is_refused_in_plain_words() {
    let app = spawn_app().await;
    app.add_user("sbm", "manager").await;
    let c = app.client();
    let r = app.login(&c, "sbm", "not the password").await;
    assert_eq!(r.status(), 401);
    let body = r.text().await.unwrap();
    assert!(body.contains("The username or password is not right"));
    assert!(
        body.contains("value=\"sbm\""),
        "the username is kept on the form"
    );
    assert_eq!(app.get(&c, "/devices").await.status(), 303);
    // an unknown username gets the same answer
    let r = app.login(&c, "nobody", "not the password").await;
    assert_eq!(r.status(), 401);
}

/// A password guesser could try thousands of passwords against one account.
#[tokio::test]
async fn sign_in_from_one_address_waits_after_five_failures_even_for_the_right_password() {
    let app = spawn_app().await;
    app.add_user("sbm", "manager").await;
    let c = app.client();
    for _ in 0..5 {
        assert_eq!(
            app.login(&c, "sbm", "guess-guess-guess").await.status(),
            401
        );
    }
    let r = app.login(&c, "sbm", PASSWORD).await;
    assert_eq!(r.status(), 429);
    assert!(r.text().await.unwrap().contains("Too many failed sign-ins"));
    // every failure is in the activity log, and the refusals as one entry for the
    // wait, written when it ends
    app.state()
        .write_sign_in_refusals(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    let events = app
        .store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 100,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "person.sign_in_failed")
            .count(),
        5
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e.action == "person.sign_in_throttled")
            .count(),
        1
    );
    // another account from the same address is still allowed
    app.add_user("head", "head").await;
    assert_eq!(
        app.login(&app.client(), "head", PASSWORD).await.status(),
        303
    );
}

/// Session fixation: an id planted before sign-in would still work after it.
#[tokio::test]
async fn signing_in_gives_a_fresh_session_id_with_safe_cookie_flags() {
    let app = spawn_app().await;
    app.add_user("sbm", "manager").await;
    let c = app.client();
    let first = app.get(&c, "/login").await;
    let before = first.headers()["set-cookie"].to_str().unwrap().to_owned();
    let token = kitroom_tests::csrf_in(&first.text().await.unwrap()).unwrap();
    let r = c
        .post(app.url("/login"))
        .form(&[
            ("csrf", token.as_str()),
            ("username", "sbm"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let after = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    let id = |c: &str| c.split(';').next().unwrap().to_owned();
    assert_ne!(id(&before), id(&after));
    assert!(after.contains("HttpOnly"));
    assert!(after.contains("SameSite=Lax"));
    assert!(
        !after.contains("Secure"),
        "plain HTTP on loopback: not Secure unless configured"
    );
}

/// A form posted from another site, or replayed without its token, would change data.
#[tokio::test]
async fn a_form_without_the_right_csrf_token_is_refused() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let fields = [
        ("tag", "LAP-1"),
        ("kind", "laptop"),
        ("location", "Computer room"),
    ];
    let r = c
        .post(app.url("/devices"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("The form has expired"));
    let mut wrong = fields.to_vec();
    wrong.push(("csrf", "0000"));
    let r = c
        .post(app.url("/devices"))
        .form(&wrong)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    // with the right token but from another site's page
    let token = app.csrf(&c, "/devices/new").await;
    let mut right = fields.to_vec();
    right.push(("csrf", &token));
    let r = c
        .post(app.url("/devices"))
        .header("origin", "http://evil.invalid")
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(
        app.store()
            .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-1")
            .await
            .unwrap()
            .is_none(),
        "nothing was written"
    );
}

/// Someone who left the school could keep using Kitroom on a browser still signed in.
#[tokio::test]
async fn a_deactivated_account_is_signed_out_at_once_and_cannot_sign_in() {
    let app = spawn_app().await;
    let manager = app.signed_in("sbm", "manager").await;
    let teacher = app.signed_in("teacher", "borrower").await;
    let token = kitroom::cli::new_token(app.dir.path(), "teacher", "script".into())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(app.get(&teacher, "/devices").await.status(), 200);
    let r = app
        .submit(
            &manager,
            "/people/teacher",
            "/people/teacher/active",
            &[("active", "false")],
        )
        .await;
    assert_eq!(r.status(), 303);
    let r = app.get(&teacher, "/devices").await;
    assert_eq!(r.status(), 303, "their open session has ended");
    let r = app.login(&app.client(), "teacher", PASSWORD).await;
    assert_eq!(r.status(), 403);
    assert!(r.text().await.unwrap().contains("deactivated"));
    // and their API tokens stop working too
    let r = app
        .client()
        .get(app.url("/api/v1/devices"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
}

/// Signing out would leave the session usable.
#[tokio::test]
async fn signing_out_ends_the_session() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let r = app.submit(&c, "/devices", "/logout", &[]).await;
    assert_eq!(r.status(), 303);
    assert_eq!(r.headers()["location"], "/login?signed_out=1");
    assert_eq!(app.get(&c, "/devices").await.status(), 303);
}

/// A person could not change a password someone else might know.
#[tokio::test]
async fn a_person_changes_their_own_password() {
    let app = spawn_app().await;
    let c = app.signed_in("teacher", "borrower").await;
    let r = app
        .submit(
            &c,
            "/account",
            "/account/password",
            &[
                ("current", "wrong"),
                ("password", "new password here"),
                ("confirm", "new password here"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Your current password is not right"));
    let r = app
        .submit(
            &c,
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "new password here"),
                ("confirm", "new password here"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    assert_eq!(
        app.get(&c, "/account").await.status(),
        200,
        "still signed in here"
    );
    assert_eq!(
        app.login(&app.client(), "teacher", PASSWORD).await.status(),
        401
    );
    assert_eq!(
        app.login(&app.client(), "teacher", "new password here")
            .await
            .status(),
        303
    );
}

/// A person could pick a password that attackers try first, or one too short to
/// resist guessing.
#[tokio::test]
async fn short_long_and_common_passwords_are_refused_and_the_form_says_why() {
    let app = spawn_app().await;
    let c = app.signed_in("teacher", "borrower").await;
    let too_long = "x".repeat(60) + &"y".repeat(69);
    for (password, says) in [
        ("eleven char", "at least 12 characters"),
        ("qwerty123456", "list of common passwords"),
        ("Q1W2E3R4T5Y6", "list of common passwords"),
        (too_long.as_str(), "128 characters or fewer"),
    ] {
        let r = app
            .submit(
                &c,
                "/account",
                "/account/password",
                &[
                    ("current", PASSWORD),
                    ("password", password),
                    ("confirm", password),
                ],
            )
            .await;
        assert_eq!(r.status(), 422, "{password}");
        assert!(r.text().await.unwrap().contains(says), "{password}: {says}");
    }
    // Twelve characters, no digits or symbols needed.
    let r = app
        .submit(
            &c,
            "/account",
            "/account/password",
            &[
                ("current", PASSWORD),
                ("password", "twelve chars"),
                ("confirm", "twelve chars"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
}

/// Pages could be framed, sniffed or cached by a shared computer's browser.
#[tokio::test]
async fn pages_carry_security_headers() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let r = app.get(&c, "/devices").await;
    let h = r.headers();
    assert!(h["content-security-policy"]
        .to_str()
        .unwrap()
        .contains("frame-ancestors 'none'"));
    assert_eq!(h["x-content-type-options"], "nosniff");
    assert_eq!(h["x-frame-options"], "DENY");
    assert_eq!(h["cache-control"], "no-store");
}

/// An admin who forgot their password would be locked out for good.
#[tokio::test]
async fn the_command_line_sets_a_new_password_and_ends_sessions() {
    let app = spawn_app().await;
    let c = app.signed_in("it", "admin").await;
    let mut input = std::io::Cursor::new("a brand new password\n");
    let code = kitroom::cli::user_password(app.dir.path(), "it", Some(&mut input))
        .await
        .unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    assert_eq!(app.get(&c, "/devices").await.status(), 303, "signed out");
    assert_eq!(app.login(&app.client(), "it", PASSWORD).await.status(), 401);
    assert_eq!(
        app.login(&app.client(), "it", "a brand new password")
            .await
            .status(),
        303
    );
    let mut short = std::io::Cursor::new("short\n");
    assert!(
        kitroom::cli::user_password(app.dir.path(), "it", Some(&mut short))
            .await
            .is_err(),
        "a weak password is refused"
    );
}

/// A session left open on a shared computer would stay usable for days.
#[tokio::test]
async fn a_session_ends_after_its_lifetime_however_active() {
    let config = kitroom_web::Config {
        session_lifetime: std::time::Duration::from_secs(5),
        ..Default::default()
    };
    let app = kitroom_tests::spawn_app_with(config).await;
    let c = app.signed_in("sbm", "manager").await;
    assert_eq!(app.get(&c, "/devices").await.status(), 200);
    tokio::time::sleep(std::time::Duration::from_millis(6100)).await;
    let r = app.get(&c, "/devices").await;
    assert_eq!(r.status(), 303, "signed out");
}

/// Over HTTPS the session cookie could be sent in clear, or set by another subdomain.
#[tokio::test]
async fn behind_https_the_cookie_is_secure_and_host_only() {
    let config = kitroom_web::Config {
        secure_cookies: true,
        ..Default::default()
    };
    let app = kitroom_tests::spawn_app_with(config).await;
    app.add_user("sbm", "manager").await;
    let r = reqwest::get(app.url("/login")).await.unwrap();
    let cookie = r.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("__Host-kitroom_session="), "{cookie}");
    assert!(cookie.contains("Secure") && cookie.contains("HttpOnly") && cookie.contains("Path=/"));
    assert!(r.headers()["strict-transport-security"]
        .to_str()
        .unwrap()
        .contains("max-age="));
}

/// A browser on another site could post a form with the person's session.
#[tokio::test]
async fn a_cross_site_post_is_refused_by_fetch_metadata() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let token = app.csrf(&c, "/locations").await;
    let r = c
        .post(app.url("/locations"))
        .header("sec-fetch-site", "cross-site")
        .form(&[("csrf", token.as_str()), ("name", "Hall")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
    assert!(app
        .store()
        .list_locations(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()
        .is_empty());
}
