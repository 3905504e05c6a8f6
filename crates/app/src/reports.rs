//! The manager's reports, each defined once: its filters, its query, its figures,
//! and its rows as a [`Table`] of typed [`Cell`]s with its columns.
//!
//! The web layer shows a [`Report`] three ways from this one definition: the page
//! (the figures, with charts), the CSV (the [`Table`] with money in pounds and times
//! in school time) and the API's JSON (the same [`Table`] with money as `*_pence`
//! integers and times in RFC 3339 UTC). Everything here needs
//! [`Permission::ViewReports`] (managers, the head teacher, admins).
//!
//! The store counts with `group by`; this module turns its rows into what a school
//! reads: terms and school years, percentages, totals.

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use chrono_tz::Europe::London;
use kitroom_core::device::{parse_date, DeviceKind, DeviceStatus, Pence};
use kitroom_core::incident::IncidentKind;
use kitroom_core::person::Permission;
use kitroom_core::school::SchoolId;
use kitroom_core::time::{school_day, start_of_day};
use kitroom_core::Invalid;
use kitroom_store::disposals::DisposalRow;
use kitroom_store::people::Person;
use kitroom_store::reports::{
    Compliance, ComplianceCount, DeviceLine, DeviceUse, IncidentScope, IncidentTally,
    InventoryCount, OverdueLoan, Scope,
};
use serde::{Deserialize, Serialize};

use crate::{App, Error, Refusal};

/// The default age of an encryption check, and of an audit, in days.
pub const DEFAULT_DAYS: i64 = 365;
/// The default utilisation period, in days, ending today.
pub const DEFAULT_PERIOD_DAYS: i64 = 90;

/// The sections of a person's subject-access export, in the order the CSV gives them.
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

// ---------------------------------------------------------------------------
// Which report, and its filters

/// The reports there are, by the name in their address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportName {
    Inventory,
    Encryption,
    Overdue,
    Audit,
    Incidents,
    Utilisation,
    Disposals,
    /// Every school side by side: the trust's own report.
    Schools,
}

impl ReportName {
    pub const ALL: &'static [ReportName] = &[
        ReportName::Inventory,
        ReportName::Encryption,
        ReportName::Overdue,
        ReportName::Audit,
        ReportName::Incidents,
        ReportName::Utilisation,
        ReportName::Disposals,
        ReportName::Schools,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ReportName::Inventory => "inventory",
            ReportName::Encryption => "encryption",
            ReportName::Overdue => "overdue",
            ReportName::Audit => "audit",
            ReportName::Incidents => "incidents",
            ReportName::Utilisation => "utilisation",
            ReportName::Disposals => "disposals",
            ReportName::Schools => "schools",
        }
    }

    pub fn parse(s: &str) -> Option<ReportName> {
        ReportName::ALL.iter().copied().find(|r| r.as_str() == s)
    }
}

/// A report's filters, as typed (a page's query string or the API's). Each report
/// reads the ones it takes.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::IntoParams)]
#[serde(default)]
#[into_params(parameter_in = Query)]
pub struct ReportQuery {
    /// A location's name.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub location: String,
    /// A device kind; on the incidents report, an incident kind.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub kind: String,
    /// A device status.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    /// The first day of a period, such as `2026-09-01`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    /// The last day of a period, such as `2026-12-19`.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub to: String,
    /// Encryption: how old a verification may be.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub max_age_days: String,
    /// Audits: how long since a device was last audited.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub days: String,
    /// Disposals: the school year, by the calendar year it starts in.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub year: String,
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
    fn scope(&self, school: SchoolId, with_status: bool, invalid: &mut Invalid) -> Scope {
        let location = self.location.trim();
        Scope {
            school: Some(school),
            location: (!location.is_empty()).then(|| location.to_owned()),
            kind: optional_word(&self.kind, "kind", invalid),
            status: if with_status {
                optional_word(&self.status, "status", invalid)
            } else {
                None
            },
        }
    }

