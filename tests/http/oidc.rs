//! Signing in with the school's account (OpenID Connect) against a real provider:
//! panva's oidc-provider on loopback (tests/oidc/provider.mjs). Its test accounts:
//! `ada` (ada@school.example, verified), `grace` (verified, used a second factor),
//! `unverified`, `foreign` (another domain) and `stranger` (unknown to Kitroom).

use kitroom_tests::oidc::{oidc_config, spawn_app_with_oidc};
use kitroom_tests::{location, spawn_app_with, TestApp, PASSWORD};
use reqwest::Client;
use serde_json::json;

/// The answer's status, its redirect and the page.
async fn answer(r: reqwest::Response) -> (u16, String, String) {
    let status = r.status().as_u16();
    let to = location(&r);
    (status, to, r.text().await.unwrap_or_default())
}

/// Who `c` is signed in as (their account page), or `None`.
async fn signed_in_as(app: &TestApp, c: &Client) -> Option<String> {
    let r = app.get(c, "/account").await;
    if r.status() != 200 {
        return None;
    }
    let body = r.text().await.unwrap_or_default();
    Some(body)
}

async fn events(app: &TestApp, action: &str) -> Vec<kitroom_store::events::Event> {
    app.store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 500,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == action)
        .collect()
}

async fn settings(app: &TestApp, change: impl FnOnce(&mut kitroom_core::settings::Settings)) {
    let mut s = app
        .store()
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    change(&mut s);
    app.store()
        .save_settings(
            kitroom_store::Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            s,
        )
        .await
        .unwrap();
}

