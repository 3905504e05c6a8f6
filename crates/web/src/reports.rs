//! The manager's reports, as pages (with SVG charts) and as CSV.
//!
//! Each report is a page at `/reports/<name>` and a CSV of the same figures at
//! `/reports/<name>.csv`, taking the same query string, so "Download CSV" gives what
//! the page shows with its filters. Everything here needs
//! [`Permission::ViewReports`] (managers, the head teacher, admins).
//!
//! A person's history (`/reports/people/{username}`) comes with the subject-access
//! export of everything Kitroom holds on them, as JSON and as CSV; each export is
//! recorded in the activity log.
//!
//! The store counts with `group by`; this module turns its rows into what a school
//! reads: terms and school years, percentages, pounds.

use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Europe::London;
use kitroom_core::device::{parse_date, DeviceKind, DeviceStatus, Pence};
use kitroom_core::incident::IncidentKind;
use kitroom_core::person::Permission;
use kitroom_core::Invalid;
use kitroom_store::locations::Location;
use kitroom_store::people::Person;
use kitroom_store::reports::{
    Compliance, ComplianceCount, DeviceLine, DeviceUse, IncidentScope, IncidentTally,
    InventoryCount, OverdueLoan, PersonRecord, Scope,
};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::auth::{Ctx, QueryParams};
use crate::views::reports as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/reports", get(index))
        .route("/reports/inventory", get(inventory))
        .route("/reports/inventory.csv", get(inventory_csv))
        .route("/reports/encryption", get(encryption))
        .route("/reports/encryption.csv", get(encryption_csv))
        .route("/reports/overdue", get(overdue))
        .route("/reports/overdue.csv", get(overdue_csv))
        .route("/reports/audit", get(audit))
        .route("/reports/audit.csv", get(audit_csv))
        .route("/reports/incidents", get(incidents))
        .route("/reports/incidents.csv", get(incidents_csv))
        .route("/reports/utilisation", get(utilisation))
        .route("/reports/utilisation.csv", get(utilisation_csv))
        .route("/reports/disposals", get(disposals))
        .route("/reports/disposals.csv", get(disposals_csv))
        .route("/reports/people", get(find_person))
        .route("/reports/people/{username}", get(person))
        .route("/reports/people/{username}/export.json", get(export_json))
        .route("/reports/people/{username}/export.csv", get(export_csv))
}

/// The default age of an encryption check, and of an audit, in days.
pub const DEFAULT_DAYS: i64 = 365;
/// The default utilisation period, in days, ending today.
pub const DEFAULT_PERIOD_DAYS: i64 = 90;

/// A report's filters, as typed. Each report reads the ones it takes.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(default)]
pub struct ReportQuery {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// A device kind; on the incidents report, an incident kind.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Encryption: how old a verification may be.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub max_age_days: String,
    /// Audits: how long since a device was last audited.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub days: String,
}

impl ReportQuery {
    /// The filters as a query string, for the CSV link.
    pub fn query_string(&self) -> String {
        serde_urlencoded::to_string(self).unwrap_or_default()
    }

    pub fn is_filtered(&self) -> bool {
        !self.query_string().is_empty()
    }

    /// Which devices: location, kind and (when `with_status`) status.
    fn scope(&self, with_status: bool, invalid: &mut Invalid) -> Scope {
        let location = self.location.trim();
        Scope {
            location: (!location.is_empty()).then(|| location.to_owned()),
            kind: optional_word(&self.kind, "kind", invalid),
            status: if with_status {
                optional_word(&self.status, "status", invalid)
            } else {
                None
            },
        }
    }

    /// `from` and `to` as dates, checked to be in order.
    fn dates(&self, invalid: &mut Invalid) -> (Option<NaiveDate>, Option<NaiveDate>) {
        let from = invalid
            .check("from", parse_date(&self.from, "From"))
            .flatten();
        let to = invalid.check("to", parse_date(&self.to, "To")).flatten();
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                invalid.add("to", "To must be the same day as From or later.");
            }
        }
        (from, to)
    }
}

