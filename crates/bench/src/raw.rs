//! The limit: the same work written directly against SQLite with sqlx, with the
//! durability settings Kitroom uses (WAL, `synchronous = FULL`, foreign keys, one
//! writer connection), and no HTTP, sessions, tokens or rules.
//!
//! - [`pair`]: a check-out and a return as two transactions, each writing what
//!   Kitroom's own transactions write (the loan, the device's status, the event
//!   with its hash linked to the last).
//! - [`Batcher`]: the same two transactions batched as Kitroom's writer batches its
//!   writes (a savepoint each, one commit per group): the machine's real ceiling.
//! - [`list_query`] / [`search_query`]: the SQL of the device list, timed alone.
//! - [`export_scan`]: every event read in one scan and written as CSV to /dev/null,
//!   the same twelve columns as Kitroom's export.

use std::io::Write;
use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::Utc;
use futures_util::TryStreamExt;
use kitroom_core::event::{event_hash, EventFields};
use kitroom_store::db::time_text;
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{ConnectOptions, Connection, Row, SqliteConnection, SqlitePool};
use tokio::sync::{mpsc, oneshot};
use uuid::Uuid;

use crate::load::{closed_loop, ms, open_loop, Samples};
use crate::seed::Dev;

/// The options Kitroom opens its database with (`kitroom_store::db`).
fn options(path: &Path) -> anyhow::Result<SqliteConnectOptions> {
    Ok(SqliteConnectOptions::from_str("sqlite://")?
        .filename(path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .pragma("temp_store", "memory"))
}

/// A writer pool of one connection, as Kitroom's (no ping before each use).
pub async fn writer(path: &Path) -> anyhow::Result<SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(options(path)?)
        .await?)
}

/// A read-only connection like Kitroom's readers (16 MB page cache).
pub async fn reader(path: &Path) -> anyhow::Result<SqliteConnection> {
    Ok(options(path)?
        .read_only(true)
        .pragma("cache_size", "-16000")
        .connect()
        .await?)
}

/// Who the raw transactions act as, and where returns go.
#[derive(Clone)]
pub struct Actors {
    pub borrower: Uuid,
    pub borrower_name: String,
    pub receiver: Uuid,
    pub location: Uuid,
}

async fn append(
    conn: &mut SqliteConnection,
    at: &str,
    actor: (&str, &str),
    action: &str,
    dev: &Dev,
    details: String,
) -> Result<(), sqlx::Error> {
    let (seq, prev): (i64, String) =
        sqlx::query_as("select seq, hash from event order by seq desc limit 1")
            .fetch_one(&mut *conn)
            .await?;
    let subject = format!("device:{}", dev.id);
    let hash = event_hash(
        &prev,
        &EventFields {
            seq: seq + 1,
            at,
            actor: actor.1,
            action,
            subject: &subject,
            subject_label: &dev.tag,
            details: &details,
        },
    );
    sqlx::query(
        "insert into event (seq, at, actor_id, actor, action, subject, subject_label, details, prev_hash, hash)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq + 1)
    .bind(at)
    .bind(actor.0)
    .bind(actor.1)
    .bind(action)
    .bind(&subject)
    .bind(&dev.tag)
    .bind(&details)
    .bind(&prev)
    .bind(&hash)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Check-out: insert the loan, mark the device on loan, append the event.
pub async fn check_out(pool: &SqlitePool, a: &Actors, dev: &Dev) -> Result<Uuid, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let id = check_out_in(&mut tx, a, dev).await?;
    tx.commit().await?;
    Ok(id)
}

/// A check-out's writes, on the caller's transaction.
async fn check_out_in(
    tx: &mut SqliteConnection,
    a: &Actors,
    dev: &Dev,
) -> Result<Uuid, sqlx::Error> {
    let now = Utc::now();
    let at = time_text(now);
    let id = Uuid::new_v4();
    let due = time_text(now + chrono::Duration::hours(8));
    let borrower = a.borrower.to_string();
    sqlx::query(
        "insert into loan (id, device_id, borrower_id, issued_by, out_at, due_at, purpose, off_site)
         values (?, ?, ?, ?, ?, ?, ?, 0)",
    )
    .bind(id.to_string())
    .bind(dev.id.to_string())
    .bind(&borrower)
    .bind(&borrower)
    .bind(&at)
    .bind(&due)
    .bind("raw benchmark")
    .execute(&mut *tx)
    .await?;
    sqlx::query(
        "update device set status = 'on_loan', charging_since = null, updated_at = ? where id = ?",
    )
    .bind(&at)
    .bind(dev.id.to_string())
    .execute(&mut *tx)
    .await?;
    let details = json!({"loan": id, "borrower": a.borrower_name, "due_at": due, "purpose": "raw benchmark",
                         "off_site": false, "head_authorisation": null});
    append(
        tx,
        &at,
        (&borrower, &a.borrower_name),
        "loan.checked_out",
        dev,
        details.to_string(),
    )
    .await?;
    Ok(id)
}

/// Return: close the loan, put the device on charge, append the event.
pub async fn return_device(
    pool: &SqlitePool,
    a: &Actors,
    dev: &Dev,
    loan: Uuid,
) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    return_in(&mut tx, a, dev, loan).await?;
    tx.commit().await
}

