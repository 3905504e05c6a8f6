//! Change requests: permission from the head teacher to install or change software
//! or hardware on a school device.

use crate::invalid::{self, Invalid};

/// A request as typed.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct ChangeInput {
    pub what: String,
    pub why: String,
}

/// A request, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeDetails {
    pub what: String,
    pub why: String,
}

impl ChangeInput {
    pub fn parse(&self) -> Result<ChangeDetails, Invalid> {
        let mut invalid = Invalid::new();
        let what = invalid.check(
            "what",
            invalid::required_text(&self.what, "What you want to install or change", 300),
        );
        let why = invalid.check("why", invalid::required_text(&self.why, "Why", 2000));
        invalid.into_result()?;
        match (what, why) {
            (Some(what), Some(why)) => Ok(ChangeDetails { what, why }),
            _ => unreachable!("every field was checked above"),
        }
    }
}

/// A request to the head (a change, or taking a device off site) that is no longer
/// waiting for a decision.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("This request has already been decided.")]
pub struct AlreadyDecided;

/// The head's decision on a request whose status is `status`: the new status, or
/// a refusal when it was decided before.
pub fn decide(status: &str, approve: bool) -> Result<&'static str, AlreadyDecided> {
    if status != "pending" {
        return Err(AlreadyDecided);
    }
    Ok(if approve { "approved" } else { "declined" })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_change_request_says_what_and_why() {
        let err = ChangeInput::default().parse().unwrap_err();
        assert!(err.for_field("what").is_some() && err.for_field("why").is_some());
        let ok = ChangeInput {
            what: "Scratch 3".into(),
            why: "Year 5 coding".into(),
        }
        .parse()
        .unwrap();
        assert_eq!(ok.what, "Scratch 3");
    }
}