    /// The school year asked for, by the calendar year it starts in; this school
    /// year when empty.
    fn school_year(&self, today: NaiveDate, invalid: &mut Invalid) -> i32 {
        match self.year.trim() {
            "" => school_year_of(today),
            y => match y.parse::<i32>() {
                Ok(y) if (1900..=9998).contains(&y) => y,
                _ => {
                    invalid.add(
                        "year",
                        "Enter the year the school year starts in, like 2025.",
                    );
                    school_year_of(today)
                }
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

// ---------------------------------------------------------------------------
// Rows and columns

/// One value of a report's row, typed so that each rendering writes it its way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Cell {
    Text(String),
    Count(i64),
    /// An amount in pence (pounds in a spreadsheet, `*_pence` in JSON).
    Money(Option<i64>),
    /// An instant (school time in a spreadsheet, RFC 3339 UTC in JSON).
    Time(Option<DateTime<Utc>>),
    Date(Option<NaiveDate>),
    /// Yes or no.
    Flag(bool),
    /// Nothing to say (an empty cell, `null` in JSON).
    Missing,
}

impl Cell {
    fn text(s: impl Into<String>) -> Cell {
        Cell::Text(s.into())
    }
}

/// A column: its name as a CSV header; money columns are `{name}_pence` in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    pub name: &'static str,
    pub money: bool,
}

impl Column {
    pub const fn plain(name: &'static str) -> Column {
        Column { name, money: false }
    }

    pub const fn money(name: &'static str) -> Column {
        Column { name, money: true }
    }

    /// The field's name in JSON.
    pub fn json_name(&self) -> String {
        if self.money {
            format!("{}_pence", self.name)
        } else {
            self.name.to_owned()
        }
    }
}

fn columns(names: &[&'static str]) -> Vec<Column> {
    names.iter().map(|n| Column::plain(n)).collect()
}

/// A report as rows: what its CSV and its JSON both hold, in this order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The file's name without the date: `kitroom-{file}-{today}.csv`.
    pub file: String,
    pub columns: Vec<Column>,
    pub rows: Vec<Vec<Cell>>,
}

/// The columns every device line starts with.
const DEVICE_COLUMNS: &[&str] = &["tag", "kind", "make", "model", "location", "status"];

fn device_cells(
    tag: &str,
    kind: DeviceKind,
    make: &str,
    model: &str,
    location: &str,
    status: DeviceStatus,
) -> Vec<Cell> {
    vec![
        Cell::text(tag),
        Cell::text(kind.as_str()),
        Cell::text(make),
        Cell::text(model),
        Cell::text(location),
        Cell::text(status.as_str()),
    ]
}

fn device_line_cells(d: &DeviceLine) -> Vec<Cell> {
    device_cells(&d.tag, d.kind, &d.make, &d.model, &d.location, d.status)
}

fn device_table(file: &str, extra: &[&'static str], rows: Vec<Vec<Cell>>) -> Table {
    let mut names = DEVICE_COLUMNS.to_vec();
    names.extend_from_slice(extra);
    Table {
        file: file.to_owned(),
        columns: columns(&names),
        rows,
    }
}

// ---------------------------------------------------------------------------
// The reports

/// A report's figures, whichever it is.
#[derive(Debug, Clone)]
pub enum Report {
    Inventory(Inventory),
    Encryption(EncryptionReport),
    Overdue(OverdueReport),
    Audit(AuditReport),
    Incidents(IncidentCosts),
    Utilisation(Utilisation),
    Disposals(Disposals),
    Schools(TrustReport),
}

impl Report {
    /// The report as rows and columns: its CSV and its JSON.
    pub fn table(&self) -> Table {
        match self {
            Report::Inventory(r) => r.table(),
            Report::Encryption(r) => r.table(),
            Report::Overdue(r) => r.table(),
            Report::Audit(r) => r.table(),
            Report::Incidents(r) => r.table(),
            Report::Utilisation(r) => r.table(),
            Report::Disposals(r) => r.table(),
            Report::Schools(r) => r.table(),
        }
    }
}

/// Runs one report for `caller` with the filters as typed. Filters that cannot be
/// read are refused as invalid, each beside its field. Every report but
/// [`ReportName::Schools`] covers the school the caller acts in; that one covers
/// every school and is the trust's own ([`Permission::ViewTrust`]).
pub async fn run(
    app: &App,
    caller: &Person,
    name: ReportName,
    q: &ReportQuery,
) -> Result<Report, Error> {
    let needs = match name {
        ReportName::Schools => Permission::ViewTrust,
        _ => Permission::ViewReports,
    };
    if !caller.role.may(needs) {
        return Err(Refusal::not_allowed().into());
    }
    let now = Utc::now();
    let today = school_day(now);
    let mut invalid = Invalid::new();
    let report = match name {
        ReportName::Inventory => {
            let scope = q.scope(caller.school, true, &mut invalid);
            ok(invalid)?;
            Report::Inventory(Inventory {
                counts: app.store().inventory(&scope).await?,
            })
        }
        ReportName::Encryption => {
            let scope = q.scope(caller.school, false, &mut invalid);
            let max_age_days = days(&q.max_age_days, "max_age_days", DEFAULT_DAYS, &mut invalid);
            ok(invalid)?;
            let since = today - Duration::days(max_age_days);
            Report::Encryption(EncryptionReport {
                max_age_days,
                since,
                counts: app.store().encryption_compliance(&scope, since).await?,
                devices: app.store().encryption_devices(&scope, since, false).await?,
            })
        }
        ReportName::Overdue => {
            let scope = q.scope(caller.school, false, &mut invalid);
            ok(invalid)?;
            Report::Overdue(OverdueReport {
                now,
                loans: app.store().overdue_loans(&scope, now).await?,
            })
        }
        ReportName::Audit => {
            let scope = q.scope(caller.school, false, &mut invalid);
            let days = days(&q.days, "days", DEFAULT_DAYS, &mut invalid);
            ok(invalid)?;
            let since = today - Duration::days(days);
            Report::Audit(AuditReport {
                days,
                since,
                today,
                devices: app.store().unaudited_devices(&scope, since).await?,
            })
        }
        ReportName::Incidents => {
            let kind = optional_word(&q.kind, "kind", &mut invalid);
            let (from, to) = q.dates(&mut invalid);
            ok(invalid)?;
            let location = q.location.trim();
            let scope = IncidentScope {
                school: Some(caller.school),
                from: from.map(start_of_day),
                until: to.and_then(|d| d.succ_opt()).map(start_of_day),
                kind,
                location: (!location.is_empty()).then(|| location.to_owned()),
            };
            let tallies = app.store().incident_tallies(&scope).await?;
            let mut total = TallyRow::default();
            tallies.iter().for_each(|t| total.add(t));
            Report::Incidents(IncidentCosts {
                years: costs_by_term(&tallies),
                total,
            })
        }
        ReportName::Utilisation => {
            let scope = q.scope(caller.school, false, &mut invalid);
            let (from, to) = q.dates(&mut invalid);
            ok(invalid)?;
            let to = to.unwrap_or(today);
            let from = from.unwrap_or(to - Duration::days(DEFAULT_PERIOD_DAYS - 1));
            if from > to {
                return Err(Invalid::one("from", "From must be on or before To.").into());
            }
            let until = to.succ_opt().unwrap_or(to);
            let devices = app
                .store()
                .utilisation(&scope, start_of_day(from), start_of_day(until))
                .await?;
            Report::Utilisation(Utilisation { from, to, devices })
        }
        ReportName::Disposals => {
            let year = q.school_year(today, &mut invalid);
            ok(invalid)?;
            Report::Disposals(Disposals {
                year,
                rows: app.store().disposals(caller.school, Some(year)).await?,
            })
        }
        ReportName::Schools => {
            let max_age_days = days(&q.max_age_days, "max_age_days", DEFAULT_DAYS, &mut invalid);
            let year = q.school_year(today, &mut invalid);
            ok(invalid)?;
            let since = today - Duration::days(max_age_days);
            Report::Schools(trust_report(app, now, since, max_age_days, year).await?)
        }
    };
    Ok(report)
}

/// Which school's records a person's subject-access record covers when `caller`
/// asks for it: every school for the trust's own staff (the trust answers a
/// subject-access request) and for the person themselves; otherwise the school the
/// caller acts in, so that a school's manager reads nothing of another school's.
pub fn record_reach(caller: &Person, person: &Person) -> Option<SchoolId> {
    (caller.id != person.id && !caller.role.may(Permission::ViewTrust)).then_some(caller.school)
}

fn ok(invalid: Invalid) -> Result<(), Error> {
    if invalid.is_empty() {
        Ok(())
    } else {
        Err(invalid.into())
    }
}

/// The school year that starts on 1 September of the year returned.
pub fn school_year_of(today: NaiveDate) -> i32 {
    if today.month() >= 9 {
        today.year()
    } else {
        today.year() - 1
    }
}

// ---------------------------------------------------------------------------
// Inventory

/// Devices counted by kind, status and location, with totals.
#[derive(Debug, Clone)]
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

    /// One row per kind, then per location, each with a count per status and a
    /// total; the last row is every device.
    pub fn table(&self) -> Table {
        let mut names = vec!["group", "name"];
        names.extend(DeviceStatus::ALL.iter().map(|s| s.as_str()));
        names.push("total");
        let row = |group: &str, name: &str, count: &dyn Fn(Option<DeviceStatus>) -> i64| {
            let mut r = vec![Cell::text(group), Cell::text(name)];
            r.extend(
                DeviceStatus::ALL
                    .iter()
                    .map(|s| Cell::Count(count(Some(*s)))),
            );
            r.push(Cell::Count(count(None)));
            r
        };
        let mut rows = Vec::new();
        for k in self.kinds() {
            rows.push(row("kind", k.as_str(), &|s| self.kind_status(k, s)));
        }
        for l in self.locations() {
            rows.push(row("location", l, &|s| self.location_status(l, s)));
        }
        rows.push(row("total", "all devices", &|s| self.status(s)));
        Table {
            file: "inventory".into(),
            columns: columns(&names),
            rows,
        }
    }
}

// ---------------------------------------------------------------------------
// Encryption compliance

/// Devices in service by [`Compliance`], and the ones that fall short.
#[derive(Debug, Clone)]
pub struct EncryptionReport {
    pub max_age_days: i64,
    /// Verified on or after this day counts.
    pub since: NaiveDate,
    pub counts: Vec<ComplianceCount>,
    /// Every device in service, by tag.
    pub devices: Vec<DeviceLine>,
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
        self.devices
            .iter()
            .filter(|d| d.compliance(self.since) == c)
            .collect()
    }

    /// Every device in service, with where it stands: counting the `compliance`
    /// column gives the page's figures.
    pub fn table(&self) -> Table {
        let rows = self
            .devices
            .iter()
            .map(|d| {
                let mut r = device_line_cells(d);
                r.extend([
                    Cell::text(d.encryption_state.as_str()),
                    Cell::Date(d.encryption_verified_on),
                    Cell::text(d.compliance(self.since).as_str()),
                ]);
                r
            })
            .collect();
        device_table(
            "encryption",
            &["encryption_state", "encryption_verified_on", "compliance"],
            rows,
        )
    }
}

// ---------------------------------------------------------------------------
// Overdue loans

/// Open loans past their due time, the longest overdue first.
#[derive(Debug, Clone)]
pub struct OverdueReport {
    /// When the report was made: lateness is counted to here.
    pub now: DateTime<Utc>,
    pub loans: Vec<OverdueLoan>,
}

impl OverdueReport {
    pub fn table(&self) -> Table {
        let rows = self
            .loans
            .iter()
            .map(|l| {
                let late = self.now - l.due_at;
                let mut r = device_cells(
                    &l.tag,
                    l.kind,
                    &l.make,
                    &l.model,
                    &l.location,
                    DeviceStatus::OnLoan,
                );
                r.pop(); // no status column: every one is on loan
                r.extend([
                    Cell::text(&l.borrower),
                    Cell::text(&l.borrower_name),
                    Cell::Time(Some(l.out_at)),
                    Cell::Time(Some(l.due_at)),
                    Cell::Count(late.num_days()),
                    Cell::Count(late.num_hours()),
                    Cell::Flag(l.off_site),
                    Cell::text(&l.purpose),
                ]);
                r
            })
            .collect();
        Table {
            file: "overdue-loans".into(),
            columns: columns(&[
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
            ]),
            rows,
        }
    }
}

// ---------------------------------------------------------------------------
// Audits

/// Devices in service not audited for a while.
#[derive(Debug, Clone)]
pub struct AuditReport {
    pub days: i64,
    pub since: NaiveDate,
    pub today: NaiveDate,
    pub devices: Vec<DeviceLine>,
}

impl AuditReport {
    pub fn table(&self) -> Table {
        let rows = self
            .devices
            .iter()
            .map(|d| {
                let mut r = device_line_cells(d);
                r.push(Cell::Date(d.last_audited_on));
                r.push(match d.last_audited_on {
                    Some(a) => Cell::Count((self.today - a).num_days()),
                    None => Cell::Missing,
                });
                r
            })
            .collect();
        device_table(
            "not-audited",
            &["last_audited_on", "days_since_audit"],
            rows,
        )
    }
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
#[derive(Debug, Clone)]
pub struct IncidentCosts {
    pub years: Vec<YearCosts>,
    pub total: TallyRow,
}

impl IncidentCosts {
    /// The page's table as rows: each term that had incidents and then the whole
    /// year (`term` = `year`), each by kind and then for all kinds (`kind` = `all`).
    pub fn table(&self) -> Table {
        let mut rows = Vec::new();
        let mut push = |year: i32, term: &str, row: &TallyRow| {
            let cells = IncidentKind::ALL
                .iter()
                .map(|k| k.as_str())
                .zip(row.by_kind.iter())
                .chain(std::iter::once(("all", &row.total)));
            for (kind, t) in cells {
                rows.push(vec![
                    Cell::text(school_year_label(year)),
                    Cell::text(term),
                    Cell::text(kind),
                    Cell::Count(t.incidents),
                    Cell::Count(t.costed),
                    Cell::Money(Some(t.cost_pence)),
                ]);
            }
        };
        for y in &self.years {
            for (term, row) in &y.terms {
                push(y.start, term.as_str(), row);
            }
            push(y.start, "year", &y.total);
        }
        let mut cols = columns(&[
            "school_year",
            "term",
            "kind",
            "incidents",
            "incidents_with_cost",
        ]);
        cols.push(Column::money("cost"));
        Table {
            file: "incident-costs".into(),
            columns: cols,
            rows,
        }
    }
}

// ---------------------------------------------------------------------------
// Utilisation

/// Loans per device and kind in a period.
#[derive(Debug, Clone)]
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

