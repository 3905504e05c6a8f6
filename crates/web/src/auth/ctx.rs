//! The signed-in person on a page, as the views see it. How a request becomes one
//! (and is refused) is [`super::signed_in`].

use kitroom_core::person::Permission;
use kitroom_store::people::Person;
use tower_sessions::Session;

/// The signed-in person on a page, with the CSRF token for the page's forms and a
/// notice left by the previous request ("Device saved").
pub struct Ctx {
    pub user: Person,
    pub csrf: String,
    pub flash: Option<String>,
    pub session: Session,
    /// Unread notifications, for the count in the menu.
    pub unread: i64,
    /// The schools the person may act in (one, in a deployment with one school):
    /// with several, the header names the school and offers the others.
    pub schools: Vec<kitroom_store::schools::School>,
}

impl Ctx {
    pub fn may(&self, p: Permission) -> bool {
        self.user.role.may(p)
    }

    /// The name of the school the person is acting in.
    pub fn school_name(&self) -> &str {
        self.schools
            .iter()
            .find(|s| s.id == self.user.school)
            .map_or("This school", |s| s.name.as_str())
    }
}
