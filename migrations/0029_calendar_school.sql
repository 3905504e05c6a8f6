-- the school calendar (periods, terms, holidays) is each school's: when loans fall
-- due and what a booking's period means depend on the school's own day.
alter table calendar_entry add column school_id integer not null default 1;
create index calendar_entry_school on calendar_entry (school_id, id);
