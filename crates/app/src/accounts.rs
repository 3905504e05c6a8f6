//! Looking after accounts: adding a person, editing their details and role,
//! deactivating and reactivating them, resetting their password and their two-step
//! sign-in. One command each, for the people pages and the API alike.
//!
//! Who may do which to whose account is `kitroom_core::person::may_manage_account`
//! alone, and it is asked inside the write transaction, on the account and the
//! school's settings as they are there: an account promoted to head teacher a
//! moment earlier is not reset by a manager who opened its page before.

use chrono::Utc;
use kitroom_core::person::{
    may_manage_account_across, new_password, Account, AccountChange, AccountKeeper, PasswordOwner,
    Permission, PersonDetails, Role,
};
use kitroom_core::Invalid;
use kitroom_store::people::{self, Person};
use kitroom_store::settings::settings_in;
use kitroom_store::Conn as SqliteConnection;
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::input::{text_or_null, Flag};
use crate::{App, Error, Refusal};

/// Text that may be missing (keep what is there) or `null` (empty it).
fn some_text_or_null<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Some(Option::<String>::deserialize(d)?.unwrap_or_default()))
}

/// A new account as sent: the "add a person" form, or the API's JSON body.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct AddPersonInput {
    /// Unique; how they sign in.
    pub username: String,
    pub full_name: String,
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub email: String,
    pub position: String,
    /// `staff` when empty.
    pub kind: String,
    /// `borrower` when empty.
    pub role: String,
    /// Optional: without one, the account exists for lending but cannot sign in
    /// until someone sets it.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub password: String,
}

impl AddPersonInput {
    fn core(&self) -> kitroom_core::person::PersonInput {
        kitroom_core::person::PersonInput {
            username: self.username.clone(),
            full_name: self.full_name.clone(),
            email: self.email.clone(),
            position: self.position.clone(),
            kind: self.kind.clone(),
            role: self.role.clone(),
        }
    }
}

/// A new account, its details checked; the password is checked against the
/// school's name when it is added.
#[derive(Debug, Clone)]
pub struct AddPerson {
    pub details: PersonDetails,
    pub password: Option<String>,
}

impl TryFrom<AddPersonInput> for AddPerson {
    type Error = Invalid;

    fn try_from(i: AddPersonInput) -> Result<Self, Invalid> {
        let details = i.core().parse()?;
        Ok(AddPerson {
            details,
            password: Some(i.password).filter(|p| !p.is_empty()),
        })
    }
}

/// Changes to an account's details as sent: every field of the edit form, or the
/// fields a `PATCH` names (the others stay as they are).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct EditPersonInput {
    pub username: Option<String>,
    pub full_name: Option<String>,
    #[serde(deserialize_with = "some_text_or_null")]
    pub email: Option<String>,
    pub position: Option<String>,
    pub kind: Option<String>,
    pub role: Option<String>,
}

impl From<AddPersonInput> for EditPersonInput {
    /// The edit form posts every field (its password field is not shown).
    fn from(i: AddPersonInput) -> Self {
        EditPersonInput {
            username: Some(i.username),
            full_name: Some(i.full_name),
            email: Some(i.email),
            position: Some(i.position),
            kind: Some(i.kind),
            role: Some(i.role),
        }
    }
}

impl EditPersonInput {
    /// The account's details with these changes, checked: every problem at once.
    pub fn applied_to(self, p: &Person) -> Result<PersonDetails, Invalid> {
        kitroom_core::person::PersonInput {
            username: self.username.unwrap_or_else(|| p.username.clone()),
            full_name: self.full_name.unwrap_or_else(|| p.full_name.clone()),
            email: self
                .email
                .unwrap_or_else(|| p.email.clone().unwrap_or_default()),
            position: self.position.unwrap_or_else(|| p.position.clone()),
            kind: self.kind.unwrap_or_else(|| p.kind.as_str().to_owned()),
            role: self.role.unwrap_or_else(|| p.role.as_str().to_owned()),
        }
        .parse()
    }
}

/// Deactivating or reactivating an account: the page's `active` field, true or false.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct SetActiveInput {
    #[schema(value_type = bool)]
    pub active: Flag,
}

/// A new password, typed by whoever resets it (they give it to the person).
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(default, deny_unknown_fields)]
pub struct PasswordResetInput {
    /// At least 12 characters and hard to guess.
    #[serde(deserialize_with = "text_or_null")]
    #[schema(value_type = Option<String>)]
    pub password: String,
}

/// What the account rule judges by, read inside the transaction on the account as
/// it is now: the caller as a keeper, the account, and its roles at other schools
/// with the caller's standing there.
struct RuleInputs {
    keeper: AccountKeeper,
    account: Account,
    elsewhere: Vec<(Role, Option<AccountKeeper>)>,
}

