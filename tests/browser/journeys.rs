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
