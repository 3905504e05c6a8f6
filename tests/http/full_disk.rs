//! Full disk: the data directory on a small filesystem (a tmpfs mounted for the
//! test) that fills up. Writes fail cleanly with "storage is full", nothing is half
//! written, reading keeps working, and writing resumes without a restart once space
//! is freed. Needs root to mount; skipped (saying why) when not root outside CI.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use kitroom_tests::{spawn_app_in, TestApp, PASSWORD};
use serde_json::{json, Value};

use crate::crash::KITROOM;

/// A tmpfs of `size` mounted on a fresh temporary directory, unmounted on drop.
struct SmallDisk {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir.path())
            .output();
        let root = Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false");
        match out {
            Ok(o) if o.status.success() => Some(SmallDisk {
                path: dir.path().to_owned(),
                dir: Some(dir),
            }),
            other => {
                let why = match other {
                    Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
                    Err(e) => e.to_string(),
                };
                assert!(
                    !root && !ci,
                    "cannot mount a small tmpfs for the full-disk test (root: {root}, CI: {ci}): {why}"
                );
                eprintln!(
                    "SKIPPED the full-disk test: mounting a tmpfs needs root, and this is not root ({why})"
                );
                None
            }
        }
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.path).status();
        drop(self.dir.take());
    }
}

/// Fills the filesystem holding `path` with a ballast file, to the last byte.
fn fill(path: &Path) -> PathBuf {
    let ballast = path.join("ballast");
    let mut f = std::fs::File::create(&ballast).unwrap();
    let block = vec![0u8; 64 * 1024];
    while f.write_all(&block).is_ok() {}
    let small = [0u8; 512];
    while f.write_all(&small).is_ok() {}
    while f.write_all(&[0u8]).is_ok() {}
    ballast
}

async fn report(app: &TestApp, token: &str, tag: &str) -> reqwest::Response {
    reqwest::Client::new()
        .post(app.url(&format!("/api/v1/devices/{tag}/incidents")))
        .bearer_auth(token)
        .json(&json!({"kind": "damage", "description": "Cracked screen. ".repeat(100)}))
        .send()
        .await
        .unwrap()
}

