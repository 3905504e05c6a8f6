-- settings are each school's: its name, when loans fall due, where devices come
-- back, charging times, reminders, return checklists, two-step sign-in for its
-- staff, token lifetimes. the few read before a school is chosen or for the whole
-- database (the sign-in choices, backups, how long leavers are kept) are the first
-- school's. internal keys (the log witness, the health probe) live with the first
-- school too, which is the default.
create table setting_of_school (
    school_id integer not null default 1,
    key text not null,
    value text not null,
    primary key (school_id, key)
) strict, without rowid;
insert into setting_of_school (school_id, key, value) select 1, key, value from setting;
drop table setting;
alter table setting_of_school rename to setting;
