-- the addresses each account last signed in from in full (the password and, where
-- it is set up, the second step). when guessers elsewhere reach the account's hourly
-- ceiling of failures (kitroom_core::throttle), its owner can still sign in from
-- these places. key: the username and the address. each account keeps only its
-- latest few (kitroom_core::throttle::KNOWN_PLACES), and rows older than
-- KNOWN_FOR are deleted as sign-ins arrive, so the table stays small.
create table sign_in_known (
    username text not null,
    address text not null,
    last text not null,
    primary key (username, address)
) strict;

create index sign_in_known_last on sign_in_known (last);
