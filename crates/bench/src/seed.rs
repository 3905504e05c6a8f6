//! Building a large school in a fresh data directory.
//!
//! Which code writes what:
//! - **Accounts** the benchmark signs in with: `kitroom user add`'s own code
//!   ([`kitroom::cli::user_add`]), so their passwords are real argon2id hashes.
//! - **The policy**, published and signed by those accounts: [`Store::publish_policy`]
//!   and [`Store::sign_policy`].
//! - **The first 10,000 devices, their locations, and people**: Kitroom's CSV
//!   import, exactly as `kitroom import` and the import page run it (`read_table`,
//!   the core's row checks, then [`Store::import_devices`] /
//!   [`Store::import_people`], each device and person with its event), in chunks of
//!   10,000 rows a transaction.
//! - **The devices beyond the first 10,000**: the same generated file, read and
//!   checked the same way, then written by the import's own
//!   [`kitroom_store::devices::insert_device`] (the same row, its `device.registered`
//!   event with its `source`, the search index and tally kept by the triggers) on the
//!   history's bulk connection, 50,000 devices a transaction, without the import's
//!   reading of every tag already on the register before each chunk (which made the
//!   seed quadratic: 140,000 devices took 6 minutes).
//! - **The history** (closed and open loans with their `loan.checked_out`,
//!   `loan.returned` and `device.status_changed` events, devices in repair and lost):
//!   a bulk loader here, on a separate sqlx connection to the same file, many rows a
//!   statement and 20,000 events a transaction, with `synchronous = OFF` (a fixture,
//!   not an acknowledged change). Each event's hash is computed with
//!   [`kitroom_core::event::event_hash`] and linked to the one before, so
//!   `kitroom check` verifies the whole log at the end of the run.

use std::collections::{HashMap, VecDeque};
use std::io::Cursor;
use std::path::Path;
use std::process::ExitCode;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use chrono::{NaiveDate, Utc};
use kitroom_app::policies::{PublishInput, SignInput};
use kitroom_core::event::{event_hash, EventFields, GENESIS_HASH};
use kitroom_core::import::{check_devices, check_people, Mapping, RegisterKeys, Sheet};
use kitroom_core::person::PersonInput;
use kitroom_core::school::SchoolId;
use kitroom_store::db::time_text;
use kitroom_store::devices::insert_device;
use kitroom_store::import::{read_table, Outcome};
use kitroom_store::locations::find_or_create;
use kitroom_store::{Actor, Store};
use serde_json::json;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqliteSynchronous};
use sqlx::{ConnectOptions, QueryBuilder, Sqlite, SqliteConnection};
use uuid::Uuid;

/// The manager the benchmark signs in as (pages, export) and whose token reads the API.
pub const MANAGER: &str = "bench.manager";
/// The borrower whose token checks devices out and back in, and who signs in during
/// the burst of logins.
pub const TEACHER: &str = "bench.teacher";
/// Both accounts' password.
pub const PASSWORD: &str = "correct horse battery staple";

/// How big a school to build.
#[derive(Debug, Clone, Copy)]
pub struct Sizes {
    pub devices: usize,
    pub people: usize,
    pub events: usize,
}

/// A device the benchmark may lend: available when the school was built.
#[derive(Debug, Clone)]
pub struct Dev {
    pub id: Uuid,
    pub tag: String,
}

/// Devices shared by the clients of one write phase: each client takes the next
/// unused device for each check-out, so every device is lent by exactly one client
/// and no client runs dry while others still have devices.
pub struct Lending {
    devs: Vec<Dev>,
    next: AtomicUsize,
    current: Vec<AtomicUsize>,
}

impl Lending {
    pub fn new(devs: Vec<Dev>, clients: usize) -> Lending {
        Lending {
            devs,
            next: AtomicUsize::new(0),
            current: (0..clients).map(|_| AtomicUsize::new(0)).collect(),
        }
    }

    /// The next device for `client` to lend, or `None` when all are used.
    pub fn lend(&self, client: usize) -> Option<&Dev> {
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        let d = self.devs.get(i)?;
        self.current[client].store(i, Ordering::Relaxed);
        Some(d)
    }

    /// The device `client` lent last.
    pub fn current(&self, client: usize) -> &Dev {
        &self.devs[self.current[client].load(Ordering::Relaxed)]
    }

    /// Whether the phase used every device it was given (and so may have ended early).
    pub fn ran_out(&self) -> bool {
        self.next.load(Ordering::Relaxed) >= self.devs.len()
    }
}