/// A word from a drop-down, or nothing when empty.
fn optional_word<T: std::str::FromStr<Err = String>>(
    s: &str,
    field: &'static str,
    invalid: &mut Invalid,
) -> Option<T> {
    let s = s.trim();
    if s.is_empty() {
        None
    } else {
        invalid.check(field, s.parse())
    }
}

/// A number of days between 1 and ten years; `default` when empty.
fn days(s: &str, field: &'static str, default: i64, invalid: &mut Invalid) -> i64 {
    let s = s.trim();
    if s.is_empty() {
        return default;
    }
    match s.parse::<i64>() {
        Ok(n) if (1..=3650).contains(&n) => n,
        _ => {
            invalid.add(
                field,
                format!("Enter a number of days from 1 to 3650, like {default}."),
            );
            default
        }
    }
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

/// A report's CSV download, named `kitroom-{what}-{today}.csv`. Every cell is made
/// safe for spreadsheets (no formulas); money and times are already in the forms of
/// [`crate::spreadsheet`].
fn csv_file(what: &str, header: &[&str], rows: Vec<Vec<String>>) -> Result<Response, AppError> {
    let mut lines = vec![header.iter().map(|h| (*h).to_owned()).collect::<Vec<_>>()];
    lines.extend(rows);
    Ok(crate::spreadsheet::download(
        what,
        crate::export::csv_lines(lines),
    ))
}

/// A CSV download whose filters could not be read.
fn bad_filters(invalid: &Invalid) -> AppError {
    AppError::BadRequest(format!(
        "This report's filters could not be read: {invalid} Go back to the report and try again."
    ))
}

fn date_text(d: Option<NaiveDate>) -> String {
    d.map(|d| d.to_string()).unwrap_or_default()
}

fn time_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// A time in a report's CSV: school time with its offset.
fn csv_time(t: DateTime<Utc>) -> String {
    crate::spreadsheet::school_time(t)
}

/// `n` as a whole percentage of `total`, rounded half up; `None` when there is nothing.
pub fn percent(n: i64, total: i64) -> Option<i64> {
    (total > 0).then(|| (n * 200 + total) / (total * 2))
}

/// "3 days 4 hours", "5 hours", "20 minutes".
pub fn how_long(d: Duration) -> String {
    let plural = |n: i64, one: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {one}s")
        }
    };
    let (days, hours, minutes) = (d.num_days(), d.num_hours() % 24, d.num_minutes() % 60);
    if days > 0 {
        if hours > 0 {
            format!("{} {}", plural(days, "day"), plural(hours, "hour"))
        } else {
            plural(days, "day")
        }
    } else if hours > 0 {
        plural(hours, "hour")
    } else {
        plural(minutes.max(0), "minute")
    }
}

async fn locations(state: &AppState) -> Result<Vec<Location>, AppError> {
    Ok(state.store().list_locations().await?)
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
    } else if let Some(p) = state.store().person_by_username(username).await? {
        return Ok(Redirect::to(&person_url(&p.username)).into_response());
    } else {
        Invalid::one("username", format!("Nobody has the username “{username}”."))
    };
    Ok(respond(&invalid, v::index(&ctx, username, &invalid)))
}

// ---------------------------------------------------------------------------
// Inventory

/// Devices counted by kind, status and location, with totals.
pub struct Inventory {
    pub counts: Vec<InventoryCount>,
}

impl Inventory {
    /// The kinds with any device, in the usual order.
    pub fn kinds(&self) -> Vec<DeviceKind> {
        DeviceKind::ALL
            .iter()
            .copied()
            .filter(|k| self.counts.iter().any(|c| c.kind == *k))
            .collect()
    }

    /// The locations with any device, by name.
    pub fn locations(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for c in &self.counts {
            if !out.contains(&c.location.as_str()) {
                out.push(&c.location);
            }
        }
        out
    }

    fn sum(&self, keep: impl Fn(&InventoryCount) -> bool) -> i64 {
        self.counts
            .iter()
            .filter(|c| keep(c))
            .map(|c| c.devices)
            .sum()
    }

