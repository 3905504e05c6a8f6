//! The manager's reports, as pages (with SVG charts), as CSV and as JSON.
//!
//! Each report is defined once, in [`kitroom_app::reports`]: its filters, its
//! figures and its rows and columns. Here it is shown three ways: a page at
//! `/reports/<name>`, a CSV of the same rows at `/reports/<name>.csv` (money in
//! pounds, times in school time) and, in `api_reports`, JSON (money in pence, times
//! in UTC). All take the same query string, so "Download CSV" gives what the page
//! shows with its filters. Everything here needs [`Permission::ViewReports`]
//! (managers, the head teacher, admins).
//!
//! A person's history (`/reports/people/{username}`) comes with the subject-access
//! export of everything Kitroom holds on them, as JSON and as CSV; each export is
//! recorded in the activity log.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::Utc;
use kitroom_app::reports::{Cell, Report, ReportName, ReportQuery, Table, SECTIONS};
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use kitroom_store::people::Person;
use kitroom_store::reports::PersonRecord;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::{Ctx, QueryParams};
use crate::paths::person_history_url;
use crate::views::reports as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(index))
        .route("/reports/{file}", get(report))
        .route("/reports/people", get(find_person))
        .route("/reports/people/{username}", get(person))
        .route("/reports/people/{username}/export.json", get(export_json))
        .route("/reports/people/{username}/export.csv", get(export_csv))
}

/// 200 with the page, or 422 when a filter could not be read (the page then shows
/// the problems and no figures).
fn respond(invalid: &Invalid, page: maud::Markup) -> Response {
    let status = if invalid.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, page).into_response()
}

/// A report's figures, or the problems with its filters for the page to show.
fn figures(run: Result<Report, kitroom_app::Error>) -> Result<(Option<Report>, Invalid), AppError> {
    match run {
        Ok(r) => Ok((Some(r), Invalid::new())),
        Err(e) => match e.refusal().and_then(|r| r.fields.clone()) {
            Some(invalid) => Ok((None, invalid)),
            None => Err(e.into()),
        },
    }
}

/// `/reports/{name}` is a report's page and `/reports/{name}.csv` its CSV (its
/// [`Table`], named `kitroom-{file}-{today}.csv`), both with the filters as typed.
async fn report(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(file): Path<String>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let (name, is_csv) = match file.strip_suffix(".csv") {
        Some(name) => (name, true),
        None => (file.as_str(), false),
    };
    let name = ReportName::parse(name).ok_or(AppError::NotFound)?;
    let run = kitroom_app::reports::run(state.app(), &ctx.user, name, &q).await;
    let (report, invalid) = figures(run)?;
    match report {
        Some(report) if is_csv => Ok(csv_file(&report.table())),
        None if is_csv => Err(bad_filters(&invalid)),
        report => {
            let locations = state.store().list_locations(ctx.user.school).await?;
            Ok(respond(
                &invalid,
                v::report(&ctx, name, &q, &locations, report.as_ref(), &invalid),
            ))
        }
    }
}

/// A report's table as a CSV download. Every cell is made safe for spreadsheets (no
/// formulas); money is in pounds and times in school time ([`crate::spreadsheet`]).
pub fn csv_file(table: &Table) -> Response {
    crate::spreadsheet::download(&table.file, crate::export::csv_lines(csv_rows(table)))
}

/// The header and then each row, as a spreadsheet reads them.
pub fn csv_rows(table: &Table) -> Vec<Vec<String>> {
    let mut lines = vec![table.columns.iter().map(|c| c.name.to_owned()).collect()];
    lines.extend(table.rows.iter().map(|r| r.iter().map(csv_cell).collect()));
    lines
}

