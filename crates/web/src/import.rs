//! Importing CSV files: paste, map columns, preview every problem, confirm.
//!
//! Every form post passes `csrf_guard`, which reads only URL-encoded forms of at most
//! 1 MiB, so a file cannot be uploaded as `multipart/form-data`. Instead the manager
//! pastes the file's text, and each step posts that text again in a hidden field with
//! the column choices: nothing is kept on the server between steps, and nothing is
//! written until the last step, which checks the whole file once more and writes all
//! of it in one transaction. Bigger files go through `kitroom import` on the server.
//!
//! The steps, for each kind of file (`devices`, `people`, `encryption`):
//! `GET /import/{sheet}` (paste) → `POST …/map` (choose what each column holds) →
//! `POST …/preview` (every problem by line and column, or what will be written) →
//! `POST …/confirm` (write, then back to the list with a notice).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use kitroom_app::imports::Preview;
use kitroom_app::imports::{self, Imported, Written};
use kitroom_core::import::{Mapping, Sheet, Table};
use kitroom_core::person::Permission;
use kitroom_store::import::read_table;

use crate::auth::{set_flash, Ctx, FormBody};
use crate::views::import::{self as v, plural, EncryptionResult};
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/import", get(index))
        .route("/import/{sheet}", get(paste_page))
        .route("/import/{sheet}/map", post(map))
        .route("/import/{sheet}/preview", post(preview))
        .route("/import/{sheet}/confirm", post(confirm))
        .route("/import/{sheet}/done", get(done))
}

/// The most a pasted file may hold. `csrf_guard` refuses a form body over 1 MiB
/// before this is reached, and URL encoding makes a CSV file up to a third bigger, so
/// in practice a file of about 700 KB is the most the web can take.
pub const MAX_CSV_BYTES: usize = 1024 * 1024;

/// Where the encryption import's result waits for the page after the redirect.
const RESULT_KEY: &str = "import_result";

fn sheet(s: &str) -> Result<Sheet, AppError> {
    s.parse().map_err(|_| AppError::NotFound)
}

/// Refuses anyone who may not import this kind of file.
fn allow(ctx: &Ctx, sheet: Sheet) -> Result<(), AppError> {
    Ok(imports::allowed(&ctx.user, sheet)?)
}

async fn index(ctx: Ctx) -> Result<Response, AppError> {
    ctx.require(Permission::ImportExport)?;
    Ok(v::index(&ctx).into_response())
}

async fn paste_page(ctx: Ctx, Path(s): Path<String>) -> Result<Response, AppError> {
    let sheet = sheet(&s)?;
    allow(&ctx, sheet)?;
    Ok(v::paste(&ctx, sheet, "", None).into_response())
}

/// What every step after pasting posts: the file's text and, once chosen, the field
/// each column holds (`col-0`, `col-1`, …; empty for an ignored column).
#[derive(Debug, Default)]
pub struct ImportForm {
    pub csv: String,
    pub choices: Option<Vec<String>>,
    /// What a value means, chosen once for the file: (field, value, word), posted as
    /// `map:FIELD:VALUE` = WORD (`map:kind:Ornamental Railings` = `other`).
    pub values: Vec<(String, String, String)>,
}

impl ImportForm {
    fn read(fields: Vec<(String, String)>) -> ImportForm {
        let mut form = ImportForm::default();
        let mut chosen: Vec<(usize, String)> = Vec::new();
        for (k, value) in fields {
            if k == "csv" {
                form.csv = value;
            } else if let Some((field, from)) =
                k.strip_prefix("map:").and_then(|r| r.split_once(':'))
            {
                if !value.trim().is_empty() && form.values.len() < 1_000 {
                    form.values.push((field.to_owned(), from.to_owned(), value));
                }
            } else if let Some(i) = k.strip_prefix("col-").and_then(|i| i.parse().ok()) {
                // At most one choice per column the file could have.
                if i < 10_000 {
                    chosen.push((i, value));
                }
            }
        }
        if !chosen.is_empty() {
            let len = chosen.iter().map(|(i, _)| i + 1).max().unwrap_or(0);
            let mut choices = vec![String::new(); len];
            for (i, value) in chosen {
                choices[i] = value;
            }
            form.choices = Some(choices);
        }
        form
    }

    fn mapping(&self, sheet: Sheet, table: &Table) -> Mapping {
        let mut mapping = match &self.choices {
            Some(c) => Mapping::chosen(sheet, &table.headers, c),
            None => Mapping::automatic(sheet, &table.headers),
        };
        for (field, value, word) in &self.values {
            // A choice the select could not have offered is left out, and the value
            // is asked about again.
            let _ = mapping.choose_value(field, value, word);
        }
        mapping
    }
}

/// The pasted text as a table, or why it is not one.
fn read_pasted(sheet: Sheet, csv: &str) -> Result<Table, String> {
    if csv.trim().is_empty() {
        return Err(
            "Paste the contents of your CSV file, starting with its line of column headings."
                .into(),
        );
    }
    if csv.len() > MAX_CSV_BYTES {
        return Err(format!(
            "This file is too big to paste here ({} KB). Ask your IT administrator to import it with: kitroom import {} FILE.csv",
            csv.len() / 1024,
            sheet.as_str()
        ));
    }
    read_table(csv.as_bytes()).map_err(|p| p.to_string())
}