    /// One row per device, with its loans in the period (0: never borrowed).
    pub fn table(&self) -> Table {
        let rows = self
            .devices
            .iter()
            .map(|d| {
                let mut r = device_cells(&d.tag, d.kind, &d.make, &d.model, &d.location, d.status);
                r.extend([
                    Cell::Date(Some(self.from)),
                    Cell::Date(Some(self.to)),
                    Cell::Count(d.loans),
                    Cell::Time(d.last_out_at),
                ]);
                r
            })
            .collect();
        device_table(
            "utilisation",
            &["period_from", "period_to", "loans", "last_out_at"],
            rows,
        )
    }
}

fn is_idle(d: &DeviceUse) -> bool {
    d.loans == 0 && d.status != DeviceStatus::Retired
}

// ---------------------------------------------------------------------------
// Disposals

/// The devices disposed of in one school year.
#[derive(Debug, Clone)]
pub struct Disposals {
    /// The school year, by the calendar year it starts in.
    pub year: i32,
    pub rows: Vec<DisposalRow>,
}

impl Disposals {
    pub fn table(&self) -> Table {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                vec![
                    Cell::text(&r.tag),
                    Cell::text(&r.name),
                    Cell::text(&r.disposed_on),
                    Cell::text(&r.method),
                    Cell::text(&r.recipient),
                    Cell::text(&r.recipient_reference),
                    Cell::text(r.wipe_evidence.clone().unwrap_or_default()),
                    Cell::text(&r.authorised_by),
                    Cell::Money(r.cost_pence),
                    Cell::text(r.purchased_on.clone().unwrap_or_default()),
                ]
            })
            .collect();
        let mut cols = columns(&[
            "tag",
            "device",
            "disposed_on",
            "method",
            "recipient",
            "recipient_reference",
            "wipe_evidence",
            "authorised_by",
        ]);
        cols.push(Column::money("cost"));
        cols.push(Column::plain("purchased_on"));
        Table {
            file: format!("disposals-{}", self.year),
            columns: cols,
            rows,
        }
    }
}

