//! Paging through the register by key (issue 18): the list's Next and Previous
//! links and the API's `next` cursor carry the tag to start after or before, so a
//! deep page costs what the first does and a link keeps showing the same devices
//! when others are registered earlier in the order.

use kitroom_tests::{spawn_app, TestApp};
use serde_json::{json, Value};

/// Registers devices through the API: `LAP-000`…, every fourth an iPad, the tags
/// of odd ones in lower case (the order ignores case).
async fn register(app: &TestApp, token: &str, tags: impl IntoIterator<Item = (String, &str)>) {
    for (tag, kind) in tags {
        let body = json!({"tag": tag, "kind": kind, "location": "Library"});
        let r = app.api_post(token, "/api/v1/devices", &body).await;
        assert_eq!(r.status(), 201, "{tag}");
    }
}

fn school(n: usize) -> Vec<(String, &'static str)> {
    (0..n)
        .map(|i| {
            let tag = if i % 2 == 1 {
                format!("lap-{i:03}")
            } else {
                format!("LAP-{i:03}")
            };
            (tag, if i % 4 == 0 { "ipad" } else { "laptop" })
        })
        .collect()
}

/// The tags a page of the device list shows, in order, upper-cased.
fn tags(html: &str) -> Vec<String> {
    html.split("<td class=\"tag\"><a href=\"")
        .skip(1)
        .filter_map(|s| {
            let text = s.split_once("\">")?.1;
            Some(text.split_once('<')?.0.to_uppercase())
        })
        .collect()
}

/// The address of the link whose text is `text` (its `href`, unescaped).
fn link(html: &str, text: &str) -> Option<String> {
    let end = html.find(&format!(">{text}</a>"))?;
    let start = html[..end].rfind("<a ")?;
    let a = &html[start..end];
    let href = a.split_once("href=\"")?.1.split_once('"')?.0;
    Some(href.replace("&amp;", "&"))
}

const NEXT: &str = "Next →";
const PREVIOUS: &str = "← Previous";

/// Paging through a filtered register by Next would skip or repeat devices, never
/// end, or Previous would not lead back to the pages seen.
#[tokio::test]
async fn next_walks_a_filtered_list_once_in_order_and_previous_comes_back() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let token = app.token_for("sbm").await;
    register(&app, &token, school(160)).await;
    let laptops: Vec<String> = (0..160)
        .filter(|i| i % 4 != 0)
        .map(|i| format!("LAP-{i:03}"))
        .collect();

    let mut url = "/devices?kind=laptop".to_owned();
    let mut pages: Vec<(String, String)> = Vec::new();
    loop {
        let html = app.page(&c, &url).await;
        assert!(html.contains("of 120 devices"), "the total on {url}");
        pages.push((url.clone(), html.clone()));
        match link(&html, NEXT) {
            Some(next) => {
                assert!(
                    next.contains("kind=laptop") && next.contains("after="),
                    "{next}"
                );
                assert!(!next.contains("page="), "{next}");
                url = next;
            }
            None => break,
        }
        assert!(pages.len() < 10, "Next never ends");
    }
    let seen: Vec<String> = pages.iter().flat_map(|(_, h)| tags(h)).collect();
    assert_eq!(seen, laptops, "every laptop once, in tag order, no iPad");
    assert_eq!(pages.len(), 3);
    assert!(pages[0].1.contains("Showing 1–50 of 120 devices"));
    assert!(
        link(&pages[0].1, PREVIOUS).is_none(),
        "nothing before the first page"
    );
    assert!(pages[1]
        .1
        .contains("Showing lap-067 to lap-133 of 120 devices"));

    // Previous from the last page shows the pages seen, back to the first.
    let mut html = pages[2].1.clone();
    for i in (0..2).rev() {
        let prev = link(&html, PREVIOUS).expect("a Previous link");
        assert!(
            prev.contains("kind=laptop") && prev.contains("before="),
            "{prev}"
        );
        html = app.page(&c, &prev).await;
        assert_eq!(tags(&html), tags(&pages[i].1), "page {i}");
    }
    // First and Last
    let last = link(&pages[0].1, "Last »").expect("a Last link");
    assert_eq!(tags(&app.page(&c, &last).await), laptops[70..]);
    let first = link(&pages[2].1, "« First").expect("a First link");
    assert_eq!(tags(&app.page(&c, &first).await), tags(&pages[0].1));
    // an old bookmark of a numbered page still opens
    assert_eq!(
        tags(&app.page(&c, "/devices?kind=laptop&page=2").await),
        tags(&pages[1].1)
    );
}

