//! Every route so far, for every role: who may see and do what, checked on the server.

use kitroom_tests::spawn_app;

const B: u8 = 1; // borrower
const H: u8 = 2; // head
const M: u8 = 4; // manager
const A: u8 = 8; // admin
const ALL: u8 = B | H | M | A;

/// A form's fields.
type Fields = Vec<(&'static str, String)>;

/// A borrower could edit the register or accounts by typing an address, or a manager
/// could take over an admin account.
#[tokio::test]
async fn every_route_answers_each_role_as_the_design_says() {
    let app = spawn_app().await;
    let admin = app.signed_in("it", "admin").await;
    app.add_user("other", "borrower").await;
    app.add_user("admin2", "admin").await;
    assert_eq!(
        app.register_device(
            &admin,
            &[
                ("tag", "LAP-1"),
                ("kind", "laptop"),
                ("location", "Library")
            ]
        )
        .await
        .status(),
        303
    );
    let location = app.store().list_locations().await.unwrap()[0].id;
    let set = app
        .store()
        .create_kit(
            kitroom_store::Actor::system(),
            "Trolley".into(),
            String::new(),
        )
        .await
        .unwrap();
    let set_page = format!("/sets/{set}");
    let set_devices = format!("/sets/{set}/devices");
    let set_remove = format!("/sets/{set}/devices/LAP-1/remove");
    let set_checkout = format!("/sets/{set}/checkout");
    let set_return = format!("/sets/{set}/return");
    // someone else's booking: only a manager or admin may cancel or collect it
    let other = app
        .store()
        .person_by_username("other")
        .await
        .unwrap()
        .unwrap();
    sqlx::query("insert into booking (id, person_id, made_by, kind, count, starts_at, ends_at, created_at)
                 values ('b0000000-0000-4000-8000-000000000000', ?, ?, 'laptop', 1, '2099-01-01T09:00:00.000000Z', '2099-01-01T10:00:00.000000Z', '2026-01-01T00:00:00.000000Z')")
        .bind(other.id.to_string())
        .bind(other.id.to_string())
        .execute(&sqlx::SqlitePool::connect(&format!("sqlite://{}", app.dir.path().join("kitroom.db").display())).await.unwrap())
        .await
        .unwrap();
    let booking_cancel = "/bookings/b0000000-0000-4000-8000-000000000000/cancel".to_owned();
    let booking_collect = "/bookings/b0000000-0000-4000-8000-000000000000/collect".to_owned();

    let gets: &[(&str, u8)] = &[
        ("/sets", ALL),
        ("/bookings", ALL),
        ("/bookings?view=week", ALL),
        ("/bookings/new", ALL),
        ("/bookings/feed", ALL),
        ("/checklists", M | A),
        (set_page.as_str(), ALL),
        ("/devices", ALL),
        ("/devices/LAP-1", ALL),
        ("/account", ALL),
        ("/devices/new", M | A),
        ("/devices/LAP-1/edit", M | A),
        ("/locations", M | A),
        ("/people", M | A),
        ("/people/new", M | A),
        ("/people/other", M | A),
        ("/people/other/edit", M | A),
        ("/people/admin2/edit", A),
        ("/log", H | M | A),
        ("/", ALL),
        ("/policy", ALL),
        ("/policies", M | A),
        ("/loans", H | M | A),
        ("/approvals", H),
        ("/charging", M | A),
        ("/labels", M | A),
        ("/settings", A),
        ("/calendar", A),
        ("/incidents", H | M | A),
        ("/notifications", ALL),
        ("/report", ALL),
        ("/devices/LAP-1/report", ALL),
    ];
    let location_rename = format!("/locations/{location}/rename");
    let posts: Vec<(&str, Fields, u8)> = vec![
        (
            "/devices",
            vec![("kind", "ipad".into()), ("location", "Library".into())],
            M | A,
        ),
        (
            "/devices/LAP-1/edit",
            vec![
                ("tag", "LAP-1".into()),
                ("kind", "laptop".into()),
                ("location", "Library".into()),
            ],
            M | A,
        ),
        (
            "/devices/LAP-1/status",
            vec![("change", "report_lost".into())],
            M | A,
        ),
        ("/locations", vec![("name", "Hall".into())], M | A),
        (
            location_rename.as_str(),
            vec![("name", "Library".into())],
            M | A,
        ),
        (
            "/people",
            vec![
                ("username", "new".into()),
                ("full_name", "New Person".into()),
            ],
            M | A,
        ),
        (
            "/people/other/edit",
            vec![
                ("username", "other".into()),
                ("full_name", "Other Person".into()),
            ],
            M | A,
        ),
        (
            "/people/other/password",
            vec![("password", "a long new password".into())],
            M | A,
        ),
        (
            "/people/other/active",
            vec![("active", "true".into())],
            M | A,
        ),
        (
            "/people/admin2/password",
            vec![("password", "a long new password".into())],
            A,
        ),
        ("/people/admin2/active", vec![("active", "true".into())], A),
        (
            "/policies",
            vec![("title", "T".into()), ("body", "B".into())],
            M | A,
        ),
        ("/settings", vec![("school_name", "".into())], A),
        ("/calendar", vec![("periods", "Period 1".into())], A),
        ("/sets", vec![("name", "".into())], M | A),
        (set_devices.as_str(), vec![("tag", "LAP-1".into())], M | A),
        (set_remove.as_str(), vec![], M | A),
        (set_checkout.as_str(), vec![], ALL),
        (set_return.as_str(), vec![], ALL),
        ("/bookings", vec![("date", "".into())], ALL),
        ("/bookings/feed", vec![], ALL),
        (
            "/checklists",
            vec![("checklist.ipad", "Charger returned?".into())],
            M | A,
        ),
        (booking_cancel.as_str(), vec![], M | A),
        (booking_collect.as_str(), vec![], M | A),
    ];

    for (role, bit) in [("borrower", B), ("head", H), ("manager", M), ("admin", A)] {
        let c = app.signed_in(&format!("as-{role}"), role).await;
        for (path, allowed) in gets {
            let status = c.get(app.url(path)).send().await.unwrap().status().as_u16();
            if allowed & bit != 0 {
                assert_eq!(status, 200, "GET {path} as {role}");
            } else {
                assert_eq!(status, 403, "GET {path} as {role}");
            }
        }
        for (i, (path, fields, allowed)) in posts.iter().enumerate() {
            let mut fields: Fields = fields.clone();
            if *path == "/devices" {
                fields.push(("tag", format!("NEW-{role}-{i}")));
            }
            if *path == "/people" {
                fields[0].1 = format!("new-{role}");
            }
            let token = app.csrf(&c, "/account").await;
            fields.push(("csrf", token));
            let status = c
                .post(app.url(path))
                .form(&fields)
                .send()
                .await
                .unwrap()
                .status()
                .as_u16();
            if allowed & bit != 0 {
                assert!(
                    status != 403 && status < 500,
                    "POST {path} as {role}: {status}"
                );
            } else {
                assert_eq!(status, 403, "POST {path} as {role}");
            }
        }
    }
    // and nothing a refused role tried was written
    assert!(app
        .store()
        .device_by_tag("NEW-borrower-0")
        .await
        .unwrap()
        .is_none());
    assert!(app
        .store()
        .person_by_username("new-head")
        .await
        .unwrap()
        .is_none());
}

/// A manager could make themselves or a friend an administrator.
#[tokio::test]
async fn a_manager_cannot_hand_out_the_admin_role() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let r = app
        .submit(
            &c,
            "/people/new",
            "/people",
            &[
                ("username", "friend"),
                ("full_name", "A Friend"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Only an IT administrator can manage administrator accounts"));
    let r = app
        .submit(
            &c,
            "/people/sbm/edit",
            "/people/sbm/edit",
            &[
                ("username", "sbm"),
                ("full_name", "Sbm Test"),
                ("role", "head"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("You cannot change your own role"));
}
