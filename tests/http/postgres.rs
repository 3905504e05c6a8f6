//! PostgreSQL for a trust (issue 19): Kitroom's schema on a real server, made with
//! `initdb` for the test, holding the rules SQLite holds. These are what keep a
//! trust's register true whatever a bug or a race in the code above does: one open
//! loan per device, an activity log and signatures nobody edits or removes, no device
//! booked twice at once, a tag used once per school whatever its case.

use kitroom_tests::postgres::PgServer;
use sqlx::PgConnection;

const NOW: &str = "2026-12-07T09:00:00.000000Z";

async fn run(c: &mut PgConnection, sql: &str) -> Result<u64, String> {
    sqlx::query(sql)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        .map_err(|e| e.to_string())
}

async fn count(c: &mut PgConnection, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(&mut *c).await.unwrap()
}

/// A person, a room and two devices at the first school, written as the store
/// writes them (text ids and times).
async fn register(c: &mut PgConnection) {
    for sql in [
        format!("insert into person (id, username, full_name, kind, created_at, updated_at) values ('p1', 'Jo', 'Jo Bloggs', 'staff', '{NOW}', '{NOW}')"),
        format!("insert into membership (person_id, school_id, role, created_at) values ('p1', 1, 'borrower', '{NOW}')"),
        format!("insert into location (id, name, created_at) values ('l1', 'Library', '{NOW}')"),
        format!("insert into device (id, tag, kind, location_id, encryption_state, created_at, updated_at) values ('d1', 'LAP-1', 'laptop', 'l1', 'encrypted', '{NOW}', '{NOW}')"),
        format!("insert into device (id, tag, kind, location_id, created_at, updated_at) values ('d2', 'LAP-2', 'laptop', 'l1', '{NOW}', '{NOW}')"),
    ] {
        run(c, &sql).await.unwrap();
    }
}