fn csv_cell(c: &Cell) -> String {
    match c {
        Cell::Text(s) => s.clone(),
        Cell::Count(n) => n.to_string(),
        Cell::Money(p) => p.map(crate::spreadsheet::pounds).unwrap_or_default(),
        Cell::Time(t) => t.map(crate::spreadsheet::school_time).unwrap_or_default(),
        Cell::Date(d) => d.map(|d| d.to_string()).unwrap_or_default(),
        Cell::Flag(b) => if *b { "yes" } else { "no" }.into(),
        Cell::Missing => String::new(),
    }
}

/// A CSV download whose filters could not be read.
fn bad_filters(invalid: &Invalid) -> AppError {
    AppError::BadRequest(format!(
        "This report's filters could not be read: {invalid} Go back to the report and try again."
    ))
}

fn time_text(t: chrono::DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

// ---------------------------------------------------------------------------
// The index

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct FindQuery {
    pub username: String,
}

async fn index(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    Ok(v::index(&ctx, "", &Invalid::new()).into_response())
}

/// The index's "one person's history" form: to their page, or back with the problem.
async fn find_person(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<FindQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let username = q.username.trim();
    let invalid = if username.is_empty() {
        Invalid::one("username", "Enter the person's username.")
    } else if let Some(p) = state
        .store()
        .person_by_username(ctx.user.school, username)
        .await?
    {
        return Ok(Redirect::to(&person_history_url(&p.username)).into_response());
    } else {
        Invalid::one("username", format!("Nobody has the username “{username}”."))
    };
    Ok(respond(&invalid, v::index(&ctx, username, &invalid)))
}

// ---------------------------------------------------------------------------
// One person's history, and the subject-access export

async fn person_named(
    state: &AppState,
    school: SchoolId,
    username: &str,
) -> Result<Person, AppError> {
    state
        .store()
        .person_by_username(school, username)
        .await?
        .ok_or(AppError::NotFound)
}

#[tracing::instrument(skip_all)]
async fn person(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let person = person_named(&state, ctx.user.school, &username).await?;
    let record = state
        .store()
        .person_record(
            &person,
            kitroom_app::reports::record_reach(&ctx.user, &person),
        )
        .await?;
    Ok(v::person(&ctx, &person, &record).into_response())
}

/// The record as one JSON document, with when it was made.
pub fn export_value(record: &PersonRecord) -> Result<Value, AppError> {
    let mut v = serde_json::to_value(record).map_err(AppError::internal)?;
    v["exported_at"] = json!(time_text(Utc::now()));
    v["about"] = json!(
        "Everything Kitroom holds on this person. Where a record involves another person, they are written as “someone else”."
    );
    Ok(v)
}

fn export_name(person: &Person, ext: &str) -> String {
    let safe: String = person
        .username
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("kitroom-{safe}.{ext}")
}

/// Loads the record and notes the export in the activity log first, so the log
/// shows every export, including one that then fails.
async fn exported_record(
    ctx: &Ctx,
    state: &AppState,
    username: &str,
    format: &'static str,
) -> Result<(Person, PersonRecord), AppError> {
    ctx.require(Permission::ViewReports)?;
    let person = person_named(state, ctx.user.school, username).await?;
    state
        .store()
        .record_person_export(ctx.user.actor(), &person, format)
        .await?;
    let record = state
        .store()
        .person_record(
            &person,
            kitroom_app::reports::record_reach(&ctx.user, &person),
        )
        .await?;
    Ok((person, record))
}

#[tracing::instrument(skip_all)]
async fn export_json(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let (person, record) = exported_record(&ctx, &state, &username, "json").await?;
    let body = serde_json::to_string_pretty(&export_value(&record)?).map_err(AppError::internal)?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json".to_owned()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{}\"", export_name(&person, "json")),
            ),
        ],
        body,
    )
        .into_response())
}

