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
//! - [`loans`]: checking a device out and taking it back.
//! - [`sets`]: checking a set out and taking it back.
//! - [`bookings`]: collecting and cancelling a booking.
//! - [`checklists`]: the return checklist of each kind.
//! - [`accessories`]: the business manager's accessory types and counts.
//! - [`stocktakes`]: opening a stocktake, marking devices seen, closing it, and
//!   moving a device found elsewhere to where it was found.

pub mod accessories;
pub mod bookings;
pub mod checklists;
pub mod error;
pub mod input;
pub mod loans;
pub mod people;
pub mod sets;
pub mod stocktakes;

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
