//! No page repeats an `id`: where several records each have a form (Approvals'
//! requests, Accessories' counts), a repeated id makes a label, an error summary's
//! link or `aria-describedby` point at another row's field.

use std::collections::BTreeMap;

use kitroom_tests::pages::{Fixtures, Role, PAGES, SIGNED_OUT_PAGES};
use kitroom_tests::spawn_app;

/// Each `id="…"` value that appears more than once in `html`, with how often.
fn repeated_ids(html: &str) -> Vec<(String, usize)> {
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for rest in html.split(" id=\"").skip(1) {
        if let Some(id) = rest.split('"').next() {
            *seen.entry(id).or_default() += 1;
        }
    }
    seen.into_iter()
        .filter(|(_, n)| *n > 1)
        .map(|(id, n)| (id.to_owned(), n))
        .collect()
}

/// The id check itself: a page with two rows' forms sharing "note" is caught.
#[test]
fn a_repeated_id_is_found_and_a_data_id_is_not_an_id() {
    let html = r#"<form><input id="note-1" data-id="x"><input id="note"></form><form><input id="note" data-id="x"></form>"#;
    assert_eq!(repeated_ids(html), vec![("note".to_owned(), 2)]);
}

/// On Approvals with two requests waiting, or Accessories with several kinds, a
/// label or an error's link pointed at the first row's field whatever row it was
/// beside, so a screen reader read the wrong note and a tap filled in another row.
#[tokio::test]
async fn no_page_for_any_role_repeats_an_id() {
    let app = spawn_app().await;
    app.do_not_require_two_factor().await;
    kitroom::demo::fill(app.store())
        .await
        .expect("the demo school fills the empty register");
    let fixtures = Fixtures::find(&app).await;
    let mut problems = Vec::new();
    let anyone = app.client();
    for page in SIGNED_OUT_PAGES {
        for (id, n) in repeated_ids(&app.page(&anyone, page).await) {
            problems.push(format!("{page}: id \"{id}\" {n} times"));
        }
    }
    let mut pages = 0;
    for role in Role::ALL {
        let c = app.client();
        let r = app
            .login(&c, role.username(), kitroom::demo::DEMO_PASSWORD)
            .await;
        assert_eq!(r.status(), 303, "{role:?} signs in");
        for (page, roles) in PAGES {
            if !roles.contains(role.letter()) {
                continue;
            }
            let path = fixtures.fill(page);
            let r = app.get(&c, &path).await;
            // a report opened without its filters asks for them (422), a manager may
            // not edit the admin (403): each is still a page to look at
            assert!(
                !r.status().is_server_error(),
                "{role:?} opens {path}: {}",
                r.status()
            );
            let html = r.text().await.unwrap();
            // the pages this is about have several rows' forms to compare
            if path == "/approvals" {
                assert!(html.matches("name=\"note\"").count() >= 2, "{html}");
            }
            if path == "/accessories" {
                assert!(html.matches("name=\"change\"").count() >= 3, "{html}");
            }
            for (id, n) in repeated_ids(&html) {
                problems.push(format!("{path} as {role:?}: id \"{id}\" {n} times"));
            }
            pages += 1;
        }
    }
    assert!(pages > 100, "only {pages} pages were looked at");
    assert!(
        problems.is_empty(),
        "{} repeated ids:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
