//! Charging: devices back on charge, and marking them ready to lend, one at a time
//! or all those at a location at once (a trolley put back), for the charging page
//! and the API alike. The move is the status machine's `mark_ready`.

use chrono::{DateTime, Duration, Utc};
use kitroom_core::device::{DeviceStatus, StatusChange};
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::settings::Settings;
use kitroom_store::devices::{get_device, Device, DeviceFilter};
use kitroom_store::locations::Location;
use kitroom_store::people::Person;
use kitroom_store::Actor;
use serde_json::json;
use uuid::Uuid;

use crate::{App, Error, Refusal};

fn may_charge(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::LendToAnyone) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

/// What is on charge, with the places and the charging times by kind.
#[derive(Debug, Clone)]
pub struct Charging {
    pub devices: Vec<Device>,
    pub locations: Vec<Location>,
    pub settings: Settings,
}

impl Charging {
    /// The minutes a device of this kind charges for before it is ready by itself.
    pub fn minutes_for(&self, d: &Device) -> u32 {
        self.settings.charge_minutes_for(d.details.kind)
    }
}

/// The devices on charge, for those who lend to anyone.
pub async fn on_charge(app: &App, caller: &Person) -> Result<Charging, Error> {
    may_charge(caller)?;
    let filter = DeviceFilter {
        status: Some(DeviceStatus::ReturnedCharging),
        per_page: 200,
        ..Default::default()
    };
    Ok(Charging {
        devices: app
            .store()
            .list_devices(caller.school, &filter)
            .await?
            .items,
        locations: app.store().list_locations(caller.school).await?,
        settings: app.store().settings(caller.school).await?,
    })
}

/// Marks ready, as the system, every device that has been on charge for its kind's
/// charging time (the housekeeping sweep); how many.
pub async fn mark_charged_ready(
    app: &App,
    school: SchoolId,
    settings: Settings,
    now: DateTime<Utc>,
) -> Result<u64, Error> {
    // Which devices have charged long enough, read from a reader: after a busy
    // day there can be thousands, and the one writer must not be held for them all.
    let due: Vec<Uuid> = app
        .store()
        .on_charge_since(school)
        .await?
        .into_iter()
        .filter(|(_, kind, since)| {
            *since + Duration::minutes(settings.charge_minutes_for(*kind).into()) <= now
        })
        .map(|(id, _, _)| id)
        .collect();
    let mut n = 0;
    // Two at a time: each batch is one short write, about as long as a check-out,
    // and check-outs queued meanwhile go in between. (Ten at a time held the
    // writer 12-20 ms a batch: at 200 writes a second, a sweep of 1,104 devices
    // set the write p99.)
    for batch in due.chunks(READY_BATCH) {
        let batch = batch.to_vec();
        let settings = settings.clone();
        n += app
            .store()
            .transaction(move |conn| {
                Box::pin(async move {
                    let mut n = 0;
                    for id in batch {
                        // Lent, moved or marked ready since it was read, or back on
                        // charge from a later loan: left alone.
                        let Some(since) = kitroom_store::loans::charging_since_in(conn, id).await?
                        else {
                            continue;
                        };
                        let device = get_device(conn, id).await?;
                        let minutes = settings.charge_minutes_for(device.details.kind);
                        if since + Duration::minutes(minutes.into()) > now {
                            continue;
                        }
                        let note = format!("charged for {minutes} minutes");
                        crate::devices::move_in(
                            conn,
                            &Actor::system(),
                            &device,
                            StatusChange::MarkReady,
                            json!({ "note": note }),
                            now,
                        )
                        .await?;
                        n += 1;
                    }
                    Ok::<_, Error>(n)
                })
            })
            .await?;
    }
    Ok(n)
}

/// How many charged devices one write marks ready.
const READY_BATCH: usize = 2;

/// Marks the device `tag` ready to lend (from on charge), as `caller`.
pub async fn mark_ready(app: &App, caller: &Person, tag: &str) -> Result<Device, Error> {
    may_charge(caller)?;
    let device = crate::devices::device(app, caller.school, tag).await?;
    crate::devices::move_device(app, caller, device, StatusChange::MarkReady, String::new()).await
}

/// Devices marked ready at a location.
#[derive(Debug, Clone)]
pub struct MarkedReady {
    pub location: String,
    pub devices: Vec<String>,
}

/// Marks ready every device on charge whose home is `location` (its id, or its
/// name whatever the case), as `caller`: the trolley is back and charged.
pub async fn mark_location_ready(
    app: &App,
    caller: &Person,
    location: &str,
) -> Result<MarkedReady, Error> {
    may_charge(caller)?;
    let wanted = location.trim();
    let id = Uuid::parse_str(wanted).ok();
    let place = app
        .store()
        .list_locations(caller.school)
        .await?
        .into_iter()
        .find(|l| Some(l.id) == id || l.name.eq_ignore_ascii_case(wanted))
        .ok_or_else(|| Refusal::not_found("That location"))?;
    let actor = caller.actor();
    let id = place.id;
    let devices = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let mut done = Vec::new();
                for id in kitroom_store::loans::charging_at_in(conn, id).await? {
                    let device = get_device(conn, id).await?;
                    crate::devices::move_in(
                        conn,
                        &actor,
                        &device,
                        StatusChange::MarkReady,
                        json!({"note": "marked ready with the rest of its location"}),
                        now,
                    )
                    .await?;
                    done.push(device.details.tag.to_string());
                }
                Ok::<_, Error>(done)
            })
        })
        .await?;
    Ok(MarkedReady {
        location: place.name,
        devices,
    })
}
