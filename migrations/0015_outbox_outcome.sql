-- Email that gives up honestly (issue 14). Each email in the outbox now says what
-- it is about (which decides how late it may still go), which thread it belongs to
-- (an incident's emails share one in mail programs), until when it is worth
-- sending, and how it ended if not sent: failed after its tries (shown to the
-- admins until one of them dismisses it) or dropped because its moment passed.
alter table outbox add column kind text not null default 'other'
    check (kind in ('incident', 'reminder', 'account', 'digest', 'other'));
alter table outbox add column thread text;
alter table outbox add column send_by text;
alter table outbox add column failed_at text;
alter table outbox add column dropped_at text;
alter table outbox add column dismissed_at text;

-- Reminders and digests still waiting from before this migration were queued
-- without a kind: name them by their subjects so a backlog (email was off, say)
-- is not sent days late. Their moment is unknown, so they get the longest life
-- a reminder has (12 hours), a digest a day.
update outbox set kind = 'reminder', send_by = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+12 hours')
    where sent_at is null and (subject like 'Kitroom: % due back %' or subject like 'Kitroom: % overdue');
update outbox set kind = 'digest', send_by = strftime('%Y-%m-%dT%H:%M:%fZ', created_at, '+24 hours')
    where sent_at is null and subject like 'Kitroom: daily log witness%';

-- the admins' desk lists failed emails not yet dismissed
create index outbox_failed on outbox (failed_at) where failed_at is not null and dismissed_at is null;