    pub fn kind_status(&self, kind: DeviceKind, status: Option<DeviceStatus>) -> i64 {
        self.sum(|c| c.kind == kind && status.is_none_or(|s| c.status == s))
    }

    pub fn location_status(&self, location: &str, status: Option<DeviceStatus>) -> i64 {
        self.sum(|c| c.location == location && status.is_none_or(|s| c.status == s))
    }

    pub fn status(&self, status: Option<DeviceStatus>) -> i64 {
        self.sum(|c| status.is_none_or(|s| c.status == s))
    }
}

async fn inventory_report(
    state: &AppState,
    q: &ReportQuery,
    invalid: &mut Invalid,
) -> Result<Option<Inventory>, AppError> {
    let scope = q.scope(true, invalid);
    if !invalid.is_empty() {
        return Ok(None);
    }
    Ok(Some(Inventory {
        counts: state.store().inventory(&scope).await?,
    }))
}

async fn inventory(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = inventory_report(&state, &q, &mut invalid).await?;
    let locations = locations(&state).await?;
    Ok(respond(
        &invalid,
        v::inventory(&ctx, &q, &locations, report.as_ref(), &invalid),
    ))
}

/// One row per kind, then per location, each with a count per status and a total;
/// the last row is every device.
async fn inventory_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = inventory_report(&state, &q, &mut invalid)
        .await?
        .ok_or_else(|| bad_filters(&invalid))?;
    let mut header = vec!["group", "name"];
    header.extend(DeviceStatus::ALL.iter().map(|s| s.as_str()));
    header.push("total");
    let row = |group: &str, name: &str, count: &dyn Fn(Option<DeviceStatus>) -> i64| {
        let mut r = vec![group.to_owned(), name.to_owned()];
        r.extend(
            DeviceStatus::ALL
                .iter()
                .map(|s| count(Some(*s)).to_string()),
        );
        r.push(count(None).to_string());
        r
    };
    let mut rows = Vec::new();
    for k in report.kinds() {
        rows.push(row("kind", k.as_str(), &|s| report.kind_status(k, s)));
    }
    for l in report.locations() {
        rows.push(row("location", l, &|s| report.location_status(l, s)));
    }
    rows.push(row("total", "all devices", &|s| report.status(s)));
    csv_file("inventory", &header, rows)
}

// ---------------------------------------------------------------------------
// Encryption compliance

/// Devices in service by [`Compliance`], and the ones that fall short.
pub struct EncryptionReport {
    pub max_age_days: i64,
    /// Verified on or after this day counts.
    pub since: NaiveDate,
    pub counts: Vec<ComplianceCount>,
    /// Devices not verified as encrypted recently enough.
    pub gaps: Vec<DeviceLine>,
}

impl EncryptionReport {
    pub fn count(&self, c: Option<Compliance>, kind: Option<DeviceKind>) -> i64 {
        self.counts
            .iter()
            .filter(|x| c.is_none_or(|c| x.compliance == c) && kind.is_none_or(|k| x.kind == k))
            .map(|x| x.devices)
            .sum()
    }

    pub fn kinds(&self) -> Vec<DeviceKind> {
        DeviceKind::ALL
            .iter()
            .copied()
            .filter(|k| self.counts.iter().any(|c| c.kind == *k))
            .collect()
    }

    /// The devices in one state, by tag.
    pub fn gaps_in(&self, c: Compliance) -> Vec<&DeviceLine> {
        self.gaps
            .iter()
            .filter(|d| d.compliance(self.since) == c)
            .collect()
    }
}

struct EncryptionFilters {
    scope: Scope,
    max_age_days: i64,
    since: NaiveDate,
}

fn encryption_filters(q: &ReportQuery, invalid: &mut Invalid) -> EncryptionFilters {
    let scope = q.scope(false, invalid);
    let max_age_days = days(&q.max_age_days, "max_age_days", DEFAULT_DAYS, invalid);
    EncryptionFilters {
        scope,
        max_age_days,
        since: crate::time::today() - Duration::days(max_age_days),
    }
}

