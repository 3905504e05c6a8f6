//! The activity log.

use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::events::Event;
use kitroom_store::schools::School;
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::{error_summary, page as layout, Field, Section};
use crate::auth::ctx::Ctx;
use crate::time;

/// Words for an action.
fn action_label(action: &str) -> &str {
    match action {
        "device.registered" => "Registered",
        "device.updated" => "Details changed",
        "device.status_changed" => "Status changed",
        "location.created" => "Location added",
        "location.renamed" => "Location renamed",
        "school.added" => "School added",
        "person.created" => "Account created",
        "person.updated" => "Account changed",
        "person.deactivated" => "Account deactivated",
        "person.reactivated" => "Account reactivated",
        "person.password_changed" => "Password changed",
        "person.password_reset" => "Password reset",
        "person.invited" => "Invitation sent",
        "person.invitation_accepted" => "Invitation accepted: password chosen",
        "person.reset_requested" => "Password reset link emailed",
        "person.password_reset_by_email" => "Password reset through an emailed link",
        "person.reset_throttled" => {
            "Password reset requests refused: too many (one entry per wait)"
        }
        "person.signed_in" => "Signed in",
        "person.signed_out" => "Signed out",
        "person.sign_in_failed" => "Sign-in failed",
        "person.sign_in_throttled" => "Sign-ins refused: too many failures (one entry per wait)",
        "person.sign_in_too_long" => "Sign-ins refused: longer than any username or password",
        "person.provider_linked" => "Linked to the school account",
        "person.provider_sign_in_refused" => {
            "Sign-ins with the school account refused: not confirmed (one entry a minute)"
        }
        "person.provider_sign_in_foreign" => {
            "Sign-ins with the school account refused: not the school's domain"
        }
        "person.provider_sign_in_unverified" => {
            "Sign-ins with the school account refused: email not verified"
        }
        "person.provider_sign_in_unknown" => {
            "Sign-ins with the school account refused: unknown person"
        }
        "person.provider_sign_in_deactivated" => {
            "Sign-ins with the school account refused: account deactivated"
        }
        "person.provider_sign_in_conflict" => {
            "Sign-ins with the school account refused: linked to another account"
        }
        "export.downloaded" => "Export downloaded",
        "person.exported" => "Personal data exported",
        "stocktake.opened" => "Stocktake opened",
        "stocktake.seen" => "Seen in stocktake",
        "stocktake.closed" => "Stocktake closed",
        "token.created" => "API token created",
        "token.revoked" => "API token revoked",
        "token.created_without_two_step" => "API token created without two-step sign-in",
        "loan.checked_out" => "Checked out",
        "loan.returned" => "Returned",
        "policy.published" => "Policy published",
        "policy.signed" => "Policy signed",
        "offsite.requested" => "Asked to take off site",
        "offsite.approved" => "Off-site approved",
        "offsite.declined" => "Off-site declined",
        "settings.changed" => "Settings changed",
        "calendar.changed" => "School calendar changed",
        "kit.created" => "Set made",
        "kit.updated" => "Set renamed or its notes changed",
        "kit.device_added" => "Added to set",
        "kit.device_removed" => "Taken out of set",
        "kit.checked_out" => "Set checked out",
        "kit.returned" => "Set returned",
        "booking.made" => "Booked",
        "checklist.changed" => "Return checklists changed",
        "loan.checklist" => "Return checklist answered",
        "kit.checklist" => "Set return checklist answered",
        "accessory.created" => "Accessory type added",
        "accessory.adjusted" => "Accessory count changed",
        "accessory.lent" => "Accessories lent",
        "accessory.returned" => "Accessories returned",
        "accessory.found" => "Accessories found again",
        "accessory.renamed" => "Accessory type renamed",
        "accessory.retired" => "Accessory type retired",
        "accessory.reinstated" => "Accessory type back in use",
        "feed.created" => "Calendar feed address made",
        "email.dismissed" => "Undelivered email dismissed",
        "booking.cancelled" => "Booking cancelled",
        "booking.released" => "Booking released: not collected",
        "booking.collected" => "Booking collected",
        "incident.reported" => "Incident reported",
        "incident.breach_decided" => "Breach decision recorded",
        "incident.updated" => "Incident updated",
        "incident.note_added" => "Incident note",
        "incident.police_reference" => "Police reference added",
        "change.requested" => "Change requested",
        "change.approved" => "Change approved",
        "change.declined" => "Change declined",
        other => other,
    }
}

