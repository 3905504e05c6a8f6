-- incidents: damage, loss and theft reports with their data-breach assessment;
-- notes on them; in-app notifications; the email outbox; change requests.

create table incident (
    id text primary key,
    -- a short number people can quote: "incident 12"
    number integer not null unique,
    device_id text not null references device (id),
    kind text not null check (kind in ('damage', 'loss', 'theft')),
    status text not null default 'open' check (status in ('open', 'investigating', 'resolved')),
    reported_by text not null references person (id),
    reported_at text not null,
    occurred_at text not null,
    place text not null default '',
    description text not null,
    police_reference text,
    -- the facts on record when it was reported, and the assessment made from them
    device_status_before text not null,
    breach_risk text not null check (breach_risk in ('none', 'low', 'possible')),
    breach_reason text not null,
    decide_by text,
    breach_reportable integer check (breach_reportable in (0, 1)),
    breach_decision_reason text,
    breach_decided_by text references person (id),
    breach_decided_at text,
    resolution text check (resolution in ('repaired', 'recovered', 'written_off')),
    cost_pence integer check (cost_pence >= 0),
    claim_reference text not null default '',
    resolved_at text,
    resolved_by text references person (id)
) strict;
create index incident_status on incident (status, reported_at);
create index incident_device on incident (device_id, reported_at);
create index incident_reporter on incident (reported_by, reported_at);
create index incident_pending_decision on incident (decide_by) where decide_by is not null and breach_decided_at is null;

create table incident_note (
    id text primary key,
    incident_id text not null references incident (id),
    at text not null,
    author text not null references person (id),
    body text not null
) strict;
create index incident_note_incident on incident_note (incident_id, at);

-- what a person should look at: a count on every page and a list
create table notification (
    id text primary key,
    person_id text not null references person (id),
    created_at text not null,
    body text not null,
    link text not null,
    read_at text
) strict;
create index notification_unread on notification (person_id, created_at) where read_at is null;

-- email waiting to be sent: written in the same transaction as what it reports, so
-- it is never lost; a background task sends it and retries with back-off
create table outbox (
    id text primary key,
    created_at text not null,
    to_address text not null,
    subject text not null,
    body text not null,
    attempts integer not null default 0,
    next_attempt_at text not null,
    sent_at text,
    last_error text
) strict;
create index outbox_due on outbox (next_attempt_at) where sent_at is null;

create table change_request (
    id text primary key,
    device_id text not null references device (id),
    person_id text not null references person (id),
    what text not null,
    why text not null,
    requested_at text not null,
    status text not null default 'pending' check (status in ('pending', 'approved', 'declined')),
    decided_by text references person (id),
    decided_at text,
    note text not null default ''
) strict;
create index change_request_status on change_request (status, requested_at);
create index change_request_device on change_request (device_id, requested_at);
