//! Every route so far, for every role: who may see and do what, checked on the server.

use std::collections::BTreeSet;
use std::path::Path;

use kitroom_tests::{spawn_app, TestApp};
use reqwest::Client;
use serde_json::json;

/// Who gets what, per role, in this order: anonymous, borrower, head, manager, admin,
/// then the trust's business manager and IT administrator. A row of five letters
/// gives the trust roles the manager's and the admin's letters (inside a school a
/// trust role does what that school role does: `Role::may`); a row of seven says
/// where they differ.
///
/// - `O`: allowed: any answer under 500 except 401, 403, 404 and a redirect to the
///   sign-in page (a 409 or 422 still proves the role got past the door);
/// - `F`: 403 forbidden; `L`: 303 to the sign-in page; `U`: 401 (the API, no token);
/// - `N`: 404: another person's record is not even shown to exist.
///
/// `path` is what is requested: `:name` is replaced by a fixture (`:me` is the
/// walking role's own username). `body` is form fields (`a=1&b=2`, the CSRF token is
/// added) or, under `/api/`, JSON. Several rows may test one route (its own record
/// and someone else's). Every route in `crates/web/src` must have at least one row.
#[rustfmt::skip]
pub(crate) const MATRIX: &[(&str, &str, &str, &str, &str)] = &[
    // method, route as in the router, path requested, body, expected (anon borrower head manager admin)
    ("GET", "/", "/", "", "LOOOO"),
    ("GET", "/login", "/login", "", "OOOOO"),
    // a name for each role, so seven tries do not meet the account's throttle
    ("POST", "/login", "/login", "username=nobody-:me&password=wrong", "UUUUU"),
    ("GET", "/setup", "/setup?token=wrong", "", "LLLLL"),
    // no provider is set up here (tests/http/oidc.rs signs in with one)
    ("GET", "/sign-in/oidc", "/sign-in/oidc", "", "NNNNN"),
    ("GET", "/sign-in/oidc/callback", "/sign-in/oidc/callback?code=x&state=y", "", "NNNNN"),
    ("POST", "/setup", "/setup", "token=wrong", "LLLLL"),
    // one-time links by email: public pages; a link that is not one is not found
    ("GET", "/forgot", "/forgot", "", "OOOOO"),
    ("POST", "/forgot", "/forgot", "who=nobody", "OOOOO"),
    ("GET", "/welcome/{token}", "/welcome/0000", "", "NNNNN"),
    ("POST", "/welcome/{token}", "/welcome/0000", "password=a+long+new+password&confirm=a+long+new+password", "NNNNN"),
    ("GET", "/reset/{token}", "/reset/0000", "", "NNNNN"),
    ("POST", "/reset/{token}", "/reset/0000", "password=a+long+new+password&confirm=a+long+new+password", "NNNNN"),
    ("GET", "/health", "/health", "", "OOOOO"),
    ("GET", "/healthz", "/healthz", "", "OOOOO"),
    ("GET", "/static/kitroom.css", "/static/kitroom.css", "", "OOOOO"),
    ("GET", "/static/kitroom.js", "/static/kitroom.js", "", "OOOOO"),
    ("GET", "/static/icon.svg", "/static/icon.svg", "", "OOOOO"),
    // the QR decoder for scanning with the camera, and its licence (issue 17, lane C)
    ("GET", "/static/jsQR.js", "/static/jsQR.js", "", "OOOOO"),
    ("GET", "/static/jsQR.LICENSE.txt", "/static/jsQR.LICENSE.txt", "", "OOOOO"),
    ("GET", "/favicon.ico", "/favicon.ico", "", "OOOOO"),
    ("GET", "/d/{tag}", "/d/LAP-1", "", "LOOOO"),
    ("GET", "/scan", "/scan", "", "LOOOO"),
    ("GET", "/account", "/account", "", "LOOOO"),
    ("POST", "/account/password", "/account/password", "current=wrong&password=a+long+new+password&confirm=a+long+new+password", "LOOOO"),
    ("POST", "/account/tokens", "/account/tokens", "name=script", "LOOOO"),
    ("POST", "/account/feed", "/account/feed", "", "LOOOO"),
    // no failed email to dismiss: the admin is told it is not there
    ("POST", "/outbox/{id}/dismiss", "/outbox/00000000-0000-4000-8000-000000000000/dismiss", "", "LFFFN"),
    ("POST", "/account/tokens/{id}/revoke", "/account/tokens/:other_token/revoke", "", "LNNNN"),
    ("GET", "/devices", "/devices", "", "LOOOO"),
    ("POST", "/devices", "/devices", "kind=ipad&location=Library&tag=NEW-:me", "LFFOO"),
    ("GET", "/devices/new", "/devices/new", "", "LFFOO"),
    ("GET", "/devices/{tag}", "/devices/LAP-1", "", "LOOOO"),
    ("GET", "/devices/{tag}/edit", "/devices/LAP-1/edit", "", "LFFOO"),
    ("POST", "/devices/{tag}/edit", "/devices/LAP-1/edit", "tag=LAP-1&kind=laptop&location=Library", "LFFOO"),
    ("POST", "/devices/{tag}/status", "/devices/LAP-3/status", "change=send_to_repair", "LFFOO"),
    // moving a device to another school: the trust's own staff; with one school
    // there is none to move it to (422)
    ("POST", "/devices/{tag}/transfer", "/devices/LAP-3/transfer", "school=main", "LFFFFOO"),
    ("GET", "/devices/{tag}/dispose", "/devices/LAP-3/dispose", "", "LFFOO"),
    ("POST", "/devices/{tag}/dispose", "/devices/LAP-3/dispose", "method=recycled", "LFFOO"),
    ("POST", "/devices/{tag}/checkout", "/devices/LAP-1/checkout", "borrower=other", "LFFOO"),
    ("POST", "/devices/{tag}/return", "/devices/LAP-2/return", "on_charge=on", "LFFOO"),
    ("POST", "/devices/{tag}/offsite-request", "/devices/LAP-1/offsite-request", "reason=Trip", "LOOOO"),
    ("GET", "/devices/{tag}/report", "/devices/LAP-1/report", "", "LOOOO"),
    ("POST", "/devices/{tag}/report", "/devices/LAP-1/report", "kind=damage&description=Cracked", "LOOOO"),
    ("POST", "/devices/{tag}/change-request", "/devices/LAP-1/change-request", "what=retire&reason=Old", "LOOOO"),
    ("GET", "/report", "/report", "", "LOOOO"),
    ("GET", "/loans", "/loans", "", "LFOOO"),
    ("GET", "/approvals", "/approvals", "", "LFOFF"),
    ("POST", "/approvals/{id}", "/approvals/:offsite", "decision=decline&note=No", "LFOFF"),
    ("POST", "/changes/{id}", "/changes/:change", "decision=decline&note=No", "LFNFF"),
    ("GET", "/charging", "/charging", "", "LFFOO"),
    ("POST", "/charging/{location}/ready", "/charging/:location/ready", "", "LFFOO"),
    ("GET", "/labels", "/labels", "", "LFFOO"),
    ("GET", "/locations", "/locations", "", "LFFOO"),
    ("POST", "/locations", "/locations", "name=Hall-:me", "LFFOO"),
    ("POST", "/locations/{id}/rename", "/locations/:location/rename", "name=Library", "LFFOO"),
    ("GET", "/log", "/log", "", "LFOOO"),
    // the whole trust's log: the trust's own staff
    ("GET", "/log", "/log?scope=trust", "", "LFFFFOO"),
    ("GET", "/people", "/people", "", "LFFOO"),
    ("POST", "/people", "/people", "username=new-:me&full_name=New+Person", "LFFOO"),
    ("GET", "/people/new", "/people/new", "", "LFFOO"),
    ("GET", "/people/find", "/people/find?q=oth", "", "LFFOO"),
    ("GET", "/people/find.json", "/people/find.json?q=oth", "", "LFFOO"),
    ("GET", "/people/{username}", "/people/other", "", "LFFOO"),
    ("GET", "/people/{username}", "/people/admin2", "", "LFFOO"),
    ("GET", "/people/{username}/edit", "/people/other/edit", "", "LFFOO"),
    ("GET", "/people/{username}/edit", "/people/admin2/edit", "", "LFFFO"),
    ("POST", "/people/{username}/edit", "/people/other/edit", "username=other&full_name=Other+Person&role=borrower", "LFFOO"),
    ("POST", "/people/{username}/password", "/people/other/password", "password=a+long+new+password", "LFFOO"),
    // no public address (nor email for this one): a 409 past the door
    ("POST", "/people/{username}/invite", "/people/other/invite", "", "LFFOO"),
    ("POST", "/people/invite-new", "/people/invite-new", "", "LFFOO"),
    ("POST", "/people/{username}/invite", "/people/admin2/invite", "", "LFFFO"),
    ("POST", "/people/{username}/password", "/people/admin2/password", "password=a+long+new+password", "LFFFO"),
    ("POST", "/people/{username}/active", "/people/other/active", "active=true", "LFFOO"),
    ("POST", "/people/{username}/active", "/people/admin2/active", "active=true", "LFFFO"),
    // a head's and an admin's account are the IT administrator's alone, and another
    // manager's unless the school's settings allow managers (off by default)
    ("GET", "/people/{username}/edit", "/people/hd/edit", "", "LFFFO"),
    ("POST", "/people/{username}/edit", "/people/hd/edit", "username=hd&full_name=Hd+Test&role=head", "LFFFO"),
    ("POST", "/people/{username}/edit", "/people/admin2/edit", "username=admin2&full_name=Admin2+Test&role=admin", "LFFFO"),
    ("POST", "/people/{username}/password", "/people/hd/password", "password=a+long+new+password", "LFFFO"),
    ("POST", "/people/{username}/password", "/people/sbm/password", "password=a+long+new+password", "LFFFO"),
    ("POST", "/people/{username}/active", "/people/hd/active", "active=true", "LFFFO"),
    ("POST", "/people/{username}/active", "/people/sbm/active", "active=true", "LFFFO"),
    ("POST", "/people/{username}/two-factor/reset", "/people/hd/two-factor/reset", "", "LFFFO"),
    ("POST", "/people/{username}/two-factor/reset", "/people/sbm/two-factor/reset", "", "LFFFO"),
    // the form refuses a manager the head's role (422 beside the field: nothing is
    // written, checked after the walk)
    ("POST", "/people", "/people", "username=head-:me&full_name=New+Head&role=head", "LFFOO"),
    ("GET", "/policy", "/policy", "", "LOOOO"),
    ("POST", "/policy/sign", "/policy/sign", "policy=:policy&full_name=Me&position=Teacher&agree=on", "LOOOO"),
    ("GET", "/policies", "/policies", "", "LFFOO"),
    ("POST", "/policies", "/policies", "title=T&body=B", "LFFOO"),
    ("GET", "/policies/{id}", "/policies/:policy", "", "LFFOO"),
    ("GET", "/policies/{id}/signatures.csv", "/policies/:policy/signatures.csv", "", "LFFOO"),
    ("GET", "/settings", "/settings", "", "LFFFO"),
    ("POST", "/settings", "/settings", "school_name=", "LFFFO"),
    ("GET", "/incidents", "/incidents", "", "LFOOO"),
    ("GET", "/incidents/{id}", "/incidents/:incident", "", "LFOOO"),
    ("POST", "/incidents/{id}/decision", "/incidents/:incident/decision", "reportable=no&reason=Encrypted", "LFFOO"),
    ("POST", "/incidents/{id}/status", "/incidents/:incident/status", "status=investigating", "LFFOO"),
    ("POST", "/incidents/{id}/notes", "/incidents/:incident/notes", "body=Looked", "LFFOO"),
    ("POST", "/incidents/{id}/police-reference", "/incidents/:incident/police-reference", "police_reference=CR1", "LFFOO"),
    ("GET", "/notifications", "/notifications", "", "LOOOO"),
    ("POST", "/notifications/read", "/notifications/read", "", "LOOOO"),
    // the schools someone may work in; with one school, there is only it to choose
    ("GET", "/schools", "/schools", "", "LOOOO"),
    ("POST", "/schools/switch", "/schools/switch", "school=main", "LOOOO"),
    ("POST", "/schools/switch", "/schools/switch", "school=nowhere", "LNNNN"),
    ("GET", "/stocktakes", "/stocktakes", "", "LFFOO"),
    ("POST", "/stocktakes", "/stocktakes", "location=", "LFFOO"),
    ("GET", "/stocktakes/{id}", "/stocktakes/:stocktake", "", "LFFOO"),
    ("POST", "/stocktakes/{id}/scan", "/stocktakes/:stocktake/scan", "tag=LAP-1", "LFFOO"),
    ("GET", "/stocktakes/{id}/progress.json", "/stocktakes/:stocktake/progress.json", "", "LFFOO"),
    ("GET", "/stocktakes/{id}/results.csv", "/stocktakes/:stocktake/results.csv", "", "LFFOO"),
    // the manager's turn finds the device not in the stocktake; by the admin's the
    // manager has closed it (409), as by the trust roles'
    ("POST", "/stocktakes/{id}/move/{device}", "/stocktakes/:stocktake/move/:device", "", "LFFNOOO"),
    ("POST", "/stocktakes/{id}/close", "/stocktakes/:stocktake/close", "", "LFFOO"),
    ("GET", "/export", "/export", "", "LFFOO"),
    ("GET", "/export/{file}", "/export/devices.csv", "", "LFFOO"),
    ("GET", "/import", "/import", "", "LFFOO"),
    ("GET", "/import/{sheet}", "/import/devices", "", "LFFOO"),
    ("POST", "/import/{sheet}/map", "/import/devices/map", "csv=tag%0ALAP-9", "LFFOO"),
    ("POST", "/import/{sheet}/preview", "/import/devices/preview", "csv=tag%0ALAP-9", "LFFOO"),
    ("POST", "/import/{sheet}/confirm", "/import/devices/confirm", "csv=tag%0ALAP-9", "LFFOO"),
    ("GET", "/import/{sheet}/done", "/import/devices/done", "", "LFFNN"),
    ("GET", "/reports", "/reports", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/inventory", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/inventory.csv", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/encryption", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/encryption.csv", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/overdue", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/overdue.csv", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/audit", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/audit.csv", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/incidents", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/incidents.csv", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/utilisation", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/utilisation.csv", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/disposals", "", "LFOOO"),
    ("GET", "/reports/{file}", "/reports/disposals.csv", "", "LFOOO"),
    // every school side by side: the trust's own staff
    ("GET", "/reports/{file}", "/reports/schools", "", "LFFFFOO"),
    ("GET", "/reports/{file}", "/reports/schools.csv", "", "LFFFFOO"),
    ("GET", "/reports/people", "/reports/people", "", "LFOOO"),
    ("GET", "/reports/people/{username}", "/reports/people/other", "", "LFOOO"),
    ("GET", "/reports/people/{username}", "/reports/people/:me", "", "LFOOO"),
    ("GET", "/reports/people/{username}/export.json", "/reports/people/other/export.json", "", "LFOOO"),
    ("GET", "/reports/people/{username}/export.csv", "/reports/people/other/export.csv", "", "LFOOO"),
    ("GET", "/api/v1/openapi.json", "/api/v1/openapi.json", "", "OOOOO"),
    ("GET", "/api/v1/devices", "/api/v1/devices", "", "UOOOO"),
    ("POST", "/api/v1/devices", "/api/v1/devices", r#"{"kind": "ipad", "location": "Hall", "tag": "API-:me"}"#, "UFFOO"),
    ("GET", "/api/v1/devices/{tag}", "/api/v1/devices/LAP-1", "", "UOOOO"),
    ("PATCH", "/api/v1/devices/{tag}", "/api/v1/devices/LAP-1", r#"{"notes": "Checked"}"#, "UFFOO"),
    ("POST", "/api/v1/devices/{tag}/status", "/api/v1/devices/LAP-3/status", r#"{"change": "send_to_repair"}"#, "UFFOO"),
    ("POST", "/api/v1/devices/{tag}/ready", "/api/v1/devices/LAP-3/ready", "", "UFFOO"),
    // LAP-3 is never disposed of here: its record is not there for anyone
    ("GET", "/api/v1/devices/{tag}/disposal", "/api/v1/devices/LAP-3/disposal", "", "UNNNN"),
    ("POST", "/api/v1/devices/{tag}/disposal", "/api/v1/devices/LAP-3/disposal", r#"{"method": "recycled"}"#, "UFFOO"),
    ("GET", "/api/v1/charging", "/api/v1/charging", "", "UFFOO"),
    ("POST", "/api/v1/charging/{location}/ready", "/api/v1/charging/:location/ready", "", "UFFOO"),
    ("POST", "/api/v1/devices/{tag}/checkout", "/api/v1/devices/LAP-1/checkout", r#"{"borrower": "other"}"#, "UFFOO"),
    ("POST", "/api/v1/devices/{tag}/return", "/api/v1/devices/LAP-2/return", r#"{"on_charge": true}"#, "UFFOO"),
    ("POST", "/api/v1/devices/{tag}/incidents", "/api/v1/devices/LAP-1/incidents", r#"{"kind": "damage", "description": "Dent"}"#, "UOOOO"),
    ("GET", "/api/v1/incidents/{id}", "/api/v1/incidents/:incident", "", "UFOOO"),
    ("POST", "/api/v1/incidents/{id}/progress", "/api/v1/incidents/:incident/progress", r#"{"status": "investigating"}"#, "UFFOO"),
    ("POST", "/api/v1/incidents/{id}/decision", "/api/v1/incidents/:incident/decision", r#"{"reportable": false, "reason": "Encrypted"}"#, "UFFOO"),
    ("POST", "/api/v1/incidents/{id}/notes", "/api/v1/incidents/:incident/notes", r#"{"body": "Looked"}"#, "UFFOO"),
    ("POST", "/api/v1/incidents/{id}/police-reference", "/api/v1/incidents/:incident/police-reference", r#"{"police_reference": "CR1"}"#, "UFFOO"),
    ("POST", "/api/v1/devices/{tag}/change-requests", "/api/v1/devices/LAP-1/change-requests", r#"{"what": "Scratch 3", "why": "Club"}"#, "UOOOO"),
    ("GET", "/api/v1/change-requests", "/api/v1/change-requests", "", "UFOFF"),
    ("POST", "/api/v1/change-requests/{id}/decision", "/api/v1/change-requests/:change/decision", r#"{"approve": false, "note": "No"}"#, "UFNFF"),
    ("POST", "/api/v1/devices/{tag}/offsite-requests", "/api/v1/devices/LAP-1/offsite-requests", r#"{"reason": "Trip"}"#, "UOOOO"),
    ("GET", "/api/v1/offsite-requests", "/api/v1/offsite-requests", "", "UFOFF"),
    ("POST", "/api/v1/offsite-requests/{id}/decision", "/api/v1/offsite-requests/:offsite/decision", r#"{"approve": false, "note": "No"}"#, "UFOFF"),
    ("GET", "/api/v1/loans", "/api/v1/loans", "", "UOOOO"),
    ("GET", "/api/v1/loans", "/api/v1/loans?borrower=other", "", "UFOOO"),
    // a name nobody has answers a borrower as another person's does
    ("GET", "/api/v1/loans", "/api/v1/loans?borrower=nosuch", "", "UFOOO"),
    ("GET", "/api/v1/incidents", "/api/v1/incidents", "", "UOOOO"),
    ("GET", "/api/v1/people", "/api/v1/people?q=oth", "", "UFFOO"),
    ("GET", "/api/v1/people", "/api/v1/people", "", "UFFOO"),
    ("POST", "/api/v1/people", "/api/v1/people", r#"{"username": "api-:me", "full_name": "New Person"}"#, "UFFOO"),
    // a head's and an admin's account are the IT administrator's alone, on the API as on the pages
    ("POST", "/api/v1/people", "/api/v1/people", r#"{"username": "apihead-:me", "full_name": "New Head", "role": "head"}"#, "UFFFO"),
    ("GET", "/api/v1/people/{username}", "/api/v1/people/other", "", "UFFOO"),
    ("GET", "/api/v1/people/{username}", "/api/v1/people/nosuch", "", "UFFNN"),
    ("PATCH", "/api/v1/people/{username}", "/api/v1/people/other", r#"{"position": "Teacher"}"#, "UFFOO"),
    ("PATCH", "/api/v1/people/{username}", "/api/v1/people/hd", r#"{"position": "Head teacher"}"#, "UFFFO"),
    ("POST", "/api/v1/people/{username}/deactivate", "/api/v1/people/nosuch/deactivate", "", "UFFNN"),
    ("POST", "/api/v1/people/{username}/reactivate", "/api/v1/people/other/reactivate", "", "UFFOO"),
    ("POST", "/api/v1/people/{username}/reactivate", "/api/v1/people/hd/reactivate", "", "UFFFO"),
    ("POST", "/api/v1/people/{username}/password-reset", "/api/v1/people/other/password-reset", r#"{"password": "x"}"#, "UFFOO"),
    ("POST", "/api/v1/people/{username}/password-reset", "/api/v1/people/hd/password-reset", r#"{"password": "x"}"#, "UFFFO"),
    ("POST", "/api/v1/people/{username}/two-factor-reset", "/api/v1/people/sbm/two-factor-reset", "", "UFFFO"),
    ("POST", "/api/v1/devices/{tag}/transfer", "/api/v1/devices/LAP-3/transfer", r#"{"school": "main"}"#, "UFFFFOO"),
    ("GET", "/api/v1/settings", "/api/v1/settings", "", "UFFFO"),
    ("PATCH", "/api/v1/settings", "/api/v1/settings", r#"{"backups_kept": "many"}"#, "UFFFO"),
    ("GET", "/api/v1/locations", "/api/v1/locations", "", "UFFOO"),
    ("POST", "/api/v1/locations", "/api/v1/locations", r#"{"name": "Room :me"}"#, "UFFOO"),
    ("PATCH", "/api/v1/locations/{id}", "/api/v1/locations/00000000-0000-4000-8000-000000000000", r#"{"name": "Anywhere"}"#, "UFFNN"),
    ("GET", "/api/v1/calendar", "/api/v1/calendar", "", "UFFFO"),
    ("PUT", "/api/v1/calendar", "/api/v1/calendar", r#"{"periods": "Period 1, 25:00-26:00"}"#, "UFFFO"),
    ("GET", "/api/v1/people/{username}/history", "/api/v1/people/other/history", "", "UFOOO"),
    ("GET", "/api/v1/people/{username}/history", "/api/v1/people/:me/history", "", "UOOOO"),
    ("GET", "/api/v1/people/{username}/history", "/api/v1/people/nosuch/history", "", "UFNNN"),
    ("POST", "/api/v1/policies", "/api/v1/policies", r#"{"title": "T", "version_label": "v-:me", "issued_on": "2026-09-01", "body": "B"}"#, "UFFOO"),
    ("GET", "/api/v1/policies", "/api/v1/policies", "", "UFFOO"),
    ("GET", "/api/v1/policies/current", "/api/v1/policies/current", "", "UOOOO"),
    ("GET", "/api/v1/policies/{id}/signatures", "/api/v1/policies/:policy/signatures", "", "UFFOO"),
    ("POST", "/api/v1/policies/current/signatures", "/api/v1/policies/current/signatures", r#"{"full_name": "Me", "position": "Teacher"}"#, "UOOOO"),
    ("GET", "/api/v1/events", "/api/v1/events", "", "UFOOO"),
    ("GET", "/api/v1/bookings", "/api/v1/bookings", "", "UOOOO"),
    ("POST", "/api/v1/bookings", "/api/v1/bookings", r#"{"kind": "laptop", "count": 1}"#, "UOOOO"),
    ("GET", "/api/v1/bookings/{id}", "/api/v1/bookings/:booking", "", "UOOOO"),
    ("DELETE", "/api/v1/bookings/{id}", "/api/v1/bookings/:booking", "", "UFFOO"),
    ("POST", "/api/v1/bookings/{id}/collect", "/api/v1/bookings/:booking/collect", "", "UFFOO"),
    ("GET", "/api/v1/sets", "/api/v1/sets", "", "UOOOO"),
    ("GET", "/api/v1/reports/{name}", "/api/v1/reports/inventory", "", "UFOOO"),
    ("GET", "/api/v1/reports/{name}", "/api/v1/reports/overdue?kind=laptop", "", "UFOOO"),
    ("GET", "/api/v1/reports/{name}", "/api/v1/reports/schools", "", "UFFFFOO"),
    ("GET", "/api/v1/exports/{kind}", "/api/v1/exports/devices", "", "UFFOO"),
    // the matrix sends JSON, which an import refuses (415) once past the door
    ("POST", "/api/v1/imports/{sheet}", "/api/v1/imports/devices?dry_run=true", "{}", "UFFOO"),
    ("GET", "/api/v1/sets/{id}", "/api/v1/sets/:set", "", "UOOOO"),
    ("POST", "/api/v1/sets", "/api/v1/sets", r#"{"name": "Set :me"}"#, "UFFOO"),
    ("PATCH", "/api/v1/sets/{id}", "/api/v1/sets/:set", r#"{"notes": "In the library"}"#, "UFFOO"),
    // LAP-3 goes into the set and comes out again, so the set stays empty
    ("POST", "/api/v1/sets/{id}/devices", "/api/v1/sets/:set/devices", r#"{"tag": "LAP-3"}"#, "UFFOO"),
    ("DELETE", "/api/v1/sets/{id}/devices/{tag}", "/api/v1/sets/:set/devices/LAP-3", "", "UFFOO"),
    ("POST", "/api/v1/sets/{id}/checkout", "/api/v1/sets/:set/checkout", "", "UOOOO"),
    ("POST", "/api/v1/sets/{id}/return", "/api/v1/sets/:set/return", "", "UOOOO"),
    ("GET", "/api/v1/accessories", "/api/v1/accessories", "", "UFFOO"),
    ("POST", "/api/v1/accessories", "/api/v1/accessories", r#"{"name": ""}"#, "UFFOO"),
    ("PATCH", "/api/v1/accessories/{id}", "/api/v1/accessories/:accessory", r#"{"retired": false}"#, "UFFOO"),
    ("POST", "/api/v1/accessories/{id}/adjust", "/api/v1/accessories/:accessory/adjust", r#"{"change": ""}"#, "UFFOO"),
    // nothing not returned: the manager is told it is not there
    ("POST", "/api/v1/accessories/lent/{id}/found", "/api/v1/accessories/lent/1/found", "", "UFFNN"),
    ("GET", "/api/v1/checklists", "/api/v1/checklists", "", "UFFOO"),
    ("PUT", "/api/v1/checklists/{kind}", "/api/v1/checklists/ipad", r#"{"questions": ["Charger returned?"]}"#, "UFFOO"),
    // stocktakes: by the walk's turn the manager has closed :stocktake on the page,
    // so a scan, a close and a move there are refused (409) past the door
    ("GET", "/api/v1/stocktakes", "/api/v1/stocktakes", "", "UFFOO"),
    ("POST", "/api/v1/stocktakes", "/api/v1/stocktakes", r#"{"location": "Hall"}"#, "UFFOO"),
    ("GET", "/api/v1/stocktakes/{id}", "/api/v1/stocktakes/:stocktake", "", "UFFOO"),
    ("GET", "/api/v1/stocktakes/{id}", "/api/v1/stocktakes/00000000-0000-4000-8000-000000000000", "", "UFFNN"),
    ("POST", "/api/v1/stocktakes/{id}/scans", "/api/v1/stocktakes/:stocktake/scans", r#"{"tag": "LAP-1"}"#, "UFFOO"),
    ("POST", "/api/v1/stocktakes/{id}/close", "/api/v1/stocktakes/:stocktake/close", "", "UFFOO"),
    ("POST", "/api/v1/stocktakes/{id}/move-here", "/api/v1/stocktakes/:stocktake/move-here", r#"{"tag": "LAP-1"}"#, "UFFOO"),
    // two-step sign-in and sessions
    // the code step exists only between the password and the code: otherwise back to /login
    ("GET", "/login/code", "/login/code", "", "LLLLL"),
    ("POST", "/login/code", "/login/code", "code=000000", "LLLLL"),
    ("GET", "/account/two-factor", "/account/two-factor", "", "LOOOO"),
    ("POST", "/account/two-factor", "/account/two-factor", "code=000000", "LOOOO"),
    ("POST", "/account/two-factor/recovery-codes", "/account/two-factor/recovery-codes", "", "LOOOO"),
    ("POST", "/account/two-factor/off", "/account/two-factor/off", "password=wrong", "LOOOO"),
    ("POST", "/people/{username}/two-factor/reset", "/people/other/two-factor/reset", "", "LFFOO"),
    ("POST", "/people/{username}/two-factor/reset", "/people/admin2/two-factor/reset", "", "LFFFO"),
    // someone else's session id ends nothing (tests/http/security.rs checks it lives on)
    ("POST", "/account/sessions/{id}/end", "/account/sessions/0000/end", "", "LOOOO"),
    ("POST", "/account/sessions/end-others", "/account/sessions/end-others", "", "LOOOO"),
    // the school calendar, sets and bookings
    ("GET", "/calendar", "/calendar", "", "LFFFO"),
    ("POST", "/calendar", "/calendar", "periods=Period+1", "LFFFO"),
    ("GET", "/sets", "/sets", "", "LOOOO"),
    ("POST", "/sets", "/sets", "name=", "LFFOO"),
    ("GET", "/sets/labels", "/sets/labels", "", "LFFOO"),
    ("GET", "/sets/{id}", "/sets/:set", "", "LOOOO"),
    ("GET", "/sets/{id}/label", "/sets/:set/label", "", "LFFOO"),
    ("POST", "/sets/{id}/devices", "/sets/:set/devices", "tag=LAP-3", "LFFOO"),
    ("POST", "/sets/{id}/devices/{tag}/remove", "/sets/:set/devices/LAP-3/remove", "", "LFFOO"),
    ("POST", "/sets/{id}/checkout", "/sets/:set/checkout", "", "LOOOO"),
    ("POST", "/sets/{id}/return", "/sets/:set/return", "", "LOOOO"),
    ("GET", "/bookings", "/bookings", "", "LOOOO"),
    ("GET", "/bookings", "/bookings?view=week", "", "LOOOO"),
    ("POST", "/bookings", "/bookings", "date=", "LOOOO"),
    ("GET", "/bookings/new", "/bookings/new", "", "LOOOO"),
    ("GET", "/bookings/feed", "/bookings/feed", "", "LOOOO"),
    ("POST", "/bookings/feed", "/bookings/feed", "", "LOOOO"),
    ("POST", "/bookings/{id}/cancel", "/bookings/:booking/cancel", "", "LFFOO"),
    ("GET", "/bookings/{id}/collect", "/bookings/:booking/collect", "", "LFFOO"),
    ("POST", "/bookings/{id}/collect", "/bookings/:booking/collect", "", "LFFOO"),
    ("GET", "/feeds/{token}/bookings.ics", "/feeds/not-a-feed/bookings.ics", "", "NNNNN"),
    ("GET", "/checklists", "/checklists", "", "LFFOO"),
    ("POST", "/checklists", "/checklists", "checklist.ipad=Charger+returned%3F", "LFFOO"),
    ("GET", "/accessories", "/accessories", "", "LFFOO"),
    ("POST", "/accessories", "/accessories", "name=", "LFFOO"),
    ("POST", "/accessories/{id}/adjust", "/accessories/00000000-0000-4000-8000-000000000000/adjust", "change=", "LFFOO"),
    ("POST", "/accessories/{id}/rename", "/accessories/:accessory/rename", "rename=", "LFFOO"),
    ("POST", "/accessories/{id}/retire", "/accessories/:accessory/retire", "retired=no", "LFFOO"),
    ("POST", "/accessories/lent/{id}/found", "/accessories/lent/1/found", "", "LFFNN"),
    // last: it ends the walking role's session
    ("POST", "/logout", "/logout", "", "LLLLL"),
];

/// Every `.route(path, get(..).post(..))` in the web crate's source, as (method,
/// path); the API's are under `/api/v1`, where `lib.rs` nests `api::router()`.
fn routes_in_source() -> BTreeSet<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../crates/web/src");
    let lib = std::fs::read_to_string(src.join("lib.rs")).unwrap();
    assert!(
        lib.contains(".nest(\"/api/v1\", openapi::router())"),
        "the API moved: update routes_in_source"
    );
    // The API's routes are registered with `routes!(handler, …)`, which names no
    // path: they come from the router's own list, the one its document is made of.
    let mut found: BTreeSet<(String, String)> = kitroom_web::openapi::routes()
        .into_iter()
        .map(|(m, p)| (m, format!("/api/v1{p}")))
        .collect();
    let mut dirs = vec![src];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            // api.rs, the modules beside it (api_bookings.rs) and openapi.rs, which
            // builds their router, are under /api/v1
            let prefix = if path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n == "api.rs" || n.starts_with("api_") || n == "openapi.rs")
            {
                "/api/v1"
            } else {
                ""
            };
            let text = std::fs::read_to_string(&path).unwrap();
            let mut rest = text.as_str();
            while let Some(at) = rest.find(".route(") {
                let args_start = at + ".route(".len();
                let mut depth = 1;
                let mut end = args_start;
                for (i, c) in rest[args_start..].char_indices() {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    if depth == 0 {
                        end = args_start + i;
                        break;
                    }
                }
                let args = &rest[args_start..end];
                let route = args
                    .split('"')
                    .nth(1)
                    .unwrap_or_else(|| panic!("a .route( without a path in {}", path.display()));
                for method in ["get", "post", "put", "patch", "delete"] {
                    let call = format!("{method}(");
                    let mut from = 0;
                    while let Some(i) = args[from..].find(&call) {
                        let before = args[..from + i].chars().next_back();
                        if !before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                            found.insert((method.to_uppercase(), format!("{prefix}{route}")));
                        }
                        from += i + call.len();
                    }
                }
                rest = &rest[end..];
            }
        }
    }
    found
}

/// A route added without a row in [`MATRIX`] (or a row for a route that is gone)
/// fails here, naming it.
#[test]
fn every_route_in_the_source_has_a_row_in_the_matrix() {
    let in_source = routes_in_source();
    assert!(in_source.len() > 100, "the scan finds the routes");
    let in_table: BTreeSet<(String, String)> = MATRIX
        .iter()
        .map(|(m, route, ..)| (m.to_string(), route.to_string()))
        .collect();
    let missing: Vec<_> = in_source.difference(&in_table).collect();
    let gone: Vec<_> = in_table.difference(&in_source).collect();
    assert!(
        missing.is_empty() && gone.is_empty(),
        "routes without a row in roles.rs MATRIX: {missing:?}; rows for routes that do not exist: {gone:?}"
    );
}

pub(crate) struct Fixtures {
    pub(crate) subs: Vec<(&'static str, String)>,
}

pub(crate) async fn fixtures(app: &TestApp) -> Fixtures {
    let api = Client::new();
    let sbm = app.api_token("sbm", "manager").await;
    let other = app.api_token("other", "borrower").await;
    app.add_user("admin2", "admin").await;
    app.add_user("hd", "head").await;
    let post = |token: &str, path: &str, body: serde_json::Value| {
        api.post(app.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
    };
    for (token, path, body) in [
        (
            &sbm,
            "/api/v1/devices",
            json!({"tag": "LAP-1", "kind": "laptop", "location": "Library"}),
        ),
        (
            &sbm,
            "/api/v1/devices",
            json!({"tag": "LAP-2", "kind": "laptop", "location": "Library"}),
        ),
        (
            &sbm,
            "/api/v1/devices",
            json!({"tag": "LAP-3", "kind": "laptop", "location": "Hall"}),
        ),
        (
            &sbm,
            "/api/v1/policies",
            json!({"title": "ICT", "version_label": "v1", "issued_on": "2026-09-01", "body": "Care."}),
        ),
        (
            &other,
            "/api/v1/policies/current/signatures",
            json!({"full_name": "Other Test", "position": "Teacher"}),
        ),
        (
            &sbm,
            "/api/v1/devices/LAP-2/checkout",
            json!({"borrower": "other"}),
        ),
        (
            &other,
            "/api/v1/devices/LAP-2/incidents",
            json!({"kind": "damage", "description": "Cracked"}),
        ),
        (
            &other,
            "/api/v1/devices/LAP-1/offsite-requests",
            json!({"reason": "Trip"}),
        ),
    ] {
        let r = post(token, path, body).await.unwrap();
        assert_eq!(r.status(), 201, "{path}: {}", r.text().await.unwrap());
    }
    let store = app.store();
    let other_p = store.account_by_username("other").await.unwrap().unwrap();
    let lap1 = store
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "LAP-1")
        .await
        .unwrap()
        .unwrap();
    let offsite = store
        .pending_offsite(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()[0]
        .id
        .to_string();
    let incident = store
        .list_incidents(kitroom_core::school::SchoolId::FIRST, &Default::default())
        .await
        .unwrap()[0]
        .id
        .to_string();
    let library = app.location("Library").await.id;
    let r = post(&sbm, "/api/v1/stocktakes", json!({"location": "Library"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "stocktake: {}", r.text().await.unwrap());
    let stocktake: serde_json::Value = r.json().await.unwrap();
    let stocktake = stocktake["id"].as_str().unwrap().to_owned();
    let other_token = store.list_tokens(other_p.id).await.unwrap()[0].id.clone();
    // a set, and someone else's booking: only a manager or admin may cancel or
    // collect it
    let set = app.make_set("Trolley", "", &[]).await;
    let starts = chrono::Utc::now() + chrono::Duration::days(30);
    let r = post(
        &other,
        "/api/v1/bookings",
        json!({"device": "LAP-3", "starts_at": starts, "ends_at": starts + chrono::Duration::hours(1)}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201, "booking: {}", r.text().await.unwrap());
    let booking: serde_json::Value = r.json().await.unwrap();
    let booking = booking["id"].as_str().unwrap().to_owned();

    let policy = store
        .current_policy(kitroom_core::school::SchoolId::FIRST)
        .await
        .unwrap()
        .unwrap()
        .id
        .to_string();
    let r = post(&sbm, "/api/v1/accessories", json!({"name": "Role charger"}))
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "accessory: {}", r.text().await.unwrap());
    let accessory: serde_json::Value = r.json().await.unwrap();
    let accessory = accessory["id"].as_str().unwrap().to_owned();
    Fixtures {
        subs: vec![
            (":accessory", accessory),
            (":other_token", other_token),
            (":set", set.to_string()),
            (":booking", booking),
            (":offsite", offsite),
            (":change", uuid_like()),
            (":location", library.to_string()),
            (":policy", policy),
            (":incident", incident),
            (":stocktake", stocktake),
            (":device", lap1.id.to_string()),
        ],
    }
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".into()
}

/// The request for one row of the matrix: under `/api/` with `token` (none:
/// anonymous) and `body` as JSON; otherwise as the signed-in `web` client, a form
/// with `csrf` added.
pub(crate) fn request(
    app: &TestApp,
    web: &Client,
    token: Option<&str>,
    csrf: &str,
    method: &str,
    path: &str,
    body: String,
) -> reqwest::RequestBuilder {
    let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
    let url = app.url(path);
    if path.starts_with("/api/") {
        let c = Client::new().request(method.clone(), url);
        let c = match token {
            Some(t) => c.bearer_auth(t),
            None => c,
        };
        if method == reqwest::Method::GET {
            c
        } else {
            c.header("content-type", "application/json")
                .body(if body.is_empty() {
                    "{}".to_owned()
                } else {
                    body
                })
        }
    } else if method == reqwest::Method::GET {
        web.get(url)
    } else {
        let mut form = format!("csrf={csrf}");
        if !body.is_empty() {
            form.push('&');
            form.push_str(&body);
        }
        web.request(method, url)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
    }
}

/// What one request got, as a letter of the matrix.
pub(crate) fn letter(status: u16, location: Option<&str>) -> char {
    match status {
        303 if location.is_some_and(|l| l.starts_with("/login")) => 'L',
        401 => 'U',
        403 => 'F',
        404 => 'N',
        s if s >= 500 => '!',
        _ => 'O',
    }
}

/// A borrower could edit the register or accounts by typing an address, see another
/// person's incident or history by changing an id, or a manager could take over an
/// admin account.
#[tokio::test]
async fn every_route_answers_each_role_as_the_matrix_says() {
    let app = spawn_app().await;
    let fx = fixtures(&app).await;
    let roles = [
        "anonymous",
        "borrower",
        "head",
        "manager",
        "admin",
        "trust_manager",
        "trust_admin",
    ];
    let mut mismatches = Vec::new();
    let mut observed: Vec<String> = vec![String::new(); MATRIX.len()];
    for (r, role) in roles.iter().enumerate() {
        let me = format!("as-{role}");
        let (web, token) = if *role == "anonymous" {
            let c = app.client();
            (c, None)
        } else {
            let c = app.signed_in(&me, role).await;
            let t = app.token_for(&me).await;
            (c, Some(t))
        };
        let csrf = app
            .csrf(
                &web,
                if token.is_none() {
                    "/login"
                } else {
                    "/account"
                },
            )
            .await;
        for (i, (method, route, path, body, expected)) in MATRIX.iter().enumerate() {
            let mut path = path.replace(":me", &me);
            let mut body = body.replace(":me", &me);
            for (k, v) in &fx.subs {
                path = path.replace(k, v);
                body = body.replace(k, v);
            }
            let req = request(&app, &web, token.as_deref(), &csrf, method, &path, body);
            let resp = req.send().await.unwrap();
            let got = letter(
                resp.status().as_u16(),
                resp.headers().get("location").and_then(|l| l.to_str().ok()),
            );
            observed[i].push(got);
            let want = expected
                .chars()
                .nth(r)
                .or_else(|| expected.chars().nth(r - 2))
                .unwrap();
            if got != want {
                mismatches.push(format!(
                    "{method} {path} ({route}) as {role}: expected {want}, got {got} ({})",
                    resp.status()
                ));
            }
        }
    }
    if !mismatches.is_empty() {
        for (i, row) in MATRIX.iter().enumerate() {
            eprintln!("{:?} -> {}", (row.0, row.2), observed[i]);
        }
    }
    assert!(mismatches.is_empty(), "{mismatches:#?}");
    // another person's incident is not in a borrower's list, and their token was
    // not revoked by anyone else through the revoke route (the managers' and
    // admins' password resets of "other" revoke it, as a reset does)
    let b2 = app.api_token("b2", "borrower").await;
    let mine: serde_json::Value = Client::new()
        .get(app.url("/api/v1/incidents"))
        .bearer_auth(&b2)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(mine["total"], 0, "{mine}");
    let revoked_by_route = app
        .store()
        .list_events(&kitroom_store::events::EventFilter {
            limit: 10_000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_iter()
        .filter(|e| e.action == "token.revoked")
        .count();
    assert_eq!(revoked_by_route, 0);
    // and nothing a refused role tried was written
    assert!(app
        .store()
        .device_by_tag(kitroom_core::school::SchoolId::FIRST, "NEW-as-borrower")
        .await
        .unwrap()
        .is_none());
    assert!(app
        .store()
        .account_by_username("new-as-head")
        .await
        .unwrap()
        .is_none());
    // a manager made no head teacher; the admin did
    let store = app.store();
    let role_of = |name: &'static str| async move {
        store
            .account_by_username(name)
            .await
            .unwrap()
            .map(|p| p.role.as_str())
    };
    assert_eq!(role_of("head-as-manager").await, None);
    assert_eq!(role_of("head-as-admin").await, Some("head"));
}

/// A manager could make themselves or a friend an administrator.
#[tokio::test]
async fn a_manager_cannot_hand_out_the_admin_role() {
    let app = spawn_app().await;
    let c = app.signed_in("sbm", "manager").await;
    let r = app
        .submit(
            &c,
            "/people/new",
            "/people",
            &[
                ("username", "friend"),
                ("full_name", "A Friend"),
                ("role", "admin"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("Only an IT administrator can manage administrator accounts"));
    let r = app
        .submit(
            &c,
            "/people/sbm/edit",
            "/people/sbm/edit",
            &[
                ("username", "sbm"),
                ("full_name", "Sbm Test"),
                ("role", "head"),
            ],
        )
        .await;
    assert_eq!(r.status(), 422);
    assert!(r
        .text()
        .await
        .unwrap()
        .contains("You cannot change your own role"));
}
