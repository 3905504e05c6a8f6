-- recent failed sign-ins (a wrong password or a wrong second-step code), so the
-- throttle survives a restart. the rules live in core (kitroom_core::throttle); this
-- is only their memory. scope is what is counted: 'pair' (key: the account's
-- username, a newline, the address), 'account' (key: the username) or 'address'.
-- forget_at is when the row stops mattering (core decides it): stale rows are
-- deleted as new failures arrive, and the table is capped (the oldest rows go
-- first), so a flood of made-up usernames cannot grow it without bound.
create table sign_in_failure (
    scope text not null check (scope in ('pair', 'account', 'address')),
    key text not null,
    count integer not null,
    since text not null,
    last text not null,
    forget_at text not null,
    primary key (scope, key)
) strict;

create index sign_in_failure_forget_at on sign_in_failure (forget_at);
create index sign_in_failure_last on sign_in_failure (last);
