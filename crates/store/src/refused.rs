//! A booking refused with what is free instead: the one domain refusal the store
//! still carries in `StoreError` (booking creation decides clashes in the store;
//! its move into the application layer is the next step). A leaf module, so that
//! `db` can name it without importing `bookings`.

use kitroom_core::booking::BookingRefusal;
use uuid::Uuid;

/// What is free instead, offered with a refusal.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Alternatives {
    /// Devices of the same kind free for the whole time.
    pub devices: Vec<String>,
    /// Sets whose every device is free for the whole time: (id, name).
    pub sets: Vec<(Uuid, String)>,
}

/// A refused booking and what is free instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookingRefused {
    pub refusal: BookingRefusal,
    pub alternatives: Alternatives,
}