/// A return's writes, on the caller's transaction.
async fn return_in(
    tx: &mut SqliteConnection,
    a: &Actors,
    dev: &Dev,
    loan: Uuid,
) -> Result<(), sqlx::Error> {
    let at = time_text(Utc::now());
    let receiver = a.receiver.to_string();
    sqlx::query(
        "update loan set returned_at = ?, outcome = 'returned', return_location_id = ?, received_by = ?,
           return_condition = 'fine', battery_percent = null, on_charge = 1, images_cleared = null
         where id = ? and returned_at is null",
    )
    .bind(&at)
    .bind(a.location.to_string())
    .bind(&receiver)
    .bind(loan.to_string())
    .execute(&mut *tx)
    .await?;
    sqlx::query("update device set status = 'returned_charging', charging_since = ?, updated_at = ? where id = ?")
        .bind(&at)
        .bind(&at)
        .bind(dev.id.to_string())
        .execute(&mut *tx)
        .await?;
    let details = json!({"loan": loan, "borrower": a.borrower_name, "location": "Computer room", "condition": "fine",
                         "battery_percent": null, "on_charge": true, "images_cleared": null});
    append(
        tx,
        &at,
        (&receiver, &a.borrower_name),
        "loan.returned",
        dev,
        details.to_string(),
    )
    .await?;
    Ok(())
}

/// One raw operation for the batching writer, with where its answer goes.
enum Op {
    Out(Dev, oneshot::Sender<Result<Uuid, String>>),
    Back(Dev, Uuid, oneshot::Sender<Result<(), String>>),
}

/// The machine's real ceiling for durable writes: raw SQLite with Kitroom's
/// settings, batching the same way Kitroom's writer does. One task takes every
/// operation waiting (up to `kitroom_store::db::MAX_GROUP`), runs each inside its
/// own savepoint of one transaction and commits once for all of them; each is
/// answered after that commit.
#[derive(Clone)]
pub struct Batcher(mpsc::UnboundedSender<Op>);

impl Batcher {
    pub fn start(pool: SqlitePool, actors: Actors) -> Batcher {
        let (tx, mut rx) = mpsc::unbounded_channel::<Op>();
        tokio::spawn(async move {
            let mut group = Vec::new();
            while rx.recv_many(&mut group, kitroom_store::db::MAX_GROUP).await > 0 {
                if let Err(e) = batch(&pool, &actors, &mut group).await {
                    for op in group.drain(..) {
                        match op {
                            Op::Out(_, answer) => drop(answer.send(Err(e.to_string()))),
                            Op::Back(_, _, answer) => drop(answer.send(Err(e.to_string()))),
                        }
                    }
                }
            }
        });
        Batcher(tx)
    }

    async fn check_out(&self, dev: &Dev) -> Result<Uuid, String> {
        let (answer, answered) = oneshot::channel();
        self.0
            .send(Op::Out(dev.clone(), answer))
            .map_err(|_| "the batching writer stopped")?;
        answered.await.map_err(|_| "no answer")?
    }

    async fn return_device(&self, dev: &Dev, loan: Uuid) -> Result<(), String> {
        let (answer, answered) = oneshot::channel();
        self.0
            .send(Op::Back(dev.clone(), loan, answer))
            .map_err(|_| "the batching writer stopped")?;
        answered.await.map_err(|_| "no answer")?
    }
}