/// A member of staff whose email Kitroom knows could not sign in with the school's
/// account, or would land as someone else; after their email changes at the school
/// they would be locked out.
#[tokio::test]
async fn a_member_of_staff_signs_in_with_the_school_account_and_stays_linked() {
    let Some((app, provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.add_user_with_email("ada", "borrower", "Ada@School.example")
        .await;
    let page = app.page(&app.client(), "/login").await;
    assert!(page.contains("Sign in with 127.0.0.1"), "{page}");

    let c = app.client();
    let (status, to, _) = answer(provider.sign_in(&app, &c, "ada").await).await;
    assert_eq!((status, to.as_str()), (303, "/"));
    let account = signed_in_as(&app, &c).await.expect("signed in");
    assert!(account.contains("Ada Test"), "{account}");
    assert_eq!(events(&app, "person.provider_linked").await.len(), 1);
    let signed_in = events(&app, "person.signed_in").await;
    assert_eq!(signed_in.len(), 1);
    assert_eq!(signed_in[0].details_json()["through"], "provider");
    assert_eq!(signed_in[0].subject_label, "ada");

    // Her address changed at the school: her subject still finds her.
    provider
        .change_account("ada", json!({"email": "ada.lovelace@school.example"}))
        .await;
    let c = app.client();
    let (status, _, _) = answer(provider.sign_in(&app, &c, "ada").await).await;
    assert_eq!(status, 303);
    assert!(signed_in_as(&app, &c)
        .await
        .expect("signed in")
        .contains("Ada Test"));
}

/// A forged or misdirected ID token (for another client, from another issuer,
/// expired, or for another sign-in) would let someone in as a member of staff.
#[tokio::test]
async fn forged_tokens_are_refused() {
    let Some((app, provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.add_user_with_email("ada", "borrower", "ada@school.example")
        .await;
    let now = chrono::Utc::now().timestamp();
    for (what, claims) in [
        ("another audience", json!({"aud": "someone-else"})),
        ("another issuer", json!({"iss": "http://127.0.0.1:1"})),
        ("expired", json!({"exp": now - 600, "iat": now - 4200})),
        ("another nonce", json!({"nonce": "not-this-sign-in"})),
    ] {
        let c = app.client();
        provider.forge_next(claims).await;
        let (status, _, page) = answer(provider.sign_in(&app, &c, "ada").await).await;
        assert_eq!(status, 403, "{what}: {page}");
        assert!(
            page.contains("could not confirm this sign-in"),
            "{what}: {page}"
        );
        assert!(signed_in_as(&app, &c).await.is_none(), "{what}");
    }
    // Unchanged, the same sign-in works: the refusals were the changes.
    let c = app.client();
    let (status, _, _) = answer(provider.sign_in(&app, &c, "ada").await).await;
    assert_eq!(status, 303);
    app.state()
        .write_sign_in_refusals(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    let refused = events(&app, "person.provider_sign_in_refused").await;
    assert_eq!(refused.len(), 1, "gathered into one entry");
    assert_eq!(refused[0].details_json()["attempts"], 4);
}

/// A callback address seen by someone else (in a browser's history, a log) would
/// let them sign in as that person.
#[tokio::test]
async fn a_code_works_once() {
    let Some((app, provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.add_user_with_email("ada", "borrower", "ada@school.example")
        .await;
    let c = app.client();
    let back = provider.callback_for(&app, &c, "ada").await;
    let (status, _, _) = answer(c.get(&back).send().await.unwrap()).await;
    assert_eq!(status, 303);
    // The same address again, in the same browser: the attempt is finished.
    let (status, _, page) = answer(c.get(&back).send().await.unwrap()).await;
    assert_eq!(status, 400, "{page}");
    assert!(page.contains("Start again"), "{page}");
    // Someone else's browser with an attempt of its own, and the used code.
    let other = app.client();
    let r = app.get(&other, "/sign-in/oidc").await;
    let state = reqwest::Url::parse(&location(&r))
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "state")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let code = reqwest::Url::parse(&back)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .unwrap();
    let replay = reqwest::Url::parse_with_params(
        &app.url("/sign-in/oidc/callback"),
        &[("code", code), ("state", state)],
    )
    .unwrap();
    let (status, _, page) = answer(other.get(replay).send().await.unwrap()).await;
    assert_eq!(status, 403, "{page}");
    assert!(signed_in_as(&app, &other).await.is_none());
}

/// Someone with an unverified address, an address of another domain, or whom
/// Kitroom does not know would get in, or be told nothing useful.
#[tokio::test]
async fn unverified_foreign_and_unknown_people_are_refused() {
    let Some((app, provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.add_user_with_email("ada", "borrower", "ada@school.example")
        .await;
    for (login, status, says) in [
        ("unverified", 403, "has not confirmed that email address"),
        ("foreign", 403, "not one of the school's"),
        ("stranger", 403, "Ask the business manager to add you"),
    ] {
        let c = app.client();
        let (got, _, page) = answer(provider.sign_in(&app, &c, login).await).await;
        assert_eq!(got, status, "{login}: {page}");
        assert!(page.contains(says), "{login}: {page}");
        assert!(signed_in_as(&app, &c).await.is_none(), "{login}");
    }
    app.state()
        .write_sign_in_refusals(chrono::Utc::now() + chrono::Duration::hours(2))
        .await
        .unwrap();
    for action in [
        "person.provider_sign_in_unverified",
        "person.provider_sign_in_foreign",
        "person.provider_sign_in_unknown",
    ] {
        assert_eq!(events(&app, action).await.len(), 1, "{action}");
    }
    // With the school's say-so, the stranger gets a borrower's account.
    settings(&app, |s| s.provider_creates_borrowers = true).await;
    let c = app.client();
    let (status, _, _) = answer(provider.sign_in(&app, &c, "stranger").await).await;
    assert_eq!(status, 303);
    let made = app
        .store()
        .account_by_username("new.teacher")
        .await
        .unwrap()
        .expect("a borrower's account");
    assert_eq!(made.full_name, "New Teacher");
    assert_eq!(made.role, kitroom_core::person::Role::Borrower);
}

/// A deactivated member of staff could still sign in through the school's account.
#[tokio::test]
async fn a_deactivated_person_is_refused() {
    let Some((app, provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.add_user_with_email("ada", "borrower", "ada@school.example")
        .await;
    let ada = app
        .store()
        .account_by_username("ada")
        .await
        .unwrap()
        .unwrap();
    app.store()
        .set_active(kitroom_store::Actor::system(), ada.id, false)
        .await
        .unwrap();
    let c = app.client();
    let (status, _, page) = answer(provider.sign_in(&app, &c, "ada").await).await;
    assert_eq!(status, 403, "{page}");
    assert!(page.contains("deactivated"), "{page}");
}

/// A manager signing in with the school's account would skip two-step sign-in when
/// the provider did not use a second factor, or be asked for Kitroom's code when it
/// did.
#[tokio::test]
async fn the_providers_second_factor_meets_two_step_sign_in() {
    let Some((app, provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.add_user_with_email("grace", "manager", "grace@school.example")
        .await;
    app.add_user_with_email("ada", "manager", "ada@school.example")
        .await;
    // Grace used a second factor at the provider: straight in.
    let c = app.client();
    let (status, to, _) = answer(provider.sign_in(&app, &c, "grace").await).await;
    assert_eq!((status, to.as_str()), (303, "/"));
    let r = app.get(&c, "/loans").await;
    assert_eq!(r.status(), 200, "{}", location(&r));
    // Ada did not: she must set up Kitroom's own second step first.
    let c = app.client();
    let (status, _, _) = answer(provider.sign_in(&app, &c, "ada").await).await;
    assert_eq!(status, 303);
    let r = app.get(&c, "/loans").await;
    assert_eq!(location(&r), "/account/two-factor");
    // Once set up, the provider's sign-in is followed by Kitroom's code.
    app.set_up_two_factor(&c, "ada").await;
    let c = app.client();
    let (status, to, _) = answer(provider.sign_in(&app, &c, "ada").await).await;
    assert_eq!((status, to.as_str()), (303, "/login/code"));
    // Where the school says the provider's sign-in counts, it does.
    settings(&app, |s| s.provider_counts_as_two_step = true).await;
    let c = app.client();
    let (status, to, _) = answer(provider.sign_in(&app, &c, "ada").await).await;
    assert_eq!((status, to.as_str()), (303, "/"));
    assert_eq!(app.get(&c, "/loans").await.status(), 200);
}

/// With password sign-in turned off, a manager could still use a password (or an
/// IT administrator could no longer get in when the provider is down).
#[tokio::test]
async fn password_sign_in_can_be_kept_for_it_administrators_alone() {
    let Some((app, _provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.do_not_require_two_factor().await;
    app.add_user("manager", "manager").await;
    app.add_user("admin", "admin").await;
    settings(&app, |s| {
        s.password_sign_in_admins_only = true;
        s.provider_name = "the school's account".into();
    })
    .await;
    let page = app.page(&app.client(), "/login").await;
    assert!(page.contains("for IT administrators only"), "{page}");
    let (status, _, page) =
        answer(app.login_password(&app.client(), "manager", PASSWORD).await).await;
    assert_eq!(status, 403, "{page}");
    assert!(
        page.contains("Sign in with the school's account instead"),
        "{page}"
    );
    let (status, _, _) = answer(app.login_password(&app.client(), "admin", PASSWORD).await).await;
    assert_eq!(status, 303);
}

/// A provider that cannot be reached at start would stop Kitroom, or lock everyone
/// out, rather than leave password sign-in working.
#[tokio::test]
async fn an_unreachable_provider_leaves_password_sign_in_working() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let app = spawn_app_with(kitroom_web::Config {
        public_url: Some(kitroom_core::link::PublicUrl::parse("http://127.0.0.1:9").unwrap()),
        oidc: Some(oidc_config(&closed)),
        ..Default::default()
    })
    .await;
    app.do_not_require_two_factor().await;
    app.add_user("teacher", "borrower").await;
    let c = app.client();
    let (status, _, page) = answer(app.get(&c, "/sign-in/oidc").await).await;
    assert_eq!(status, 503, "{page}");
    assert!(page.contains("not available just now"), "{page}");
    let (status, _, _) = answer(app.login_password(&c, "teacher", PASSWORD).await).await;
    assert_eq!(status, 303);
}

/// Kitroom would take the provider's callback address from the request (which
/// anyone can write) when no public address is set.
#[tokio::test]
async fn the_provider_needs_the_public_address() {
    let dir = tempfile::tempdir().unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = kitroom_web::Config {
        oidc: Some(oidc_config("http://127.0.0.1:1")),
        ..Default::default()
    };
    let err = kitroom::server::start(dir.path(), listener, config)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("--public-url"), "{err}");
    // An issuer over plain http elsewhere than this machine is refused too.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let config = kitroom_web::Config {
        public_url: Some(
            kitroom_core::link::PublicUrl::parse("https://kitroom.school.example").unwrap(),
        ),
        oidc: Some(oidc_config("http://accounts.example")),
        ..Default::default()
    };
    let err = kitroom::server::start(dir.path(), listener, config)
        .await
        .err()
        .expect("refused");
    assert!(err.to_string().contains("https://"), "{err}");
}

/// The IT administrator could not turn the provider's settings on (or would save a
/// provider name too long for the button) through the API.
#[tokio::test]
async fn the_provider_settings_are_kept_and_checked() {
    let app = kitroom_tests::spawn_app().await;
    let token = app.api_token("it", "admin").await;
    let r = app
        .api_patch(
            &token,
            "/api/v1/settings",
            &json!({
                "password_sign_in_admins_only": true,
                "provider_creates_borrowers": true,
                "provider_counts_as_two_step": true,
                "provider_name": "the school's account",
            }),
        )
        .await;
    assert_eq!(r.status(), 200);
    let (status, body) = app.api_get_json(&token, "/api/v1/settings").await;
    assert_eq!(status, 200);
    assert_eq!(body["password_sign_in_admins_only"], true);
    assert_eq!(body["provider_creates_borrowers"], true);
    assert_eq!(body["provider_counts_as_two_step"], true);
    assert_eq!(body["provider_name"], "the school's account");
    let r = app
        .api_patch(
            &token,
            "/api/v1/settings",
            &json!({"provider_name": "x".repeat(61)}),
        )
        .await;
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert!(body.to_string().contains("at most 60 characters"), "{body}");
}

/// Someone who left and was anonymised could still be found, and signed in, by
/// their school account's subject.
#[tokio::test]
async fn an_anonymised_leaver_is_no_longer_linked_to_the_school_account() {
    let Some((app, provider)) = spawn_app_with_oidc().await else {
        return;
    };
    app.add_user_with_email("ada", "borrower", "ada@school.example")
        .await;
    let (status, _, _) = answer(provider.sign_in(&app, &app.client(), "ada").await).await;
    assert_eq!(status, 303);
    let ada = app
        .store()
        .account_by_username("ada")
        .await
        .unwrap()
        .unwrap();
    app.store()
        .set_active(kitroom_store::Actor::system(), ada.id, false)
        .await
        .unwrap();
    let later = chrono::Utc::now() + chrono::Duration::days(25 * 31);
    assert_eq!(app.store().anonymise_leavers(24, later).await.unwrap(), 1);
    assert!(app
        .store()
        .person_by_provider_subject(&provider.issuer, "ada")
        .await
        .unwrap()
        .is_none());
    let (status, _, page) = answer(provider.sign_in(&app, &app.client(), "ada").await).await;
    assert_eq!(status, 403, "{page}");
}
