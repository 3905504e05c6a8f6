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
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use kitroom_app::imports::{self, Imported, Preview, Written};
use kitroom_app::reports::{Cell, ReportName, ReportQuery, Table};
use kitroom_core::import::{Mapping, Sheet};
use kitroom_core::person::Permission;
use kitroom_store::exports::ExportKind;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use utoipa::IntoParams;
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::api::QueryParams;
use crate::auth::ApiUser;
use crate::error::ApiError;
use crate::AppState;

/// The report, export and import operations, each registered with its OpenAPI
/// description.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(report))
        .routes(routes!(export))
        .routes(routes!(import))
}

fn report_names() -> utoipa::openapi::Object {
    words(ReportName::ALL.iter().map(|r| r.as_str()))
}

fn export_kinds() -> utoipa::openapi::Object {
    words(ExportKind::ALL.iter().map(|k| k.as_str()))
}

fn import_sheets() -> utoipa::openapi::Object {
    words([Sheet::Devices.as_str(), Sheet::People.as_str()])
}

/// A path segment that is one of `words`.
fn words(words: impl IntoIterator<Item = &'static str>) -> utoipa::openapi::Object {
    utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .enum_values(Some(words.into_iter().collect::<Vec<_>>()))
        .build()
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

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ReportPath {
    /// Which report.
    #[param(schema_with = report_names)]
    name: String,
}

#[utoipa::path(
    get,
    path = "/reports/{name}",
    tag = "reports",
    summary = "A report as JSON (managers, the head and admins): the same rows, totals and filters as its page and its CSV",
    description = "Each report reads the filters it takes and ignores the others. Fields are named as the CSV's headings, money is in pence (`*_pence`) and times are RFC 3339 UTC. Every report covers the school the token acts in, except `schools`: every school of the trust side by side, for the trust's own staff.",
    params(ReportPath, ReportQuery),
    responses(
        (status = 200, description = "`report`, `filters`, `columns`, `items` (one object per row, keyed by `columns`) and `total`.", body = Object),
        (status = 403, description = "This account may not see reports (or, for `schools`, is not one of the trust's own staff)."),
        (status = 404, description = "No report has that name."),
        (status = 422, description = "A filter could not be used (a date that is not a date, a kind that does not exist); `errors` names it."),
    )
)]
async fn report(
    user: ApiUser,
    State(state): State<AppState>,
    Path(ReportPath { name }): Path<ReportPath>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Json<Value>, ApiError> {
    user.require(Permission::ViewReports)?;
    let name = ReportName::parse(&name).ok_or_else(|| ApiError::not_found("That report"))?;
    let report = kitroom_app::reports::run(state.app(), &user.0, name, &q).await?;
    Ok(Json(table_json(name, &q, &report.table())))
}

// ---------------------------------------------------------------------------
// Exports

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ExportPath {
    /// What to export (`.csv` may follow the name).
    #[param(schema_with = export_kinds)]
    kind: String,
}

#[utoipa::path(
    get,
    path = "/exports/{kind}",
    tag = "exports",
    summary = "A whole export as CSV, as the export page gives it; recorded in the activity log",
    params(ExportPath),
    responses(
        (status = 200, description = "The CSV file (with the byte-order mark Excel needs), as an attachment.", content_type = "text/csv", body = String),
        (status = 403, description = "This account may not export."),
        (status = 404, description = "No export has that name."),
    )
)]
async fn export(
    user: ApiUser,
    State(state): State<AppState>,
    Path(ExportPath { kind }): Path<ExportPath>,
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
        crate::export::stream(state.store().clone(), user.0.school, kind),
    ))
}

// ---------------------------------------------------------------------------
// Imports

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
struct ImportPath {
    /// What the file holds.
    #[param(schema_with = import_sheets)]
    sheet: String,
}

#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(default, deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ImportQuery {
    /// Check the file and say what would be written, writing nothing.
    dry_run: bool,
}

/// A CSV file sent as the body itself, `Content-Type: text/csv`, of at most
/// [`crate::import::MAX_CSV_BYTES`], as the import pages take. Read as the request
/// arrives, but its mistakes are answered only by [`CsvBody::file`], after the
/// handler has checked who is asking: someone who may not import is told so
/// however they sent the file.
struct CsvBody(Result<Bytes, ApiError>);

impl CsvBody {
    fn file(self) -> Result<Bytes, ApiError> {
        self.0
    }

    async fn read<S: Send + Sync>(req: Request, state: &S) -> Result<Bytes, ApiError> {
        let is_csv = req
            .headers()
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
        let body = Bytes::from_request(req, state)
            .await
            .map_err(|e| ApiError::new(e.status(), "malformed-body", e.body_text()))?;
        if body.len() > crate::import::MAX_CSV_BYTES {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!(
                    "The file is larger than Kitroom imports at once ({} MB). Split it and send each part.",
                    crate::import::MAX_CSV_BYTES / (1024 * 1024)
                ),
            ));
        }
        Ok(body)
    }
}

impl<S: Send + Sync> FromRequest<S> for CsvBody {
    type Rejection = std::convert::Infallible;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        Ok(CsvBody(CsvBody::read(req, state).await))
    }
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

#[utoipa::path(
    post,
    path = "/imports/{sheet}",
    tag = "imports",
    summary = "Import a CSV file of devices or people, checked whole and written whole or not at all",
    description = "The columns are found by their headings, as the import page finds them. With `dry_run=true` the file is only checked. A file with any problem writes nothing; each problem names the file's own line (the heading line is 1) and column.",
    params(ImportPath, ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The CSV file itself, with a heading line."),
    responses(
        (status = 200, description = "`sheet`, `dry_run`, `written`, `problems` (empty); a dry run also `checked`, `ready` and `notes`.", body = Object),
        (status = 403, description = "This account may not import (people also need the right to manage accounts)."),
        (status = 404, description = "Kitroom does not import that kind of file here."),
        (status = 413, description = "The file is larger than Kitroom imports at once."),
        (status = 415, description = "The body was not sent as `Content-Type: text/csv`."),
        (status = 422, description = "The file has problems and nothing was imported: `problems` lists each by `line`, `column` and `message`."),
    )
)]
async fn import(
    user: ApiUser,
    State(state): State<AppState>,
    Path(ImportPath { sheet }): Path<ImportPath>,
    QueryParams(q): QueryParams<ImportQuery>,
    body: CsvBody,
) -> Result<Response, ApiError> {
    user.require(Permission::ImportExport)?;
    let sheet = match sheet.parse::<Sheet>() {
        Ok(s @ (Sheet::Devices | Sheet::People)) => s,
        _ => return Err(ApiError::not_found("That kind of import")),
    };
    imports::allowed(&user.0, sheet)?;
    let dry_run = q.dry_run;
    let body = body.file()?;
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
