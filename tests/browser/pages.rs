//! Every page, for every role, on the smallest phone and on a laptop: the page must
//! not be wider than the window (WCAG 2.2, 1.4.10 Reflow), and axe-core must find
//! nothing against WCAG 2.2 AA on it.
//!
//! Each role gets one browser session on its own demo school (`kitroom demo`'s
//! data): it signs in, then opens each page it may see at [`PHONE`] and at
//! [`DESKTOP`]. Every problem on every page is gathered, and the check fails once
//! at the end with the whole list (page, size, rule, element), so one run shows all
//! there is to fix.
//!
//! axe-core is pinned in `tests/browser/axe/package.json` and installed there by
//! `.ci/run` (`npm ci`); its `axe.min.js` is read from disk and injected into each
//! page through chromedriver.

use std::path::PathBuf;
use std::sync::OnceLock;

use kitroom_tests::TestApp;
use serde_json::json;

use crate::driver::Browser;

/// The smallest phone WCAG's reflow criterion asks for: 320 CSS pixels wide.
pub const PHONE: (u32, u32) = (320, 640);
/// A school laptop.
pub const DESKTOP: (u32, u32) = (1366, 900);

/// The tags of WCAG 2.2 level AA, as axe-core names them.
const WCAG_22_AA: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

/// The roles, as `PAGES` marks who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Borrower,
    Head,
    Manager,
    Admin,
}

