//! What a person may do with a thing, where the pages, the views and the API all ask
//! the same question (until the rule lives in `kitroom_core`).

use kitroom_core::person::{Permission, Role};
use kitroom_store::bookings::Booking;

/// Whether this person may act on this booking: their own, or a manager's.
pub fn may_act(role: Role, username: &str, b: &Booking) -> bool {
    b.person.eq_ignore_ascii_case(username) || role.may(Permission::LendToAnyone)
}
