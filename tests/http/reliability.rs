//! Backups under load, health checks, oversized and hostile input.

use kitroom_tests::spawn_app;
use serde_json::json;

/// A backup taken while people borrow devices would miss loans the school was told were saved.
#[tokio::test]
async fn a_backup_taken_under_load_restores_every_acknowledged_loan() {
    let app = spawn_app().await;
    let sbm = app.api_token("sbm", "manager").await;
    let api = reqwest::Client::new();
    api.post(app.url("/api/v1/policies"))
        .bearer_auth(&sbm)
        .json(&json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Care."}))
        .send()
        .await
        .unwrap();
    api.post(app.url("/api/v1/policies/current/signatures"))
        .bearer_auth(&sbm)
        .json(&json!({"full_name": "S", "position": "SBM"}))
        .send()
        .await
        .unwrap();
    for i in 0..60 {
        let r = api
            .post(app.url("/api/v1/devices"))
            .bearer_auth(&sbm)
            .json(&json!({"tag": format!("T-{i}"), "kind": "tablet", "location": "Hall"}))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 201);
    }
    // acknowledged before the backup begins
    for i in 0..20 {
        let r = api
            .post(app.url(&format!("/api/v1/devices/T-{i}/checkout")))
            .bearer_auth(&sbm)
            .json(&json!({}))
            .send()
            .await
            .unwrap();
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
            .device_by_tag(&format!("T-{i}"))
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
    assert!(store.device_by_tag("T-0").await.unwrap().is_some());
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
    let r = app
        .register_device(
            &c,
            &[
                ("tag", "X-1"),
                ("kind", "laptop"),
                ("location", evil),
                ("make", evil),
                ("notes", evil),
            ],
        )
        .await;
    assert_eq!(r.status(), 303);
    for page in ["/devices/X-1", "/devices", "/locations", "/log"] {
        let body = c
            .get(app.url(page))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
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
    let body = c
        .get(app.url("/devices?q=%25_"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(body.contains("No device matches these filters"));
}
