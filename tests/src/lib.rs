//! What the black-box tests share: a real Kitroom server on a random port over a
//! temporary data directory, and typed helpers that read like the journeys.
//!
//! Each [`TestApp`] has its own SQLite file and its own server, bound to
//! `127.0.0.1:0` before it is spawned, so tests run in parallel without port races.
//! Set `TEST_LOG=1` to see the server's logs.

use std::io::Cursor;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Once;

use kitroom::server::Running;
use kitroom_core::person::PersonInput;
use reqwest::{Client, Response};

pub mod oidc;
pub mod pages;
pub mod postgres;
pub mod smtp;

pub const PASSWORD: &str = "correct horse battery";

/// What the harness knows of an account's two-step sign-in, as a person keeps it
/// in their authenticator app and on paper.
#[derive(Debug, Clone)]
pub struct Authenticator {
    /// The secret, from the setup page's "type a key instead" text (base32).
    pub secret: String,
    /// The last 30-second step the harness sent a code for: Kitroom accepts each
    /// code once.
    pub last_step: u64,
    pub recovery_codes: Vec<String>,
}

pub struct TestApp {
    pub addr: SocketAddr,
    pub base: String,
    pub dir: tempfile::TempDir,
    pub setup_token: Option<String>,
    config: kitroom_web::Config,
    running: Option<Running>,
    authenticators: std::sync::Mutex<std::collections::HashMap<String, Authenticator>>,
    /// Held through the second step of signing in, so that clients signing in at
    /// once never pick the same code or type one that was just replaced.
    second_step: tokio::sync::Mutex<()>,
    /// The client the `api_*` helpers share, as one program calling the API would.
    api: Client,
}

fn init_logs() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        if std::env::var_os("TEST_LOG").is_some() {
            let _ = tracing_subscriber::fmt()
                .with_env_filter("info,sqlx=warn")
                .with_test_writer()
                .try_init();
        }
    });
}

/// Starts Kitroom on an empty data directory.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(kitroom_web::Config::default()).await
}

/// Starts Kitroom sending email through `smtp_url`, retrying after `retry_base`.
pub async fn spawn_app_with_mail(smtp_url: &str, retry_base: std::time::Duration) -> TestApp {
    let mail = kitroom_web::MailConfig {
        smtp_url: smtp_url.to_owned(),
        from: "Kitroom <kitroom@school.example>".into(),
        retry_base,
        tries: kitroom_core::mail::TRIES,
    };
    spawn_app_with(kitroom_web::Config {
        mail: Some(mail),
        ..Default::default()
    })
    .await
}

/// Starts Kitroom with this configuration on an empty data directory.
pub async fn spawn_app_with(config: kitroom_web::Config) -> TestApp {
    spawn_app_in(tempfile::tempdir().expect("temporary directory"), config).await
}

/// Starts Kitroom with this configuration on `dir` (a small filesystem mounted
/// there, say).
pub async fn spawn_app_in(dir: tempfile::TempDir, config: kitroom_web::Config) -> TestApp {
    init_logs();
    let (running, setup_token) =
        start(dir.path(), "127.0.0.1:0".parse().unwrap(), config.clone()).await;
    let addr = running.addr;
    TestApp {
        addr,
        base: format!("http://{addr}"),
        dir,
        setup_token,
        config,
        running: Some(running),
        authenticators: Default::default(),
        second_step: Default::default(),
        api: Client::new(),
    }
}

/// Starts Kitroom with this configuration on `dir`, serving on `listener` (bound
/// by the caller, who needed its address first: for the OpenID provider's callback).
pub async fn spawn_app_on(
    dir: tempfile::TempDir,
    listener: tokio::net::TcpListener,
    config: kitroom_web::Config,
) -> TestApp {
    init_logs();
    let (running, setup_token) = kitroom::server::start(dir.path(), listener, config.clone())
        .await
        .expect("server starts");
    let addr = running.addr;
    TestApp {
        addr,
        base: format!("http://{addr}"),
        dir,
        setup_token,
        config,
        running: Some(running),
        authenticators: Default::default(),
        second_step: Default::default(),
        api: Client::new(),
    }
}