/// What the benchmark needs to know about the school it built.
pub struct School {
    pub teacher_id: Uuid,
    pub manager_id: Uuid,
    /// The "Computer room", where returns go.
    pub return_location_id: Uuid,
    /// Every available device, shuffled: the benchmark's writes take them in turn.
    pub available: Vec<Dev>,
    /// Tags of random devices, for the device page.
    pub sample_tags: Vec<String>,
    /// Search terms: a tag, a serial number and a model fragment in turn.
    pub search_terms: Vec<String>,
    pub counts: serde_json::Value,
    pub timings: Vec<(&'static str, f64)>,
}

/// A small, fast, seeded random number generator (xorshift64*): the same school
/// every run.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    pub fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 <= p
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i + 1);
            items.swap(i, j);
        }
    }
}

const LOCATIONS: &[&str] = &[
    "Computer room",
    "Library",
    "Science lab 1",
    "Science lab 2",
    "Science lab 3",
    "Art room",
    "Music room",
    "Sports hall",
    "Staff room",
    "School office",
    "Hall",
    "Design and technology",
    "Drama studio",
    "Learning support",
    "Sixth form centre",
    "IT office",
    "Room 1",
    "Room 2",
    "Room 3",
    "Room 4",
    "Room 5",
    "Room 6",
    "Room 7",
    "Room 8",
    "Room 9",
    "Room 10",
    "Room 11",
    "Room 12",
    "Room 13",
    "Room 14",
    "Room 15",
    "Room 16",
    "Room 17",
    "Room 18",
    "Room 19",
    "Room 20",
    "Laptop trolley A",
    "Laptop trolley B",
    "iPad trolley 1",
    "iPad trolley 2",
];

/// Kind, weight, (make, model, serial prefix) choices, cost in pence.
type KindSpec = (
    &'static str,
    u32,
    &'static [(&'static str, &'static str, &'static str)],
    i64,
);

const KINDS: &[KindSpec] = &[
    (
        "laptop",
        30,
        &[
            ("Dell", "Latitude 3540", "DL"),
            ("Lenovo", "ThinkPad E14 Gen 5", "PF"),
            ("HP", "ProBook 450 G10", "5CG"),
        ],
        64_900,
    ),
    (
        "chromebook",
        25,
        &[
            ("Acer", "Chromebook 314", "NXK"),
            ("Lenovo", "300e Chromebook Gen 4", "LR"),
        ],
        27_900,
    ),
    (
        "ipad",
        20,
        &[("Apple", "iPad (10th generation)", "DMP")],
        34_900,
    ),
    ("tablet", 5, &[("Samsung", "Galaxy Tab A9+", "R9")], 21_900),
    ("desktop", 10, &[("Dell", "OptiPlex 7010", "DO")], 71_900),
    ("camera", 5, &[("Canon", "EOS 250D", "CN")], 52_900),
    ("phone", 3, &[("Apple", "iPhone SE", "FX")], 42_900),
    ("other", 2, &[("Epson", "EB-W49 projector", "EP")], 48_900),
];

const FIRST: &[&str] = &[
    "Alex", "Sam", "Jo", "Chris", "Priya", "Mohammed", "Olivia", "Amelia", "Noah", "Leo", "Grace",
    "Ava", "Harry", "Isla", "Oscar", "Freya", "Aisha", "Tom", "Ruth", "Daniel",
];
const SURNAMES: &[&str] = &[
    "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies", "Patel",
    "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green", "Hall",
    "Wood", "Jackson", "Clarke", "Khan", "Hughes", "Edwards", "Hill", "Moore", "Clark", "Harrison",
    "Scott", "Young",
];

fn kind_for(rng: &mut Rng) -> &'static KindSpec {
    let total: u32 = KINDS.iter().map(|k| k.1).sum();
    let mut n = (rng.next() % u64::from(total)) as u32;
    for k in KINDS {
        if n < k.1 {
            return k;
        }
        n -= k.1;
    }
    &KINDS[0]
}