/// Runs `group` in one transaction, each operation in its own savepoint, commits,
/// and answers each. On an error of the transaction itself, leaves `group` for the
/// caller to answer.
async fn batch(pool: &SqlitePool, a: &Actors, group: &mut Vec<Op>) -> Result<(), sqlx::Error> {
    let mut conn = pool.acquire().await?;
    let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
    let mut outs = Vec::with_capacity(group.len());
    for op in group.iter() {
        let mut sp = tx.begin().await?;
        let r = match op {
            Op::Out(dev, _) => check_out_in(&mut sp, a, dev).await.map(Some),
            Op::Back(dev, loan, _) => return_in(&mut sp, a, dev, *loan).await.map(|()| None),
        };
        match r {
            Ok(_) => sp.commit().await?,
            Err(_) => sp.rollback().await?,
        }
        outs.push(r.map_err(|e| e.to_string()));
    }
    tx.commit().await?;
    for (op, r) in group.drain(..).zip(outs) {
        match op {
            Op::Out(_, answer) => drop(answer.send(r.and_then(|id| id.ok_or_else(String::new)))),
            Op::Back(_, _, answer) => drop(answer.send(r.map(|_| ()))),
        }
    }
    Ok(())
}

/// How the raw transactions are committed: one transaction each, or batched.
#[derive(Clone)]
pub enum Raw {
    OnePerOperation(SqlitePool, Actors),
    Batched(Batcher),
}

impl Raw {
    async fn check_out(&self, dev: &Dev) -> Result<Uuid, String> {
        match self {
            Raw::OnePerOperation(pool, a) => {
                check_out(pool, a, dev).await.map_err(|e| e.to_string())
            }
            Raw::Batched(b) => b.check_out(dev).await,
        }
    }

    async fn return_device(&self, dev: &Dev, loan: Uuid) -> Result<(), String> {
        match self {
            Raw::OnePerOperation(pool, a) => return_device(pool, a, dev, loan)
                .await
                .map_err(|e| e.to_string()),
            Raw::Batched(b) => b.return_device(dev, loan).await,
        }
    }
}

/// Check-out and return pairs for `dur`, a client for each of `devs`. Each sample is
/// one transaction. Raw SQL checks no status, so each client lends its one device
/// again and again: the limit needs no fresh devices however fast it runs, and all
/// of them are left for Kitroom, which lends only available ones.
pub async fn pairs(raw: &Raw, devs: &[Dev], dur: Duration) -> Samples {
    let clients = devs.len();
    let loans: Arc<Vec<std::sync::Mutex<Option<Uuid>>>> =
        Arc::new((0..clients).map(|_| std::sync::Mutex::new(None)).collect());
    let devs = Arc::new(devs.to_vec());
    let raw = raw.clone();
    closed_loop(clients, dur, true, move |c, step| {
        let (raw, devs, loans) = (raw.clone(), devs.clone(), loans.clone());
        async move {
            let dev = &devs[c];
            Some(if step.is_multiple_of(2) {
                raw.check_out(dev).await.map(|id| {
                    *loans[c].lock().unwrap_or_else(|e| e.into_inner()) = Some(id);
                })
            } else {
                let loan = loans[c].lock().unwrap_or_else(|e| e.into_inner()).take();
                match loan {
                    Some(loan) => raw.return_device(dev, loan).await,
                    None => Err("no loan to return".into()),
                }
            })
        }
    })
    .await
}

/// Check-outs and returns at a fixed `rate` of transactions a second for `dur`,
/// measured from their scheduled times, as `http::write_rate` does over HTTP.
pub async fn pairs_at(
    pool: &SqlitePool,
    actors: &Actors,
    devs: Vec<Dev>,
    rate: f64,
    dur: Duration,
) -> Samples {
    let lag = crate::http::lag(rate);
    let loans: Arc<Vec<std::sync::Mutex<Option<Uuid>>>> =
        Arc::new(devs.iter().map(|_| std::sync::Mutex::new(None)).collect());
    for (i, d) in devs.iter().enumerate().take(lag) {
        if let Ok(id) = check_out(pool, actors, d).await {
            *loans[i].lock().unwrap_or_else(|e| e.into_inner()) = Some(id);
        }
    }
    let devs = Arc::new(devs);
    let (pool, actors) = (pool.clone(), actors.clone());
    open_loop(rate, dur, None, move |i| {
        let (pool, actors, devs, loans) =
            (pool.clone(), actors.clone(), devs.clone(), loans.clone());
        async move {
            let k = if i.is_multiple_of(2) {
                lag + (i / 2) as usize
            } else {
                (i / 2) as usize
            };
            let d = devs.get(k).ok_or("ran out of devices")?;
            if i.is_multiple_of(2) {
                let id = check_out(&pool, &actors, d)
                    .await
                    .map_err(|e| e.to_string())?;
                *loans[k].lock().unwrap_or_else(|e| e.into_inner()) = Some(id);
                Ok(())
            } else {
                let loan = loans[k].lock().unwrap_or_else(|e| e.into_inner()).take();
                let loan = loan.ok_or("its check-out has not finished")?;
                return_device(&pool, &actors, d, loan)
                    .await
                    .map_err(|e| e.to_string())
            }
        }
    })
    .await
}

