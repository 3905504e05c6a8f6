//! The journeys, as a person makes them on a phone: each opens pages, types, taps,
//! and checks what is on screen.

use std::time::Duration;

use kitroom_tests::oidc::OidcProvider;
use kitroom_tests::smtp::SmtpSink;
use kitroom_tests::{TestApp, PASSWORD};

use crate::driver::{Browser, PHONE};

/// Signs in on the sign-in page the browser is showing.
async fn sign_in(b: &Browser, username: &str) {
    b.wait_for_path("/login").await;
    assert_eq!(b.text("h1").await, "Sign in");
    b.fill("username", username).await;
    b.fill("password", PASSWORD).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
}

/// Taps `css` and waits for the page at `path`.
async fn tap_to(b: &Browser, css: &str, path: &str) {
    b.click_to_next_page(css).await;
    b.wait_for_path(path).await;
}

/// Opens the menu, which on a phone is one button.
async fn open_menu(b: &Browser) {
    b.find("details.menu > summary")
        .await
        .click()
        .await
        .expect("tapping Menu");
    assert_eq!(
        b.eval("return document.querySelector('details.menu').open")
            .await,
        serde_json::Value::Bool(true),
        "tapping Menu opens it"
    );
}

/// Types each value into the field with its id, in order.
async fn fill_in(b: &Browser, fields: &[(&str, &str)]) {
    for (id, text) in fields {
        b.fill(id, text).await;
    }
}

/// Asserts that the text of `css` contains `want` (`what` says what it should show),
/// and gives the text.
async fn text_has(b: &Browser, css: &str, want: &str, what: &str) -> String {
    let got = b.text(css).await;
    assert!(got.contains(want), "{what}, got {got:?}");
    got
}

/// Asserts that the text of `css` starts with `want` (`what` says what it should
/// show), and gives the text.
async fn text_starts(b: &Browser, css: &str, want: &str, what: &str) -> String {
    let got = b.text(css).await;
    assert!(got.starts_with(want), "{what}, got {got:?}");
    got
}

/// Asserts that nothing on the page makes a phone scroll sideways: the page is no
/// wider than the phone the journeys run on.
async fn fits_the_phone(b: &Browser, page: &str) {
    let overflow = b.overflow_x(PHONE.0).await;
    assert!(
        overflow <= 0,
        "{page} is {overflow}px wider than a phone's screen"
    );
}

/// The person installing Kitroom could not make the first account from the setup
/// link printed in the console, so nobody could ever use it.
pub async fn first_start_creates_the_admin_and_opens_the_register(app: TestApp, b: Browser) {
    let token = app
        .setup_token
        .clone()
        .expect("an empty database gives a setup token");
    b.open(&format!("/setup?token={token}")).await;
    assert_eq!(b.text("h1").await, "Create the first admin account");

    fill_in(
        &b,
        &[
            ("full_name", "Ada Lovelace"),
            ("username", "a.lovelace"),
            ("email", "ada@school.example"),
            ("position", "IT technician"),
            ("password", "three random words"),
            ("confirm", "three random words"),
        ],
    )
    .await;
    tap_to(&b, "form[action='/setup'] button[type=submit]", "/devices").await;
    text_has(
        &b,
        "header .who",
        "Ada Lovelace",
        "the header names who is signed in",
    )
    .await;
    text_has(
        &b,
        "main .notice",
        "Welcome, Ada Lovelace",
        "a welcome notice",
    )
    .await;
    assert_eq!(b.text("h1").await, "Devices");
    assert!(
        b.text(".empty").await.contains("The register is empty"),
        "an empty register says so"
    );
    assert!(
        b.has("a[href='/devices/new']").await,
        "the way to register a first device is on screen"
    );
    fits_the_phone(&b, "the empty register").await;

    // The notice is shown once, and the setup link cannot be used again.
    b.open("/devices").await;
    assert!(
        !b.has("main .notice").await,
        "the welcome is shown only once"
    );
    b.open(&format!("/setup?token={token}")).await;
    assert!(
        !b.has("input#confirm").await,
        "the used setup link no longer offers the form (on {})",
        b.path().await
    );
}

/// The business manager could not sign in, register a laptop with its encryption
/// details, or find it again by searching the register on a phone.
pub async fn a_manager_signs_in_registers_a_device_and_finds_it(app: TestApp, b: Browser) {
    app.add_user("sbm", "manager").await;
    // Another device is already on the register, so the search has one to leave out.
    let c = app.client();
    assert_eq!(app.login(&c, "sbm", PASSWORD).await.status(), 303);
    let r = app
        .register_device(
            &c,
            &[
                ("tag", "IPAD-0007"),
                ("kind", "ipad"),
                ("make", "Apple"),
                ("model", "iPad (10th generation)"),
                ("location", "Computer room"),
            ],
        )
        .await;
    assert_eq!(r.status(), 303, "the other device is registered");

    // A bookmark to the register asks for sign-in first, then comes back.
    b.open("/devices").await;
    sign_in(&b, "sbm").await;
    b.wait_for_path("/devices").await;
    text_has(&b, "header .who", "Sbm Test", "signed in as Sbm").await;

    tap_to(&b, "a[href='/devices/new']", "/devices/new").await;
    assert_eq!(b.text("h1").await, "Register a device");
    b.fill("tag", "LAP-0042").await;
    b.choose("kind", "laptop").await;
    fill_in(
        &b,
        &[
            ("make", "Lenovo"),
            ("model", "ThinkPad E14"),
            ("serial", "PF3ABC12"),
        ],
    )
    .await;
    assert_eq!(
        b.value("#location").await,
        "Computer room",
        "the usual home location is filled in"
    );
    b.fill("location", "Library").await;
    b.choose("encryption_state", "encrypted").await;
    b.choose("encryption_method", "bitlocker").await;
    b.set_date("encryption_verified_on", "2025-09-03").await;
    b.tick("passcode_enforced").await;
    b.tick("holds_personal_data").await;
    tap_to(
        &b,
        "form.device-form button[type=submit]",
        "/devices/LAP-0042",
    )
    .await;
    let h1 = text_has(&b, "h1", "LAP-0042", "the device's page").await;
    assert_eq!(h1, "LAP-0042 · Lenovo ThinkPad E14");
    assert!(
        b.text("main .notice")
            .await
            .contains("LAP-0042 is on the register"),
        "a notice confirms the device was saved"
    );
    assert_eq!(b.summary("Serial number").await, "PF3ABC12");
    assert_eq!(b.summary("Home location").await, "Library");
    assert_eq!(b.summary("Encryption").await, "Encrypted with BitLocker");
    let verified = b.summary("Verified").await;
    assert!(
        verified.starts_with("3 Sep 2025 by ") && verified.to_lowercase().contains("sbm"),
        "the date and who verified it, got {verified:?}"
    );
    assert_eq!(b.summary("Passcode enforced").await, "Yes");
    assert_eq!(b.summary("May hold personal data").await, "Yes");
    assert_eq!(b.summary("Takes photos or video").await, "No");
    fits_the_phone(&b, "the device's page").await;
    b.screenshot("device-page").await;

    open_menu(&b).await;
    tap_to(&b, "nav.menu a[href='/devices']", "/devices").await;
    assert_eq!(b.text("p.count").await, "Showing 1–2 of 2 devices");
    fits_the_phone(&b, "the device list").await;
    b.screenshot("devices-list").await;

    b.fill("q", "LAP-00").await;
    b.press_enter_to_next_page("q").await;
    b.wait_for_path("/devices").await;
    assert!(
        b.path().await.contains("q=LAP-00"),
        "the search is in the address, so it can be bookmarked: {}",
        b.path().await
    );
    assert_eq!(
        b.value("#q").await,
        "LAP-00",
        "the search box keeps the search"
    );
    let tags = b.texts("table.devices td.tag").await;
    assert_eq!(tags, ["LAP-0042"], "only the matching device is listed");
    assert_eq!(b.text("p.count").await, "Showing 1–1 of 1 device");
    b.screenshot("devices-search").await;

    tap_to(&b, "table.devices td.tag a", "/devices/LAP-0042").await;
    assert!(b.text("h1").await.starts_with("LAP-0042"));
}