/// A full disk could leave half a loan saved, crash the server, need a restart, lock
/// everyone out with a blank error page, or leave monitoring red after it was fixed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_refuses_writes_cleanly_keeps_reads_and_recovers_without_a_restart() {
    let Some(disk) = SmallDisk::mount("6m") else {
        return;
    };
    let data = tempfile::TempDir::new_in(&disk.path).unwrap();
    let mut app = spawn_app_in(data, Default::default()).await;
    let sbm = app.api_token("sbm", "manager").await;
    let web = app.signed_in("tech", "manager").await;
    app.api_create(
        &sbm,
        &[
            (
                "/api/v1/devices",
                json!({"tag": "IPAD-1", "kind": "ipad", "location": "Trolley"}),
            ),
            (
                "/api/v1/devices",
                json!({"tag": "IPAD-2", "kind": "ipad", "location": "Trolley"}),
            ),
        ],
    )
    .await;
    app.api_publish_policy(&sbm).await;
    app.api_sign_policy(&sbm, "Sam B").await;
    app.api_create(&sbm, &[("/api/v1/devices/IPAD-1/checkout", json!({}))])
        .await;
    let csrf = app.csrf(&web, "/devices/new").await;
    // a device registered just before: its notice waits for the next page view
    let r = web
        .post(app.url("/devices"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("tag", "LAP-8"),
            ("kind", "laptop"),
            ("location", "Library"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    app.add_user("ada", "borrower").await;
    // someone who opened the sign-in page before the disk filled up
    let arriving = app.client();
    let arriving_csrf = app.csrf(&arriving, "/login").await;

    let ballast = fill(&disk.path);
    // SQLite may still have room inside its own files: write until it has not
    let mut acknowledged = Vec::new();
    let mut refusal = None;
    for _ in 0..2000 {
        let r = report(&app, &sbm, "IPAD-2").await;
        match r.status().as_u16() {
            201 => acknowledged.push(r.json::<Value>().await.unwrap()["number"].as_i64().unwrap()),
            503 => {
                assert_eq!(r.headers()["content-type"], "application/problem+json");
                refusal = Some(r.json::<Value>().await.unwrap());
                break;
            }
            other => panic!(
                "a write on a full disk answered {other}: {}",
                r.text().await.unwrap()
            ),
        }
    }
    let refusal = refusal.expect("writes are refused once the disk is full");
    assert_eq!(refusal["type"], "urn:kitroom:problem:storage-full");
    assert!(refusal["detail"]
        .as_str()
        .unwrap()
        .contains("storage is full"));
    // every kind of write is refused the same way, and leaves nothing behind
    let r = app
        .api_post(
            &sbm,
            "/api/v1/devices/IPAD-1/return",
            &json!({"on_charge": true}),
        )
        .await;
    assert_eq!(r.status(), 503);
    let r = web
        .post(app.url("/devices"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("tag", "LAP-9"),
            ("kind", "laptop"),
            ("location", "Library"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let page = r.text().await.unwrap();
    assert!(page.contains("Storage is full"), "{page}");
    assert!(page.contains("nothing was saved"));
    // signing in says storage is full, not a blank error or "the form has expired"
    // (a sign-in page keeps a small session, which may still fit for a while)
    let mut visitor = app.client();
    let mut refused = false;
    for _ in 0..500 {
        visitor = app.client();
        let r = app.get(&visitor, "/login").await;
        match r.status().as_u16() {
            200 => continue,
            503 => {
                let page = r.text().await.unwrap();
                assert!(page.contains("Storage is full"), "{page}");
                refused = true;
                break;
            }
            other => panic!(
                "the sign-in page on a full disk answered {other}: {:?}",
                r.text().await.unwrap()
            ),
        }
    }
    assert!(refused, "the sign-in page says storage is full once it is");
    let r = arriving
        .post(app.url("/login"))
        .form(&[
            ("csrf", arriving_csrf.as_str()),
            ("username", "ada"),
            ("password", PASSWORD),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 503);
    let page = r.text().await.unwrap();
    assert!(page.contains("Storage is full"), "{page}");
    // reading keeps working, also for a page view that would change the session
    // (here, showing the notice once; once a minute, noting when it was last used)
    let r = app.get(&web, "/devices").await;
    assert_eq!(r.status(), 200, "the device list still opens");
    let page = r.text().await.unwrap();
    assert!(page.contains("LAP-8"), "{page}");
    let r = app.get(&web, "/devices/IPAD-1").await;
    assert_eq!(r.status(), 200);
    let r = app.api_get(&sbm, "/api/v1/devices/IPAD-1").await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["status"], "on_loan");
    // monitoring sees it
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 503);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("disk holding the database is full"));
    // an export (which is recorded in the log) is refused cleanly, on the web and at
    // the command line writing onto the full disk
    let r = app.get(&web, "/export/devices.csv").await;
    // Recording the export is a one-row write, which may still fit in the space
    // SQLite's log already holds: then the export goes ahead, whole; otherwise it is
    // refused saying why.
    match r.status().as_u16() {
        503 => assert!(r.text().await.unwrap().contains("Storage is full")),
        200 => {
            let csv = r.text().await.unwrap();
            assert!(csv.starts_with("\u{feff}tag,"), "{csv}");
            assert!(csv.contains("IPAD-1") && csv.contains("IPAD-2"), "{csv}");
        }
        other => panic!("the export on a full disk answered {other}"),
    }
    let out_file = disk.path.join("devices.csv");
    let out = Command::new(KITROOM)
        .arg("--data-dir")
        .arg(app.dir.path())
        .args(["export", "devices"])
        .stdout(std::fs::File::create(&out_file).unwrap())
        .output()
        .unwrap();
    assert!(!out.status.success());
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("full"), "{said}");
    assert!(!said.contains("panicked"), "{said}");
    // a backup onto the full disk fails, saying so, and leaves no half-written file
    let backup = disk.path.join("backup.db");
    let (ok, said) = kitroom_tests::kitroom_command(
        KITROOM,
        app.dir.path(),
        &["backup", backup.to_str().unwrap()],
    );
    assert!(!ok);
    assert!(said.contains("the disk is full"), "{said}");
    assert!(!backup.exists(), "no partial backup is left behind");
    // a backup to another disk still works while this one is full
    let elsewhere = tempfile::tempdir().unwrap();
    let (ok, said) = kitroom_tests::kitroom_command(
        KITROOM,
        app.dir.path(),
        &["backup", elsewhere.path().join("b.db").to_str().unwrap()],
    );
    assert!(ok, "{said}");

    // nothing half written
    let wrong = crate::crash::invariant_breaches(app.store().reader()).await;
    assert!(wrong.is_empty(), "{wrong:#?}");
    assert!(app
        .store()
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-9")
        .await
        .unwrap()
        .is_none());
    for n in &acknowledged {
        let found: i64 = sqlx::query_scalar("select count(*) from incident where number = ?")
            .bind(n)
            .fetch_one(app.store().reader())
            .await
            .unwrap();
        assert_eq!(found, 1, "acknowledged incident {n} is there");
    }

    // space is freed: writing works again at once, without a restart
    std::fs::remove_file(&ballast).unwrap();
    let _ = std::fs::remove_file(&out_file);
    // monitoring sees the space come back by itself, before anyone saves anything
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    // and people can sign in again
    let r = app.login(&visitor, "ada", PASSWORD).await;
    assert_eq!(r.status(), 303, "ada signs in once there is space");
    let r = app
        .api_post(
            &sbm,
            "/api/v1/devices/IPAD-1/return",
            &json!({"on_charge": true}),
        )
        .await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    assert_eq!(report(&app, &sbm, "IPAD-2").await.status(), 201);
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(app.store().verify_log().await.unwrap().is_ok());
    let (ok, said) = kitroom_tests::kitroom_command(KITROOM, app.dir.path(), &["check"]);
    assert!(ok, "{said}");
    eprintln!(
        "full disk: {} incident reports acknowledged after the ballast, then refused with 503; \
         recovered without a restart",
        acknowledged.len()
    );
    app.stop().await;
    drop(app);
    drop(disk);
}
