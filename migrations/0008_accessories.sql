-- accessories: chargers, cables, styluses, cases and memory cards, counted per
-- location rather than tagged one by one, and lent with a loan or a set's loan.

-- a type of accessory ("USB-C charger")
create table accessory (
    id text primary key,
    name text not null,
    created_at text not null
) strict;
create unique index accessory_name on accessory (name collate nocase);

-- how many of a type are at a location; never fewer than none
create table accessory_stock (
    id integer primary key,
    accessory_id text not null references accessory (id),
    location_id text not null references location (id),
    count integer not null check (count >= 0),
    unique (accessory_id, location_id)
) strict;

-- accessories that went out with a loan (one device) or a set's loan, taken from
-- one stock row and put back there; `count_back` is set on return, and fewer back
-- than went out is an accessory not returned
create table loan_accessory (
    id integer primary key,
    loan_id text references loan (id),
    group_id text references loan_group (id),
    stock_id integer not null references accessory_stock (id),
    count_out integer not null check (count_out > 0),
    count_back integer check (count_back between 0 and count_out),
    returned_at text,
    check ((loan_id is not null) + (group_id is not null) = 1)
) strict;
create index loan_accessory_loan on loan_accessory (loan_id) where loan_id is not null;
create index loan_accessory_group on loan_accessory (group_id) where group_id is not null;
create index loan_accessory_short on loan_accessory (returned_at) where count_back < count_out;
