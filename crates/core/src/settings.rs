//! The school's settings: its name, when the school day ends, where devices are
//! returned, how long each kind of device charges before it is ready again, whether
//! staff accounts must use two-step sign-in, how long people who have left are
//! kept before their personal details are anonymised, and how long API tokens work.

use std::collections::BTreeMap;

use chrono::NaiveTime;

use crate::device::DeviceKind;
use crate::invalid::{self, Invalid};
use crate::person::{AccountKeeper, Role};

/// The settings that are the whole deployment's rather than one school's: read
/// before a school is chosen (how people sign in) or for the whole database
/// (backups, how long people who left are kept). Kept with the first school's, and
/// read from there for every school.
pub const DEPLOYMENT_KEYS: &[&str] = &[
    "backups_kept",
    "keep_leavers_months",
    "password_sign_in_admins_only",
    "provider_creates_borrowers",
    "provider_counts_as_two_step",
    "provider_name",
    "one_policy_for_trust",
];

/// Whether someone with `role` may change the deployment's own settings
/// ([`DEPLOYMENT_KEYS`]) in a deployment of `schools` schools: a school's IT
/// administrator when theirs is the only school, the trust's otherwise.
pub fn may_change_deployment_settings(role: Role, schools: usize) -> bool {
    match role {
        Role::TrustAdmin => true,
        Role::Admin => schools <= 1,
        _ => false,
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Printed on labels and pages.
    pub school_name: String,
    /// Loans are due at this time (UK time) by default.
    pub day_ends_at: NaiveTime,
    /// Where devices are returned by default: the computer room.
    pub return_location: String,
    /// Minutes on charge before a returned device is ready again, by kind.
    pub charge_minutes: BTreeMap<&'static str, u32>,
    /// Managers, heads and admins must sign in with an authenticator code.
    pub require_two_factor: bool,
    /// Months after a person leaves (is deactivated) before their personal details
    /// are anonymised; 0 keeps them until someone removes them by hand.
    pub keep_leavers_months: u32,
    /// A booking not collected this many minutes after it starts is released.
    pub booking_release_minutes: u32,
    /// Borrowers are reminded this long before a loan falls due (0: not at all).
    pub reminder_minutes_before: u32,
    /// How many automatic daily backups to keep in the data directory's `backups`
    /// folder; 0 turns automatic backups off.
    pub backups_kept: u32,
    /// Managers may look after other managers' accounts (never a head's or an
    /// admin's). Off by default: only an IT administrator does.
    pub managers_manage_managers: bool,
    /// Days a new personal API token works before it expires.
    pub token_lifetime_days: u32,
    /// Where the school signs in through its Google or Microsoft account: only IT
    /// administrators may still sign in with a password (their way back in when the
    /// provider is down).
    pub password_sign_in_admins_only: bool,
    /// Someone of the allowed domains whom Kitroom does not know gets a borrower's
    /// account at their first sign-in through the provider (else they are refused).
    pub provider_creates_borrowers: bool,
    /// A sign-in through the provider counts as two-step sign-in even when the
    /// provider does not say a second factor was used.
    pub provider_counts_as_two_step: bool,
    /// The provider's name on the sign-in button, for a provider other than Google
    /// or Microsoft; empty: its address.
    pub provider_name: String,
    /// The trust keeps one acceptable-use policy for every school: the trust's
    /// newest version is in force at each school (a school keeps its own until the
    /// trust publishes one), and only the trust's own staff publish.
    pub one_policy_for_trust: bool,
}

/// The longest provider name the form accepts.
pub const PROVIDER_NAME_MAX: usize = 60;

/// The default retention for people who have left, in months.
pub const DEFAULT_KEEP_LEAVERS_MONTHS: u32 = 24;

/// The longest retention the form accepts, in months (25 years).
pub const MAX_KEEP_LEAVERS_MONTHS: u32 = 300;

/// The most automatic backups Kitroom keeps.
pub const MAX_BACKUPS_KEPT: u32 = 365;

/// How long a new API token works by default, in days.
pub const DEFAULT_TOKEN_LIFETIME_DAYS: u32 = 90;

/// The longest lifetime the form accepts for a new API token, in days: a year, so
/// a forgotten token in an old script does not work for ever.
pub const MAX_TOKEN_LIFETIME_DAYS: u32 = 365;

impl Default for Settings {
    fn default() -> Self {
        Settings {
            school_name: "Our school".into(),
            day_ends_at: NaiveTime::from_hms_opt(15, 30, 0).unwrap_or_default(),
            return_location: "Computer room".into(),
            charge_minutes: DeviceKind::ALL
                .iter()
                .map(|k| (k.as_str(), default_charge_minutes(*k)))
                .collect(),
            require_two_factor: true,
            keep_leavers_months: DEFAULT_KEEP_LEAVERS_MONTHS,
            booking_release_minutes: 20,
            reminder_minutes_before: 60,
            backups_kept: 7,
            managers_manage_managers: false,
            token_lifetime_days: DEFAULT_TOKEN_LIFETIME_DAYS,
            password_sign_in_admins_only: false,
            provider_creates_borrowers: false,
            provider_counts_as_two_step: false,
            provider_name: String::new(),
            one_policy_for_trust: false,
        }
    }
}

/// How long a kind charges by default: a flat tablet in about two hours, a laptop
/// in three.
fn default_charge_minutes(kind: DeviceKind) -> u32 {
    match kind {
        DeviceKind::Laptop | DeviceKind::Chromebook => 180,
        DeviceKind::Desktop => 0,
        _ => 120,
    }
}

impl Settings {
    /// Whether someone with this role must use two-step sign-in: the roles that can
    /// see everyone's records, when the setting is on.
    pub fn two_factor_required(&self, role: Role) -> bool {
        self.require_two_factor && role != Role::Borrower
    }

    /// Who someone with this role is as a keeper of accounts, under these settings.
    pub fn account_keeper(&self, role: Role) -> AccountKeeper {
        AccountKeeper {
            role,
            managers_manage_managers: self.managers_manage_managers,
        }
    }

    /// How long this kind charges before it is ready.
    pub fn charge_minutes_for(&self, kind: DeviceKind) -> u32 {
        self.charge_minutes
            .get(kind.as_str())
            .copied()
            .unwrap_or_else(|| default_charge_minutes(kind))
    }

    /// Reads settings from stored key/value pairs; anything missing or unreadable
    /// keeps its default.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Settings {
        let mut s = Settings::default();
        for (k, v) in pairs {
            match k {
                "school_name" => s.school_name = v.to_owned(),
                "day_ends_at" => {
                    s.day_ends_at = NaiveTime::parse_from_str(v, "%H:%M").unwrap_or(s.day_ends_at)
                }
                "return_location" => s.return_location = v.to_owned(),
                "require_two_factor" => s.require_two_factor = v != "false",
                "managers_manage_managers" => s.managers_manage_managers = v == "true",
                "password_sign_in_admins_only" => s.password_sign_in_admins_only = v == "true",
                "provider_creates_borrowers" => s.provider_creates_borrowers = v == "true",
                "provider_counts_as_two_step" => s.provider_counts_as_two_step = v == "true",
                "one_policy_for_trust" => s.one_policy_for_trust = v == "true",
                "provider_name" => s.provider_name = v.to_owned(),
                "keep_leavers_months" => {
                    s.keep_leavers_months = v.parse().unwrap_or(s.keep_leavers_months)
                }
                "booking_release_minutes" => {
                    s.booking_release_minutes = v.parse().unwrap_or(s.booking_release_minutes)
                }
                "reminder_minutes_before" => {
                    s.reminder_minutes_before = v.parse().unwrap_or(s.reminder_minutes_before)
                }
                "backups_kept" => {
                    s.backups_kept = v
                        .parse()
                        .ok()
                        .filter(|n| *n <= MAX_BACKUPS_KEPT)
                        .unwrap_or(s.backups_kept)
                }
                "token_lifetime_days" => {
                    s.token_lifetime_days = v
                        .parse()
                        .ok()
                        .filter(|n| (1..=MAX_TOKEN_LIFETIME_DAYS).contains(n))
                        .unwrap_or(s.token_lifetime_days)
                }
                other => {
                    if let Some(kind) = other
                        .strip_prefix("charge_minutes.")
                        .and_then(|k| k.parse::<DeviceKind>().ok())
                    {
                        if let Ok(m) = v.parse() {
                            s.charge_minutes.insert(kind.as_str(), m);
                        }
                    }
                }
            }
        }
        s
    }

    /// The settings as key/value pairs to store.
    pub fn to_pairs(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("school_name".to_owned(), self.school_name.clone()),
            (
                "day_ends_at".to_owned(),
                self.day_ends_at.format("%H:%M").to_string(),
            ),
            ("return_location".to_owned(), self.return_location.clone()),
            (
                "require_two_factor".to_owned(),
                self.require_two_factor.to_string(),
            ),
            (
                "keep_leavers_months".to_owned(),
                self.keep_leavers_months.to_string(),
            ),
            (
                "booking_release_minutes".to_owned(),
                self.booking_release_minutes.to_string(),
            ),
            (
                "reminder_minutes_before".to_owned(),
                self.reminder_minutes_before.to_string(),
            ),
            ("backups_kept".to_owned(), self.backups_kept.to_string()),
            (
                "managers_manage_managers".to_owned(),
                self.managers_manage_managers.to_string(),
            ),
            (
                "token_lifetime_days".to_owned(),
                self.token_lifetime_days.to_string(),
            ),
            (
                "password_sign_in_admins_only".to_owned(),
                self.password_sign_in_admins_only.to_string(),
            ),
            (
                "provider_creates_borrowers".to_owned(),
                self.provider_creates_borrowers.to_string(),
            ),
            (
                "provider_counts_as_two_step".to_owned(),
                self.provider_counts_as_two_step.to_string(),
            ),
            ("provider_name".to_owned(), self.provider_name.clone()),
            (
                "one_policy_for_trust".to_owned(),
                self.one_policy_for_trust.to_string(),
            ),
        ];
        out.extend(
            self.charge_minutes
                .iter()
                .map(|(k, m)| (format!("charge_minutes.{k}"), m.to_string())),
        );
        out
    }
}

