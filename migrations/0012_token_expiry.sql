-- api tokens expire: each gets an expiry when it is made (the school's setting,
-- 90 days by default). tokens made before this migration expire 90 days from now,
-- so no script stops working on the day of the upgrade.
-- the column may be null only for the alter table; kitroom always writes it.
alter table api_token add column expires_at text;

update api_token
set expires_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now', '+90 days')
where expires_at is null;
