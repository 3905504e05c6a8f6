//! The browser: one chromedriver process for the run, and a fresh headless Chromium
//! (its own profile, phone-sized) for each journey, with helpers that wait the way a
//! person would (for the next page, for an element) and fail with the page's address.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::elements::Element;
use fantoccini::error::CmdError;
use fantoccini::wd::{Capabilities, TimeoutConfiguration};
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// How long a step may take before the journey fails: generous, as CI machines are slow.
const STEP: Duration = Duration::from_secs(15);

/// The phone the pages are checked on (an iPhone 12-15's viewport, in CSS pixels).
pub const PHONE: (u32, u32) = (390, 844);

/// Where the browser and its driver are.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromedriver: PathBuf,
    pub chrome: PathBuf,
}

impl Tools {
    /// `CHROMEDRIVER` and `CHROME_BIN`, or Debian's paths. A program named in the
    /// environment must exist there; the defaults are also looked for on `PATH`.
    /// If one is missing: its name, and where it was looked for.
    pub fn find() -> Result<Tools, (&'static str, String)> {
        let chromedriver = program("CHROMEDRIVER", "/usr/bin/chromedriver", "chromedriver")
            .map_err(|looked| ("chromedriver", looked))?;
        let chrome = program("CHROME_BIN", "/usr/bin/chromium", "chromium")
            .map_err(|looked| ("chromium", looked))?;
        Ok(Tools {
            chromedriver,
            chrome,
        })
    }
}

fn program(var: &str, default: &str, name: &str) -> Result<PathBuf, String> {
    if let Some(set) = std::env::var_os(var).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(&set);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(format!("{} from ${var}", path.display()))
        };
    }
    if Path::new(default).is_file() {
        return Ok(default.into());
    }
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("{default} and {name} on PATH"))
}

/// A running chromedriver, killed when this is dropped, so a failed run leaves no
/// process behind.
#[derive(Debug)]
pub struct Chromedriver {
    child: Child,
    pub url: String,
    chrome: PathBuf,
}

impl Chromedriver {
    /// Starts chromedriver on a free port and waits until it answers `/status`.
    pub fn start(tools: &Tools) -> Result<Chromedriver, String> {
        let mut last = String::new();
        // The port is found free, then released for chromedriver to take: another
        // process could take it in between, so try a few.
        for _ in 0..3 {
            let port = free_port()?;
            let quiet = std::env::var_os("TEST_LOG").is_none();
            let output = || {
                if quiet {
                    Stdio::null()
                } else {
                    Stdio::inherit()
                }
            };
            let child = Command::new(&tools.chromedriver)
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(output())
                .stderr(output())
                .spawn()
                .map_err(|e| format!("{} would not start: {e}", tools.chromedriver.display()))?;
            let mut driver = Chromedriver {
                child,
                url: format!("http://127.0.0.1:{port}"),
                chrome: tools.chrome.clone(),
            };
            match driver.wait_until_ready(port) {
                Ok(()) => return Ok(driver),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    fn wait_until_ready(&mut self, port: u16) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("chromedriver exited at start ({status})"));
            }
            if status_is_ready(port) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err("chromedriver did not answer /status within 20 seconds".into())
    }

    /// A new browser session: headless Chromium at a phone's size with a profile of
    /// its own.
    pub async fn session(&self, base: &str) -> Browser {
        let profile = tempfile::tempdir().expect("a temporary profile directory");
        let (w, h) = PHONE;
        let args = [
            "--headless=new".to_owned(),
            "--no-sandbox".to_owned(),
            "--disable-gpu".to_owned(),
            "--disable-dev-shm-usage".to_owned(),
            "--disable-quic".to_owned(),
            "--no-first-run".to_owned(),
            "--disable-background-networking".to_owned(),
            "--disable-component-update".to_owned(),
            "--disable-sync".to_owned(),
            format!("--window-size={w},{h}"),
            format!("--user-data-dir={}", profile.path().display()),
        ];
        let serde_json::Value::Object(caps) = json!({
            "browserName": "chrome",
            "pageLoadStrategy": "normal",
            "goog:chromeOptions": {
                "binary": self.chrome.to_string_lossy(),
                "args": args,
                // Headless Chromium keeps a window at least 500px wide whatever
                // --window-size says; emulating the phone's screen gives the page
                // the 390px viewport it would have on one.
                "mobileEmulation": {
                    "deviceMetrics": { "width": w, "height": h, "pixelRatio": 1.0 },
                },
            },
        }) else {
            unreachable!("a JSON object")
        };
        let caps: Capabilities = caps;
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .unwrap_or_else(|e| panic!("chromedriver could not start Chromium: {e}"));
        client
            .update_timeouts(TimeoutConfiguration::new(
                Some(STEP),
                Some(Duration::from_secs(30)),
                Some(Duration::ZERO),
            ))
            .await
            .expect("set timeouts");
        Browser {
            client,
            base: base.to_owned(),
            driver: self.url.clone(),
            _profile: std::sync::Arc::new(profile),
        }
    }
}

