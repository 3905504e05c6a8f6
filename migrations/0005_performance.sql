-- Speed at 100,000 devices (docs/performance.md).

-- The register's commonest view is "available laptops": kind and status together.
-- With status in the index the count is read from the index alone and the page is
-- found without visiting the rows it skips. It replaces the kind-only index, so a
-- write touches no more indexes than before.
drop index device_kind;
create index device_kind on device (kind, status, tag collate nocase);

-- The manager's desk counts devices whose encryption is missing or not checked
-- recently; without this it read every device.
create index device_encryption_check on device (encryption_state, encryption_verified_on)
    where status <> 'retired';

-- Search: any three or more characters of a tag, serial number, make or model, found
-- through a trigram index instead of reading every device. The index holds no copy of
-- the text (content='device'); the triggers keep it in step with the register.
create virtual table device_search using fts5 (
    tag, serial, make, model,
    content = 'device', content_rowid = 'rowid',
    tokenize = 'trigram'
);
insert into device_search (device_search) values ('rebuild');

create trigger device_search_insert after insert on device begin
    insert into device_search (rowid, tag, serial, make, model)
    values (new.rowid, new.tag, new.serial, new.make, new.model);
end;

create trigger device_search_delete after delete on device begin
    insert into device_search (device_search, rowid, tag, serial, make, model)
    values ('delete', old.rowid, old.tag, old.serial, old.make, old.model);
end;

create trigger device_search_update after update of tag, serial, make, model on device begin
    insert into device_search (device_search, rowid, tag, serial, make, model)
    values ('delete', old.rowid, old.tag, old.serial, old.make, old.model);
    insert into device_search (rowid, tag, serial, make, model)
    values (new.rowid, new.tag, new.serial, new.make, new.model);
end;
