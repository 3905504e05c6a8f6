//! HTTP journeys against a real Kitroom server on a random port.

mod api;
mod audit;
mod auth;
mod bookings;
mod calendar;
mod checklists;
mod devices;
mod import;
mod incidents;
mod kits;
mod loans;
mod reliability;
mod reminders;
mod reports;
mod roles;
