//! The acceptable-use policy: versions, and who has signed which.

use chrono::{DateTime, NaiveDate, Utc};
use kitroom_core::loan::PolicyStanding;
use kitroom_core::school::SchoolId;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, time_text, Store, StoreError};
use crate::events::Subject;
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

const POLICY: &str =
    "select p.id, p.title, p.version_label, p.issued_on, p.body, p.published_at from policy p";

/// Whether the trust keeps one policy for every school (the deployment's setting
/// `one_policy_for_trust`, kept with the first school's).
const ONE_FOR_TRUST: &str = "coalesce((select value = 'true' from setting
    where school_id = 1 and key = 'one_policy_for_trust'), 0)";

/// The versions that apply at the school `?`, as `p`: its own, and the trust's
/// (`school_id` 0, [`SchoolId::TRUST`]) when the trust keeps one for every school.
static APPLY_AT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!("(p.school_id = ? or (p.school_id = 0 and {ONE_FOR_TRUST}))")
});

/// The version in force first: the trust's newest if it has one, else the school's.
const IN_FORCE_FIRST: &str = "order by p.school_id = 0 desc, p.published_at desc";

/// Whose versions are published at `school` now: the trust's when it keeps one
/// policy for every school, else the school's own.
pub async fn publisher_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
) -> Result<SchoolId, StoreError> {
    let trust: bool = sqlx::query_scalar(&format!("select {ONE_FOR_TRUST}"))
        .fetch_one(&mut *conn)
        .await?;
    Ok(if trust { SchoolId::TRUST } else { school })
}

/// The version in force in `school`: the trust's newest when the trust keeps one
/// policy for every school and has published one, else the school's newest.
pub async fn current_policy_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
) -> Result<Option<Policy>, StoreError> {
    sqlx::query_as::<_, PolicyRow>(&format!(
        "{POLICY} where {} {IN_FORCE_FIRST} limit 1",
        *APPLY_AT
    ))
    .bind(school.0)
    .fetch_optional(&mut *conn)
    .await?
    .map(Policy::try_from)
    .transpose()
}

/// Where this person stands with the policy in force in `school`, read inside a
/// transaction.
pub async fn standing_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    person: Uuid,
) -> Result<PolicyStanding, StoreError> {
    // One query: the version in force, and whether this person signed it.
    let row: Option<(String, bool)> = sqlx::query_as(&format!(
        "select p.version_label,
                exists (select 1 from signature s where s.policy_id = p.id and s.person_id = ?)
         from policy p where {} {IN_FORCE_FIRST} limit 1",
        *APPLY_AT
    ))
    .bind(person.to_string())
    .bind(school.0)
    .fetch_optional(&mut *conn)
    .await?;
    Ok(match row {
        None => PolicyStanding::NoPolicy,
        Some((_, true)) => PolicyStanding::Signed,
        Some((version_label, false)) => PolicyStanding::NotSigned { version_label },
    })
}

/// A person who is to borrow, with where they stand with the policy in force.
#[derive(Debug, Clone)]
pub struct Borrower {
    pub person: Person,
    pub policy: PolicyStanding,
}

#[derive(sqlx::FromRow)]
struct BorrowerRow {
    #[sqlx(flatten)]
    person: crate::people::PersonRow,
    policy_version: Option<String>,
    policy_signed: bool,
}

/// A person among the people of a school, with their standing with the policy in
/// force there. Bound: the school three times, then the person. (Plain `?`s: this runs in
/// a [`crate::db::Batch`], where a numbered `?1` would name the batch's first value.)
pub(crate) static BORROWER: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    format!(
        "select {}, pol.version_label as policy_version,
                exists (select 1 from signature s where s.policy_id = pol.id and s.person_id = b.id)
                  as policy_signed
         from {}
         left join (select p.id, p.version_label from policy p where {}
                    {IN_FORCE_FIRST} limit 1) pol on 1
         where b.id = ? and {}",
        crate::people::columns_of("b", "?"),
        crate::people::person_join("b", "?"),
        *APPLY_AT,
        crate::people::holds_role("b"),
    )
});

/// A borrower from a row of [`BORROWER`].
pub(crate) fn borrower_from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Borrower, StoreError> {
    use sqlx::FromRow;
    let row = BorrowerRow::from_row(row)?;
    let policy = match (row.policy_version, row.policy_signed) {
        (None, _) => PolicyStanding::NoPolicy,
        (Some(_), true) => PolicyStanding::Signed,
        (Some(version_label), false) => PolicyStanding::NotSigned { version_label },
    };
    Ok(Borrower {
        person: Person::try_from(row.person)?,
        policy,
    })
}

/// The person `id` and their standing with the policy in force, in one query
/// (inside a check-out, each query is time every other write waits).
pub async fn borrower_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Borrower, StoreError> {
    let row = sqlx::query(&BORROWER)
        .bind(school.0)
        .bind(school.0)
        .bind(school.0)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    borrower_from_row(&row)
}

