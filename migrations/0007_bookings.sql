-- bookings: the school calendar, sets and trolleys lent as one, and bookings of
-- devices, sets and "any N of a kind" for a period or a time range.

-- the admin's calendar: the periods of the day (times as HH:MM, London time) and
-- the terms and holidays (dates as YYYY-MM-DD, first and last day included)
create table calendar_entry (
    id integer primary key,
    kind text not null check (kind in ('period', 'term', 'holiday')),
    name text not null,
    starts text not null,
    ends text not null
) strict;

-- a loan asked to be due when the school is shut is moved to the next school day;
-- the time asked for and the reason are kept so the borrower is told
alter table loan add column due_moved_from text;
alter table loan add column due_moved_reason text;

-- a set (a trolley of iPads, a class set of Chromebooks): devices lent as one
create table kit (
    id text primary key,
    name text not null,
    notes text not null default '',
    created_at text not null
) strict;
create unique index kit_name on kit (name collate nocase);

-- a device belongs to one set at most
create table kit_device (
    kit_id text not null references kit (id),
    device_id text not null references device (id),
    primary key (kit_id, device_id)
) strict;
create unique index kit_device_once on kit_device (device_id);

-- one check-out of a set: one loan per device that went, all pointing here
create table loan_group (
    id text primary key,
    kit_id text not null references kit (id),
    borrower_id text not null references person (id),
    issued_by text not null references person (id),
    out_at text not null,
    due_at text not null,
    purpose text not null default '',
    returned_at text,
    received_by text references person (id)
) strict;
-- a set is out once at a time, even if two check-outs race
create unique index loan_group_one_open_per_kit on loan_group (kit_id) where returned_at is null;
create index loan_group_borrower on loan_group (borrower_id, out_at);

alter table loan add column group_id text references loan_group (id);
-- the device did not come back when its set was returned (a loss report was opened)
alter table loan add column missing_on_return integer not null default 0 check (missing_on_return in (0, 1));
create index loan_group_member on loan (group_id) where group_id is not null;

-- a booking: of one device, of a set, or of any `count` devices of a kind, from
-- `starts_at` to `ends_at`. Collecting it makes a loan (one device) or a set loan.
create table booking (
    id text primary key,
    person_id text not null references person (id),
    made_by text not null references person (id),
    device_id text references device (id),
    kit_id text references kit (id),
    kind text check (kind in ('ipad', 'tablet', 'laptop', 'chromebook', 'desktop', 'camera', 'phone', 'other')),
    count integer not null default 1 check (count between 1 and 200),
    starts_at text not null,
    ends_at text not null,
    purpose text not null default '',
    status text not null default 'booked' check (status in ('booked', 'collected', 'cancelled', 'released')),
    created_at text not null,
    closed_at text,
    loan_id text references loan (id),
    group_id text references loan_group (id),
    check (ends_at > starts_at),
    check ((device_id is not null) + (kit_id is not null) + (kind is not null) = 1)
) strict;
create index booking_person on booking (person_id, starts_at);
create index booking_open on booking (status, starts_at);

-- the devices a booking holds for its time: the device itself, the set's devices,
-- or the devices of the kind chosen when it was made. Rows go when the booking is
-- cancelled or released, so every row here is a slot taken.
create table booking_device (
    booking_id text not null references booking (id),
    device_id text not null references device (id),
    starts_at text not null,
    ends_at text not null,
    primary key (booking_id, device_id)
) strict;
create index booking_device_slot on booking_device (device_id, starts_at);

-- a person's calendar feed: the secret in the feed's address, stored hashed
create table calendar_feed (
    person_id text primary key references person (id),
    token_hash text not null,
    created_at text not null
) strict;
create unique index calendar_feed_token on calendar_feed (token_hash);

-- email reminders sent about a loan, so each is sent once
create table loan_reminder (
    loan_id text not null references loan (id),
    kind text not null check (kind in ('due_soon', 'overdue')),
    sent_at text not null,
    primary key (loan_id, kind)
) strict;

-- the database refuses a device held by two bookings at overlapping times, even if
-- the app's own check were bypassed (times are RFC 3339 UTC text of one width, so
-- they compare as text)
create trigger booking_device_no_overlap before insert on booking_device
when exists (
    select 1 from booking_device b
    where b.device_id = new.device_id and b.starts_at < new.ends_at and new.starts_at < b.ends_at
)
begin
    select raise(abort, 'a device is booked twice at once');
end;