// ---------------------------------------------------------------------------
// Across the trust

/// Every school of the deployment side by side: its devices, how many are encrypted
/// and verified, its overdue loans and what its incidents cost, school year by
/// school year. Counted by the same store queries as each school's own reports,
/// over every school at once.
#[derive(Debug, Clone)]
pub struct TrustReport {
    pub now: DateTime<Utc>,
    pub max_age_days: i64,
    /// Verified on or after this day counts.
    pub since: NaiveDate,
    /// The school year whose incident costs the rows give.
    pub year: i32,
    /// Every school year with an incident at any school, oldest first.
    pub years: Vec<i32>,
    /// One line per school, in the order they were added.
    pub schools: Vec<SchoolLine>,
}

/// One school's figures in the trust's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchoolLine {
    pub slug: String,
    pub name: String,
    /// Devices in each status, in [`DeviceStatus::ALL`]'s order.
    pub by_status: Vec<i64>,
    /// Devices not retired in each state, in [`Compliance::ALL`]'s order.
    pub compliance: Vec<i64>,
    pub overdue: i64,
    /// The longest overdue loan's lateness.
    pub most_overdue: Option<Duration>,
    /// Incidents and their cost in each school year of [`TrustReport::years`].
    pub costs: Vec<Tally>,
}

impl SchoolLine {
    /// Devices in service (not retired).
    pub fn in_service(&self) -> i64 {
        self.compliance.iter().sum()
    }

