-- the acceptable-use policy is each school's: its versions, and so who has signed
-- the one in force there. a version label is unique within its school.
alter table policy add column school_id integer not null default 1;
drop index policy_version;
create unique index policy_version on policy (school_id, version_label collate nocase);
drop index policy_published;
create index policy_published on policy (school_id, published_at);
