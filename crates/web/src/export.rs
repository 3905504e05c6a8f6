//! CSV exports of the register, loans, incidents, signatures and the activity log,
//! streamed batch by batch so a log of millions of events never sits in memory.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use kitroom_core::person::Permission;
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
        let _ = w.write_record(row.iter().map(|c| crate::csv_safe(c.as_ref())));
    }
    w.into_inner().unwrap_or_default()
}

enum Step {
    Header,
    After(i64),
    Done,
}

/// The whole export as a stream of CSV chunks: the header, then batch after batch.
pub fn stream(
    store: Store,
    kind: ExportKind,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    futures_util::stream::unfold(Step::Header, move |step| {
        let store = store.clone();
        async move {
            match step {
                Step::Header => Some((
                    Ok(Bytes::from(csv_lines([kind.header().to_vec()]))),
                    Step::After(0),
                )),
                Step::After(after) => match store.export_batch(kind, after, BATCH).await {
                    Ok(batch) if batch.rows.is_empty() => None,
                    Ok(batch) => {
                        let next = if (batch.rows.len() as i64) < BATCH {
                            Step::Done
                        } else {
                            Step::After(batch.last_key)
                        };
                        // Formatting 2,000 rows is CPU work: off the async threads,
                        // so check-outs are answered while a long export runs.
                        let rows = batch.rows;
                        match tokio::task::spawn_blocking(move || csv_lines(rows)).await {
                            Ok(bytes) => Some((Ok(Bytes::from(bytes)), next)),
                            Err(e) => Some((Err(std::io::Error::other(e)), Step::Done)),
                        }
                    }
                    Err(e) => {
                        // The download ends with an error rather than looking complete.
                        let reference = crate::error::log_internal(&e);
                        Some((
                            Err(std::io::Error::other(format!(
                                "export failed, reference {reference}"
                            ))),
                            Step::Done,
                        ))
                    }
                },
                Step::Done => None,
            }
        }
    })
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
        stream(state.store().clone(), kind),
    ))
}
