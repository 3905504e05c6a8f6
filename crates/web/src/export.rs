//! CSV exports of the register, loans, incidents, signatures and the activity log,
//! streamed batch by batch so a log of millions of events never sits in memory.

use axum::body::{Body, Bytes};
use axum::extract::{Path, State};
use axum::http::header;
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

/// A batch of rows to format, and where to send the CSV.
type FormatJob = (Vec<Vec<String>>, tokio::sync::oneshot::Sender<Vec<u8>>);

/// A thread of its own that formats one export's batches at a lower CPU priority
/// (nice 10): on a two-core server a long export then takes the CPU that check-outs
/// leave, instead of sharing it with them (docs/performance.md). It ends when the
/// export's stream is dropped. `None` if the thread cannot be started.
fn formatter() -> Option<std::sync::mpsc::Sender<FormatJob>> {
    let (jobs, queue) = std::sync::mpsc::channel::<FormatJob>();
    std::thread::Builder::new()
        .name("kitroom-export".into())
        .spawn(move || {
            // On Linux the nice value is per thread; raising it needs no privilege.
            #[cfg(target_os = "linux")]
            let _ = rustix::process::setpriority_process(None, 10);
            while let Ok((rows, done)) = queue.recv() {
                let _ = done.send(csv_lines(rows));
            }
        })
        .ok()?;
    Some(jobs)
}

/// Formats a batch on the export's thread, or here if it could not be started.
async fn format_batch(
    jobs: Option<&std::sync::mpsc::Sender<FormatJob>>,
    rows: Vec<Vec<String>>,
) -> Result<Vec<u8>, std::io::Error> {
    let Some(jobs) = jobs else {
        return Ok(csv_lines(rows));
    };
    let (done, formatted) = tokio::sync::oneshot::channel();
    if let Err(std::sync::mpsc::SendError((rows, _))) = jobs.send((rows, done)) {
        return Ok(csv_lines(rows));
    }
    formatted
        .await
        .map_err(|_| std::io::Error::other("the export's formatting thread stopped"))
}

/// The whole export as a stream of CSV chunks: the header, then batch after batch.
pub fn stream(
    store: Store,
    kind: ExportKind,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> {
    let jobs = formatter();
    futures_util::stream::unfold(Step::Header, move |step| {
        let store = store.clone();
        let jobs = jobs.clone();
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
                        match format_batch(jobs.as_ref(), batch.rows).await {
                            Ok(bytes) => Some((Ok(Bytes::from(bytes)), next)),
                            Err(e) => Some((Err(e), Step::Done)),
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
    let name = format!("kitroom-{}-{}.csv", kind.as_str(), crate::time::today());
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        Body::from_stream(stream(state.store().clone(), kind)),
    )
        .into_response())
}
