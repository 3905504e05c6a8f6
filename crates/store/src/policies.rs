//! The acceptable-use policy: versions, and who has signed which.

use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::loan::PolicyStanding;
use kitroom_core::policy::{PolicyDetails, SignatureDetails};
use kitroom_core::Invalid;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};
use crate::people::Person;

/// A published version of the policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub id: Uuid,
    pub title: String,
    pub version_label: String,
    pub issued_on: NaiveDate,
    pub body: String,
    pub published_at: DateTime<Utc>,
}

impl Policy {
    pub fn subject(&self) -> Subject {
        Subject {
            key: format!("policy:{}", self.id),
            label: self.version_label.clone(),
        }
    }
}

#[derive(sqlx::FromRow)]
struct PolicyRow {
    id: String,
    title: String,
    version_label: String,
    issued_on: String,
    body: String,
    published_at: String,
}

impl TryFrom<PolicyRow> for Policy {
    type Error = StoreError;
    fn try_from(r: PolicyRow) -> Result<Self, StoreError> {
        Ok(Policy {
            id: parse_uuid(&r.id)?,
            title: r.title,
            version_label: r.version_label,
            issued_on: r
                .issued_on
                .parse()
                .map_err(|_| StoreError::Corrupt(format!("date {:?}", r.issued_on)))?,
            body: r.body,
            published_at: parse_time(&r.published_at)?,
        })
    }
}

/// A signature on one version.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Signature {
    pub policy_id: String,
    pub person_id: String,
    pub full_name: String,
    pub position: String,
    pub signed_on: String,
    pub signed_at: String,
}

/// A policy version with how many have signed it.
#[derive(Debug, Clone)]
pub struct PolicySummary {
    pub policy: Policy,
    pub signed: i64,
}

const POLICY: &str = "select id, title, version_label, issued_on, body, published_at from policy";

pub(crate) async fn current_policy_in(
    conn: &mut SqliteConnection,
) -> Result<Option<Policy>, StoreError> {
    sqlx::query_as::<_, PolicyRow>(&format!("{POLICY} order by published_at desc limit 1"))
        .fetch_optional(&mut *conn)
        .await?
        .map(Policy::try_from)
        .transpose()
}

/// Where this person stands with the policy in force, read inside a transaction.
pub async fn standing_in(
    conn: &mut SqliteConnection,
    person: Uuid,
) -> Result<PolicyStanding, StoreError> {
    let Some(policy) = current_policy_in(conn).await? else {
        return Ok(PolicyStanding::NoPolicy);
    };
    let signed: i64 =
        sqlx::query_scalar("select count(*) from signature where policy_id = ? and person_id = ?")
            .bind(policy.id.to_string())
            .bind(person.to_string())
            .fetch_one(&mut *conn)
            .await?;
    Ok(if signed > 0 {
        PolicyStanding::Signed
    } else {
        PolicyStanding::NotSigned {
            version_label: policy.version_label,
        }
    })
}

