//! The acceptable-use policy: publishing a new version (a manager or an admin) and
//! signing the version in force (anyone). One command each, for the policy pages
//! and the API alike.
//!
//! Each runs in one write transaction: it reads what is published and signed there,
//! asks `kitroom_core::policy` whether it may happen, and writes the version or the
//! signature with its event.

use chrono::Utc;
use kitroom_core::person::Permission;
use kitroom_core::policy::{self, PolicyDetails, PolicyInput, SignatureDetails, SignatureInput};
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::events::append;
use kitroom_store::people::Person;
use kitroom_store::policies::{self as store, Policy, Signature};
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::error::Kind;
use crate::input::{text_or_null, Flag};
use crate::{App, Error, Refusal};

/// A new version as sent, from the policies page's form or as the API's JSON body.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PublishInput {
    /// Up to 200 characters.
    #[serde(deserialize_with = "text_or_null")]
    pub title: String,
    /// What the version is called, such as `2026/27`; each version has its own.
    #[serde(deserialize_with = "text_or_null")]
    pub version_label: String,
    /// The date it is issued, such as `2026-09-01`.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(format = Date)]
    pub issued_on: String,
    /// The policy's text, in Markdown.
    #[serde(deserialize_with = "text_or_null")]
    pub body: String,
}

/// Publishing a version, read and checked.
#[derive(Debug, Clone)]
pub struct Publish(pub PolicyDetails);

impl TryFrom<PublishInput> for Publish {
    type Error = Invalid;

    /// Every problem at once, each beside its field (the rules are
    /// [`kitroom_core::policy::PolicyInput::parse`]).
    fn try_from(i: PublishInput) -> Result<Self, Invalid> {
        PolicyInput {
            title: i.title,
            version_label: i.version_label,
            issued_on: i.issued_on,
            body: i.body,
        }
        .parse()
        .map(Publish)
    }
}

/// Publishes a new version: it is in force at once, and everyone must sign it
/// before they borrow again. A version label names one version only.
pub async fn publish(app: &App, caller: &Person, input: PublishInput) -> Result<Policy, Error> {
    if !caller.role.may(Permission::ManagePolicy) {
        return Err(Refusal::not_allowed().into());
    }
    let Publish(d) = Publish::try_from(input)?;
    let actor = caller.actor();
    let actor_role = caller.role;
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let owner = store::publisher_in(conn, school).await?;
                if !policy::may_publish_for(actor_role, owner == SchoolId::TRUST) {
                    return Err(Refusal::new(
                        Kind::NotAllowed,
                        "trust-policy",
                        "The trust keeps one acceptable-use policy for every school: the trust's own staff publish its new versions.",
                    )
                    .into());
                }
                let taken = store::version_label_taken_in(conn, owner, &d.version_label).await?;
                policy::may_publish(&d.version_label, taken)?;
                let policy = Policy {
                    id: Uuid::new_v4(),
                    title: d.title,
                    version_label: d.version_label,
                    issued_on: d.issued_on,
                    body: d.body,
                    published_at: now,
                };
                store::insert_policy_in(conn, owner, &policy, actor.id).await?;
                append(
                    conn,
                    &actor,
                    "policy.published",
                    &policy.subject(),
                    json!({"title": policy.title, "version_label": policy.version_label, "issued_on": policy.issued_on}),
                    now,
                )
                .await?;
                Ok::<_, Error>(policy)
            })
        })
        .await
}

/// A signature as sent: the full name as printed and the position, like the
/// signature block of a paper policy, and the version read. The page's form sends
/// the version it showed and its tick box; through the API the call is the
/// agreement, and a version left out means the one in force.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SignInput {
    /// The version read: its id or its version label. If a newer one has been
    /// published since, the signature is refused. Missing: the version in force.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub policy: String,
    /// Up to 120 characters.
    #[serde(deserialize_with = "text_or_null")]
    pub full_name: String,
    /// Up to 120 characters, such as "Year 4 teacher" or "Governor".
    #[serde(deserialize_with = "text_or_null")]
    pub position: String,
    /// "I have read this policy and agree to follow it". `false` refuses; missing
    /// through the API: the call is the agreement.
    #[schema(value_type = Option<bool>)]
    pub agree: Option<Flag>,
}