/// Someone who forgot the asset tag would lose everything else they had typed into
/// the device form, or not be told what was wrong.
pub async fn a_refused_device_form_keeps_what_was_typed(app: TestApp, b: Browser) {
    app.add_user("sbm", "manager").await;
    b.open("/login").await;
    sign_in(&b, "sbm").await;
    b.open("/devices/new").await;

    b.choose("kind", "laptop").await;
    b.fill("make", "Dell").await;
    b.fill("model", "Latitude 5440").await;
    b.click_to_next_page("form.device-form button[type=submit]")
        .await;

    assert_eq!(b.text("h1").await, "Register a device", "still on the form");
    let summary = text_has(
        &b,
        ".error-summary",
        "There is a problem",
        "the error summary is shown",
    )
    .await;
    assert!(
        summary.contains("Enter the asset tag shown on the device's label."),
        "the summary says what to fix, got {summary:?}"
    );
    assert_eq!(
        b.eval("return document.activeElement.classList.contains('error-summary')")
            .await,
        true,
        "focus moves to the error summary, so a screen reader reads it out"
    );
    assert!(
        b.text("#tag-error").await.contains("Enter the asset tag"),
        "the error is also beside the field"
    );
    assert_eq!(
        b.find("#tag")
            .await
            .attr("aria-invalid")
            .await
            .expect("attr")
            .as_deref(),
        Some("true")
    );
    assert_eq!(b.value("#make").await, "Dell", "the make is kept");
    assert_eq!(
        b.value("#model").await,
        "Latitude 5440",
        "the model is kept"
    );
    assert_eq!(b.value("#kind").await, "laptop", "the kind is kept");
    assert_eq!(b.value("#location").await, "Computer room");
    fits_the_phone(&b, "the refused device form").await;
    b.screenshot("device-form-refused").await;

    // Fixing the one mistake is enough.
    b.fill("tag", "LAP-0099").await;
    tap_to(
        &b,
        "form.device-form button[type=submit]",
        "/devices/LAP-0099",
    )
    .await;
    assert_eq!(b.text("h1").await, "LAP-0099 · Dell Latitude 5440");
}

/// Sends a JSON body to the API with a personal token, as a script would, and
/// expects it to be created.
async fn api_create(app: &TestApp, token: &str, path: &str, body: serde_json::Value) {
    let (status, text) = api_send(app, token, path, &body).await;
    assert_eq!(status, 201, "POST {path} {body} answered {text}");
}

/// Posts a JSON body to the API with a personal token; gives the status and the
/// text of the answer.
async fn api_send(
    app: &TestApp,
    token: &str,
    path: &str,
    body: &serde_json::Value,
) -> (reqwest::StatusCode, String) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = r.status();
    (status, r.text().await.unwrap_or_default())
}

/// Whether the element is on screen now, so a person sees it without scrolling.
/// (A fragment link scrolls its target to the very top, where its top edge may be
/// a fraction of a pixel above the window.)
async fn on_screen(b: &Browser, css: &str) -> bool {
    let el = b.find(css).await;
    b.client
        .execute(
            "var r = arguments[0].getBoundingClientRect();
             return r.bottom > 0 && r.top < window.innerHeight;",
            vec![serde_json::json!(el)],
        )
        .await
        .unwrap_or_else(|e| panic!("where `{css}` is: {e}"))
        == true
}

