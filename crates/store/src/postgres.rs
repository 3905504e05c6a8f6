//! Kitroom on PostgreSQL, for a trust that outgrows one file: the schema so far.
//!
//! The schema (`migrations/postgres/`) holds the same tables, constraints and
//! triggers as the SQLite migrations, with rows that read the same on both engines
//! (see the migration's head and docs/architecture.md, "PostgreSQL"). The store's
//! operations run on SQLite only as yet: they move over module by module behind
//! one engine-generic store, each with the HTTP tests run against both engines.

use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;

use crate::db::StoreError;

/// The PostgreSQL migrations, embedded in the binary.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

/// Connects to the database at `url` and brings its schema up to date. A database
/// whose text does not sort byte by byte (created without `--locale=C`) is refused
/// by the first migration, with how to create one that does.
pub async fn open(url: &str) -> Result<PgPool, StoreError> {
    let options: PgConnectOptions = url.parse()?;
    let pool = PgPoolOptions::new()
        .max_connections(8)
        .connect_with(options.application_name("kitroom"))
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

/// The tables a copy carries, parents before children. Sessions are not copied
/// (everyone signs in again), nor the tallies: PostgreSQL's triggers count the
/// devices as they arrive, and the counts are compared with SQLite's after.
const TABLES: &[&str] = &[
    "school",
    "person",
    "membership",
    "api_token",
    "two_factor",
    "recovery_code",
    "one_time_link",
    "calendar_feed",
    "sign_in_failure",
    "sign_in_known",
    "location",
    "device",
    "disposal",
    "event",
    "log_witness",
    "policy",
    "signature",
    "offsite_request",
    "kit",
    "kit_device",
    "loan_group",
    "loan",
    "loan_reminder",
    "change_request",
    "booking",
    "booking_device",
    "accessory",
    "accessory_stock",
    "loan_accessory",
    "incident",
    "incident_note",
    "stocktake",
    "stocktake_mark",
    "stocktake_result",
    "notification",
    "outbox",
    "setting",
    "calendar_entry",
];

/// Rows written to PostgreSQL by one statement.
const CHUNK: usize = 500;

/// What a copy did: each table's rows, and the activity log's chain as checked on
/// PostgreSQL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copied {
    pub tables: Vec<(&'static str, u64)>,
    /// Events whose chain was checked on PostgreSQL.
    pub events: u64,
    /// The last event's number and hash, the same on both.
    pub head: Option<(i64, String)>,
}

/// Why a copy did not happen. Nothing is written unless every check passes.
#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the database already holds a Kitroom ({0}): copy into an empty database")]
    NotEmpty(String),
    #[error("the activity log's hash chain is broken in the SQLite file ({0}): nothing was copied; `kitroom check` shows it")]
    ChainBroken(String),
    #[error("the copy does not match the SQLite file: {0}; nothing was copied")]
    Mismatch(String),
}

impl From<sqlx::Error> for CopyError {
    fn from(e: sqlx::Error) -> Self {
        CopyError::Store(e.into())
    }
}

/// One column as PostgreSQL has it.
struct Column {
    name: String,
    /// `boolean`, `bigint` or `text`.
    data_type: String,
    /// An identity PostgreSQL always makes itself (`rowid`): SQLite's own rowid is
    /// copied into it, so keys and orders stay as they were.
    always: bool,
}

/// A value read from SQLite, typed as its PostgreSQL column wants.
enum Value {
    Bool(Option<bool>),
    Int(Option<i64>),
    Text(Option<String>),
}

fn read_value(
    row: &sqlx::sqlite::SqliteRow,
    i: usize,
    column: &Column,
    table: &str,
) -> Result<Value, CopyError> {
    use sqlx::{Row, TypeInfo, ValueRef};
    let raw = row.try_get_raw(i)?;
    let null = raw.is_null();
    let kind = raw.type_info().name().to_owned();
    let mismatch = || {
        CopyError::Mismatch(format!(
            "{table}.{} holds {kind} where PostgreSQL has {}",
            column.name, column.data_type
        ))
    };
    Ok(match column.data_type.as_str() {
        "boolean" => Value::Bool(if null {
            None
        } else {
            Some(row.try_get::<i64, _>(i).map_err(|_| mismatch())? != 0)
        }),
        "bigint" => Value::Int(if null {
            None
        } else {
            Some(row.try_get::<i64, _>(i).map_err(|_| mismatch())?)
        }),
        "text" => Value::Text(if null {
            None
        } else {
            Some(row.try_get::<String, _>(i).map_err(|_| mismatch())?)
        }),
        _ => return Err(mismatch()),
    })
}

