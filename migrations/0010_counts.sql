-- How many devices there are of each kind, status, location and encryption state,
-- kept in step with the register by triggers (docs/performance.md). The device list
-- counts its matches from here instead of reading tens of thousands of index entries
-- on every page view; a search still counts the devices themselves.
create table device_tally (
    kind text not null,
    status text not null,
    location_id text not null,
    encryption_state text not null,
    devices integer not null check (devices >= 0),
    primary key (kind, status, location_id, encryption_state)
) strict, without rowid;

insert into device_tally (kind, status, location_id, encryption_state, devices)
select kind, status, location_id, encryption_state, count(*)
from device group by kind, status, location_id, encryption_state;

create trigger device_tally_insert after insert on device begin
    insert into device_tally (kind, status, location_id, encryption_state, devices)
    values (new.kind, new.status, new.location_id, new.encryption_state, 1)
    on conflict (kind, status, location_id, encryption_state) do update set devices = devices + 1;
end;

create trigger device_tally_delete after delete on device begin
    update device_tally set devices = devices - 1
    where kind = old.kind and status = old.status and location_id = old.location_id
        and encryption_state = old.encryption_state;
end;

create trigger device_tally_update after update of kind, status, location_id, encryption_state on device
when old.kind <> new.kind or old.status <> new.status or old.location_id <> new.location_id
    or old.encryption_state <> new.encryption_state
begin
    update device_tally set devices = devices - 1
    where kind = old.kind and status = old.status and location_id = old.location_id
        and encryption_state = old.encryption_state;
    insert into device_tally (kind, status, location_id, encryption_state, devices)
    values (new.kind, new.status, new.location_id, new.encryption_state, 1)
    on conflict (kind, status, location_id, encryption_state) do update set devices = devices + 1;
end;

-- The manager's desk lists devices found missing when a set came back: found from
-- the few loans marked so, not by reading the loans of every lost device.
create index loan_missing_on_return on loan (device_id) where missing_on_return = 1;
