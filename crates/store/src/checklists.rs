//! Return checklists, kept as settings (`checklist.<kind>`, one question a line).
//! The returns that answer them are `kitroom_app::loans` and `kitroom_app::sets`.

use std::collections::BTreeMap;

use kitroom_core::checklist::{self, Question};
use kitroom_core::device::DeviceKind;
use sqlx::SqliteConnection;

use kitroom_core::school::SchoolId;

use crate::db::{Store, StoreError};

/// The questions asked when a device of this kind comes back.
pub async fn questions_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    kind: DeviceKind,
) -> Result<Vec<Question>, StoreError> {
    let text: Option<String> =
        sqlx::query_scalar("select value from setting where school_id = ? and key = ?")
            .bind(school.0)
            .bind(key(kind))
            .fetch_optional(&mut *conn)
            .await?;
    Ok(questions_from(text.as_deref()))
}

/// The setting that holds the questions for `kind`.
pub(crate) fn key(kind: DeviceKind) -> String {
    format!("checklist.{}", kind.as_str())
}

/// The questions as stored (none stored: none asked).
pub(crate) fn questions_from(text: Option<&str>) -> Vec<Question> {
    // a stored checklist was checked when saved; one that no longer reads asks nothing
    text.and_then(|t| checklist::parse_questions(t).ok())
        .unwrap_or_default()
}

impl Store {
    /// The questions asked when a device of this kind comes back.
    pub async fn checklist(
        &self,
        school: SchoolId,
        kind: DeviceKind,
    ) -> Result<Vec<Question>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        questions_in(&mut conn, school, kind).await
    }

    /// Every kind's questions at `school`, by the kind's word.
    pub async fn checklists(
        &self,
        school: SchoolId,
    ) -> Result<BTreeMap<&'static str, Vec<Question>>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        let mut out = BTreeMap::new();
        for kind in DeviceKind::ALL {
            out.insert(kind.as_str(), questions_in(&mut conn, school, *kind).await?);
        }
        Ok(out)
    }
}

/// Writes one kind's questions, one a line.
pub async fn write_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    kind: DeviceKind,
    questions: &[Question],
) -> Result<(), StoreError> {
    sqlx::query(
        "insert into setting (school_id, key, value) values (?, ?, ?)
         on conflict (school_id, key) do update set value = excluded.value",
    )
    .bind(school.0)
    .bind(format!("checklist.{}", kind.as_str()))
    .bind(checklist::questions_text(questions))
    .execute(&mut *conn)
    .await?;
    Ok(())
}
