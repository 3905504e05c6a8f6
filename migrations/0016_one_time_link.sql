-- One-time links sent by email (issue 16): an invitation to choose a first password
-- (valid 7 days) or a forgotten password's reset (valid 1 hour). Only the SHA-256 of
-- the random token is kept, so a copy of the database hands out no live link. A link
-- is used once: used_at is set in the same transaction that sets the password; a
-- newer link of the same purpose for the same person voids the older ones (used_at
-- set, voided = 1). The rules (lifetimes, what a used or expired link means) are
-- kitroom_core::one_time's.
create table one_time_link (
    token_hash text primary key,
    purpose text not null check (purpose in ('invite', 'reset')),
    person_id text not null references person (id) on delete cascade,
    -- who sent an invitation ('' for a reset the person asked for)
    created_by text not null default '',
    created_at text not null,
    expires_at text not null,
    used_at text,
    voided integer not null default 0
) strict;

create index one_time_link_person on one_time_link (person_id, purpose);