/// One device as a line of an import file.
fn device_line(i: usize, today: NaiveDate, rng: &mut Rng) -> String {
    let (kind, _, models, cost) = kind_for(rng);
    let (make, model, prefix) = rng.pick(models);
    // A bijection on u32, so every serial number is different.
    let serial = format!(
        "{prefix}{:08X}",
        (i as u32).wrapping_mul(2_654_435_761) ^ 0x5BD1_E995
    );
    let location = rng.pick(LOCATIONS);
    let condition = match rng.below(20) {
        0 => "poor",
        1..=3 => "fair",
        _ => "good",
    };
    let bought = today - chrono::Duration::days(rng.below(6 * 365) as i64 + 1);
    let warranty = bought + chrono::Duration::days(3 * 365);
    let verified = today - chrono::Duration::days(rng.below(700) as i64);
    let (state, method) = match *kind {
        "laptop" | "desktop" => match rng.below(20) {
            0..=14 => ("encrypted", "bitlocker"),
            15..=17 => ("not_encrypted", ""),
            _ => ("unknown", ""),
        },
        "chromebook" => ("encrypted", "chromeos"),
        "ipad" if rng.chance(0.9) => ("encrypted", "ipados"),
        "ipad" => ("unknown", ""),
        "tablet" | "phone" if rng.chance(0.5) => ("encrypted", "other"),
        "tablet" | "phone" => ("not_encrypted", ""),
        _ => ("unknown", ""),
    };
    let verified = if state == "encrypted" {
        verified.to_string()
    } else {
        String::new()
    };
    let passcode = matches!(*kind, "ipad" | "phone" | "tablet") && rng.chance(0.8);
    let personal = match *kind {
        "laptop" => rng.chance(0.25),
        "ipad" | "phone" => rng.chance(0.1),
        _ => false,
    };
    let images = matches!(*kind, "camera" | "ipad" | "phone" | "tablet");
    let supplier = *rng.pick(&["XMA", "Misco", "CDW", "Insight", "Stone Group"]);
    let notes = if rng.chance(0.05) {
        "Spare charger in the drawer"
    } else {
        ""
    };
    let yes = |b: bool| if b { "yes" } else { "no" };
    format!(
        "KR-{:06},{kind},{make},{model},{serial},{location},{condition},{bought},{cost},{supplier},{warranty},{notes},{state},{method},{verified},{},{},{}\n",
        i + 1,
        yes(passcode),
        yes(personal),
        yes(images),
    )
}

const DEVICE_HEADER: &str = "tag,kind,make,model,serial,location,condition,purchased_on,cost_pence,supplier,warranty_until,notes,encryption_state,encryption_method,encryption_verified_on,passcode_enforced,holds_personal_data,captures_images\n";
const PEOPLE_HEADER: &str = "username,full_name,email,position,kind,role\n";

fn person_line(i: usize, rng: &mut Rng) -> String {
    let first = rng.pick(FIRST);
    let last = rng.pick(SURNAMES);
    let username = format!("{}.{}{i}", first.to_lowercase(), last.to_lowercase());
    let email = if rng.chance(0.5) {
        format!("{username}@school.example")
    } else {
        String::new()
    };
    let position = rng.pick(&[
        "Teacher",
        "Teaching assistant",
        "Head of year",
        "Office",
        "Technician",
    ]);
    let kind = match rng.below(100) {
        0..=89 => "staff",
        90..=94 => "volunteer",
        95..=97 => "governor",
        _ => "visitor",
    };
    let role = if rng.below(200) == 0 {
        "manager"
    } else {
        "borrower"
    };
    format!("{username},{first} {last},{email},{position},{kind},{role}\n")
}

const CHUNK: usize = 10_000;
/// Devices a transaction on the bulk path.
const BULK_TXN: usize = 50_000;

/// Builds the school in `dir` and returns what the benchmark needs of it.
pub async fn build(dir: &Path, sizes: Sizes) -> anyhow::Result<School> {
    build_in(dir, sizes, CHUNK).await
}

/// The devices of an import file: lines `from..to` of the generated register, read
/// and checked as `kitroom import` reads and checks them (against `keys`).
fn device_rows(
    from: usize,
    to: usize,
    today: NaiveDate,
    keys: &RegisterKeys,
    rng: &mut Rng,
) -> anyhow::Result<kitroom_core::import::Checked<kitroom_core::device::DeviceDetails>> {
    let mut text = String::from(DEVICE_HEADER);
    for i in from..to {
        text.push_str(&device_line(i, today, rng));
    }
    let table = read_table(text.as_bytes()).map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let mapping = Mapping::automatic(Sheet::Devices, &table.headers);
    let checked = check_devices(&table, mapping, keys, today);
    if let Some(p) = checked.problems.first() {
        bail!("the generated devices file has a problem: {p:?}");
    }
    Ok(checked)
}

/// Registers devices `from..to` on `conn` as [`Store::import_devices`] registers
/// them (the same rows, locations and `device.registered` events, through the same
/// `insert_device`), [`BULK_TXN`] devices a transaction and without reading the
/// register's tags first: the generator never repeats a tag or serial number.
/// Returns how many it wrote.
async fn devices_bulk(
    conn: &mut SqliteConnection,
    from: usize,
    to: usize,
    today: NaiveDate,
    rng: &mut Rng,
) -> anyhow::Result<usize> {
    let actor = Actor::system();
    let none = RegisterKeys::default();
    // As the import keeps them: SQLite's `nocase` folds ASCII only.
    let mut locations: HashMap<String, Uuid> = HashMap::new();
    let mut written = 0;
    let mut start = from;
    while start < to {
        let end = (start + BULK_TXN).min(to);
        let now = Utc::now();
        sqlx::query("begin").execute(&mut *conn).await?;
        let mut at = start;
        while at < end {
            let upto = (at + CHUNK).min(end);
            let checked = device_rows(at, upto, today, &none, rng)?;
            for row in &checked.rows {
                let d = &row.value;
                let key = d.location.to_ascii_lowercase();
                let location_id = match locations.get(&key) {
                    Some(id) => *id,
                    None => {
                        let id =
                            find_or_create(conn, &actor, SchoolId::FIRST, &d.location, now).await?;
                        locations.insert(key, id);
                        id
                    }
                };
                let source = format!("CSV import, line {}", row.line);
                insert_device(
                    conn,
                    &actor,
                    SchoolId::FIRST,
                    d,
                    location_id,
                    Some(source),
                    now,
                )
                .await?;
            }
            written += checked.rows.len();
            at = upto;
        }
        sqlx::query("commit").execute(&mut *conn).await?;
        start = end;
    }
    Ok(written)
}

