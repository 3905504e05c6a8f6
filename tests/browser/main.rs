//! Real-browser journeys: Kitroom's pages in headless Chromium at a phone's size,
//! driven through chromedriver, against a real server from [`kitroom_tests`].
//!
//! The HTTP tests check what the server answers; these check what a person sees and
//! does: that the forms can be filled in and submitted in a real browser, that the
//! script and the styles do not get in the way, and that the pages fit a phone.
//!
//! This binary is its own test harness (`libtest-mimic`), so it runs under both
//! `cargo test` and `cargo nextest`, and a missing browser is never a pass:
//! - with Chromium and chromedriver installed, each journey runs in a fresh browser
//!   with its own profile, all sharing one chromedriver started for this run;
//! - without them, the journeys are reported as ignored and a line on stderr says
//!   so, except when `CI` is set: then every journey fails, because `.ci/run` should
//!   have installed them.
//!
//! `CHROME_BIN` and `CHROMEDRIVER` override where the browser and its driver are.
//! Screenshots go to `target/browser-screenshots/`, including one of any failure.
//!
//! # Layout
//! - `main.rs`: the harness: finds the browser, runs each journey in its own runtime
//!   and browser, and reports failures with the page's address and a screenshot.
//! - [`driver`]: the chromedriver process, browser sessions, and helpers that wait
//!   as a person would (for the next page, for an element to appear).
//! - [`journeys`]: the journeys, each with a line saying what a person would notice
//!   if it broke.
//! - [`pages`]: every page for every role at 320 and 1366 pixels wide: no sideways
//!   scrolling, and nothing axe-core faults against WCAG 2.2 AA.
//! - [`qr`]: reads the QR codes in a screenshot, as a phone's camera would.

mod camera;
mod driver;
mod journeys;
mod pages;
mod qr;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use driver::{Browser, Chromedriver, Tools};
use kitroom_tests::oidc::{spawn_app_with_oidc, OidcProvider};
use kitroom_tests::smtp::SmtpSink;
use kitroom_tests::{spawn_app, spawn_app_with_mail, TestApp};
use libtest_mimic::{Arguments, Failed, Trial};

/// A journey's future. Not `Send`: [`TestApp::add_user`]'s future is not (it reads
/// the password from a `&mut dyn BufRead`), so journeys run on a
/// [`tokio::task::LocalSet`].
type Run = Pin<Box<dyn Future<Output = ()>>>;

/// A journey: given a fresh server and a browser session on it, it drives the pages
/// and panics, as tests do, at the first thing a person would see go wrong.
#[derive(Clone, Copy)]
enum Journey {
    /// On a server that sends no email.
    Plain(fn(TestApp, Browser) -> Run),
    /// On a server that sends its email to the [`SmtpSink`] it is given, retrying
    /// after [`MAIL_RETRY`].
    WithMail(fn(TestApp, SmtpSink, Browser) -> Run),
    /// On a server that signs in with a real OpenID provider on loopback
    /// (tests/oidc). Where the provider is not installed (and CI is not set) the
    /// journey is skipped, with a line saying so.
    WithProvider(fn(TestApp, OidcProvider, Browser) -> Run),
}

/// How soon a mail server that did not answer is tried again, in the journeys that
/// send email.
const MAIL_RETRY: Duration = Duration::from_millis(200);

impl Journey {
    /// Starts the journey's server and a browser on it; the browser is returned too,
    /// so it can still be looked at and closed after the journey panics.
    async fn start(self, driver: &Chromedriver) -> (Browser, Run) {
        match self {
            Journey::Plain(journey) => {
                let app = spawn_app().await;
                // The journeys are not about two-step sign-in (tests/http/security.rs is).
                app.do_not_require_two_factor().await;
                let browser = driver.session(&app.base).await;
                (browser.clone(), journey(app, browser))
            }
            Journey::WithMail(journey) => {
                let sink = SmtpSink::start().await;
                let app = spawn_app_with_mail(&sink.url(), MAIL_RETRY).await;
                app.do_not_require_two_factor().await;
                let browser = driver.session(&app.base).await;
                (browser.clone(), journey(app, sink, browser))
            }
            Journey::WithProvider(journey) => match spawn_app_with_oidc().await {
                Some((app, provider)) => {
                    app.do_not_require_two_factor().await;
                    let browser = driver.session(&app.base).await;
                    (browser.clone(), journey(app, provider, browser))
                }
                None => {
                    let app = spawn_app().await;
                    let browser = driver.session(&app.base).await;
                    (browser, Box::pin(async {}))
                }
            },
        }
    }
}

