//! The JSON API for reports, exports and imports.
//!
//! - `GET /reports/{name}`: a report as JSON, from the same definition as its page
//!   and its CSV ([`kitroom_app::reports`]): the same rows (totals included) with the
//!   same filters, field names as the CSV's headers, money as `*_pence` integers and
//!   times in RFC 3339 UTC.
//! - `GET /exports/{devices|loans|incidents|signatures|events}`: the export's CSV,
//!   streamed as the export page streams it, and recorded in the activity log.
//! - `POST /imports/{devices|people}?dry_run=true|false`: a CSV file as the body
//!   (`text/csv`), checked and written whole or not at all by the same command as the
//!   import pages and `kitroom import` ([`kitroom_app::imports`]); its problems are
//!   listed by the file's own line and column.

use axum::body::Bytes;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use kitroom_app::imports::{self, Imported, Preview, Written};
use kitroom_app::reports::{Cell, ReportName, ReportQuery, Table};
use kitroom_core::import::{Mapping, Sheet};
use kitroom_core::person::Permission;
use kitroom_store::exports::ExportKind;
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports/{name}", get(report))
        .route("/exports/{kind}", get(export))
        .route("/imports/{sheet}", post(import))
}

/// A query string that cannot be read is refused as invalid, as a body would be.
fn query<T>(q: Result<Query<T>, QueryRejection>) -> Result<T, ApiError> {
    q.map(|Query(q)| q).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed-query",
            format!("The query string could not be read: {}", e.body_text()),
        )
    })
}

// ---------------------------------------------------------------------------
// Reports

/// One cell as JSON: money in pence, times in RFC 3339 UTC, nothing as `null`.
fn cell_json(c: &Cell) -> Value {
    match c {
        Cell::Text(s) => json!(s),
        Cell::Count(n) => json!(n),
        Cell::Money(p) => json!(p),
        Cell::Time(t) => json!(t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))),
        Cell::Date(d) => json!(d.map(|d| d.to_string())),
        Cell::Flag(b) => json!(b),
        Cell::Missing => Value::Null,
    }
}

/// A report's table as `{report, columns, items, total}`: one object per row, keyed
/// by the columns' JSON names, in the CSV's order.
pub fn table_json(name: ReportName, q: &ReportQuery, table: &Table) -> Value {
    let names: Vec<String> = table.columns.iter().map(|c| c.json_name()).collect();
    let items: Vec<Value> = table
        .rows
        .iter()
        .map(|row| {
            let fields: Map<String, Value> = names
                .iter()
                .cloned()
                .zip(row.iter().map(cell_json))
                .collect();
            Value::Object(fields)
        })
        .collect();
    json!({
        "report": name.as_str(),
        "filters": q,
        "columns": names,
        "total": items.len(),
        "items": items,
    })
}

async fn report(
    user: ApiUser,
    State(state): State<AppState>,
    Path(name): Path<String>,
    q: Result<Query<ReportQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    user.require(Permission::ViewReports)?;
    let name = ReportName::parse(&name).ok_or_else(|| ApiError::not_found("That report"))?;
    let q = query(q)?;
    let report = kitroom_app::reports::run(state.app(), &user.0, name, &q).await?;
    Ok(Json(table_json(name, &q, &report.table())))
}

// ---------------------------------------------------------------------------
// Exports

async fn export(
    user: ApiUser,
    State(state): State<AppState>,
    Path(kind): Path<String>,
) -> Result<Response, ApiError> {
    user.require(Permission::ImportExport)?;
    let kind = ExportKind::parse(kind.trim_end_matches(".csv"))
        .ok_or_else(|| ApiError::not_found("That export"))?;
    state
        .store()
        .record_export(user.0.actor(), kind.as_str().to_owned())
        .await?;
    Ok(crate::spreadsheet::download_stream(
        kind.as_str(),
        crate::export::stream(state.store().clone(), kind),
    ))
}

// ---------------------------------------------------------------------------
// Imports

#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
struct ImportQuery {
    dry_run: bool,
}

/// The problems and notes of a checked file, and how many rows it had.
fn checked_json(sheet: Sheet, dry_run: bool, p: &Preview) -> Value {
    json!({
        "sheet": sheet.as_str(),
        "dry_run": dry_run,
        "written": 0,
        "checked": p.checked(),
        "ready": p.ready(),
        "notes": p.notes(),
        "problems": p.problems(),
    })
}

async fn import(
    user: ApiUser,
    State(state): State<AppState>,
    Path(sheet): Path<String>,
    q: Result<Query<ImportQuery>, QueryRejection>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    user.require(Permission::ImportExport)?;
    let sheet = match sheet.parse::<Sheet>() {
        Ok(s @ (Sheet::Devices | Sheet::People)) => s,
        _ => return Err(ApiError::not_found("That kind of import")),
    };
    imports::allowed(&user.0, sheet)?;
    let dry_run = query(q)?.dry_run;
    let is_csv = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("text/csv"));
    if !is_csv {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported-media-type",
            "Send the CSV file itself as the body, with `Content-Type: text/csv`.",
        ));
    }
    let table = kitroom_store::import::read_table(&body).map_err(|p| {
        let mut e = ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "import-problems",
            format!("Nothing was imported: {p}"),
        );
        e.extra = Some(("problems", json!([p])));
        e
    })?;
    let mapping = Mapping::automatic(sheet, &table.headers);
    let imported = imports::import(state.app(), &user.0, sheet, &table, mapping, dry_run).await?;
    match imported {
        Imported::Checked(p) if p.problems().is_empty() => {
            Ok(Json(checked_json(sheet, dry_run, &p)).into_response())
        }
        Imported::Checked(p) => {
            let n = p.problems().len();
            let mut e = ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "import-problems",
                format!(
                    "Nothing was imported: {n} {} in the file. Fix the file and send it again.",
                    if n == 1 { "problem" } else { "problems" }
                ),
            );
            e.extra = Some(("problems", json!(p.problems())));
            Err(e)
        }
        Imported::Written(w) => {
            let written = match w {
                Written::Devices(n) | Written::People(n) => n,
                Written::Encryption { summary, .. } => summary.updated.len(),
            };
            Ok(Json(json!({
                "sheet": sheet.as_str(),
                "dry_run": false,
                "written": written,
                "problems": [],
            }))
            .into_response())
        }
    }
}