/// [`build`], with the first `imported` devices through the real import and the
/// rest through [`devices_bulk`].
async fn build_in(dir: &Path, sizes: Sizes, imported: usize) -> anyhow::Result<School> {
    let mut timings = Vec::new();
    let mut rng = Rng::new(0x6b69_7472_6f6f_6d21);
    let today = kitroom::today();

    let t = Instant::now();
    let store = Store::open(dir).await?;
    for (username, role, full_name) in [
        (MANAGER, "manager", "Morgan Bench"),
        (TEACHER, "borrower", "Terry Bench"),
    ] {
        let input = PersonInput {
            username: username.into(),
            full_name: full_name.into(),
            email: String::new(),
            position: "Benchmark".into(),
            kind: "staff".into(),
            role: role.into(),
        };
        let mut password = Cursor::new(format!("{PASSWORD}\n"));
        let code = kitroom::cli::user_add(dir, input, None, Some(&mut password)).await?;
        ensure!(
            code == ExitCode::SUCCESS,
            "kitroom user add {username} failed"
        );
    }
    // The benchmark measures lending and pages, not two-step sign-in: its manager
    // signs in with the password alone. No automatic backup copies the large
    // database in the middle of a measurement.
    let mut settings = store
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await?;
    settings.require_two_factor = false;
    settings.backups_kept = 0;
    store
        .save_settings(
            kitroom_store::Actor::system(),
            kitroom_core::school::SchoolId::FIRST,
            settings,
        )
        .await?;
    let manager = store
        .account_by_username(MANAGER)
        .await?
        .context("the manager account")?;
    let teacher = store
        .account_by_username(TEACHER)
        .await?
        .context("the teacher account")?;
    // Published and signed through the same commands as the pages.
    let app = kitroom_app::App::new(store.clone(), None, Default::default());
    let policy = PublishInput {
        title: "Acceptable use of school devices".into(),
        version_label: "2026.1".into(),
        issued_on: "2026-01-05".into(),
        body: "## Looking after devices\n\n- Keep it charged.\n- Bring it back on time.".into(),
    };
    kitroom_app::policies::publish(&app, &manager, policy)
        .await
        .map_err(|e| anyhow::anyhow!("policy: {e}"))?;
    for p in [&manager, &teacher] {
        let sig = SignInput {
            full_name: p.full_name.clone(),
            position: "Benchmark".into(),
            ..SignInput::default()
        };
        kitroom_app::policies::sign(&app, p, sig)
            .await
            .map_err(|e| anyhow::anyhow!("signature: {e}"))?;
    }
    timings.push(("accounts_and_policy_s", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let imported = imported.min(sizes.devices);
    let mut start = 0;
    while start < imported {
        let end = (start + CHUNK).min(imported);
        let keys = store.register_keys(SchoolId::FIRST).await?;
        let checked = device_rows(start, end, today, &keys, &mut rng)?;
        match store
            .import_devices(Actor::system(), SchoolId::FIRST, checked, Box::new(|_| {}))
            .await?
        {
            Outcome::Written(n) => ensure!(n == end - start, "imported {n} devices"),
            Outcome::Refused(p) => bail!("the device import was refused: {:?}", p.first()),
        }
        start = end;
    }
    timings.push(("devices_import_s", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let people = sizes.people.saturating_sub(2);
    let mut start = 0;
    while start < people {
        let end = (start + CHUNK).min(people);
        let mut text = String::from(PEOPLE_HEADER);
        for i in start..end {
            text.push_str(&person_line(i, &mut rng));
        }
        let table = read_table(text.as_bytes()).map_err(|p| anyhow::anyhow!("{p:?}"))?;
        let mapping = Mapping::automatic(Sheet::People, &table.headers);
        let taken = store.usernames_in_use().await?;
        let checked = check_people(&table, mapping, &taken, None);
        if let Some(p) = checked.problems.first() {
            bail!("the generated people file has a problem: {p:?}");
        }
        match store
            .import_people(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                checked,
                Box::new(|_| {}),
            )
            .await?
        {
            Outcome::Written(n) => ensure!(n == end - start, "imported {n} people"),
            Outcome::Refused(p) => bail!("the people import was refused: {:?}", p.first()),
        }
        start = end;
    }
    timings.push(("people_import_s", t.elapsed().as_secs_f64()));
    store.close().await;

    let t = Instant::now();
    let path = dir.join(kitroom_store::db::DB_FILE);
    let mut conn = SqliteConnectOptions::from_str("sqlite://")?
        .filename(&path)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Off)
        // 256 MiB of page cache instead of SQLite's 2 MiB: at a million devices the
        // register's indexes (random ids, tags, the trigram index) no longer fit in
        // 2 MiB, and every insert would read its index pages back from the file.
        .pragma("cache_size", "-262144")
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
        .connect()
        .await?;
    let bulk = devices_bulk(&mut conn, imported, sizes.devices, today, &mut rng).await?;
    ensure!(
        bulk == sizes.devices - imported,
        "bulk-registered {bulk} devices"
    );
    timings.push(("devices_bulk_s", t.elapsed().as_secs_f64()));

    let t = Instant::now();
    let history = history(
        &mut conn,
        sizes.events,
        manager.id,
        &manager.username,
        &mut rng,
    )
    .await?;
    sqlx::query("pragma wal_checkpoint(truncate)")
        .execute(&mut conn)
        .await?;
    timings.push(("history_bulk_s", t.elapsed().as_secs_f64()));

    let return_location_id: String =
        sqlx::query_scalar("select id from location where name = 'Computer room'")
            .fetch_one(&mut conn)
            .await?;
    let rows: Vec<(String, String)> =
        sqlx::query_as("select id, tag from device where status = 'available'")
            .fetch_all(&mut conn)
            .await?;
    let mut available: Vec<Dev> = rows
        .into_iter()
        .map(|(id, tag)| {
            Ok(Dev {
                id: Uuid::parse_str(&id)?,
                tag,
            })
        })
        .collect::<Result<_, uuid::Error>>()?;
    rng.shuffle(&mut available);
    let all: Vec<(String, String, String)> =
        sqlx::query_as("select tag, serial, model from device order by rowid")
            .fetch_all(&mut conn)
            .await?;
    let sample_tags = (0..500).map(|_| rng.pick(&all).0.clone()).collect();
    let models = [
        "Latitude",
        "ThinkPad",
        "ProBook",
        "Chromebook 3",
        "300e",
        "iPad (10",
        "Galaxy Tab",
        "OptiPlex",
        "EOS 2",
        "iPhone",
    ];
    let mut search_terms = Vec::new();
    for i in 0..600 {
        let (tag, serial, _) = rng.pick(&all);
        search_terms.push(match i % 3 {
            // KR-042137 → "04213": ten devices.
            0 => tag.get(3..8).unwrap_or(tag).to_owned(),
            // Seven characters from inside a serial number: one device.
            1 => serial.get(2..9).unwrap_or(serial).to_owned(),
            _ => (*rng.pick(&models)).to_owned(),
        });
    }
    let count = |table: &'static str| format!("select count(*) from {table}");
    let mut counts = serde_json::Map::new();
    for table in [
        "device",
        "person",
        "event",
        "loan",
        "location",
        "session",
        "api_token",
    ] {
        let n: i64 = sqlx::query_scalar(&count(table))
            .fetch_one(&mut conn)
            .await?;
        counts.insert(table.into(), n.into());
    }
    let open: i64 = sqlx::query_scalar("select count(*) from loan where returned_at is null")
        .fetch_one(&mut conn)
        .await?;
    counts.insert("open_loans".into(), open.into());
    counts.insert("available_devices".into(), available.len().into());
    counts.insert("devices_imported".into(), imported.into());
    counts.insert("devices_bulk".into(), bulk.into());
    counts.insert("history_events_bulk".into(), history.into());
    drop(conn);
    Ok(School {
        teacher_id: teacher.id,
        manager_id: manager.id,
        return_location_id: Uuid::parse_str(&return_location_id)?,
        available,
        sample_tags,
        search_terms,
        counts: counts.into(),
        timings,
    })
}

/// An event waiting to be written.
struct EventRow {
    seq: i64,
    at: String,
    actor_id: Option<String>,
    actor: String,
    action: &'static str,
    subject: String,
    label: String,
    details: String,
    prev_hash: String,
    hash: String,
}

/// The log's tail, carried across the bulk insert.
struct Chain {
    seq: i64,
    prev: String,
    rows: Vec<EventRow>,
    written: usize,
}

impl Chain {
    fn push(
        &mut self,
        at: &str,
        actor: (Option<&str>, &str),
        action: &'static str,
        subject: &str,
        label: &str,
        details: serde_json::Value,
    ) {
        self.seq += 1;
        let details = details.to_string();
        let hash = event_hash(
            &self.prev,
            &EventFields {
                seq: self.seq,
                at,
                actor: actor.1,
                action,
                subject,
                subject_label: label,
                details: &details,
            },
        );
        let prev = std::mem::replace(&mut self.prev, hash.clone());
        self.rows.push(EventRow {
            seq: self.seq,
            at: at.to_owned(),
            actor_id: actor.0.map(str::to_owned),
            actor: actor.1.to_owned(),
            action,
            subject: subject.to_owned(),
            label: label.to_owned(),
            details,
            prev_hash: prev,
            hash,
        });
    }

    async fn flush(&mut self, conn: &mut SqliteConnection) -> anyhow::Result<()> {
        for chunk in self.rows.chunks(100) {
            let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
                "insert into event (seq, at, actor_id, actor, action, subject, subject_label, details, prev_hash, hash) ",
            );
            qb.push_values(chunk, |mut b, e| {
                b.push_bind(e.seq)
                    .push_bind(&e.at)
                    .push_bind(&e.actor_id)
                    .push_bind(&e.actor)
                    .push_bind(e.action)
                    .push_bind(&e.subject)
                    .push_bind(&e.label)
                    .push_bind(&e.details)
                    .push_bind(&e.prev_hash)
                    .push_bind(&e.hash);
            });
            qb.build().execute(&mut *conn).await?;
        }
        self.written += self.rows.len();
        self.rows.clear();
        Ok(())
    }
}

/// A loan of the history, open or closed.
struct LoanRow {
    id: String,
    device: usize,
    borrower: usize,
    issued_by: String,
    out_at: String,
    due_at: String,
    purpose: &'static str,
    returned_at: Option<String>,
    images_cleared: Option<bool>,
}

async fn flush_loans(
    conn: &mut SqliteConnection,
    loans: &mut Vec<LoanRow>,
    devices: &[(String, String, bool)],
    people: &[(String, String)],
    manager: &str,
    return_location: &str,
) -> anyhow::Result<()> {
    for chunk in loans.chunks(100) {
        let mut qb: QueryBuilder<'_, Sqlite> = QueryBuilder::new(
            "insert into loan (id, device_id, borrower_id, issued_by, out_at, due_at, purpose, off_site,
               returned_at, outcome, return_location_id, received_by, return_condition, on_charge, images_cleared) ",
        );
        qb.push_values(chunk, |mut b, l| {
            let closed = l.returned_at.is_some();
            b.push_bind(&l.id)
                .push_bind(&devices[l.device].0)
                .push_bind(&people[l.borrower].0)
                .push_bind(&l.issued_by)
                .push_bind(&l.out_at)
                .push_bind(&l.due_at)
                .push_bind(l.purpose)
                .push_bind(false)
                .push_bind(&l.returned_at)
                .push_bind(closed.then_some("returned"))
                .push_bind(closed.then_some(return_location))
                .push_bind(closed.then_some(manager))
                .push_bind(closed.then_some("fine"))
                .push_bind(closed.then_some(true))
                .push_bind(l.images_cleared.filter(|_| closed));
        });
        qb.build().execute(&mut *conn).await?;
    }
    loans.clear();
    Ok(())
}