/// A JSON value as one CSV cell: text as it is, anything nested as compact JSON.
fn cell(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One field of the export as a spreadsheet reads it: an amount in pence
/// (`cost_pence`) becomes pounds (`cost`, `120.50`); a time becomes school time with
/// its offset; anything else is [`cell`].
fn sheet_field(field: &str, value: &Value) -> (String, String) {
    if let (Some(base), Some(pence)) = (field.strip_suffix("_pence"), value.as_i64()) {
        return (base.to_owned(), crate::spreadsheet::pounds(pence));
    }
    match value {
        Value::String(s) => (field.to_owned(), crate::spreadsheet::school_time_text(s)),
        other => (field.to_owned(), cell(other)),
    }
}

/// The export as rows of `section, item, field, value`: one row per field of each
/// record, numbered from 1 within its section; an empty section is one row saying
/// `none`. The same data as the JSON, in a shape any spreadsheet can filter, with
/// money in pounds and times in school time ([`sheet_field`]).
pub fn export_rows(export: &Value) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let item = |section: &str, n: usize, fields: &Value, rows: &mut Vec<Vec<String>>| {
        if let Value::Object(map) = fields {
            for (field, value) in map {
                let (field, value) = sheet_field(field, value);
                rows.push(vec![section.to_owned(), n.to_string(), field, value]);
            }
        }
    };
    for section in SECTIONS {
        match &export[*section] {
            Value::Array(items) if items.is_empty() => {
                rows.push(vec![
                    (*section).to_owned(),
                    String::new(),
                    String::new(),
                    "none".into(),
                ]);
            }
            Value::Array(items) => {
                for (i, it) in items.iter().enumerate() {
                    item(section, i + 1, it, &mut rows);
                }
            }
            other => item(section, 1, other, &mut rows),
        }
    }
    rows.push(vec![
        "export".into(),
        "1".into(),
        "exported_at".into(),
        sheet_field("exported_at", &export["exported_at"]).1,
    ]);
    rows
}

#[tracing::instrument(skip_all)]
async fn export_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(username): Path<String>,
) -> Result<Response, AppError> {
    let (person, record) = exported_record(&ctx, &state, &username, "csv").await?;
    let rows = export_rows(&export_value(&record)?);
    let mut lines = vec![["section", "item", "field", "value"]
        .map(str::to_owned)
        .to_vec()];
    lines.extend(rows);
    Ok(crate::spreadsheet::download(
        &person.username,
        crate::export::csv_lines(lines),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_becomes_one_row_per_field_and_empty_sections_say_none() {
        let v = json!({"account": {"username": "jo"}, "loans": [{"device_tag": "LAP-1"}, {"device_tag": "LAP-2"}],
                       "api_tokens": [], "exported_at": "now"});
        let rows = export_rows(&v);
        assert!(rows.contains(&vec![
            "account".into(),
            "1".into(),
            "username".into(),
            "jo".into()
        ]));
        assert!(rows.contains(&vec![
            "loans".into(),
            "2".into(),
            "device_tag".into(),
            "LAP-2".into()
        ]));
        assert!(rows.contains(&vec![
            "api_tokens".into(),
            "".into(),
            "".into(),
            "none".into()
        ]));
    }

    #[test]
    fn an_exports_money_reads_in_pounds_and_its_times_in_school_time() {
        let v = json!({"incidents_reported": [{"cost_pence": 12050, "occurred_at": "2026-07-01T08:00:00.123456Z", "occurred_on": "2026-07-01"}],
                       "exported_at": "2026-12-01T08:00:00Z"});
        let rows = export_rows(&v);
        let value = |field: &str| {
            rows.iter()
                .find(|r| r[2] == field)
                .unwrap_or_else(|| panic!("{field}: {rows:?}"))[3]
                .clone()
        };
        assert_eq!(value("cost"), "120.50");
        assert_eq!(value("occurred_at"), "2026-07-01T09:00:00+01:00");
        assert_eq!(value("occurred_on"), "2026-07-01");
        assert_eq!(value("exported_at"), "2026-12-01T08:00:00+00:00");
    }
}