impl Store {
    /// Publishes a new version; it is in force at once, and everyone must sign it.
    pub async fn publish_policy(
        &self,
        actor: Actor,
        d: PolicyDetails,
    ) -> Result<Policy, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let id = Uuid::new_v4();
                let result = sqlx::query(
                    "insert into policy (id, title, version_label, issued_on, body, published_at, published_by) values (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(id.to_string())
                .bind(&d.title)
                .bind(&d.version_label)
                .bind(d.issued_on.to_string())
                .bind(&d.body)
                .bind(time_text(now))
                .bind(actor.id.map(|i| i.to_string()))
                .execute(&mut *conn)
                .await;
                match result {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(Invalid::one(
                            "version_label",
                            format!("Version “{}” has already been published. Give this one a new version label.", d.version_label),
                        )
                        .into())
                    }
                    other => other?,
                };
                let policy = Policy {
                    id,
                    title: d.title,
                    version_label: d.version_label,
                    issued_on: d.issued_on,
                    body: d.body,
                    published_at: now,
                };
                append(
                    conn,
                    &actor,
                    "policy.published",
                    &policy.subject(),
                    json!({"title": policy.title, "version_label": policy.version_label, "issued_on": policy.issued_on}),
                    now,
                )
                .await?;
                Ok(policy)
            })
        })
        .await
    }

    pub async fn current_policy(&self) -> Result<Option<Policy>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        current_policy_in(&mut conn).await
    }

    pub async fn policy_by_id(&self, id: Uuid) -> Result<Option<Policy>, StoreError> {
        sqlx::query_as::<_, PolicyRow>(&format!("{POLICY} where id = ?"))
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?
            .map(Policy::try_from)
            .transpose()
    }

    /// Every version, newest first, with how many have signed each.
    pub async fn list_policies(&self) -> Result<Vec<PolicySummary>, StoreError> {
        let rows: Vec<PolicyRow> = sqlx::query_as(&format!("{POLICY} order by published_at desc"))
            .fetch_all(self.reader())
            .await?;
        let mut out = Vec::new();
        for r in rows {
            let policy = Policy::try_from(r)?;
            let signed: i64 =
                sqlx::query_scalar("select count(*) from signature where policy_id = ?")
                    .bind(policy.id.to_string())
                    .fetch_one(self.reader())
                    .await?;
            out.push(PolicySummary { policy, signed });
        }
        Ok(out)
    }

    pub async fn policy_standing(&self, person: Uuid) -> Result<PolicyStanding, StoreError> {
        let mut conn = self.reader().acquire().await?;
        standing_in(&mut conn, person).await
    }

    /// Signs the policy in force as `person`. Refused if a newer version was published
    /// since the page was shown (`policy_id` is not current) or if already signed.
    pub async fn sign_policy(
        &self,
        person: &Person,
        policy_id: Uuid,
        d: SignatureDetails,
        today: NaiveDate,
    ) -> Result<Signature, StoreError> {
        let actor = person.actor();
        let subject = person.subject();
        let person_id = person.id;
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let current = current_policy_in(conn).await?.ok_or(StoreError::NotFound)?;
                if current.id != policy_id {
                    return Err(Invalid::one("policy", "A newer version of the policy was published while you were reading. Read the new version and sign that.").into());
                }
                let result = sqlx::query(
                    "insert into signature (id, policy_id, person_id, full_name, position, signed_on, signed_at) values (?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(Uuid::new_v4().to_string())
                .bind(policy_id.to_string())
                .bind(person_id.to_string())
                .bind(&d.full_name)
                .bind(&d.position)
                .bind(today.to_string())
                .bind(time_text(now))
                .execute(&mut *conn)
                .await;
                match result {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(Invalid::one("policy", "You have already signed this version of the policy.").into())
                    }
                    other => other?,
                };
                append(
                    conn,
                    &actor,
                    "policy.signed",
                    &subject,
                    json!({"policy": current.version_label, "full_name": d.full_name, "position": d.position, "signed_on": today}),
                    now,
                )
                .await?;
                Ok(Signature {
                    policy_id: policy_id.to_string(),
                    person_id: person_id.to_string(),
                    full_name: d.full_name,
                    position: d.position,
                    signed_on: today.to_string(),
                    signed_at: time_text(now),
                })
            })
        })
        .await
    }

    pub async fn signature(
        &self,
        person: Uuid,
        policy: Uuid,
    ) -> Result<Option<Signature>, StoreError> {
        Ok(sqlx::query_as(
            "select policy_id, person_id, full_name, position, signed_on, signed_at from signature where person_id = ? and policy_id = ?",
        )
        .bind(person.to_string())
        .bind(policy.to_string())
        .fetch_optional(self.reader())
        .await?)
    }

    /// Every signature a person has made, newest first, with the version's label.
    pub async fn signatures_of(
        &self,
        person: Uuid,
    ) -> Result<Vec<(String, Signature)>, StoreError> {
        let rows: Vec<(String, String, String, String, String, String, String)> = sqlx::query_as(
            "select p.version_label, s.policy_id, s.person_id, s.full_name, s.position, s.signed_on, s.signed_at
             from signature s join policy p on p.id = s.policy_id where s.person_id = ? order by s.signed_at desc",
        )
        .bind(person.to_string())
        .fetch_all(self.reader())
        .await?;
        Ok(rows
            .into_iter()
            .map(
                |(label, policy_id, person_id, full_name, position, signed_on, signed_at)| {
                    (
                        label,
                        Signature {
                            policy_id,
                            person_id,
                            full_name,
                            position,
                            signed_on,
                            signed_at,
                        },
                    )
                },
            )
            .collect())
    }

    /// Everyone with an active account, and their signature on this version if any:
    /// who has signed and who has not.
    pub async fn signatories(
        &self,
        policy: Uuid,
    ) -> Result<Vec<(Person, Option<Signature>)>, StoreError> {
        let people = self
            .list_people(&crate::people::PeopleFilter::default())
            .await?;
        let signatures: Vec<Signature> = sqlx::query_as(
            "select policy_id, person_id, full_name, position, signed_on, signed_at from signature where policy_id = ?",
        )
        .bind(policy.to_string())
        .fetch_all(self.reader())
        .await?;
        Ok(people
            .into_iter()
            .map(|p| {
                let s = signatures
                    .iter()
                    .find(|s| s.person_id == p.id.to_string())
                    .cloned();
                (p, s)
            })
            .collect())
    }
}