/// Writes the school's history so that the log holds `target` events in all.
/// Returns how many events it wrote.
async fn history(
    conn: &mut SqliteConnection,
    target: usize,
    manager_id: Uuid,
    manager_name: &str,
    rng: &mut Rng,
) -> anyhow::Result<usize> {
    let devices: Vec<(String, String, bool)> =
        sqlx::query_as("select id, tag, captures_images from device order by rowid")
            .fetch_all(&mut *conn)
            .await?;
    let people: Vec<(String, String)> = sqlx::query_as(
        "select id, username from person where password_hash is null order by rowid",
    )
    .fetch_all(&mut *conn)
    .await?;
    let return_location: String =
        sqlx::query_scalar("select id from location where name = 'Computer room'")
            .fetch_one(&mut *conn)
            .await?;
    let existing: i64 = sqlx::query_scalar("select count(*) from event")
        .fetch_one(&mut *conn)
        .await?;
    let last: Option<(i64, String)> =
        sqlx::query_as("select seq, hash from event order by seq desc limit 1")
            .fetch_optional(&mut *conn)
            .await?;
    let (seq, prev) = last.unwrap_or((0, GENESIS_HASH.to_owned()));
    let budget = target.saturating_sub(existing as usize);
    if budget == 0 || devices.is_empty() || people.is_empty() {
        return Ok(0);
    }
    let n = devices.len();
    // The end state: 2% in repair, 1% lost, 5% out on loan; the rest is loans that
    // came back (3 events each: out, back, ready again).
    let mut repair = (n * 2 / 100).min(budget);
    let lost = (n / 100).min(budget - repair);
    let rest = budget - repair - lost;
    let open_at_end = (n * 5 / 100).min(rest);
    let cycles = (rest - open_at_end) / 3;
    repair += (rest - open_at_end) % 3;
    ensure!(
        repair + lost + open_at_end < n,
        "too few devices for the history"
    );

    let manager_id = manager_id.to_string();
    let span = chrono::Duration::days(3 * 365);
    let start = Utc::now() - span - chrono::Duration::hours(1);
    let step_us = span.num_microseconds().unwrap_or(1) / budget as i64;
    let mut j = 0i64;
    let mut at = || {
        let t = start + chrono::Duration::microseconds(step_us * j);
        j += 1;
        t
    };
    let mut chain = Chain {
        seq,
        prev,
        rows: Vec::new(),
        written: 0,
    };
    let mut busy = vec![false; n];
    let mut open: VecDeque<LoanRow> = VecDeque::new();
    let mut loans: Vec<LoanRow> = Vec::new();
    let (mut opens_left, mut closes_left) = (cycles + open_at_end, cycles);
    let system = (None, "system");
    let purposes = ["Lesson", "Homework club", "School trip", "Exam access", ""];

    sqlx::query("begin").execute(&mut *conn).await?;
    while opens_left + closes_left > 0 {
        let do_open = closes_left == 0
            || open.is_empty()
            || (opens_left > 0 && rng.below(opens_left + closes_left) < opens_left);
        if do_open {
            let mut d = rng.below(n);
            while busy[d] {
                d = rng.below(n);
            }
            busy[d] = true;
            let b = rng.below(people.len());
            let self_service = rng.chance(0.5);
            let t = at();
            let out_at = time_text(t);
            let due_at = time_text(t + chrono::Duration::days(1));
            let purpose = *rng.pick(&purposes);
            let id = Uuid::new_v4().to_string();
            let (issuer_id, issuer_name) = if self_service {
                (people[b].0.as_str(), people[b].1.as_str())
            } else {
                (manager_id.as_str(), manager_name)
            };
            chain.push(
                &out_at,
                (Some(issuer_id), issuer_name),
                "loan.checked_out",
                &format!("device:{}", devices[d].0),
                &devices[d].1,
                json!({"loan": id, "borrower": people[b].1, "due_at": due_at, "purpose": purpose,
                       "off_site": false, "head_authorisation": null}),
            );
            open.push_back(LoanRow {
                id,
                device: d,
                borrower: b,
                issued_by: issuer_id.to_owned(),
                out_at,
                due_at,
                purpose,
                returned_at: None,
                images_cleared: devices[d].2.then_some(true),
            });
            opens_left -= 1;
        } else if let Some(mut loan) = open.pop_front() {
            let (id, tag, _) = &devices[loan.device];
            let subject = format!("device:{id}");
            let back = time_text(at());
            chain.push(
                &back,
                (Some(&manager_id), manager_name),
                "loan.returned",
                &subject,
                tag,
                json!({"loan": loan.id, "borrower": people[loan.borrower].1, "location": "Computer room",
                       "condition": "fine", "battery_percent": null, "on_charge": true,
                       "images_cleared": loan.images_cleared}),
            );
            chain.push(
                &time_text(at()),
                system,
                "device.status_changed",
                &subject,
                tag,
                json!({"note": "charged for 60 minutes", "change": "mark_ready",
                       "from": "returned_charging", "to": "available"}),
            );
            busy[loan.device] = false;
            loan.returned_at = Some(back);
            loans.push(loan);
            closes_left -= 1;
        }
        if chain.rows.len() >= 20_000 {
            chain.flush(conn).await?;
            flush_loans(
                conn,
                &mut loans,
                &devices,
                &people,
                &manager_id,
                &return_location,
            )
            .await?;
            sqlx::query("commit").execute(&mut *conn).await?;
            sqlx::query("begin").execute(&mut *conn).await?;
        }
    }
    // Loans still out: the devices are on loan.
    let now = time_text(Utc::now());
    let mut still_out: Vec<LoanRow> = open.into_iter().collect();
    for l in &still_out {
        sqlx::query("update device set status = 'on_loan', updated_at = ? where id = ?")
            .bind(&now)
            .bind(&devices[l.device].0)
            .execute(&mut *conn)
            .await?;
    }
    loans.append(&mut still_out);
    // Then some devices go to repair or are lost.
    for (count, change, to, note) in [
        (repair, "send_to_repair", "in_repair", "Screen cracked"),
        (lost, "report_lost", "lost", "Not seen since the trip"),
    ] {
        for _ in 0..count {
            let mut d = rng.below(n);
            while busy[d] {
                d = rng.below(n);
            }
            busy[d] = true;
            let (id, tag, _) = &devices[d];
            chain.push(
                &time_text(at()),
                (Some(&manager_id), manager_name),
                "device.status_changed",
                &format!("device:{id}"),
                tag,
                json!({"note": note, "change": change, "from": "available", "to": to}),
            );
            sqlx::query("update device set status = ?, updated_at = ? where id = ?")
                .bind(to)
                .bind(&now)
                .bind(id)
                .execute(&mut *conn)
                .await?;
        }
    }
    chain.flush(conn).await?;
    flush_loans(
        conn,
        &mut loans,
        &devices,
        &people,
        &manager_id,
        &return_location,
    )
    .await?;
    sqlx::query("commit").execute(&mut *conn).await?;
    Ok(chain.written)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kitroom_store::devices::DeviceFilter;

    /// If this broke, the benchmark would measure a register unlike a real one: the
    /// device list miscounting the bulk-seeded devices, a search not finding them, or
    /// `kitroom check` failing on the log after every large run.
    #[tokio::test]
    async fn bulk_seeded_devices_are_counted_found_and_chained_like_imported_ones() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let sizes = Sizes {
            devices: 1_500,
            people: 20,
            events: 6_000,
        };
        let school = build_in(&data, sizes, 400).await.unwrap();
        assert_eq!(school.counts["devices_imported"], 400);
        assert_eq!(school.counts["devices_bulk"], 1_100);

        let store = Store::open(&data).await.unwrap();
        let mut conn = store.reader().acquire().await.unwrap();
        let devices: i64 = sqlx::query_scalar("select count(*) from device")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(devices, 1_500);
        // The tally the device list counts from, group by group.
        let stray: i64 = sqlx::query_scalar(
            "select count(*) from (
               select kind, status, location_id, encryption_state, count(*) as n from device
               group by 1, 2, 3, 4
               except
               select kind, status, location_id, encryption_state, devices from device_tally
               where devices > 0)",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert_eq!(stray, 0, "the tally disagrees with the devices");
        let tallied: i64 = sqlx::query_scalar("select sum(devices) from device_tally")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(tallied, devices);
        // Every device registered once in the log, with the import's fields and source.
        let registered: Vec<(String, String)> = sqlx::query_as(
            "select subject_label, details from event where action = 'device.registered' order by seq",
        )
        .fetch_all(&mut *conn)
        .await
        .unwrap();
        assert_eq!(registered.len(), 1_500);
        let keys = |details: &str| -> Vec<String> {
            let v: serde_json::Value = serde_json::from_str(details).unwrap();
            let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
            k.sort();
            k
        };
        let (first_tag, first) = &registered[0];
        let (last_tag, last) = &registered[1_499];
        assert_eq!(first_tag, "KR-000001");
        assert_eq!(last_tag, "KR-001500");
        assert_eq!(keys(first), keys(last));
        assert!(last.contains("\"source\":\"CSV import, line "), "{last}");
        // The same columns filled on an imported and a bulk-seeded device.
        let filled = "select (purchased_on is not null) + (cost_pence is not null) + (warranty_until is not null)
                        + (created_at is not null) + (updated_at is not null) + (location_id is not null)
                      from device where tag = ?";
        for tag in [first_tag, last_tag] {
            let n: i64 = sqlx::query_scalar(filled)
                .bind(tag)
                .fetch_one(&mut *conn)
                .await
                .unwrap();
            assert_eq!(n, 6, "{tag}");
        }
        drop(conn);
        // Found by the search index, by tag and by serial number.
        let bulk = store
            .device_by_tag(SchoolId::FIRST, "KR-001234")
            .await
            .unwrap()
            .unwrap();
        for q in ["KR-001234", &bulk.details.serial[2..9]] {
            let page = store
                .list_devices(
                    SchoolId::FIRST,
                    &DeviceFilter {
                        q: Some(q.to_owned()),
                        per_page: 50,
                        ..DeviceFilter::default()
                    },
                )
                .await
                .unwrap();
            assert!(
                page.items.iter().any(|d| d.id == bulk.id),
                "searching {q:?} did not find the bulk-seeded device"
            );
        }
        store.close().await;

        // The whole log's hash chain, as `kitroom check` verifies it.
        let mut out = Vec::new();
        let code = kitroom::cli::check(&data, &mut out).await.unwrap();
        let text = String::from_utf8_lossy(&out);
        assert_eq!(code, ExitCode::SUCCESS, "{text}");
        assert!(text.contains("hash chain intact"), "{text}");
    }
}
