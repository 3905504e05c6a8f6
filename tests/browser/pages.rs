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

use kitroom_tests::pages::{Fixtures, Role, PAGES, SIGNED_OUT_PAGES};
use kitroom_tests::TestApp;
use serde_json::json;

use crate::driver::Browser;

/// The smallest phone WCAG's reflow criterion asks for: 320 CSS pixels wide.
pub const PHONE: (u32, u32) = (320, 640);
/// A school laptop.
pub const DESKTOP: (u32, u32) = (1366, 900);

/// The tags of WCAG 2.2 level AA, as axe-core names them.
const WCAG_22_AA: [&str; 5] = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"];

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
    let (page_width, window) = b.page_and_window_width(size.0).await;
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
    check_on_screen(b, path, problems).await;
}

/// Gathers the problems of the page on screen (`page` names it) on a phone and on
/// a laptop: for a page reached only by sending a form, as well as by its address.
pub async fn check_on_screen(b: &Browser, page: &str, problems: &mut Vec<String>) {
    // After loading: chromedriver puts its phone (390 pixels) back on each page load.
    b.set_viewport(PHONE).await;
    problems.extend(problems_here(b, page, PHONE, true).await);
    b.set_viewport(DESKTOP).await;
    problems.extend(problems_here(b, page, DESKTOP, false).await);
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

/// The trust's IT administrator, in a trust of two schools, on a phone: the pages
/// only the trust's staff see (the schools side by side with their charts, every
/// school's log, the schools to work in, the settings every school shares) had
/// never been weighed for reflow or by axe-core.
pub async fn the_trusts_pages_fit_and_pass_axe(app: TestApp, b: Browser) {
    kitroom::demo::fill(app.store())
        .await
        .expect("the demo school fills the empty register");
    let mut out = Vec::new();
    kitroom::cli::school_add(app.dir.path(), "hillside", "Hillside Academy", &mut out)
        .await
        .expect("a second school");
    app.add_user("trust-it", "trust_admin").await;
    b.open("/login").await;
    b.fill("username", "trust-it").await;
    b.fill("password", kitroom_tests::PASSWORD).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
    let mut problems = Vec::new();
    for page in [
        "/reports",
        "/reports/schools",
        "/reports/schools?year=2025",
        "/log?scope=trust",
        "/schools",
        "/settings",
        "/policies",
    ] {
        check_page(&b, page, &mut problems).await;
    }
    assert!(
        problems.is_empty(),
        "{} problems on the trust's pages:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}

/// A file of three devices, and one whose row has problems, for the import's preview.
const DEVICES_CSV: &str = "tag,kind,make,model,serial,location,purchased_on,cost,encryption_state,encryption_method\n\
LAP-0101,laptop,Dell,Latitude 3440 with a long model name,SN-LAT-3440-000101,Computer room,2025-09-01,549.99,encrypted,bitlocker\n\
LAP-0102,laptop,Dell,Latitude 3440,SN-LAT-3440-000102,Computer room,2025-09-01,549.99,encrypted,bitlocker\n\
IPAD-0103,ipad,Apple,iPad 10th generation,SN-IPAD-000103,iPad trolley A,2024-03-15,329.00,unknown,\n";

/// The import's column choices and its preview, for a file that is fine and for one
/// with problems, weighed as the every-page check weighs a page. They are reached
/// only by sending a file, so that check, which opens pages by their address,
/// never saw them (axe-core faulted the preview's table on a phone).
pub async fn the_import_pages_fit_and_pass_axe(app: TestApp, b: Browser) {
    app.add_user("sbm", "manager").await;
    b.open("/login").await;
    b.fill("username", "sbm").await;
    b.fill("password", kitroom_tests::PASSWORD).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
    b.wait_for_path("/").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let mut problems = Vec::new();
    let broken = format!("{DEVICES_CSV}LAP-0104,toaster,,,,Computer room,31/02/2025,lots,,\n");
    for (csv, title) in [
        (DEVICES_CSV.to_owned(), "Check and import"),
        (broken, "Problems in the file"),
    ] {
        b.open("/import/devices").await;
        // chosen with the file picker, as a manager would, which fills the box
        let file = dir.path().join("devices.csv");
        std::fs::write(&file, &csv).expect("the CSV file");
        b.find("#csv-file")
            .await
            .send_keys(&file.to_string_lossy())
            .await
            .unwrap_or_else(|e| panic!("choosing the CSV file: {e}"));
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
        while b.value("#csv").await.trim() != csv.trim() {
            assert!(
                std::time::Instant::now() < deadline,
                "the file's contents appear in the box"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        b.click_to_next_page("form[action='/import/devices/map'] button[type=submit]")
            .await;
        assert_eq!(b.text("h1").await, "Choose what each column holds");
        check_on_screen(&b, "/import/devices/map", &mut problems).await;
        b.click_to_next_page("form[action='/import/devices/preview'] button[type=submit]")
            .await;
        assert_eq!(b.text("h1").await, title);
        check_on_screen(
            &b,
            &format!("/import/devices/preview ({title})"),
            &mut problems,
        )
        .await;
    }
    assert!(
        problems.is_empty(),
        "{} problems on the import's pages:\n  {}",
        problems.len(),
        problems.join("\n  ")
    );
}
