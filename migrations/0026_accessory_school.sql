-- accessory types belong to a school, as the rooms their counts are kept in do: a
-- type's name is unique within its school.
alter table accessory add column school_id integer not null default 1;
drop index accessory_name;
create unique index accessory_name on accessory (school_id, name collate nocase);