impl Role {
    /// The demo school's account with this role.
    fn username(self) -> &'static str {
        match self {
            Role::Borrower => "teacher",
            Role::Head => "head",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// This role's letter in `PAGES`.
    fn letter(self) -> char {
        match self {
            Role::Borrower => 'B',
            Role::Head => 'H',
            Role::Manager => 'M',
            Role::Admin => 'A',
        }
    }
}

/// Every page (a GET that answers HTML) of `tests/http/roles.rs`'s MATRIX (but
/// `/scan`, which only leads on to a device's page or home), with the
/// roles that may open it (`B`orrower, `H`ead, `M`anager, `A`dmin). `{name}` is a
/// real record of the demo school, found by [`Fixtures::find`].
#[rustfmt::skip]
const PAGES: &[(&str, &str)] = &[
    ("/", "BHMA"),
    ("/account", "BHMA"),
    ("/account/two-factor", "BHMA"),
    ("/notifications", "BHMA"),
    ("/report", "BHMA"),
    ("/policy", "BHMA"),
    ("/devices", "BHMA"),
    ("/devices/{tag}", "BHMA"),
    ("/devices/{lent}", "BHMA"),
    ("/devices/{tag}/report", "BHMA"),
    ("/devices/new", "MA"),
    ("/devices/{tag}/edit", "MA"),
    ("/devices/{tag}/dispose", "MA"),
    ("/sets", "BHMA"),
    ("/sets/{set}", "BHMA"),
    ("/sets/labels", "MA"),
    ("/sets/{set}/label", "MA"),
    ("/bookings", "BHMA"),
    ("/bookings?view=week", "BHMA"),
    ("/bookings/new", "BHMA"),
    ("/bookings/feed", "BHMA"),
    ("/bookings/{booking}/collect", "MA"),
    ("/loans", "HMA"),
    ("/approvals", "H"),
    ("/incidents", "HMA"),
    ("/incidents/{incident}", "HMA"),
    ("/log", "HMA"),
    ("/reports", "HMA"),
    ("/reports/inventory", "HMA"),
    ("/reports/encryption", "HMA"),
    ("/reports/overdue", "HMA"),
    ("/reports/audit", "HMA"),
    ("/reports/incidents", "HMA"),
    ("/reports/utilisation", "HMA"),
    ("/reports/disposals", "HMA"),
    ("/reports/people", "HMA"),
    ("/reports/people/{person}", "HMA"),
    ("/charging", "MA"),
    ("/labels", "MA"),
    ("/locations", "MA"),
    ("/people", "MA"),
    ("/people/new", "MA"),
    ("/people/find?q=jo", "MA"),
    ("/people/{person}", "MA"),
    ("/people/{person}/edit", "MA"),
    ("/policies", "MA"),
    ("/policies/{policy}", "MA"),
    ("/stocktakes", "MA"),
    ("/stocktakes/{stocktake}", "MA"),
    ("/export", "MA"),
    ("/import", "MA"),
    ("/import/devices", "MA"),
    ("/checklists", "MA"),
    ("/accessories", "MA"),
    ("/settings", "A"),
    ("/calendar", "A"),
];

/// The pages before signing in.
const SIGNED_OUT_PAGES: &[&str] = &["/login", "/forgot"];

/// Real records of the demo school to open: `(placeholder, value)`.
struct Fixtures(Vec<(&'static str, String)>);

impl Fixtures {
    /// Finds one of each record the pages need, as the business manager would, by
    /// following the first link of each list, and opens a stocktake (the demo
    /// school has none).
    async fn find(app: &TestApp) -> Fixtures {
        let manager = app.client();
        let r = app
            .login(&manager, "manager", kitroom::demo::DEMO_PASSWORD)
            .await;
        assert_eq!(r.status(), 303, "the demo's manager signs in");
        let token = app.token_for("manager").await;
        let (status, _) = app
            .api_post_json(
                &token,
                "/api/v1/stocktakes",
                &json!({"location": "Library"}),
            )
            .await;
        assert_eq!(status, 201, "a stocktake of the library opens");
        let mut found = Vec::new();
        for (name, list, prefix, suffix) in [
            ("tag", "/devices", "/devices/", ""),
            ("lent", "/loans", "/devices/", ""),
            ("set", "/sets", "/sets/", ""),
            ("incident", "/incidents", "/incidents/", ""),
            ("person", "/people", "/people/", ""),
            ("policy", "/policies", "/policies/", ""),
            ("stocktake", "/stocktakes", "/stocktakes/", ""),
        ] {
            let html = app.page(&manager, list).await;
            let value = first_link(&html, prefix, suffix)
                .unwrap_or_else(|| panic!("no link {prefix}…{suffix} on the demo school's {list}"));
            found.push((name, value));
        }
        // A booking's collect page has a link only while it is due: its id from the API.
        let (status, bookings) = app.api_get_json(&token, "/api/v1/bookings").await;
        assert_eq!(status, 200, "the bookings: {bookings}");
        let booking = bookings["items"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("the demo school has a booking: {bookings}"));
        found.push(("booking", booking.to_owned()));
        Fixtures(found)
    }

    /// `path` with each `{name}` replaced by its record.
    fn fill(&self, path: &str) -> String {
        let mut path = path.to_owned();
        for (name, value) in &self.0 {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(!path.contains('{'), "no record for {path}");
        path
    }
}

/// The first `href="{prefix}X{suffix}"` in `html` where X is one path segment that
/// is not a page of its own (`new`, `labels`…): X.
fn first_link(html: &str, prefix: &str, suffix: &str) -> Option<String> {
    const NOT_RECORDS: [&str; 5] = ["new", "labels", "find", "feed", "people"];
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|href| href.strip_prefix(prefix)?.strip_suffix(suffix))
        .find(|x| {
            !x.is_empty()
                && !x.contains(['/', '?', '#'])
                && !NOT_RECORDS.contains(x)
                && !x.ends_with(".csv")
        })
        .map(str::to_owned)
}

/// axe-core's script, read once from `tests/browser/axe/node_modules`.
fn axe_source() -> &'static str {
    static AXE: OnceLock<Result<String, String>> = OnceLock::new();
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "browser/axe/node_modules/axe-core/axe.min.js",
    ]
    .iter()
    .collect();
    AXE.get_or_init(|| {
        std::fs::read_to_string(&path).map_err(|e| {
            format!(
                "axe-core is not installed ({}: {e}); run `npm ci` in tests/browser/axe, as .ci/run does",
                path.display()
            )
        })
    })
    .as_ref()
    .unwrap_or_else(|e| panic!("{e}"))
}

/// Runs axe-core on the page on screen (injecting it first if `inject`) and answers
/// its violations, one line each: `rule (impact): help: elements`.
async fn axe(b: &Browser, inject: bool) -> Vec<String> {
    let page = b.path().await;
    if inject {
        b.client
            .execute(axe_source(), vec![])
            .await
            .unwrap_or_else(|e| panic!("injecting axe-core into {page}: {e}"));
    }
    let found = b
        .client
        .execute(
            "return axe.run(document, {
                 runOnly: { type: 'tag', values: arguments[0] },
                 resultTypes: ['violations']
             }).then(function (r) {
                 return r.violations.map(function (v) {
                     return v.id + ' (' + v.impact + '): ' + v.help + ': ' +
                         v.nodes.slice(0, 5).map(function (n) { return n.target.join(' '); }).join(', ') +
                         (v.nodes.length > 5 ? ' and ' + (v.nodes.length - 5) + ' more' : '');
                 });
             });",
            vec![json!(WCAG_22_AA)],
        )
        .await
        .unwrap_or_else(|e| panic!("running axe-core on {page}: {e}"));
    found
        .as_array()
        .map(|v| {
            v.iter()
                .filter_map(|s| s.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The problems of the page on screen at the window's size now.
async fn problems_here(b: &Browser, page: &str, size: (u32, u32), inject: bool) -> Vec<String> {
    let at = format!("{page} at {}x{}", size.0, size.1);
    let mut problems = Vec::new();
    // Against the width set, not only `window.innerWidth`: an emulated phone, like
    // a real one, widens its layout viewport to fit a page that is too wide.
    let widths = b
        .eval("return [document.documentElement.scrollWidth, window.innerWidth]")
        .await;
    let (page_width, window) = (
        widths[0].as_i64().unwrap_or(0),
        widths[1].as_i64().unwrap_or(0),
    );
    let window = window.min(i64::from(size.0));
    if page_width > window {
        problems.push(format!(
            "{at}: the page is {page_width}px wide, {}px wider than the window",
            page_width - window
        ));
    }
    for v in axe(b, inject).await {
        problems.push(format!("{at}: {v}"));
    }
    problems
}

/// Opens `path` and gathers its problems on a phone and on a laptop.
async fn check_page(b: &Browser, path: &str, problems: &mut Vec<String>) {
    b.open(path).await;
    let landed = b.path().await;
    if landed != path {
        problems.push(format!("{path}: led to {landed}, not the page itself"));
        return;
    }
    // After loading: chromedriver puts its phone (390 pixels) back on each page load.
    b.set_viewport(PHONE).await;
    problems.extend(problems_here(b, path, PHONE, true).await);
    b.set_viewport(DESKTOP).await;
    problems.extend(problems_here(b, path, DESKTOP, false).await);
}

/// Signs `role` in on the demo school and checks every page it may open; the
/// signed-out pages are checked first.
pub async fn check_every_page(app: TestApp, b: Browser, role: Role) {
    kitroom::demo::fill(app.store())
        .await
        .expect("the demo school fills the empty register");
    let fixtures = Fixtures::find(&app).await;
    let mut problems = Vec::new();
    for page in SIGNED_OUT_PAGES {
        check_page(&b, page, &mut problems).await;
    }
    b.open("/login").await;
    b.fill("username", role.username()).await;
    b.fill("password", kitroom::demo::DEMO_PASSWORD).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
    b.wait_for_path("/").await;
    let mut checked = 0;
    for (page, roles) in PAGES {
        if roles.contains(role.letter()) {
            check_page(&b, &fixtures.fill(page), &mut problems).await;
            checked += 1;
        }
    }
    assert!(checked > 10, "{role:?} checked only {checked} pages");
    assert!(
        problems.is_empty(),
        "{} problems on {role:?}'s pages:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// A borrower on a phone had to scroll sideways, or a screen reader or keyboard
/// user met a page axe-core faults against WCAG 2.2 AA.
pub async fn every_page_fits_and_passes_axe_for_a_borrower(app: TestApp, b: Browser) {
    check_every_page(app, b, Role::Borrower).await;
}

/// The head teacher on a phone had to scroll sideways, or met a page axe-core
/// faults against WCAG 2.2 AA.
pub async fn every_page_fits_and_passes_axe_for_the_head(app: TestApp, b: Browser) {
    check_every_page(app, b, Role::Head).await;
}

/// The business manager on a phone had to scroll sideways, or met a page axe-core
/// faults against WCAG 2.2 AA.
pub async fn every_page_fits_and_passes_axe_for_the_manager(app: TestApp, b: Browser) {
    check_every_page(app, b, Role::Manager).await;
}

/// The IT administrator on a phone had to scroll sideways, or met a page axe-core
/// faults against WCAG 2.2 AA.
pub async fn every_page_fits_and_passes_axe_for_the_admin(app: TestApp, b: Browser) {
    check_every_page(app, b, Role::Admin).await;
}