/// A teacher who scans an iPad's label could not sign the policy, borrow it in one
/// tap, find it under "My loans", or give it back (its photos cleared and on
/// charge), so the iPads would be lent on paper again or not at all.
pub async fn a_borrower_signs_the_policy_checks_out_by_the_label_and_returns_it(
    app: TestApp,
    b: Browser,
) {
    let sbm = app.api_token("sbm", "manager").await;
    api_create(
        &app,
        &sbm,
        "/api/v1/devices",
        serde_json::json!({
            "tag": "IPAD-7",
            "kind": "ipad",
            "make": "Apple",
            "model": "iPad",
            "location": "Computer room",
            "captures_images": true,
            "encryption": {"state": "encrypted", "method": "ipados", "verified_on": "2025-09-03"},
        }),
    )
    .await;
    api_create(
        &app,
        &sbm,
        "/api/v1/policies",
        serde_json::json!({
            "title": "Acceptable use of school devices",
            "version_label": "2026/27",
            "issued_on": "2026-09-01",
            "body": "## Rules\n\n- Look after devices.\n- Bring them back on charge.",
        }),
    )
    .await;
    app.add_user_with_position("jo", "borrower", "Year 4 teacher")
        .await;

    b.open("/login").await;
    sign_in(&b, "jo").await;

    // The label's QR code opens the device's page.
    b.open("/d/IPAD-7").await;
    b.wait_for_path("/devices/IPAD-7").await;
    assert_eq!(b.text("h1").await, "IPAD-7 · Apple iPad");
    let warning = text_has(
        &b,
        "section.loan .warning",
        "Sign the acceptable-use policy to borrow devices.",
        "the device page says the policy must be signed first",
    )
    .await;
    assert!(
        warning.contains("Version 2026/27"),
        "and which version, got {warning:?}"
    );
    assert!(
        !b.has("form.checkout").await,
        "no check-out button before the policy is signed"
    );
    fits_the_phone(&b, "the device page before signing").await;

    tap_to(&b, "section.loan .warning a[href^='/policy']", "/policy").await;
    assert_eq!(b.text("h1").await, "Acceptable use of school devices");
    assert!(
        b.text("article.policy")
            .await
            .contains("Look after devices."),
        "the policy's text is there to read"
    );
    assert_eq!(
        b.value("#full_name").await,
        "Jo Test",
        "the full name is filled in from the account"
    );
    assert_eq!(
        b.value("#position").await,
        "Year 4 teacher",
        "the position is filled in from the account"
    );
    fits_the_phone(&b, "the policy page").await;
    b.tick("agree").await;
    b.click_to_next_page("form[action='/policy/sign'] button[type=submit]")
        .await;
    // Signing brings the person back to the device they were about to borrow.
    b.wait_for_path("/devices/IPAD-7").await;
    text_has(
        &b,
        "main .notice",
        "You have signed the acceptable-use policy",
        "a notice confirms the signature",
    )
    .await;
    assert!(
        !b.has("section.loan .warning").await,
        "the warning to sign has gone"
    );
    text_starts(
        &b,
        "form.checkout button[type=submit]",
        "Check out to me",
        "the check-out button",
    )
    .await;
    tap_to(&b, "form.checkout button[type=submit]", "/devices/IPAD-7").await;
    let notice = text_starts(
        &b,
        "main .notice",
        "IPAD-7 is checked out to you until ",
        "a notice says until when",
    )
    .await;
    assert!(
        notice.contains("Bring it back to the Computer room and put it on charge."),
        "and where it goes back, got {notice:?}"
    );
    assert_eq!(b.text("section.loan .loan-now p").await, "You have it.");
    assert_eq!(
        b.text(".device-head .badge.status-on_loan").await,
        "On loan"
    );
    fits_the_phone(&b, "the device page after check-out").await;
    b.screenshot("device-checked-out").await;

    open_menu(&b).await;
    tap_to(&b, "nav.menu a[href='/']", "/").await;
    assert!(
        b.texts("h2").await.iter().any(|h| h == "My loans"),
        "the home page has “My loans”"
    );
    let loans = b.texts("ul.loans li").await;
    assert_eq!(loans.len(), 1, "one loan listed, got {loans:?}");
    assert!(
        loans[0].contains("IPAD-7") && loans[0].contains("Due "),
        "the loan names the iPad and when it is due, got {loans:?}"
    );
    fits_the_phone(&b, "the home page with a loan").await;
    b.screenshot("home-my-loans").await;

    tap_to(
        &b,
        "ul.loans a[href='/devices/IPAD-7#return']",
        "/devices/IPAD-7",
    )
    .await;
    assert!(
        on_screen(&b, "h2#return").await,
        "the “Return it” link scrolls to the return form"
    );
    assert_eq!(
        b.value("#location").await,
        "Computer room",
        "it goes back to the computer room"
    );
    b.fill("battery_percent", "64").await;
    b.tick("on_charge").await;
    assert!(
        b.has("#images_cleared").await,
        "an iPad that takes photos asks for them to be cleared"
    );
    // Forgetting the photos is refused, and what was typed is kept.
    b.click_to_next_page("form.return button[type=submit]")
        .await;
    text_has(
        &b,
        "section.loan .error-summary",
        "This device takes photos",
        "the refusal says why",
    )
    .await;
    // the one error pattern (issue 17): the summary has the focus, its link goes
    // to the box, and the message is beside the box, which is marked invalid
    assert_eq!(
        b.eval("return document.activeElement.classList.contains('error-summary')")
            .await,
        true,
        "focus moves to the error summary, so a screen reader reads it out"
    );
    assert_eq!(
        b.text(".error-summary h2").await,
        "There is a problem",
        "the summary has the heading every form's has"
    );
    assert!(
        b.has(".error-summary a[href='#images_cleared']").await,
        "the summary links to the box to tick"
    );
    assert!(
        b.text("#images_cleared-error")
            .await
            .contains("This device takes photos"),
        "the error is also beside the box"
    );
    assert_eq!(
        b.find("#images_cleared")
            .await
            .attr("aria-invalid")
            .await
            .expect("attr")
            .as_deref(),
        Some("true"),
        "the box is marked invalid"
    );
    assert_eq!(
        b.value("#battery_percent").await,
        "64",
        "the battery level is kept"
    );
    assert!(
        b.find("#on_charge")
            .await
            .is_selected()
            .await
            .expect("checkbox state"),
        "“on charge” stays ticked"
    );
    assert_eq!(
        b.text(".device-head .badge.status-on_loan").await,
        "On loan",
        "it is still on loan"
    );
    fits_the_phone(&b, "the refused return").await;
    b.screenshot("device-return-refused").await;

    b.tick("images_cleared").await;
    tap_to(&b, "form.return button[type=submit]", "/devices/IPAD-7").await;
    text_has(
        &b,
        "main .notice",
        "IPAD-7 is returned to the Computer room and on charge",
        "a notice confirms the return",
    )
    .await;
    assert_eq!(
        b.text(".device-head .badge.status-returned_charging").await,
        "Returned, charging"
    );
    assert!(!b.has("form.return").await, "nothing more to return");
    fits_the_phone(&b, "the device page after return").await;

    b.open("/").await;
    assert!(
        b.text(".empty").await.contains("You have nothing on loan."),
        "“My loans” is empty again"
    );
}

