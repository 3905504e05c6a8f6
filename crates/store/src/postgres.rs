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
