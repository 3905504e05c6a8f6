//! HTTP journeys against a real Kitroom server on a random port.

mod accessories;
mod api;
mod audit;
mod auth;
mod bookings;
mod calendar;
mod checklists;
mod crash;
mod devices;
mod disconnects;
mod full_disk;
mod hostile;
mod import;
mod incidents;
mod kits;
mod loans;
mod races;
mod reliability;
mod reminders;
mod reports;
mod roles;
mod security;
mod sign_in;