/// The printed labels' QR codes (a device's, and a set's) would open the wrong
/// page, or none, when a teacher points a phone's camera at them.
pub async fn the_label_sheets_qr_codes_decode_to_the_devices_urls(app: TestApp, b: Browser) {
    let sbm = app.api_token("sbm", "manager").await;
    for (tag, kind) in [
        ("LAP-0001", "laptop"),
        ("CB-0002", "chromebook"),
        ("CAM-0003", "camera"),
    ] {
        api_create(
            &app,
            &sbm,
            "/api/v1/devices",
            serde_json::json!({"tag": tag, "kind": kind, "location": "Computer room"}),
        )
        .await;
    }

    b.open("/login").await;
    sign_in(&b, "sbm").await;
    b.open("/labels").await;
    assert_eq!(b.text("h1").await, "Labels");
    fits_the_phone(&b, "the label sheet").await;
    b.screenshot("labels").await;

    let url = b.client.current_url().await.expect("current URL");
    let base = url.origin().ascii_serialization();
    let labels = b
        .client
        .find_all(fantoccini::Locator::Css(".label-sheet .label"))
        .await
        .expect("labels");
    assert_eq!(labels.len(), 3, "one label a device");
    let mut decoded = std::collections::BTreeSet::new();
    for (i, label) in labels.iter().enumerate() {
        let name = format!("label-{i}");
        let png = b.element_screenshot(label, &name).await;
        let texts =
            crate::qr::decode_png(&png).unwrap_or_else(|e| panic!("label {i} ({name}.png): {e}"));
        assert_eq!(
            texts.len(),
            1,
            "label {i} has one readable QR code ({name}.png), got {texts:?}"
        );
        decoded.extend(texts);
    }
    let expected: std::collections::BTreeSet<String> = ["LAP-0001", "CB-0002", "CAM-0003"]
        .iter()
        .map(|tag| format!("{base}/d/{tag}"))
        .collect();
    assert_eq!(decoded, expected, "the codes open the devices' pages");

    // a set's label: its code opens the set's page, and it says how many devices it holds
    let set = app
        .make_set(
            "Laptop trolley in the library",
            "",
            &["LAP-0001", "CB-0002"],
        )
        .await;
    b.open(&format!("/sets/{set}")).await;
    b.click_to_next_page(&format!("a[href='/sets/{set}/label']"))
        .await;
    assert_eq!(b.text("h1").await, "Set labels");
    fits_the_phone(&b, "a set's label").await;
    let label = b.find(".label-sheet .label").await;
    let text = label.text().await.expect("the label's words");
    assert!(
        text.contains("Laptop trolley in the library") && text.contains("2 devices"),
        "the label names the set and its size, got {text:?}"
    );
    // A set's address makes a denser code than a device's tag (45 modules across):
    // at the screen's 96 dots an inch each module is under 3 dots and blurs, where a
    // printer's 300 dpi gives it 9. Look at it as printed: drawn at 225 px, 5 a module.
    b.eval(
        "const l = document.querySelector('.label-sheet .label'); \
         l.style.width = 'auto'; l.style.height = 'auto'; \
         const q = l.querySelector('svg'); q.style.width = '225px'; q.style.height = '225px'; \
         return true;",
    )
    .await;
    let label = b.find(".label-sheet .label svg").await;
    let png = b.element_screenshot(&label, "set-label").await;
    let texts = crate::qr::decode_png(&png).unwrap_or_else(|e| panic!("set-label.png: {e}"));
    assert_eq!(
        texts,
        [format!("{base}/sets/{set}")],
        "the code opens the set's page"
    );
}

/// Sends a JSON body to the API with a personal token and returns what it answered.
async fn api_post(app: &TestApp, token: &str, path: &str, body: serde_json::Value) -> String {
    let (status, text) = api_send(app, token, path, &body).await;
    assert!(
        status.is_success(),
        "POST {path} {body} answered {status}: {text}"
    );
    text
}