async fn encryption(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let f = encryption_filters(&q, &mut invalid);
    let report = if invalid.is_empty() {
        Some(EncryptionReport {
            max_age_days: f.max_age_days,
            since: f.since,
            counts: state
                .store()
                .encryption_compliance(&f.scope, f.since)
                .await?,
            gaps: state
                .store()
                .encryption_devices(&f.scope, f.since, true)
                .await?,
        })
    } else {
        None
    };
    let locations = locations(&state).await?;
    Ok(respond(
        &invalid,
        v::encryption(&ctx, &q, &locations, report.as_ref(), &invalid),
    ))
}

/// Every device in service, with where it stands: counting the `compliance` column
/// gives the page's figures.
async fn encryption_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let f = encryption_filters(&q, &mut invalid);
    if !invalid.is_empty() {
        return Err(bad_filters(&invalid));
    }
    let devices = state
        .store()
        .encryption_devices(&f.scope, f.since, false)
        .await?;
    let rows = devices
        .iter()
        .map(|d| {
            vec![
                d.tag.clone(),
                d.kind.as_str().into(),
                d.make.clone(),
                d.model.clone(),
                d.location.clone(),
                d.status.as_str().into(),
                d.encryption_state.as_str().into(),
                date_text(d.encryption_verified_on),
                d.compliance(f.since).as_str().into(),
            ]
        })
        .collect();
    csv_file(
        "encryption",
        &[
            "tag",
            "kind",
            "make",
            "model",
            "location",
            "status",
            "encryption_state",
            "encryption_verified_on",
            "compliance",
        ],
        rows,
    )
}

// ---------------------------------------------------------------------------
// Overdue loans

async fn overdue_report(
    state: &AppState,
    q: &ReportQuery,
    now: DateTime<Utc>,
    invalid: &mut Invalid,
) -> Result<Option<Vec<OverdueLoan>>, AppError> {
    let scope = q.scope(false, invalid);
    if !invalid.is_empty() {
        return Ok(None);
    }
    Ok(Some(state.store().overdue_loans(&scope, now).await?))
}

async fn overdue(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let now = Utc::now();
    let mut invalid = Invalid::new();
    let loans = overdue_report(&state, &q, now, &mut invalid).await?;
    let locations = locations(&state).await?;
    Ok(respond(
        &invalid,
        v::overdue(&ctx, &q, &locations, loans.as_deref(), now, &invalid),
    ))
}

async fn overdue_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let now = Utc::now();
    let mut invalid = Invalid::new();
    let loans = overdue_report(&state, &q, now, &mut invalid)
        .await?
        .ok_or_else(|| bad_filters(&invalid))?;
    let rows = loans
        .iter()
        .map(|l| {
            let late = now - l.due_at;
            vec![
                l.tag.clone(),
                l.kind.as_str().into(),
                l.make.clone(),
                l.model.clone(),
                l.location.clone(),
                l.borrower.clone(),
                l.borrower_name.clone(),
                csv_time(l.out_at),
                csv_time(l.due_at),
                late.num_days().to_string(),
                late.num_hours().to_string(),
                if l.off_site { "yes" } else { "no" }.into(),
                l.purpose.clone(),
            ]
        })
        .collect();
    csv_file(
        "overdue-loans",
        &[
            "tag",
            "kind",
            "make",
            "model",
            "location",
            "borrower",
            "borrower_name",
            "out_at",
            "due_at",
            "days_overdue",
            "hours_overdue",
            "off_site",
            "purpose",
        ],
        rows,
    )
}

// ---------------------------------------------------------------------------
// Audits

/// Devices in service not audited for a while.
pub struct AuditReport {
    pub days: i64,
    pub since: NaiveDate,
    pub today: NaiveDate,
    pub devices: Vec<DeviceLine>,
}

