//! Kitroom's domain: what a device, a person and an event are, and the rules that
//! govern them. Everything here is pure: no async, no SQL, no HTTP, no clock. Callers
//! pass the facts and the time in, so every rule can be tested by choosing them.
//!
//! # Layout
//! - [`booking`]: bookings of a device, a set or any N of a kind: slots, clashes,
//!   collection and release.
//! - [`calendar`]: periods, terms and holidays; due times in school time.
//! - [`backup`]: automatic daily backups: names, when one is due, which to delete.
//! - [`accessory`]: counted accessories (chargers, cables) lent with a loan.
//! - [`checklist`]: per-kind return questions; a "no" about damage opens a report.
//! - [`change`]: requests to install or change software or hardware.
//! - [`dates`]: dates as files and people write them: a column's day/month order,
//!   two-digit years, timestamps, and the range each use of a date allows.
//! - [`device`]: asset tags, kinds, the status machine, encryption and the validated
//!   details of a device.
//! - [`person`]: usernames, kinds of person, roles and what each role may do.
//! - [`disposal`]: retiring a device, with the evidence its data was wiped.
//! - [`stocktake`]: what a stocktake expected, saw and found missing.
//! - [`event`]: the activity log's actions and its hash chain.
//! - [`ical`]: a person's bookings feed as iCalendar, written by the `icalendar` crate.
//! - [`import`]: checking imported rows (devices, people, encryption status).
//! - [`incident`]: damage, loss and theft, and the data-breach assessment.
//! - [`link`]: the configured public address and the links in email built from it.
//! - [`kit`]: sets and trolleys lent as one: which devices go, which came back.
//! - [`loan`]: the rules at check-out and return, and when a loan is due.
//! - [`mail`]: email's kinds, until when each is worth sending, retries and giving up.
//! - [`policy`]: acceptable-use policy versions and signatures.
//! - [`school`]: which school a record belongs to, in a trust of several.
//! - [`settings`]: the school day, the return room, charging times.
//! - [`throttle`]: the rule that slows down password guessing.
//! - [`time`]: instants in school (UK) time.
//! - [`witness`]: the sealed record of how far the activity log reached, kept
//!   outside the database so that events cut from its end are noticed.
//! - [`invalid`]: field-by-field validation errors, worded for the person at the form.

pub mod accessory;
pub mod backup;
pub mod booking;
pub mod calendar;
pub mod change;
pub mod checklist;
pub mod dates;
pub mod device;
pub mod disposal;
pub mod event;
pub mod ical;
pub mod import;
pub mod incident;
pub mod invalid;
pub mod kit;
pub mod link;
pub mod loan;
pub mod mail;
pub mod one_time;
pub mod person;
pub mod policy;
pub mod provider;
pub mod school;
pub mod settings;
pub mod stocktake;
pub mod throttle;
pub mod time;
pub mod witness;

pub use invalid::{FieldError, Invalid};
