//! How SQLite runs the queries of the pages that show a fixed amount whatever the
//! size of the register (the manager's desk, a device's page): each must seek an
//! index or read a tally, never scan the devices, loans or people.

use kitroom_store::Store;
use sqlx::SqliteConnection;

/// SQLite's plan for `sql` with `binds`, one line per step.
async fn plan(conn: &mut SqliteConnection, sql: &str, binds: &[&str]) -> Vec<String> {
    let text = format!("explain query plan {sql}");
    let mut q = sqlx::query_as::<_, (i64, i64, i64, String)>(&text);
    for b in binds {
        q = q.bind(*b);
    }
    q.fetch_all(&mut *conn)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.3)
        .collect()
}

/// Each step that reads a whole table or index (`SCAN`) must be one of `allowed`:
/// a tally, a constant row or a partial index of the few rows the page lists.
fn assert_no_big_scan(name: &str, plan: &[String], allowed: &[&str]) {
    for step in plan {
        if step.starts_with("SCAN") {
            assert!(
                allowed.iter().any(|a| step.contains(a)),
                "{name} reads a whole table: {step}\n{}",
                plan.join("\n")
            );
        }
    }
}

/// The manager's desk and a device's page grew three times slower for ten times
/// the register (docs/performance.md, "The device page and the desk at scale"):
/// the desk counted every encrypted device and read every lost device's loans,
/// the device page read 501 people in name order to learn there were too many to
/// suggest.
#[tokio::test]
async fn the_desk_and_the_device_page_seek_an_index_or_read_a_tally() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let mut conn = store.reader().acquire().await.unwrap();

    let gaps = plan(
        &mut conn,
        kitroom_store::incidents::ENCRYPTION_GAPS,
        &["2025-12-07"],
    )
    .await;
    assert_no_big_scan(
        "the desk's encryption count",
        &gaps,
        &["CONSTANT ROW", "device_tally", "device_encryption_tally"],
    );
    assert!(
        !gaps
            .iter()
            .any(|s| s.contains(" device ") || s.ends_with(" device")),
        "the desk's encryption count reads the tallies, not the register: {}",
        gaps.join("\n")
    );

    let missing = plan(&mut conn, kitroom_store::kits::MISSING_FROM_SETS, &[]).await;
    assert_no_big_scan(
        "the desk's devices missing from sets",
        &missing,
        &["loan_missing_on_return"],
    );
    assert!(
        missing[0].contains("loan_missing_on_return"),
        "the desk's devices missing from sets start from the loans marked so, not every lost device: {}",
        missing.join("\n")
    );

    // A scan of the people, but one that stops at the bound: an index on `active`
    // was tried and made SQLite start the due-soon reminders from every active
    // person instead of the few loans due (2.6 s at 20,000 people).
    let people = plan(
        &mut conn,
        kitroom_store::people::ACTIVE_PEOPLE_UP_TO,
        &["501"],
    )
    .await;
    assert_no_big_scan(
        "the device page's count of people",
        &people,
        &["(subquery-", "SCAN person"],
    );
    assert!(
        kitroom_store::people::ACTIVE_PEOPLE_UP_TO.contains("limit ?1)"),
        "the device page counts people no further than its bound"
    );
}

/// Every minute's reminders walked past every overdue loan already reminded, inside
/// the one writer: at a million devices (50,000 loans out) each batch took tens of
/// milliseconds, check-outs waited behind them (write p99 at 200 a second 116 ms)
/// and after a start the batches held the write lock for tens of seconds.
#[tokio::test]
async fn reminders_seek_only_the_loans_still_to_remind() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let mut conn = store.reader().acquire().await.unwrap();
    for (name, sql, binds, index) in [
        (
            "overdue reminders",
            kitroom_store::reminders::OVERDUE_TO_REMIND,
            &["2026-12-07T09:00:00.000000Z", "20", "1"][..],
            "loan_to_remind_overdue",
        ),
        (
            "due-soon reminders",
            kitroom_store::reminders::DUE_SOON_TO_REMIND,
            &[
                "2026-12-07T09:00:00.000000Z",
                "2026-12-07T10:00:00.000000Z",
                "20",
                "1",
            ][..],
            "loan_to_remind_due_soon",
        ),
    ] {
        let steps = plan(&mut conn, sql, binds).await;
        assert_no_big_scan(name, &steps, &[]);
        assert!(
            steps[0].starts_with("SEARCH l USING INDEX") && steps[0].contains(index),
            "{name} start from the loans still to remind ({index}): {}",
            steps.join("\n")
        );
    }
}
