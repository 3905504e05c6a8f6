//! Backups under load, health checks, oversized and hostile input.

use kitroom_tests::spawn_app;
use serde_json::json;

/// A backup taken while people borrow devices would miss loans the school was told were saved.
#[tokio::test]
async fn a_backup_taken_under_load_restores_every_acknowledged_loan() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    let api = reqwest::Client::new();
    app.api_publish_policy(&sbm).await;
    app.api_sign_policy(&sbm, "S").await;
    for i in 0..60 {
        let r = app
            .api_post(
                &sbm,
                "/api/v1/devices",
                &json!({"tag": format!("T-{i}"), "kind": "tablet", "location": "Hall"}),
            )
            .await;
        assert_eq!(r.status(), 201);
    }
    // acknowledged before the backup begins
    for i in 0..20 {
        let r = app
            .api_post(&sbm, &format!("/api/v1/devices/T-{i}/checkout"), &json!({}))
            .await;
        assert_eq!(r.status(), 201);
    }
    // more check-outs run while the backup is taken
    let load = (20..60).map(|i| {
        let (api, url, token) = (
            api.clone(),
            app.url(&format!("/api/v1/devices/T-{i}/checkout")),
            sbm.clone(),
        );
        tokio::spawn(async move {
            api.post(url)
                .bearer_auth(token)
                .json(&json!({}))
                .send()
                .await
                .unwrap()
                .status()
        })
    });
    let load: Vec<_> = load.collect();
    let file = app.dir.path().join("backup.db");
    let code = kitroom::cli::backup(app.dir.path(), &file).await.unwrap();
    assert_eq!(code, std::process::ExitCode::SUCCESS);
    for t in load {
        assert_eq!(t.await.unwrap(), 201);
    }
    let restored = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let code = kitroom::cli::restore(restored.path(), &file, &mut out)
        .await
        .unwrap();
    assert_eq!(
        code,
        std::process::ExitCode::SUCCESS,
        "{}",
        String::from_utf8_lossy(&out)
    );
    let store = kitroom_store::Store::open(restored.path()).await.unwrap();
    for i in 0..20 {
        let d = store
            .device_by_tag(kitroom_core::school::SchoolId::FIRST, &format!("T-{i}"))
            .await
            .unwrap()
            .unwrap();
        assert!(
            store.open_loan(d.id).await.unwrap().is_some(),
            "T-{i}'s loan is in the backup"
        );
    }
    assert!(store.verify_log().await.unwrap().is_ok());
    // a file that is not a backup is refused and the database is left alone
    let junk = app.dir.path().join("junk.db");
    std::fs::write(&junk, b"not a database").unwrap();
    assert!(
        kitroom::cli::restore(restored.path(), &junk, &mut Vec::new())
            .await
            .is_err()
    );
    assert!(store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "T-0")
        .await
        .unwrap()
        .is_some());
}

/// Monitoring could not tell that writes are stuck.
#[tokio::test]
async fn healthz_proves_a_write_goes_through() {
    let app = spawn_app().await;
    let r = reqwest::get(app.url("/healthz")).await.unwrap();
    assert_eq!(r.status(), 200);
    let body = r.text().await.unwrap();
    assert!(body.starts_with("ok\n"), "{body}");
    assert!(body.contains("not inside a transaction"), "{body}");
}

