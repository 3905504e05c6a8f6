//! CSV exports of the register, loans, incidents, signatures and the activity log,
//! streamed batch by batch so a log of millions of events never sits in memory.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_store::exports::ExportKind;
use kitroom_store::Store;

use crate::auth::Ctx;
use crate::views::export as v;
use crate::{AppError, AppState};

/// Rows read and written at a time.
pub const BATCH: i64 = 2000;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/export", get(index))
        .route("/export/{file}", get(download))
}

async fn index(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(Permission::ImportExport)?;
    Ok(v::index(&ctx).into_response())
}

/// CSV text for some rows, each cell made safe for spreadsheets.
pub fn csv_lines<S: AsRef<str>>(rows: impl IntoIterator<Item = Vec<S>>) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        // Writing to memory cannot fail; a row that somehow does is left out.
        let _ = crate::write_safe_record(&mut w, row);
    }
    w.into_inner().unwrap_or_default()
}

/// Batches read ahead of the one being written: the next batch is read from SQLite
/// while the last is formatted and sent, so the three overlap on two cores.
const READ_AHEAD: usize = 2;

/// The whole export as a stream of CSV chunks: the header, then batch after batch.
///
/// A task reads the batches by key and hands them on; the stream formats each off
/// the async threads (2,000 rows is CPU work, and check-outs are answered while a
/// long export runs). A client that hangs up stops the reading at the next batch.
pub fn stream(
    store: Store,
    school: SchoolId,
    kind: ExportKind,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let (batches, read) = tokio::sync::mpsc::channel(READ_AHEAD);
    tokio::spawn(async move {
        let mut after = 0;
        loop {
            let batch = store.export_batch(kind, school, after, BATCH).await;
            let last = match &batch {
                Ok(b) => b.rows.is_empty() || (b.rows.len() as i64) < BATCH,
                Err(_) => true,
            };
            if let Ok(b) = &batch {
                after = b.last_key;
            }
            let empty = batch.as_ref().is_ok_and(|b| b.rows.is_empty());
            if empty || batches.send(batch).await.is_err() || last {
                break;
            }
        }
    });
    let header = futures_util::stream::once(async move {
        Ok::<_, std::io::Error>(Bytes::from(csv_lines([kind.header().to_vec()])))
    });
    let body = futures_util::stream::unfold((read, false), |(mut read, failed)| async move {
        if failed {
            return None;
        }
        match read.recv().await? {
            Ok(batch) => {
                let rows = batch.rows;
                match tokio::task::spawn_blocking(move || csv_lines(rows)).await {
                    Ok(bytes) => Some((Ok(Bytes::from(bytes)), (read, false))),
                    Err(e) => Some((Err(std::io::Error::other(e)), (read, true))),
                }
            }
            Err(e) => {
                // The download ends with an error rather than looking complete.
                let reference = crate::error::log_internal(&e);
                Some((
                    Err(std::io::Error::other(format!(
                        "export failed, reference {reference}"
                    ))),
                    (read, true),
                ))
            }
        }
    });
    futures_util::StreamExt::chain(header, body)
}

async fn download(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ImportExport)?;
    let kind = file
        .strip_suffix(".csv")
        .and_then(ExportKind::parse)
        .ok_or(AppError::NotFound)?;
    state
        .store()
        .record_export(ctx.user.actor(), kind.as_str().to_owned())
        .await?;
    // The register's own columns and values, as `kitroom export` writes them, so
    // the file goes back in through the importer; only the mark and the dated name
    // are added for a spreadsheet.
    Ok(crate::spreadsheet::download_stream(
        kind.as_str(),
        stream(state.store().clone(), ctx.user.school, kind),
    ))
}
