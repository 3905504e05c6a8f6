//! Importing CSV files into a real SQLite file: all of a file, or none of it.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use chrono::NaiveDate;
use kitroom_core::device::{DeviceInput, EncryptionMethod, EncryptionState};
use kitroom_core::import::{
    check_devices, check_encryption, check_people, Mapping, Problem, Sheet,
};
use kitroom_core::person::{AccountKeeper, PersonInput, Role};
use kitroom_store::import::{read_table, Outcome};
use kitroom_store::{Actor, Store};

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
}

async fn store() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    (dir, store)
}

async fn count(store: &Store, table: &str) -> i64 {
    sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(store.reader())
        .await
        .unwrap()
}

async fn manager(store: &Store) -> Actor {
    let p = store
        .create_person(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            PersonInput {
                username: "sbm".into(),
                full_name: "School Business Manager".into(),
                role: "manager".into(),
                ..Default::default()
            }
            .parse()
            .unwrap(),
            None,
        )
        .await
        .unwrap();
    p.actor()
}

async fn register(store: &Store, tag: &str, serial: &str) {
    let d = DeviceInput {
        tag: tag.into(),
        kind: "laptop".into(),
        make: "Dell".into(),
        model: "Latitude".into(),
        serial: serial.into(),
        location: "Computer room".into(),
        ..Default::default()
    };
    store
        .create_device(
            Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            d.parse(today()).unwrap(),
        )
        .await
        .unwrap();
}