impl Drop for Chromedriver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0")
        .map_err(|e| format!("no free port for chromedriver: {e}"))?;
    listener
        .local_addr()
        .map(|a| a.port())
        .map_err(|e| format!("no free port for chromedriver: {e}"))
}

/// Asks chromedriver's `/status` whether it is ready, over a plain socket (this runs
/// before any async runtime exists). Chromedriver ignores HTTP/1.0 and keeps the
/// connection open even when asked to close it, so the answer is read only until
/// its `ready` field arrives.
fn status_is_ready(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
    let request =
        format!("GET /status HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    if stream.write_all(request.as_bytes()).is_err() {
        return false;
    }
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        answer.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&answer).replace(char::is_whitespace, "");
        if text.contains("\"ready\":true") {
            return text.starts_with("HTTP/1.1200");
        }
        if text.contains("\"ready\":false") {
            return false;
        }
    }
    false
}

/// A browser session on one Kitroom server. Cheap to clone: clones share the session.
#[derive(Clone)]
pub struct Browser {
    pub client: Client,
    base: String,
    /// Chromedriver's address, for the commands fantoccini does not have.
    driver: String,
    _profile: std::sync::Arc<tempfile::TempDir>,
}

impl Browser {
    /// Opens a page of the app, as if its address were typed in.
    pub async fn open(&self, path: &str) {
        let url = format!("{}{path}", self.base);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("could not open {path}: {e}"));
        self.wait_until_loaded().await;
    }

    /// The path (and query) of the page on screen.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("current URL");
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// Waits until the page on screen has this path (query string ignored).
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            let url = self.client.current_url().await.expect("current URL");
            if url.path() == path {
                return;
            }
            if Instant::now() > deadline {
                panic!("expected to be on {path}, but the browser is on {url}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The element matching a CSS selector, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(STEP)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(e) => e,
            Err(e) => panic!("no `{css}` on {}: {e}", self.path().await),
        }
    }

    /// Whether an element matching a CSS selector is on the page now (no waiting).
    pub async fn has(&self, css: &str) -> bool {
        match self.client.find(Locator::Css(css)).await {
            Ok(_) => true,
            Err(e) if e.is_no_such_element() => false,
            Err(e) => panic!("looking for `{css}`: {e}"),
        }
    }

    /// The visible text of the element matching a CSS selector.
    pub async fn text(&self, css: &str) -> String {
        self.find(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("text of `{css}`: {e}"))
    }

    /// What a form field holds now.
    pub async fn value(&self, css: &str) -> String {
        self.find(css)
            .await
            .prop("value")
            .await
            .unwrap_or_else(|e| panic!("value of `{css}`: {e}"))
            .unwrap_or_default()
    }

    /// Types into the field with this id, replacing what it held, as a person would.
    pub async fn fill(&self, id: &str, text: &str) {
        let field = self.find(&format!("#{id}")).await;
        field
            .clear()
            .await
            .unwrap_or_else(|e| panic!("clearing #{id}: {e}"));
        field
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into #{id}: {e}"));
    }

    /// Chooses an option of the drop-down with this id, by its value.
    pub async fn choose(&self, id: &str, value: &str) {
        self.find(&format!("select#{id}"))
            .await
            .select_by_value(value)
            .await
            .unwrap_or_else(|e| panic!("choosing {value} in #{id}: {e}"));
    }

    /// Chooses an option of the drop-down with this id, by the words it shows.
    pub async fn choose_label(&self, id: &str, label: &str) {
        self.find(&format!("select#{id}"))
            .await
            .select_by_label(label)
            .await
            .unwrap_or_else(|e| panic!("choosing “{label}” in #{id}: {e}"));
    }

    /// Ticks the checkbox with this id by clicking its label, as a person would.
    pub async fn tick(&self, id: &str) {
        let label = self.find(&format!("label[for={id}]")).await;
        // Scrolled to first, as a person would: with the phone's screen emulated,
        // chromedriver does not scroll to what it clicks.
        self.client
            .execute(
                "arguments[0].scrollIntoView({ block: 'center' });",
                vec![json!(label)],
            )
            .await
            .unwrap_or_else(|e| panic!("scrolling to the label of #{id}: {e}"));
        label
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking the label of #{id}: {e}"));
        let ticked = self
            .find(&format!("#{id}"))
            .await
            .is_selected()
            .await
            .expect("checkbox state");
        assert!(ticked, "#{id} is ticked after clicking its label");
    }

    /// Sets a date input to `yyyy-mm-dd`. Typing into a date input depends on the
    /// browser's locale (the segments are dd/mm/yyyy or mm/dd/yyyy), so the value is
    /// set as the date picker would set it, with the same events.
    pub async fn set_date(&self, id: &str, date: &str) {
        let field = self.find(&format!("input[type=date]#{id}")).await;
        self.client
            .execute(
                "arguments[0].value = arguments[1];
                 arguments[0].dispatchEvent(new Event('input', { bubbles: true }));
                 arguments[0].dispatchEvent(new Event('change', { bubbles: true }));
                 return arguments[0].value;",
                vec![json!(field), json!(date)],
            )
            .await
            .unwrap_or_else(|e| panic!("setting #{id} to {date}: {e}"));
        assert_eq!(
            self.value(&format!("#{id}")).await,
            date,
            "#{id} took the date"
        );
    }

    /// Clicks something that leads to another page (a link, a submit button) and
    /// waits until that page has replaced this one and finished loading.
    pub async fn click_to_next_page(&self, css: &str) {
        let old = self.find("html").await;
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
        self.wait_for_next_page(old, &format!("clicking `{css}`"))
            .await;
    }

    /// Presses Enter in the field with this id (a phone keyboard's "Go") and waits
    /// for the page the form leads to.
    pub async fn press_enter_to_next_page(&self, id: &str) {
        let old = self.find("html").await;
        self.find(&format!("#{id}"))
            .await
            .send_keys(&char::from(fantoccini::key::Key::Enter).to_string())
            .await
            .unwrap_or_else(|e| panic!("pressing Enter in #{id}: {e}"));
        self.wait_for_next_page(old, &format!("pressing Enter in #{id}"))
            .await;
    }

    /// Types as a USB barcode scanner does: the text, then Enter, into whatever has
    /// the focus (no click first), and waits for the page the form leads to.
    pub async fn scan_to_next_page(&self, text: &str) {
        let old = self.find("html").await;
        let focused = self
            .client
            .active_element()
            .await
            .unwrap_or_else(|e| panic!("what has the focus: {e}"));
        let enter = char::from(fantoccini::key::Key::Enter);
        focused
            .send_keys(&format!("{text}{enter}"))
            .await
            .unwrap_or_else(|e| panic!("scanning {text}: {e}"));
        self.wait_for_next_page(old, &format!("scanning {text}"))
            .await;
    }

    /// Fetches a link's target with this browser's cookies, without showing it: for
    /// a download, which the browser would save rather than show. `href` is
    /// resolved against the page on screen, as the browser resolves a link.
    pub async fn download(&self, href: &str) -> Download {
        let page = self.client.current_url().await.expect("current URL");
        let url = page
            .join(href)
            .unwrap_or_else(|e| panic!("the link {href:?} on {page}: {e}"));
        let cookies = self
            .client
            .get_all_cookies()
            .await
            .expect("the browser's cookies")
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let response = reqwest::Client::new()
            .get(url.as_str())
            .header(reqwest::header::COOKIE, cookies)
            .send()
            .await
            .unwrap_or_else(|e| panic!("downloading {url}: {e}"));
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_owned()
        };
        let (content_type, disposition) = (
            header(reqwest::header::CONTENT_TYPE),
            header(reqwest::header::CONTENT_DISPOSITION),
        );
        Download {
            status: response.status().as_u16(),
            content_type,
            disposition,
            body: response
                .text()
                .await
                .unwrap_or_else(|e| panic!("downloading {url}: {e}")),
        }
    }

    /// Waits until `old`, the previous page's root, is gone, then for the new page
    /// to finish loading. Chromedriver usually says "stale element reference" for
    /// an element of a page that has gone, but while the next page replaces it, it
    /// can also answer "unknown error: … Node with given id does not belong to the
    /// document": any WebDriver error about the old element means the page went.
    async fn wait_for_next_page(&self, old: Element, what: &str) {
        let deadline = Instant::now() + STEP;
        loop {
            match old.tag_name().await {
                Err(CmdError::Standard(_)) => break,
                Err(e) => panic!("waiting for the page after {what}: {e}"),
                Ok(_) if Instant::now() > deadline => {
                    panic!("{what} on {} did not lead to a new page", self.path().await)
                }
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
            }
        }
        self.wait_until_loaded().await;
    }

    /// The value beside a label in a summary list (`<dt>label</dt><dd>value</dd>`).
    pub async fn summary(&self, label: &str) -> String {
        let xpath = format!("//dl[contains(@class,'summary')]/dt[normalize-space()='{label}']/following-sibling::dd[1]");
        let found = self
            .client
            .wait()
            .at_most(STEP)
            .for_element(Locator::XPath(&xpath))
            .await;
        match found {
            Ok(dd) => dd.text().await.expect("summary text"),
            Err(e) => panic!("no “{label}” in a summary on {}: {e}", self.path().await),
        }
    }

    /// The texts of every element matching a CSS selector (none is fine).
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for e in self
            .client
            .find_all(Locator::Css(css))
            .await
            .unwrap_or_else(|e| panic!("finding `{css}`: {e}"))
        {
            texts.push(e.text().await.expect("text"));
        }
        texts
    }

    /// Runs a line of JavaScript on the page and returns its answer.
    pub async fn eval(&self, script: &str) -> serde_json::Value {
        self.client
            .execute(script, vec![])
            .await
            .unwrap_or_else(|e| panic!("running `{script}`: {e}"))
    }

    /// Waits for the page to finish loading. Asking while one page replaces another
    /// can fail with a WebDriver error; then it asks again.
    async fn wait_until_loaded(&self) {
        let deadline = Instant::now() + STEP;
        loop {
            match self
                .client
                .execute("return document.readyState", vec![])
                .await
            {
                Ok(state) if state == "complete" => return,
                Ok(_) | Err(CmdError::Standard(_)) => {}
                Err(e) => panic!("document.readyState on {}: {e}", self.path().await),
            }
            if Instant::now() > deadline {
                panic!("{} did not finish loading", self.path().await);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Makes the window `(width, height)` CSS pixels, as that phone's or laptop's
    /// screen would be (a phone's below 700 pixels wide), without reloading the page.
    /// Headless Chromium's window cannot be made narrower than 500 pixels, so the
    /// screen is emulated, through chromedriver's DevTools command.
    pub async fn set_viewport(&self, (width, height): (u32, u32)) {
        let session = self
            .client
            .session_id()
            .await
            .expect("the session's id")
            .expect("a session");
        let answer = reqwest::Client::new()
            .post(format!(
                "{}/session/{session}/goog/cdp/execute",
                self.driver
            ))
            .json(&json!({
                "cmd": "Emulation.setDeviceMetricsOverride",
                "params": {
                    "width": width,
                    "height": height,
                    "deviceScaleFactor": 1,
                    "mobile": width < 700,
                },
            }))
            .send()
            .await
            .unwrap_or_else(|e| panic!("making the window {width}x{height}: {e}"));
        assert!(
            answer.status().is_success(),
            "making the window {width}x{height}: {}",
            answer.text().await.unwrap_or_default()
        );
    }

    /// The page's width and the window's, in CSS pixels, the window's being at most
    /// `set`, the width the test gave it ([`PHONE`], [`Browser::set_viewport`]).
    /// Not `window.innerWidth` alone: an emulated phone, like a real one, widens its
    /// layout viewport to fit a page that is too wide, so the page would always
    /// seem to fit.
    pub async fn page_and_window_width(&self, set: u32) -> (i64, i64) {
        let widths = self
            .eval("return [document.documentElement.scrollWidth, window.innerWidth]")
            .await;
        let (page, window) = (
            widths[0].as_i64().unwrap_or(0),
            widths[1].as_i64().unwrap_or(0),
        );
        (page, window.min(i64::from(set)))
    }

    /// How many pixels the page is wider than the window `set` pixels wide: above
    /// 0, a person on that phone has to scroll sideways.
    pub async fn overflow_x(&self, set: u32) -> i64 {
        let (page, window) = self.page_and_window_width(set).await;
        page - window
    }

    /// A PNG of one element, saved as `target/browser-screenshots/{name}.png`. The
    /// element is scrolled to the middle of the window first: with the phone's
    /// screen emulated, chromedriver does not scroll it into view itself, and an
    /// element partly below the window comes out cut off.
    pub async fn element_screenshot(&self, element: &Element, name: &str) -> Vec<u8> {
        self.client
            .execute(
                "arguments[0].scrollIntoView({ block: 'center', inline: 'center' });",
                vec![json!(element)],
            )
            .await
            .unwrap_or_else(|e| panic!("scrolling to {name}: {e}"));
        let png = element
            .screenshot()
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"));
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, &png).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        png
    }

    /// Saves a PNG of the window as `target/browser-screenshots/{name}.png`.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        self.save_screenshot(name)
            .await
            .unwrap_or_else(|e| panic!("screenshot {name}: {e}"))
    }

    /// [`Browser::screenshot`], for when a failure must not hide another.
    pub async fn save_screenshot(&self, name: &str) -> Result<PathBuf, String> {
        let png = self.client.screenshot().await.map_err(|e| e.to_string())?;
        let dir = screenshot_dir();
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(path)
    }
}

/// A file as [`Browser::download`] fetched it.
#[derive(Debug)]
pub struct Download {
    pub status: u16,
    pub content_type: String,
    /// `Content-Disposition`: whether the browser saves it, and under what name.
    pub disposition: String,
    pub body: String,
}

/// `target/browser-screenshots/`, wherever the target directory is.
pub fn screenshot_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).join("browser-screenshots")
}
