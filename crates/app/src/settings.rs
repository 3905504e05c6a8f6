//! The school's settings, for the IT administrator: the settings page and the API
//! change them through [`save`].

use std::collections::BTreeMap;

use chrono::Utc;
use kitroom_core::person::Permission;
use kitroom_core::settings::{
    may_change_deployment_settings, Settings, SettingsInput, DEPLOYMENT_KEYS,
};
use kitroom_store::people::Person;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::input::{Flag, Number};
use crate::{App, Error, Refusal};

/// Changes to the settings as sent: every field of the settings form, or the fields
/// a `PATCH` names (the others stay as they are).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SettingsChange {
    pub school_name: Option<String>,
    pub day_ends_at: Option<String>,
    pub return_location: Option<String>,
    #[schema(value_type = Option<i64>)]
    pub booking_release_minutes: Option<Number>,
    #[schema(value_type = Option<i64>)]
    pub reminder_minutes_before: Option<Number>,
    /// Minutes on charge before ready, by device kind's word.
    #[schema(value_type = Option<BTreeMap<String, i64>>)]
    pub charge_minutes: Option<BTreeMap<String, Number>>,
    #[schema(value_type = Option<bool>)]
    pub require_two_factor: Option<Flag>,
    #[schema(value_type = Option<i64>)]
    pub keep_leavers_months: Option<Number>,
    #[schema(value_type = Option<i64>)]
    pub backups_kept: Option<Number>,
    #[schema(value_type = Option<bool>)]
    pub managers_manage_managers: Option<Flag>,
    #[schema(value_type = Option<i64>)]
    pub token_lifetime_days: Option<Number>,
    /// Only IT administrators may sign in with a password (the others through the
    /// school's provider).
    #[schema(value_type = Option<bool>)]
    pub password_sign_in_admins_only: Option<Flag>,
    /// Unknown people of the allowed domains get a borrower's account at their
    /// first sign-in through the provider.
    #[schema(value_type = Option<bool>)]
    pub provider_creates_borrowers: Option<Flag>,
    /// A sign-in through the provider counts as two-step sign-in.
    #[schema(value_type = Option<bool>)]
    pub provider_counts_as_two_step: Option<Flag>,
    /// One acceptable-use policy for every school of the trust (the trust's IT
    /// administrator's to change).
    #[schema(value_type = Option<bool>)]
    pub one_policy_for_trust: Option<Flag>,
    /// The provider's name on the sign-in button (not Google or Microsoft).
    #[schema(max_length = 60)]
    pub provider_name: Option<String>,
}

impl SettingsChange {
    /// This change without the settings every school shares
    /// ([`DEPLOYMENT_KEYS`]): they stay as they are.
    pub fn without_shared(self) -> SettingsChange {
        SettingsChange {
            keep_leavers_months: None,
            backups_kept: None,
            password_sign_in_admins_only: None,
            provider_creates_borrowers: None,
            provider_counts_as_two_step: None,
            provider_name: None,
            one_policy_for_trust: None,
            ..self
        }
    }

    /// The settings as typed once these changes are made to `current`.
    pub fn applied_to(self, current: &Settings) -> SettingsInput {
        let mut i = SettingsInput::from(current);
        let set = |field: &mut String, v: Option<String>| {
            if let Some(v) = v {
                *field = v;
            }
        };
        set(&mut i.school_name, self.school_name);
        set(&mut i.day_ends_at, self.day_ends_at);
        set(&mut i.return_location, self.return_location);
        set(&mut i.provider_name, self.provider_name);
        set(
            &mut i.booking_release_minutes,
            self.booking_release_minutes.map(|n| n.0),
        );
        set(
            &mut i.reminder_minutes_before,
            self.reminder_minutes_before.map(|n| n.0),
        );
        set(
            &mut i.keep_leavers_months,
            self.keep_leavers_months.map(|n| n.0),
        );
        set(&mut i.backups_kept, self.backups_kept.map(|n| n.0));
        set(
            &mut i.token_lifetime_days,
            self.token_lifetime_days.map(|n| n.0),
        );
        if let Some(m) = self.charge_minutes {
            for (kind, n) in m {
                i.charge_minutes.insert(kind, n.0);
            }
        }
        if let Some(f) = self.require_two_factor {
            i.require_two_factor = f.0;
        }
        if let Some(f) = self.managers_manage_managers {
            i.managers_manage_managers = f.0;
        }
        if let Some(f) = self.password_sign_in_admins_only {
            i.password_sign_in_admins_only = f.0;
        }
        if let Some(f) = self.provider_creates_borrowers {
            i.provider_creates_borrowers = f.0;
        }
        if let Some(f) = self.provider_counts_as_two_step {
            i.provider_counts_as_two_step = f.0;
        }
        if let Some(f) = self.one_policy_for_trust {
            i.one_policy_for_trust = f.0;
        }
        i
    }
}

/// Whether `caller` may change the deployment's own settings (backups, retention,
/// how people sign in), which every school shares.
pub async fn may_change_deployment(app: &App, caller: &Person) -> Result<bool, Error> {
    let schools = app.store().schools().await?.len();
    Ok(may_change_deployment_settings(caller.role, schools))
}

/// Changes the school's settings (an IT administrator only); every problem is told
/// at once, beside its field. The deployment's own settings, shared by every
/// school, are changed only by who may ([`may_change_deployment_settings`]).
pub async fn save(app: &App, caller: &Person, change: SettingsChange) -> Result<Settings, Error> {
    if !caller.role.may(Permission::ManageSettings) {
        return Err(Refusal::not_allowed().into());
    }
    let deployment = may_change_deployment(app, caller).await?;
    let actor = caller.actor();
    let school = caller.school;
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let current = kitroom_store::settings::settings_in(conn, school).await?;
                let settings = change.applied_to(&current).parse()?;
                if !deployment {
                    let (before, after) = (current.to_pairs(), settings.to_pairs());
                    let mut invalid = kitroom_core::Invalid::new();
                    for key in DEPLOYMENT_KEYS {
                        let value = |pairs: &[(String, String)]| {
                            pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
                        };
                        if value(&before) != value(&after) {
                            invalid.add(
                                key,
                                "Every school of the trust shares this setting: the trust's IT administrator changes it.",
                            );
                        }
                    }
                    if !invalid.is_empty() {
                        return Err(invalid.into());
                    }
                }
                kitroom_store::settings::save_settings_in(
                    conn,
                    &actor,
                    school,
                    &settings,
                    Utc::now(),
                )
                .await?;
                Ok::<_, Error>(settings)
            })
        })
        .await
}