/// A teacher who lost a laptop could not report it from “My loans” in a minute, or
/// the business manager would not hear of it (in the header, on the desk, by
/// email), could not record the data protection decision before the deadline, or
/// could not close the incident and put the laptop back on charge once found.
pub async fn a_borrower_reports_a_lost_device_and_the_manager_resolves_it(
    app: TestApp,
    sink: SmtpSink,
    b: Browser,
) {
    app.add_user_with_email("sbm", "manager", "sbm@school.example")
        .await;
    let sbm = app.token_for("sbm").await;
    // Not encrypted and may hold personal data: losing it is a possible breach.
    api_create(
        &app,
        &sbm,
        "/api/v1/devices",
        serde_json::json!({
            "tag": "LAP-42",
            "kind": "laptop",
            "make": "Dell",
            "model": "Latitude 3440",
            "location": "Staff room",
            "holds_personal_data": true,
            "encryption": {"state": "not_encrypted"},
        }),
    )
    .await;
    api_create(
        &app,
        &sbm,
        "/api/v1/policies",
        serde_json::json!({
            "title": "Acceptable use of school devices",
            "version_label": "2026/27",
            "issued_on": "2026-09-01",
            "body": "## Rules\n\n- Look after devices.",
        }),
    )
    .await;
    let jo = app.api_token("jo", "borrower").await;
    api_post(
        &app,
        &jo,
        "/api/v1/policies/current/signatures",
        serde_json::json!({"full_name": "Jo Test", "position": "Year 4 teacher"}),
    )
    .await;
    api_post(
        &app,
        &jo,
        "/api/v1/devices/LAP-42/checkout",
        serde_json::json!({}),
    )
    .await;

    // The borrower reports it from the home page.
    b.open("/login").await;
    sign_in(&b, "jo").await;
    b.wait_for_path("/").await;
    let loans = b.texts("ul.loans li").await;
    assert_eq!(loans.len(), 1, "one loan listed, got {loans:?}");
    assert!(
        loans[0].contains("LAP-42") && loans[0].contains("Report a problem"),
        "the loan offers “Report a problem”, got {loans:?}"
    );
    tap_to(
        &b,
        "ul.loans a[href='/devices/LAP-42/report']",
        "/devices/LAP-42/report",
    )
    .await;
    assert_eq!(b.text("h1").await, "Report a problem with LAP-42");
    b.tick("kind-loss").await;
    b.fill(
        "description",
        "I left it in its bag on the bus after swimming.",
    )
    .await;
    b.fill("place", "The bus back from the swimming pool").await;
    fits_the_phone(&b, "the report form").await;
    let form = b.find("form.report").await;
    b.element_screenshot(&form, "report-form").await;
    b.click_to_next_page("form.report button[type=submit]")
        .await;

    let confirmation = b.path().await;
    assert!(
        confirmation.starts_with("/incidents/") && confirmation.ends_with("?reported=1"),
        "the report leads to its confirmation, got {confirmation}"
    );
    let incident = confirmation.trim_end_matches("?reported=1").to_owned();
    assert_eq!(
        b.text("main .notice h2").await,
        "Thank you. Your report is saved."
    );
    assert!(
        b.text("main .notice")
            .await
            .contains("Kitroom now shows it as lost"),
        "the borrower is told the device now shows as lost"
    );
    assert_eq!(b.text("h1").await, "Loss of LAP-42 · incident 1");
    text_has(
        &b,
        ".device-head",
        "Possible personal data breach",
        "the risk is named",
    )
    .await;
    let reason = b.summary("Data protection").await;
    assert!(
        reason.starts_with("Possible personal data breach: not encrypted")
            && reason.contains("it may hold personal data"),
        "and why, got {reason:?}"
    );
    assert_eq!(
        b.summary("What happened").await,
        "I left it in its bag on the bus after swimming."
    );
    assert!(
        !b.has("form[action$='/decision']").await,
        "the borrower is not asked for the data protection decision"
    );
    fits_the_phone(&b, "the report's confirmation").await;
    b.screenshot("report-confirmation").await;

    // The business manager finds it waiting.
    tap_to(&b, "form[action='/logout'] button[type=submit]", "/login").await;
    sign_in(&b, "sbm").await;
    b.wait_for_path("/").await;
    assert_eq!(
        b.text("header a.notifications .count").await,
        "1",
        "the header counts one unread notification"
    );
    let deadlines = b.texts("section.desk .warning.loud").await;
    assert_eq!(
        deadlines.len(),
        1,
        "one deadline on the desk, got {deadlines:?}"
    );
    assert!(
        deadlines[0].starts_with("Loss of LAP-42: data protection decision due — ")
            && deadlines[0].contains("left"),
        "the deadline names the device and the time left, got {deadlines:?}"
    );
    // The count stands above its words, so the text has a line break between them.
    let cards: Vec<String> = b
        .texts("section.desk a.card")
        .await
        .iter()
        .map(|c| c.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(
        cards
            .iter()
            .any(|c| c == "1 possible data breach waiting for a decision"),
        "a card counts the decision waiting, got {cards:?}"
    );
    assert!(
        b.has("section.desk a.card.urgent[href='/incidents']").await,
        "and it is marked urgent"
    );
    fits_the_phone(&b, "the manager's desk").await;
    let desk = b.find("section.desk").await;
    b.element_screenshot(&desk, "desk").await;

    tap_to(&b, "section.desk .warning.loud a", &incident).await;
    assert_eq!(
        b.text("section.deadline h2").await,
        "Data protection decision due"
    );
    b.tick("rep-no").await;
    b.fill(
        "reason",
        "The laptop held no pupil files: they are kept on the school network.",
    )
    .await;
    fits_the_phone(&b, "the decision form").await;
    tap_to(
        &b,
        "form[action$='/decision'] button[type=submit]",
        &incident,
    )
    .await;
    assert_eq!(
        b.text("main .notice").await,
        "The data protection decision is recorded."
    );
    assert!(
        !b.has("section.deadline").await,
        "the deadline has gone once decided"
    );
    let decided = b.texts("main section p strong").await;
    assert!(
        decided.iter().any(|d| d == "Not reportable."),
        "the decision is shown, got {decided:?}"
    );

    b.choose("status", "resolved").await;
    b.choose("resolution", "recovered").await;
    b.fill("note", "The bus company found it and brought it back.")
        .await;
    tap_to(&b, "form[action$='/status'] button[type=submit]", &incident).await;
    assert_eq!(b.text("main .notice").await, "Incident 1 is now resolved.");
    text_has(&b, ".device-head", "Resolved", "the incident is resolved").await;
    assert_eq!(b.summary("Resolution").await, "Recovered");
    assert!(
        !b.has("form[action$='/status']").await,
        "a resolved incident cannot be moved on"
    );
    fits_the_phone(&b, "the resolved incident").await;

    b.open("/devices/LAP-42").await;
    assert_eq!(
        b.text(".device-head .badge.status-returned_charging").await,
        "Returned, charging",
        "the recovered laptop goes back on charge"
    );

    let mail = sink.wait_for(1, Duration::from_secs(10)).await;
    assert_eq!(mail.len(), 1, "one email to the manager, got {mail:?}");
    assert!(
        mail[0].contains("LAP-42"),
        "the email names the device: {}",
        mail[0]
    );
    assert!(
        mail[0].contains("sbm@school.example"),
        "to the manager: {}",
        mail[0]
    );
}

/// The business manager could not count a room with a USB barcode scanner (each
/// label scanned into the focused box, the page ready for the next), see how far
/// the count had got, or download the list of what was not found.
pub async fn a_manager_scans_a_stocktake_closes_it_and_downloads_the_missing_list(
    app: TestApp,
    b: Browser,
) {
    let sbm = app.api_token("sbm", "manager").await;
    let tags = ["CB-001", "CB-002", "CB-003", "CB-004", "CB-005", "CB-006"];
    for tag in tags {
        api_create(
            &app,
            &sbm,
            "/api/v1/devices",
            serde_json::json!({"tag": tag, "kind": "chromebook", "location": "Computer room"}),
        )
        .await;
    }

    b.open("/login").await;
    sign_in(&b, "sbm").await;
    b.open("/stocktakes").await;
    assert_eq!(b.text("h1").await, "Stocktakes");
    b.choose_label("location", "Computer room (6)").await;
    fits_the_phone(&b, "the stocktakes page").await;
    b.click_to_next_page("form.scan button[type=submit]").await;
    let stocktake = b.path().await;
    assert!(
        stocktake.starts_with("/stocktakes/"),
        "opening leads to the stocktake, got {stocktake}"
    );
    assert_eq!(b.text("h1").await, "Stocktake 1: Computer room");
    assert!(
        b.text("main .notice")
            .await
            .starts_with("Stocktake 1 is open"),
        "a notice says it is open"
    );
    assert_eq!(b.text(".progress-text").await, "0 of 6 seen");

    let scanned = ["CB-001", "CB-002", "CB-004", "CB-005"];
    for tag in scanned {
        assert_eq!(
            b.eval("return document.activeElement && document.activeElement.id")
                .await,
            "tag",
            "the tag box has the focus, ready for the scanner (before {tag})"
        );
        b.scan_to_next_page(tag).await;
        b.wait_for_path(&stocktake).await;
        assert_eq!(b.text("main .notice").await, format!("✓ {tag} seen."));
        assert_eq!(b.value("#tag").await, "", "the tag box is empty again");
    }
    // a label that names no device is an error, not a success (issue 17)
    b.scan_to_next_page("NOPE-1").await;
    b.wait_for_path(&format!("{stocktake}/scan")).await;
    assert_eq!(
        b.texts(".error-summary li a").await,
        ["No device has the tag “NOPE-1”. Check the label; if it is new, register it first."],
        "the error summary says what is wrong"
    );
    assert_eq!(b.value("#tag").await, "NOPE-1", "the tag is kept to check");
    assert!(!b.has("main .notice").await, "no success box");
    fits_the_phone(&b, "the unknown tag").await;
    b.screenshot("stocktake-unknown-tag").await;
    b.open(&stocktake).await;
    assert_eq!(b.text(".progress-text").await, "4 of 6 seen");
    assert_eq!(
        b.texts("ul.unseen li strong").await,
        ["CB-003", "CB-006"],
        "the two not scanned are left to find"
    );
    fits_the_phone(&b, "the open stocktake").await;
    b.screenshot("stocktake").await;

    // closing cannot be undone: it asks first, saying what will happen
    tap_to(
        &b,
        "form[action$='/close'] button[type=submit]",
        &format!("{stocktake}/close"),
    )
    .await;
    text_has(
        &b,
        ".consequence",
        "2 devices not seen will be marked missing; this cannot be undone.",
        "the confirmation says what closing records",
    )
    .await;
    fits_the_phone(&b, "the confirmation to close").await;
    b.screenshot("stocktake-confirm-close").await;
    tap_to(&b, "form[action$='/close'] button[type=submit]", &stocktake).await;
    assert!(
        b.text("main .notice")
            .await
            .starts_with("Stocktake 1 is closed."),
        "a notice says it is closed"
    );
    assert_eq!(
        b.text("a.card.urgent[href='#missing'] .n").await,
        "2",
        "the missing card counts two"
    );
    assert_eq!(b.text("section#missing h2").await, "Missing (2)");
    fits_the_phone(&b, "the closed stocktake").await;
    b.screenshot("stocktake-closed").await;

    let link = b.find("a[href$='/results.csv?outcome=missing']").await;
    assert_eq!(
        link.text().await.expect("link text"),
        "Download the missing list"
    );
    let href = link
        .attr("href")
        .await
        .expect("href")
        .expect("the link has an address");
    let csv = b.download(&href).await;
    assert_eq!(csv.status, 200, "the missing list downloads: {}", csv.body);
    assert!(
        csv.content_type.starts_with("text/csv"),
        "as CSV, got {:?}",
        csv.content_type
    );
    assert!(
        csv.disposition.contains("attachment") && csv.disposition.contains(".csv"),
        "saved as a file, got {:?}",
        csv.disposition
    );
    let mut rows = csv::Reader::from_reader(csv.body.as_bytes());
    let headers = rows.headers().expect("a header row").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no {name} column in {headers:?}"))
    };
    let (tag, outcome) = (column("tag"), column("outcome"));
    let mut missing = Vec::new();
    for row in rows.records() {
        let row = row.expect("a CSV row");
        assert_eq!(&row[outcome], "missing", "only missing devices: {row:?}");
        missing.push(row[tag].to_owned());
    }
    missing.sort();
    assert_eq!(
        missing,
        ["CB-003", "CB-006"],
        "the two not scanned, and only them"
    );
}

