-- An accessory type the school no longer lends (a charger for a laptop model that
-- has gone) is retired rather than deleted: it is no longer offered with a loan,
-- but its counts, its history and any not returned stay visible. Null while in use.
alter table accessory add column retired_at text;
