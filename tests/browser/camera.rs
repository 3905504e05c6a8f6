//! Scanning a label with the phone's camera inside the page (issue 17 item 7).
//!
//! Headless Chromium has no camera, so a label's QR code is drawn on a canvas and
//! its pixels handed to `decodeFrame(imageData)`: the function every camera frame
//! goes through. Without a `BarcodeDetector` (Chromium on Linux has none) that is
//! the jsQR decoder the page loads from /static, under the real CSP.

use kitroom_tests::{TestApp, PASSWORD};
use serde_json::{json, Value};

use crate::driver::Browser;

/// Draws the QR code of `arguments[0]`'s label (from its label sheet) on a canvas,
/// as a camera frame would show it, and passes the frame to the scan form's
/// `decodeFrame` `arguments[1]` times in a row; answers what each read, or the error.
const DECODE_LABEL: &str = r#"
var tag = arguments[0], times = arguments[1], done = arguments[arguments.length - 1];
fetch('/labels?q=' + encodeURIComponent(tag), { credentials: 'same-origin' })
  .then(function (r) { return r.text(); })
  .then(function (html) {
    var doc = new DOMParser().parseFromString(html, 'text/html');
    var svg = doc.querySelector('.label svg');
    if (!svg) throw new Error('no label for ' + tag);
    var xml = new XMLSerializer().serializeToString(svg);
    return new Promise(function (resolve, reject) {
      var img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { reject(new Error('the QR image did not load')); };
      img.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(xml);
    });
  })
  .then(function (img) {
    var c = document.createElement('canvas');
    c.width = 480; c.height = 360;
    var g = c.getContext('2d');
    g.fillStyle = '#fff'; g.fillRect(0, 0, c.width, c.height);
    g.drawImage(img, 110, 50, 260, 260);
    var frame = g.getImageData(0, 0, c.width, c.height);
    var scanner = document.querySelector('form[data-camera]').kitroomScanner;
    var reads = [];
    var step = function (i) {
      if (i >= times) { done({ reads: reads, decoder: typeof window.jsQR }); return; }
      scanner.decodeFrame(frame).then(function (text) { reads.push(text); step(i + 1); });
    };
    step(0);
  })
  .catch(function (e) { done({ error: String(e) }); });
"#;

async fn decode_label(b: &Browser, tag: &str, times: u32) -> Value {
    b.client
        .execute_async(DECODE_LABEL, vec![json!(tag), json!(times)])
        .await
        .unwrap_or_else(|e| panic!("decoding {tag}'s label: {e}"))
}

/// Waits (up to five seconds) until `css`'s text contains `want`; gives the text.
async fn wait_for_text(b: &Browser, css: &str, want: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let got = b.text(css).await;
        if got.contains(want) {
            return got;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{css} should say {want:?}, got {got:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

/// A person at the trolley could not scan a label with the phone's camera inside
/// Kitroom, or in a stocktake had to leave the page (and tap back) for every label.
pub async fn the_camera_reads_a_label_on_the_home_page_and_keeps_scanning_in_a_stocktake(
    app: TestApp,
    b: Browser,
) {
    let sbm = app.api_token("sbm", "manager").await;
    for tag in ["CB-101", "CB-102", "CB-103"] {
        let r = app
            .api_post(
                &sbm,
                "/api/v1/devices",
                &json!({"tag": tag, "kind": "chromebook", "location": "Computer room"}),
            )
            .await;
        assert_eq!(r.status(), 201, "{tag}");
    }

    // the decoder is served as a script, and the policy allows it without eval
    let r = reqwest::get(app.url("/static/jsQR.js")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "text/javascript; charset=utf-8"
    );
    let csp = r.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(csp.contains("script-src 'self'"), "{csp}");
    assert!(!csp.contains("unsafe-eval") && !csp.contains("unsafe-inline"));
    assert!(r.text().await.unwrap().contains("jsQR"));
    let licence = reqwest::get(app.url("/static/jsQR.LICENSE.txt"))
        .await
        .unwrap();
    assert_eq!(licence.status(), 200);
    assert!(licence.text().await.unwrap().contains("Apache License"));

    b.open("/login").await;
    b.wait_for_path("/login").await;
    b.fill("username", "sbm").await;
    b.fill("password", PASSWORD).await;
    b.click_to_next_page("form[action='/login'] button[type=submit]")
        .await;
    b.wait_for_path("/").await;

    // home: the button is there; a label read opens the device's page
    assert!(
        b.find("form[data-camera='open'] .camera-start")
            .await
            .is_displayed()
            .await
            .unwrap(),
        "\"Scan with the camera\" is shown beside the find box"
    );
    assert_eq!(b.text(".camera-start").await, "Scan with the camera");
    b.screenshot("camera-home").await;
    let read = decode_label(&b, "CB-102", 1).await;
    assert!(read.get("error").is_none(), "{read}");
    assert!(
        read["reads"][0]
            .as_str()
            .unwrap_or("")
            .ends_with("/d/CB-102"),
        "the label's address is read: {read}"
    );
    assert_eq!(read["decoder"], "function", "jsQR was loaded: {read}");
    b.wait_for_path("/devices/CB-102").await;
    assert!(b.text("h1").await.starts_with("CB-102"));

    // a stocktake: each label read is sent in place, the camera stays, one label
    // held up is counted once
    b.open("/stocktakes").await;
    b.choose_label("location", "Computer room (3)").await;
    b.click_to_next_page("form.scan button[type=submit]").await;
    let stocktake = b.path().await;
    assert!(stocktake.starts_with("/stocktakes/"), "{stocktake}");
    assert_eq!(b.text(".progress-text").await, "0 of 3 seen");
    assert!(
        b.find("form[data-camera='continuous'] .camera-start")
            .await
            .is_displayed()
            .await
            .unwrap(),
        "the stocktake has the camera button"
    );
    b.eval("window.kitroomStayed = true; return null").await;

    let read = decode_label(&b, "CB-101", 3).await;
    assert!(read.get("error").is_none(), "{read}");
    let status = wait_for_text(&b, ".camera-status", "CB-101 seen").await;
    assert_eq!(status, "✓ CB-101 seen.", "counted once, not 'already seen'");
    wait_for_text(&b, ".progress-text", "1 of 3 seen").await;
    decode_label(&b, "CB-103", 1).await;
    wait_for_text(&b, ".camera-status", "✓ CB-103 seen.").await;
    wait_for_text(&b, ".progress-text", "2 of 3 seen").await;
    assert_eq!(
        b.texts("ul.unseen li strong").await,
        ["CB-102"],
        "the list of devices not seen follows"
    );
    assert_eq!(b.path().await, stocktake);
    assert_eq!(
        b.eval("return window.kitroomStayed === true").await,
        true,
        "the page was never left, so a camera would have stayed open"
    );
    b.screenshot("camera-stocktake").await;

    // typing (or a USB scanner) still works as before
    b.scan_to_next_page("CB-102").await;
    b.wait_for_path(&stocktake).await;
    assert_eq!(b.text(".progress-text").await, "3 of 3 seen");
}
