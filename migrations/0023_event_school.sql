-- the activity log, school by school: each event names the school it happened in
-- (the school the person acted in, or the school of the device, room or person it
-- is about), so a school's managers read their own school's log. null: the whole
-- deployment (a school added at the command line). the events already here are the
-- first school's: a constant default, so the million-event table is not rewritten.
-- the school is not part of the hash chain, which stays one for the deployment.
alter table event add column school_id integer default 1;
create index event_school on event (school_id, seq);
