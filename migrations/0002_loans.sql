-- loans: the acceptable-use policy and its signatures, the head's authorisations to
-- take personal data off site, loans themselves, and the school's settings.

create table setting (
    key text primary key,
    value text not null
) strict;

create table policy (
    id text primary key,
    title text not null,
    version_label text not null,
    issued_on text not null,
    -- markdown, rendered with raw html escaped
    body text not null,
    published_at text not null,
    published_by text references person (id)
) strict;
create unique index policy_version on policy (version_label collate nocase);
create index policy_published on policy (published_at);

-- a signature is the person's own act and is never edited or removed
create table signature (
    id text primary key,
    policy_id text not null references policy (id),
    person_id text not null references person (id),
    full_name text not null,
    position text not null,
    signed_on text not null,
    signed_at text not null
) strict;
create unique index signature_once on signature (policy_id, person_id);
create index signature_person on signature (person_id);
create trigger signature_no_update before update on signature
begin
    select raise(abort, 'a signature is never edited');
end;
create trigger signature_no_delete before delete on signature
begin
    select raise(abort, 'a signature is never removed');
end;

-- a borrower asks the head to take a device that may hold personal data off site
create table offsite_request (
    id text primary key,
    device_id text not null references device (id),
    person_id text not null references person (id),
    reason text not null,
    requested_at text not null,
    status text not null default 'pending' check (status in ('pending', 'approved', 'declined', 'used')),
    decided_by text references person (id),
    decided_at text,
    note text not null default ''
) strict;
create index offsite_request_status on offsite_request (status, requested_at);
create index offsite_request_person on offsite_request (person_id, device_id, status);

create table loan (
    id text primary key,
    device_id text not null references device (id),
    borrower_id text not null references person (id),
    issued_by text not null references person (id),
    out_at text not null,
    due_at text not null,
    purpose text not null default '',
    off_site integer not null default 0 check (off_site in (0, 1)),
    authorisation_id text references offsite_request (id),
    returned_at text,
    -- 'returned' when brought back, 'lost' when the device was reported lost on loan
    outcome text check (outcome in ('returned', 'lost')),
    return_location_id text references location (id),
    received_by text references person (id),
    return_condition text check (return_condition in ('fine', 'damaged')),
    battery_percent integer check (battery_percent between 0 and 100),
    on_charge integer check (on_charge in (0, 1)),
    images_cleared integer check (images_cleared in (0, 1)),
    check ((returned_at is null) = (outcome is null))
) strict;
-- a device is never on two open loans: the database refuses it even if two
-- check-outs race
create unique index loan_one_open_per_device on loan (device_id) where returned_at is null;
create index loan_borrower on loan (borrower_id, out_at);
create index loan_device on loan (device_id, out_at);
create index loan_open_due on loan (due_at) where returned_at is null;

-- when a returned device went on charge, so it can be marked ready after its
-- kind's charging time
alter table device add column charging_since text;