    pub fn status(&self, status: DeviceStatus) -> i64 {
        DeviceStatus::ALL
            .iter()
            .position(|s| *s == status)
            .map_or(0, |i| self.by_status[i])
    }

    pub fn verified(&self) -> i64 {
        Compliance::ALL
            .iter()
            .position(|c| *c == Compliance::Verified)
            .map_or(0, |i| self.compliance[i])
    }

    /// Devices in service encrypted and verified, as a whole percentage.
    pub fn verified_percent(&self) -> Option<i64> {
        percent(self.verified(), self.in_service())
    }
}

impl TrustReport {
    /// A school's incidents in one school year.
    pub fn cost_in(&self, school: &SchoolLine, year: i32) -> Tally {
        self.years
            .iter()
            .position(|y| *y == year)
            .map_or_else(Tally::default, |i| school.costs[i])
    }

    /// Every school added together.
    pub fn total(&self) -> SchoolLine {
        let mut total = SchoolLine {
            slug: "all".into(),
            name: "All schools".into(),
            by_status: vec![0; DeviceStatus::ALL.len()],
            compliance: vec![0; Compliance::ALL.len()],
            overdue: 0,
            most_overdue: None,
            costs: vec![Tally::default(); self.years.len()],
        };
        for s in &self.schools {
            add_into(&mut total.by_status, &s.by_status);
            add_into(&mut total.compliance, &s.compliance);
            total.overdue += s.overdue;
            total.most_overdue = total.most_overdue.max(s.most_overdue);
            for (t, c) in total.costs.iter_mut().zip(&s.costs) {
                t.incidents += c.incidents;
                t.costed += c.costed;
                t.cost_pence += c.cost_pence;
            }
        }
        total
    }