/// A signature, read and checked.
#[derive(Debug, Clone)]
pub struct Sign {
    /// The version read, as named; `None`: the one in force.
    pub policy: Option<String>,
    pub details: SignatureDetails,
}

impl TryFrom<SignInput> for Sign {
    type Error = Invalid;

    /// Every problem at once, each beside its field (the rules are
    /// [`kitroom_core::policy::SignatureInput::parse`]).
    fn try_from(i: SignInput) -> Result<Self, Invalid> {
        let asked = i.agree.is_some();
        let details = SignatureInput {
            full_name: i.full_name,
            position: i.position,
            agree: i.agree.is_some_and(|a| a.0),
        }
        .parse(asked)?;
        Ok(Sign {
            policy: Some(i.policy.trim().to_owned()).filter(|p| !p.is_empty()),
            details,
        })
    }
}

/// A signature made, with the version it is on.
#[derive(Debug, Clone)]
pub struct Signed {
    pub policy: Policy,
    pub signature: Signature,
}

/// Signs the version in force as `caller`. Refused when a newer version was
/// published since the one read, or when already signed.
pub async fn sign(app: &App, caller: &Person, input: SignInput) -> Result<Signed, Error> {
    let cmd = Sign::try_from(input)?;
    let actor = caller.actor();
    let subject = caller.subject();
    let person = caller.id;
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let current = store::current_policy_in(conn, school)
                    .await?
                    .ok_or_else(|| Refusal::not_found("A published policy"))?;
                let read_is_current = match &cmd.policy {
                    None => true,
                    Some(named) => {
                        store::find_policy_in(conn, school, named)
                            .await?
                            .ok_or_else(|| Refusal::not_found("That version of the policy"))?
                            .id
                            == current.id
                    }
                };
                let already = store::signature_in(conn, person, current.id)
                    .await?
                    .is_some();
                policy::may_sign(read_is_current, already)?;
                let today = policy::signed_on(now);
                let signature = Signature {
                    policy_id: current.id.to_string(),
                    person_id: person.to_string(),
                    full_name: cmd.details.full_name,
                    position: cmd.details.position,
                    signed_on: today.to_string(),
                    signed_at: kitroom_store::db::time_text(now),
                };
                store::insert_signature_in(conn, &signature).await?;
                append(
                    conn,
                    &actor,
                    "policy.signed",
                    &subject,
                    json!({"policy": current.version_label, "full_name": signature.full_name, "position": signature.position, "signed_on": today}),
                    now,
                )
                .await?;
                Ok::<_, Error>(Signed {
                    policy: current,
                    signature,
                })
            })
        })
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The page's unticked box refuses; the API's call, sending no `agree`, is the
    /// agreement; both read the same names.
    #[test]
    fn a_form_and_a_json_body_sign_alike() {
        let form: SignInput = serde_json::from_str(
            r#"{"policy": "v1", "full_name": " Jo Bloggs ", "position": "Teacher", "agree": "on"}"#,
        )
        .unwrap();
        let json: SignInput =
            serde_json::from_str(r#"{"full_name": "Jo Bloggs", "position": "Teacher"}"#).unwrap();
        let (form, json) = (Sign::try_from(form).unwrap(), Sign::try_from(json).unwrap());
        assert_eq!(form.details, json.details);
        assert_eq!(form.policy.as_deref(), Some("v1"));
        assert_eq!(json.policy, None);
        let unticked = SignInput {
            agree: Some(Flag(false)),
            ..SignInput::default()
        };
        let err = Sign::try_from(unticked).unwrap_err();
        assert!(err.for_field("agree").is_some());
        assert!(serde_json::from_str::<SignInput>(r#"{"name": "Jo"}"#).is_err());
    }
}
