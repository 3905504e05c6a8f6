//! Validation errors that name the field they belong to, so a form can show each one
//! beside its field and an API can return them in a list.

use std::fmt;

/// One problem with one field, worded for a teacher.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FieldError {
    /// The form field or JSON key the problem is about.
    pub field: &'static str,
    pub message: String,
}

/// Every problem found in one submission. Never empty when returned as an error.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
#[serde(transparent)]
pub struct Invalid(pub Vec<FieldError>);

impl Invalid {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn one(field: &'static str, message: impl Into<String>) -> Self {
        let mut me = Self::new();
        me.add(field, message);
        me
    }

    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push(FieldError {
            field,
            message: message.into(),
        });
    }

    /// Records the error of a field check, and gives back its value when it passed.
    pub fn check<T>(&mut self, field: &'static str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(message) => {
                self.add(field, message);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The message for one field, if it has one.
    pub fn for_field(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.field == field)
            .map(|e| e.message.as_str())
    }

    /// `Ok(())` when nothing was found, the errors otherwise.
    pub fn into_result(self) -> Result<(), Invalid> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for Invalid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let messages: Vec<&str> = self.0.iter().map(|e| e.message.as_str()).collect();
        f.write_str(&messages.join(" "))
    }
}

impl std::error::Error for Invalid {}

/// Trims a text field and refuses it when it is longer than `max` characters.
pub fn text(value: &str, label: &str, max: usize) -> Result<String, String> {
    let value = value.trim();
    if value.chars().count() > max {
        return Err(format!("{label} must be {max} characters or fewer."));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\r' && c != '\t')
    {
        return Err(format!(
            "{label} contains characters that cannot be stored."
        ));
    }
    Ok(value.to_owned())
}

/// Like [`text`], but refuses an empty value.
pub fn required_text(value: &str, label: &str, max: usize) -> Result<String, String> {
    let value = text(value, label, max)?;
    if value.is_empty() {
        return Err(format!("Enter {}.", article(label)));
    }
    Ok(value)
}

fn article(label: &str) -> String {
    let lower = label.to_lowercase();
    match lower.chars().next() {
        Some('a' | 'e' | 'i' | 'o' | 'u') => format!("an {lower}"),
        _ => format!("a {lower}"),
    }
}

/// Every form's checks against hostile text: whatever is typed or sent, an answer
/// and never a panic, and nothing accepted carries a NUL or other control character
/// (a newline only where a note may have lines).
#[cfg(test)]
mod hostile {
    use chrono::{NaiveDate, TimeZone, Utc};
    use proptest::prelude::*;

    use crate::device::DeviceInput;
    use crate::incident::ReportInput;
    use crate::person::PersonInput;
    use crate::policy::{PolicyInput, SignatureInput};

    fn text() -> impl Strategy<Value = String> {
        prop_oneof![
            any::<String>(),
            "[ -~]{0,40}",
            Just("\0".to_owned()),
            Just("a\u{0}b".to_owned()),
            Just("\u{202e}gnp.exe".to_owned()),
            Just("<script>alert(1)</script>".to_owned()),
            Just("=HYPERLINK(\"x\")".to_owned()),
            Just("-99999999999999999999".to_owned()),
            Just("99999999999999999999999.99".to_owned()),
            Just("£-0.01".to_owned()),
            Just("1e309".to_owned()),
            Just("2026-02-30".to_owned()),
            Just("9999-12-31".to_owned()),
            Just("%_".to_owned()),
            Just("x".repeat(10_000)),
            Just("laptop".to_owned()),
            Just("admin".to_owned()),
            Just("loss".to_owned()),
        ]
    }

    fn clean(s: &str, lines: bool) -> bool {
        !s.chars()
            .any(|c| c.is_control() && !(lines && (c == '\n' || c == '\r' || c == '\t')))
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn device_forms(f in proptest::collection::vec(text(), 15)) {
            let input = DeviceInput {
                tag: f[0].clone(), kind: f[1].clone(), make: f[2].clone(), model: f[3].clone(),
                serial: f[4].clone(), location: f[5].clone(), condition: f[6].clone(),
                purchased_on: f[7].clone(), cost: f[8].clone(), supplier: f[9].clone(),
                warranty_until: f[10].clone(), notes: f[11].clone(), encryption_state: f[12].clone(),
                encryption_method: f[13].clone(), encryption_verified_on: f[14].clone(),
                ..Default::default()
            };
            if let Ok(d) = input.parse(NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()) {
                for s in [d.tag.as_str(), &d.make, &d.model, &d.serial, &d.location, &d.supplier] {
                    prop_assert!(clean(s, false), "{s:?}");
                }
                prop_assert!(clean(&d.notes, true));
                prop_assert!(d.cost.is_none_or(|c| c.0 >= 0));
            }
        }

        #[test]
        fn people_forms(f in proptest::collection::vec(text(), 6)) {
            let input = PersonInput {
                username: f[0].clone(), full_name: f[1].clone(), email: f[2].clone(),
                position: f[3].clone(), kind: f[4].clone(), role: f[5].clone(),
            };
            if let Ok(p) = input.parse() {
                for s in [p.username.as_str(), &p.full_name, &p.position, p.email.as_deref().unwrap_or("")] {
                    prop_assert!(clean(s, false), "{s:?}");
                }
            }
        }

        #[test]
        fn incident_forms(f in proptest::collection::vec(text(), 6)) {
            let input = ReportInput {
                kind: f[0].clone(), occurred_on: f[1].clone(), occurred_time: f[2].clone(),
                place: f[3].clone(), description: f[4].clone(), police_reference: f[5].clone(),
            };
            let now = Utc.with_ymd_and_hms(2026, 11, 23, 10, 0, 0).unwrap();
            if let Ok(r) = input.parse(now) {
                prop_assert!(r.occurred_at <= now + chrono::Duration::minutes(5));
                prop_assert!(clean(&r.place, false));
                prop_assert!(clean(&r.description, true));
            }
        }

        #[test]
        fn policy_and_signature_forms(f in proptest::collection::vec(text(), 6), agree in any::<bool>()) {
            let _ = PolicyInput {
                title: f[0].clone(), version_label: f[1].clone(), issued_on: f[2].clone(), body: f[3].clone(),
            }
            .parse();
            let _ = SignatureInput { full_name: f[4].clone(), position: f[5].clone(), agree }.parse(true);
        }
    }
}
