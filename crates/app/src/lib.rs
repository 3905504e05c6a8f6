//! Kitroom's application layer: each operation written once.
//!
//! An operation is a command type, built from what a person sent (a form or a JSON
//! body, read into the same input type) by one `TryFrom`, and run by one function:
//! inside the write transaction it gathers the facts, asks `kitroom_core` to decide,
//! and writes the decision with its event and notifications through `kitroom_store`.
//! The pages and the API are thin adapters over these functions: a command in, an
//! outcome or a typed [`Refusal`] out.
//!
//! # Layout
//! - [`error`]: refusals and their kinds, and failures.
//! - [`input`]: values read alike from a form and from JSON.
//! - [`people`]: whom a loan or booking is for.
//! - [`accounts`]: adding, editing, deactivating people and resetting their sign-in.
//! - [`password`]: hashing a new password.
//! - [`links`]: one-time links by email: invitations and forgotten passwords.
//! - [`settings`]: the school's settings.
//! - [`locations`]: adding and renaming the places devices live in.
//! - [`calendar`]: the school calendar.
//! - [`loans`]: checking a device out and taking it back.
//! - [`reports`]: each report once: its filters, figures, rows and columns.
//! - [`imports`]: a CSV file checked against the register and written whole.
//! - [`policies`]: publishing a version of the acceptable-use policy and signing
//!   the one in force.
//! - [`incidents`]: damage, loss and theft, and change requests.
//! - [`offsite`]: the head's authorisations to take a device off site.
//! - [`devices`]: registering and editing a device, and its status changes by hand.
//! - [`charging`]: devices on charge, and marking them ready.
//! - [`disposals`]: retiring a device with its disposal record.
//! - [`sets`]: checking a set out and taking it back.
//! - [`set_admin`]: making a set, renaming it, and putting devices in or taking
//!   them out.
//! - [`bookings`]: making, collecting and cancelling a booking.
//! - [`checklists`]: the return checklist of each kind.
//! - [`accessories`]: the business manager's accessory types and counts.
//! - [`stocktakes`]: opening a stocktake, marking devices seen, closing it, and
//!   moving a device found elsewhere to where it was found.

pub mod accessories;
pub mod accounts;
pub mod bookings;
pub mod calendar;
pub mod charging;
pub mod checklists;
pub mod devices;
pub mod disposals;
pub mod error;
pub mod heads;
pub mod imports;
pub mod incidents;
pub mod input;
pub mod links;
pub mod loans;
pub mod locations;
pub mod offsite;
pub mod password;
pub mod people;
pub mod policies;
pub mod reports;
pub mod set_admin;
pub mod sets;
pub mod settings;
pub mod stocktakes;
pub mod transfers;

use std::sync::Arc;

use kitroom_core::link::PublicUrl;
use kitroom_store::Store;

pub use error::{Error, Kind, Refusal};

/// What every operation runs against: the store, the address email links are made
/// from (never from a request), and the mailer's doorbell.
#[derive(Debug, Clone)]
pub struct App {
    store: Store,
    link_base: Option<PublicUrl>,
    mail: Arc<tokio::sync::Notify>,
}

impl App {
    pub fn new(store: Store, link_base: Option<PublicUrl>, mail: Arc<tokio::sync::Notify>) -> App {
        App {
            store,
            link_base,
            mail,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn link_base(&self) -> Option<&PublicUrl> {
        self.link_base.as_ref()
    }

    /// Tells the mailer an email is waiting (after a commit that queued one).
    pub fn wake_mailer(&self) {
        self.mail.notify_one();
    }
}
