-- the foundation: people and their sessions and tokens, locations, devices and the
-- activity log. times are rfc 3339 utc text, dates are yyyy-mm-dd text, money is
-- integer pence, ids are uuid text. tables are strict so a wrong type is refused.

create table person (
    id text primary key,
    username text not null,
    full_name text not null,
    email text,
    position text not null default '',
    kind text not null check (kind in ('staff', 'governor', 'volunteer', 'visitor')),
    role text not null check (role in ('borrower', 'manager', 'head', 'admin')),
    active integer not null default 1 check (active in (0, 1)),
    -- argon2id phc string; null means the person cannot sign in yet
    password_hash text,
    created_at text not null,
    updated_at text not null
) strict;
-- usernames are stored lower-case by the domain; nocase keeps the rule in the database too
create unique index person_username on person (username collate nocase);
create index person_name on person (full_name collate nocase);

-- server-side sessions (tower-sessions records). the id is stored hashed, so a copy
-- of the database does not hand out live sessions. person_id lets deactivation end
-- every session of that person in the same transaction.
create table session (
    id_hash text primary key,
    person_id text references person (id) on delete cascade,
    data text not null,
    expires_at integer not null
) strict;
create index session_person on session (person_id);
create index session_expiry on session (expires_at);

-- personal api tokens; only a sha-256 of the token is kept
create table api_token (
    id text primary key,
    person_id text not null references person (id) on delete cascade,
    name text not null,
    token_hash text not null unique,
    created_at text not null,
    last_used_at text,
    revoked_at text
) strict;
create index api_token_person on api_token (person_id);

create table location (
    id text primary key,
    name text not null,
    created_at text not null
) strict;
create unique index location_name on location (name collate nocase);

create table device (
    id text primary key,
    tag text not null,
    kind text not null check (kind in ('ipad', 'tablet', 'laptop', 'chromebook', 'desktop', 'camera', 'phone', 'other')),
    make text not null default '',
    model text not null default '',
    serial text not null default '',
    location_id text not null references location (id),
    status text not null default 'available'
        check (status in ('available', 'on_loan', 'returned_charging', 'in_repair', 'lost', 'retired')),
    condition text not null default 'good' check (condition in ('good', 'fair', 'poor', 'damaged')),
    purchased_on text,
    cost_pence integer check (cost_pence >= 0),
    supplier text not null default '',
    warranty_until text,
    notes text not null default '',
    encryption_state text not null default 'unknown'
        check (encryption_state in ('encrypted', 'not_encrypted', 'unknown')),
    encryption_method text check (encryption_method in ('bitlocker', 'filevault', 'chromeos', 'ipados', 'other')),
    encryption_verified_on text,
    encryption_verified_by text references person (id),
    passcode_enforced integer not null default 0 check (passcode_enforced in (0, 1)),
    holds_personal_data integer not null default 0 check (holds_personal_data in (0, 1)),
    captures_images integer not null default 0 check (captures_images in (0, 1)),
    last_audited_on text,
    created_at text not null,
    updated_at text not null
) strict;
-- one tag per device, whatever the case: a label reads the same either way
create unique index device_tag on device (tag collate nocase);
create index device_serial on device (serial collate nocase) where serial <> '';
create index device_status on device (status, tag collate nocase);
create index device_kind on device (kind, tag collate nocase);
create index device_location on device (location_id, tag collate nocase);
create index device_encryption on device (encryption_state, tag collate nocase);

-- the activity log. seq is the rowid: assigned in commit order by the one writer.
-- subject is 'kind:key' (device:<id>, person:<id>, location:<id>); subject_label is
-- the human name at the time (tag, username), kept so the log reads well after renames.
create table event (
    seq integer primary key,
    at text not null,
    actor_id text references person (id),
    actor text not null,
    action text not null,
    subject text not null,
    subject_label text not null,
    details text not null,
    prev_hash text not null,
    hash text not null
) strict;
create index event_subject on event (subject, seq);
create index event_actor on event (actor_id, seq);
create index event_at on event (at);

-- the log is append-only. these triggers stop accidental edits through the app or a
-- careless sql session; deliberate tampering is caught by the hash chain.
create trigger event_no_update before update on event
begin
    select raise(abort, 'the activity log is append-only');
end;
create trigger event_no_delete before delete on event
begin
    select raise(abort, 'the activity log is append-only');
end;