/// Copies every school of the SQLite database `store` into the empty PostgreSQL
/// database `pg` (its schema brought up to date first), in one transaction, as of
/// one moment of the SQLite file (Kitroom may go on running meanwhile; what changes
/// after that moment is not copied). The copy is committed only when every table's
/// rows, the device counts and the activity log's hash chain (checked on
/// PostgreSQL, ending at the same event and hash) match the SQLite file's.
pub async fn copy_from(store: &crate::Store, pg: &PgPool) -> Result<Copied, CopyError> {
    let chain = store.verify_log().await?;
    let sqlite_head = match chain {
        Ok((_, head)) => head,
        Err(b) => return Err(CopyError::ChainBroken(b.to_string())),
    };
    let mut tx = pg.begin().await?;
    let held: (i64, i64, i64) = sqlx::query_as(
        "select (select count(*) from person), (select count(*) from device), (select count(*) from event)",
    )
    .fetch_one(&mut *tx)
    .await?;
    if held != (0, 0, 0) {
        return Err(CopyError::NotEmpty(format!(
            "{} people, {} devices, {} events",
            held.0, held.1, held.2
        )));
    }
    // The migrations made a first school to start from: the file's own replace it.
    sqlx::query("delete from school").execute(&mut *tx).await?;
    // One read transaction: every table as of the same moment.
    let mut lite = store.reader().begin().await?;
    let mut tables = Vec::new();
    for table in TABLES {
        let copied = copy_table(&mut lite, &mut tx, table).await?;
        tables.push((*table, copied));
    }
    reset_identities(&mut tx).await?;
    compare_tallies(&mut lite, &mut tx).await?;
    let (events, head) = verify_chain(&mut tx).await?;
    if head != sqlite_head {
        return Err(CopyError::Mismatch(format!(
            "the activity log ends at {head:?} on PostgreSQL and at {sqlite_head:?} in the file"
        )));
    }
    drop(lite);
    tx.commit().await?;
    Ok(Copied {
        tables,
        events,
        head,
    })
}

/// The columns of `table` as PostgreSQL has them, in order.
async fn columns(tx: &mut sqlx::PgConnection, table: &str) -> Result<Vec<Column>, CopyError> {
    let rows: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select column_name::text, data_type::text, identity_generation::text
         from information_schema.columns
         where table_schema = current_schema() and table_name = $1 order by ordinal_position",
    )
    .bind(table)
    .fetch_all(&mut *tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(name, data_type, identity)| Column {
            name,
            data_type,
            always: identity.as_deref() == Some("ALWAYS"),
        })
        .collect())
}

