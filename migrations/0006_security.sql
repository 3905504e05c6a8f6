-- account security and retention: two-step sign-in, recovery codes, when a person
-- left, and an activity log whose personal details can be erased without breaking
-- its hash chain.

-- a person's authenticator (totp) secret. the secret is sealed with
-- xchacha20-poly1305 under a key kept outside the database (kitroom.key in the data
-- directory), so a copy of the database alone does not reveal it. the person's id is
-- the sealed text's associated data: a sealed secret copied to another row does not
-- open. confirmed_at is null while the person is still setting it up. last_step is
-- the last 30-second step whose code was accepted, so a code works only once.
create table two_factor (
    person_id text primary key references person (id) on delete cascade,
    sealed_secret text not null,
    created_at text not null,
    confirmed_at text,
    last_step integer not null default 0
) strict;

-- one-time recovery codes: sha-256 of the person's id and the code (80 random bits,
-- so no slow hash is needed); used_at is set when one is spent.
create table recovery_code (
    person_id text not null references person (id) on delete cascade,
    code_hash text not null,
    used_at text,
    primary key (person_id, code_hash)
) strict;

-- when a person was deactivated (left), for the retention period; and when their
-- personal details were anonymised after it.
alter table person add column left_at text;
alter table person add column anonymised_at text;
update person set left_at = updated_at where active = 0;

-- events from now on (hash_version 2) keep personal details out of the chain's own
-- hash: actor, subject_label and details are hashed separately as personal_hash
-- (sha-256 with a random per-event salt, so a guessed name cannot be confirmed
-- against it), and the chain hash covers personal_hash. erasing a person's details
-- replaces that text and clears the salt, leaving personal_hash and hash untouched:
-- the chain still verifies. version 1 events (before this migration) hash the text
-- directly and are never rewritten.
alter table event add column hash_version integer not null default 1 check (hash_version in (1, 2));
alter table event add column salt text;
alter table event add column personal_hash text;

-- the log stays append-only, except that a version 2 event's personal text may be
-- replaced and its salt cleared, once, with nothing else changing.
drop trigger event_no_update;
create trigger event_no_update before update on event
when not (
    old.hash_version = 2 and old.salt is not null and new.salt is null
    and new.hash_version = 2
    and new.seq = old.seq and new.at = old.at and new.action = old.action
    and new.subject = old.subject and new.actor_id is old.actor_id
    and new.prev_hash = old.prev_hash and new.hash = old.hash
    and new.personal_hash = old.personal_hash
)
begin
    select raise(abort, 'the activity log is append-only');
end;

-- a signature is never edited, except that the name and position typed in it are
-- replaced when the signer's personal details are anonymised after they left.
drop trigger signature_no_update;
create trigger signature_no_update before update on signature
when not (
    new.id = old.id and new.policy_id = old.policy_id and new.person_id = old.person_id
    and new.signed_on = old.signed_on and new.signed_at = old.signed_at
    and (select anonymised_at from person where id = old.person_id) is not null
)
begin
    select raise(abort, 'a signature is never edited');
end;
