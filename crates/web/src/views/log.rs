//! The activity log.

use kitroom_core::Invalid;
use kitroom_store::events::Event;
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
    html! {
        @if events.is_empty() {
            p.muted { "Nothing has been recorded yet." }
        } @else {
            table.events {
                thead { tr { th { "When" } th { "Who" } th { "What" } @if with_subject { th { "About" } } th { "Details" } } }
                tbody {
                    @for e in events {
                        tr {
                            td.when { time datetime=(e.at) { (time::when_text(&e.at)) } }
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

pub fn page(ctx: &Ctx, q: &LogQuery, events: &[Event], invalid: &Invalid) -> Markup {
    let older = events
        .last()
        .filter(|_| events.len() as i64 == PER_PAGE)
        .map(|e| {
            let qs = serde_urlencoded::to_string([
                ("person", q.person.as_str()),
                ("device", q.device.as_str()),
                ("from", q.from.as_str()),
                ("to", q.to.as_str()),
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
            p.lead { "Every change in Kitroom, newest first. Entries cannot be changed or removed." }
            (error_summary(invalid))
            @let filtered = !(q.person.is_empty() && q.device.is_empty() && q.from.is_empty() && q.to.is_empty());
            form.filters method="get" action="/log" {
                details.more-filters open[filtered || !invalid.is_empty()] {
                    summary { "Filter by person, device or date" }
                    div.filter-grid {
                        (Field::text("person", "Person (username)", &q.person).filter().render(invalid))
                        (Field::text("device", "Device (asset tag)", &q.device).filter().render(invalid))
                        (Field::text("from", "From", &q.from).kind("date").filter().render(invalid))
                        (Field::text("to", "To", &q.to).kind("date").filter().render(invalid))
                    }
                    div.actions { button.secondary type="submit" { "Filter" } @if filtered { a href="/log" { "Clear" } } }
                }
            }
            (events_table(events, true))
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
    pub before: Option<i64>,
}