/// Copies one table, `CHUNK` rows a statement, and checks PostgreSQL then holds as
/// many as the file.
async fn copy_table(
    lite: &mut sqlx::SqliteConnection,
    tx: &mut sqlx::PgConnection,
    table: &str,
) -> Result<u64, CopyError> {
    use futures_util::TryStreamExt;
    let columns = columns(tx, table).await?;
    let select = columns
        .iter()
        .map(|c| {
            if c.always {
                "rowid".to_owned()
            } else {
                format!("\"{}\"", c.name)
            }
        })
        .collect::<Vec<_>>()
        .join(", ");
    let names = columns
        .iter()
        .map(|c| format!("\"{}\"", c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let overriding = if columns.iter().any(|c| c.always) {
        " overriding system value"
    } else {
        ""
    };
    let insert = format!("insert into {table} ({names}){overriding} ");
    let mut copied = 0u64;
    let mut chunk: Vec<Vec<Value>> = Vec::with_capacity(CHUNK);
    {
        let sql = format!("select {select} from {table}");
        let mut rows = sqlx::query(&sql).fetch(&mut *lite);
        while let Some(row) = rows.try_next().await? {
            let values = columns
                .iter()
                .enumerate()
                .map(|(i, c)| read_value(&row, i, c, table))
                .collect::<Result<Vec<_>, _>>()?;
            chunk.push(values);
            if chunk.len() == CHUNK {
                copied += write_chunk(tx, &insert, std::mem::take(&mut chunk)).await?;
            }
        }
    }
    copied += write_chunk(tx, &insert, chunk).await?;
    let in_file: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&mut *lite)
        .await?;
    let in_pg: i64 = sqlx::query_scalar(&format!("select count(*) from {table}"))
        .fetch_one(&mut *tx)
        .await?;
    if in_pg != in_file || copied != in_file as u64 {
        return Err(CopyError::Mismatch(format!(
            "{table}: {in_file} rows in the file, {in_pg} on PostgreSQL"
        )));
    }
    Ok(copied)
}

async fn write_chunk(
    tx: &mut sqlx::PgConnection,
    insert: &str,
    rows: Vec<Vec<Value>>,
) -> Result<u64, CopyError> {
    if rows.is_empty() {
        return Ok(0);
    }
    let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(insert);
    qb.push_values(rows, |mut b, row| {
        for v in row {
            match v {
                Value::Bool(v) => b.push_bind(v),
                Value::Int(v) => b.push_bind(v),
                Value::Text(v) => b.push_bind(v),
            };
        }
    });
    Ok(qb.build().execute(&mut *tx).await?.rows_affected())
}

/// Each identity starts after the largest value copied, so the next school,
/// calendar entry or device added does not take one already used.
async fn reset_identities(tx: &mut sqlx::PgConnection) -> Result<(), CopyError> {
    let identities: Vec<(String, String)> = sqlx::query_as(
        "select table_name::text, column_name::text from information_schema.columns
         where table_schema = current_schema() and is_identity = 'YES'",
    )
    .fetch_all(&mut *tx)
    .await?;
    for (table, column) in identities {
        sqlx::query(&format!(
            "select setval(pg_get_serial_sequence('{table}', '{column}'),
                greatest(coalesce((select max(\"{column}\") from {table}), 0), 1))"
        ))
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// The device counts PostgreSQL's triggers kept as the devices arrived, against the
/// ones SQLite's kept.
async fn compare_tallies(
    lite: &mut sqlx::SqliteConnection,
    tx: &mut sqlx::PgConnection,
) -> Result<(), CopyError> {
    for (name, sql) in [
        (
            "device counts",
            "select school_id, kind || '/' || status || '/' || location_id || '/' || encryption_state, devices
             from device_tally where devices > 0 order by 1, 2",
        ),
        (
            "encryption counts",
            "select school_id, verified_on, devices from device_encryption_tally
             where devices > 0 order by 1, 2",
        ),
    ] {
        let file: Vec<(i64, String, i64)> = sqlx::query_as(sql).fetch_all(&mut *lite).await?;
        let pg: Vec<(i64, String, i64)> = sqlx::query_as(sql).fetch_all(&mut *tx).await?;
        if file != pg {
            return Err(CopyError::Mismatch(format!(
                "the {name} differ ({} in the file, {} on PostgreSQL)",
                file.len(),
                pg.len()
            )));
        }
    }
    Ok(())
}

/// Walks the activity log on PostgreSQL and checks every link, as `kitroom check`
/// does on SQLite: how many events, and the last one's number and hash.
async fn verify_chain(
    tx: &mut sqlx::PgConnection,
) -> Result<(u64, Option<(i64, String)>), CopyError> {
    let mut verifier = kitroom_core::event::ChainVerifier::default();
    let anonymisations: Vec<(String,)> =
        sqlx::query_as("select details from event where action = $1")
            .bind(crate::events::ANONYMISED)
            .fetch_all(&mut *tx)
            .await?;
    for (details,) in anonymisations {
        verifier
            .redactions
            .extend(crate::events::redacted_by(&details));
    }
    let mut after = 0i64;
    loop {
        let batch: Vec<crate::events::ChainRow> = sqlx::query_as(
            "select seq, at, actor, action, subject, subject_label, details, prev_hash, hash,
                    hash_version, salt, personal_hash
             from event where seq > $1 order by seq limit 5000",
        )
        .bind(after)
        .fetch_all(&mut *tx)
        .await?;
        if batch.is_empty() {
            return Ok((verifier.checked, verifier.head()));
        }
        for row in batch {
            let e = kitroom_core::event::EventRecord::from(row);
            verifier
                .next(&e)
                .map_err(|b| CopyError::Mismatch(format!("on PostgreSQL, {b}")))?;
            after = e.seq;
        }
    }
}
