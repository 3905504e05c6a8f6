//! The store against a real SQLite file in a temporary directory.

use chrono::NaiveDate;
use kitroom_core::device::{DeviceInput, DeviceStatus, StatusChange};
use kitroom_core::event::ChainBreak;
use kitroom_core::person::PersonInput;
use kitroom_store::devices::{DeviceFilter, Position};
use kitroom_store::events::EventFilter;
use kitroom_store::{Actor, Store, StoreError};
use sqlx::Connection;

/// Moves a device by hand as the system, the one way a status moves outside a
/// loan (the application layer asks the status machine).
async fn change_status(
    store: &Store,
    id: uuid::Uuid,
    change: StatusChange,
    note: String,
) -> Result<kitroom_store::devices::Device, kitroom_app::Error> {
    let app = kitroom_app::App::new(
        store.clone(),
        None,
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );
    kitroom_app::devices::move_as(&app, Actor::system(), id, change, note).await
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

/// Publishes a version straight through the store's `*_in` functions (the rules
/// and the event are the application layer's; these tests need only the rows).
async fn publish_policy(store: &Store, label: &str, body: &str) -> kitroom_store::policies::Policy {
    let policy = kitroom_store::policies::Policy {
        id: uuid::Uuid::new_v4(),
        title: "ICT code".into(),
        version_label: label.into(),
        issued_on: NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        body: body.into(),
        published_at: chrono::Utc::now(),
    };
    let row = policy.clone();
    store
        .transaction(move |conn| {
            Box::pin(async move {
                kitroom_store::policies::insert_policy_in(
                    conn,
                    kitroom_core::school::SchoolId::FIRST,
                    &row,
                    None,
                )
                .await
            })
        })
        .await
        .unwrap();
    policy
}

/// Records `person`'s signature on `policy`, through the store's `*_in` functions.
async fn sign_policy(store: &Store, person: &kitroom_store::people::Person, policy: uuid::Uuid) {
    let s = kitroom_store::policies::Signature {
        policy_id: policy.to_string(),
        person_id: person.id.to_string(),
        full_name: person.full_name.clone(),
        position: "Teacher".into(),
        signed_on: today().to_string(),
        signed_at: kitroom_store::db::time_text(chrono::Utc::now()),
    };
    store
        .transaction(move |conn| {
            Box::pin(async move { kitroom_store::policies::insert_signature_in(conn, &s).await })
        })
        .await
        .unwrap();
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    (dir, store)
}

fn laptop(tag: &str) -> DeviceInput {
    DeviceInput {
        tag: tag.into(),
        kind: "laptop".into(),
        make: "Dell".into(),
        model: "Latitude".into(),
        location: "Computer room".into(),
        ..Default::default()
    }
}

async fn event_count(store: &Store) -> usize {
    store
        .list_events(&EventFilter {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .len()
}

#[tokio::test]
async fn a_registered_device_and_its_event_are_saved_together() {
    let (_dir, store) = store().await;
    let d = store
        .create_device(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            laptop("LAP-1").parse(today()).unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(d.status, DeviceStatus::Available);
    let events = store
        .list_events(&EventFilter {
            device: Some(d.id),
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "device.registered");
    // the location was created on first use, and that is logged too
    assert_eq!(event_count(&store).await, 2);
    assert_eq!(
        store
            .list_locations(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap()[0]
            .devices,
        1
    );
}

#[tokio::test]
async fn a_duplicate_tag_in_any_case_is_refused_and_nothing_is_written() {
    let (_dir, store) = store().await;
    store
        .create_device(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            laptop("LAP-1").parse(today()).unwrap(),
        )
        .await
        .unwrap();
    let before = event_count(&store).await;
    let mut other = laptop("lap-1");
    other.location = "Library".into();
    let err = store
        .create_device(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            other.parse(today()).unwrap(),
        )
        .await
        .unwrap_err();
    match err {
        StoreError::Invalid(inv) => assert!(inv
            .for_field("tag")
            .unwrap()
            .contains("already on another device")),
        other => panic!("expected a field error, got {other:?}"),
    }
    assert_eq!(
        event_count(&store).await,
        before,
        "no event and no location for a refused device"
    );
    assert_eq!(
        store
            .list_locations(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn an_illegal_status_move_changes_nothing() {
    let (_dir, store) = store().await;
    let d = store
        .create_device(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            laptop("LAP-1").parse(today()).unwrap(),
        )
        .await
        .unwrap();
    let before = event_count(&store).await;
    let err = change_status(&store, d.id, StatusChange::Found, String::new())
        .await
        .unwrap_err();
    assert!(matches!(err, kitroom_app::Error::Refused(_)), "{err:?}");
    assert_eq!(event_count(&store).await, before);
    let d2 = change_status(
        &store,
        d.id,
        StatusChange::SendToRepair,
        "cracked screen".into(),
    )
    .await
    .unwrap();
    assert_eq!(d2.status, DeviceStatus::InRepair);
}

/// Paging through the register would skip or repeat devices, or a page link would
/// show other devices once more were registered before it.
#[tokio::test]
async fn pages_by_key_visit_every_device_once_in_tag_order_whatever_the_case() {
    let (_dir, store) = store().await;
    // Mixed case: the order ignores it, as the unique index does.
    for i in 0..23 {
        let tag = if i % 2 == 0 {
            format!("lap-{i:03}")
        } else {
            format!("LAP-{i:03}")
        };
        let mut d = laptop(&tag);
        if i % 4 == 0 {
            d.kind = "ipad".into();
        }
        store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                d.parse(today()).unwrap(),
            )
            .await
            .unwrap();
    }
    let list = |at: Position| {
        let store = store.clone();
        async move {
            store
                .list_devices(
                    kitroom_core::school::SchoolId::FIRST,
                    &DeviceFilter {
                        kind: Some("laptop".parse().unwrap()),
                        at,
                        per_page: 5,
                        ..Default::default()
                    },
                )
                .await
                .unwrap()
        }
    };
    let tags = |p: &kitroom_store::devices::DevicePage| {
        p.items
            .iter()
            .map(|d| d.details.tag.as_str().to_uppercase())
            .collect::<Vec<_>>()
    };
    let laptops: Vec<String> = (0..23)
        .filter(|i| i % 4 != 0)
        .map(|i| format!("LAP-{i:03}"))
        .collect();
    let mut seen = Vec::new();
    let mut page = list(Position::First).await;
    assert!(!page.has_previous);
    let mut pages = vec![page.clone()];
    while page.has_next {
        seen.extend(tags(&page));
        let last = page.items.last().unwrap().details.tag.to_string();
        page = list(Position::After(last)).await;
        assert!(page.has_previous);
        assert_eq!(page.total, 17);
        pages.push(page.clone());
    }
    seen.extend(tags(&page));
    assert_eq!(seen, laptops, "each laptop once, in order");
    assert_eq!(pages.len(), 4);
    // the last page is the last five, found from the end
    let last = list(Position::Last).await;
    assert_eq!(tags(&last), laptops[12..]);
    assert!(last.has_previous && !last.has_next);
    // back again by Previous, from the last page to the first
    for i in (0..pages.len() - 1).rev() {
        let first = page.items[0].details.tag.to_string();
        page = list(Position::Before(first)).await;
        assert_eq!(tags(&page), tags(&pages[i]), "page {i}");
        assert!(page.has_next);
        assert_eq!(page.has_previous, i > 0);
    }
    // a key in the other case is the same position
    assert_eq!(
        tags(&list(Position::After("Lap-010".into())).await)[0],
        "LAP-011"
    );
    // numbered pages still work, for the API's old clients
    assert_eq!(tags(&list(Position::Page(2)).await), tags(&pages[1]));
    // past the end: nothing, but something before
    let past = list(Position::After("ZZZ".into())).await;
    assert!(past.items.is_empty() && past.has_previous && !past.has_next);
}

#[tokio::test]
async fn filters_and_search_find_the_right_devices() {
    let (_dir, store) = store().await;
    for i in 0..30 {
        let mut d = laptop(&format!("LAP-{i:03}"));
        if i % 3 == 0 {
            d.kind = "ipad".into();
            d.make = "Apple".into();
            d.model = "iPad 10th gen".into();
        }
        d.serial = format!("SN{i:05}");
        store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                d.parse(today()).unwrap(),
            )
            .await
            .unwrap();
    }
    let page = store
        .list_devices(
            kitroom_core::school::SchoolId::FIRST,
            &DeviceFilter {
                kind: Some("ipad".parse().unwrap()),
                per_page: 4,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 10);
    assert_eq!(page.items.len(), 4);
    let page = store
        .list_devices(
            kitroom_core::school::SchoolId::FIRST,
            &DeviceFilter {
                q: Some("sn00017".into()),
                per_page: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        page.items
            .iter()
            .map(|d| d.details.tag.as_str())
            .collect::<Vec<_>>(),
        ["LAP-017"]
    );
    // a % in the search box is a percent sign, not a wildcard
    let page = store
        .list_devices(
            kitroom_core::school::SchoolId::FIRST,
            &DeviceFilter {
                q: Some("%".into()),
                per_page: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(page.total, 0);
}

#[tokio::test]
async fn the_log_verifies_and_an_altered_event_is_named() {
    let (_dir, store) = store().await;
    for i in 0..5 {
        store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                laptop(&format!("LAP-{i}")).parse(today()).unwrap(),
            )
            .await
            .unwrap();
    }
    let (checked, head) = store.verify_log().await.unwrap().unwrap();
    assert_eq!(checked, 6);
    assert_eq!(head.unwrap().0, 6);
    // someone with the database file edits an event behind Kitroom's back
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", store.path().display()))
        .await
        .unwrap();
    let err = sqlx::query("update event set details = '{}' where seq = 3")
        .execute(&mut conn)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("append-only"));
    sqlx::query("drop trigger event_no_update")
        .execute(&mut conn)
        .await
        .unwrap();
    sqlx::query("update event set details = '{}' where seq = 3")
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(
        store.verify_log().await.unwrap(),
        Err(ChainBreak::Altered { seq: 3 })
    );
}

#[tokio::test]
async fn deactivating_a_person_ends_their_sessions() {
    let (_dir, store) = store().await;
    let input = PersonInput {
        username: "jsmith".into(),
        full_name: "Jo Smith".into(),
        ..Default::default()
    };
    let p = store
        .create_person(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            input.parse().unwrap(),
            Some("hash".into()),
        )
        .await
        .unwrap();
    store
        .save_session("abc".into(), Some(p.id), "{}".into(), i64::MAX, true)
        .await
        .unwrap();
    assert!(store.load_session("abc", 0).await.unwrap().is_some());
    let p = store
        .set_active(Actor::system(), p.id, false)
        .await
        .unwrap();
    assert!(!p.active);
    assert!(store.load_session("abc", 0).await.unwrap().is_none());
    // a second account with the same name in other case is refused
    let again = PersonInput {
        username: "JSmith".into(),
        full_name: "Another".into(),
        ..Default::default()
    };
    let err = store
        .create_person(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            again.parse().unwrap(),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Invalid(_)));
}

mod loans {
    use super::*;
    use chrono::{Duration, Utc};
    use kitroom_core::loan::CheckOutRefusal;

    use kitroom_store::loans::LoanFilter;
    use kitroom_store::people::Person;

    async fn person(store: &Store, username: &str, role: &str) -> Person {
        let input = PersonInput {
            username: username.into(),
            full_name: format!("{username} Test"),
            role: role.into(),
            ..Default::default()
        };
        store
            .create_person(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                input.parse().unwrap(),
                Some("hash".into()),
            )
            .await
            .unwrap()
    }

    async fn publish_and_sign(store: &Store, signers: &[&Person]) {
        let p = super::publish_policy(store, "v1", "Be kind.").await;
        for s in signers {
            super::sign_policy(store, s, p.id).await;
        }
    }

    /// The application over this store, as the server builds it.
    fn app(store: &Store) -> kitroom_app::App {
        kitroom_app::App::new(
            store.clone(),
            None,
            std::sync::Arc::new(tokio::sync::Notify::new()),
        )
    }

    /// A check-out for a lesson, due in three hours, as the device's page asks it.
    fn request() -> kitroom_app::loans::CheckOutInput {
        kitroom_app::loans::CheckOutInput {
            due_at: Some((Utc::now() + Duration::hours(3)).to_rfc3339()),
            purpose: "Lesson".into(),
            ..Default::default()
        }
    }

    /// Lends a device the one way the pages and the API do.
    async fn lend(
        store: &Store,
        caller: &Person,
        tag: &str,
    ) -> Result<kitroom_store::loans::Loan, kitroom_app::Error> {
        kitroom_app::loans::check_out(&app(store), caller, tag, request())
            .await
            .map(|out| out.loan)
    }

    /// Takes a device back the one way the pages and the API do.
    async fn take_back(
        store: &Store,
        caller: &Person,
        tag: &str,
        location: &str,
        battery: Option<i64>,
    ) -> Result<kitroom_store::loans::Loan, kitroom_app::Error> {
        let input = kitroom_app::loans::ReturnInput {
            location: location.into(),
            battery_percent: kitroom_app::input::Number(
                battery.map(|b| b.to_string()).unwrap_or_default(),
            ),
            on_charge: kitroom_app::input::Flag(true),
            images_cleared: kitroom_app::input::Flag(true),
            ..Default::default()
        };
        kitroom_app::loans::return_device(&app(store), caller, tag, input)
            .await
            .map(|r| r.loan)
    }

    fn refused_as(e: &kitroom_app::Error, refusal: CheckOutRefusal) -> bool {
        e.refusal().is_some_and(|r| r.code == refusal.code())
    }

    #[tokio::test]
    async fn fifty_simultaneous_check_outs_of_one_device_make_exactly_one_loan() {
        let (_dir, store) = store().await;
        let jo = person(&store, "jo", "borrower").await;
        publish_and_sign(&store, &[&jo]).await;
        let d = store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                laptop("LAP-1").parse(today()).unwrap(),
            )
            .await
            .unwrap();
        let tries = (0..50).map(|_| {
            let store = store.clone();
            let jo = jo.clone();
            tokio::spawn(async move { lend(&store, &jo, "LAP-1").await })
        });
        let mut won = 0;
        for t in tries {
            match t.await.unwrap() {
                Ok(_) => won += 1,
                Err(e) if refused_as(&e, CheckOutRefusal::NotAvailable(DeviceStatus::OnLoan)) => {}
                Err(e) => panic!("unexpected {e:?}"),
            }
        }
        assert_eq!(won, 1);
        let events = store
            .list_events(&EventFilter {
                device: Some(d.id),
                limit: 100,
                ..Default::default()
            })
            .await
            .unwrap();
        assert_eq!(
            events
                .iter()
                .filter(|e| e.action == "loan.checked_out")
                .count(),
            1
        );
        assert_eq!(
            store
                .count_loans(
                    kitroom_core::school::SchoolId::FIRST,
                    &LoanFilter {
                        open: true,
                        ..Default::default()
                    }
                )
                .await
                .unwrap(),
            1
        );
    }

    /// Even a program that skips Kitroom's own check (a script, a bug, a careless SQL
    /// session) cannot put one device on two open loans: the partial unique index
    /// refuses the second, and the loan that is there stays whole.
    #[tokio::test]
    async fn the_database_itself_refuses_a_second_open_loan_written_behind_the_apps_back() {
        let (_dir, store) = store().await;
        let jo = person(&store, "jo", "borrower").await;
        let sam = person(&store, "sam", "borrower").await;
        publish_and_sign(&store, &[&jo, &sam]).await;
        let d = store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                laptop("LAP-1").parse(today()).unwrap(),
            )
            .await
            .unwrap();
        let first = lend(&store, &jo, "LAP-1").await.unwrap();
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", store.path().display()))
                .await
                .unwrap();
        let insert = |id: &str| {
            sqlx::query(
                "insert into loan (id, device_id, borrower_id, issued_by, out_at, due_at)
                 values (?, ?, ?, ?, '2026-11-23T09:00:00.000000Z', '2026-11-23T15:30:00.000000Z')",
            )
            .bind(id.to_owned())
            .bind(d.id.to_string())
            .bind(sam.id.to_string())
            .bind(sam.id.to_string())
        };
        let err = insert("00000000-0000-4000-8000-000000000001")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(
            matches!(&err, sqlx::Error::Database(e) if e.is_unique_violation()),
            "{err}"
        );
        // nor by reopening the first loan after a second was written for a returned device
        take_back(&store, &jo, "LAP-1", "Computer room", None)
            .await
            .unwrap();
        insert("00000000-0000-4000-8000-000000000002")
            .execute(&mut conn)
            .await
            .unwrap();
        let err = sqlx::query(
            "update loan set returned_at = null, outcome = null, return_location_id = null,
               received_by = null, return_condition = null where id = ?",
        )
        .bind(first.id.to_string())
        .execute(&mut conn)
        .await
        .unwrap_err();
        assert!(
            matches!(&err, sqlx::Error::Database(e) if e.is_unique_violation()),
            "{err}"
        );
        let open: i64 = sqlx::query_scalar(
            "select count(*) from loan where device_id = ? and returned_at is null",
        )
        .bind(d.id.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(open, 1);
        // and the activity log cannot be rewritten to hide it
        let err = sqlx::query("delete from event where action = 'loan.checked_out'")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("append-only"), "{err}");
    }

    #[tokio::test]
    async fn a_loan_goes_out_comes_back_on_charge_and_is_ready_after_charging() {
        let (_dir, store) = store().await;
        let jo = person(&store, "jo", "borrower").await;
        store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                laptop("LAP-1").parse(today()).unwrap(),
            )
            .await
            .unwrap();
        // no policy yet: nobody borrows
        let err = lend(&store, &jo, "LAP-1").await.unwrap_err();
        assert!(refused_as(&err, CheckOutRefusal::NoPolicy), "{err:?}");
        publish_and_sign(&store, &[&jo]).await;
        let loan = lend(&store, &jo, "LAP-1").await.unwrap();
        assert_eq!(loan.borrower, "jo");
        let back = take_back(&store, &jo, "LAP-1", "Computer room", Some(35))
            .await
            .unwrap();
        assert_eq!(back.outcome.as_deref(), Some("returned"));
        assert_eq!(back.battery_percent, Some(35));
        let d2 = store
            .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(d2.status, DeviceStatus::ReturnedCharging);
        let settings = store
            .settings(kitroom_core::school::SchoolId::FIRST)
            .await
            .unwrap();
        assert_eq!(
            kitroom_app::charging::mark_charged_ready(
                &app(&store),
                kitroom_core::school::SchoolId::FIRST,
                settings.clone(),
                Utc::now()
            )
            .await
            .unwrap(),
            0,
            "not charged yet"
        );
        let later = Utc::now()
            + Duration::minutes(
                settings
                    .charge_minutes_for(kitroom_core::device::DeviceKind::Laptop)
                    .into(),
            );
        assert_eq!(
            kitroom_app::charging::mark_charged_ready(
                &app(&store),
                kitroom_core::school::SchoolId::FIRST,
                settings,
                later
            )
            .await
            .unwrap(),
            1
        );
        assert_eq!(
            store
                .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-1")
                .await
                .unwrap()
                .unwrap()
                .status,
            DeviceStatus::Available
        );
    }

    #[tokio::test]
    async fn a_device_lost_on_loan_closes_its_loan() {
        let (_dir, store) = store().await;
        let jo = person(&store, "jo", "borrower").await;
        publish_and_sign(&store, &[&jo]).await;
        let d = store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                laptop("LAP-1").parse(today()).unwrap(),
            )
            .await
            .unwrap();
        lend(&store, &jo, "LAP-1").await.unwrap();
        change_status(
            &store,
            d.id,
            StatusChange::ReportLost,
            "left on the bus".into(),
        )
        .await
        .unwrap();
        assert!(store.open_loan(d.id).await.unwrap().is_none());
        let all = store
            .list_loans(
                kitroom_core::school::SchoolId::FIRST,
                &LoanFilter {
                    device: Some(d.id),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        assert_eq!(all[0].outcome.as_deref(), Some("lost"));
        // found again, it charges and can be lent once ready
        change_status(&store, d.id, StatusChange::Found, String::new())
            .await
            .unwrap();
        assert_eq!(
            store
                .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-1")
                .await
                .unwrap()
                .unwrap()
                .status,
            DeviceStatus::ReturnedCharging
        );
    }

    #[tokio::test]
    async fn a_new_policy_version_asks_everyone_to_sign_again() {
        let (_dir, store) = store().await;
        let jo = person(&store, "jo", "borrower").await;
        publish_and_sign(&store, &[&jo]).await;
        assert_eq!(
            store
                .policy_standing(kitroom_core::school::SchoolId::FIRST, jo.id)
                .await
                .unwrap(),
            kitroom_core::loan::PolicyStanding::Signed
        );
        super::publish_policy(&store, "v2", "Be kinder.").await;
        assert_eq!(
            store
                .policy_standing(kitroom_core::school::SchoolId::FIRST, jo.id)
                .await
                .unwrap(),
            kitroom_core::loan::PolicyStanding::NotSigned {
                version_label: "v2".into()
            }
        );
        // signatures cannot be edited, even by hand
        let mut conn =
            sqlx::SqliteConnection::connect(&format!("sqlite://{}", store.path().display()))
                .await
                .unwrap();
        let err = sqlx::query("update signature set full_name = 'Someone else'")
            .execute(&mut conn)
            .await
            .unwrap_err();
        assert!(err.to_string().contains("never edited"));
    }
}

/// Bookings, collections, returns and cancellations in random order, against the
/// real store: no device is ever held by two bookings at overlapping times, nor on
/// two open loans, and a device is on loan exactly when it has an open loan.
mod bookings {
    use super::*;
    use chrono::{DateTime, Duration, Utc};
    use proptest::prelude::*;
    use uuid::Uuid;

    #[derive(Debug, Clone)]
    enum Op {
        BookDevice { device: usize, start: i64, len: i64 },
        BookSet { start: i64, len: i64 },
        BookKind { count: u32, start: i64, len: i64 },
        Collect { booking: usize },
        Cancel { booking: usize },
        Return { device: usize },
        Ready { device: usize },
    }

    fn any_op() -> impl Strategy<Value = Op> {
        // starts from an hour ago to six hours ahead, so some can be collected now
        prop_oneof![
            (0usize..5, -1i64..6, 2i64..4).prop_map(|(device, start, len)| Op::BookDevice {
                device,
                start,
                len
            }),
            (-1i64..6, 2i64..4).prop_map(|(start, len)| Op::BookSet { start, len }),
            (1u32..4, -1i64..6, 2i64..4).prop_map(|(count, start, len)| Op::BookKind {
                count,
                start,
                len
            }),
            (0usize..20).prop_map(|booking| Op::Collect { booking }),
            (0usize..20).prop_map(|booking| Op::Cancel { booking }),
            (0usize..5).prop_map(|device| Op::Return { device }),
            (0usize..5).prop_map(|device| Op::Ready { device }),
        ]
    }

    /// Only refusals are allowed from a command: never a failure underneath.
    fn refused_only(r: Result<impl std::fmt::Debug, kitroom_app::Error>) {
        if let Err(kitroom_app::Error::Failed(e)) = r {
            panic!("not a refusal: {e:?}");
        }
    }

    async fn count(store: &Store, sql: &str) -> i64 {
        sqlx::query_scalar(sql)
            .fetch_one(store.reader())
            .await
            .unwrap()
    }

    async fn run(ops: Vec<Op>) {
        let (_dir, store) = store().await;
        let input = PersonInput {
            username: "jo".into(),
            full_name: "Jo Test".into(),
            role: "borrower".into(),
            ..Default::default()
        };
        let jo = store
            .create_person(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                input.parse().unwrap(),
                Some("hash".into()),
            )
            .await
            .unwrap();
        let p = super::publish_policy(&store, "v1", "Be kind.").await;
        super::sign_policy(&store, &jo, p.id).await;
        let mut devices: Vec<Uuid> = Vec::new();
        for i in 0..5 {
            let mut d = laptop(&format!("LAP-{i}"));
            d.kind = "ipad".into();
            devices.push(
                store
                    .create_device(
                        Actor::system(),
                        kitroom_core::school::SchoolId::FIRST,
                        d.parse(today()).unwrap(),
                    )
                    .await
                    .unwrap()
                    .id,
            );
        }
        store
            .transaction(|conn| {
                Box::pin(async move {
                    let (actor, now) = (Actor::system(), Utc::now());
                    let new = kitroom_app::set_admin::NewSet {
                        name: "Trolley".into(),
                        notes: String::new(),
                    };
                    let set = kitroom_app::set_admin::create_in(
                        conn,
                        &actor,
                        kitroom_core::school::SchoolId::FIRST,
                        &new,
                        now,
                    )
                    .await?;
                    for i in 0..3 {
                        let tag = format!("LAP-{i}");
                        kitroom_app::set_admin::add_device_in(
                            conn,
                            &actor,
                            kitroom_core::school::SchoolId::FIRST,
                            set.id,
                            &tag,
                            now,
                        )
                        .await?;
                    }
                    Ok::<_, kitroom_app::Error>(())
                })
            })
            .await
            .unwrap();
        let app = kitroom_app::App::new(
            store.clone(),
            None,
            std::sync::Arc::new(tokio::sync::Notify::new()),
        );
        let now = Utc::now();
        let hour = |h: i64| -> DateTime<Utc> { now + Duration::hours(h) };
        let mut bookings: Vec<Uuid> = Vec::new();
        for op in ops {
            // booked the one way the pages and the API book
            let booking = |input: kitroom_app::bookings::BookingInput, start: i64, len: i64| {
                kitroom_app::bookings::BookingInput {
                    starts_at: Some(hour(start).to_rfc3339()),
                    ends_at: Some(hour(start + len).to_rfc3339()),
                    ..input
                }
            };
            fn made(
                bookings: &mut Vec<Uuid>,
                r: Result<kitroom_store::bookings::Booking, kitroom_app::Error>,
            ) {
                if let Ok(b) = &r {
                    bookings.push(b.id);
                }
                refused_only(r);
            }
            match op {
                Op::BookDevice { device, start, len } => {
                    let input = kitroom_app::bookings::BookingInput {
                        device: format!("LAP-{device}"),
                        ..Default::default()
                    };
                    made(
                        &mut bookings,
                        kitroom_app::bookings::book(&app, &jo, booking(input, start, len)).await,
                    );
                }
                Op::BookSet { start, len } => {
                    let input = kitroom_app::bookings::BookingInput {
                        set: "Trolley".into(),
                        ..Default::default()
                    };
                    made(
                        &mut bookings,
                        kitroom_app::bookings::book(&app, &jo, booking(input, start, len)).await,
                    );
                }
                Op::BookKind { count, start, len } => {
                    let input = kitroom_app::bookings::BookingInput {
                        kind: "ipad".into(),
                        count: kitroom_app::input::Number(count.to_string()),
                        ..Default::default()
                    };
                    made(
                        &mut bookings,
                        kitroom_app::bookings::book(&app, &jo, booking(input, start, len)).await,
                    );
                }
                Op::Collect { booking } => {
                    if let Some(b) = bookings.get(booking) {
                        refused_only(
                            kitroom_app::bookings::collect(
                                &app,
                                &jo,
                                &b.to_string(),
                                Default::default(),
                            )
                            .await,
                        );
                    }
                }
                Op::Cancel { booking } => {
                    if let Some(b) = bookings.get(booking) {
                        refused_only(
                            kitroom_app::bookings::cancel(&app, &jo, &b.to_string()).await,
                        );
                    }
                }
                Op::Return { device } => {
                    let r = kitroom_app::loans::ReturnInput {
                        location: "Library".into(),
                        on_charge: kitroom_app::input::Flag(true),
                        images_cleared: kitroom_app::input::Flag(true),
                        ..Default::default()
                    };
                    refused_only(
                        kitroom_app::loans::return_device(&app, &jo, &format!("LAP-{device}"), r)
                            .await,
                    );
                }
                Op::Ready { device } => {
                    refused_only(
                        change_status(
                            &store,
                            devices[device],
                            StatusChange::MarkReady,
                            String::new(),
                        )
                        .await,
                    );
                }
            }
            assert_eq!(
                count(&store, "select count(*) from booking_device a join booking_device b on a.device_id = b.device_id
                    and a.rowid < b.rowid and a.starts_at < b.ends_at and b.starts_at < a.ends_at").await,
                0,
                "a device held by two bookings at once"
            );
            assert_eq!(
                count(&store, "select count(*) from (select device_id from loan where returned_at is null group by device_id having count(*) > 1)").await,
                0,
                "a device on two open loans"
            );
            assert_eq!(
                count(&store, "select count(*) from device d where (d.status = 'on_loan') <> exists (select 1 from loan l where l.device_id = d.id and l.returned_at is null)").await,
                0,
                "status and open loans disagree"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
        #[test]
        fn random_bookings_collections_returns_and_cancellations_keep_every_device_single(ops in proptest::collection::vec(any_op(), 1..40)) {
            tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(run(ops));
        }
    }
}

/// The write-ahead log is copied back as writes go by, so it stays small however
/// many writes go by: the checkpointer copies it on its own connection, and the
/// writer restarts it once it passes 4,000 pages (with the checkpointer doing
/// nothing, 300 writes back to back made it 25 MiB).
#[tokio::test]
async fn the_write_ahead_log_stays_small_across_many_writes() {
    let (dir, store) = store().await;
    let wal = dir.path().join("kitroom.db-wal");
    let mut largest = 0;
    for i in 0..300 {
        store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                laptop(&format!("LAP-{i:04}")).parse(today()).unwrap(),
            )
            .await
            .unwrap();
        largest = largest.max(std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0));
    }
    assert!(
        // 4,000 pages, and the writes that went by while the checkpointer copied
        largest < 18 * 1024 * 1024,
        "the log reached {largest} bytes over 300 writes"
    );
    assert_eq!(
        store
            .list_devices(
                kitroom_core::school::SchoolId::FIRST,
                &DeviceFilter {
                    per_page: 1,
                    ..Default::default()
                }
            )
            .await
            .unwrap()
            .total,
        300
    );
}

/// The list counts its matches from the device tally (migration 0010_counts): after
/// registrations, edits that move a device's kind, place or encryption, and status
/// moves, every filter's count is what the register holds, and `kitroom check`
/// notices a tally that has drifted.
#[tokio::test]
async fn list_counts_follow_every_change_and_a_drifted_tally_is_caught() {
    let (_dir, store) = store().await;
    let kinds = ["laptop", "ipad", "chromebook"];
    let places = ["Computer room", "Library", "Staff room"];
    let mut ids = Vec::new();
    for i in 0..24 {
        let mut d = laptop(&format!("T-{i:03}"));
        d.kind = kinds[i % 3].into();
        d.location = places[i % 2].into();
        d.encryption_state = if i % 4 == 0 {
            "not_encrypted".into()
        } else {
            String::new()
        };
        let d = store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                d.parse(today()).unwrap(),
            )
            .await
            .unwrap();
        ids.push(d.id);
    }
    for (n, id) in ids.iter().enumerate().take(12) {
        match n % 4 {
            0 => {
                change_status(&store, *id, StatusChange::SendToRepair, String::new())
                    .await
                    .unwrap();
            }
            1 => {
                change_status(&store, *id, StatusChange::ReportLost, String::new())
                    .await
                    .unwrap();
            }
            _ => {
                let d = store
                    .device_by_tag(kitroom_core::school::SchoolId::FIRST, &format!("T-{n:03}"))
                    .await
                    .unwrap()
                    .unwrap();
                let mut details = d.details.clone();
                details.kind = "camera".parse().unwrap();
                details.location = places[2].into();
                details.encryption.state = "not_encrypted".parse().unwrap();
                store
                    .update_device(
                        Actor::system(),
                        kitroom_core::school::SchoolId::FIRST,
                        *id,
                        details,
                    )
                    .await
                    .unwrap();
            }
        }
    }
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", store.path().display()))
        .await
        .unwrap();
    // (kind, status, place, encryption)
    type Filter<'a> = (
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
        Option<&'a str>,
    );
    let filters: Vec<Filter> = vec![
        (None, None, None, None),
        (Some("laptop"), None, None, None),
        (Some("camera"), Some("available"), None, None),
        (None, Some("in_repair"), None, None),
        (None, Some("lost"), Some("Library"), None),
        (None, None, Some("staff room"), Some("not_encrypted")),
        (
            Some("ipad"),
            Some("available"),
            Some("Library"),
            Some("unknown"),
        ),
    ];
    for (kind, status, place, encryption) in filters {
        let page = store
            .list_devices(
                kitroom_core::school::SchoolId::FIRST,
                &DeviceFilter {
                    kind: kind.map(|k| k.parse().unwrap()),
                    status: status.map(|s| s.parse().unwrap()),
                    location: place.map(str::to_owned),
                    encryption: encryption.map(|e| e.parse().unwrap()),
                    per_page: 50,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        let counted: i64 = sqlx::query_scalar(
            "select count(*) from device d join location l on l.id = d.location_id
             where (?1 is null and d.status <> 'retired' or d.status = ?1)
               and (?2 is null or d.kind = ?2)
               and (?3 is null or l.name = ?3 collate nocase)
               and (?4 is null or d.encryption_state = ?4)",
        )
        .bind(status)
        .bind(kind)
        .bind(place)
        .bind(encryption)
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(
            (page.total, page.items.len() as i64),
            (counted, counted),
            "{kind:?} {status:?} {place:?} {encryption:?}"
        );
    }
    for place in store
        .list_locations(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()
    {
        let counted: i64 = sqlx::query_scalar(
            "select count(*) from device where location_id = ? and status <> 'retired'",
        )
        .bind(place.id.to_string())
        .fetch_one(&mut conn)
        .await
        .unwrap();
        assert_eq!(place.devices, counted, "{}", place.name);
    }
    let by_status = store
        .count_by_status(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    assert!(
        by_status.contains(&(DeviceStatus::Lost, 3)),
        "{by_status:?}"
    );
    assert!(
        by_status.contains(&(DeviceStatus::InRepair, 3)),
        "{by_status:?}"
    );
    assert_eq!(store.integrity_check().await.unwrap(), ["ok"]);

    sqlx::query("update device_tally set devices = devices + 1 where status = 'lost'")
        .execute(&mut conn)
        .await
        .unwrap();
    let problems = store.integrity_check().await.unwrap();
    assert!(
        problems.iter().any(|p| p.starts_with("device tally: 2 ")),
        "{problems:?}"
    );
}

/// The desk's count of devices whose encryption was not checked for a year comes
/// from a tally: if a trigger missed a change, the manager would chase devices
/// already checked, or never hear of ones that were not.
#[tokio::test]
async fn the_desk_counts_unchecked_encryption_from_a_tally_that_follows_every_change() {
    let (_dir, store) = store().await;
    let since = NaiveDate::from_ymd_opt(2025, 11, 23).unwrap();
    let now = chrono::Utc::now();
    let mut ids = Vec::new();
    for (i, (state, verified)) in [
        ("encrypted", "2025-06-01"),
        ("encrypted", "2025-06-01"),
        ("encrypted", "2026-10-01"),
        ("encrypted", ""),
        ("not_encrypted", ""),
        ("unknown", ""),
        ("encrypted", "2024-01-15"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut d = laptop(&format!("E-{i:03}"));
        d.encryption_state = state.into();
        if state == "encrypted" {
            d.encryption_method = "bitlocker".into();
        }
        d.encryption_verified_on = verified.into();
        let d = store
            .create_device(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                d.parse(today()).unwrap(),
            )
            .await
            .unwrap();
        ids.push(d.id);
    }
    let mut conn = sqlx::SqliteConnection::connect(&format!("sqlite://{}", store.path().display()))
        .await
        .unwrap();
    async fn check(
        store: &Store,
        conn: &mut sqlx::SqliteConnection,
        since: NaiveDate,
        now: chrono::DateTime<chrono::Utc>,
        step: &str,
    ) {
        let counted: i64 = sqlx::query_scalar(
            "select count(*) from device where status <> 'retired'
               and (encryption_state <> 'encrypted' or encryption_verified_on is null or encryption_verified_on < ?)",
        )
        .bind(since.to_string())
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        let desk = store
            .desk_counts(kitroom_core::school::SchoolId::FIRST, now, since)
            .await
            .unwrap();
        assert_eq!(desk.encryption_gaps, counted, "{step}");
        assert_eq!(store.integrity_check().await.unwrap(), ["ok"], "{step}");
    }
    check(&store, &mut conn, since, now, "registered").await;
    assert_eq!(
        store
            .desk_counts(kitroom_core::school::SchoolId::FIRST, now, since)
            .await
            .unwrap()
            .encryption_gaps,
        6
    );

    // Checked again today; then one marked not encrypted; then one moves status
    // without leaving use, one is retired.
    let d = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "E-000")
        .await
        .unwrap()
        .unwrap();
    let mut details = d.details.clone();
    details.encryption.verified_on = Some(today());
    store
        .update_device(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            ids[0],
            details,
        )
        .await
        .unwrap();
    check(&store, &mut conn, since, now, "checked again").await;
    let d = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "E-002")
        .await
        .unwrap()
        .unwrap();
    let mut details = d.details.clone();
    details.encryption.state = "not_encrypted".parse().unwrap();
    details.encryption.method = None;
    details.encryption.verified_on = None;
    store
        .update_device(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            ids[2],
            details,
        )
        .await
        .unwrap();
    check(&store, &mut conn, since, now, "no longer encrypted").await;
    change_status(&store, ids[1], StatusChange::SendToRepair, String::new())
        .await
        .unwrap();
    check(&store, &mut conn, since, now, "sent to repair").await;
    change_status(&store, ids[6], StatusChange::Retire, String::new())
        .await
        .unwrap();
    check(&store, &mut conn, since, now, "retired").await;
    assert_eq!(
        store
            .desk_counts(kitroom_core::school::SchoolId::FIRST, now, since)
            .await
            .unwrap()
            .encryption_gaps,
        5
    );

    sqlx::query("update device_encryption_tally set devices = devices + 1 where verified_on = ''")
        .execute(&mut conn)
        .await
        .unwrap();
    let problems = store.integrity_check().await.unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.starts_with("encryption tally: 2 encrypted devices last checked never")),
        "{problems:?}"
    );
}
