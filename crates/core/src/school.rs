//! Schools: a trust's Kitroom holds several in one deployment, and every device,
//! location, loan and report belongs to one of them. A deployment with one school
//! never shows it: that school is [`SchoolId::FIRST`], the one every database had
//! before there were schools (migration `0021_schools`).

use std::fmt;

use serde::{Deserialize, Serialize};

/// Which school a record belongs to, or a request acts in. Every store function that
/// reads or writes a school's records takes one, so that one school's page, form or
/// API call never reaches another's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SchoolId(pub i64);

impl SchoolId {
    /// The school a deployment starts with, which holds what was there before schools.
    pub const FIRST: SchoolId = SchoolId(1);
}

impl fmt::Display for SchoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A school's short name, given at the command line (`--school st-marys`): one to
/// 40 lower-case letters, digits and hyphens, starting with a letter or a digit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(transparent)]
pub struct SchoolSlug(String);

impl SchoolSlug {
    pub const MAX: usize = 40;

    /// Checks a short name as typed (its case and surrounding spaces aside).
    pub fn parse(s: &str) -> Result<SchoolSlug, String> {
        let s = s.trim().to_ascii_lowercase();
        let fits = !s.is_empty()
            && s.len() <= Self::MAX
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !s.starts_with('-');
        if fits {
            Ok(SchoolSlug(s))
        } else {
            Err(format!(
                "A school's short name is 1 to {} lower-case letters, digits and hyphens, like “st-marys”.",
                Self::MAX
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SchoolSlug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_name_is_lower_case_letters_digits_and_hyphens() {
        assert_eq!(
            SchoolSlug::parse(" St-Marys ").unwrap().as_str(),
            "st-marys"
        );
        assert_eq!(SchoolSlug::parse("school2").unwrap().as_str(), "school2");
        for bad in ["", "-x", "st marys", "é", "a/b", &"a".repeat(41)] {
            assert!(SchoolSlug::parse(bad).is_err(), "{bad:?}");
        }
    }
}
