//! A believable demo school: people of every kind and role, about 200 devices of
//! every kind across the school's rooms, the acceptable-use policy signed by most,
//! devices out on loan and back on charge, a request waiting for the head, and some
//! history, all written through the store like any other change, so the activity log
//! is real and verifies.

use std::path::Path;
use std::process::ExitCode;

use chrono::{Duration, NaiveDate};
use kitroom_app::incidents::ChangeInput;
use kitroom_app::incidents::ReportInput;
use kitroom_app::policies::{PublishInput, SignInput};
use kitroom_core::device::{DeviceInput, StatusChange};
use kitroom_core::person::{PersonInput, PersonKind};
use kitroom_core::school::SchoolId;
use kitroom_store::{Actor, Store};

/// Every demo account's password.
pub const DEMO_PASSWORD: &str = "kitroom-demo";

/// A small deterministic generator, so every demo school is the same.
struct Dice(u64);

impl Dice {
    fn roll(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.roll(items.len() as u64) as usize]
    }
}

const FIRST: &[&str] = &[
    "Amara", "Ben", "Chloe", "Daniel", "Eleanor", "Farah", "George", "Hannah", "Imran", "Jess",
    "Kwame", "Laura", "Mohammed", "Niamh", "Oliver", "Priya", "Rhys", "Sophie", "Tom", "Uzma",
    "Victoria", "Will", "Yasmin", "Zoe",
];
const LAST: &[&str] = &[
    "Adeyemi", "Barker", "Clarke", "Davies", "Evans", "Fletcher", "Green", "Hughes", "Iqbal",
    "Jones", "Khan", "Lewis", "Morgan", "Nowak", "O'Brien", "Patel", "Roberts", "Singh", "Taylor",
    "Walsh", "Williams", "Wright",
];

struct DemoPerson {
    username: String,
    full_name: String,
    kind: &'static str,
    role: &'static str,
    position: String,
}

fn people(dice: &mut Dice) -> Vec<DemoPerson> {
    let fixed = [
        ("admin", "Alex Morgan", "staff", "admin", "IT technician"),
        (
            "manager",
            "Sam Patel",
            "staff",
            "manager",
            "School business manager",
        ),
        ("head", "Ruth Okafor", "staff", "head", "Head teacher"),
        (
            "teacher",
            "Jo Fletcher",
            "staff",
            "borrower",
            "Year 4 teacher",
        ),
    ];
    let mut out: Vec<DemoPerson> = fixed
        .iter()
        .map(|(u, n, k, r, p)| DemoPerson {
            username: (*u).into(),
            full_name: (*n).into(),
            kind: k,
            role: r,
            position: (*p).into(),
        })
        .collect();
    let mut kinds = vec![("staff", "borrower"); 26];
    kinds.extend([("governor", "borrower"); 4]);
    kinds.extend([("volunteer", "borrower"); 3]);
    kinds.extend([("visitor", "borrower"); 2]);
    kinds.push(("staff", "manager"));
    let positions = [
        "Reception teacher",
        "Year 1 teacher",
        "Year 2 teacher",
        "Year 3 teacher",
        "Year 5 teacher",
        "Year 6 teacher",
        "Teaching assistant",
        "SENCo",
        "Office manager",
        "Site manager",
        "Music teacher",
        "PE coordinator",
    ];
    for (kind, role) in kinds {
        let first = dice.pick(FIRST);
        let last = dice.pick(LAST);
        let mut username = format!(
            "{}.{}",
            first.to_lowercase(),
            last.to_lowercase().replace('\'', "")
        );
        while out.iter().any(|p| p.username == username) {
            username.push('2');
        }
        let position = match kind {
            "governor" => "Governor".to_owned(),
            "volunteer" => "Reading volunteer".to_owned(),
            "visitor" => "Supply teacher".to_owned(),
            _ if role == "manager" => "Deputy business manager".to_owned(),
            _ => dice.pick(&positions).to_string(),
        };
        out.push(DemoPerson {
            username,
            full_name: format!("{first} {last}"),
            kind,
            role,
            position,
        });
    }
    out
}

struct Model {
    kind: &'static str,
    prefix: &'static str,
    count: usize,
    make: &'static str,
    models: &'static [&'static str],
    cost: u32,
    method: Option<&'static str>,
    personal_data: bool,
    camera: bool,
    homes: &'static [&'static str],
}

