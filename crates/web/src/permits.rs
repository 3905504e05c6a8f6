//! What a person may do with a thing, where the pages, the views and the API all ask
//! the same question. Each rule is decided once, by the command that enforces it;
//! this module names it for the views.

/// Whether this person may act on this booking: their own, or a manager's (the
/// rule `kitroom_app::bookings::cancel` and `collect` enforce).
pub use kitroom_app::bookings::may_act;