    /// One row per school and a last row for all of them: devices by status,
    /// encryption compliance, overdue loans, and incidents with their cost in the
    /// chosen school year.
    pub fn table(&self) -> Table {
        let mut names = vec!["school", "school_name"];
        names.extend(DeviceStatus::ALL.iter().map(|s| s.as_str()));
        names.push("in_service");
        names.extend(Compliance::ALL.iter().map(|c| c.as_str()));
        names.extend([
            "verified_percent",
            "overdue_loans",
            "school_year",
            "incidents",
        ]);
        let mut cols = columns(&names);
        cols.push(Column::money("incident_cost"));
        let total = self.total();
        let rows = self
            .schools
            .iter()
            .chain(std::iter::once(&total))
            .map(|s| {
                let mut r = vec![Cell::text(&s.slug), Cell::text(&s.name)];
                r.extend(s.by_status.iter().map(|n| Cell::Count(*n)));
                r.push(Cell::Count(s.in_service()));
                r.extend(s.compliance.iter().map(|n| Cell::Count(*n)));
                r.push(s.verified_percent().map_or(Cell::Missing, Cell::Count));
                r.push(Cell::Count(s.overdue));
                let cost = self.cost_in(s, self.year);
                r.push(Cell::text(school_year_label(self.year)));
                r.push(Cell::Count(cost.incidents));
                r.push(Cell::Money(Some(cost.cost_pence)));
                r
            })
            .collect();
        Table {
            file: format!("schools-{}", self.year),
            columns: cols,
            rows,
        }
    }
}