/// The disk's own commit cost: append 4 KiB to a file and `fdatasync` it, `n`
/// times, as SQLite does for each commit to the WAL with `synchronous = FULL`.
pub fn fsync_probe(dir: &Path, n: usize) -> std::io::Result<Samples> {
    use std::io::{Seek, SeekFrom};
    let path = dir.join("kitroom-bench-fsync-probe");
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)?;
    let page = [0x5au8; 4096];
    let mut s = Samples::default();
    let t0 = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        f.write_all(&page)?;
        f.sync_data()?;
        s.ms.push(ms(t.elapsed()));
        if i % 256 == 255 {
            f.seek(SeekFrom::Start(0))?;
        }
    }
    s.secs = t0.elapsed().as_secs_f64();
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(s)
}

/// A writer like Kitroom's but without SQLite's automatic checkpoint, which
/// otherwise runs inside whichever commit crosses 1,000 WAL pages.
pub async fn writer_without_autocheckpoint(path: &Path) -> anyhow::Result<SqlitePool> {
    Ok(SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .test_before_acquire(false)
        .connect_with(options(path)?.pragma("wal_autocheckpoint", "0"))
        .await?)
}

/// Checkpoints the WAL every `every` on a connection of its own (PASSIVE: it never
/// waits for, nor blocks, the writer) until `stop`; returns each checkpoint's time.
/// With `truncate_above`, a WAL holding more frames than that after a PASSIVE
/// checkpoint is emptied with a TRUNCATE checkpoint, which waits for the writer
/// and holds it off while it runs, so that the WAL stays bounded.
pub async fn checkpointer(
    path: std::path::PathBuf,
    every: Duration,
    truncate_above: Option<i64>,
    stop: Arc<std::sync::atomic::AtomicBool>,
) -> anyhow::Result<Samples> {
    let mut conn = options(&path)?.connect().await?;
    let mut s = Samples::default();
    let t0 = Instant::now();
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        tokio::time::sleep(every).await;
        let t = Instant::now();
        let (_, frames, _): (i64, i64, i64) = sqlx::query_as("pragma wal_checkpoint(passive)")
            .fetch_one(&mut conn)
            .await?;
        if truncate_above.is_some_and(|n| frames > n) {
            sqlx::query("pragma wal_checkpoint(truncate)")
                .execute(&mut conn)
                .await?;
        }
        s.ms.push(ms(t.elapsed()));
    }
    s.secs = t0.elapsed().as_secs_f64();
    Ok(s)
}

/// The device list's SQL (`Store::list_devices`) for `status` and `kind`: the count
/// (from the device tally, migration 0010) and the page (its rowids first, from the
/// index, then those rows joined), as two statements.
pub const LIST_COUNT: &str =
    "select coalesce(sum(t.devices), 0) from device_tally t where 1 = 1 and t.school_id = 1 and t.status = ? and t.kind = ?";
/// The same count read from the devices' index, as Kitroom did before the tally.
pub const LIST_COUNT_FROM_INDEX: &str =
    "select count(*) from (select 1 from device d where 1 = 1 and d.school_id = 1 and d.status = ? and d.kind = ?)";
pub const LIST_PAGE: &str = "select d.id, d.school_id, d.tag, d.kind, d.make, d.model, d.serial, l.name as location, d.status, d.condition,
    d.purchased_on, d.cost_pence, d.supplier, d.warranty_until, d.notes, d.encryption_state, d.encryption_method,
    d.encryption_verified_on, p.username as verified_by, d.passcode_enforced, d.holds_personal_data, d.captures_images,
    d.last_audited_on, d.created_at, d.updated_at
    from device d join location l on l.id = d.location_id left join person p on p.id = d.encryption_verified_by
    where d.rowid in (select d.rowid from device d where 1 = 1 and d.school_id = 1 and d.status = ? and d.kind = ?
        and d.tag > ? collate nocase order by d.tag collate nocase limit ?) order by d.tag collate nocase";
/// The location filter's names (`Store::location_names`), which the list page reads.
pub const LOCATION_NAMES: &str =
    "select name from location where school_id = 1 order by name collate nocase";
