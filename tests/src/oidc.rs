//! A real OpenID provider for the sign-in tests: panva's oidc-provider, run by
//! `tests/oidc/provider.mjs` (installed by `npm ci` in `tests/oidc`, as `.ci/run`
//! does) on a random loopback port, and a Kitroom set up to sign in with it.

use std::io::BufRead;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use reqwest::{Client, Response};

use crate::{location, TestApp};

/// The provider's folder in the repository.
pub fn provider_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("oidc")
}

/// Whether node and the installed provider are here. Without them a test skips,
/// unless CI is set, when it fails.
pub fn provider_available() -> bool {
    let here = provider_dir().join("node_modules/oidc-provider").is_dir()
        && Command::new("node")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !here && std::env::var_os("CI").is_some() {
        panic!("node and the test OpenID provider are needed: run `npm ci` in tests/oidc");
    }
    if !here {
        eprintln!("skipped: no node or test OpenID provider (run `npm ci` in tests/oidc)");
    }
    here
}

/// The running provider; stopped when dropped.
pub struct OidcProvider {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub issuer: String,
}

impl OidcProvider {
    /// Starts the provider, its one client sending people back to `redirect_uri`.
    pub fn start(redirect_uri: &str) -> OidcProvider {
        let mut child = Command::new("node")
            .arg("provider.mjs")
            .current_dir(provider_dir())
            .env("REDIRECT_URI", redirect_uri)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(if std::env::var_os("TEST_LOG").is_some() {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .spawn()
            .expect("node starts the test OpenID provider");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        // Reads on after the first line, so the provider never writes to a closed pipe.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(i) = line.strip_prefix("issuer ") {
                    if let Some(tx) = tx.take() {
                        let _ = tx.send(i.trim().to_owned());
                    }
                }
            }
        });
        let issuer = rx.recv_timeout(std::time::Duration::from_secs(60)).ok();
        let Some(issuer) = issuer else {
            let _ = child.kill();
            panic!("the test OpenID provider did not start");
        };
        OidcProvider { child, issuer }
    }

    /// The next ID token the provider hands out has these claims changed (and is
    /// signed again with the provider's own key).
    pub async fn forge_next(&self, claims: serde_json::Value) {
        let r = Client::new()
            .post(format!("{}/test/forge", self.issuer))
            .json(&claims)
            .send()
            .await
            .expect("forge");
        assert_eq!(r.status(), 204);
    }

    /// Changes the test account `id` at the provider (its email, say), as a school
    /// would.
    pub async fn change_account(&self, id: &str, claims: serde_json::Value) {
        let r = Client::new()
            .post(format!("{}/test/account?id={id}", self.issuer))
            .json(&claims)
            .send()
            .await
            .expect("change account");
        assert_eq!(r.status(), 204);
    }

    /// From Kitroom's "Sign in with …" to the provider's login page, where `login`
    /// (one of provider.mjs's accounts) signs in: returns the callback address the
    /// provider sends the browser back to, not yet visited.
    pub async fn callback_for(&self, app: &TestApp, c: &Client, login: &str) -> String {
        let r = app.get(c, "/sign-in/oidc").await;
        assert_eq!(r.status(), 303, "Kitroom sends the browser to the provider");
        let to = location(&r);
        assert!(to.starts_with(&self.issuer), "{to}");
        let r = self.follow(c, &to).await;
        let page = self.absolute(&location(&r));
        let r = c.get(&page).send().await.expect("login page");
        assert_eq!(r.status(), 200, "the provider's login page");
        let r = c
            .post(format!("{page}/login"))
            .form(&[("login", login), ("password", "provider password")])
            .send()
            .await
            .expect("provider sign-in");
        assert_eq!(r.status(), 303, "{login} signs in at the provider");
        let r = self.follow(c, &self.absolute(&location(&r))).await;
        let back = location(&r);
        assert!(back.starts_with(&app.base), "back to Kitroom: {back}");
        back
    }

    /// Signs in at the provider as `login` and returns Kitroom's answer to the
    /// callback.
    pub async fn sign_in(&self, app: &TestApp, c: &Client, login: &str) -> Response {
        let back = self.callback_for(app, c, login).await;
        c.get(back).send().await.expect("callback")
    }

    async fn follow(&self, c: &Client, to: &str) -> Response {
        let r = c.get(to).send().await.expect("provider");
        assert!(
            r.status().is_redirection(),
            "{to}: {} {}",
            r.status(),
            r.text().await.unwrap_or_default()
        );
        r
    }

    fn absolute(&self, to: &str) -> String {
        if to.starts_with('/') {
            format!("{}{to}", self.issuer)
        } else {
            to.to_owned()
        }
    }
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The school's settings for the test provider: the static client, its secret and
/// the school's domain.
pub fn oidc_config(issuer: &str) -> kitroom_web::OidcConfig {
    kitroom_web::OidcConfig {
        issuer: issuer.to_owned(),
        client_id: "kitroom-test".into(),
        client_secret: "kitroom-test-secret".into(),
        allowed_domains: vec!["school.example".into()],
    }
}

/// Kitroom and a real OpenID provider on loopback, set up to sign in with it; the
/// public address is Kitroom's own. `None` (skipped) where the provider is not
/// installed and CI is not set.
pub async fn spawn_app_with_oidc() -> Option<(TestApp, OidcProvider)> {
    if !provider_available() {
        return None;
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("address");
    let base = format!("http://{addr}");
    let provider = OidcProvider::start(&format!("{base}/sign-in/oidc/callback"));
    let config = kitroom_web::Config {
        public_url: Some(kitroom_core::link::PublicUrl::parse(&base).expect("public url")),
        oidc: Some(oidc_config(&provider.issuer)),
        ..Default::default()
    };
    let app = crate::spawn_app_on(tempfile::tempdir().expect("tempdir"), listener, config).await;
    Some((app, provider))
}
