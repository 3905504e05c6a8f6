//! The address people use to reach Kitroom, and the links in email built from it.
//!
//! An email's link is read later, by someone else, away from the page: it must come
//! from what the school configured, never from a request. A request's `Host` header
//! is whatever its sender typed, so a borrower could otherwise make Kitroom mail
//! every manager a link to a site of their own. [`PublicUrl`] can only be made from
//! the configuration (`--public-url`), and the functions that write email take one,
//! so an address from a request has no way in.

use std::fmt;

/// The school's configured address for Kitroom, such as
/// `https://kitroom.school.example`, without a trailing slash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl(String);

impl PublicUrl {
    /// Checks a configured address: `http://` or `https://`, a host, nothing after
    /// the path (no `?` or `#`), no spaces.
    pub fn parse(text: &str) -> Result<PublicUrl, String> {
        let text = text.trim();
        let rest = text
            .strip_prefix("https://")
            .or_else(|| text.strip_prefix("http://"))
            .ok_or_else(|| {
                format!("the public address {text:?} must start with https:// or http://")
            })?;
        let host = rest.split('/').next().unwrap_or("");
        if host.is_empty() {
            return Err(format!("the public address {text:?} has no host name"));
        }
        if text.contains(|c: char| c.is_whitespace() || c == '?' || c == '#' || c == '@') {
            return Err(format!(
                "the public address {text:?} must be a plain address, like https://kitroom.school.example"
            ));
        }
        Ok(PublicUrl(text.trim_end_matches('/').to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The full address of a path in Kitroom (`path` starts with `/`).
    pub fn link(&self, path: &str) -> String {
        format!("{}{path}", self.0)
    }

    /// The host name alone, without scheme, port or path: the domain of the
    /// Message-IDs in Kitroom's email.
    pub fn host(&self) -> &str {
        let rest = self.0.split_once("://").map_or(self.0.as_str(), |(_, r)| r);
        let authority = rest.split('/').next().unwrap_or(rest);
        match authority.strip_prefix('[') {
            // an IPv6 address keeps its brackets
            Some(v6) => v6
                .split_once(']')
                .map_or(authority, |(ip, _)| &authority[..ip.len() + 2]),
            None => authority.split(':').next().unwrap_or(authority),
        }
    }
}

impl fmt::Display for PublicUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The line of an email that takes the reader to Kitroom: `"{action}: {link}"` with a
/// public address; without one, no link at all but the page to open in words
/// (`"Open {page} in Kitroom{then}"`).
pub fn email_pointer(
    base: Option<&PublicUrl>,
    action: &str,
    path: &str,
    page: &str,
    then: &str,
) -> String {
    match base {
        Some(base) => format!("{action}: {}", base.link(path)),
        None => format!("Open {page} in Kitroom{then}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_is_the_address_without_scheme_port_or_path() {
        let host = |u: &str| PublicUrl::parse(u).unwrap().host().to_owned();
        assert_eq!(
            host("https://kitroom.school.example/"),
            "kitroom.school.example"
        );
        assert_eq!(host("http://school.example:8080/kitroom"), "school.example");
        assert_eq!(host("http://[::1]:8080"), "[::1]");
    }

    #[test]
    fn a_public_address_is_a_plain_http_address() {
        let u = PublicUrl::parse("https://kitroom.school.example/").unwrap();
        assert_eq!(u.as_str(), "https://kitroom.school.example");
        assert_eq!(
            u.link("/incidents/1"),
            "https://kitroom.school.example/incidents/1"
        );
        assert!(PublicUrl::parse("kitroom.school.example").is_err());
        assert!(PublicUrl::parse("https://").is_err());
        assert!(PublicUrl::parse("https://a.example/?x=1").is_err());
        assert!(PublicUrl::parse("https://me@evil.example").is_err());
    }

    #[test]
    fn without_a_public_address_an_email_names_the_page() {
        assert_eq!(
            email_pointer(None, "Open the incident", "/incidents/1", "Incidents", "."),
            "Open Incidents in Kitroom."
        );
        let u = PublicUrl::parse("https://k.example").unwrap();
        assert_eq!(
            email_pointer(
                Some(&u),
                "Open the incident",
                "/incidents/1",
                "Incidents",
                "."
            ),
            "Open the incident: https://k.example/incidents/1"
        );
    }
}