/// A version that applies at `school` (its own, or the trust's), named by its id or
/// by its version label (the newest of that label).
pub async fn find_policy_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    named: &str,
) -> Result<Option<Policy>, StoreError> {
    let named = named.trim();
    let (by, named) = match Uuid::parse_str(named) {
        Ok(id) => ("id", id.to_string()),
        Err(_) => ("version_label", named.to_owned()),
    };
    let row = sqlx::query_as::<_, PolicyRow>(&format!(
        "{POLICY} where {} and p.{by} = ? order by p.published_at desc limit 1",
        *APPLY_AT
    ))
    .bind(school.0)
    .bind(named)
    .fetch_optional(&mut *conn)
    .await?;
    row.map(Policy::try_from).transpose()
}

/// True when `owner` (a school, or [`SchoolId::TRUST`]) has published a version with
/// this label.
pub async fn version_label_taken_in(
    conn: &mut SqliteConnection,
    owner: SchoolId,
    label: &str,
) -> Result<bool, StoreError> {
    let n: i64 = sqlx::query_scalar(
        "select count(*) from policy where school_id = ? and version_label = ? collate nocase",
    )
    .bind(owner.0)
    .bind(label)
    .fetch_one(&mut *conn)
    .await?;
    Ok(n > 0)
}

/// Writes a version of `owner`'s (a school, or [`SchoolId::TRUST`]) decided on;
/// `published_by` is the person who published it.
pub async fn insert_policy_in(
    conn: &mut SqliteConnection,
    owner: SchoolId,
    policy: &Policy,
    published_by: Option<Uuid>,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into policy (id, school_id, title, version_label, issued_on, body, published_at, published_by) values (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(policy.id.to_string())
    .bind(owner.0)
    .bind(&policy.title)
    .bind(&policy.version_label)
    .bind(policy.issued_on.to_string())
    .bind(&policy.body)
    .bind(time_text(policy.published_at))
    .bind(published_by.map(|i| i.to_string()))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// This person's signature on this version, if they have signed it.
pub async fn signature_in(
    conn: &mut SqliteConnection,
    person: Uuid,
    policy: Uuid,
) -> Result<Option<Signature>, StoreError> {
    Ok(sqlx::query_as(
        "select policy_id, person_id, full_name, position, signed_on, signed_at from signature where person_id = ? and policy_id = ?",
    )
    .bind(person.to_string())
    .bind(policy.to_string())
    .fetch_optional(&mut *conn)
    .await?)
}

/// Writes a signature decided on.
pub async fn insert_signature_in(
    conn: &mut SqliteConnection,
    s: &Signature,
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into signature (id, policy_id, person_id, full_name, position, signed_on, signed_at) values (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(Uuid::new_v4().to_string())
    .bind(&s.policy_id)
    .bind(&s.person_id)
    .bind(&s.full_name)
    .bind(&s.position)
    .bind(&s.signed_on)
    .bind(&s.signed_at)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

impl Store {
    /// The version in force in `school`.
    pub async fn current_policy(&self, school: SchoolId) -> Result<Option<Policy>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        current_policy_in(&mut conn, school).await
    }

    /// A version that applies at `school`: its own, or the trust's.
    pub async fn policy_by_id(
        &self,
        school: SchoolId,
        id: Uuid,
    ) -> Result<Option<Policy>, StoreError> {
        sqlx::query_as::<_, PolicyRow>(&format!("{POLICY} where {} and p.id = ?", *APPLY_AT))
            .bind(school.0)
            .bind(id.to_string())
            .fetch_optional(self.reader())
            .await?
            .map(Policy::try_from)
            .transpose()
    }

    /// Every version that applies at `school` (its own, and the trust's when it keeps
    /// one policy for every school), the one in force first, then newest first, with
    /// how many of the school's active people have signed each.
    pub async fn list_policies(&self, school: SchoolId) -> Result<Vec<PolicySummary>, StoreError> {
        let rows: Vec<PolicyRow> =
            sqlx::query_as(&format!("{POLICY} where {} {IN_FORCE_FIRST}", *APPLY_AT))
                .bind(school.0)
                .fetch_all(self.reader())
                .await?;
        let mut out = Vec::new();
        for r in rows {
            let policy = Policy::try_from(r)?;
            let signed: i64 = sqlx::query_scalar(&format!(
                "select count(*) from signature s join {} p on p.id = s.person_id
                 where s.policy_id = ? and p.active",
                crate::people::people_in(school)
            ))
            .bind(policy.id.to_string())
            .fetch_one(self.reader())
            .await?;
            out.push(PolicySummary { policy, signed });
        }
        Ok(out)
    }

    /// Where `person` stands with the policy in force in `school`.
    pub async fn policy_standing(
        &self,
        school: SchoolId,
        person: Uuid,
    ) -> Result<PolicyStanding, StoreError> {
        let mut conn = self.reader().acquire().await?;
        standing_in(&mut conn, school, person).await
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
        school: SchoolId,
        policy: Uuid,
    ) -> Result<Vec<(Person, Option<Signature>)>, StoreError> {
        let people = self
            .list_people(school, &crate::people::PeopleFilter::default())
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