/// The settings form as typed.
#[derive(Debug, Clone, Default)]
pub struct SettingsInput {
    pub school_name: String,
    pub day_ends_at: String,
    pub return_location: String,
    pub booking_release_minutes: String,
    pub reminder_minutes_before: String,
    /// By kind's word.
    pub charge_minutes: BTreeMap<String, String>,
    pub require_two_factor: bool,
    pub keep_leavers_months: String,
    pub backups_kept: String,
    pub managers_manage_managers: bool,
    /// Empty keeps the default.
    pub token_lifetime_days: String,
    pub password_sign_in_admins_only: bool,
    pub provider_creates_borrowers: bool,
    pub provider_counts_as_two_step: bool,
    pub provider_name: String,
    pub one_policy_for_trust: bool,
}

impl From<&Settings> for SettingsInput {
    fn from(s: &Settings) -> Self {
        SettingsInput {
            school_name: s.school_name.clone(),
            day_ends_at: s.day_ends_at.format("%H:%M").to_string(),
            return_location: s.return_location.clone(),
            booking_release_minutes: s.booking_release_minutes.to_string(),
            reminder_minutes_before: s.reminder_minutes_before.to_string(),
            charge_minutes: s
                .charge_minutes
                .iter()
                .map(|(k, m)| ((*k).to_owned(), m.to_string()))
                .collect(),
            require_two_factor: s.require_two_factor,
            keep_leavers_months: s.keep_leavers_months.to_string(),
            backups_kept: s.backups_kept.to_string(),
            managers_manage_managers: s.managers_manage_managers,
            token_lifetime_days: s.token_lifetime_days.to_string(),
            password_sign_in_admins_only: s.password_sign_in_admins_only,
            provider_creates_borrowers: s.provider_creates_borrowers,
            provider_counts_as_two_step: s.provider_counts_as_two_step,
            one_policy_for_trust: s.one_policy_for_trust,
            provider_name: s.provider_name.clone(),
        }
    }
}