const MODELS: &[Model] = &[
    Model {
        kind: "ipad",
        prefix: "IPAD",
        count: 60,
        make: "Apple",
        models: &["iPad (9th generation)", "iPad (10th generation)"],
        cost: 329,
        method: Some("ipados"),
        personal_data: false,
        camera: true,
        homes: &["iPad trolley A", "iPad trolley B"],
    },
    Model {
        kind: "chromebook",
        prefix: "CB",
        count: 50,
        make: "Lenovo",
        models: &["100e Chromebook Gen 4", "300e Chromebook Gen 3"],
        cost: 249,
        method: Some("chromeos"),
        personal_data: false,
        camera: false,
        homes: &["Computer room", "Year 6 classroom"],
    },
    Model {
        kind: "laptop",
        prefix: "LAP",
        count: 40,
        make: "Dell",
        models: &["Latitude 3540", "Latitude 5440"],
        cost: 749,
        method: Some("bitlocker"),
        personal_data: true,
        camera: false,
        homes: &["Computer room", "School office", "Staff room"],
    },
    Model {
        kind: "desktop",
        prefix: "PC",
        count: 15,
        make: "HP",
        models: &["ProDesk 400 G9"],
        cost: 589,
        method: Some("bitlocker"),
        personal_data: true,
        camera: false,
        homes: &["School office", "Library", "Head's office"],
    },
    Model {
        kind: "camera",
        prefix: "CAM",
        count: 10,
        make: "Canon",
        models: &["PowerShot SX740", "IXUS 185"],
        cost: 199,
        method: None,
        personal_data: false,
        camera: true,
        homes: &["School office"],
    },
    Model {
        kind: "tablet",
        prefix: "TAB",
        count: 10,
        make: "Samsung",
        models: &["Galaxy Tab A9"],
        cost: 179,
        method: Some("other"),
        personal_data: false,
        camera: true,
        homes: &["Library", "Year 3 classroom"],
    },
    Model {
        kind: "phone",
        prefix: "PH",
        count: 8,
        make: "Apple",
        models: &["iPhone SE"],
        cost: 429,
        method: Some("ipados"),
        personal_data: true,
        camera: true,
        homes: &["School office"],
    },
    Model {
        kind: "other",
        prefix: "OTH",
        count: 7,
        make: "Epson",
        models: &["EB-W51 projector", "Visualiser"],
        cost: 399,
        method: None,
        personal_data: false,
        camera: false,
        homes: &["Computer room", "Library"],
    },
];

