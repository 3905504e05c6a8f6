-- Reminders find the open loans still to remind by a seek (docs/performance.md,
-- "Reminders at scale").
--
-- Each batch of reminders looked for open loans due by now with no reminder yet,
-- walking the open loans from the earliest due time and skipping, one by one, every
-- loan already reminded: a loan stays open and overdue long after its reminder, so
-- each batch, and each minute's first batch finding nothing, read every overdue loan
-- still out, inside the one writer (50,000 at the benchmark's million devices: tens
-- of milliseconds a batch, and seconds of back-to-back batches after a start).
-- Each loan now carries which reminders it has had, kept by a trigger on
-- `loan_reminder` (still the record of what was sent), and two partial indexes hold
-- only the open loans still to remind.

alter table loan add column overdue_reminded integer not null default 0
    check (overdue_reminded in (0, 1));
alter table loan add column due_soon_reminded integer not null default 0
    check (due_soon_reminded in (0, 1));

update loan set overdue_reminded = 1
where id in (select loan_id from loan_reminder where kind = 'overdue');
update loan set due_soon_reminded = 1
where id in (select loan_id from loan_reminder where kind = 'due_soon');

create trigger loan_reminder_marks_loan after insert on loan_reminder
begin
    update loan set
        overdue_reminded = overdue_reminded or new.kind = 'overdue',
        due_soon_reminded = due_soon_reminded or new.kind = 'due_soon'
    where id = new.loan_id;
end;

create index loan_to_remind_overdue on loan (due_at)
    where returned_at is null and overdue_reminded = 0;
create index loan_to_remind_due_soon on loan (due_at)
    where returned_at is null and overdue_reminded = 0 and due_soon_reminded = 0;
