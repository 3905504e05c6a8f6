-- the log witness a backup carries: the sealed head of the activity log's hash chain
-- (kitroom_core::witness) at the moment the backup was taken. the live database's
-- witness is kept outside it, in kitroom.witness beside the file, since whoever can
-- cut events from the database could cut this row too; in a backup copy the row lets
-- `kitroom restore` see whether the copy's newest events were cut. at most one row.
create table log_witness (
    id integer primary key check (id = 1),
    sealed text not null
) strict;
