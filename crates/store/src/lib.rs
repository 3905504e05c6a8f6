//! Kitroom's persistence on sqlx and SQLite.
//!
//! SQLite has one writer. Every write goes through a pool of exactly one connection,
//! inside a transaction that also appends the change's event to the activity log, and
//! runs in its own task so a client that hangs up cannot cancel it half way. Reads go
//! through a small pool of read-only connections and never wait for the writer (WAL).
//!
//! # Layout
//! - [`bookings`]: bookings of devices, sets and any N of a kind; collection and release.
//! - [`calendar`]: the school's periods, terms and holidays.
//! - [`backups`]: automatic daily backups, checked, the newest few kept.
//! - [`accessories`]: counted accessories per location, lent and returned with loans.
//! - [`checklists`]: per-kind return questions and a return that answers them.
//! - [`db`]: opening the database (pragmas, pools, migrations) and the write helper.
//! - [`events`]: appending to the activity log, reading it, verifying its hash chain.
//! - [`people`]: accounts, passwords, activation.
//! - [`sessions`]: server-side login sessions.
//! - [`throttle`]: the sign-in throttle's counts of recent failures.
//! - [`tokens`]: personal API tokens.
//! - [`two_factor`]: two-step sign-in secrets (sealed by the web layer) and
//!   recovery codes.
//! - [`locations`]: the rooms and places devices live in.
//! - [`schools`]: the schools of a trust's deployment.
//! - [`devices`]: the register itself.
//! - [`disposals`]: retiring devices with their disposal record.
//! - [`exports`]: CSV exports read in batches by key.
//! - [`policies`]: acceptable-use policy versions and signatures.
//! - [`loans`]: check-out, return, the head's off-site authorisations, charging.
//! - [`incidents`]: damage, loss and theft; notifications; change requests; the
//!   manager's desk.
//! - [`postgres`]: the schema on PostgreSQL, for a trust (the operations follow).
//! - [`outbox`]: emails waiting to be sent, and how each ended: sent, failed (shown
//!   to the admins) or dropped as too late.
//! - [`kits`]: sets and trolleys, checked out and returned as one.
//! - [`import`]: writing a checked import in one transaction.
//! - [`reminders`]: loans due soon and overdue, reminded once each.
//! - [`reports`]: the figures behind the manager's reports.
//! - [`stocktakes`]: stocktakes and their frozen results.
//! - [`settings`]: the school's settings.
//! - [`witness`]: the log witness beside the database, in backups, and in the
//!   admins' daily digest.
//! - [`retention`]: anonymising people who left, once the retention period is over.

pub mod accessories;
pub mod backups;
pub mod bookings;
pub mod calendar;
pub mod checklists;
pub mod db;
pub mod devices;
pub mod disposals;
pub mod events;
pub mod exports;
pub mod import;
pub mod incidents;
pub mod kits;
pub mod links;
pub mod loans;
pub mod locations;
pub mod notifications;
pub mod outbox;
pub mod people;
pub mod policies;
pub mod postgres;
pub mod provider;
pub mod reminders;
pub mod reports;
pub mod retention;
pub mod revocation;
pub mod schools;
pub mod sessions;
pub mod settings;
pub mod stocktakes;
pub mod throttle;
pub mod tokens;
pub mod two_factor;
pub mod witness;

pub use db::{Actor, Batch, BoxFuture, Conn, Store, StoreError, WriteCounts, WriteError};