async fn start(
    dir: &Path,
    addr: SocketAddr,
    config: kitroom_web::Config,
) -> (Running, Option<String>) {
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    kitroom::server::start(dir, listener, config)
        .await
        .expect("server starts")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Stops the server (finishing requests in flight) and starts it again on the
    /// same data directory and port.
    pub async fn restart(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
        let (running, token) = start(self.dir.path(), self.addr, self.config.clone()).await;
        self.setup_token = token;
        self.running = Some(running);
    }

    /// Stops the server; the data directory stays until the app is dropped.
    pub async fn stop(&mut self) {
        if let Some(r) = self.running.take() {
            r.shutdown().await.expect("clean shutdown");
        }
    }

    /// The running app's state, for what a test must drive by hand (the clock-driven
    /// housekeeping, say).
    pub fn state(&self) -> &kitroom_web::AppState {
        &self.running.as_ref().expect("running").state
    }

    pub fn store(&self) -> &kitroom_store::Store {
        self.running.as_ref().expect("running").state.store()
    }

    /// Makes the set `name` holding the devices `tags`, as Kitroom itself (no one
    /// signed in), through the same code the sets page runs. Answers its id.
    pub async fn make_set(&self, name: &str, notes: &str, tags: &[&str]) -> uuid::Uuid {
        let new = kitroom_app::set_admin::NewSet {
            name: name.into(),
            notes: notes.into(),
        };
        let tags: Vec<String> = tags.iter().map(|t| (*t).to_owned()).collect();
        self.store()
            .transaction(move |conn| {
                Box::pin(async move {
                    let (actor, now) = (kitroom_store::Actor::system(), chrono::Utc::now());
                    let set = kitroom_app::set_admin::create_in(
                        conn,
                        &actor,
                        kitroom_core::school::SchoolId::FIRST,
                        &new,
                        now,
                    )
                    .await?;
                    for tag in &tags {
                        kitroom_app::set_admin::add_device_in(
                            conn,
                            &actor,
                            kitroom_core::school::SchoolId::FIRST,
                            set.id,
                            tag,
                            now,
                        )
                        .await?;
                    }
                    Ok::<_, kitroom_app::Error>(set.id)
                })
            })
            .await
            .expect("a set")
    }

    /// Creates an account with [`PASSWORD`] through `kitroom user add`'s own code.
    pub async fn add_user(&self, username: &str, role: &str) {
        user_add(self.dir.path(), person(username, role)).await;
    }

    /// Gives `username` the role `role` at the school `school` (its short name), as
    /// `kitroom user add USERNAME --school SLUG` does: a new account with
    /// [`PASSWORD`], or one that exists given the role there too.
    pub async fn add_user_at(&self, school: &str, username: &str, role: &str) {
        let mut password = Cursor::new(format!("{PASSWORD}\n"));
        let code = kitroom::cli::user_add(
            self.dir.path(),
            person(username, role),
            Some(school),
            Some(&mut password),
        )
        .await
        .expect("user add runs");
        assert_eq!(
            code,
            std::process::ExitCode::SUCCESS,
            "user add {username} --school {school} should succeed"
        );
    }

    /// Creates an account with [`PASSWORD`] and this position (as `kitroom user add
    /// --position` would), for pages that fill it in from the account.
    pub async fn add_user_with_position(&self, username: &str, role: &str, position: &str) {
        let input = PersonInput {
            position: position.into(),
            ..person(username, role)
        };
        user_add(self.dir.path(), input).await;
    }

    /// Creates an account with [`PASSWORD`] and an email address.
    pub async fn add_user_with_email(&self, username: &str, role: &str, email: &str) {
        let input = PersonInput {
            email: email.into(),
            ..person(username, role)
        };
        user_add(self.dir.path(), input).await;
    }

    /// A browser-like client: keeps cookies, does not follow redirects.
    pub fn client(&self) -> Client {
        Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("client")
    }

    /// `GET path` as `c`, whatever the answer.
    pub async fn get(&self, c: &Client, path: &str) -> Response {
        c.get(self.url(path)).send().await.expect("get")
    }

    /// The body of `path` as `c` sees it (whatever the status).
    pub async fn page(&self, c: &Client, path: &str) -> String {
        self.get(c, path).await.text().await.expect("body")
    }

    /// A signed-in client for a new account with this role.
    pub async fn signed_in(&self, username: &str, role: &str) -> Client {
        self.add_user(username, role).await;
        let c = self.client();
        let r = self.login(&c, username, PASSWORD).await;
        assert_eq!(r.status(), 303, "{username} signs in");
        c
    }

    /// A client signed in as an account that exists, with [`PASSWORD`].
    pub async fn signed_in_as(&self, username: &str) -> Client {
        let c = self.client();
        let r = self.login(&c, username, PASSWORD).await;
        assert_eq!(r.status(), 303, "{username} signs in");
        c
    }

    /// The CSRF token in the first form on a page.
    pub async fn csrf(&self, c: &Client, path: &str) -> String {
        let body = self.page(c, path).await;
        csrf_in(&body).unwrap_or_else(|| panic!("no csrf field on {path}"))
    }

    /// Signs in as a person would: the password, then, for an account with two-step
    /// sign-in, a code from its authenticator (when the harness set it up), or, for
    /// an account the school requires it of, setting it up (the harness keeps the
    /// secret and recovery codes). Returns the password step's answer.
    pub async fn login(&self, c: &Client, username: &str, password: &str) -> Response {
        let r = self.login_password(c, username, password).await;
        if r.status() != 303 {
            return r;
        }
        let to = location(&r);
        if to == "/login/code" {
            if self.authenticator(username).is_some() {
                let _one_at_a_time = self.second_step.lock().await;
                let (code, recovery) = self.second_step_code(username);
                let done = self.enter_code(c, &code).await;
                assert_eq!(
                    done.status(),
                    303,
                    "{username}'s authenticator code is accepted"
                );
                let left = self
                    .authenticator(username)
                    .map_or(0, |a| a.recovery_codes.len());
                if recovery && left < 3 {
                    // Many sign-ins in a row (a test with many clients): new codes.
                    let r = self
                        .submit(c, "/account", "/account/two-factor/recovery-codes", &[])
                        .await;
                    assert_eq!(r.status(), 200, "new recovery codes for {username}");
                    let codes = recovery_codes_in(&r.text().await.expect("body"));
                    if let Some(a) = self.authenticators.lock().unwrap().get_mut(username) {
                        a.recovery_codes = codes;
                    }
                }
            }
        } else {
            let probe = c.get(self.url("/")).send().await.expect("get");
            if probe.status() == 303 && location(&probe) == "/account/two-factor" {
                self.set_up_two_factor(c, username).await;
            }
        }
        r
    }

    /// The password step of signing in, alone.
    pub async fn login_password(&self, c: &Client, username: &str, password: &str) -> Response {
        let token = self.csrf(c, "/login").await;
        c.post(self.url("/login"))
            .form(&[
                ("csrf", token.as_str()),
                ("username", username),
                ("password", password),
            ])
            .send()
            .await
            .expect("post")
    }

    /// Turns off the setting that requires two-step sign-in of managers, heads and
    /// admins, as an admin could on the settings page. For the browser journeys,
    /// which are not about two-step sign-in (the HTTP tests keep it on and set it up).
    pub async fn do_not_require_two_factor(&self) {
        let mut settings = self
            .store()
            .settings(kitroom_core::school::SchoolId::FIRST)
            .await
            .expect("settings");
        settings.require_two_factor = false;
        self.store()
            .save_settings(
                kitroom_store::Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                settings,
            )
            .await
            .expect("settings saved");
    }

    /// Types `code` at the second step of signing in.
    pub async fn enter_code(&self, c: &Client, code: &str) -> Response {
        self.submit(c, "/login/code", "/login/code", &[("code", code)])
            .await
    }

    /// Sets up two-step sign-in for the signed-in `username` as a person would: reads
    /// the key from the setup page, types the app's code, and keeps the recovery
    /// codes shown.
    pub async fn set_up_two_factor(&self, c: &Client, username: &str) -> Vec<String> {
        let page = self.page(c, "/account/two-factor").await;
        let secret = between(&page, "id=\"totp-secret\">", "<")
            .unwrap_or_else(|| panic!("the setup page shows the key: {page}"));
        assert!(page.contains("<svg"), "the setup page shows the QR code");
        let step = now_step();
        let code = code_for(&secret, step);
        let token = csrf_in(&page).expect("csrf");
        let r = c
            .post(self.url("/account/two-factor"))
            .form(&[("csrf", token.as_str()), ("code", code.as_str())])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 200, "{username} sets up two-step sign-in");
        let body = r.text().await.expect("body");
        let recovery_codes = recovery_codes_in(&body);
        assert_eq!(recovery_codes.len(), 10, "ten recovery codes are shown");
        self.authenticators.lock().unwrap().insert(
            username.to_owned(),
            Authenticator {
                secret,
                last_step: step,
                recovery_codes: recovery_codes.clone(),
            },
        );
        recovery_codes
    }

    /// What the harness knows of `username`'s authenticator, if it set one up.
    pub fn authenticator(&self, username: &str) -> Option<Authenticator> {
        self.authenticators.lock().unwrap().get(username).cloned()
    }

    /// The next code `username`'s authenticator app would show that Kitroom has not
    /// seen yet: the current step's, or the next step's (Kitroom allows one step
    /// of clock difference) when the current one was used.
    pub fn totp_code(&self, username: &str) -> String {
        self.fresh_totp_code(username).unwrap_or_else(|| {
            panic!("{username}'s codes for this 30-second step and the next are used; use a recovery code")
        })
    }

    /// Like [`TestApp::totp_code`], or `None` when the codes for this step and the
    /// next have both been used already.
    fn fresh_totp_code(&self, username: &str) -> Option<String> {
        let mut all = self.authenticators.lock().unwrap();
        let a = all
            .get_mut(username)
            .unwrap_or_else(|| panic!("no authenticator for {username}"));
        let step = now_step().max(a.last_step + 1);
        if step > now_step() + 1 {
            return None;
        }
        a.last_step = step;
        Some(code_for(&a.secret, step))
    }

    /// The code the harness types at the second step: the app's code, or, when
    /// this account has signed in twice within the last 30 seconds (each code works
    /// once), one of its recovery codes, as a person without their phone would.
    fn second_step_code(&self, username: &str) -> (String, bool) {
        if let Some(code) = self.fresh_totp_code(username) {
            return (code, false);
        }
        let mut all = self.authenticators.lock().unwrap();
        let a = all.get_mut(username).expect("an authenticator");
        let code = a
            .recovery_codes
            .pop()
            .unwrap_or_else(|| panic!("{username} has no recovery codes left"));
        (code, true)
    }

    /// Posts a form as the browser would: with the CSRF token from `page`.
    pub async fn submit(
        &self,
        c: &Client,
        page: &str,
        action: &str,
        fields: &[(&str, &str)],
    ) -> Response {
        let token = self.csrf(c, page).await;
        let mut all = vec![("csrf", token.as_str())];
        all.extend_from_slice(fields);
        c.post(self.url(action))
            .form(&all)
            .send()
            .await
            .expect("post")
    }

    /// The first school's device with this tag, which must exist, as stored now.
    pub async fn device(&self, tag: &str) -> kitroom_store::devices::Device {
        self.store()
            .device_by_tag(kitroom_core::school::SchoolId::FIRST, tag)
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("a device tagged {tag}"))
    }

    /// The location with this name, which must exist.
    pub async fn location(&self, name: &str) -> kitroom_store::locations::Location {
        self.store()
            .list_locations(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap()
            .into_iter()
            .find(|l| l.name == name)
            .unwrap_or_else(|| panic!("a location called {name}"))
    }

    /// Saves the return checklist of `kind` (such as `ipad`) on the checklists page,
    /// one question a line; asserts that it was saved.
    pub async fn set_checklist(&self, c: &Client, kind: &str, questions: &str) {
        let field = format!("checklist.{kind}");
        let r = self
            .submit(c, "/checklists", "/checklists", &[(&field, questions)])
            .await;
        assert_eq!(r.status(), 303);
    }

    /// Adds an accessory type on the accessories page and counts `change` (such as
    /// `+2`) of it in at `location`, for `reason`; asserts both were saved and
    /// gives the accessory.
    pub async fn add_accessory(
        &self,
        c: &Client,
        name: &str,
        (location, change, reason): (&str, &str, &str),
    ) -> kitroom_store::accessories::Accessory {
        let r = self
            .submit(c, "/accessories", "/accessories", &[("name", name)])
            .await;
        assert_eq!(r.status(), 303);
        let accessory = self
            .store()
            .list_accessories(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap()
            .into_iter()
            .find(|a| a.name == name)
            .unwrap_or_else(|| panic!("the accessory {name} was added"));
        self.count_accessory(c, accessory.id, (location, change, reason))
            .await;
        accessory
    }

    /// Changes the count of accessory `id` on the accessories page by `change`
    /// (such as `+2`) at `location`, for `reason`; asserts it was saved.
    pub async fn count_accessory(
        &self,
        c: &Client,
        id: impl std::fmt::Display,
        (location, change, reason): (&str, &str, &str),
    ) {
        let r = self
            .submit(
                c,
                "/accessories",
                &format!("/accessories/{id}/adjust"),
                &[
                    ("location", location),
                    ("change", change),
                    ("reason", reason),
                ],
            )
            .await;
        assert_eq!(r.status(), 303);
    }

    /// Registers a device through the form.
    pub async fn register_device(&self, c: &Client, fields: &[(&str, &str)]) -> Response {
        self.submit(c, "/devices/new", "/devices", fields).await
    }

    /// Registers a device through the form with this tag, kind and home location
    /// and any `more` fields, and checks it is on the register.
    pub async fn add_device(
        &self,
        c: &Client,
        tag: &str,
        kind: &str,
        location: &str,
        more: &[(&str, &str)],
    ) {
        let mut fields = vec![("tag", tag), ("kind", kind), ("location", location)];
        fields.extend_from_slice(more);
        let r = self.register_device(c, &fields).await;
        assert_eq!(r.status(), 303, "{tag} is registered");
    }

    /// `GET path` of the JSON API with this personal token.
    pub async fn api_get(&self, token: &str, path: &str) -> Response {
        self.api_send(self.api.get(self.url(path)), token, None)
            .await
    }

    /// `POST path` of the JSON API with this personal token and body.
    pub async fn api_post(&self, token: &str, path: &str, body: &serde_json::Value) -> Response {
        self.api_send(self.api.post(self.url(path)), token, Some(body))
            .await
    }

    /// `POST path` of the JSON API: the status and the answer's JSON (null when the
    /// answer is not JSON).
    pub async fn api_post_json(
        &self,
        token: &str,
        path: &str,
        body: &serde_json::Value,
    ) -> (u16, serde_json::Value) {
        status_and_json(self.api_post(token, path, body).await).await
    }

    /// `GET path` of the JSON API: the status and the answer's JSON (null when the
    /// answer is not JSON).
    pub async fn api_get_json(&self, token: &str, path: &str) -> (u16, serde_json::Value) {
        status_and_json(self.api_get(token, path).await).await
    }

    /// `PATCH path` of the JSON API with this personal token and body.
    pub async fn api_patch(&self, token: &str, path: &str, body: &serde_json::Value) -> Response {
        self.api_send(self.api.patch(self.url(path)), token, Some(body))
            .await
    }

    /// `DELETE path` of the JSON API with this personal token.
    pub async fn api_delete(&self, token: &str, path: &str) -> Response {
        self.api_send(self.api.delete(self.url(path)), token, None)
            .await
    }

    async fn api_send(
        &self,
        request: reqwest::RequestBuilder,
        token: &str,
        body: Option<&serde_json::Value>,
    ) -> Response {
        let request = request.bearer_auth(token);
        let request = match body {
            Some(body) => request.json(body),
            None => request,
        };
        request.send().await.expect("the API answers")
    }

    /// Posts each `(path, body)` to the JSON API in turn with this personal token,
    /// checking each is created (201): setup through the API.
    pub async fn api_create(&self, token: &str, requests: &[(&str, serde_json::Value)]) {
        for (path, body) in requests {
            let r = self.api_post(token, path, body).await;
            assert_eq!(r.status(), 201, "{path}");
        }
    }

    /// Publishes policy "v1" through the JSON API with a manager's `token`, checked.
    pub async fn api_publish_policy(&self, token: &str) {
        self.api_create(token, &[("/api/v1/policies", policy_v1())])
            .await;
    }

    /// Signs the policy in force through the JSON API as `token`'s owner, checked.
    pub async fn api_sign_policy(&self, token: &str, full_name: &str) {
        let body = serde_json::json!({"full_name": full_name, "position": "SBM"});
        self.api_create(token, &[("/api/v1/policies/current/signatures", body)])
            .await;
    }

    /// A personal API token for a new account with this role, made by
    /// `kitroom token create`'s own code.
    pub async fn api_token(&self, username: &str, role: &str) -> String {
        self.add_user(username, role).await;
        kitroom::cli::new_token(self.dir.path(), username, "tests".into())
            .await
            .expect("token create runs")
            .expect("a token")
    }

    /// A personal API token for an account that already exists (made, say, by
    /// [`TestApp::add_user_with_email`]), by `kitroom token create`'s own code.
    pub async fn token_for(&self, username: &str) -> String {
        kitroom::cli::new_token(self.dir.path(), username, "tests".into())
            .await
            .expect("token create runs")
            .unwrap_or_else(|e| panic!("a token for {username}: {e}"))
    }
}

impl TestApp {
    /// Publishes a policy version through the manager's form.
    pub async fn publish_policy(&self, manager: &Client, version: &str) {
        let r = self
            .submit(
                manager,
                "/policies",
                "/policies",
                &[
                    ("title", "Acceptable use of school devices"),
                    ("version_label", version),
                    ("issued_on", "2026-09-01"),
                    ("body", "## Rules\n\n- Look after devices."),
                ],
            )
            .await;
        assert_eq!(r.status(), 303, "policy {version} is published");
    }

    /// Publishes policy "v1" through `manager`'s form, then signs in a new borrower
    /// who signs it: someone who may borrow at once.
    pub async fn borrower_under_new_policy(
        &self,
        manager: &Client,
        username: &str,
        full_name: &str,
    ) -> Client {
        self.publish_policy(manager, "v1").await;
        let c = self.signed_in(username, "borrower").await;
        self.sign_policy(&c, full_name).await;
        c
    }

    /// Signs the policy in force as the signed-in person, through the page.
    pub async fn sign_policy(&self, c: &Client, full_name: &str) {
        let page = self.page(c, "/policy").await;
        let policy = value_of(&page, "policy").expect("the policy page has a sign form");
        let token = csrf_in(&page).expect("csrf");
        let r = c
            .post(self.url("/policy/sign"))
            .form(&[
                ("csrf", token.as_str()),
                ("policy", policy.as_str()),
                ("full_name", full_name),
                ("position", "Teacher"),
                ("agree", "on"),
            ])
            .send()
            .await
            .expect("post");
        assert_eq!(r.status(), 303, "{full_name} signs");
    }

    /// Checks a device out from its page with these extra fields.
    pub async fn check_out(&self, c: &Client, tag: &str, fields: &[(&str, &str)]) -> Response {
        self.submit(
            c,
            &format!("/devices/{tag}"),
            &format!("/devices/{tag}/checkout"),
            fields,
        )
        .await
    }

    /// Returns a device from its page.
    pub async fn return_device(&self, c: &Client, tag: &str, fields: &[(&str, &str)]) -> Response {
        self.submit(
            c,
            &format!("/devices/{tag}"),
            &format!("/devices/{tag}/return"),
            fields,
        )
        .await
    }
}

/// The JSON body of policy "v1" for `POST /api/v1/policies`.
pub fn policy_v1() -> serde_json::Value {
    serde_json::json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Care."})
}

/// The recovery codes on the page that shows them once.
fn recovery_codes_in(page: &str) -> Vec<String> {
    page.split("<li><code>")
        .skip(1)
        .filter_map(|s| s.split_once("</code>").map(|(c, _)| c.to_owned()))
        .collect()
}

/// The `Location` of a redirect.
pub fn location(r: &Response) -> String {
    r.headers()
        .get(reqwest::header::LOCATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned()
}

fn between(text: &str, start: &str, end: &str) -> Option<String> {
    let at = text.find(start)? + start.len();
    let rest = &text[at..];
    Some(rest[..rest.find(end)?].to_owned())
}

/// The current 30-second TOTP step.
pub fn now_step() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs()
        / 30
}

/// The code an authenticator app shows for `secret` (base32) during `step`,
/// computed by `totp-rs` as an app would.
pub fn code_for(secret: &str, step: u64) -> String {
    let bytes = totp_rs::Secret::Encoded(secret.to_owned())
        .to_bytes()
        .expect("a base32 secret");
    totp_rs::TOTP::new(
        totp_rs::Algorithm::SHA1,
        6,
        0,
        30,
        bytes,
        None,
        "test".into(),
    )
    .expect("a valid secret")
    .generate(step * 30)
}

/// The value of the hidden input called `name`.
pub fn value_of(html: &str, name: &str) -> Option<String> {
    let needle = format!("name=\"{name}\" value=\"");
    let at = html.find(&needle)?;
    let rest = &html[at + needle.len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

pub fn csrf_in(html: &str) -> Option<String> {
    let at = html.find("name=\"csrf\" value=\"")?;
    let rest = &html[at + "name=\"csrf\" value=\"".len()..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// The real `kitroom serve` running in a child process over a data directory, so a
/// test can kill it with SIGKILL as a power cut or the out-of-memory killer would.
pub struct ChildServer {
    child: std::process::Child,
    pub base: String,
}

impl ChildServer {
    /// Starts `exe serve` (the binary built from `tests/src/bin/kitroom-under-test.rs`,
    /// passed in by the test as `env!("CARGO_BIN_EXE_kitroom-under-test")`) on a
    /// free port over `dir`, its log appended to `log`, and waits until it answers.
    pub async fn start(exe: &str, dir: &Path, log: &Path) -> ChildServer {
        use std::io::BufRead;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("server log file");
        let mut child = std::process::Command::new(exe)
            .arg("--data-dir")
            .arg(dir)
            .args(["serve", "--listen", "127.0.0.1:0"])
            .env("RUST_LOG", "warn")
            .env_remove("KITROOM_SMTP_URL")
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(log)
            .spawn()
            .expect("the server starts");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(url) = line.strip_prefix("Kitroom is running at ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(url.trim_end_matches('/').to_owned());
                    }
                }
            }
        });
        let base = tokio::task::spawn_blocking(move || {
            rx.recv_timeout(std::time::Duration::from_secs(60))
        })
        .await
        .expect("join")
        .unwrap_or_else(|_| {
            let _ = child.kill();
            panic!("the server did not say where it listens within a minute")
        });
        ChildServer { child, base }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// SIGKILL: no graceful shutdown, no checkpoint, requests cut mid-flight.
    pub fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs the `kitroom` command line (`exe`, as for [`ChildServer::start`]) over
/// `dir` with these arguments and returns whether it succeeded and what it printed.
pub fn kitroom_command(exe: &str, dir: &Path, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(exe)
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env("RUST_LOG", "warn")
        .output()
        .expect("kitroom runs");
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

/// The account `kitroom user add` makes for `username`: its full name is the
/// username capitalised, then "Test" ("jo" is "Jo Test").
fn person(username: &str, role: &str) -> PersonInput {
    PersonInput {
        username: username.into(),
        full_name: format!("{} Test", capitalise(username)),
        role: role.into(),
        ..Default::default()
    }
}

/// Creates this account with [`PASSWORD`] in `dir` through `kitroom user add`'s own code.
async fn user_add(dir: &Path, input: PersonInput) {
    let username = input.username.clone();
    let mut password = Cursor::new(format!("{PASSWORD}\n"));
    let code = kitroom::cli::user_add(dir, input, None, Some(&mut password))
        .await
        .expect("user add runs");
    assert_eq!(
        code,
        std::process::ExitCode::SUCCESS,
        "user add {username} should succeed"
    );
}

/// Creates an account with [`PASSWORD`] in `dir` through `kitroom user add`'s own code
/// and returns a personal API token for it.
pub async fn account_with_token(dir: &Path, username: &str, role: &str) -> String {
    user_add(dir, person(username, role)).await;
    kitroom::cli::new_token(dir, username, "tests".into())
        .await
        .expect("token create runs")
        .expect("a token")
}

/// A random number, different on every call, without a dependency: std's hasher
/// is seeded randomly for each `RandomState`.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(0);
    h.finish()
}

impl ChildServer {
    /// The server process's resident memory, in bytes (Linux: `VmRSS` in
    /// `/proc/<pid>/status`).
    pub fn resident_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("the server's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .expect("VmRSS")
            * 1024
    }
}

/// An answer's status and its JSON (null when it is not JSON).
async fn status_and_json(r: Response) -> (u16, serde_json::Value) {
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(serde_json::Value::Null))
}
