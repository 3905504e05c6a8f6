//! HTTP journeys against a real Kitroom server on a random port.

mod accessories;
mod accounts;
mod api;
mod api_devices;
mod api_incidents;
mod api_loans;
mod api_people;
mod api_policies;
mod api_reports;
mod api_sets;
mod api_stocktakes;
mod audit;
mod auth;
mod bookings;
mod calendar;
mod checklists;
mod crash;
// issue 18, paging by key (lane `keyset`)
mod device_pages;
mod devices;
mod disconnects;
// issue 17, one way to show an error and confirmations (lane `forms`)
mod forms;
mod full_disk;
mod hostile;
mod ids;
mod import;
mod import_layouts;
mod incidents;
mod invitations;
mod kits;
mod lend_to;
mod loans;
mod mail;
mod mail_links;
mod oidc;
mod openapi;
// issue 19: PostgreSQL for a trust, the schema on a real server
mod postgres;
mod races;
mod redirects;
mod reliability;
mod reminders;
mod reports;
mod reset;
mod roles;
mod security;
mod sign_in;
mod spreadsheets;
mod walls;
mod witness;
mod words;