#[tokio::test]
async fn kitrooms_schema_holds_its_rules_on_a_real_postgresql_server() {
    let Some(server) = PgServer::start().await else {
        return;
    };
    let url = server.url("kitroom");
    kitroom_store::postgres::open(&url).await.unwrap();
    // a second start finds the schema up to date
    kitroom_store::postgres::open(&url).await.unwrap();
    let c = &mut server.connect("kitroom").await;
    assert_eq!(
        count(
            c,
            "select count(*) from school where id = 1 and slug = 'main'"
        )
        .await,
        1
    );
    register(c).await;

    // A tag once per school, whatever its case; another school may use it.
    let again = format!("insert into device (id, tag, kind, location_id, created_at, updated_at) values ('d3', 'lap-1', 'laptop', 'l1', '{NOW}', '{NOW}')");
    assert!(run(c, &again).await.unwrap_err().contains("device_tag"));
    run(c, &format!("insert into school (slug, name, created_at) values ('hillside', 'Hillside Academy', '{NOW}')")).await.unwrap();
    assert_eq!(
        count(c, "select id from school where slug = 'hillside'").await,
        2
    );
    run(c, &format!("insert into location (id, name, created_at, school_id) values ('l2', 'Hall', '{NOW}', 2)")).await.unwrap();
    run(c, &format!("insert into device (id, tag, kind, location_id, created_at, updated_at, school_id) values ('d3', 'lap-1', 'laptop', 'l2', '{NOW}', '{NOW}', 2)")).await.unwrap();

    // The counts the inventory reads follow every change.
    let tally = "select coalesce(sum(devices), 0)::bigint from device_tally where school_id = 1 and status = 'on_loan'";
    assert_eq!(count(c, tally).await, 0);
    assert_eq!(
        count(c, "select coalesce(sum(devices), 0)::bigint from device_encryption_tally where school_id = 1").await,
        1
    );

    // One open loan per device.
    let lend = |id: &str| {
        format!("insert into loan (id, device_id, borrower_id, issued_by, out_at, due_at) values ('{id}', 'd1', 'p1', 'p1', '{NOW}', '{NOW}')")
    };
    run(c, &lend("loan1")).await.unwrap();
    run(c, "update device set status = 'on_loan' where id = 'd1'")
        .await
        .unwrap();
    assert_eq!(count(c, tally).await, 1);
    let second = run(c, &lend("loan2")).await.unwrap_err();
    assert!(second.contains("loan_one_open_per_device"), "{second}");
    // ...and a loan is closed with its outcome, or not at all
    let half = run(
        c,
        &format!("update loan set returned_at = '{NOW}' where id = 'loan1'"),
    )
    .await
    .unwrap_err();
    assert!(half.contains("check"), "{half}");
    // a reminder marks its loan, so the next sweep skips it
    run(c, &format!("insert into loan_reminder (loan_id, kind, sent_at) values ('loan1', 'overdue', '{NOW}')")).await.unwrap();
    assert_eq!(
        count(c, "select count(*) from loan where overdue_reminded").await,
        1
    );

    // The activity log is append-only.
    run(c, &format!("insert into event (seq, at, actor, action, subject, subject_label, details, prev_hash, hash) values (1, '{NOW}', 'system', 'device.registered', 'device:d1', 'LAP-1', '{{}}', '', 'h1')")).await.unwrap();
    for sql in [
        "update event set action = 'device.retired' where seq = 1",
        "delete from event where seq = 1",
    ] {
        assert!(
            run(c, sql).await.unwrap_err().contains("append-only"),
            "{sql}"
        );
    }

    // A signature is never edited or removed (but with its signer's anonymisation).
    run(c, &format!("insert into policy (id, title, version_label, issued_on, body, published_at) values ('v1', 'ICT', 'v1', '2026-09-01', 'Care.', '{NOW}')")).await.unwrap();
    run(c, &format!("insert into signature (id, policy_id, person_id, full_name, position, signed_on, signed_at) values ('s1', 'v1', 'p1', 'Jo Bloggs', 'Teacher', '2026-12-07', '{NOW}')")).await.unwrap();
    let edit = "update signature set full_name = 'Someone' where id = 's1'";
    assert!(run(c, edit).await.unwrap_err().contains("never edited"));
    assert!(run(c, "delete from signature where id = 's1'")
        .await
        .unwrap_err()
        .contains("never removed"));
    run(
        c,
        &format!("update person set anonymised_at = '{NOW}' where id = 'p1'"),
    )
    .await
    .unwrap();
    assert_eq!(run(c, edit).await.unwrap(), 1, "anonymised with its signer");

    // No device booked twice at once.
    for (id, starts, ends) in [
        (
            "b1",
            "2026-12-08T09:00:00.000000Z",
            "2026-12-08T10:00:00.000000Z",
        ),
        (
            "b2",
            "2026-12-08T09:30:00.000000Z",
            "2026-12-08T11:00:00.000000Z",
        ),
    ] {
        run(c, &format!("insert into booking (id, person_id, made_by, device_id, starts_at, ends_at, created_at) values ('{id}', 'p1', 'p1', 'd2', '{starts}', '{ends}', '{NOW}')")).await.unwrap();
        let held = run(c, &format!("insert into booking_device (booking_id, device_id, starts_at, ends_at) values ('{id}', 'd2', '{starts}', '{ends}')")).await;
        match id {
            "b1" => held.unwrap(),
            _ => {
                assert!(held.unwrap_err().contains("booked twice"));
                0
            }
        };
    }

    // Search by any part of a tag, serial, make or model, by trigrams.
    let found = count(c, "select count(*) from device where lower(tag || ' ' || serial || ' ' || make || ' ' || model) like '%ap-%'").await;
    assert_eq!(found, 3);
}

/// A database that sorts text by a language's rules would put "2026-12-07T10…"
/// and "LAP-10" where SQLite does not: refused at once, with how to make one.
#[tokio::test]
async fn a_database_that_does_not_sort_byte_by_byte_is_refused() {
    let Some(server) = PgServer::start().await else {
        return;
    };
    let admin = &mut server.connect("postgres").await;
    if run(admin, "create database english template template0 locale_provider icu icu_locale 'en-GB' locale 'C'").await.is_err() {
        eprintln!("skipped: this PostgreSQL has no ICU collations");
        return;
    }
    let err = kitroom_store::postgres::open(&server.url("english"))
        .await
        .unwrap_err();
    let told = format!("{err}: {:?}", std::error::Error::source(&err));
    assert!(told.contains("--locale=C"), "{told}");
}