fn value_text(v: &Value) -> String {
    match v {
        Value::Null => "—".into(),
        Value::String(s) if s.is_empty() => "—".into(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Partial: an event's details in words: "model: Latitude → Latitude 5440".
fn details(e: &Event) -> Markup {
    let Value::Object(map) = e.details_json() else {
        return html! {};
    };
    html! {
        ul.details {
            @for (k, v) in &map {
                @match v {
                    Value::Object(change) if change.contains_key("from") && change.contains_key("to") => {
                        li { span.field { (k.replace('_', " ")) } ": " (value_text(&change["from"])) " → " (value_text(&change["to"])) }
                    }
                    Value::Null => {},
                    Value::String(s) if s.is_empty() => {},
                    Value::Bool(false) if e.action == "device.registered" => {},
                    other => { li { span.field { (k.replace('_', " ")) } ": " (value_text(other)) } }
                }
            }
        }
    }
}

/// The events as a table; `with_subject` adds the column naming what each is about.
pub fn events_table(events: &[Event], with_subject: bool) -> Markup {
    table(events, with_subject, None)
}

/// Partial: [`events_table`], with a column naming each event's school when
/// `schools` (the trust's view of the log).
fn table(events: &[Event], with_subject: bool, schools: Option<&[School]>) -> Markup {
    let school_of = |e: &Event| match e.school_id {
        Some(id) => schools
            .unwrap_or_default()
            .iter()
            .find(|s| s.id.0 == id)
            .map_or_else(|| format!("School {id}"), |s| s.name.clone()),
        None => "The trust".to_owned(),
    };
    html! {
        @if events.is_empty() {
            p.muted { "Nothing has been recorded yet." }
        } @else {
            table.events {
                thead { tr { th { "When" } @if schools.is_some() { th { "School" } } th { "Who" } th { "What" } @if with_subject { th { "About" } } th { "Details" } } }
                tbody {
                    @for e in events {
                        tr {
                            td.when { time datetime=(e.at) { (time::when_text(&e.at)) } }
                            @if schools.is_some() { td data-label="School" { (school_of(e)) } }
                            td data-label="Who" { (e.actor) }
                            td data-label="What" { (action_label(&e.action)) }
                            @if with_subject {
                                td data-label="About" {
                                    @if let Some(_) = e.subject.strip_prefix("device:") {
                                        a href=(crate::paths::device_url(&e.subject_label)) { (e.subject_label) }
                                    } @else { (e.subject_label) }
                                }
                            }
                            td { (details(e)) }
                        }
                    }
                }
            }
        }
    }
}

/// Who did something, for someone without the activity log: themselves, Kitroom,
/// or "a member of staff" (never another person's username).
fn who(username: &str, viewer: &str) -> &'static str {
    match username {
        u if u == viewer => "you",
        "system" => "Kitroom",
        _ => "a member of staff",
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

/// A device field's name in words, for someone reading a device's history.
fn field_words(field: &str) -> String {
    match field {
        "location" => "home".into(),
        "cost_pence" => "cost".into(),
        "serial" => "serial number".into(),
        "purchased_on" => "purchase date".into(),
        "warranty_until" => "warranty end".into(),
        "encryption_state" | "encryption_method" | "encryption_verified_on" => {
            "encryption record".into()
        }
        "passcode_enforced" => "passcode setting".into(),
        "holds_personal_data" => "personal data setting".into(),
        "captures_images" => "photos setting".into(),
        other => other.replace('_', " "),
    }
}

/// A recorded value in words: money in pounds, dates the school's way, words
/// of the register as their labels.
fn value_words(field: &str, v: &Value) -> String {
    use kitroom_core::device::{Condition, DeviceKind, Pence};
    match v {
        Value::Null => "nothing".into(),
        Value::String(s) if s.is_empty() => "nothing".into(),
        Value::Number(n) if field.ends_with("_pence") => Pence(n.as_i64().unwrap_or(0)).to_string(),
        Value::String(s) if field == "condition" => s
            .parse::<Condition>()
            .map(|c| c.label().to_owned())
            .unwrap_or_else(|_| s.clone()),
        Value::String(s) if field == "kind" => s
            .parse::<DeviceKind>()
            .map(|k| k.label().to_owned())
            .unwrap_or_else(|_| s.clone()),
        Value::String(s) => match chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => time::date(d),
            Err(_) => s.clone(),
        },
        Value::Bool(b) => if *b { "yes" } else { "no" }.into(),
        other => other.to_string(),
    }
}

fn status_words(v: &Value) -> String {
    v.as_str()
        .and_then(|s| s.parse::<kitroom_core::device::DeviceStatus>().ok())
        .map(|s| s.label().to_lowercase())
        .unwrap_or_else(|| "another status".into())
}

/// One event about a device as a sentence, for someone without the activity log:
/// no usernames but their own ("you"), no record ids, money in pounds, times in
/// school time.
fn sentence(e: &Event, viewer: &str) -> String {
    let d = e.details_json();
    let actor = who(&e.actor, viewer);
    let text = |k: &str| d[k].as_str().unwrap_or("").to_owned();
    let s = match e.action.as_str() {
        "device.registered" => format!("added to the register by {actor}"),
        "device.updated" => {
            let mut changed = Vec::new();
            let mut others: Vec<String> = Vec::new();
            if let Value::Object(map) = &d {
                for (k, v) in map {
                    let Value::Object(change) = v else { continue };
                    if !(change.contains_key("from") && change.contains_key("to")) {
                        continue;
                    }
                    match k.as_str() {
                        "location" | "cost_pence" | "condition" | "kind" | "make" | "model"
                        | "tag" | "purchased_on" | "warranty_until" => changed.push(format!(
                            "its {} from {} to {}",
                            field_words(k),
                            value_words(k, &change["from"]),
                            value_words(k, &change["to"])
                        )),
                        _ => {
                            let w = field_words(k);
                            if !others.contains(&w) {
                                others.push(w);
                            }
                        }
                    }
                }
            }
            match (changed.is_empty(), others.is_empty()) {
                (true, true) => format!("{actor} changed its details"),
                (true, false) => format!("{actor} changed its {}", others.join(", ")),
                (false, true) => format!("{actor} changed {}", changed.join("; ")),
                (false, false) => format!(
                    "{actor} changed {}, and its {}",
                    changed.join("; "),
                    others.join(", ")
                ),
            }
        }
        "device.status_changed" => format!(
            "{actor} changed its status from {} to {}",
            status_words(&d["from"]),
            status_words(&d["to"])
        ),
        "loan.checked_out" => {
            let borrower = text("borrower");
            let mut s = if borrower == e.actor {
                format!("{actor} checked it out")
            } else {
                format!("{actor} lent it to {}", who(&borrower, viewer))
            };
            if let Some(due) = d["due_at"].as_str() {
                s.push_str(&format!(", due back {}", time::when_text(due)));
            }
            if d["off_site"] == Value::Bool(true) {
                s.push_str(", to take off site");
            }
            s
        }
        "loan.returned" => {
            let borrower = text("borrower");
            let mut s = if borrower == e.actor {
                format!("{actor} returned it to {}", text("location"))
            } else {
                format!(
                    "{actor} took it back from {} at {}",
                    who(&borrower, viewer),
                    text("location")
                )
            };
            if text("condition") == "damaged" {
                s.push_str(", damaged");
            }
            if d["on_charge"] == Value::Bool(true) {
                s.push_str(", and it went on charge");
            }
            s
        }
        "incident.reported" => {
            let what = match text("kind").as_str() {
                "damage" => "damaged",
                "loss" => "lost",
                "theft" => "stolen",
                _ => "missing or damaged",
            };
            format!("{actor} reported it {what}")
        }
        "stocktake.seen" => format!("{actor} saw it in a stocktake"),
        "kit.device_added" => format!("{actor} added it to a set"),
        "kit.device_removed" => format!("{actor} took it out of a set"),
        "kit.checked_out" => format!("{actor} checked it out with its set"),
        "kit.returned" => format!("{actor} returned it with its set"),
        "offsite.requested" => format!("{actor} asked to take it off site"),
        "offsite.approved" => "the head teacher agreed it may go off site".into(),
        "offsite.declined" => "the head teacher declined taking it off site".into(),
        "change.requested" => format!("change requested by {actor}"),
        "change.approved" => "change approved by the head teacher".into(),
        "change.declined" => "change declined by the head teacher".into(),
        other => format!("{} ({actor})", action_label(other).to_lowercase()),
    };
    format!("{}.", capitalised(&s))
}

/// A device's history as sentences, for those without the activity log.
pub fn device_story(events: &[Event], viewer: &str) -> Markup {
    html! {
        @if events.is_empty() {
            p.muted { "Nothing has been recorded yet." }
        } @else {
            ol.story {
                @for e in events {
                    li { time datetime=(e.at) { (time::when_text(&e.at)) } " — " (sentence(e, viewer)) }
                }
            }
        }
    }
}

/// The log page; the trust's view of it (every school, and a school column) when
/// `schools` lists the deployment's schools.
pub fn page(
    ctx: &Ctx,
    q: &LogQuery,
    events: &[Event],
    schools: &[School],
    invalid: &Invalid,
) -> Markup {
    let trust = q.is_trust();
    let older = events
        .last()
        .filter(|_| events.len() as i64 == PER_PAGE)
        .map(|e| {
            let qs = serde_urlencoded::to_string([
                ("person", q.person.as_str()),
                ("device", q.device.as_str()),
                ("from", q.from.as_str()),
                ("to", q.to.as_str()),
                ("scope", q.scope.as_str()),
                ("before", &e.seq.to_string()),
            ])
            .unwrap_or_default();
            format!("/log?{qs}")
        });
    layout(
        ctx,
        Section::Log,
        "Activity log",
        html! {
            p.lead {
                @if trust { "Every change at every school of the trust, and the trust's own, newest first. " }
                @else { "Every change in Kitroom, newest first. " }
                "Entries cannot be changed or removed."
            }
            @if ctx.may(Permission::ViewTrust) {
                nav.tabs aria-label="Whose log" {
                    a href="/log" aria-current=[(!trust).then_some("page")] { (ctx.school_name()) }
                    " "
                    a href="/log?scope=trust" aria-current=[trust.then_some("page")] { "Every school" }
                }
            }
            (error_summary(invalid))
            @let filtered = !(q.person.is_empty() && q.device.is_empty() && q.from.is_empty() && q.to.is_empty());
            form.filters method="get" action="/log" {
                @if trust { input type="hidden" name="scope" value="trust"; }
                details.more-filters open[filtered || !invalid.is_empty()] {
                    summary { "Filter by person, device or date" }
                    div.filter-grid {
                        (Field::text("person", "Person (username)", &q.person).filter().render(invalid))
                        (Field::text("device", "Device (asset tag)", &q.device).filter().render(invalid))
                        (Field::text("from", "From", &q.from).kind("date").filter().render(invalid))
                        (Field::text("to", "To", &q.to).kind("date").filter().render(invalid))
                    }
                    div.actions { button.secondary type="submit" { "Filter" } @if filtered { a href=(if trust { "/log?scope=trust" } else { "/log" }) { "Clear" } } }
                }
            }
            (table(events, true, trust.then_some(schools)))
            @if let Some(href) = older { nav.pagination { a rel="next" href=(href) { "Older entries →" } } }
        },
    )
}

pub const PER_PAGE: i64 = 100;

/// The log's filters, as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct LogQuery {
    pub person: String,
    pub device: String,
    pub from: String,
    pub to: String,
    /// `trust`: every school's events (the trust's own staff).
    pub scope: String,
    pub before: Option<i64>,
}

impl LogQuery {
    pub fn is_trust(&self) -> bool {
        self.scope == "trust"
    }
}
