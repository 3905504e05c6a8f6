//! Schools: a trust's Kitroom holds several in one database. Each school-owned
//! record names its school; a school is never removed.

use chrono::Utc;
use kitroom_core::school::{SchoolId, SchoolSlug};
use kitroom_core::Invalid;
use serde_json::json;

use crate::db::{time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};

/// A school of this deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct School {
    pub id: SchoolId,
    pub slug: String,
    pub name: String,
}

impl From<(i64, String, String)> for School {
    /// A row of `select id, slug, name from school`.
    fn from((id, slug, name): (i64, String, String)) -> Self {
        School {
            id: SchoolId(id),
            slug,
            name,
        }
    }
}

impl Store {
    /// Every school, in the order they were added (the first school first).
    pub async fn schools(&self) -> Result<Vec<School>, StoreError> {
        let rows: Vec<(i64, String, String)> =
            sqlx::query_as("select id, slug, name from school order by id")
                .fetch_all(self.reader())
                .await?;
        Ok(rows.into_iter().map(School::from).collect())
    }

    /// Adds a school, recorded as `school.added`. A short name already used is
    /// refused against the `slug` field.
    pub async fn add_school(
        &self,
        actor: Actor,
        slug: SchoolSlug,
        name: String,
    ) -> Result<School, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let inserted: Result<i64, sqlx::Error> = sqlx::query_scalar(
                    "insert into school (slug, name, created_at) values (?, ?, ?) returning id",
                )
                .bind(slug.as_str())
                .bind(&name)
                .bind(time_text(now))
                .fetch_one(&mut *conn)
                .await;
                let id = match inserted {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                        return Err(Invalid::one(
                            "slug",
                            format!("There is already a school called “{slug}”."),
                        )
                        .into())
                    }
                    other => SchoolId(other?),
                };
                append(
                    conn,
                    &actor,
                    "school.added",
                    &Subject::school(id, slug.as_str()),
                    json!({"slug": slug, "name": name}),
                    now,
                )
                .await?;
                Ok(School {
                    id,
                    slug: slug.to_string(),
                    name,
                })
            })
        })
        .await
    }
}

/// What moving a device to another school asks of it, inside the caller's
/// transaction: the set it is in, if any, and how many bookings hold it from `now`
/// on.
pub async fn transfer_facts_in(
    conn: &mut sqlx::SqliteConnection,
    device: uuid::Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<(Option<String>, usize), StoreError> {
    let (set, bookings): (Option<String>, i64) = sqlx::query_as(
        "select (select k.name from kit_device kd join kit k on k.id = kd.kit_id where kd.device_id = ?1),
                (select count(distinct booking_id) from booking_device where device_id = ?1 and ends_at > ?2)",
    )
    .bind(device.to_string())
    .bind(time_text(now))
    .fetch_one(&mut *conn)
    .await?;
    Ok((set, usize::try_from(bookings).unwrap_or(0)))
}

/// Moves a device to the school `to`, at its location `location` (the tallies
/// follow, by their triggers). `false`, moving nothing, when `to` already has a
/// device with its tag.
pub async fn move_device_in(
    conn: &mut sqlx::SqliteConnection,
    device: uuid::Uuid,
    to: SchoolId,
    location: uuid::Uuid,
    now: chrono::DateTime<Utc>,
) -> Result<bool, StoreError> {
    let r = sqlx::query(
        "update device set school_id = ?, location_id = ?, updated_at = ? where id = ?",
    )
    .bind(to.0)
    .bind(location.to_string())
    .bind(time_text(now))
    .bind(device.to_string())
    .execute(&mut *conn)
    .await;
    match r {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(false),
        other => other.map(|_| true).map_err(Into::into),
    }
}
