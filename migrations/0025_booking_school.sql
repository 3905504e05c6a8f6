-- bookings belong to a school, like the devices and sets they hold: a school's
-- calendar and lists show its own. (the devices a booking holds are found by
-- device, so holds need no school of their own.)
alter table booking add column school_id integer not null default 1;
create index booking_school on booking (school_id, starts_at);