impl RuleInputs {
    async fn read(
        conn: &mut SqliteConnection,
        caller: &Person,
        account: Option<&Person>,
    ) -> Result<RuleInputs, Error> {
        let settings = settings_in(conn, caller.school).await?;
        let keeper = settings.account_keeper(caller.role);
        let (account, elsewhere) = match account {
            None => (Account::New, Vec::new()),
            Some(p) if p.id == caller.id => (Account::Own(p.role), Vec::new()),
            Some(p) => (
                Account::Other(p.role),
                people::roles_elsewhere_in(conn, caller.id, p.id, caller.school)
                    .await?
                    .into_iter()
                    .map(|(role, mine)| (role, mine.map(|r| settings.account_keeper(r))))
                    .collect(),
            ),
        };
        Ok(RuleInputs {
            keeper,
            account,
            elsewhere,
        })
    }

    fn allows(&self, change: AccountChange) -> Result<(), String> {
        may_manage_account_across(self.keeper, self.account, change, &self.elsewhere)
    }
}

/// The account rule's answer, inside the transaction, on the account as it is now.
async fn ask_rule(
    conn: &mut SqliteConnection,
    caller: &Person,
    account: Option<&Person>,
    change: AccountChange,
) -> Result<Result<(), String>, Error> {
    Ok(RuleInputs::read(conn, caller, account)
        .await?
        .allows(change))
}

/// 403 unless the rule allows `change` to `account`.
pub(crate) async fn allow(
    conn: &mut SqliteConnection,
    caller: &Person,
    account: &Person,
    change: AccountChange,
) -> Result<(), Error> {
    ask_rule(conn, caller, Some(account), change)
        .await?
        .map_err(|m| Refusal::new(crate::Kind::NotAllowed, "forbidden", m).into())
}

/// The rule refused a role: not allowed, with the reason beside the role field
/// (the form shows it there).
fn role_refused(message: String) -> Error {
    let mut r = Refusal::new(crate::Kind::NotAllowed, "role-not-allowed", message.clone());
    r.fields = Some(Invalid::one("role", message));
    r.into()
}

/// The person `username` among the people of `school`.
pub(crate) async fn account_in(
    conn: &mut SqliteConnection,
    school: kitroom_core::school::SchoolId,
    username: &str,
) -> Result<Person, Error> {
    people::person_by_username_in(conn, school, username)
        .await?
        .ok_or_else(|| Refusal::not_found("That person").into())
}

pub(crate) fn require(caller: &Person) -> Result<(), Error> {
    if caller.role.may(Permission::ManageAccounts) {
        Ok(())
    } else {
        Err(Refusal::not_allowed().into())
    }
}

/// The password's problem, if any, for this person at this school.
pub(crate) async fn check_password(
    app: &App,
    school: kitroom_core::school::SchoolId,
    password: &str,
    (username, full_name): (&str, &str),
) -> Result<Result<String, String>, Error> {
    let school_name = app.store().settings(school).await?.school_name;
    let owner = PasswordOwner {
        username,
        full_name,
        school_name: &school_name,
    };
    Ok(new_password(password, &owner))
}

/// Adds an account. A role the caller may not give is refused (not allowed, beside
/// the role field); every problem with the fields and the password is told at once.
pub async fn add_person(
    app: &App,
    caller: &Person,
    input: AddPersonInput,
) -> Result<Person, Error> {
    require(caller)?;
    let mut invalid = Invalid::new();
    let password = input.password.clone();
    let (username, full_name) = (input.username.clone(), input.full_name.clone());
    let cmd = AddPerson::try_from(input)
        .map_err(|e| invalid.0.extend(e.0))
        .ok();
    if !password.is_empty() {
        if let Err(m) =
            check_password(app, caller.school, &password, (&username, &full_name)).await?
        {
            invalid.add("password", m);
        }
    }
    let Some(cmd) = cmd.filter(|_| invalid.is_empty()) else {
        return Err(invalid.into());
    };
    let hash = match &cmd.password {
        Some(p) => Some(crate::password::hash(p.clone()).await?),
        None => None,
    };
    let caller = caller.clone();
    let person = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let role = cmd.details.role;
                ask_rule(conn, &caller, None, AccountChange::Details { role })
                    .await?
                    .map_err(role_refused)?;
                let p = people::insert_person_in(
                    conn,
                    &caller.actor(),
                    caller.school,
                    &cmd.details,
                    hash.as_deref(),
                    Utc::now(),
                )
                .await?;
                Ok::<_, Error>(p)
            })
        })
        .await?;
    app.wake_mailer();
    Ok(person)
}

/// Changes an account's details, its role included. Refused outright (403) when the
/// caller may not look after this account; a new role they may not give is refused
/// beside the role field.
pub async fn edit_person(
    app: &App,
    caller: &Person,
    username: &str,
    input: EditPersonInput,
) -> Result<Person, Error> {
    require(caller)?;
    let caller = caller.clone();
    let username = username.to_owned();
    let person = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let p = account_in(conn, caller.school, &username).await?;
                allow(conn, &caller, &p, AccountChange::Details { role: p.role }).await?;
                let details = input.applied_to(&p)?;
                let role = details.role;
                ask_rule(conn, &caller, Some(&p), AccountChange::Details { role })
                    .await?
                    .map_err(role_refused)?;
                let after = people::update_person_in(
                    conn,
                    &caller.actor(),
                    caller.school,
                    p.id,
                    &details,
                    Utc::now(),
                )
                .await?;
                Ok::<_, Error>(after)
            })
        })
        .await?;
    app.wake_mailer();
    Ok(person)
}

