//! Group commit: writes waiting together are committed together, each inside its
//! own savepoint, against a real SQLite file.

use std::time::Duration;

use kitroom_store::events::{append_after, Subject};
use kitroom_store::{Actor, Batch, Store, StoreError};
use serde_json::json;

/// One write: an event, then (by `how`) success, a refusal, a clash with a unique
/// index, or a panic, each after its event was written; or a change whose second
/// statement clashes, sent with its event in one round trip (`append_after`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum How {
    Succeed,
    Refuse,
    Clash,
    Panic,
    ClashWithItsEvent,
}

async fn write(store: &Store, n: u32, how: How) -> Result<i64, StoreError> {
    store
        .transaction(move |conn| {
            Box::pin(async move {
                // Every write's event; a change sent with it, for the last kind.
                let change = if how == How::ClashWithItsEvent {
                    Batch::new("insert into setting (key, value) values ('test', '1')")
                        .then("insert into setting (key, value) values ('test', '2')")
                } else {
                    Batch::default()
                };
                let seq = append_after(
                    conn,
                    change,
                    &Actor::system(),
                    "test.write",
                    &Subject {
                        key: format!("test:{n}"),
                        label: format!("write {n}"),
                    },
                    json!({ "n": n }),
                    chrono::Utc::now(),
                )
                .await?;
                match how {
                    How::Succeed => Ok(seq),
                    How::Refuse => Err(StoreError::NotFound),
                    How::Clash => {
                        // The event's number is taken: the unique index refuses it.
                        sqlx::query("insert into event (seq, at, actor, action, subject, subject_label, details, prev_hash, hash) select seq, at, actor, action, subject, subject_label, details, prev_hash, hash from event where seq = ?")
                            .bind(seq)
                            .execute(&mut *conn)
                            .await?;
                        Ok(seq)
                    }
                    How::Panic => panic!("a bug inside a write"),
                    How::ClashWithItsEvent => unreachable!("its change clashed above"),
                }
            })
        })
        .await
}

/// If this broke, one teacher's refused check-out (or a bug in one request) would
/// undo, or lose, the check-outs of everyone whose request was committed with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_write_of_a_group_fails_and_the_others_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    // A first write holds the writer while the rest queue up behind it.
    let holder = {
        let store = store.clone();
        tokio::spawn(async move {
            store
                .transaction(|_conn| {
                    Box::pin(async move {
                        tokio::time::sleep(Duration::from_millis(300)).await;
                        Ok::<_, StoreError>(())
                    })
                })
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    let before = store.write_counts();
    let plan: Vec<How> = (0..12)
        .map(|n| match n {
            3 => How::Refuse,
            6 => How::Clash,
            9 => How::Panic,
            10 => How::ClashWithItsEvent,
            _ => How::Succeed,
        })
        .collect();
    let mut writes = Vec::new();
    for (n, how) in plan.iter().enumerate() {
        let store = store.clone();
        let how = *how;
        writes.push(tokio::spawn(
            async move { write(&store, n as u32, how).await },
        ));
        // Queued in this order.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    holder.await.unwrap().unwrap();
    let mut answers = Vec::new();
    for w in writes {
        answers.push(w.await.unwrap());
    }
    for (n, (how, answer)) in plan.iter().zip(&answers).enumerate() {
        match how {
            How::Succeed => assert!(answer.is_ok(), "write {n}: {answer:?}"),
            How::Refuse => assert!(matches!(answer, Err(StoreError::NotFound)), "{answer:?}"),
            How::Clash | How::ClashWithItsEvent => assert!(
                answer.as_ref().is_err_and(|e| e.is_unique_violation()),
                "{answer:?}"
            ),
            How::Panic => assert!(matches!(answer, Err(StoreError::WriteLost)), "{answer:?}"),
        }
    }
    let after = store.write_counts();
    assert_eq!(after.writes - before.writes, 13, "{before:?} {after:?}");
    assert!(
        after.commits - before.commits <= 3,
        "the twelve queued writes shared commits: {before:?} {after:?}"
    );
    assert!(after.largest_group >= 8, "{after:?}");

    // Exactly the successful writes' events are there, numbered without a gap, in
    // the order they were queued, and the chain holds.
    let events: Vec<(i64, String)> =
        sqlx::query_as("select seq, subject from event where action = 'test.write' order by seq")
            .fetch_all(store.reader())
            .await
            .unwrap();
    let expected: Vec<String> = plan
        .iter()
        .enumerate()
        .filter(|(_, how)| **how == How::Succeed)
        .map(|(n, _)| format!("test:{n}"))
        .collect();
    assert_eq!(
        events.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>(),
        expected
    );
    let seqs: Vec<i64> = events.iter().map(|(seq, _)| *seq).collect();
    assert!(seqs.windows(2).all(|w| w[1] == w[0] + 1), "{seqs:?}");
    let answered: Vec<i64> = answers
        .iter()
        .filter_map(|a| a.as_ref().ok().copied())
        .collect();
    assert_eq!(answered, seqs, "each write was told its own event's number");
    store.verify_log().await.unwrap().unwrap();
    // The clashing change's first statement went with it.
    let kept: Option<String> = sqlx::query_scalar("select value from setting where key = 'test'")
        .fetch_optional(store.reader())
        .await
        .unwrap();
    assert_eq!(kept, None);

    // And the writer is still there for the next write, outside any transaction.
    write(&store, 99, How::Succeed).await.unwrap();
    assert!(!store.writer_state().await.unwrap().in_transaction);
}

/// If this broke, a check-out answered "done" could be lost: every write is
/// answered only after the commit that carries it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_is_answered_only_once_committed() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    let mut writes = Vec::new();
    for n in 0..40 {
        let store = store.clone();
        writes.push(tokio::spawn(async move {
            let seq = write(&store, n, How::Succeed).await.unwrap();
            // Read on a reader connection: it sees only committed rows.
            let seen: Option<i64> = sqlx::query_scalar("select seq from event where seq = ?")
                .bind(seq)
                .fetch_optional(store.reader())
                .await
                .unwrap();
            seen
        }));
    }
    for w in writes {
        assert!(w.await.unwrap().is_some());
    }
    store.verify_log().await.unwrap().unwrap();
}

/// If this broke, an event appended by another process between two of Kitroom's
/// writes (`kitroom token create` while the server runs) would fork the activity
/// log: the writer must read the chain's head again for every group.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_written_by_another_process_between_groups_keeps_the_chain() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path()).await.unwrap();
    write(&store, 1, How::Succeed).await.unwrap();
    // Another process: its own connection to the same file.
    let other = Store::open(dir.path()).await.unwrap();
    let theirs = write(&other, 2, How::Succeed).await.unwrap();
    let ours = write(&store, 3, How::Succeed).await.unwrap();
    assert_eq!(
        ours,
        theirs + 1,
        "the next event follows the other process's"
    );
    store.verify_log().await.unwrap().unwrap();
}
