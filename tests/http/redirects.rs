//! Where sign-in sends a person afterwards: the `next` address in a link to the
//! sign-in page is followed only when it is a page of this site, read the way a
//! browser reads it.

use kitroom_tests::{location, spawn_app, TestApp, PASSWORD};
use reqwest::{Client, Url};

/// Addresses that a browser would take to another site, or that are not addresses
/// at all, as a link to the sign-in page might carry them in `next`.
fn hostile_nexts() -> Vec<String> {
    let mut all: Vec<String> = [
        "/\t/evil.example",
        "//evil.example",
        "///evil.example",
        "/\\evil.example",
        "\\/evil.example",
        "\\\\evil.example",
        "https://evil.example/",
        "http:evil.example",
        "javascript:alert(1)",
        "evil.example",
        " //evil.example",
        "/ /evil.example",
        "/é/evil",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    // Every control character, where a browser would drop it (tab, newline) and
    // where a header cannot hold it (newline, NUL).
    for c in (0u8..0x20).chain([0x7f]) {
        let c = c as char;
        all.push(format!("/{c}/evil.example"));
        all.push(format!("{c}//evil.example"));
        all.push(format!("/{c}\\evil.example"));
        all.push(format!("/devices{c}"));
    }
    all
}

/// Where a browser ends up after following `location` from a page of `app`.
fn resolved(app: &TestApp, location: &str) -> Url {
    Url::parse(&app.base)
        .unwrap()
        .join(location)
        .unwrap_or_else(|e| panic!("a browser cannot follow {location:?}: {e}"))
}

fn assert_stays_home(app: &TestApp, next: &str, r: &reqwest::Response) {
    assert_eq!(
        r.status(),
        303,
        "next={next:?} gets a redirect, not an error"
    );
    let to = location(r);
    assert!(
        to.bytes().all(|b| (0x21..0x7f).contains(&b)),
        "next={next:?} gives a Location with a control character or space: {to:?}"
    );
    let url = resolved(app, &to);
    assert_eq!(
        url.origin(),
        Url::parse(&app.base).unwrap().origin(),
        "next={next:?} sends the browser to {url} (Location {to:?})"
    );
}

/// A link to Kitroom's sign-in page could send a person, once signed in, to
/// another site dressed up as Kitroom that asks for their password again; a
/// newline in the link broke the sign-in page with a blank error.
#[tokio::test]
async fn sign_in_never_sends_a_person_to_another_site() {
    let app = spawn_app().await;
    let c = app.signed_in("teacher", "borrower").await;
    for next in hostile_nexts() {
        let r = c
            .get(app.url("/login"))
            .query(&[("next", next.as_str())])
            .send()
            .await
            .unwrap();
        assert_stays_home(&app, &next, &r);
        assert_eq!(location(&r), "/", "next={next:?} goes home");
    }
    // A page of this site is kept, query and all.
    for next in [
        "/devices?status=available&q=ipad",
        "/loans",
        "/devices/LAP%201",
    ] {
        let r = c
            .get(app.url("/login"))
            .query(&[("next", next)])
            .send()
            .await
            .unwrap();
        assert_eq!(location(&r), next, "a page of this site is kept");
    }

    // The same rule when the password is typed: a fresh sign-in for each.
    for next in [
        "/\t/evil.example",
        "/\n/evil.example",
        "//evil.example",
        "/\\evil.example",
    ] {
        let c = Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let token = app.csrf(&c, "/login").await;
        let r = c
            .post(app.url("/login"))
            .form(&[
                ("csrf", token.as_str()),
                ("username", "teacher"),
                ("password", PASSWORD),
                ("next", next),
            ])
            .send()
            .await
            .unwrap();
        assert_stays_home(&app, next, &r);
        assert_eq!(
            location(&r),
            "/",
            "next={next:?} goes home after signing in"
        );
    }
}