/// Deactivates (signing them out everywhere and revoking their tokens) or
/// reactivates an account. Nobody deactivates themselves (409).
pub async fn set_active(
    app: &App,
    caller: &Person,
    username: &str,
    input: SetActiveInput,
) -> Result<Person, Error> {
    require(caller)?;
    let active = input.active.0;
    let caller = caller.clone();
    let username = username.to_owned();
    app.store()
        .transaction(move |conn| {
            Box::pin(async move {
                let p = account_in(conn, caller.school, &username).await?;
                if p.id == caller.id && !active {
                    return Err(Refusal::conflict(
                        "own-account",
                        "You cannot deactivate your own account. Ask another administrator.",
                    )
                    .into());
                }
                allow(conn, &caller, &p, AccountChange::SetActive).await?;
                let after =
                    people::set_active_in(conn, &caller.actor(), p.id, active, Utc::now()).await?;
                Ok::<_, Error>(after)
            })
        })
        .await
}

/// Sets a new password for someone (they are given it in person): their sessions end
/// and their API tokens stop working; they, the head and admins are told.
pub async fn reset_password(
    app: &App,
    caller: &Person,
    username: &str,
    input: PasswordResetInput,
) -> Result<Person, Error> {
    require(caller)?;
    // The rule is asked before the password is read, so a refusal does not depend on
    // what was typed; and again inside the transaction, where it counts.
    let p = app
        .store()
        .person_by_username(caller.school, username)
        .await?
        .ok_or_else(|| Refusal::not_found("That person"))?;
    {
        let mut conn = app
            .store()
            .reader()
            .acquire()
            .await
            .map_err(kitroom_store::StoreError::from)?;
        ask_rule(&mut conn, caller, Some(&p), AccountChange::ResetPassword)
            .await?
            .map_err(|m| Refusal::new(crate::Kind::NotAllowed, "forbidden", m))?;
    }
    let password = check_password(
        app,
        caller.school,
        &input.password,
        (&p.username, &p.full_name),
    )
    .await?
    .map_err(|m| Invalid::one("password", m))?;
    let hash = crate::password::hash(password).await?;
    let caller = caller.clone();
    let id = p.id;
    let person = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let p = people::get_person(conn, caller.school, id).await?;
                allow(conn, &caller, &p, AccountChange::ResetPassword).await?;
                people::set_password_in(conn, &caller.actor(), p.id, &hash, None, Utc::now())
                    .await?;
                Ok::<_, Error>(p)
            })
        })
        .await?;
    app.wake_mailer();
    Ok(person)
}

/// What resetting someone's two-step sign-in did.
#[derive(Debug, Clone)]
pub struct TwoFactorReset {
    pub person: Person,
    /// False when they did not use two-step sign-in (nothing changed).
    pub was_on: bool,
}

/// Turns off someone's two-step sign-in (a lost phone with no recovery codes) and
/// ends their sessions; where the school requires it, they set it up again at their
/// next sign-in.
pub async fn reset_two_factor(
    app: &App,
    caller: &Person,
    username: &str,
) -> Result<TwoFactorReset, Error> {
    require(caller)?;
    let caller = caller.clone();
    let username = username.to_owned();
    let out = app
        .store()
        .transaction(move |conn| {
            Box::pin(async move {
                let p = account_in(conn, caller.school, &username).await?;
                allow(conn, &caller, &p, AccountChange::ResetTwoFactor).await?;
                let was_on = kitroom_store::two_factor::remove_two_factor_in(
                    conn,
                    &caller.actor(),
                    &p.subject(),
                    p.id,
                    Utc::now(),
                )
                .await?;
                Ok::<_, Error>(TwoFactorReset { person: p, was_on })
            })
        })
        .await?;
    app.wake_mailer();
    Ok(out)
}

/// What the signed-in person may do to an account, by the same rule: for the
/// person's page to offer only those.
#[derive(Debug, Clone, Copy)]
pub struct Allowed {
    pub edit: bool,
    pub reset_password: bool,
    pub reset_two_factor: bool,
    pub set_active: bool,
}

pub async fn allowed(app: &App, caller: &Person, p: &Person) -> Result<Allowed, Error> {
    let mut conn = app
        .store()
        .reader()
        .acquire()
        .await
        .map_err(kitroom_store::StoreError::from)?;
    let rule = RuleInputs::read(&mut conn, caller, Some(p)).await?;
    let may = |change| rule.allows(change).is_ok();
    Ok(Allowed {
        edit: may(AccountChange::Details { role: p.role }),
        reset_password: may(AccountChange::ResetPassword),
        reset_two_factor: may(AccountChange::ResetTwoFactor),
        set_active: may(AccountChange::SetActive),
    })
}
