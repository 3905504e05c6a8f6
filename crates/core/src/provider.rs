//! Signing in with the school's Google or Microsoft account (OpenID Connect): who
//! the verified ID token says this is, and whether Kitroom takes it. The token
//! itself (signature, issuer, audience, expiry, nonce) is checked by the
//! `openidconnect` crate before anything here is asked.

use crate::person::Username;

/// What the provider told us, from an ID token already verified.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Identity {
    /// The provider's subject (`sub`): stable for the person at that issuer.
    pub subject: String,
    pub email: Option<String>,
    /// `email_verified`: only `Some(true)` lets an email address match someone.
    pub email_verified: Option<bool>,
    pub name: Option<String>,
    /// Google Workspace's hosted domain (`hd`), when the token has one.
    pub hosted_domain: Option<String>,
    /// Microsoft Entra's tenant (`tid`), when the token has one.
    pub tenant: Option<String>,
    /// The authentication methods (`amr`), such as `pwd` and `mfa`.
    pub methods: Vec<String>,
}

/// Why a verified sign-in is refused, before anyone is looked up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Google's `hd` is not one of the school's domains.
    ForeignHostedDomain,
    /// Entra's `tid` is not the tenant of the configured issuer.
    ForeignTenant,
    /// No email address, or one the provider has not verified.
    Unverified,
    /// A verified email address outside the allowed domains.
    ForeignDomain,
}

impl Refused {
    /// The activity log's action for a refusal of this kind.
    pub fn action(self) -> &'static str {
        match self {
            Refused::ForeignHostedDomain | Refused::ForeignTenant | Refused::ForeignDomain => {
                "person.provider_sign_in_foreign"
            }
            Refused::Unverified => "person.provider_sign_in_unverified",
        }
    }

    /// What the person is told.
    pub fn message(self) -> &'static str {
        match self {
            Refused::ForeignHostedDomain | Refused::ForeignTenant | Refused::ForeignDomain => {
                "That account is not one of the school's. Sign in with your school account."
            }
            Refused::Unverified => {
                "Your provider has not confirmed that email address, so Kitroom cannot tell who you are. Ask the IT administrator."
            }
        }
    }
}

/// The domain of an email address, lower-case.
pub fn email_domain(email: &str) -> Option<String> {
    let (local, domain) = email.trim().rsplit_once('@')?;
    (!local.is_empty() && !domain.is_empty()).then(|| domain.to_ascii_lowercase())
}

/// Whether `domain` is one of `allowed` (case ignored).
fn allowed_domain(domain: &str, allowed: &[String]) -> bool {
    allowed.iter().any(|a| a.eq_ignore_ascii_case(domain))
}

/// The tenant named in an Entra issuer such as
/// `https://login.microsoftonline.com/<tenant>/v2.0`, when it names one.
pub fn issuer_tenant(issuer: &str) -> Option<String> {
    let rest = issuer.split_once("://")?.1;
    let (host, path) = rest.split_once('/')?;
    if !host.eq_ignore_ascii_case("login.microsoftonline.com") {
        return None;
    }
    let tenant = path.split('/').next()?;
    (!tenant.is_empty() && !matches!(tenant, "common" | "organizations" | "consumers"))
        .then(|| tenant.to_ascii_lowercase())
}

/// The checks made whatever the match: a hosted domain or tenant, when the token
/// names one, must be the school's.
pub fn check_organisation(id: &Identity, issuer: &str, allowed: &[String]) -> Result<(), Refused> {
    if let Some(hd) = &id.hosted_domain {
        if !allowed_domain(hd, allowed) {
            return Err(Refused::ForeignHostedDomain);
        }
    }
    if let (Some(tid), Some(expected)) = (&id.tenant, issuer_tenant(issuer)) {
        if !tid.eq_ignore_ascii_case(&expected) {
            return Err(Refused::ForeignTenant);
        }
    }
    Ok(())
}

