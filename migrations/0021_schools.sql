-- schools: a trust's kitroom holds several schools in one database (issue 19). each
-- record a school owns carries its school, and every query of such a record names the
-- school it asks in. the data already here is the first school, id 1, so a deployment
-- with one school goes on exactly as before.

create table school (
    id integer primary key,
    -- the short name given at the command line: `kitroom user add … --school SLUG`
    slug text not null check (length(slug) between 1 and 40),
    name text not null,
    created_at text not null
) strict;
create unique index school_slug on school (slug);

insert into school (id, slug, name, created_at)
values (
    1,
    'main',
    coalesce((select value from setting where key = 'school_name'), 'Our school'),
    strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
);

-- the register first: locations and devices. sqlite adds a column with a constant
-- default without rewriting the table; it refuses a references clause on such a
-- column while foreign keys are on, so the school is checked by the store, which
-- never removes a school.
alter table location add column school_id integer not null default 1;
alter table device add column school_id integer not null default 1;

-- names and tags are unique within a school: two schools may both have a "LAP-001"
-- and a "Library". every index a list or a count reads starts with the school, so
-- one school's page never reads another's rows.
drop index location_name;
create unique index location_name on location (school_id, name collate nocase);
drop index device_tag;
create unique index device_tag on device (school_id, tag collate nocase);
drop index device_serial;
create index device_serial on device (school_id, serial collate nocase) where serial <> '';
drop index device_status;
create index device_status on device (school_id, status, tag collate nocase);
drop index device_kind;
create index device_kind on device (school_id, kind, status, tag collate nocase);
drop index device_encryption;
create index device_encryption on device (school_id, encryption_state, tag collate nocase);
drop index device_encryption_check;
create index device_encryption_check on device (school_id, encryption_state, encryption_verified_on)
    where status <> 'retired';
drop index device_kind_listed;
create index device_kind_listed on device (school_id, kind, tag collate nocase) where status <> 'retired';

-- the tallies the lists and the desk count from (0010_counts, 0019_desk_counts) are
-- kept per school: built again from the register with the school in their keys.
drop trigger device_tally_insert;
drop trigger device_tally_delete;
drop trigger device_tally_update;
drop table device_tally;
create table device_tally (
    school_id integer not null,
    kind text not null,
    status text not null,
    location_id text not null,
    encryption_state text not null,
    devices integer not null check (devices >= 0),
    primary key (school_id, kind, status, location_id, encryption_state)
) strict, without rowid;

insert into device_tally (school_id, kind, status, location_id, encryption_state, devices)
select school_id, kind, status, location_id, encryption_state, count(*)
from device group by school_id, kind, status, location_id, encryption_state;

create trigger device_tally_insert after insert on device begin
    insert into device_tally (school_id, kind, status, location_id, encryption_state, devices)
    values (new.school_id, new.kind, new.status, new.location_id, new.encryption_state, 1)
    on conflict (school_id, kind, status, location_id, encryption_state)
    do update set devices = devices + 1;
end;

create trigger device_tally_delete after delete on device begin
    update device_tally set devices = devices - 1
    where school_id = old.school_id and kind = old.kind and status = old.status
        and location_id = old.location_id and encryption_state = old.encryption_state;
end;

create trigger device_tally_update
after update of school_id, kind, status, location_id, encryption_state on device
when old.school_id <> new.school_id or old.kind <> new.kind or old.status <> new.status
    or old.location_id <> new.location_id or old.encryption_state <> new.encryption_state
begin
    update device_tally set devices = devices - 1
    where school_id = old.school_id and kind = old.kind and status = old.status
        and location_id = old.location_id and encryption_state = old.encryption_state;
    insert into device_tally (school_id, kind, status, location_id, encryption_state, devices)
    values (new.school_id, new.kind, new.status, new.location_id, new.encryption_state, 1)
    on conflict (school_id, kind, status, location_id, encryption_state)
    do update set devices = devices + 1;
end;

drop trigger device_encryption_tally_insert;
drop trigger device_encryption_tally_delete;
drop trigger device_encryption_tally_update;
drop table device_encryption_tally;
create table device_encryption_tally (
    school_id integer not null,
    verified_on text not null,
    devices integer not null check (devices >= 0),
    primary key (school_id, verified_on)
) strict, without rowid;

insert into device_encryption_tally (school_id, verified_on, devices)
select school_id, coalesce(encryption_verified_on, ''), count(*)
from device where status <> 'retired' and encryption_state = 'encrypted'
group by school_id, coalesce(encryption_verified_on, '');

create trigger device_encryption_tally_insert after insert on device
when new.status <> 'retired' and new.encryption_state = 'encrypted'
begin
    insert into device_encryption_tally (school_id, verified_on, devices)
    values (new.school_id, coalesce(new.encryption_verified_on, ''), 1)
    on conflict (school_id, verified_on) do update set devices = devices + 1;
end;

create trigger device_encryption_tally_delete after delete on device
when old.status <> 'retired' and old.encryption_state = 'encrypted'
begin
    update device_encryption_tally set devices = devices - 1
    where school_id = old.school_id and verified_on = coalesce(old.encryption_verified_on, '');
end;

create trigger device_encryption_tally_update
after update of school_id, status, encryption_state, encryption_verified_on on device
when (old.status <> 'retired' and old.encryption_state = 'encrypted')
        <> (new.status <> 'retired' and new.encryption_state = 'encrypted')
    or (new.status <> 'retired' and new.encryption_state = 'encrypted'
        and (old.encryption_verified_on is not new.encryption_verified_on
            or old.school_id <> new.school_id))
begin
    update device_encryption_tally set devices = devices - 1
    where school_id = old.school_id and verified_on = coalesce(old.encryption_verified_on, '')
        and old.status <> 'retired' and old.encryption_state = 'encrypted';
    insert into device_encryption_tally (school_id, verified_on, devices)
    select new.school_id, coalesce(new.encryption_verified_on, ''), 1
    where new.status <> 'retired' and new.encryption_state = 'encrypted'
    on conflict (school_id, verified_on) do update set devices = devices + 1;
end;

-- stocktakes: each is one school's, and at most one is open per scope within a
-- school. numbers stay unique across the trust (`number` is a unique column, and
-- sqlite cannot drop that without rebuilding a table others point to).
alter table stocktake add column school_id integer not null default 1;
drop index stocktake_one_open;
create unique index stocktake_one_open on stocktake (school_id, coalesce(location_id, ''))
    where closed_at is null;
create index stocktake_school on stocktake (school_id, number);

-- reports of damage, loss or theft, and requests to change a device: each is the
-- school's whose device it was when it was made, so a device moved to another
-- school later leaves its history (and its costs) with the school it happened in.
-- numbers stay unique across the trust, as stocktakes' do.
alter table incident add column school_id integer not null default 1;
create index incident_school on incident (school_id, reported_at);
alter table change_request add column school_id integer not null default 1;
create index change_request_school on change_request (school_id, status, requested_at);

-- loans and requests to take a device off site: each is the school's whose device
-- it was when it was made, like incidents.
alter table loan add column school_id integer not null default 1;
drop index loan_open_due;
create index loan_open_due on loan (school_id, due_at) where returned_at is null;
create index loan_school on loan (school_id, out_at);
alter table offsite_request add column school_id integer not null default 1;
drop index offsite_request_status;
create index offsite_request_status on offsite_request (school_id, status, requested_at);
