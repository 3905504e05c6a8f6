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

/// Why a version cannot be published or signed as asked: each a conflict with what
/// is in the register now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyRefusal {
    /// A version with this label is published already.
    VersionTaken(String),
    /// The version read is no longer the one in force: a newer one was published
    /// while the person was reading.
    Superseded,
    /// This person has signed the version in force already.
    AlreadySigned,
}

impl PolicyRefusal {
    /// A stable, machine-readable code (the API's problem type).
    pub fn code(&self) -> &'static str {
        match self {
            PolicyRefusal::VersionTaken(_) => "policy-version-taken",
            PolicyRefusal::Superseded => "policy-superseded",
            PolicyRefusal::AlreadySigned => "policy-already-signed",
        }
    }

    /// The field the refusal belongs beside on the form.
    pub fn field(&self) -> &'static str {
        match self {
            PolicyRefusal::VersionTaken(_) => "version_label",
            PolicyRefusal::Superseded | PolicyRefusal::AlreadySigned => "policy",
        }
    }
}

impl std::fmt::Display for PolicyRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PolicyRefusal::VersionTaken(label) => write!(
                f,
                "Version “{label}” has already been published. Give this one a new version label."
            ),
            PolicyRefusal::Superseded => f.write_str(
                "A newer version of the policy was published while you were reading. Read the new version and sign that.",
            ),
            PolicyRefusal::AlreadySigned => {
                f.write_str("You have already signed this version of the policy.")
            }
        }
    }
}

impl std::error::Error for PolicyRefusal {}

/// Whether a version may be published under its label: labels name one version
/// each, so that a signature says which text was agreed to.
/// Whether someone with `role` (who may manage the policy) publishes where the
/// version published would be the trust's, for every school (`for_trust`): the
/// trust's own staff only; a school's managers publish their school's.
pub fn may_publish_for(role: crate::person::Role, for_trust: bool) -> bool {
    !for_trust || role.may(crate::person::Permission::ViewTrust)
}

pub fn may_publish(label: &str, label_taken: bool) -> Result<(), PolicyRefusal> {
    if label_taken {
        Err(PolicyRefusal::VersionTaken(label.to_owned()))
    } else {
        Ok(())
    }
}

/// Whether a person may sign: only the version in force (`read_is_current`: the one
/// they read is still it), and once.
pub fn may_sign(read_is_current: bool, already_signed: bool) -> Result<(), PolicyRefusal> {
    if !read_is_current {
        Err(PolicyRefusal::Superseded)
    } else if already_signed {
        Err(PolicyRefusal::AlreadySigned)
    } else {
        Ok(())
    }
}

/// The date a signature carries: the day at the school when it is signed.
pub fn signed_on(now: chrono::DateTime<chrono::Utc>) -> NaiveDate {
    now.with_timezone(&chrono_tz::Europe::London).date_naive()
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

    /// Signing an old version or signing twice is refused, the old version first.
    #[test]
    fn only_the_version_in_force_is_signed_and_once() {
        assert_eq!(may_sign(true, false), Ok(()));
        assert_eq!(may_sign(false, true), Err(PolicyRefusal::Superseded));
        assert_eq!(may_sign(true, true), Err(PolicyRefusal::AlreadySigned));
        assert_eq!(
            may_publish("v1", true),
            Err(PolicyRefusal::VersionTaken("v1".into()))
        );
        assert!(may_publish("v2", false).is_ok());
    }
}