/// What rows of a table say, in the file and on PostgreSQL, in the same order.
async fn rows_in_both(
    lite: &kitroom_store::Store,
    pg: &mut PgConnection,
    sql: &str,
) -> (Vec<(String, String)>, Vec<(String, String)>) {
    let file: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(lite.reader()).await.unwrap();
    let copy: Vec<(String, String)> = sqlx::query_as(sql).fetch_all(&mut *pg).await.unwrap();
    (file, copy)
}

/// A school joining a trust brings its whole history: every device, loan,
/// signature and log entry, and a log whose chain still checks. Copied into the
/// trust's empty PostgreSQL database, checked there, or not at all.
#[tokio::test]
async fn a_schools_file_is_copied_into_a_trusts_postgresql_database_whole() {
    use std::process::ExitCode;
    let Some(server) = PgServer::start().await else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    kitroom::demo::run(dir.path()).await.unwrap();
    let mut out = Vec::new();
    kitroom::cli::school_add(dir.path(), "hillside", "Hillside Academy", &mut out)
        .await
        .unwrap();
    let url = server.url("kitroom");
    let mut out = Vec::new();
    let code = kitroom::cli::copy_to_postgres(dir.path(), &url, &mut out)
        .await
        .unwrap();
    let said = String::from_utf8(out).unwrap();
    assert_eq!(code, ExitCode::SUCCESS, "{said}");
    assert!(said.contains("hash chain intact"), "{said}");

    // Read back independently of the copy's own checks.
    let store = kitroom_store::Store::open(dir.path()).await.unwrap();
    let pg = &mut server.connect("kitroom").await;
    for sql in [
        "select tag, status || '/' || school_id || '/' || rowid from device order by rowid",
        "select slug, name from school order by id",
        "select lower(username), coalesce(trust_role, '') || (case when active then 'active' else 'left' end) from person order by id",
        "select id, coalesce(returned_at, 'open') || (case when overdue_reminded then '/reminded' else '' end) from loan order by id",
        "select policy_id || '/' || person_id, full_name from signature order by id",
        "select cast(e.seq as text) as n, e.hash from event e order by e.seq",
        "select key || '@' || school_id, value from setting order by school_id, key",
    ] {
        let (file, copy) = rows_in_both(&store, pg, sql).await;
        assert!(!file.is_empty(), "the demo school has rows for {sql}");
        assert_eq!(file, copy, "{sql}");
    }
    let (_, head) = store.verify_log().await.unwrap().unwrap();
    let (seq, hash) = head.unwrap();
    assert!(
        said.contains(&format!("latest event: {seq}, hash {hash}")),
        "{said}"
    );
    // The next device added on PostgreSQL follows the copied ones.
    let next: i64 = sqlx::query_scalar("select nextval(pg_get_serial_sequence('device', 'rowid'))")
        .fetch_one(&mut *pg)
        .await
        .unwrap();
    let last: i64 = sqlx::query_scalar("select max(rowid) from device")
        .fetch_one(store.reader())
        .await
        .unwrap();
    assert_eq!(next, last + 1);
    store.close().await;

    // Into a database that already holds a Kitroom: refused, nothing written.
    let mut out = Vec::new();
    let code = kitroom::cli::copy_to_postgres(dir.path(), &url, &mut out)
        .await
        .unwrap();
    let said = String::from_utf8(out).unwrap();
    assert_eq!(code, ExitCode::from(1), "{said}");
    assert!(said.contains("already holds a Kitroom"), "{said}");
    let devices: i64 = sqlx::query_scalar("select count(*) from device")
        .fetch_one(&mut *pg)
        .await
        .unwrap();
    let (file, _) = rows_in_both(
        &kitroom_store::Store::open(dir.path()).await.unwrap(),
        pg,
        "select 'devices', cast(count(*) as text) from device",
    )
    .await;
    assert_eq!(file[0].1, devices.to_string(), "the first copy alone");
}