/// Locations with their device counts (`Store::list_locations`, from the device
/// tally): what the list page read before commit 828bad9, and the locations page
/// still reads.
pub const LOCATION_COUNTS: &str = "select l.id, l.name, coalesce(c.devices, 0)
    from location l left join (select location_id, sum(devices) as devices from device_tally
                               where school_id = 1 and status <> 'retired' group by location_id) c
                         on c.location_id = l.id
    where l.school_id = 1
    order by l.name collate nocase";
/// A search of the whole register (no status chosen), as `Store::list_devices` builds
/// it for three characters or more: the count, as the trigram index's matches stream
/// in, stopped past 1,000; then the page ([`search_page`]).
pub const SEARCH_COUNT: &str =
    "select count(*) from (select 1 from device_search s join device d on d.rowid = s.rowid
    where device_search match ?1 and +d.school_id = 1 and d.status <> 'retired' limit 1001)";
const SEARCH_SELECT: &str = "select d.id, d.school_id, d.tag, d.kind, d.make, d.model, d.serial, l.name as location, d.status, d.condition,
    d.purchased_on, d.cost_pence, d.supplier, d.warranty_until, d.notes, d.encryption_state, d.encryption_method,
    d.encryption_verified_on, p.username as verified_by, d.passcode_enforced, d.holds_personal_data, d.captures_images,
    d.last_audited_on, d.created_at, d.updated_at
    from device d join location l on l.id = d.location_id left join person p on p.id = d.encryption_verified_by";
/// The page: the trigram index's matches, or for a broad search (more than 1,000
/// matches) the devices in tag order tested by `like` (`?2`, the term as a pattern).
pub fn search_page(broad: bool) -> String {
    format!(
        "{SEARCH_SELECT} where d.rowid in (select d.rowid from device d where 1 = 1 and {}d.school_id = 1
        and d.status <> 'retired'
        and {}
        order by d.tag collate nocase limit 50 offset 0) order by d.tag collate nocase",
        if broad { "" } else { "+" },
        if broad {
            "(d.tag like ?2 escape '\\' or d.serial like ?2 escape '\\' or d.make like ?2 escape '\\'
            or d.model like ?2 escape '\\')"
        } else {
            "d.rowid in (select rowid from device_search where device_search match ?1)"
        }
    )
}