async fn audit_report(
    state: &AppState,
    q: &ReportQuery,
    invalid: &mut Invalid,
) -> Result<Option<AuditReport>, AppError> {
    let scope = q.scope(false, invalid);
    let days = days(&q.days, "days", DEFAULT_DAYS, invalid);
    if !invalid.is_empty() {
        return Ok(None);
    }
    let today = crate::time::today();
    let since = today - Duration::days(days);
    Ok(Some(AuditReport {
        days,
        since,
        today,
        devices: state.store().unaudited_devices(&scope, since).await?,
    }))
}

async fn audit(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = audit_report(&state, &q, &mut invalid).await?;
    let locations = locations(&state).await?;
    Ok(respond(
        &invalid,
        v::audit(&ctx, &q, &locations, report.as_ref(), &invalid),
    ))
}

async fn audit_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = audit_report(&state, &q, &mut invalid)
        .await?
        .ok_or_else(|| bad_filters(&invalid))?;
    let rows = report
        .devices
        .iter()
        .map(|d| {
            vec![
                d.tag.clone(),
                d.kind.as_str().into(),
                d.make.clone(),
                d.model.clone(),
                d.location.clone(),
                d.status.as_str().into(),
                date_text(d.last_audited_on),
                d.last_audited_on
                    .map(|a| (report.today - a).num_days().to_string())
                    .unwrap_or_default(),
            ]
        })
        .collect();
    csv_file(
        "not-audited",
        &[
            "tag",
            "kind",
            "make",
            "model",
            "location",
            "status",
            "last_audited_on",
            "days_since_audit",
        ],
        rows,
    )
}

// ---------------------------------------------------------------------------
// Incident costs

/// A school term. The spring term really ends at Easter; the report takes 31 March.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Term {
    /// 1 September to 31 December.
    Autumn,
    /// 1 January to 31 March.
    Spring,
    /// 1 April to 31 August.
    Summer,
}

impl Term {
    pub const ALL: &'static [Term] = &[Term::Autumn, Term::Spring, Term::Summer];

    pub fn as_str(self) -> &'static str {
        match self {
            Term::Autumn => "autumn",
            Term::Spring => "spring",
            Term::Summer => "summer",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Term::Autumn => "Autumn",
            Term::Spring => "Spring",
            Term::Summer => "Summer",
        }
    }
}

/// The school year (by the calendar year it starts in) and term a day falls in.
pub fn school_term(d: NaiveDate) -> (i32, Term) {
    match d.month() {
        9..=12 => (d.year(), Term::Autumn),
        1..=3 => (d.year() - 1, Term::Spring),
        _ => (d.year() - 1, Term::Summer),
    }
}

/// "2025/26" for the school year starting in September 2025.
pub fn school_year_label(start: i32) -> String {
    format!("{start}/{:02}", (start + 1).rem_euclid(100))
}

/// Incidents and their cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub incidents: i64,
    /// How many have a cost recorded.
    pub costed: i64,
    pub cost_pence: i64,
}

impl Tally {
    fn add(&mut self, t: &IncidentTally) {
        self.incidents += t.incidents;
        self.costed += t.costed;
        self.cost_pence += t.cost_pence;
    }

    pub fn cost(&self) -> Pence {
        Pence(self.cost_pence)
    }
}

/// One term's (or a whole year's) figures, by kind in `IncidentKind::ALL`'s order
/// and in total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TallyRow {
    pub by_kind: Vec<Tally>,
    pub total: Tally,
}

impl Default for TallyRow {
    fn default() -> Self {
        TallyRow {
            by_kind: vec![Tally::default(); IncidentKind::ALL.len()],
            total: Tally::default(),
        }
    }
}

impl TallyRow {
    fn add(&mut self, t: &IncidentTally) {
        if let Some(i) = IncidentKind::ALL.iter().position(|k| *k == t.kind) {
            self.by_kind[i].add(t);
        }
        self.total.add(t);
    }
}

/// One school year: its terms that had incidents, and the year's total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct YearCosts {
    pub start: i32,
    pub terms: Vec<(Term, TallyRow)>,
    pub total: TallyRow,
}