/// Fills `data_dir` with the demo school, refusing if it already has accounts.
pub async fn run(data_dir: &Path) -> anyhow::Result<ExitCode> {
    let store = Store::open(data_dir).await?;
    if store.count_people().await? > 0 {
        eprintln!(
            "{} already has accounts. The demo school only goes into an empty data directory.",
            data_dir.display()
        );
        store.close().await;
        return Ok(ExitCode::from(2));
    }
    fill(&store).await?;
    store.close().await;
    println!("The demo school is ready in {}.", data_dir.display());
    println!();
    println!(
        "Start Kitroom with:  kitroom serve --data-dir {}",
        data_dir.display()
    );
    println!("Then sign in at http://127.0.0.1:8080/ with any of these, password {DEMO_PASSWORD}:");
    println!("    admin     IT administrator");
    println!("    manager   School business manager");
    println!("    head      Head teacher");
    println!("    teacher   a member of staff who borrows devices");
    println!(
        "The demo school does not require two-step sign-in (a real school keeps the setting on)."
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes the demo school into an open store.
pub async fn fill(store: &Store) -> anyhow::Result<()> {
    let mut dice = Dice(2026);
    // One hash for the shared demo password: hashing forty times would only slow the
    // demo down, and these accounts are for trying Kitroom out.
    let hash = kitroom_web::auth::hash_password(DEMO_PASSWORD.to_owned())
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut manager = Actor::system();
    let mut everyone = Vec::new();
    for p in people(&mut dice) {
        let input = PersonInput {
            username: p.username,
            full_name: p.full_name,
            email: String::new(),
            position: p.position,
            kind: p.kind.into(),
            role: p.role.into(),
        };
        let mut details = input
            .parse()
            .map_err(|e| anyhow::anyhow!("demo person: {e}"))?;
        details.email = Some(format!("{}@school.example", details.username));
        let created = store
            .create_person(
                Actor::system(),
                kitroom_core::school::SchoolId::FIRST,
                details,
                Some(hash.clone()),
            )
            .await?;
        if created.username == "manager" {
            manager = created.actor();
        }
        everyone.push(created);
    }
    let today = crate::today();
    let start_of_year = NaiveDate::from_ymd_opt(2025, 9, 1).unwrap_or(today);
    let mut devices = Vec::new();
    for m in MODELS {
        for i in 1..=m.count {
            let bought = start_of_year - Duration::days(dice.roll(1200) as i64);
            let verified = today - Duration::days(dice.roll(500) as i64);
            // Most devices are encrypted and verified; a few are unknown, and cameras
            // cannot be encrypted at all.
            let (state, method, verified_on) = match (m.method, dice.roll(10)) {
                (None, _) => ("not_encrypted", "", String::new()),
                (Some(_), 0) => ("unknown", "", String::new()),
                (Some(_), 1) if m.kind == "laptop" => ("not_encrypted", "", String::new()),
                (Some(method), 2) => ("encrypted", method, String::new()),
                (Some(method), _) => ("encrypted", method, verified.to_string()),
            };
            let input = DeviceInput {
                tag: format!("{}-{i:03}", m.prefix),
                kind: m.kind.into(),
                make: m.make.into(),
                model: dice.pick(m.models).to_string(),
                serial: format!("{}{:08}", &m.prefix[..1], dice.roll(100_000_000)),
                location: dice.pick(m.homes).to_string(),
                condition: (*dice.pick(&["good", "good", "good", "fair", "poor"])).into(),
                purchased_on: bought.to_string(),
                cost: format!("{}.{:02}", m.cost, dice.roll(100)),
                supplier: (*dice.pick(&["XMA", "Misco", "LA framework", "Softcat"])).into(),
                warranty_until: (bought + Duration::days(3 * 365)).to_string(),
                notes: String::new(),
                encryption_state: state.into(),
                encryption_method: method.into(),
                encryption_verified_on: verified_on,
                passcode_enforced: m.method.is_some(),
                holds_personal_data: m.personal_data,
                captures_images: m.camera,
            };
            let details = input
                .parse(today)
                .map_err(|e| anyhow::anyhow!("demo device {}: {e}", input.tag))?;
            devices.push(
                store
                    .create_device(manager.clone(), SchoolId::FIRST, details)
                    .await?,
            );
        }
    }
    // Some history: repairs, a device lost and one found again, devices back on charge.
    let moves: &[(usize, &[StatusChange], &str)] = &[
        (
            3,
            &[StatusChange::SendToRepair],
            "Cracked screen, sent to the supplier",
        ),
        (
            61,
            &[StatusChange::SendToRepair, StatusChange::BackFromRepair],
            "Keyboard replaced under warranty",
        ),
        (
            115,
            &[StatusChange::ReportLost],
            "Not returned after the Year 6 residential trip",
        ),
        (
            150,
            &[StatusChange::ReportLost, StatusChange::Found],
            "Found in the hall cupboard",
        ),
        (
            12,
            &[
                StatusChange::SendToRepair,
                StatusChange::BackFromRepair,
                StatusChange::MarkReady,
            ],
            "Battery replaced",
        ),
        (170, &[StatusChange::SendToRepair], "Lens error"),
    ];
    let app = kitroom_app::App::new(store.clone(), None, Default::default());
    for (index, changes, note) in moves {
        if let Some(d) = devices.get(*index) {
            for c in *changes {
                kitroom_app::devices::move_as(&app, manager.clone(), d.id, *c, (*note).into())
                    .await?;
            }
        }
    }
    // An encryption check recorded after purchase, as a manager would after a visit.
    if let Some(d) = devices
        .iter()
        .find(|d| d.details.encryption.state == kitroom_core::device::EncryptionState::Unknown)
    {
        let mut details = d.details.clone();
        details.encryption.state = kitroom_core::device::EncryptionState::Encrypted;
        details.encryption.method = Some(kitroom_core::device::EncryptionMethod::Bitlocker);
        details.encryption.verified_on = Some(today);
        if details.kind == kitroom_core::device::DeviceKind::Ipad {
            details.encryption.method = Some(kitroom_core::device::EncryptionMethod::Ipados);
        }
        store
            .update_device(manager.clone(), SchoolId::FIRST, d.id, details)
            .await?;
    }
    let settings = kitroom_core::settings::Settings {
        school_name: "Hillside Primary School".into(),
        // A demo is for trying Kitroom out with a shared password: its managers are not
        // asked to set up an authenticator app. A real school keeps this on.
        require_two_factor: false,
        ..store
            .settings(kitroom_core::school::SchoolId::FIRST)
            .await?
    };
    store
        .save_settings(
            manager.clone(),
            kitroom_core::school::SchoolId::FIRST,
            settings,
        )
        .await?;
    // The sample policy, signed by everyone but a handful of newcomers, through the
    // same commands as the pages.
    let app = kitroom_app::App::new(store.clone(), None, Default::default());
    let publisher = everyone
        .iter()
        .find(|p| p.username == "manager")
        .ok_or_else(|| anyhow::anyhow!("the demo has a manager"))?;
    let policy = PublishInput {
        title: "Acceptable use of school devices".into(),
        version_label: "2026/27".into(),
        issued_on: "2026-09-01".into(),
        body: kitroom_web::policies::SAMPLE_POLICY.into(),
    };
    kitroom_app::policies::publish(&app, publisher, policy)
        .await
        .map_err(|e| anyhow::anyhow!("demo policy: {e}"))?;
    for p in everyone
        .iter()
        .filter(|p| !matches!(p.kind, PersonKind::Visitor))
        .take(everyone.len() - 4)
    {
        let position = if p.position.is_empty() {
            p.kind.label().to_owned()
        } else {
            p.position.clone()
        };
        let sig = SignInput {
            full_name: p.full_name.clone(),
            position,
            ..SignInput::default()
        };
        kitroom_app::policies::sign(&app, p, sig)
            .await
            .map_err(|e| anyhow::anyhow!("demo signature: {e}"))?;
    }
    // Devices out on loan today, and some already back on charge.
    let now = chrono::Utc::now();
    let due = kitroom_core::loan::default_due(
        now,
        store
            .settings(kitroom_core::school::SchoolId::FIRST)
            .await?
            .day_ends_at,
    );
    let borrowers: Vec<_> = everyone
        .iter()
        .filter(|p| p.username != "manager")
        .take(24)
        .collect();
    // Lent and taken back the one way the pages do, by the business manager.
    let app = kitroom_app::App::new(
        store.clone(),
        None,
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );
    let lender = everyone
        .iter()
        .find(|p| p.username == "manager")
        .ok_or_else(|| anyhow::anyhow!("the demo has no business manager"))?;
    let mut lent = Vec::new();
    for (i, d) in devices
        .iter()
        .filter(|d| d.status == kitroom_core::device::DeviceStatus::Available)
        .step_by(7)
        .take(20)
        .enumerate()
    {
        let borrower = borrowers[i % borrowers.len()];
        let request = kitroom_app::loans::CheckOutInput {
            borrower: borrower.username.clone(),
            due_at: Some((due + Duration::days((i % 3) as i64)).to_rfc3339()),
            purpose: (*dice.pick(&[
                "Year 5 science",
                "Reading group",
                "Reports",
                "Phonics",
                "PE lesson photos",
                "Governors' meeting",
            ]))
            .into(),
            ..Default::default()
        };
        if kitroom_app::loans::check_out(&app, lender, d.details.tag.as_str(), request)
            .await
            .is_ok()
        {
            lent.push(d.id);
        }
    }
    for id in lent.iter().step_by(3) {
        let back = kitroom_app::loans::ReturnInput {
            location: "Computer room".into(),
            battery_percent: kitroom_app::input::Number((dice.roll(90) as i64 + 5).to_string()),
            on_charge: kitroom_app::input::Flag(true),
            images_cleared: kitroom_app::input::Flag(true),
            ..Default::default()
        };
        let Some(d) = devices.iter().find(|d| d.id == *id) else {
            continue;
        };
        kitroom_app::loans::return_device(&app, lender, d.details.tag.as_str(), back)
            .await
            .map_err(|e| anyhow::anyhow!("demo return: {e}"))?;
    }
    // What people ask and report goes through the same commands as the pages.
    let app = kitroom_app::App::new(
        store.clone(),
        None,
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );
    // A teacher asks to take a laptop holding reports home.
    if let (Some(teacher), Some(laptop)) = (
        everyone.iter().find(|p| p.username == "teacher"),
        devices.iter().find(|d| {
            d.details.holds_personal_data
                && d.status == kitroom_core::device::DeviceStatus::Available
                && !lent.contains(&d.id)
        }),
    ) {
        kitroom_app::offsite::request(
            &app,
            teacher,
            laptop.details.tag.as_str(),
            kitroom_app::offsite::OffsiteInput {
                reason: "Writing end-of-term reports at home this weekend".into(),
            },
        )
        .await?;
    }
    // Two reports for the manager's desk: a lost camera (a possible breach, with
    // its deadline) and a cracked iPad screen; and a request for the head.
    let now = chrono::Utc::now();
    let reporter = everyone.iter().find(|p| p.username == "teacher");
    let camera = devices.iter().find(|d| {
        d.details.kind == kitroom_core::device::DeviceKind::Camera
            && d.status == kitroom_core::device::DeviceStatus::Available
    });
    let ipad = devices.iter().find(|d| {
        d.details.kind == kitroom_core::device::DeviceKind::Ipad
            && d.status == kitroom_core::device::DeviceStatus::Available
    });
    if let (Some(reporter), Some(camera), Some(ipad)) = (reporter, camera, ipad) {
        let loss = ReportInput {
            kind: "loss".into(),
            occurred_at: Some((now - Duration::hours(20)).to_rfc3339()),
            place: "Sports day, the school field".into(),
            description:
                "Put it down by the finish line and it was gone at the end of the afternoon.".into(),
            ..Default::default()
        };
        kitroom_app::incidents::report(&app, reporter, camera.details.tag.as_str(), loss).await?;
        let damage = ReportInput {
            kind: "damage".into(),
            occurred_at: Some((now - Duration::hours(3)).to_rfc3339()),
            place: "Year 2 classroom".into(),
            description: "Dropped from the table; the screen is cracked across one corner but it still works.".into(),
            ..Default::default()
        };
        kitroom_app::incidents::report(&app, reporter, ipad.details.tag.as_str(), damage).await?;
        let change = ChangeInput {
            what: "Scratch 3 desktop app".into(),
            why: "For the Year 5 coding club on Thursdays".into(),
        };
        kitroom_app::incidents::request_change(&app, reporter, ipad.details.tag.as_str(), change)
            .await?;
    }
    bookings(store, &manager, lender, &devices, &borrowers).await?;
    Ok(())
}

/// The school day, this year's terms and holidays, the two iPad trolleys as sets,
/// an iPad return checklist, and a few bookings of the trolleys and Chromebooks.
async fn bookings(
    store: &Store,
    manager: &kitroom_store::Actor,
    lender: &kitroom_store::people::Person,
    devices: &[kitroom_store::devices::Device],
    borrowers: &[&kitroom_store::people::Person],
) -> anyhow::Result<()> {
    use kitroom_core::booking::Target;
    let calendar = kitroom_core::calendar::CalendarInput {
        periods: "Period 1, 08:50-09:50\nPeriod 2, 09:50-10:50\nPeriod 3, 11:10-12:10\nPeriod 4, 13:10-14:10\nPeriod 5, 14:10-15:10".into(),
        terms: "Autumn term, 2026-09-03 to 2026-12-18\nSpring term, 2027-01-05 to 2027-03-26\nSummer term, 2027-04-12 to 2027-07-21".into(),
        holidays: "October half term, 2026-10-26 to 2026-10-30\nFebruary half term, 2027-02-15 to 2027-02-19\nMay bank holiday, 2027-05-03\nMay half term, 2027-05-31 to 2027-06-04".into(),
    }
    .parse()
    .map_err(|e| anyhow::anyhow!("demo calendar: {e}"))?;
    store
        .save_calendar(
            manager.clone(),
            kitroom_core::school::SchoolId::FIRST,
            calendar.clone(),
        )
        .await?;
    let mut sets = Vec::new();
    for name in ["iPad trolley A", "iPad trolley B"] {
        let new = kitroom_app::set_admin::NewSet {
            name: name.into(),
            notes: "iPads and their charging trolley".into(),
        };
        let tags: Vec<String> = devices
            .iter()
            .filter(|d| d.details.location == name)
            .map(|d| d.details.tag.to_string())
            .collect();
        let actor = manager.clone();
        let set = store
            .transaction(move |conn| {
                Box::pin(async move {
                    let now = chrono::Utc::now();
                    let set = kitroom_app::set_admin::create_in(
                        conn,
                        &actor,
                        kitroom_core::school::SchoolId::FIRST,
                        &new,
                        now,
                    )
                    .await?;
                    for tag in &tags {
                        kitroom_app::set_admin::add_device_in(
                            conn,
                            &actor,
                            SchoolId::FIRST,
                            set.id,
                            tag,
                            now,
                        )
                        .await?;
                    }
                    Ok::<_, kitroom_app::Error>(set.id)
                })
            })
            .await
            .map_err(|e| anyhow::anyhow!("demo set {name}: {e}"))?;
        sets.push(set);
    }
    // the return checklist and counted accessories, as the business manager types
    // them on their pages
    let app = kitroom_app::App::new(
        store.clone(),
        None,
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );
    let typed = std::collections::BTreeMap::from([(
        "ipad".to_owned(),
        "Charger returned?\nDoes it switch on? [damage]\nScreen undamaged? [damage]".to_owned(),
    )]);
    kitroom_app::checklists::save(&app, lender, typed)
        .await
        .map_err(|e| anyhow::anyhow!("demo checklist: {e}"))?;
    // counted accessories: chargers and styluses in the ICT room
    for (name, count) in [
        ("USB-C charger", 12),
        ("Apple Pencil", 6),
        ("HDMI cable", 4),
    ] {
        let new = kitroom_app::accessories::NewAccessoryInput {
            name: name.to_owned(),
        };
        let (id, _) = kitroom_app::accessories::create(&app, lender, new)
            .await
            .map_err(|e| anyhow::anyhow!("demo accessory: {e}"))?;
        let counted = kitroom_app::accessories::AdjustInput {
            location: "ICT room".to_owned(),
            change: kitroom_app::input::Number(count.to_string()),
            reason: "Counted for the demo".to_owned(),
        };
        kitroom_app::accessories::adjust(&app, lender, &id.to_string(), counted)
            .await
            .map_err(|e| anyhow::anyhow!("demo accessory count: {e}"))?;
    }
    // the next two school days' lessons, booked as the booking page does; a booking
    // the rules refuse is left out
    let today = kitroom_core::calendar::Calendar::day_of(chrono::Utc::now());
    let mut day = calendar.school_day_from(today + Duration::days(1));
    for round in 0..2 {
        for (i, (period, target)) in [
            ("Period 3", Target::Set(sets[0])),
            ("Period 4", Target::Set(sets[1])),
            (
                "Period 2",
                Target::Kind {
                    kind: kitroom_core::device::DeviceKind::Chromebook,
                    count: 10,
                },
            ),
        ]
        .into_iter()
        .enumerate()
        {
            let Some(p) = calendar.period(period) else {
                continue;
            };
            let (starts_at, ends_at) = calendar.period_on(p, day);
            let who = borrowers[(round * 3 + i) % borrowers.len()];
            let (set, kind, count) = match target {
                Target::Set(id) => (id.to_string(), String::new(), String::new()),
                Target::Kind { kind, count } => {
                    (String::new(), kind.as_str().to_owned(), count.to_string())
                }
                Target::Device(()) => continue,
            };
            let request = kitroom_app::bookings::BookingInput {
                set,
                kind,
                count: kitroom_app::input::Number(count),
                starts_at: Some(starts_at.to_rfc3339()),
                ends_at: Some(ends_at.to_rfc3339()),
                purpose: ["Year 5 science", "Phonics", "Year 6 coding"][i].into(),
                ..Default::default()
            };
            let _ = kitroom_app::bookings::book(&app, who, request).await;
        }
        day = calendar.school_day_from(day + Duration::days(1));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_demo_password_meets_the_password_rules_for_every_demo_account() {
        for p in people(&mut Dice(2026)) {
            assert!(
                kitroom_core::person::new_password(
                    DEMO_PASSWORD,
                    &kitroom_core::person::PasswordOwner {
                        username: &p.username,
                        full_name: &p.full_name,
                        school_name: "Hillside Primary School",
                    }
                )
                .is_ok(),
                "{}",
                p.username
            );
        }
    }
}