impl SettingsInput {
    /// These settings with the ones every school shares ([`DEPLOYMENT_KEYS`]) taken
    /// from `current`: what a form without them shows.
    pub fn with_shared_from(mut self, current: &SettingsInput) -> SettingsInput {
        self.keep_leavers_months = current.keep_leavers_months.clone();
        self.backups_kept = current.backups_kept.clone();
        self.password_sign_in_admins_only = current.password_sign_in_admins_only;
        self.provider_creates_borrowers = current.provider_creates_borrowers;
        self.provider_counts_as_two_step = current.provider_counts_as_two_step;
        self.provider_name = current.provider_name.clone();
        self.one_policy_for_trust = current.one_policy_for_trust;
        self
    }

    pub fn parse(&self) -> Result<Settings, Invalid> {
        let mut invalid = Invalid::new();
        let mut s = Settings::default();
        if let Some(name) = invalid.check(
            "school_name",
            invalid::required_text(&self.school_name, "School name", 120),
        ) {
            s.school_name = name;
        }
        match NaiveTime::parse_from_str(self.day_ends_at.trim(), "%H:%M") {
            Ok(t) => s.day_ends_at = t,
            Err(_) => invalid.add(
                "day_ends_at",
                "Enter the time the school day ends, like 15:30.",
            ),
        }
        if let Some(l) = invalid.check(
            "return_location",
            crate::device::location_name(&self.return_location),
        ) {
            s.return_location = l;
        }
        match self.booking_release_minutes.trim() {
            "" => {}
            typed => match typed.parse::<u32>() {
                Ok(m) if (5..=24 * 60).contains(&m) => s.booking_release_minutes = m,
                _ => invalid.add(
                    "booking_release_minutes",
                    "Enter a number of minutes from 5 to 1440.",
                ),
            },
        }
        match self.reminder_minutes_before.trim() {
            "" => {}
            typed => match typed.parse::<u32>() {
                Ok(m) if m <= 7 * 24 * 60 => s.reminder_minutes_before = m,
                _ => invalid.add(
                    "reminder_minutes_before",
                    "Enter a number of minutes from 0 (no reminder) to 10080 (a week).",
                ),
            },
        }
        for kind in DeviceKind::ALL {
            let typed = self
                .charge_minutes
                .get(kind.as_str())
                .map(String::as_str)
                .unwrap_or("")
                .trim();
            match typed.parse::<u32>() {
                Ok(m) if m <= 24 * 60 => {
                    s.charge_minutes.insert(kind.as_str(), m);
                }
                _ => invalid.add(
                    "charge_minutes",
                    format!(
                        "Charging time for {} must be a number of minutes from 0 to 1440.",
                        kind.label()
                    ),
                ),
            }
        }
        s.require_two_factor = self.require_two_factor;
        s.managers_manage_managers = self.managers_manage_managers;
        s.password_sign_in_admins_only = self.password_sign_in_admins_only;
        s.provider_creates_borrowers = self.provider_creates_borrowers;
        s.provider_counts_as_two_step = self.provider_counts_as_two_step;
        s.one_policy_for_trust = self.one_policy_for_trust;
        let name = self.provider_name.trim();
        if name.chars().count() > PROVIDER_NAME_MAX || name.chars().any(char::is_control) {
            invalid.add(
                "provider_name",
                format!("Enter the provider's name in at most {PROVIDER_NAME_MAX} characters, such as “the school's account”."),
            );
        } else {
            s.provider_name = name.to_owned();
        }
        match self.keep_leavers_months.trim().parse::<u32>() {
            Ok(m) if m <= MAX_KEEP_LEAVERS_MONTHS => s.keep_leavers_months = m,
            _ => invalid.add(
                "keep_leavers_months",
                format!("Enter a number of months from 0 to {MAX_KEEP_LEAVERS_MONTHS}, such as 24. 0 keeps people who have left until you remove them."),
            ),
        }
        match self.backups_kept.trim().parse::<u32>() {
            Ok(n) if n <= MAX_BACKUPS_KEPT => s.backups_kept = n,
            _ => invalid.add(
                "backups_kept",
                format!("Enter how many daily backups to keep, from 0 (no automatic backups) to {MAX_BACKUPS_KEPT}."),
            ),
        }
        match self.token_lifetime_days.trim() {
            "" => {}
            typed => match typed.parse::<u32>() {
                Ok(n) if (1..=MAX_TOKEN_LIFETIME_DAYS).contains(&n) => s.token_lifetime_days = n,
                _ => invalid.add(
                    "token_lifetime_days",
                    format!("Enter how many days a new API token works, from 1 to {MAX_TOKEN_LIFETIME_DAYS}, such as 90."),
                ),
            },
        }
        invalid.into_result()?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shared settings a form leaves out are exactly [`DEPLOYMENT_KEYS`].
    #[test]
    fn the_shared_settings_taken_over_are_the_deployment_keys() {
        let shared = Settings {
            keep_leavers_months: 6,
            backups_kept: 3,
            password_sign_in_admins_only: true,
            provider_creates_borrowers: true,
            provider_counts_as_two_step: true,
            provider_name: "Okta".into(),
            one_policy_for_trust: true,
            ..Default::default()
        };
        let mine = SettingsInput::from(&Settings::default());
        let mixed = mine
            .with_shared_from(&SettingsInput::from(&shared))
            .parse()
            .unwrap()
            .to_pairs();
        let (defaults, shared) = (Settings::default().to_pairs(), shared.to_pairs());
        for (i, (key, value)) in mixed.iter().enumerate() {
            let from = if DEPLOYMENT_KEYS.contains(&key.as_str()) {
                &shared
            } else {
                &defaults
            };
            assert_eq!(&from[i], &(key.clone(), value.clone()), "{key}");
        }
    }

    #[test]
    fn settings_read_back_what_was_stored() {
        let mut s = Settings {
            school_name: "St Mary's".into(),
            ..Default::default()
        };
        s.charge_minutes.insert("ipad", 90);
        s.require_two_factor = false;
        s.keep_leavers_months = 6;
        s.managers_manage_managers = true;
        s.token_lifetime_days = 30;
        s.password_sign_in_admins_only = true;
        s.provider_creates_borrowers = true;
        s.provider_counts_as_two_step = true;
        s.provider_name = "Okta".into();
        let pairs = s.to_pairs();
        let back = Settings::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        assert_eq!(back, s);
        assert_eq!(back.charge_minutes_for(DeviceKind::Ipad), 90);
    }

    #[test]
    fn a_bad_time_or_charging_time_is_refused() {
        let mut input = SettingsInput::from(&Settings::default());
        input.day_ends_at = "half three".into();
        input.charge_minutes.insert("laptop".into(), "-5".into());
        input.backups_kept = "a week".into();
        input.token_lifetime_days = "0".into();
        let err = input.parse().unwrap_err();
        assert!(err.for_field("token_lifetime_days").is_some());
        assert!(err.for_field("backups_kept").is_some());
        assert!(err.for_field("day_ends_at").is_some());
        assert!(err.for_field("charge_minutes").unwrap().contains("Laptop"));
    }
}