/// A search term as Kitroom gives it to `like`: `%`, `_` and `\\` escaped.
pub fn like(q: &str) -> String {
    let mut p = String::from("%");
    for c in q.chars() {
        if matches!(c, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(c);
    }
    p.push('%');
    p
}

/// A search term as Kitroom gives it to the trigram index: one quoted phrase.
pub fn phrase(q: &str) -> String {
    format!("\"{}\"", q.replace('"', "\"\""))
}

/// Times of the list's parts for each page number: (count + page), count alone,
/// page alone; and of the location names and (a few times) the location counts.
pub struct ListTimes {
    pub query: Samples,
    pub count: Samples,
    pub page: Samples,
    pub names: Samples,
    pub counts: Samples,
}

/// The list's count and one page by key: the 50 tags after `after` ("" for the first).
async fn list_once(conn: &mut SqliteConnection, after: &str) -> Result<(f64, f64), sqlx::Error> {
    let t0 = Instant::now();
    let _: i64 = sqlx::query_scalar(LIST_COUNT)
        .bind("available")
        .bind("laptop")
        .fetch_one(&mut *conn)
        .await?;
    let t1 = Instant::now();
    let rows = sqlx::query(LIST_PAGE)
        .bind("available")
        .bind("laptop")
        .bind(after)
        .bind(51i64)
        .fetch_all(&mut *conn)
        .await?;
    std::hint::black_box(rows.len());
    Ok((ms(t1 - t0), ms(t1.elapsed())))
}

/// The list's SQL for each of `pages` (after `warm` unmeasured pages, so the
/// connection's cache is as warm as the server's), then the location queries.
pub async fn list_query(
    conn: &mut SqliteConnection,
    warm: &[String],
    pages: &[String],
) -> Result<ListTimes, sqlx::Error> {
    let mut t = ListTimes {
        query: Samples::default(),
        count: Samples::default(),
        page: Samples::default(),
        names: Samples::default(),
        counts: Samples::default(),
    };
    for page in warm {
        list_once(conn, page).await?;
    }
    let all = Instant::now();
    for page in pages {
        let (count, rows) = list_once(conn, page).await?;
        t.count.ms.push(count);
        t.page.ms.push(rows);
        t.query.ms.push(count + rows);
    }
    let secs = all.elapsed().as_secs_f64();
    for s in [&mut t.query, &mut t.count, &mut t.page] {
        s.secs = secs;
    }
    for (sql, n, s) in [
        (LOCATION_NAMES, 200, &mut t.names),
        (LOCATION_COUNTS, 10, &mut t.counts),
    ] {
        let all = Instant::now();
        for _ in 0..n {
            let t0 = Instant::now();
            let rows = sqlx::query(sql).fetch_all(&mut *conn).await?;
            std::hint::black_box(rows.len());
            s.ms.push(ms(t0.elapsed()));
        }
        s.secs = all.elapsed().as_secs_f64();
    }
    Ok(t)
}

/// Empties the WAL (a TRUNCATE checkpoint), so that one experiment's WAL does not
/// carry into the next phase.
pub async fn truncate_wal(path: &Path) -> anyhow::Result<()> {
    let mut conn = options(path)?.connect().await?;
    sqlx::query("pragma wal_checkpoint(truncate)")
        .execute(&mut conn)
        .await?;
    Ok(())
}

/// The search's count and first page, for each term.
pub async fn search_query(
    conn: &mut SqliteConnection,
    terms: &[String],
) -> Result<Samples, sqlx::Error> {
    let mut s = Samples::default();
    let all = Instant::now();
    for q in terms {
        let p = phrase(q);
        let t0 = Instant::now();
        let matches: i64 = sqlx::query_scalar(SEARCH_COUNT)
            .bind(&p)
            .fetch_one(&mut *conn)
            .await?;
        let broad = matches > 1000;
        let rows = sqlx::query(&search_page(broad))
            .bind(&p)
            .bind(like(q))
            .fetch_all(&mut *conn)
            .await?;
        std::hint::black_box(rows.len());
        s.ms.push(ms(t0.elapsed()));
    }
    s.secs = all.elapsed().as_secs_f64();
    Ok(s)
}

/// SQLite's plan for a statement, one line per step.
pub async fn explain(
    conn: &mut SqliteConnection,
    sql: &str,
    binds: &[&str],
) -> Result<Vec<String>, sqlx::Error> {
    let sql = format!("explain query plan {sql}");
    let mut q = sqlx::query(&sql);
    for b in binds {
        q = q.bind(*b);
    }
    let rows = q.fetch_all(&mut *conn).await?;
    Ok(rows
        .iter()
        .map(|r| r.try_get::<String, _>(3).unwrap_or_default())
        .collect())
}

/// Reads every event in one scan and writes it as CSV to /dev/null: the least the
/// export can cost on this machine. Returns (seconds, rows, bytes written).
pub async fn export_scan(conn: &mut SqliteConnection) -> anyhow::Result<(f64, u64, u64)> {
    struct Counting<W> {
        inner: W,
        bytes: u64,
    }
    impl<W: Write> Write for Counting<W> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            let n = self.inner.write(buf)?;
            self.bytes += n as u64;
            Ok(n)
        }
        fn flush(&mut self) -> std::io::Result<()> {
            self.inner.flush()
        }
    }
    let t0 = Instant::now();
    let sink = Counting {
        inner: std::fs::OpenOptions::new().write(true).open("/dev/null")?,
        bytes: 0,
    };
    let mut w = csv::Writer::from_writer(sink);
    w.write_record([
        "seq",
        "at",
        "actor",
        "action",
        "subject",
        "subject_label",
        "details",
        "prev_hash",
        "hash",
        "hash_version",
        "salt",
        "personal_hash",
    ])?;
    // The same twelve columns Kitroom's export writes, read in one scan.
    let mut rows = sqlx::query(
        "select cast(seq as text), at, actor, action, subject, subject_label, details, prev_hash, hash,
            cast(hash_version as text), coalesce(salt, ''), coalesce(personal_hash, '')
         from event order by seq",
    )
    .fetch(&mut *conn);
    let mut n = 0u64;
    while let Some(row) = rows.try_next().await? {
        let mut cells: [&str; 12] = [""; 12];
        for (i, c) in cells.iter_mut().enumerate() {
            *c = row.try_get::<&str, _>(i)?;
        }
        w.write_record(cells)?;
        n += 1;
    }
    drop(rows);
    w.flush()?;
    let bytes = w.get_ref().bytes;
    Ok((t0.elapsed().as_secs_f64(), n, bytes))
}