/// Places each tally in its school year and term, in school (London) time.
pub fn costs_by_term(tallies: &[IncidentTally]) -> Vec<YearCosts> {
    let mut years: Vec<YearCosts> = Vec::new();
    for t in tallies {
        let day = t.hour.with_timezone(&London).date_naive();
        let (start, term) = school_term(day);
        let year = match years.iter_mut().position(|y| y.start == start) {
            Some(i) => &mut years[i],
            None => {
                years.push(YearCosts {
                    start,
                    terms: Vec::new(),
                    total: TallyRow::default(),
                });
                years.last_mut().expect("just pushed")
            }
        };
        year.total.add(t);
        match year.terms.iter_mut().find(|(x, _)| *x == term) {
            Some((_, row)) => row.add(t),
            None => {
                let mut row = TallyRow::default();
                row.add(t);
                year.terms.push((term, row));
            }
        }
    }
    years.sort_by_key(|y| y.start);
    for y in &mut years {
        y.terms.sort_by_key(|(t, _)| *t);
    }
    years
}

/// The incident cost report.
pub struct IncidentCosts {
    pub years: Vec<YearCosts>,
    pub total: TallyRow,
}

async fn incident_report(
    state: &AppState,
    q: &ReportQuery,
    invalid: &mut Invalid,
) -> Result<Option<IncidentCosts>, AppError> {
    let kind = optional_word(&q.kind, "kind", invalid);
    let (from, to) = q.dates(invalid);
    if !invalid.is_empty() {
        return Ok(None);
    }
    let location = q.location.trim();
    let scope = IncidentScope {
        from: from.map(crate::time::start_of_day),
        until: to.and_then(|d| d.succ_opt()).map(crate::time::start_of_day),
        kind,
        location: (!location.is_empty()).then(|| location.to_owned()),
    };
    let tallies = state.store().incident_tallies(&scope).await?;
    let mut total = TallyRow::default();
    tallies.iter().for_each(|t| total.add(t));
    Ok(Some(IncidentCosts {
        years: costs_by_term(&tallies),
        total,
    }))
}

async fn incidents(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = incident_report(&state, &q, &mut invalid).await?;
    let locations = locations(&state).await?;
    Ok(respond(
        &invalid,
        v::incidents(&ctx, &q, &locations, report.as_ref(), &invalid),
    ))
}

/// The page's table as rows: each term that had incidents and then the whole
/// year (`term` = `year`), each by kind and then for all kinds (`kind` = `all`).
async fn incidents_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = incident_report(&state, &q, &mut invalid)
        .await?
        .ok_or_else(|| bad_filters(&invalid))?;
    let mut rows = Vec::new();
    let mut push = |year: i32, term: &str, row: &TallyRow| {
        let cells = IncidentKind::ALL
            .iter()
            .map(|k| k.as_str())
            .zip(row.by_kind.iter())
            .chain(std::iter::once(("all", &row.total)));
        for (kind, t) in cells {
            rows.push(vec![
                school_year_label(year),
                term.to_owned(),
                kind.to_owned(),
                t.incidents.to_string(),
                t.costed.to_string(),
                crate::spreadsheet::pounds(t.cost_pence),
            ]);
        }
    };
    for y in &report.years {
        for (term, row) in &y.terms {
            push(y.start, term.as_str(), row);
        }
        push(y.start, "year", &y.total);
    }
    csv_file(
        "incident-costs",
        &[
            "school_year",
            "term",
            "kind",
            "incidents",
            "incidents_with_cost",
            "cost",
        ],
        rows,
    )
}

// ---------------------------------------------------------------------------
// Utilisation

/// Loans per device and kind in a period.
pub struct Utilisation {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub devices: Vec<DeviceUse>,
}

/// One kind's use in the period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KindUse {
    pub kind: DeviceKind,
    /// Devices in service (and retired ones lent in the period).
    pub devices: i64,
    pub loans: i64,
    /// Devices in service not lent at all.
    pub never: i64,
}

