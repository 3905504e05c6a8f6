//! Disposal: retiring a device at the end of its life, with who authorised it, how
//! it went, to whom, and, for a device that may hold personal data, the evidence that
//! its storage was wiped or destroyed.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::device::{parse_date, words};
use crate::invalid::{self, Invalid};

words!(
    /// How a device left the school.
    DisposalMethod, "disposal method" {
        Recycled = "recycled", "Recycled (WEEE)";
        Sold = "sold", "Sold";
        Donated = "donated", "Donated";
        Destroyed = "destroyed", "Destroyed";
        ReturnedToLessor = "returned_to_lessor", "Returned to lessor";
    }
);

/// The disposal form as typed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct DisposalInput {
    pub authorised_by: String,
    pub disposed_on: String,
    pub method: String,
    pub recipient: String,
    pub recipient_reference: String,
    pub wipe_evidence: String,
}

/// A disposal, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisposalDetails {
    pub authorised_by: String,
    pub disposed_on: NaiveDate,
    pub method: DisposalMethod,
    pub recipient: String,
    pub recipient_reference: String,
    pub wipe_evidence: Option<String>,
}

impl DisposalInput {
    /// Checks the form; `holds_personal_data` makes the wipe evidence required.
    pub fn parse(
        &self,
        holds_personal_data: bool,
        today: NaiveDate,
    ) -> Result<DisposalDetails, Invalid> {
        let mut invalid = Invalid::new();
        let authorised_by = invalid.check(
            "authorised_by",
            invalid::required_text(&self.authorised_by, "Who authorised it", 120),
        );
        let disposed_on = invalid.check(
            "disposed_on",
            parse_date(&self.disposed_on, "The date").and_then(|d| match d {
                None => Ok(today),
                Some(d) if d > today => Err("The disposal date cannot be in the future.".into()),
                Some(d) => Ok(d),
            }),
        );
        let method = invalid.check(
            "method",
            if self.method.trim().is_empty() {
                Err("Choose how the device was disposed of.".to_string())
            } else {
                self.method.parse()
            },
        );
        let recipient = invalid.check(
            "recipient",
            invalid::required_text(&self.recipient, "Who received it", 200),
        );
        let recipient_reference = invalid.check(
            "recipient_reference",
            invalid::text(&self.recipient_reference, "Their reference", 120),
        );
        let wipe = invalid.check(
            "wipe_evidence",
            invalid::text(&self.wipe_evidence, "Evidence of data wiping", 300),
        );
        if holds_personal_data && wipe.as_deref().is_some_and(str::is_empty) {
            invalid.add(
                "wipe_evidence",
                "This device may hold personal data, so record the evidence that its storage was wiped or destroyed (for example the certificate number) before disposing of it.",
            );
        }
        invalid.into_result()?;
        match (
            authorised_by,
            disposed_on,
            method,
            recipient,
            recipient_reference,
            wipe,
        ) {
            (
                Some(authorised_by),
                Some(disposed_on),
                Some(method),
                Some(recipient),
                Some(recipient_reference),
                Some(wipe),
            ) => Ok(DisposalDetails {
                authorised_by,
                disposed_on,
                method,
                recipient,
                recipient_reference,
                wipe_evidence: Some(wipe).filter(|w| !w.is_empty()),
            }),
            _ => unreachable!("every field was checked above"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 23).unwrap()
    }

    #[test]
    fn a_device_with_personal_data_needs_wipe_evidence() {
        let input = DisposalInput {
            authorised_by: "Ruth Okafor, head teacher".into(),
            method: "recycled".into(),
            recipient: "GreenTech Recycling".into(),
            recipient_reference: "CBDU123456".into(),
            ..Default::default()
        };
        let err = input.parse(true, today()).unwrap_err();
        assert!(err
            .for_field("wipe_evidence")
            .unwrap()
            .contains("certificate"));
        assert!(
            input.parse(false, today()).is_ok(),
            "no data, no evidence needed"
        );
        let wiped = DisposalInput {
            wipe_evidence: "Certificate DW-2026-0042".into(),
            ..input
        };
        let d = wiped.parse(true, today()).unwrap();
        assert_eq!(d.disposed_on, today());
        assert_eq!(d.method, DisposalMethod::Recycled);
    }
}
