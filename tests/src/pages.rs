//! Every page of Kitroom, with the roles that may open it, and the demo school's
//! records to fill in their addresses: what the browser's every-page check
//! (tests/browser/pages.rs) and the HTTP tests that look at every page share.

use serde_json::json;

use crate::TestApp;

/// The roles, as `PAGES` marks who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Borrower,
    Head,
    Manager,
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Borrower, Role::Head, Role::Manager, Role::Admin];

    /// The demo school's account with this role.
    pub fn username(self) -> &'static str {
        match self {
            Role::Borrower => "teacher",
            Role::Head => "head",
            Role::Manager => "manager",
            Role::Admin => "admin",
        }
    }

    /// This role's letter in `PAGES`.
    pub fn letter(self) -> char {
        match self {
            Role::Borrower => 'B',
            Role::Head => 'H',
            Role::Manager => 'M',
            Role::Admin => 'A',
        }
    }
}

/// Every page (a GET that answers HTML) of `tests/http/roles.rs`'s MATRIX (but
/// `/scan`, which only leads on to a device's page or home), with the
/// roles that may open it (`B`orrower, `H`ead, `M`anager, `A`dmin). `{name}` is a
/// real record of the demo school, found by [`Fixtures::find`].
#[rustfmt::skip]
pub const PAGES: &[(&str, &str)] = &[
    ("/", "BHMA"),
    ("/account", "BHMA"),
    ("/account/two-factor", "BHMA"),
    ("/notifications", "BHMA"),
    ("/report", "BHMA"),
    ("/policy", "BHMA"),
    ("/devices", "BHMA"),
    ("/devices/{tag}", "BHMA"),
    ("/devices/{lent}", "BHMA"),
    ("/devices/{tag}/report", "BHMA"),
    ("/devices/new", "MA"),
    ("/devices/{tag}/edit", "MA"),
    ("/devices/{tag}/dispose", "MA"),
    ("/sets", "BHMA"),
    ("/sets/{set}", "BHMA"),
    ("/sets/labels", "MA"),
    ("/sets/{set}/label", "MA"),
    ("/bookings", "BHMA"),
    ("/bookings?view=week", "BHMA"),
    ("/bookings/new", "BHMA"),
    ("/bookings/feed", "BHMA"),
    ("/bookings/{booking}/collect", "MA"),
    ("/loans", "HMA"),
    ("/approvals", "H"),
    ("/incidents", "HMA"),
    ("/incidents/{incident}", "HMA"),
    ("/log", "HMA"),
    ("/reports", "HMA"),
    ("/reports/inventory", "HMA"),
    ("/reports/encryption", "HMA"),
    ("/reports/overdue", "HMA"),
    ("/reports/audit", "HMA"),
    ("/reports/incidents", "HMA"),
    ("/reports/utilisation", "HMA"),
    ("/reports/disposals", "HMA"),
    ("/reports/people", "HMA"),
    ("/reports/people/{person}", "HMA"),
    ("/charging", "MA"),
    ("/labels", "MA"),
    ("/locations", "MA"),
    ("/people", "MA"),
    ("/people/new", "MA"),
    ("/people/find?q=jo", "MA"),
    ("/people/{person}", "MA"),
    ("/people/{person}/edit", "MA"),
    ("/policies", "MA"),
    ("/policies/{policy}", "MA"),
    ("/stocktakes", "MA"),
    ("/stocktakes/{stocktake}", "MA"),
    ("/export", "MA"),
    ("/import", "MA"),
    ("/import/devices", "MA"),
    ("/checklists", "MA"),
    ("/accessories", "MA"),
    ("/settings", "A"),
    ("/calendar", "A"),
];

/// The pages before signing in.
pub const SIGNED_OUT_PAGES: &[&str] = &["/login", "/forgot"];

/// Real records of the demo school to open: `(placeholder, value)`.
pub struct Fixtures(Vec<(&'static str, String)>);

impl Fixtures {
    /// Finds one of each record the pages need, as the business manager would, by
    /// following the first link of each list, and opens a stocktake (the demo
    /// school has none).
    pub async fn find(app: &TestApp) -> Fixtures {
        let manager = app.client();
        let r = app
            .login(&manager, "manager", kitroom::demo::DEMO_PASSWORD)
            .await;
        assert_eq!(r.status(), 303, "the demo's manager signs in");
        let token = app.token_for("manager").await;
        let (status, _) = app
            .api_post_json(
                &token,
                "/api/v1/stocktakes",
                &json!({"location": "Library"}),
            )
            .await;
        assert_eq!(status, 201, "a stocktake of the library opens");
        let mut found = Vec::new();
        for (name, list, prefix, suffix) in [
            ("tag", "/devices", "/devices/", ""),
            ("lent", "/loans", "/devices/", ""),
            ("set", "/sets", "/sets/", ""),
            ("incident", "/incidents", "/incidents/", ""),
            ("policy", "/policies", "/policies/", ""),
            ("stocktake", "/stocktakes", "/stocktakes/", ""),
        ] {
            let html = app.page(&manager, list).await;
            let value = first_link(&html, prefix, suffix)
                .unwrap_or_else(|| panic!("no link {prefix}…{suffix} on the demo school's {list}"));
            found.push((name, value));
        }
        // A borrower, whose pages every role that may see people may open (the first
        // link on /people is the admin, whose edit page a manager may not open).
        found.push(("person", "teacher".to_owned()));
        // A booking's collect page has a link only while it is due: its id from the API.
        let (status, bookings) = app.api_get_json(&token, "/api/v1/bookings").await;
        assert_eq!(status, 200, "the bookings: {bookings}");
        let booking = bookings["items"][0]["id"]
            .as_str()
            .unwrap_or_else(|| panic!("the demo school has a booking: {bookings}"));
        found.push(("booking", booking.to_owned()));
        Fixtures(found)
    }

    /// `path` with each `{name}` replaced by its record.
    pub fn fill(&self, path: &str) -> String {
        let mut path = path.to_owned();
        for (name, value) in &self.0 {
            path = path.replace(&format!("{{{name}}}"), value);
        }
        assert!(!path.contains('{'), "no record for {path}");
        path
    }
}

/// The first `href="{prefix}X{suffix}"` in `html` where X is one path segment that
/// is not a page of its own (`new`, `labels`…): X.
pub fn first_link(html: &str, prefix: &str, suffix: &str) -> Option<String> {
    const NOT_RECORDS: [&str; 5] = ["new", "labels", "find", "feed", "people"];
    html.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter_map(|href| href.strip_prefix(prefix)?.strip_suffix(suffix))
        .find(|x| {
            !x.is_empty()
                && !x.contains(['/', '?', '#'])
                && !NOT_RECORDS.contains(x)
                && !x.ends_with(".csv")
        })
        .map(str::to_owned)
}