/// A teacher could not book the iPad trolley for period 3, collect it when the
/// lesson comes, and bring it back with one iPad missing; or the business manager
/// would not see straight away which iPad is missing.
pub async fn a_teacher_books_the_trolley_for_period_3_collects_it_and_returns_it_with_an_ipad_missing(
    app: TestApp,
    b: Browser,
) {
    // period 3 is "now" whenever the journey runs, so it can be collected at once
    let calendar = kitroom_core::calendar::CalendarInput {
        periods: "Period 1, 00:00-00:01\nPeriod 3, 00:01-23:59".into(),
        ..Default::default()
    }
    .parse()
    .expect("a calendar");
    app.store()
        .save_calendar(
            kitroom_store::Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            calendar,
        )
        .await
        .expect("the calendar is saved");
    let sbm = app.api_token("sbm", "manager").await;
    for tag in ["IPAD-1", "IPAD-2", "IPAD-3"] {
        api_create(
            &app,
            &sbm,
            "/api/v1/devices",
            serde_json::json!({"tag": tag, "kind": "ipad", "make": "Apple", "model": "iPad", "location": "Library", "captures_images": true}),
        )
        .await;
    }
    let set = app
        .make_set(
            "iPad trolley A",
            "3 iPads and the trolley",
            &["IPAD-1", "IPAD-2", "IPAD-3"],
        )
        .await;
    api_create(
        &app,
        &sbm,
        "/api/v1/policies",
        serde_json::json!({"title": "Acceptable use", "version_label": "v1", "issued_on": "2026-09-01", "body": "Look after devices."}),
    )
    .await;
    let jo = app.api_token("jo", "borrower").await;
    api_create(
        &app,
        &jo,
        "/api/v1/policies/current/signatures",
        serde_json::json!({"full_name": "Jo Test", "position": "Teacher"}),
    )
    .await;
    // five USB-C chargers in the ICT room, to go out with the trolley
    api_create(
        &app,
        &sbm,
        "/api/v1/accessories",
        serde_json::json!({"name": "USB-C charger"}),
    )
    .await;
    let charger = app
        .store()
        .list_accessories(kitroom_core::school::SchoolId::FIRST)
        .await
        .expect("the accessories")[0]
        .id;
    let (status, text) = api_send(
        &app,
        &sbm,
        &format!("/api/v1/accessories/{charger}/adjust"),
        &serde_json::json!({"location": "ICT room", "change": "+5", "reason": "New delivery"}),
    )
    .await;
    assert_eq!(status, 200, "counted: {text}");

    b.open("/login").await;
    sign_in(&b, "jo").await;
    b.open(&format!("/sets/{set}")).await;
    tap_to(&b, "a[href^='/bookings/new?set=']", "/bookings/new").await;
    b.choose("period", "Period 3").await;
    b.fill("purpose", "6B science").await;
    fits_the_phone(&b, "the booking form").await;
    tap_to(
        &b,
        "form[action='/bookings'] button[type=submit]",
        "/bookings",
    )
    .await;
    text_starts(
        &b,
        "main .notice",
        "iPad trolley A is booked for you",
        "the booking is confirmed",
    )
    .await;
    let booked = b.texts("ul.bookings li").await;
    assert!(
        booked
            .iter()
            .any(|l| l.contains("iPad trolley A") && l.contains("Jo Test")),
        "the day's calendar shows the booking and who made it, got {booked:?}"
    );
    fits_the_phone(&b, "the day's bookings").await;
    b.screenshot("bookings-day").await;

    // the lesson comes: she collects it with two chargers, and it is checked out
    b.click_to_next_page("a[href$='/collect']").await;
    assert_eq!(b.text("h1").await, "Collect iPad trolley A");
    b.choose_label("also", "USB-C charger — ICT room (5 left)")
        .await;
    b.fill("also_count", "2").await;
    fits_the_phone(&b, "the collect page").await;
    b.screenshot("collect-with-chargers").await;
    tap_to(
        &b,
        "form.checkout button[type=submit]",
        &format!("/sets/{set}"),
    )
    .await;
    text_starts(
        &b,
        "main .notice",
        "iPad trolley A is checked out to you until ",
        "collecting checks it out",
    )
    .await;
    assert_eq!(b.text("section#return h2").await, "Out to Jo Test");
    assert!(
        b.text("section#return")
            .await
            .contains("Also taken: 2 × USB-C charger"),
        "the chargers went with it"
    );

    // back after the lesson, with IPAD-2 missing
    b.find("label[for=back-IPAD-2]")
        .await
        .click()
        .await
        .expect("unticking IPAD-2");
    assert!(
        !b.find("#back-IPAD-2")
            .await
            .is_selected()
            .await
            .expect("state"),
        "IPAD-2 is unticked"
    );
    b.fill("battery-IPAD-1", "40").await;
    // and only one of the two chargers
    let group = app
        .store()
        .kit(kitroom_core::school::SchoolId::FIRST, set)
        .await
        .expect("the set")
        .and_then(|k| k.open)
        .expect("out");
    let lent = app
        .store()
        .accessories_lent(None, Some(group.id))
        .await
        .expect("lent");
    b.fill(&format!("acc-back-{}", lent[0].id), "1").await;
    b.tick("images_cleared").await;
    fits_the_phone(&b, "the set's return form").await;
    b.screenshot("set-return").await;
    tap_to(
        &b,
        "form.return button[type=submit]",
        &format!("/sets/{set}"),
    )
    .await;
    let notice = b.text("main .notice").await;
    assert!(
        notice.contains("2 back and on charge")
            && notice.contains("Missing: IPAD-2. It is reported lost"),
        "the return says what came back and what is missing, got {notice:?}"
    );

    // the business manager sees the missing iPad on their desk at once
    b.click_to_next_page("form[action='/logout'] button[type=submit]")
        .await;
    b.open("/login").await;
    sign_in(&b, "sbm").await;
    b.wait_for_path("/").await;
    text_has(
        &b,
        "section.desk-missing",
        "IPAD-2 did not come back with iPad trolley A from Jo Test",
        "the desk lists the missing iPad",
    )
    .await;
    text_has(
        &b,
        "section.not-returned",
        "1 × USB-C charger lent with iPad trolley A to Jo Test",
        "the desk lists the charger not returned",
    )
    .await;
    fits_the_phone(&b, "the manager's desk with a missing iPad").await;
    b.screenshot("desk-missing-from-set").await;
    b.click_to_next_page("section.desk-missing a[href^='/incidents/']")
        .await;
    assert!(
        b.text("h1").await.contains("IPAD-2"),
        "its loss report opens from the desk"
    );
}

