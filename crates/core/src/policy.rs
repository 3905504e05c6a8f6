//! The acceptable-use policy: its versions and the signatures on them.

use chrono::NaiveDate;

use crate::device::parse_date;
use crate::invalid::{self, Invalid};

/// A new version of the policy as typed, before checking.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct PolicyInput {
    pub title: String,
    pub version_label: String,
    pub issued_on: String,
    pub body: String,
}

/// A policy version, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyDetails {
    pub title: String,
    pub version_label: String,
    pub issued_on: NaiveDate,
    /// Markdown.
    pub body: String,
}

impl PolicyInput {
    pub fn parse(&self) -> Result<PolicyDetails, Invalid> {
        let mut invalid = Invalid::new();
        let title = invalid.check("title", invalid::required_text(&self.title, "Title", 200));
        let version_label = invalid.check(
            "version_label",
            invalid::required_text(&self.version_label, "Version", 40),
        );
        let issued_on = invalid.check(
            "issued_on",
            parse_date(&self.issued_on, "Issue date")
                .and_then(|d| d.ok_or_else(|| "Enter the date the policy is issued.".to_string())),
        );
        let body = invalid.check(
            "body",
            invalid::required_text(&self.body, "Policy text", 100_000),
        );
        invalid.into_result()?;
        match (title, version_label, issued_on, body) {
            (Some(title), Some(version_label), Some(issued_on), Some(body)) => Ok(PolicyDetails {
                title,
                version_label,
                issued_on,
                body,
            }),
            _ => unreachable!("every field was checked above"),
        }
    }
}

/// A signature as typed: the full name as printed and the position, like the
/// signature block of a paper policy. The date is the day it is signed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct SignatureInput {
    pub full_name: String,
    pub position: String,
    #[serde(deserialize_with = "crate::policy::agree")]
    pub agree: bool,
}

/// Accepts a checkbox's "on" as well as a JSON `true`.
pub fn agree<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    #[derive(serde::Deserialize)]
    #[serde(untagged)]
    enum Either {
        Bool(bool),
        Text(String),
    }
    Ok(match <Either as serde::Deserialize>::deserialize(d)? {
        Either::Bool(b) => b,
        Either::Text(t) => matches!(t.as_str(), "on" | "true" | "yes" | "1"),
    })
}

/// A signature, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureDetails {
    pub full_name: String,
    pub position: String,
}

impl SignatureInput {
    /// `require_agreement` is set for the page's tick box; the API's call is the
    /// agreement itself.
    pub fn parse(&self, require_agreement: bool) -> Result<SignatureDetails, Invalid> {
        let mut invalid = Invalid::new();
        let full_name = invalid.check(
            "full_name",
            invalid::required_text(&self.full_name, "Full name", 120),
        );
        let position = invalid.check(
            "position",
            invalid::required_text(&self.position, "Position", 120),
        );
        if require_agreement && !self.agree {
            invalid.add(
                "agree",
                "Tick the box to confirm you have read the policy and agree to it.",
            );
        }
        invalid.into_result()?;
        match (full_name, position) {
            (Some(full_name), Some(position)) => Ok(SignatureDetails {
                full_name,
                position,
            }),
            _ => unreachable!("every field was checked above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_policy_needs_every_part() {
        let err = PolicyInput {
            title: "ICT code".into(),
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        assert!(err.for_field("version_label").is_some());
        assert!(err.for_field("issued_on").is_some());
        assert!(err.for_field("body").is_some());
        assert!(err.for_field("title").is_none());
    }

    #[test]
    fn a_signature_needs_the_name_position_and_agreement() {
        let err = SignatureInput::default().parse(true).unwrap_err();
        assert_eq!(err.0.len(), 3);
        let ok = SignatureInput {
            full_name: " Jo Bloggs ".into(),
            position: "Teacher".into(),
            agree: true,
        }
        .parse(true)
        .unwrap();
        assert_eq!(ok.full_name, "Jo Bloggs");
        assert!(SignatureInput {
            full_name: "Jo".into(),
            position: "Governor".into(),
            agree: false
        }
        .parse(false)
        .is_ok());
    }
}