impl Utilisation {
    pub fn by_kind(&self) -> Vec<KindUse> {
        DeviceKind::ALL
            .iter()
            .filter_map(|k| {
                let of: Vec<&DeviceUse> = self.devices.iter().filter(|d| d.kind == *k).collect();
                (!of.is_empty()).then(|| KindUse {
                    kind: *k,
                    devices: of.len() as i64,
                    loans: of.iter().map(|d| d.loans).sum(),
                    never: of.iter().filter(|d| is_idle(d)).count() as i64,
                })
            })
            .collect()
    }

    pub fn loans(&self) -> i64 {
        self.devices.iter().map(|d| d.loans).sum()
    }

    /// Devices in service not lent in the period, by tag.
    pub fn never_borrowed(&self) -> Vec<&DeviceUse> {
        let mut out: Vec<&DeviceUse> = self.devices.iter().filter(|d| is_idle(d)).collect();
        out.sort_by_key(|d| d.tag.to_lowercase());
        out
    }
}

fn is_idle(d: &DeviceUse) -> bool {
    d.loans == 0 && d.status != DeviceStatus::Retired
}

async fn utilisation_report(
    state: &AppState,
    q: &ReportQuery,
    invalid: &mut Invalid,
) -> Result<Option<Utilisation>, AppError> {
    let scope = q.scope(false, invalid);
    let (from, to) = q.dates(invalid);
    if !invalid.is_empty() {
        return Ok(None);
    }
    let to = to.unwrap_or_else(crate::time::today);
    let from = from.unwrap_or(to - Duration::days(DEFAULT_PERIOD_DAYS - 1));
    if from > to {
        invalid.add("from", "From must be on or before To.");
        return Ok(None);
    }
    let until = to.succ_opt().unwrap_or(to);
    let devices = state
        .store()
        .utilisation(
            &scope,
            crate::time::start_of_day(from),
            crate::time::start_of_day(until),
        )
        .await?;
    Ok(Some(Utilisation { from, to, devices }))
}

async fn utilisation(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = utilisation_report(&state, &q, &mut invalid).await?;
    let locations = locations(&state).await?;
    Ok(respond(
        &invalid,
        v::utilisation(&ctx, &q, &locations, report.as_ref(), &invalid),
    ))
}

/// One row per device, with its loans in the period (0: never borrowed).
async fn utilisation_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReportQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let mut invalid = Invalid::new();
    let report = utilisation_report(&state, &q, &mut invalid)
        .await?
        .ok_or_else(|| bad_filters(&invalid))?;
    let rows = report
        .devices
        .iter()
        .map(|d| {
            vec![
                d.tag.clone(),
                d.kind.as_str().into(),
                d.make.clone(),
                d.model.clone(),
                d.location.clone(),
                d.status.as_str().into(),
                report.from.to_string(),
                report.to.to_string(),
                d.loans.to_string(),
                d.last_out_at.map(csv_time).unwrap_or_default(),
            ]
        })
        .collect();
    csv_file(
        "utilisation",
        &[
            "tag",
            "kind",
            "make",
            "model",
            "location",
            "status",
            "period_from",
            "period_to",
            "loans",
            "last_out_at",
        ],
        rows,
    )
}

// ---------------------------------------------------------------------------
// One person's history, and the subject-access export

pub fn person_url(username: &str) -> String {
    format!("/reports/people/{}", crate::views::url_encode(username))
}

async fn person_named(state: &AppState, username: &str) -> Result<Person, AppError> {
    state
        .store()
        .person_by_username(username)
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
    let person = person_named(&state, &username).await?;
    let record = state.store().person_record(&person).await?;
    Ok(v::person(&ctx, &person, &record).into_response())
}