/// Reads, checks and imports a devices file as the command line does.
async fn import_devices(store: &Store, actor: &Actor, csv: &str) -> Outcome<usize> {
    let table = read_table(csv.as_bytes()).map_err(|p| vec![p]);
    let table = match table {
        Ok(t) => t,
        Err(p) => return Outcome::Refused(p),
    };
    let keys = store
        .register_keys(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    let mapping = Mapping::automatic(Sheet::Devices, &table.headers);
    let checked = check_devices(&table, mapping, &keys, today());
    store
        .import_devices(
            actor.clone(),
            kitroom_core::school::SchoolId::FIRST,
            checked,
            Box::new(|_| {}),
        )
        .await
        .unwrap()
}

fn where_(problems: &[Problem]) -> Vec<(u64, &str)> {
    problems
        .iter()
        .map(|p| (p.line, p.column.as_str()))
        .collect()
}

const EVERY_ERROR: &str = "\
Asset Tag,Kind,Serial Number,Home location,Purchase date,Cost in pounds
,laptop,SN-A,Library,,
LAP-0100,laptop,SN-B,Library,,
lap-0100,laptop,SN-C,Library,,
LAP-0001,laptop,SN-D,Library,,
LAP-0101,laptop,SN-B,Library,,
LAP-0102,toaster,SN-E,Library,,
LAP-0103,laptop,SN-F,Library,2024-02-31,
LAP-0104,laptop,SN-G,Library,,lots
LAP-0105,laptop,SN-OLD,Library,,
";

const CORRECTED: &str = "\
Asset Tag,Kind,Serial Number,Home location,Purchase date,Cost in pounds
LAP-0099,laptop,SN-A,Library,,
LAP-0100,laptop,SN-B,Library,,
LAP-0106,laptop,SN-C,Library,,
LAP-0107,laptop,SN-D,Sports hall,,
LAP-0101,laptop,SN-H,Library,,
LAP-0102,laptop,SN-E,Library,,
LAP-0103,laptop,SN-F,Library,2024-02-29,
LAP-0104,laptop,SN-G,Library,,349.99
LAP-0105,laptop,SN-I,Library,,
";

/// A file with mistakes in it would be half imported, or its mistakes not shown
/// where they are, leaving the manager to untangle a half-written register.
#[tokio::test]
async fn a_file_with_any_problem_writes_nothing_and_names_every_problem() {
    let (_dir, store) = store().await;
    let sbm = manager(&store).await;
    register(&store, "LAP-0001", "SN-OLD").await;
    let (devices, events) = (count(&store, "device").await, count(&store, "event").await);
    let Outcome::Refused(problems) = import_devices(&store, &sbm, EVERY_ERROR).await else {
        panic!("a file with problems is refused");
    };
    assert_eq!(
        where_(&problems),
        vec![
            (2, "Asset Tag"),
            (4, "Asset Tag"),
            (5, "Asset Tag"),
            (6, "Serial Number"),
            (7, "Kind"),
            (8, "Purchase date"),
            (9, "Cost in pounds"),
            (10, "Serial Number"),
        ],
        "{problems:#?}"
    );
    assert_eq!(
        count(&store, "device").await,
        devices,
        "no device is written"
    );
    assert_eq!(count(&store, "event").await, events, "no event is written");
    assert_eq!(count(&store, "location").await, 1, "no location is created");

    let started = Instant::now();
    assert_eq!(
        import_devices(&store, &sbm, CORRECTED).await,
        Outcome::Written(9)
    );
    eprintln!("9 devices imported in {:?}", started.elapsed());
    assert_eq!(count(&store, "device").await, devices + 9);
    // Nine registrations, and two new locations each logged once.
    assert_eq!(count(&store, "event").await, events + 11);
    let d = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-0104")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(d.details.cost.map(|c| c.0), Some(34_999));
    assert_eq!(d.details.location, "Library");
    assert_eq!(store.verify_log().await.unwrap().map(|_| ()), Ok(()));
}

/// A device registered by hand between the preview and the confirmation would be
/// registered twice, or the import would fail half way.
#[tokio::test]
async fn a_tag_registered_after_the_check_refuses_the_whole_import() {
    let (_dir, store) = store().await;
    let sbm = manager(&store).await;
    let table =
        read_table(b"tag,kind,location\nLAP-1,laptop,Library\nLAP-2,laptop,Library\n").unwrap();
    let keys = store
        .register_keys(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    let checked = check_devices(
        &table,
        Mapping::automatic(Sheet::Devices, &table.headers),
        &keys,
        today(),
    );
    assert!(checked.is_ready());
    register(&store, "lap-2", "").await;
    let devices = count(&store, "device").await;
    let Outcome::Refused(problems) = store
        .import_devices(
            sbm,
            kitroom_core::school::SchoolId::FIRST,
            checked,
            Box::new(|_| {}),
        )
        .await
        .unwrap()
    else {
        panic!("refused");
    };
    assert_eq!(where_(&problems), vec![(3, "tag")]);
    assert_eq!(count(&store, "device").await, devices);
}

/// A school's whole inventory could not be imported at once, or would take so long
/// that the manager gives up.
#[tokio::test]
async fn ten_thousand_devices_import_in_one_go() {
    let (_dir, store) = store().await;
    let sbm = manager(&store).await;
    let mut csv = String::from(
        "tag,kind,make,model,serial,location,purchased_on,cost,encryption_state,encryption_method,holds_personal_data\n",
    );
    for i in 0..10_000 {
        csv.push_str(&format!(
            "LAP-{i:05},laptop,Dell,Latitude 3540,SN{i:08},Room {},2024-09-01,649.00,encrypted,bitlocker,yes\n",
            i % 40
        ));
    }
    let started = Instant::now();
    let table = read_table(csv.as_bytes()).unwrap();
    let keys = store
        .register_keys(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    let checked = check_devices(
        &table,
        Mapping::automatic(Sheet::Devices, &table.headers),
        &keys,
        today(),
    );
    assert!(checked.is_ready(), "{:?}", &checked.problems[..3]);
    let checked_in = started.elapsed();
    let written = Arc::new(AtomicUsize::new(0));
    let seen = written.clone();
    let outcome = store
        .import_devices(
            sbm,
            kitroom_core::school::SchoolId::FIRST,
            checked,
            Box::new(move |n| seen.store(n, Ordering::Relaxed)),
        )
        .await
        .unwrap();
    assert_eq!(outcome, Outcome::Written(10_000));
    eprintln!(
        "10,000 devices: read and checked in {checked_in:?}, written in {:?}",
        started.elapsed() - checked_in
    );
    assert_eq!(
        written.load(Ordering::Relaxed),
        10_000,
        "progress reached the end"
    );
    assert_eq!(count(&store, "device").await, 10_000);
    assert_eq!(count(&store, "location").await, 40);
    // One person, 40 locations and 10,000 devices.
    assert_eq!(count(&store, "event").await, 1 + 40 + 10_000);
}

fn keeper(role: Role) -> AccountKeeper {
    AccountKeeper {
        role,
        managers_manage_managers: false,
    }
}

/// Staff could not be added from the school's list, or a manager could make an admin
/// or a head teacher.
#[tokio::test]
async fn people_are_imported_without_passwords_and_only_an_admin_makes_admins() {
    let (_dir, store) = store().await;
    let sbm = manager(&store).await;
    let csv = "Username,Name,Email,Role,Kind\nj.smith,Jo Smith,jo@school.example,,staff\nadmin2,Al Admin,,admin,\nSBM,Again,,,\n";
    let table = read_table(csv.as_bytes()).unwrap();
    let taken = store.usernames_in_use().await.unwrap();
    let mapping = || Mapping::automatic(Sheet::People, &table.headers);
    let checked = check_people(&table, mapping(), &taken, Some(keeper(Role::Manager)));
    assert_eq!(
        where_(&checked.problems),
        vec![(3, "Role"), (4, "Username")]
    );
    let people = count(&store, "person").await;
    assert!(matches!(
        store
            .import_people(
                sbm.clone(),
                kitroom_core::school::SchoolId::FIRST,
                checked,
                Box::new(|_| {})
            )
            .await
            .unwrap(),
        Outcome::Refused(_)
    ));
    assert_eq!(count(&store, "person").await, people);

    let csv = "username,full_name,email,role\nj.smith,Jo Smith,jo@school.example,\nh.head,Hal Head,,head\n";
    let table = read_table(csv.as_bytes()).unwrap();
    let by_manager = check_people(
        &table,
        Mapping::automatic(Sheet::People, &table.headers),
        &taken,
        Some(keeper(Role::Manager)),
    );
    assert_eq!(where_(&by_manager.problems), vec![(3, "role")]);
    let checked = check_people(
        &table,
        Mapping::automatic(Sheet::People, &table.headers),
        &taken,
        Some(keeper(Role::Admin)),
    );
    assert_eq!(
        store
            .import_people(
                sbm,
                kitroom_core::school::SchoolId::FIRST,
                checked,
                Box::new(|_| {})
            )
            .await
            .unwrap(),
        Outcome::Written(2)
    );
    let jo = store.account_by_username("j.smith").await.unwrap().unwrap();
    assert_eq!(
        jo.password_hash, None,
        "cannot sign in until a password is set"
    );
    assert_eq!(jo.email.as_deref(), Some("jo@school.example"));
    let hal = store.account_by_username("h.head").await.unwrap().unwrap();
    assert_eq!(hal.role, Role::Head);
}

/// The encryption report from device management would not reach the register, so
/// encrypted laptops could not leave the site, or unknown serials would vanish unseen.
#[tokio::test]
async fn encryption_status_updates_matching_devices_and_lists_the_rest() {
    let (_dir, store) = store().await;
    let sbm = manager(&store).await;
    register(&store, "LAP-1", "SN-1").await;
    register(&store, "LAP-2", "SN-2").await;
    register(&store, "LAP-3", "SN-3").await;
    let csv = "Serial Number,BitLocker Status,Verified on\nsn-1,BitLocker On,2026-11-20\nSN-2,Off,\nSN-404,on,\n";
    let table = read_table(csv.as_bytes()).unwrap();
    let keys = store
        .register_keys(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap();
    let checked = check_encryption(
        &table,
        Mapping::automatic(Sheet::Encryption, &table.headers),
        &keys,
        today(),
    );
    assert!(checked.is_ready(), "{:?}", checked.problems);
    let events = count(&store, "event").await;
    let Outcome::Written(summary) = store
        .import_encryption(
            sbm,
            kitroom_core::school::SchoolId::FIRST,
            checked,
            Box::new(|_| {}),
        )
        .await
        .unwrap()
    else {
        panic!("written");
    };
    assert_eq!(
        summary.updated,
        vec!["LAP-1".to_owned(), "LAP-2".to_owned()]
    );
    assert_eq!(summary.unmatched.len(), 1);
    assert_eq!(
        (
            summary.unmatched[0].line,
            summary.unmatched[0].value.as_str()
        ),
        (4, "SN-404")
    );
    assert_eq!(
        count(&store, "event").await,
        events + 2,
        "each change is logged"
    );
    let lap1 = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-1")
        .await
        .unwrap()
        .unwrap();
    let e = &lap1.details.encryption;
    assert_eq!(e.state, EncryptionState::Encrypted);
    assert_eq!(e.method, Some(EncryptionMethod::Bitlocker));
    assert_eq!(e.verified_on, NaiveDate::from_ymd_opt(2026, 11, 20));
    assert_eq!(lap1.encryption_verified_by.as_deref(), Some("sbm"));
    let lap2 = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-2")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lap2.details.encryption.state, EncryptionState::NotEncrypted);
    assert_eq!(lap2.details.encryption.verified_on, Some(today()));
    let lap3 = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-3")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lap3.details.encryption.state, EncryptionState::Unknown);
}

/// Search reads a trigram index: any three letters of a tag, serial number, make or
/// model, in any case, kept in step when a device is edited; a search matching more
/// than a thousand devices is counted only that far but still shows the first ones
/// in tag order.
#[tokio::test]
async fn search_finds_fragments_and_counts_broad_searches_only_so_far() {
    use kitroom_store::devices::{DeviceFilter, Position, SEARCH_COUNT_LIMIT};
    let (_dir, store) = store().await;
    let sbm = manager(&store).await;
    let mut csv = String::from("tag,kind,make,model,serial,location\n");
    for i in 0..1_200 {
        let model = if i % 2 == 0 {
            "ProBook 450"
        } else {
            "Chromebook 314"
        };
        csv.push_str(&format!("KR-{i:05},laptop,HP,{model},SN{i:06}X,Library\n"));
    }
    assert!(matches!(
        import_devices(&store, &sbm, &csv).await,
        Outcome::Written(1_200)
    ));
    let search = |q: &str| DeviceFilter {
        q: Some(q.into()),
        per_page: 50,
        ..Default::default()
    };
    let tags = |page: &kitroom_store::devices::DevicePage| {
        page.items
            .iter()
            .map(|d| d.details.tag.as_str().to_owned())
            .collect::<Vec<_>>()
    };

    // a fragment in the middle of a serial number, typed in lower case
    let page = store
        .list_devices(kitroom_core::school::SchoolId::FIRST, &search("n000123x"))
        .await
        .unwrap();
    assert_eq!(tags(&page), ["KR-00123"]);
    assert!(page.total_exact);
    // 600 ProBooks: counted exactly, first page in tag order
    let page = store
        .list_devices(kitroom_core::school::SchoolId::FIRST, &search("probook"))
        .await
        .unwrap();
    assert_eq!((page.total, page.total_exact), (600, true));
    assert_eq!(tags(&page)[..2], ["KR-00000", "KR-00002"]);
    // every device is an HP: more than the limit, still in tag order
    let page = store
        .list_devices(kitroom_core::school::SchoolId::FIRST, &search("hp"))
        .await
        .unwrap();
    assert_eq!(
        tags(&page)[..2],
        ["KR-00000", "KR-00001"],
        "two letters: read every device"
    );
    assert_eq!((page.total, page.total_exact), (1_200, true));
    let page = store
        .list_devices(kitroom_core::school::SchoolId::FIRST, &search("KR-"))
        .await
        .unwrap();
    assert_eq!(page.total, SEARCH_COUNT_LIMIT + 1);
    assert!(!page.total_exact);
    assert_eq!(tags(&page)[..3], ["KR-00000", "KR-00001", "KR-00002"]);
    let mut second = search("KR-");
    second.at = Position::Page(2);
    assert_eq!(
        tags(
            &store
                .list_devices(kitroom_core::school::SchoolId::FIRST, &second)
                .await
                .unwrap()
        )[0],
        "KR-00050"
    );
    // by key, the broad search (walking the tags) and a narrow one (from the
    // trigram index) both go on from the tag
    second.at = Position::After("kr-00049".into());
    let page = store
        .list_devices(kitroom_core::school::SchoolId::FIRST, &second)
        .await
        .unwrap();
    assert_eq!(tags(&page)[0], "KR-00050");
    assert!(page.has_previous && page.has_next);
    let mut probooks = search("probook");
    probooks.at = Position::After("KR-00002".into());
    let page = store
        .list_devices(kitroom_core::school::SchoolId::FIRST, &probooks)
        .await
        .unwrap();
    assert_eq!(tags(&page)[..2], ["KR-00004", "KR-00006"]);
    probooks.at = Position::Before("KR-00004".into());
    let page = store
        .list_devices(kitroom_core::school::SchoolId::FIRST, &probooks)
        .await
        .unwrap();
    assert_eq!(tags(&page), ["KR-00000", "KR-00002"]);
    assert!(!page.has_previous && page.has_next);

    // an edit moves the device in the index: found by its new model, not its old one
    let d = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "KR-00007")
        .await
        .unwrap()
        .unwrap();
    let mut details = d.details.clone();
    details.model = "Elitebook 840".into();
    store
        .update_device(
            sbm.clone(),
            kitroom_core::school::SchoolId::FIRST,
            d.id,
            details,
        )
        .await
        .unwrap();
    assert_eq!(
        tags(
            &store
                .list_devices(kitroom_core::school::SchoolId::FIRST, &search("elitebook"))
                .await
                .unwrap()
        ),
        ["KR-00007"]
    );
    assert_eq!(
        store
            .list_devices(
                kitroom_core::school::SchoolId::FIRST,
                &search("chromebook 314")
            )
            .await
            .unwrap()
            .total,
        599
    );
    // quotes in the search are text, not FTS syntax
    assert_eq!(
        store
            .list_devices(kitroom_core::school::SchoolId::FIRST, &search("\"Pro"))
            .await
            .unwrap()
            .total,
        0
    );
    assert_eq!(
        store
            .list_devices(
                kitroom_core::school::SchoolId::FIRST,
                &search("OR AND NOT *")
            )
            .await
            .unwrap()
            .total,
        0
    );
}