const JOURNEYS: &[(&str, Journey)] = &[
    // issue 17, the last items (lane `finish17`)
    (
        "a_page_wider_than_the_phone_fails_the_phone_check",
        Journey::Plain(|app, b| {
            Box::pin(journeys::a_page_wider_than_the_phone_fails_the_phone_check(
                app, b,
            ))
        }),
    ),
    (
        "the_import_pages_fit_and_pass_axe",
        Journey::Plain(|app, b| Box::pin(pages::the_import_pages_fit_and_pass_axe(app, b))),
    ),
    // issue 19: the trust's own pages
    (
        "the_trusts_pages_fit_and_pass_axe",
        Journey::Plain(|app, b| Box::pin(pages::the_trusts_pages_fit_and_pass_axe(app, b))),
    ),
    // end of lane `finish17`
    // issue 17, one way to show an error (lane `forms`)
    (
        "a_return_with_every_problem_shows_them_all_at_once_on_a_phone",
        Journey::Plain(|app, b| {
            Box::pin(
                journeys::a_return_with_every_problem_shows_them_all_at_once_on_a_phone(app, b),
            )
        }),
    ),
    (
        "first_start_creates_the_admin_and_opens_the_register",
        Journey::Plain(|app, b| {
            Box::pin(journeys::first_start_creates_the_admin_and_opens_the_register(app, b))
        }),
    ),
    (
        "a_manager_signs_in_registers_a_device_and_finds_it",
        Journey::Plain(|app, b| {
            Box::pin(journeys::a_manager_signs_in_registers_a_device_and_finds_it(app, b))
        }),
    ),
    (
        "a_refused_device_form_keeps_what_was_typed",
        Journey::Plain(|app, b| {
            Box::pin(journeys::a_refused_device_form_keeps_what_was_typed(app, b))
        }),
    ),
    (
        "a_borrower_signs_the_policy_checks_out_by_the_label_and_returns_it",
        Journey::Plain(|app, b| {
            Box::pin(
                journeys::a_borrower_signs_the_policy_checks_out_by_the_label_and_returns_it(
                    app, b,
                ),
            )
        }),
    ),
    (
        "a_crafted_sign_in_link_leads_back_into_kitroom",
        Journey::Plain(|app, b| {
            Box::pin(journeys::a_crafted_sign_in_link_leads_back_into_kitroom(
                app, b,
            ))
        }),
    ),
    (
        "a_manager_sets_up_two_step_sign_in_and_signs_in_with_a_code",
        Journey::Plain(|app, b| {
            Box::pin(journeys::a_manager_sets_up_two_step_sign_in_and_signs_in_with_a_code(app, b))
        }),
    ),
    (
        "a_teacher_signs_in_with_the_school_account",
        Journey::WithProvider(|app, provider, b| {
            Box::pin(journeys::a_teacher_signs_in_with_the_school_account(
                app, provider, b,
            ))
        }),
    ),
    (
        "the_label_sheets_qr_codes_decode_to_the_devices_urls",
        Journey::Plain(|app, b| {
            Box::pin(journeys::the_label_sheets_qr_codes_decode_to_the_devices_urls(app, b))
        }),
    ),
    (
        "a_borrower_reports_a_lost_device_and_the_manager_resolves_it",
        Journey::WithMail(|app, sink, b| {
            Box::pin(
                journeys::a_borrower_reports_a_lost_device_and_the_manager_resolves_it(
                    app, sink, b,
                ),
            )
        }),
    ),
    (
        "a_manager_scans_a_stocktake_closes_it_and_downloads_the_missing_list",
        Journey::Plain(|app, b| {
            Box::pin(
                journeys::a_manager_scans_a_stocktake_closes_it_and_downloads_the_missing_list(
                    app, b,
                ),
            )
        }),
    ),
    (
        "a_teacher_books_the_trolley_for_period_3_collects_it_and_returns_it_with_an_ipad_missing",
        Journey::Plain(|app, b| {
            Box::pin(
                journeys::a_teacher_books_the_trolley_for_period_3_collects_it_and_returns_it_with_an_ipad_missing(
                    app, b,
                ),
            )
        }),
    ),
    // Scanning with the camera inside the page (issue 17, lane C)
    (
        "the_camera_reads_a_label_on_the_home_page_and_keeps_scanning_in_a_stocktake",
        Journey::Plain(|app, b| {
            Box::pin(
                camera::the_camera_reads_a_label_on_the_home_page_and_keeps_scanning_in_a_stocktake(
                    app, b,
                ),
            )
        }),
    ),
];

/// The most one journey may take, so a stuck browser fails the run instead of
/// hanging it.
const JOURNEY_LIMIT: Duration = Duration::from_secs(120);

// ---- Every page for every role (issue 17, item 8): see `pages.rs` ----

