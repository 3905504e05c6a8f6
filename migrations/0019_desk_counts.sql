-- The manager's desk and a device's page show the same amount however large the
-- register (docs/performance.md, "The device page and the desk at scale").

-- The desk counts encrypted devices not checked for a year. The range of the
-- `device_encryption_check` index it read holds every encrypted device (the
-- "or never checked" half stops a seek on the date), 77,000 entries at 100,000
-- devices. This tally keeps how many encrypted devices in use were last checked on
-- each day ('' for never), so the count adds up one row per day instead.
create table device_encryption_tally (
    verified_on text not null primary key,
    devices integer not null check (devices >= 0)
) strict, without rowid;

insert into device_encryption_tally (verified_on, devices)
select coalesce(encryption_verified_on, ''), count(*)
from device where status <> 'retired' and encryption_state = 'encrypted'
group by coalesce(encryption_verified_on, '');

create trigger device_encryption_tally_insert after insert on device
when new.status <> 'retired' and new.encryption_state = 'encrypted'
begin
    insert into device_encryption_tally (verified_on, devices)
    values (coalesce(new.encryption_verified_on, ''), 1)
    on conflict (verified_on) do update set devices = devices + 1;
end;

create trigger device_encryption_tally_delete after delete on device
when old.status <> 'retired' and old.encryption_state = 'encrypted'
begin
    update device_encryption_tally set devices = devices - 1
    where verified_on = coalesce(old.encryption_verified_on, '');
end;

-- A check-out or return changes the status between two states in use: the `when`
-- is false and nothing is written.
create trigger device_encryption_tally_update
after update of status, encryption_state, encryption_verified_on on device
when (old.status <> 'retired' and old.encryption_state = 'encrypted')
        <> (new.status <> 'retired' and new.encryption_state = 'encrypted')
    or (new.status <> 'retired' and new.encryption_state = 'encrypted'
        and old.encryption_verified_on is not new.encryption_verified_on)
begin
    update device_encryption_tally set devices = devices - 1
    where verified_on = coalesce(old.encryption_verified_on, '')
        and old.status <> 'retired' and old.encryption_state = 'encrypted';
    insert into device_encryption_tally (verified_on, devices)
    select coalesce(new.encryption_verified_on, ''), 1
    where new.status <> 'retired' and new.encryption_state = 'encrypted'
    on conflict (verified_on) do update set devices = devices + 1;
end;
