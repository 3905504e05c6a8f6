-- auditing: stocktakes (what was seen where, and the result frozen when closed)
-- and disposals.

create table stocktake (
    id text primary key,
    number integer not null unique,
    -- null: the whole school
    location_id text references location (id),
    opened_by text not null references person (id),
    opened_at text not null,
    closed_by text references person (id),
    closed_at text
) strict;
-- at most one open stocktake per scope, so scanners cannot split across two
create unique index stocktake_one_open on stocktake (coalesce(location_id, '')) where closed_at is null;

-- a device seen, once per stocktake, whoever scans it first
create table stocktake_mark (
    stocktake_id text not null references stocktake (id),
    device_id text not null references device (id),
    seen_location_id text not null references location (id),
    seen_by text not null references person (id),
    seen_at text not null,
    primary key (stocktake_id, device_id)
) strict;

-- the result, frozen at closing so later moves do not rewrite history
create table stocktake_result (
    stocktake_id text not null references stocktake (id),
    device_id text not null references device (id),
    outcome text not null check (outcome in ('seen', 'seen_elsewhere', 'on_loan', 'missing')),
    home_location_id text not null references location (id),
    seen_location_id text references location (id),
    primary key (stocktake_id, device_id)
) strict;
create index stocktake_result_outcome on stocktake_result (stocktake_id, outcome);

create table disposal (
    device_id text primary key references device (id),
    authorised_by text not null,
    disposed_on text not null,
    method text not null check (method in ('recycled', 'sold', 'donated', 'destroyed', 'returned_to_lessor')),
    recipient text not null,
    recipient_reference text not null default '',
    wipe_evidence text,
    recorded_by text references person (id),
    recorded_at text not null
) strict;
create index disposal_date on disposal (disposed_on);