/// The email address a first sign-in may be matched by: verified, in an allowed
/// domain. Lower-case.
pub fn matching_email(id: &Identity, allowed: &[String]) -> Result<String, Refused> {
    let email = id
        .email
        .as_deref()
        .filter(|_| id.email_verified == Some(true))
        .ok_or(Refused::Unverified)?;
    let domain = email_domain(email).ok_or(Refused::Unverified)?;
    if !allowed_domain(&domain, allowed) {
        return Err(Refused::ForeignDomain);
    }
    Ok(email.trim().to_ascii_lowercase())
}

/// Whether the provider says the person used more than one factor (`amr` holds
/// `mfa`, as Google, Entra and RFC 8176 write it).
pub fn used_two_factors(id: &Identity) -> bool {
    id.methods.iter().any(|m| m == "mfa")
}

/// A username for an account made at first sign-in, from the email address's
/// local part: lower-case letters, digits, `.`, `-` and `_` kept, anything else
/// turned into `.`; `n` > 1 adds it at the end to tell two apart.
pub fn username_from_email(email: &str, n: u32) -> Option<Username> {
    let local = email.split('@').next()?.to_ascii_lowercase();
    let mut s: String = local
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_') {
                c
            } else {
                '.'
            }
        })
        .skip_while(|c| !c.is_ascii_lowercase())
        .take(34)
        .collect();
    if s.len() < 2 {
        s = format!("user{s}");
    }
    if n > 1 {
        s = format!("{s}{n}");
    }
    Username::parse(&s).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn school() -> Vec<String> {
        vec!["school.example".into()]
    }

    fn ada() -> Identity {
        Identity {
            subject: "1".into(),
            email: Some("Ada@School.example".into()),
            email_verified: Some(true),
            ..Identity::default()
        }
    }

    /// Someone whose address the provider has not verified, or of another domain,
    /// would be matched to a member of staff.
    #[test]
    fn only_a_verified_email_in_an_allowed_domain_matches() {
        assert_eq!(
            matching_email(&ada(), &school()).as_deref(),
            Ok("ada@school.example")
        );
        let unverified = Identity {
            email_verified: Some(false),
            ..ada()
        };
        assert_eq!(
            matching_email(&unverified, &school()),
            Err(Refused::Unverified)
        );
        let silent = Identity {
            email_verified: None,
            ..ada()
        };
        assert_eq!(matching_email(&silent, &school()), Err(Refused::Unverified));
        let foreign = Identity {
            email: Some("ada@school.example.evil".into()),
            ..ada()
        };
        assert_eq!(
            matching_email(&foreign, &school()),
            Err(Refused::ForeignDomain)
        );
    }

    /// A Google account of another Workspace, or an Entra account of another
    /// tenant, would be taken for one of the school's.
    #[test]
    fn a_foreign_hosted_domain_or_tenant_is_refused() {
        let hd = Identity {
            hosted_domain: Some("other.example".into()),
            ..ada()
        };
        assert_eq!(
            check_organisation(&hd, "https://accounts.google.com", &school()),
            Err(Refused::ForeignHostedDomain)
        );
        let tenant = "https://login.microsoftonline.com/1111-2222/v2.0";
        let tid = Identity {
            tenant: Some("3333".into()),
            ..ada()
        };
        assert_eq!(
            check_organisation(&tid, tenant, &school()),
            Err(Refused::ForeignTenant)
        );
        let ours = Identity {
            tenant: Some("1111-2222".into()),
            ..ada()
        };
        assert_eq!(check_organisation(&ours, tenant, &school()), Ok(()));
        assert_eq!(
            issuer_tenant("https://login.microsoftonline.com/common/v2.0"),
            None
        );
    }

    /// A borrower's account made at first sign-in would fail for an address whose
    /// local part is not a valid username.
    #[test]
    fn usernames_made_from_email_addresses_are_valid() {
        assert_eq!(
            username_from_email("j.smith+kit@school.example", 1)
                .unwrap()
                .as_str(),
            "j.smith.kit"
        );
        assert_eq!(
            username_from_email("7x@school.example", 2)
                .unwrap()
                .as_str(),
            "userx2"
        );
    }
}