/// A huge body could exhaust the server, or get a confusing 500.
#[tokio::test]
async fn an_oversized_body_gets_413() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let token = app.csrf(&c, "/devices/new").await;
    let big = "x".repeat(2 * 1024 * 1024);
    let r = c
        .post(app.url("/devices"))
        .form(&[("csrf", token.as_str()), ("notes", big.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
    let api_token = app.api_token("it", "admin").await;
    let body = format!(
        "{{\"tag\": \"A-1\", \"kind\": \"laptop\", \"location\": \"Hall\", \"notes\": \"{big}\"}}"
    );
    let r = reqwest::Client::new()
        .post(app.url("/api/v1/devices"))
        .bearer_auth(api_token)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 413);
}

/// Script typed into a field would run in the business manager's browser.
#[tokio::test]
async fn html_and_script_in_fields_are_shown_as_text() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let evil = "<script>alert(1)</script><img src=x onerror=alert(2)>";
    app.add_device(
        &c,
        "X-1",
        "laptop",
        evil,
        &[("make", evil), ("notes", evil)],
    )
    .await;
    for page in ["/devices/X-1", "/devices", "/locations", "/log"] {
        let body = app.page(&c, page).await;
        assert!(!body.contains("<script>alert(1)"), "{page} escapes script");
        assert!(!body.contains("<img src=x"), "{page} escapes markup");
        assert!(
            body.contains("&lt;script&gt;") || page == "/log",
            "{page} shows it as text"
        );
    }
    // NUL bytes and control characters are refused politely, not stored
    let r = app
        .register_device(
            &c,
            &[
                ("tag", "X-2"),
                ("kind", "laptop"),
                ("location", "Hall"),
                ("make", "Del\u{0}l"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    // % and _ in search match themselves only
    let body = app.page(&c, "/devices?q=%25_").await;
    assert!(body.contains("No device matches these filters"));
}

/// Forms a settings page post with every field as the page has it, and these changes.
async fn save_settings(
    app: &kitroom_tests::TestApp,
    c: &reqwest::Client,
    changes: &[(&str, &str)],
) -> reqwest::Response {
    let defaults = kitroom_core::settings::Settings::default();
    let mut fields: Vec<(String, String)> = defaults
        .to_pairs()
        .into_iter()
        .filter(|(k, _)| !changes.iter().any(|(c, _)| c == k))
        .collect();
    fields.extend(changes.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    let borrowed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    app.submit(c, "/settings", "/settings", &borrowed).await
}

/// Names of the automatic backups on disk, oldest first.
fn backup_names(app: &kitroom_tests::TestApp) -> Vec<String> {
    let mut names: Vec<String> =
        kitroom_store::backups::list_backups(&app.dir.path().join("backups"))
            .into_iter()
            .map(|b| b.path.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
    names.sort();
    names
}

async fn wait_for(what: &str, mut ok: impl FnMut() -> bool) {
    for _ in 0..300 {
        if ok() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("waited 30 seconds for {what}");
}

/// A school that forgets to take backups loses everything with the disk; one whose
/// backups silently stopped finds out too late.
#[tokio::test]
async fn automatic_backups_are_taken_checked_rotated_and_their_failures_shown() {
    let app = kitroom_tests::spawn_app_with(kitroom_web::Config {
        housekeeping_every: std::time::Duration::from_millis(100),
        backup_every: Some(std::time::Duration::from_millis(1100)),
        ..Default::default()
    })
    .await;
    let admin = app.signed_in("it", "admin").await;
    let page = app.page(&admin, "/settings").await;
    assert!(page.contains("Daily backups to keep"));
    let r = save_settings(&app, &admin, &[("backups_kept", "many")]).await;
    assert_eq!(r.status(), 422);
    let r = save_settings(&app, &admin, &[("backups_kept", "3")]).await;
    assert_eq!(r.status(), 303);
    // a loan acknowledged before a backup is in it
    let sbm = app.api_token("sbm", "manager").await;
    app.api_create(
        &sbm,
        &[(
            "/api/v1/devices",
            json!({"tag": "T-1", "kind": "tablet", "location": "Hall"}),
        )],
    )
    .await;
    app.api_publish_policy(&sbm).await;
    app.api_sign_policy(&sbm, "S").await;
    app.api_create(&sbm, &[("/api/v1/devices/T-1/checkout", json!({}))])
        .await;
    let acknowledged = chrono::Utc::now();
    wait_for("three backups", || backup_names(&app).len() == 3).await;
    let first = backup_names(&app);
    wait_for("a fourth backup to replace the oldest", || {
        backup_names(&app).last() != first.last()
    })
    .await;
    let now = backup_names(&app);
    assert_eq!(now.len(), 3, "only the newest 3 are kept: {now:?}");
    assert!(!now.contains(&first[0]), "the oldest was deleted: {now:?}");
    let newest = now.last().unwrap();
    assert!(kitroom_core::backup::taken_at(newest).unwrap() > acknowledged);
    // the newest restores, with the loan in it
    let restored = tempfile::tempdir().unwrap();
    let mut out = Vec::new();
    let code = kitroom::cli::restore(
        restored.path(),
        &app.dir.path().join("backups").join(newest),
        &mut out,
    )
    .await
    .unwrap();
    assert_eq!(
        code,
        std::process::ExitCode::SUCCESS,
        "{}",
        String::from_utf8_lossy(&out)
    );
    let store = kitroom_store::Store::open(restored.path()).await.unwrap();
    let d = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "T-1")
        .await
        .unwrap()
        .unwrap();
    assert!(store.open_loan(d.id).await.unwrap().is_some());
    store.close().await;
    let page = app.page(&admin, "/settings").await;
    assert!(page.contains("written and checked"), "{page}");
    assert!(page.contains(newest.as_str()));
    // a backup that cannot be written is shown to the admin
    let folder = app.dir.path().join("backups");
    std::fs::remove_dir_all(&folder).unwrap();
    std::fs::write(&folder, b"in the way").unwrap();
    let admin_sees = |text: &'static str| {
        let (admin, url) = (admin.clone(), app.url("/settings"));
        async move {
            for _ in 0..300 {
                let page = admin.get(&url).send().await.unwrap().text().await.unwrap();
                if page.contains(text) {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            panic!("the settings page never said {text:?}");
        }
    };
    admin_sees("The last automatic backup failed").await;
    // and once the cause is gone, backups resume by themselves
    std::fs::remove_file(&folder).unwrap();
    admin_sees("written and checked").await;
    assert_eq!(backup_names(&app).len(), 1);
}