/// A business manager could not set up two-step sign-in on a phone's screen: the QR
/// code would not scan, or the code from the app would not sign them in.
pub async fn a_manager_sets_up_two_step_sign_in_and_signs_in_with_a_code(app: TestApp, b: Browser) {
    // This journey is about two-step sign-in: require it, as a school does by default.
    let mut settings = app
        .store()
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await
        .expect("settings");
    settings.require_two_factor = true;
    app.store()
        .save_settings(
            kitroom_store::Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            settings,
        )
        .await
        .expect("settings saved");
    app.add_user("sbm", "manager").await;
    b.open("/devices").await;
    sign_in(&b, "sbm").await;
    b.wait_for_path("/account/two-factor").await;
    assert_eq!(b.text("h1").await, "Set up two-step sign-in");
    fits_the_phone(&b, "the two-step setup page").await;

    // The phone's camera reads the QR code: the key and the account it is for.
    let secret = b.text("#totp-secret").await;
    let qr = b.find(".qr svg").await;
    let png = b.element_screenshot(&qr, "two-step-qr").await;
    let texts = crate::qr::decode_png(&png).unwrap_or_else(|e| panic!("two-step-qr.png: {e}"));
    assert_eq!(texts.len(), 1, "one readable QR code, got {texts:?}");
    assert!(
        texts[0].starts_with("otpauth://totp/Kitroom:sbm?") && texts[0].contains(&secret),
        "the QR code holds the key for sbm, got {}",
        texts[0]
    );

    let step = kitroom_tests::now_step();
    b.fill("code", &kitroom_tests::code_for(&secret, step))
        .await;
    b.click_to_next_page("form[action='/account/two-factor'] button[type=submit]")
        .await;
    assert_eq!(b.text("h1").await, "Your recovery codes");
    assert_eq!(b.texts(".recovery-codes code").await.len(), 10);
    fits_the_phone(&b, "the recovery codes page").await;
    tap_to(&b, "main a.button.primary", "/account").await;

    // Next time: the password, then the app's code.
    b.click_to_next_page("form.signout button[type=submit]")
        .await;
    b.open("/devices").await;
    sign_in(&b, "sbm").await;
    b.wait_for_path("/login/code").await;
    assert_eq!(b.text("h1").await, "Enter your code");
    let next = kitroom_tests::now_step().max(step + 1);
    b.fill("code", &kitroom_tests::code_for(&secret, next))
        .await;
    tap_to(
        &b,
        "form[action='/login/code'] button[type=submit]",
        "/devices",
    )
    .await;
    assert_eq!(b.text("h1").await, "Devices");
}