/// A bookmarked or shared page of the list would show other devices once more were
/// registered earlier in the order.
#[tokio::test]
async fn a_page_link_shows_the_same_devices_after_devices_are_added_before_it() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let token = app.token_for("sbm").await;
    register(&app, &token, school(120)).await;
    let first = app.page(&c, "/devices").await;
    let next = link(&first, NEXT).expect("a Next link");
    let before = tags(&app.page(&c, &next).await);
    assert_eq!(before[0], "LAP-050");

    let earlier = (0..30).map(|i| (format!("AAA-{i:03}"), "camera"));
    register(&app, &token, earlier).await;
    let after = app.page(&c, &next).await;
    assert_eq!(tags(&after), before, "the same devices at the same link");
    assert!(
        after.contains("of 150 devices"),
        "the total counts the new ones"
    );
}

/// A link to a page edited by hand into nonsense would be a 500 or show the wrong
/// devices silently.
#[tokio::test]
async fn a_garbled_page_key_is_a_clear_400() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    for bad in [
        "after=%3Cscript%3E",
        "before=a%20b",
        "after=LAP-1&before=LAP-2",
    ] {
        let r = app.get(&c, &format!("/devices?{bad}")).await;
        assert_eq!(r.status(), 400, "{bad}");
        let body = r.text().await.unwrap();
        assert!(body.contains("first page"), "{bad}: says where to go");
    }
    // a key after every device: nothing here, and a way back
    let token = app.token_for("sbm").await;
    register(&app, &token, school(3)).await;
    let html = app.page(&c, "/devices?after=ZZZ").await;
    assert!(tags(&html).is_empty());
    assert!(html.contains("No more devices"), "{html}");
    assert!(link(&html, PREVIOUS).is_some());
}

/// A script reading the whole register by the API's `next` cursor would miss or
/// repeat devices, or never stop.
#[tokio::test]
async fn the_api_next_cursor_walks_the_whole_register() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    register(&app, &token, school(40)).await;
    let mut seen = Vec::new();
    let mut path = "/api/v1/devices?per_page=7".to_owned();
    let mut second = None;
    loop {
        let (status, body) = app.api_get_json(&token, &path).await;
        assert_eq!(status, 200, "{path}: {body}");
        assert_eq!(body["total"], 40);
        assert_eq!(body["total_exact"], true);
        assert_eq!(body["per_page"], 7);
        let items = body["items"].as_array().unwrap();
        if seen.len() == 7 {
            second = Some(items.clone());
        }
        seen.extend(
            items
                .iter()
                .map(|d| d["tag"].as_str().unwrap().to_uppercase()),
        );
        match &body["next"] {
            Value::Null => break,
            Value::String(next) => {
                assert_eq!(next.to_uppercase(), *seen.last().unwrap());
                path = format!("/api/v1/devices?per_page=7&after={next}");
            }
            other => panic!("next is {other}"),
        }
        assert!(seen.len() <= 40, "the cursor never ends");
    }
    let all: Vec<String> = (0..40).map(|i| format!("LAP-{i:03}")).collect();
    assert_eq!(seen, all, "each device once, in tag order");

    // numbered pages keep working for existing clients, with the cursor beside them
    let (status, body) = app
        .api_get_json(&token, "/api/v1/devices?per_page=7&page=2")
        .await;
    assert_eq!(status, 200);
    assert_eq!(body["page"], 2);
    assert_eq!(Some(body["items"].as_array().unwrap().clone()), second);
    assert_eq!(body["next"], "lap-013");
}

/// A script sending a cursor it made up would get a 500, or a page of the wrong
/// devices it cannot tell from a right one.
#[tokio::test]
async fn a_bad_api_cursor_is_a_422_saying_what_is_wrong() {
    let app = spawn_app().await;
    let token = app.api_token("sbm", "manager").await;
    for bad in [
        "after=%3Cscript%3E",
        "after=%20LAP-1",
        "after=a%00b",
        "after=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "after=LAP-1&page=2",
    ] {
        let (status, body) = app
            .api_get_json(&token, &format!("/api/v1/devices?{bad}"))
            .await;
        assert_eq!(status, 422, "{bad}: {body}");
        assert_eq!(body["type"], "urn:kitroom:problem:validation", "{bad}");
        let text = body.to_string();
        assert!(text.contains("after"), "{bad}: names the cursor: {text}");
    }
}

/// Printing labels for a long list would stop after the first page of devices, or
/// print some twice.
#[tokio::test]
async fn the_label_sheet_holds_every_device_of_a_list_longer_than_a_page() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let token = app.token_for("sbm").await;
    register(&app, &token, school(250)).await;
    let sheet = app.page(&c, "/labels?kind=laptop").await;
    assert!(sheet.contains("187 labels"), "every laptop, once");
    let sheet = app.page(&c, "/labels").await;
    assert!(sheet.contains("250 labels"));
}
