-- memberships: a person holds a role school by school (a teacher at two schools, a
-- manager at one), and the trust's own staff hold a trust role that reaches every
-- school. the account itself (username, password, two-step sign-in, active) stays one
-- for the whole trust. every role held today becomes a role in the first school.

create table membership (
    person_id text not null references person (id) on delete cascade,
    school_id integer not null,
    role text not null check (role in ('borrower', 'manager', 'head', 'admin')),
    created_at text not null,
    primary key (person_id, school_id)
) strict, without rowid;
-- who holds which role in a school: the school's people, its heads and admins
create index membership_school on membership (school_id, role);

insert into membership (person_id, school_id, role, created_at)
select id, 1, role, created_at from person;

-- the trust's own staff: a trust it administrator or a trust business manager sees
-- every school. null for everyone else.
alter table person add column trust_role text
    check (trust_role is null or trust_role in ('trust_admin', 'trust_manager'));

-- the role now lives in membership alone
alter table person drop column role;

-- a personal api token acts in the school it was made in
alter table api_token add column school_id integer not null default 1;