/// A teacher could not sign in with the school's account: the sign-in page's
/// "Sign in with …" button, the provider's own page, and back in Kitroom as
/// themselves, on the page they first asked for.
pub async fn a_teacher_signs_in_with_the_school_account(
    app: TestApp,
    provider: OidcProvider,
    b: Browser,
) {
    app.add_user_with_email("ada", "borrower", "ada@school.example")
        .await;
    b.open("/devices").await;
    b.wait_for_path("/login").await;
    text_has(
        &b,
        "#sign-in-provider",
        "Sign in with 127.0.0.1",
        "the provider's button",
    )
    .await;
    fits_the_phone(&b, "the sign-in page with the provider's button").await;
    b.click_to_next_page("#sign-in-provider").await;
    // The provider's own sign-in page, at its own address.
    assert_eq!(b.text("h1").await, "Sign in to the school");
    let at = b.client.current_url().await.expect("current URL");
    assert!(
        at.as_str().starts_with(&provider.issuer),
        "on the provider's page, got {at}"
    );
    b.fill("login", "ada").await;
    b.fill("password", "provider password").await;
    b.click_to_next_page("#submit").await;
    b.wait_for_path("/devices").await;
    assert_eq!(b.text("h1").await, "Devices");
    b.open("/account").await;
    text_has(&b, "main", "Ada Test", "Ada's own account page").await;
}

/// A link to Kitroom's sign-in page with a crafted `next` (a tab, a backslash or a
/// second slash before another site's name) sent a teacher, once signed in, to
/// another site dressed up as Kitroom.
pub async fn a_crafted_sign_in_link_leads_back_into_kitroom(app: TestApp, b: Browser) {
    app.add_user("teacher", "borrower").await;
    for next in [
        "/%09/evil.example",
        "/%0A/evil.example",
        "/%5C/evil.example",
        "//evil.example",
        "%2F%2Fevil.example",
    ] {
        b.client
            .delete_all_cookies()
            .await
            .expect("a fresh browser session");
        b.open(&format!("/login?next={next}")).await;
        b.fill("username", "teacher").await;
        b.fill("password", PASSWORD).await;
        b.find("form[action='/login'] button[type=submit]")
            .await
            .click()
            .await
            .expect("the sign-in button");
        // Wherever the browser goes next (a failed load of another site included).
        let mut url = b.client.current_url().await.expect("current URL");
        for _ in 0..100 {
            if url.path() != "/login" {
                break;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            url = b.client.current_url().await.expect("current URL");
        }
        assert!(
            url.as_str().starts_with(&format!("{}/", app.base)),
            "after signing in from /login?next={next} the browser is on {url}, not Kitroom"
        );
        assert_eq!(
            b.path().await,
            "/",
            "from /login?next={next} the teacher lands on Home"
        );
    }
    // A page of Kitroom in the link is where the person lands.
    b.client.delete_all_cookies().await.expect("cookies");
    b.open("/login?next=%2Faccount").await;
    sign_in(&b, "teacher").await;
    b.wait_for_path("/account").await;
}

/// Returning an iPad with three checklist questions unanswered and a battery of
/// 150 took three round trips, one error a time, on a phone; and it suggested the
/// computer room for an iPad that lives on its trolley.
pub async fn a_return_with_every_problem_shows_them_all_at_once_on_a_phone(
    app: TestApp,
    b: Browser,
) {
    let sbm = app.api_token("sbm", "manager").await;
    let r = reqwest::Client::new()
        .put(app.url("/api/v1/checklists/ipad"))
        .bearer_auth(&sbm)
        .json(&serde_json::json!({"questions": ["Charger returned?", "Case returned?", "Screen undamaged? [damage]"]}))
        .send()
        .await
        .expect("the checklist is saved");
    assert_eq!(r.status(), 200);
    api_create(
        &app,
        &sbm,
        "/api/v1/devices",
        serde_json::json!({"tag": "IPAD-8", "kind": "ipad", "location": "iPad trolley B"}),
    )
    .await;
    app.api_publish_policy(&sbm).await;
    let jo = app.api_token("jo", "borrower").await;
    app.api_sign_policy(&jo, "Jo Test").await;
    api_create(
        &app,
        &jo,
        "/api/v1/devices/IPAD-8/checkout",
        serde_json::json!({}),
    )
    .await;

    b.open("/login").await;
    sign_in(&b, "jo").await;
    b.open("/devices/IPAD-8").await;
    assert_eq!(
        b.value("#location").await,
        "iPad trolley B",
        "it goes back where it lives"
    );
    b.fill("battery_percent", "150").await;
    b.tick("on_charge").await;
    b.click_to_next_page("form.return button[type=submit]")
        .await;
    assert_eq!(
        b.eval("return document.activeElement.classList.contains('error-summary')")
            .await,
        true,
        "focus moves to the error summary"
    );
    assert_eq!(
        b.texts(".error-summary li a").await,
        [
            "The battery level must be a percentage from 0 to 100.",
            "Answer every question on the return checklist: “Charger returned?”.",
            "Answer every question on the return checklist: “Case returned?”.",
            "Answer every question on the return checklist: “Screen undamaged?”.",
        ],
        "every problem at once, in the order of the form"
    );
    assert_eq!(
        b.eval("return document.querySelectorAll('[aria-invalid=true]').length")
            .await,
        7,
        "the battery box and both answers of each question are marked invalid"
    );
    assert_eq!(
        b.value("#battery_percent").await,
        "150",
        "the input is kept"
    );
    fits_the_phone(&b, "the return refused four times over").await;
    b.screenshot("device-return-every-problem").await;
}

/// A page wider than the phone passed every phone check of these journeys: they
/// compared its width with `window.innerWidth`, which an emulated phone, like a
/// real one, widens to fit a page that is too wide, so they could never fail.
pub async fn a_page_wider_than_the_phone_fails_the_phone_check(_app: TestApp, b: Browser) {
    let wide = "data:text/html,<!doctype html><meta name=viewport content='width=device-width, initial-scale=1'><div style='width:700px;height:20px;background:red'>wide</div>";
    b.client
        .goto(wide)
        .await
        .unwrap_or_else(|e| panic!("could not open a page 700px wide: {e}"));
    let overflow = b.overflow_x(PHONE.0).await;
    assert!(
        overflow >= 700 - i64::from(PHONE.0),
        "a page 700px wide on a 390px phone is {overflow}px too wide by the check"
    );
    let narrow = "data:text/html,<!doctype html><meta name=viewport content='width=device-width, initial-scale=1'><p>narrow</p>";
    b.client.goto(narrow).await.expect("a narrow page");
    fits_the_phone(&b, "a page that fits").await;
}
