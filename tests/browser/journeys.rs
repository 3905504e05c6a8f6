//! The journeys, as a person makes them on a phone: each opens pages, types, taps,
//! and checks what is on screen.

use kitroom_tests::{TestApp, PASSWORD};

use crate::driver::Browser;

/// Signs in on the sign-in page the browser is showing.
async fn sign_in(b: &Browser, username: &str) {
    b.wait_for_path("/login").await;
    assert_eq!(b.text("h1").await, "Sign in");
    b.fill("username", username).await;
    b.fill("password", PASSWORD).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
}

/// Asserts that nothing on the page makes a phone scroll sideways.
async fn fits_the_phone(b: &Browser, page: &str) {
    let overflow = b.overflow_x().await;
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

    b.fill("full_name", "Ada Lovelace").await;
    b.fill("username", "a.lovelace").await;
    b.fill("email", "ada@school.example").await;
    b.fill("position", "IT technician").await;
    b.fill("password", "three random words").await;
    b.fill("confirm", "three random words").await;
    b.click_to_next_page("form[action='/setup'] button[type=submit]")
        .await;

    b.wait_for_path("/devices").await;
    let who = b.text("header .who").await;
    assert!(
        who.contains("Ada Lovelace"),
        "the header names who is signed in, got {who:?}"
    );
    let notice = b.text("main .notice").await;
    assert!(
        notice.contains("Welcome, Ada Lovelace"),
        "a welcome notice, got {notice:?}"
    );
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
    let who = b.text("header .who").await;
    assert!(who.contains("Sbm Test"), "signed in as Sbm, got {who:?}");

    b.click_to_next_page("a[href='/devices/new']").await;
    b.wait_for_path("/devices/new").await;
    assert_eq!(b.text("h1").await, "Register a device");
    b.fill("tag", "LAP-0042").await;
    b.choose("kind", "laptop").await;
    b.fill("make", "Lenovo").await;
    b.fill("model", "ThinkPad E14").await;
    b.fill("serial", "PF3ABC12").await;
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
    b.click_to_next_page("form.device-form button[type=submit]")
        .await;

    b.wait_for_path("/devices/LAP-0042").await;
    let h1 = b.text("h1").await;
    assert!(h1.contains("LAP-0042"), "the device's page, got {h1:?}");
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

    b.click_to_next_page("nav.menu a[href='/devices']").await;
    b.wait_for_path("/devices").await;
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

    b.click_to_next_page("table.devices td.tag a").await;
    b.wait_for_path("/devices/LAP-0042").await;
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
    let summary = b.text(".error-summary").await;
    assert!(
        summary.contains("There is a problem"),
        "the error summary is shown, got {summary:?}"
    );
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
    b.click_to_next_page("form.device-form button[type=submit]")
        .await;
    b.wait_for_path("/devices/LAP-0099").await;
    assert_eq!(b.text("h1").await, "LAP-0099 · Dell Latitude 5440");
}

/// Sends a JSON body to the API with a personal token, as a script would, and
/// expects it to be created.
async fn api_create(app: &TestApp, token: &str, path: &str, body: serde_json::Value) {
    let r = reqwest::Client::new()
        .post(app.url(path))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap_or_else(|e| panic!("POST {path}: {e}"));
    let status = r.status();
    let text = r.text().await.unwrap_or_default();
    assert_eq!(status, 201, "POST {path} {body} answered {text}");
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
    let warning = b.text("section.loan .warning").await;
    assert!(
        warning.contains("Sign the acceptable-use policy to borrow devices."),
        "the device page says the policy must be signed first, got {warning:?}"
    );
    assert!(
        warning.contains("Version 2026/27"),
        "and which version, got {warning:?}"
    );
    assert!(
        !b.has("form.checkout").await,
        "no check-out button before the policy is signed"
    );
    fits_the_phone(&b, "the device page before signing").await;

    b.click_to_next_page("section.loan .warning a[href^='/policy']")
        .await;
    b.wait_for_path("/policy").await;
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
    let notice = b.text("main .notice").await;
    assert!(
        notice.contains("You have signed the acceptable-use policy"),
        "a notice confirms the signature, got {notice:?}"
    );
    assert!(
        !b.has("section.loan .warning").await,
        "the warning to sign has gone"
    );
    let button = b.text("form.checkout button[type=submit]").await;
    assert!(
        button.starts_with("Check out to me"),
        "the check-out button, got {button:?}"
    );
    b.click_to_next_page("form.checkout button[type=submit]")
        .await;
    b.wait_for_path("/devices/IPAD-7").await;
    let notice = b.text("main .notice").await;
    assert!(
        notice.starts_with("IPAD-7 is checked out to you until "),
        "a notice says until when, got {notice:?}"
    );
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

    b.click_to_next_page("nav.menu a[href='/']").await;
    b.wait_for_path("/").await;
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

    b.click_to_next_page("ul.loans a[href='/devices/IPAD-7#return']")
        .await;
    b.wait_for_path("/devices/IPAD-7").await;
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
    let refusal = b.text("section.loan .error-summary").await;
    assert!(
        refusal.contains("This device takes photos"),
        "the refusal says why, got {refusal:?}"
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
    b.click_to_next_page("form.return button[type=submit]")
        .await;
    b.wait_for_path("/devices/IPAD-7").await;
    let notice = b.text("main .notice").await;
    assert!(
        notice.contains("IPAD-7 is returned to the Computer room and on charge"),
        "a notice confirms the return, got {notice:?}"
    );
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

/// The printed labels' QR codes would open the wrong page, or none, when a
/// teacher points a phone's camera at them.
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
}