fn add_into(total: &mut [i64], more: &[i64]) {
    total.iter_mut().zip(more).for_each(|(t, m)| *t += m);
}

/// The trust's report: each school's own reports' queries, asked once for every
/// school (`Scope::school` = `None`) and split by the school each row names.
async fn trust_report(
    app: &App,
    now: DateTime<Utc>,
    since: NaiveDate,
    max_age_days: i64,
    year: i32,
) -> Result<TrustReport, Error> {
    let store = app.store();
    let every = Scope::default();
    let schools = store.schools().await?;
    let inventory = store.inventory(&every).await?;
    let compliance = store.encryption_compliance(&every, since).await?;
    let overdue = store.overdue_loans(&every, now).await?;
    let tallies = store.incident_tallies(&IncidentScope::default()).await?;
    let mut years: Vec<i32> = tallies
        .iter()
        .map(|t| school_term(t.hour.with_timezone(&London).date_naive()).0)
        .collect();
    years.sort_unstable();
    years.dedup();
    let schools = schools
        .into_iter()
        .map(|school| {
            let position = |all: &[DeviceStatus], s: DeviceStatus| all.iter().position(|x| *x == s);
            let mut by_status = vec![0; DeviceStatus::ALL.len()];
            for c in inventory.iter().filter(|c| c.school == school.id) {
                if let Some(i) = position(DeviceStatus::ALL, c.status) {
                    by_status[i] += c.devices;
                }
            }
            let mut states = vec![0; Compliance::ALL.len()];
            for c in compliance.iter().filter(|c| c.school == school.id) {
                if let Some(i) = Compliance::ALL.iter().position(|x| *x == c.compliance) {
                    states[i] += c.devices;
                }
            }
            let late: Vec<&OverdueLoan> =
                overdue.iter().filter(|l| l.school == school.id).collect();
            let mut costs = vec![Tally::default(); years.len()];
            for t in tallies.iter().filter(|t| t.school == school.id) {
                let (start, _) = school_term(t.hour.with_timezone(&London).date_naive());
                if let Some(i) = years.iter().position(|y| *y == start) {
                    costs[i].add(t);
                }
            }
            SchoolLine {
                slug: school.slug,
                name: school.name,
                by_status,
                compliance: states,
                overdue: late.len() as i64,
                most_overdue: late.iter().map(|l| now - l.due_at).max(),
                costs,
            }
        })
        .collect();
    Ok(TrustReport {
        now,
        max_age_days,
        since,
        year,
        years,
        schools,
    })
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
            school: SchoolId::FIRST,
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
    fn a_reports_filters_go_back_into_its_csv_link_encoded() {
        let q = ReportQuery {
            location: "Room 4 & Hall".into(),
            days: "30".into(),
            ..ReportQuery::default()
        };
        assert_eq!(q.query_string(), "location=Room+4+%26+Hall&days=30");
        assert!(!ReportQuery::default().is_filtered());
    }
}
