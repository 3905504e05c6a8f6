-- sets belong to a school, like the devices in them: a set's name is unique within
-- its school (two schools may each have "Trolley A").
alter table kit add column school_id integer not null default 1;
drop index kit_name;
create unique index kit_name on kit (school_id, name collate nocase);