/// The paste page again, with the text as pasted and why it cannot be read.
fn refuse_paste(ctx: &Ctx, sheet: Sheet, csv: &str, message: &str) -> Response {
    (
        StatusCode::UNPROCESSABLE_ENTITY,
        v::paste(ctx, sheet, csv, Some(message)),
    )
        .into_response()
}

/// What each step after pasting reads from its form: the kind of file, the form,
/// the pasted text as a table and the columns' mapping.
struct Posted {
    sheet: Sheet,
    form: ImportForm,
    table: Table,
    mapping: Mapping,
}

/// Reads a step's form for someone allowed to import this kind of file; `Err` is
/// the paste page again when the text cannot be read.
fn posted(
    ctx: &Ctx,
    s: &str,
    fields: Vec<(String, String)>,
) -> Result<Result<Posted, Response>, AppError> {
    let sheet = sheet(s)?;
    allow(ctx, sheet)?;
    let form = ImportForm::read(fields);
    let table = match read_pasted(sheet, &form.csv) {
        Ok(t) => t,
        Err(m) => return Ok(Err(refuse_paste(ctx, sheet, &form.csv, &m))),
    };
    let mapping = form.mapping(sheet, &table);
    Ok(Ok(Posted {
        sheet,
        form,
        table,
        mapping,
    }))
}

async fn map(
    ctx: Ctx,
    Path(s): Path<String>,
    FormBody(fields): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let Posted {
        sheet: _,
        form,
        table,
        mapping,
    } = match posted(&ctx, &s, fields)? {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    Ok(v::map(&ctx, &table, &mapping, &form.csv).into_response())
}

/// Checks the file as the person would import it.
async fn check(
    ctx: &Ctx,
    state: &AppState,
    sheet: Sheet,
    table: &Table,
    mapping: Mapping,
) -> Result<Preview, AppError> {
    Ok(imports::check(
        state.app(),
        ctx.user.school,
        Some(&ctx.user),
        sheet,
        table,
        mapping,
        &|| {},
    )
    .await?)
}

fn preview_page(ctx: &Ctx, table: &Table, mapping: &Mapping, csv: &str, p: &Preview) -> Response {
    let status = if p.problems().is_empty() {
        StatusCode::OK
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    };
    (status, v::preview(ctx, table, mapping, csv, p)).into_response()
}

#[tracing::instrument(skip_all, fields(import.sheet = %s))]
async fn preview(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(s): Path<String>,
    FormBody(fields): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let Posted {
        sheet,
        form,
        table,
        mapping,
    } = match posted(&ctx, &s, fields)? {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    let p = check(&ctx, &state, sheet, &table, mapping.clone()).await?;
    Ok(preview_page(&ctx, &table, &mapping, &form.csv, &p))
}

#[tracing::instrument(skip_all, fields(import.sheet = %s))]
async fn confirm(
    ctx: Ctx,
    State(state): State<AppState>,
    Path(s): Path<String>,
    FormBody(fields): FormBody<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let Posted {
        sheet,
        form,
        table,
        mapping,
    } = match posted(&ctx, &s, fields)? {
        Ok(p) => p,
        Err(page) => return Ok(page),
    };
    let imported = imports::import(
        state.app(),
        &ctx.user,
        sheet,
        &table,
        mapping.clone(),
        false,
    )
    .await?;
    let written = match imported {
        Imported::Checked(p) => return Ok(preview_page(&ctx, &table, &mapping, &form.csv, &p)),
        Imported::Written(w) => w,
    };
    match written {
        Written::Devices(n) => {
            tracing::info!(devices = n, "devices imported");
            set_flash(
                &ctx.session,
                format!("{n} {} imported.", plural(n, "device", "devices")),
            )
            .await?;
            Ok(Redirect::to("/devices").into_response())
        }
        Written::People(n) => {
            tracing::info!(people = n, "people imported");
            set_flash(
                &ctx.session,
                format!(
                    "{n} {} imported. Send those with email addresses an invitation to choose their own password (below), or set one on each person's page.",
                    plural(n, "person", "people")
                ),
            )
            .await?;
            Ok(Redirect::to("/people").into_response())
        }
        Written::Encryption {
            summary,
            left_alone,
        } => {
            tracing::info!(
                devices = summary.updated.len(),
                unmatched = summary.unmatched.len(),
                "encryption status imported"
            );
            let result = EncryptionResult {
                updated: summary.updated.len(),
                unchanged: summary.unchanged,
                left_alone,
                unmatched: summary
                    .unmatched
                    .into_iter()
                    .map(|l| (l.line, l.value))
                    .collect(),
            };
            ctx.session.insert(RESULT_KEY, result).await?;
            Ok(Redirect::to("/import/encryption/done").into_response())
        }
    }
}

async fn done(ctx: Ctx, Path(s): Path<String>) -> Result<Response, AppError> {
    let sheet = sheet(&s)?;
    allow(&ctx, sheet)?;
    if sheet != Sheet::Encryption {
        return Err(AppError::NotFound);
    }
    match ctx.session.remove::<EncryptionResult>(RESULT_KEY).await? {
        Some(result) => Ok(v::encryption_done(&ctx, &result).into_response()),
        None => Ok(Redirect::to("/import/encryption").into_response()),
    }
}