/// The sections of an export, in the order the CSV gives them.
pub const SECTIONS: &[&str] = &[
    "account",
    "api_tokens",
    "loans",
    "incidents_reported",
    "signatures",
    "change_requests",
    "offsite_requests",
    "notifications",
    "events",
];

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
    let person = person_named(state, username).await?;
    state
        .store()
        .record_person_export(ctx.user.actor(), &person, format)
        .await?;
    let record = state.store().person_record(&person).await?;
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
    csv_file(
        &person.username,
        &["section", "item", "field", "value"],
        rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap()
    }

    #[test]
    fn terms_follow_the_school_year_from_september() {
        assert_eq!(school_term(day("2025-09-01")), (2025, Term::Autumn));
        assert_eq!(school_term(day("2025-12-31")), (2025, Term::Autumn));
        assert_eq!(school_term(day("2026-01-01")), (2025, Term::Spring));
        assert_eq!(school_term(day("2026-03-31")), (2025, Term::Spring));
        assert_eq!(school_term(day("2026-04-01")), (2025, Term::Summer));
        assert_eq!(school_term(day("2026-08-31")), (2025, Term::Summer));
        assert_eq!(school_year_label(2025), "2025/26");
        assert_eq!(school_year_label(1999), "1999/00");
    }

    #[test]
    fn an_incident_just_after_midnight_on_1_september_in_london_is_in_the_new_year() {
        // 23:30 UTC on 31 August is 00:30 on 1 September in British Summer Time.
        let hour = DateTime::parse_from_rfc3339("2025-08-31T23:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let t = IncidentTally {
            hour,
            kind: IncidentKind::Damage,
            incidents: 1,
            costed: 1,
            cost_pence: 500,
        };
        let years = costs_by_term(&[t]);
        assert_eq!(years[0].start, 2025);
        assert_eq!(years[0].terms[0].0, Term::Autumn);
        assert_eq!(years[0].total.total.cost_pence, 500);
    }

    #[test]
    fn percentages_round_half_up() {
        assert_eq!(percent(1, 3), Some(33));
        assert_eq!(percent(2, 3), Some(67));
        assert_eq!(percent(1, 8), Some(13));
        assert_eq!(percent(0, 0), None);
    }

    #[test]
    fn lateness_reads_in_days_and_hours() {
        assert_eq!(how_long(Duration::minutes(50)), "50 minutes");
        assert_eq!(how_long(Duration::hours(5)), "5 hours");
        assert_eq!(how_long(Duration::hours(49)), "2 days 1 hour");
        assert_eq!(how_long(Duration::days(3)), "3 days");
    }

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

#[derive(Debug, Default, serde::Deserialize)]
#[serde(default)]
struct YearQuery {
    year: Option<i32>,
}

/// The school year that starts on 1 September of the year returned.
fn school_year(today: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    if today.month() >= 9 {
        today.year()
    } else {
        today.year() - 1
    }
}

async fn disposals(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<YearQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let year = q.year.unwrap_or_else(|| school_year(crate::time::today()));
    let rows = state.store().disposals(Some(year)).await?;
    Ok(v::disposals(&ctx, year, &rows).into_response())
}

async fn disposals_csv(
    ctx: Ctx,
    State(state): State<AppState>,
    QueryParams(q): QueryParams<YearQuery>,
) -> Result<Response, AppError> {
    ctx.require(Permission::ViewReports)?;
    let year = q.year.unwrap_or_else(|| school_year(crate::time::today()));
    let rows = state.store().disposals(Some(year)).await?;
    let mut lines = vec![[
        "tag",
        "device",
        "disposed_on",
        "method",
        "recipient",
        "recipient_reference",
        "wipe_evidence",
        "authorised_by",
        "cost",
        "purchased_on",
    ]
    .map(str::to_owned)
    .to_vec()];
    for r in rows {
        lines.push(vec![
            r.tag,
            r.name,
            r.disposed_on,
            r.method,
            r.recipient,
            r.recipient_reference,
            r.wipe_evidence.unwrap_or_default(),
            r.authorised_by,
            r.cost_pence
                .map(crate::spreadsheet::pounds)
                .unwrap_or_default(),
            r.purchased_on.unwrap_or_default(),
        ]);
    }
    Ok(crate::spreadsheet::download(
        &format!("disposals-{year}"),
        crate::export::csv_lines(lines),
    ))
}