/// One check per role, each opening all of that role's pages twice (phone and
/// laptop) and running axe-core on each.
const PAGE_CHECKS: &[(&str, Journey)] = &[
    (
        "every_page_fits_and_passes_axe_for_a_borrower",
        Journey::Plain(|app, b| {
            Box::pin(pages::every_page_fits_and_passes_axe_for_a_borrower(app, b))
        }),
    ),
    (
        "every_page_fits_and_passes_axe_for_the_head",
        Journey::Plain(|app, b| {
            Box::pin(pages::every_page_fits_and_passes_axe_for_the_head(app, b))
        }),
    ),
    (
        "every_page_fits_and_passes_axe_for_the_manager",
        Journey::Plain(|app, b| {
            Box::pin(pages::every_page_fits_and_passes_axe_for_the_manager(
                app, b,
            ))
        }),
    ),
    (
        "every_page_fits_and_passes_axe_for_the_admin",
        Journey::Plain(|app, b| {
            Box::pin(pages::every_page_fits_and_passes_axe_for_the_admin(app, b))
        }),
    ),
];

/// The most one of [`PAGE_CHECKS`] may take: some sixty pages, twice each.
const PAGE_CHECK_LIMIT: Duration = Duration::from_secs(600);

/// Every trial of this binary, with the most it may take.
fn trials() -> impl Iterator<Item = (&'static str, Journey, Duration)> {
    let journeys = JOURNEYS.iter().map(|&(n, j)| (n, j, JOURNEY_LIMIT));
    let pages = PAGE_CHECKS.iter().map(|&(n, j)| (n, j, PAGE_CHECK_LIMIT));
    journeys.chain(pages)
}
// ---- end of every page for every role ----

/// Chromedriver, started by the first journey that needs it.
type SharedDriver = Arc<OnceLock<Result<Chromedriver, String>>>;

fn main() -> ExitCode {
    let args = Arguments::from_args();
    let in_ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
    let driver: SharedDriver = Arc::default();
    let trials: Vec<Trial> = match Tools::find() {
        Ok(tools) => trials()
            .map(|(name, journey, limit)| {
                let (driver, tools) = (driver.clone(), tools.clone());
                Trial::test(name, move || run(&driver, &tools, name, journey, limit))
            })
            .collect(),
        Err((missing, looked)) => {
            let message = format!(
                "{missing} not found; .ci/run must install chromium and chromium-driver \
                 (looked for {looked})"
            );
            if !in_ci && !args.list {
                eprintln!("browser tests SKIPPED: chromium/chromedriver not installed");
                eprintln!("  ({message}; set CI=1 to make this a failure)");
            }
            trials()
                .map(|(name, _, _)| {
                    let message = message.clone();
                    // Run anyway (`--include-ignored`), it fails: it never passes.
                    Trial::test(name, move || Err(message.into())).with_ignored_flag(!in_ci)
                })
                .collect()
        }
    };
    let conclusion = libtest_mimic::run(&args, trials);
    // Stops chromedriver (and any browser it still runs) before the process exits.
    drop(driver);
    conclusion.exit_code()
}

/// Runs one journey on its own runtime, server and browser session, and turns a
/// panic into a failure that says where the browser was, with a screenshot.
fn run(
    driver: &SharedDriver,
    tools: &Tools,
    name: &str,
    journey: Journey,
    limit: Duration,
) -> Result<(), Failed> {
    let driver = driver
        .get_or_init(|| Chromedriver::start(tools))
        .as_ref()
        .map_err(|e| Failed::from(format!("chromedriver did not start: {e}")))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("tokio runtime: {e}"))?;
    // A failure's screenshot from an earlier run would mislead.
    let failure_shot = format!("{name}-failure");
    let _ = std::fs::remove_file(driver::screenshot_dir().join(format!("{failure_shot}.png")));
    runtime.block_on(async {
        let (browser, journey) = journey.start(driver).await;
        // Spawned so that a panic comes back here, where the browser can still be
        // looked at and closed.
        let local = tokio::task::LocalSet::new();
        let task = local.spawn_local(journey);
        let outcome = tokio::time::timeout(limit, local.run_until(task)).await;
        let failure = match outcome {
            Ok(Ok(())) => None,
            Ok(Err(e)) if e.is_panic() => Some(panic_message(e.into_panic())),
            Ok(Err(e)) => Some(format!("the journey stopped: {e}")),
            Err(_) => Some(format!(
                "the journey took longer than {} seconds",
                limit.as_secs()
            )),
        };
        let result = match failure {
            None => Ok(()),
            Some(message) => {
                let page = match browser.client.current_url().await {
                    Ok(url) => url.to_string(),
                    Err(e) => format!("unknown ({e})"),
                };
                let screenshot = match browser.save_screenshot(&failure_shot).await {
                    Ok(path) => path.display().to_string(),
                    Err(e) => format!("none ({e})"),
                };
                Err(Failed::from(format!(
                    "{message}\n  page: {page}\n  screenshot: {screenshot}"
                )))
            }
        };
        let _ = browser.client.clone().close().await;
        result
    })
}

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "the journey panicked".into())
}
