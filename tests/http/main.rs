//! HTTP journeys against a real Kitroom server on a random port.

mod api;
mod audit;
mod auth;
mod devices;
mod incidents;
mod loans;
mod roles;
