-- The device list pages by key (`where tag > ?`, docs/performance.md): each filter
-- needs an index that starts with the filter's column and continues in tag order,
-- so a page deep in the list is a seek, not a walk past every device before it.
-- Status, location and encryption have one (0001_foundation); kind's index
-- (0005_performance) has status between kind and tag, which serves "available
-- laptops" but not "laptops" alone: the list then sorted every device of that kind
-- on each page. This one holds the devices the list shows unless asked for retired
-- ones; a retired device leaves it.
create index device_kind_listed on device (kind, tag collate nocase) where status <> 'retired';
