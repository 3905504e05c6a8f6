//! Return checklists, kept as settings (`checklist.<kind>`, one question a line).
//! The returns that answer them are `kitroom_app::loans` and `kitroom_app::sets`.

use std::collections::BTreeMap;

use chrono::Utc;
use kitroom_core::checklist::{self, Question};
use kitroom_core::device::DeviceKind;
use serde_json::json;
use sqlx::SqliteConnection;

use crate::db::{Actor, Store, StoreError};
use crate::events::{append, Subject};

pub async fn questions_in(
    conn: &mut SqliteConnection,
    kind: DeviceKind,
) -> Result<Vec<Question>, StoreError> {
    let text: Option<String> = sqlx::query_scalar("select value from setting where key = ?")
        .bind(format!("checklist.{}", kind.as_str()))
        .fetch_optional(&mut *conn)
        .await?;
    // a stored checklist was checked when saved; one that no longer reads asks nothing
    Ok(text
        .and_then(|t| checklist::parse_questions(&t).ok())
        .unwrap_or_default())
}

impl Store {
    /// The questions asked when a device of this kind comes back.
    pub async fn checklist(&self, kind: DeviceKind) -> Result<Vec<Question>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        questions_in(&mut conn, kind).await
    }

    /// Every kind's questions, by the kind's word.
    pub async fn checklists(&self) -> Result<BTreeMap<&'static str, Vec<Question>>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        let mut out = BTreeMap::new();
        for kind in DeviceKind::ALL {
            out.insert(kind.as_str(), questions_in(&mut conn, *kind).await?);
        }
        Ok(out)
    }

    /// Saves every kind's questions and records which kinds changed.
    pub async fn save_checklists(
        &self,
        actor: Actor,
        lists: BTreeMap<&'static str, Vec<Question>>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let mut changed = serde_json::Map::new();
                for kind in DeviceKind::ALL {
                    let before = checklist::questions_text(&questions_in(conn, *kind).await?);
                    let after = checklist::questions_text(lists.get(kind.as_str()).map(Vec::as_slice).unwrap_or(&[]));
                    if before != after {
                        changed.insert(kind.as_str().into(), json!({"from": before, "to": after}));
                        sqlx::query("insert into setting (key, value) values (?, ?) on conflict (key) do update set value = excluded.value")
                            .bind(format!("checklist.{}", kind.as_str()))
                            .bind(&after)
                            .execute(&mut *conn)
                            .await?;
                    }
                }
                if !changed.is_empty() {
                    let subject = Subject { key: "checklists".into(), label: "Return checklists".into() };
                    append(conn, &actor, "checklist.changed", &subject, changed.into(), now).await?;
                }
                Ok(())
            })
        })
        .await
    }
}
