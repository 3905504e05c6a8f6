//! People: who they are to the school (kind), what they may do in Kitroom (role), and
//! the checks on their account details.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::device::words;
use crate::invalid::{self, Invalid};

words!(
    /// Who the person is to the school.
    PersonKind, "kind of person" {
        Staff = "staff", "Staff";
        Governor = "governor", "Governor";
        Volunteer = "volunteer", "Volunteer";
        Visitor = "visitor", "Visitor";
    }
);

words!(
    /// What the person may do in Kitroom.
    Role, "role" {
        Borrower = "borrower", "Borrower";
        Manager = "manager", "Business manager";
        Head = "head", "Head teacher";
        Admin = "admin", "IT administrator";
        TrustManager = "trust_manager", "Trust business manager";
        TrustAdmin = "trust_admin", "Trust IT administrator";
    }
);

/// Something a role may or may not do. Every route asks for one of these, so the
/// whole authorisation matrix is [`Role::may`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// See the register: the device list and each device's page.
    ViewRegister,
    /// Register and edit devices and locations, change a device's status.
    ManageRegister,
    /// Read the activity log.
    ReadLog,
    /// Create and edit accounts and reset passwords.
    ManageAccounts,
    /// Look after every account, the head teacher's and admins' included, and give
    /// any role (see [`may_manage_account`]).
    ManageAdmins,
    /// Borrow a device for oneself (after signing the policy).
    Borrow,
    /// Lend a device to anyone and receive any device back.
    LendToAnyone,
    /// See every loan, not only one's own.
    ViewAllLoans,
    /// Publish acceptable-use policy versions and see who has signed.
    ManagePolicy,
    /// Approve or decline taking personal data off site.
    AuthoriseOffsite,
    /// Change the school's settings.
    ManageSettings,
    /// Report damage, loss or theft, and ask for a change to a device.
    Report,
    /// See every incident and the manager's desk.
    ViewIncidents,
    /// Handle incidents: record decisions, move them on, resolve them.
    HandleIncidents,
    /// Approve or decline installing or changing software or hardware.
    DecideChanges,
    /// Read the reports, including one person's full history.
    ViewReports,
    /// Import and export the register, people and encryption status.
    ImportExport,
    /// Run stocktakes.
    Stocktake,
    /// Retire a device and record its disposal.
    Dispose,
    /// Move a device to another school of the trust: the trust's own staff.
    TransferDevice,
    /// See every school at once: the trust-wide reports and the whole deployment's
    /// activity log. The trust's own staff.
    ViewTrust,
}

impl Role {
    /// A role of the trust's own staff, held in every school of the deployment
    /// rather than school by school.
    pub fn is_trust(self) -> bool {
        matches!(self, Role::TrustManager | Role::TrustAdmin)
    }

    /// What this role may do inside one school: a trust business manager does there
    /// what the school's business manager does, a trust IT administrator what its IT
    /// administrator does.
    fn in_school(self) -> Role {
        match self {
            Role::TrustManager => Role::Manager,
            Role::TrustAdmin => Role::Admin,
            other => other,
        }
    }

    pub fn may(self, permission: Permission) -> bool {
        use Permission::*;
        let role = self.in_school();
        match permission {
            ViewRegister => true,
            ManageRegister => matches!(role, Role::Manager | Role::Admin),
            ReadLog => matches!(role, Role::Manager | Role::Head | Role::Admin),
            ManageAccounts => matches!(role, Role::Manager | Role::Admin),
            ManageAdmins => role == Role::Admin,
            Borrow => true,
            LendToAnyone => matches!(role, Role::Manager | Role::Admin),
            ViewAllLoans => matches!(role, Role::Manager | Role::Head | Role::Admin),
            ManagePolicy => matches!(role, Role::Manager | Role::Admin),
            AuthoriseOffsite => role == Role::Head,
            ManageSettings => role == Role::Admin,
            Report => true,
            ViewIncidents => matches!(role, Role::Manager | Role::Head | Role::Admin),
            HandleIncidents => matches!(role, Role::Manager | Role::Admin),
            DecideChanges => role == Role::Head,
            ViewReports => matches!(role, Role::Manager | Role::Head | Role::Admin),
            ImportExport => matches!(role, Role::Manager | Role::Admin),
            Stocktake => matches!(role, Role::Manager | Role::Admin),
            Dispose => matches!(role, Role::Manager | Role::Admin),
            // the trust's own staff, not any school's
            TransferDevice | ViewTrust => self.is_trust(),
        }
    }
}

/// The account being looked after, as the account rule sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Account {
    /// An account not yet made (the "add a person" form, an import row).
    New,
    /// The actor's own account, with its role.
    Own(Role),
    /// Someone else's account, with its role.
    Other(Role),
}

/// What is done to an account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountChange {
    /// Adding it, or editing its details, leaving it with this role.
    Details { role: Role },
    /// Setting a new password for it.
    ResetPassword,
    /// Turning off its two-step sign-in.
    ResetTwoFactor,
    /// Deactivating or reactivating it.
    SetActive,
}

/// Who is looking after accounts: their role, and the school's setting that lets
/// managers look after other managers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AccountKeeper {
    pub role: Role,
    /// The school's setting "managers may manage other managers' accounts".
    pub managers_manage_managers: bool,
}

impl AccountKeeper {
    /// The roles this keeper may give an account, in the order of [`Role::ALL`]: the
    /// role choices on the account form.
    pub fn roles_to_give(self) -> Vec<Role> {
        Role::ALL
            .iter()
            .copied()
            .filter(|r| self.looks_after(*r))
            .collect()
    }

    /// Whether this keeper looks after accounts with this role. Only a trust IT
    /// administrator gives or changes a trust role. An IT administrator looks after
    /// every other account; a manager looks after borrowers, and other
    /// managers only when the school's settings say so; never a head's or an
    /// admin's account: the head's approval is what lets personal data leave the
    /// site, so a manager who could set the head's password could approve their
    /// own requests.
    fn looks_after(self, role: Role) -> bool {
        if role.is_trust() {
            return self.role == Role::TrustAdmin;
        }
        if self.role.may(Permission::ManageAdmins) {
            return true;
        }
        if !self.role.may(Permission::ManageAccounts) {
            return false;
        }
        match role {
            Role::Borrower => true,
            Role::Manager => self.managers_manage_managers,
            Role::Head | Role::Admin | Role::TrustManager | Role::TrustAdmin => false,
        }
    }
}

/// Who may look after whose account, and hand out which role: the one rule that
/// the people pages, the account form, the import of people and every reset ask.
///
/// - only managers and admins look after accounts at all;
/// - an IT administrator looks after every account; a manager looks after
///   borrowers (and other managers when the school allows it), never a head's or
///   an admin's account, and cannot give the head or admin role;
/// - nobody changes their own role or deactivates themselves, so someone else
///   always sees it happen; anyone who looks after accounts may keep their own
///   details up to date.
///
/// The refusal is a sentence for the person who asked.
pub fn may_manage_account(
    keeper: AccountKeeper,
    account: Account,
    change: AccountChange,
) -> Result<(), String> {
    if !keeper.role.may(Permission::ManageAccounts) {
        return Err("Your account does not allow managing other accounts.".into());
    }
    let current = match account {
        Account::New => None,
        Account::Own(role) => {
            match change {
                AccountChange::Details { role: new } if new != role => {
                    return Err(
                        "You cannot change your own role. Ask another administrator.".into(),
                    )
                }
                AccountChange::Details { .. } => return Ok(()),
                AccountChange::SetActive => {
                    return Err(
                        "You cannot deactivate your own account. Ask another administrator.".into(),
                    )
                }
                AccountChange::ResetPassword | AccountChange::ResetTwoFactor => {}
            }
            Some(role)
        }
        Account::Other(role) => Some(role),
    };
    let new = match change {
        AccountChange::Details { role } => Some(role),
        _ => None,
    };
    for role in current.into_iter().chain(new) {
        if !keeper.looks_after(role) {
            return Err(refusal(role));
        }
    }
    Ok(())
}

/// The same rule for an account that also holds roles in other schools of the
/// trust: its username, name, password and two-step sign-in are one for every
/// school, so a change to them must be one the keeper may make in each school where
/// the account holds a role, as the keeper they are there. `elsewhere` lists each
/// such role with the keeper's standing in that school (`None` where they hold no
/// role). A manager at one school cannot so reset the password of the head teacher
/// of another who borrows at theirs.
pub fn may_manage_account_across(
    keeper: AccountKeeper,
    account: Account,
    change: AccountChange,
    elsewhere: &[(Role, Option<AccountKeeper>)],
) -> Result<(), String> {
    may_manage_account(keeper, account, change)?;
    if matches!(account, Account::Own(_)) {
        return Ok(());
    }
    for (role, keeper_there) in elsewhere {
        let Some(keeper_there) = keeper_there else {
            return Err("This account is also used at another school of the trust, where you hold no role: ask the trust's IT administrator.".into());
        };
        // Their role there stays as it is: only this school's role is given here.
        let change_there = match change {
            AccountChange::Details { .. } => AccountChange::Details { role: *role },
            other => other,
        };
        may_manage_account(*keeper_there, Account::Other(*role), change_there)?;
    }
    Ok(())
}

/// Why a manager may not look after an account with this role.
fn refusal(role: Role) -> String {
    match role {
        Role::Head => {
            "Only an IT administrator can create or change a head teacher's account.".into()
        }
        Role::Admin => "Only an IT administrator can manage administrator accounts.".into(),
        Role::TrustManager | Role::TrustAdmin => {
            "Only the trust's IT administrator can give or change a trust role.".into()
        }
        _ => "Only an IT administrator can manage other managers' accounts. An administrator can allow managers to in Settings.".into(),
    }
}

/// A login name: 2 to 40 lower-case letters, digits, `.`, `-` or `_`, starting with
/// a letter. Stored lower-case, so `J.Smith` and `j.smith` are one person.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    pub fn parse(s: &str) -> Result<Username, String> {
        let s = s.trim().to_lowercase();
        if s.is_empty() {
            return Err("Enter a username.".into());
        }
        if s.len() < 2 || s.len() > 40 {
            return Err("A username must be 2 to 40 characters long.".into());
        }
        if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
            return Err("A username must start with a letter.".into());
        }
        if !s
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '_'))
        {
            return Err("A username can only contain letters, digits, and . - _".into());
        }
        Ok(Username(s))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The shortest and longest passwords Kitroom accepts (in characters).
pub const PASSWORD_MIN: usize = 12;
pub const PASSWORD_MAX: usize = 128;

/// The common passwords shipped with Kitroom (`common-passwords.txt`: where the list
/// comes from is in its header), lower-case.
fn common_passwords() -> &'static std::collections::HashSet<&'static str> {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    LIST.get_or_init(|| {
        let text = include_str!("common-passwords.txt");
        // The header ends at the first empty line.
        let body = text.split_once("\n\n").map_or(text, |(_, list)| list);
        body.lines().filter(|l| !l.is_empty()).collect()
    })
}

/// A full name as "Lend to" compares it: trimmed, runs of spaces made one, case
/// ignored, so "  hannah   ADEYEMI " finds Hannah Adeyemi.
pub fn name_key(name: &str) -> String {
    name.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Whether a password is on the shipped list of common passwords (case ignored).
pub fn is_common_password(password: &str) -> bool {
    common_passwords().contains(password.to_lowercase().as_str())
}

/// Whom a new password is for: the words an attacker who knows the school would try
/// first, so a password built from them is judged weak.
#[derive(Debug, Clone, Copy, Default)]
pub struct PasswordOwner<'a> {
    pub username: &'a str,
    pub full_name: &'a str,
    pub school_name: &'a str,
}

/// The lowest strength score (of zxcvbn's 0 to 4) a new password must reach: 3 is
/// "safely unguessable" (about 10^10 guesses), the level zxcvbn's authors suggest.
pub const PASSWORD_MIN_SCORE: zxcvbn::Score = zxcvbn::Score::Three;

/// A new password. Long rather than clever, as the National Cyber Security Centre
/// and OWASP ASVS advise: 12 to 128 characters, not on the list of common passwords,
/// not the username and not one character repeated, and hard to guess by the
/// estimate of zxcvbn (a maintained port of Dropbox's estimator, which knows
/// keyboard rows, sequences, dates, common words and names), with the person's
/// name, username and the school's name as words it also tries. No rules about
/// digits or symbols, and no forced changes. A refusal says why, in plain words.
pub fn new_password(password: &str, owner: &PasswordOwner<'_>) -> Result<String, String> {
    let length = password.chars().count();
    if length < PASSWORD_MIN {
        return Err(format!(
            "Choose a password of at least {PASSWORD_MIN} characters. Three random words work well."
        ));
    }
    if length > PASSWORD_MAX {
        return Err(format!(
            "A password must be {PASSWORD_MAX} characters or fewer."
        ));
    }
    let username = owner.username;
    if password.to_lowercase().contains(&username.to_lowercase()) && !username.is_empty() {
        return Err("Your password must not contain your username.".into());
    }
    let first = password.chars().next();
    if password.chars().all(|c| Some(c) == first) {
        return Err("Choose a password that is not one character repeated.".into());
    }
    if is_common_password(password) {
        return Err(
            "That password is on a list of common passwords that attackers try first. Choose another: three random words work well."
                .into(),
        );
    }
    guessable(password, owner).map_or(Ok(password.to_owned()), Err)
}

/// Words about the person and the school, lower-case, whole and word by word.
fn owner_words(owner: &PasswordOwner<'_>) -> Vec<String> {
    let mut words = Vec::new();
    for text in [owner.username, owner.full_name, owner.school_name] {
        let text = text.trim().to_lowercase();
        if text.is_empty() {
            continue;
        }
        words.extend(
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.chars().count() >= 3)
                .map(str::to_owned),
        );
        words.push(text);
    }
    words.sort();
    words.dedup();
    words
}

/// Why a password is too easy to guess, in words for a teacher; `None` when it is
/// strong enough.
fn guessable(password: &str, owner: &PasswordOwner<'_>) -> Option<String> {
    use zxcvbn::feedback::{Suggestion, Warning};
    use zxcvbn::matching::patterns::MatchPattern;

    let words = owner_words(owner);
    let inputs: Vec<&str> = words.iter().map(String::as_str).collect();
    let estimate = zxcvbn::zxcvbn(password, &inputs);
    if estimate.score() >= PASSWORD_MIN_SCORE {
        return None;
    }
    let names_the_owner = estimate.sequence().iter().any(|m| match &m.pattern {
        MatchPattern::Dictionary(d) => words.contains(&d.matched_word),
        _ => false,
    });
    let feedback = estimate.feedback();
    let warning = feedback.and_then(|f| f.warning());
    let why = if names_the_owner {
        "it is built from your name, your username or the school's name, which anyone who knows you would try."
    } else {
        match warning {
            Some(Warning::StraightRowsOfKeysAreEasyToGuess) => {
                "keys in a row on the keyboard, like qwerty, are among the first things attackers try."
            }
            Some(Warning::ShortKeyboardPatternsAreEasyToGuess) => {
                "short patterns on the keyboard are among the first things attackers try."
            }
            Some(Warning::RepeatsLikeAaaAreEasyToGuess) => {
                "repeated letters or digits, like aaa or 111, are easy to guess."
            }
            Some(Warning::RepeatsLikeAbcAbcAreOnlySlightlyHarderToGuess) => {
                "a few characters repeated, like abcabc, are hardly harder to guess than once."
            }
            Some(
                Warning::ThisIsATop10Password
                | Warning::ThisIsATop100Password
                | Warning::ThisIsACommonPassword,
            ) => "it is one of the most common passwords.",
            Some(Warning::ThisIsSimilarToACommonlyUsedPassword) => {
                "it is very like a common password; changing a letter for a symbol or adding a number does not help much."
            }
            Some(Warning::SequencesLikeAbcAreEasyToGuess) => {
                "sequences like abcdef or 123456 are easy to guess."
            }
            Some(Warning::RecentYearsAreEasyToGuess) => "recent years are easy to guess.",
            Some(Warning::DatesAreOftenEasyToGuess) => {
                "dates, such as a birthday, are easy to guess."
            }
            Some(Warning::AWordByItselfIsEasyToGuess) => {
                "a single word on its own is easy to guess, even a long one."
            }
            Some(
                Warning::NamesAndSurnamesByThemselvesAreEasyToGuess
                | Warning::CommonNamesAndSurnamesAreEasyToGuess,
            ) => "names and surnames are easy to guess.",
            None => "it follows a pattern that password-guessing programs try early.",
        }
    };
    let suggestions = feedback.map_or(&[][..], |f| f.suggestions());
    let mut advice = String::from(
        "Add another word or two that have nothing to do with each other: three or four random words work well.",
    );
    if suggestions.contains(&Suggestion::PredictableSubstitutionsDontHelpVeryMuch) {
        advice.push_str(
            " Swapping letters for look-alike symbols, like @ for a, does not help much.",
        );
    } else if suggestions.contains(&Suggestion::CapitalizationDoesntHelpVeryMuch)
        || suggestions.contains(&Suggestion::AllUppercaseIsAlmostAsEasyToGuessAsAllLowercase)
    {
        advice.push_str(" Capital letters do not help much.");
    } else if suggestions.contains(&Suggestion::ReversedWordsArentMuchHarderToGuess) {
        advice.push_str(" Words spelt backwards are hardly harder to guess.");
    }
    Some(format!(
        "That password would be easy to guess: {why} {advice}"
    ))
}

/// An account's details as typed into the form, before checking.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PersonInput {
    pub username: String,
    pub full_name: String,
    pub email: String,
    pub position: String,
    pub kind: String,
    pub role: String,
}

/// An account's details, every one checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PersonDetails {
    pub username: Username,
    pub full_name: String,
    pub email: Option<String>,
    pub position: String,
    pub kind: PersonKind,
    pub role: Role,
}

impl PersonInput {
    pub fn parse(&self) -> Result<PersonDetails, Invalid> {
        let mut invalid = Invalid::new();
        let username = invalid.check("username", Username::parse(&self.username));
        let full_name = invalid.check(
            "full_name",
            invalid::required_text(&self.full_name, "Full name", 120),
        );
        let email = invalid.check("email", email(&self.email));
        let position = invalid.check("position", invalid::text(&self.position, "Position", 120));
        let kind = invalid.check(
            "kind",
            if self.kind.trim().is_empty() {
                Ok(PersonKind::Staff)
            } else {
                self.kind.parse()
            },
        );
        let role = invalid.check(
            "role",
            if self.role.trim().is_empty() {
                Ok(Role::Borrower)
            } else {
                self.role.parse()
            },
        );
        invalid.into_result()?;
        match (username, full_name, email, position, kind, role) {
            (
                Some(username),
                Some(full_name),
                Some(email),
                Some(position),
                Some(kind),
                Some(role),
            ) => Ok(PersonDetails {
                username,
                full_name,
                email,
                position,
                kind,
                role,
            }),
            _ => unreachable!("every field was checked above"),
        }
    }
}

/// The longest email address (RFC 5321's path limit, less its brackets).
pub const EMAIL_MAX: usize = 254;

/// An email address: optional, but when given it must look like one.
fn email(s: &str) -> Result<Option<String>, String> {
    let s = invalid::text(s, "Email address", EMAIL_MAX)?;
    if s.is_empty() {
        return Ok(None);
    }
    match s.split_once('@') {
        Some((local, domain))
            if !local.is_empty()
                && domain.contains('.')
                && !domain.starts_with('.')
                && !domain.ends_with('.')
                && !s.contains(char::is_whitespace) =>
        {
            Ok(Some(s))
        }
        _ => Err("Enter an email address in the right format, like name@school.org.uk".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_matches_whatever_its_spacing_and_case() {
        assert_eq!(name_key("  hannah   ADEYEMI "), name_key("Hannah Adeyemi"));
        assert_eq!(name_key("ZOË Smith"), name_key("Zoë  smith"));
        assert_ne!(name_key("Hanna Adeyemi"), name_key("Hannah Adeyemi"));
    }

    #[test]
    fn only_managers_and_admins_change_the_register() {
        assert!(!Role::Borrower.may(Permission::ManageRegister));
        assert!(!Role::Head.may(Permission::ManageRegister));
        assert!(Role::Manager.may(Permission::ManageRegister));
        assert!(Role::Admin.may(Permission::ManageRegister));
    }

    #[test]
    fn the_head_reads_the_log_but_a_borrower_does_not() {
        assert!(Role::Head.may(Permission::ReadLog));
        assert!(!Role::Borrower.may(Permission::ReadLog));
    }

    #[test]
    fn only_the_head_authorises_personal_data_off_site() {
        for r in Role::ALL {
            assert_eq!(r.may(Permission::AuthoriseOffsite), *r == Role::Head);
        }
    }

    #[test]
    fn only_an_admin_makes_admins() {
        assert!(Role::Admin.may(Permission::ManageAdmins));
        assert!(!Role::Manager.may(Permission::ManageAdmins));
    }

    const MANAGER: AccountKeeper = AccountKeeper {
        role: Role::Manager,
        managers_manage_managers: false,
    };
    const ADMIN: AccountKeeper = AccountKeeper {
        role: Role::Admin,
        managers_manage_managers: false,
    };

    fn details(role: Role) -> AccountChange {
        AccountChange::Details { role }
    }

    #[test]
    fn a_manager_cannot_make_or_change_an_admin() {
        let m = |a, c| may_manage_account(MANAGER, a, c);
        assert!(m(Account::New, details(Role::Borrower)).is_ok());
        assert!(m(Account::New, details(Role::Admin)).is_err());
        assert!(m(Account::Other(Role::Borrower), details(Role::Admin)).is_err());
        assert!(m(Account::Other(Role::Admin), details(Role::Admin)).is_err());
        assert!(
            may_manage_account(ADMIN, Account::Other(Role::Admin), details(Role::Borrower)).is_ok()
        );
        let head = AccountKeeper {
            role: Role::Head,
            ..ADMIN
        };
        assert!(may_manage_account(
            head,
            Account::Other(Role::Borrower),
            AccountChange::ResetPassword
        )
        .is_err());
    }

    #[test]
    fn a_manager_cannot_make_or_take_over_a_head_teacher() {
        let m = |a, c| may_manage_account(MANAGER, a, c);
        assert!(m(Account::New, details(Role::Head))
            .unwrap_err()
            .contains("head teacher"));
        assert!(m(Account::Other(Role::Borrower), details(Role::Head)).is_err());
        for change in [
            details(Role::Head),
            details(Role::Borrower),
            AccountChange::ResetPassword,
            AccountChange::ResetTwoFactor,
            AccountChange::SetActive,
        ] {
            assert!(m(Account::Other(Role::Head), change).is_err(), "{change:?}");
            assert!(
                m(Account::Other(Role::Admin), change).is_err(),
                "{change:?}"
            );
            assert!(may_manage_account(ADMIN, Account::Other(Role::Head), change).is_ok());
            assert!(m(
                Account::Other(Role::Borrower),
                match change {
                    AccountChange::Details { .. } => details(Role::Borrower),
                    c => c,
                }
            )
            .is_ok());
        }
    }

    #[test]
    fn managers_look_after_other_managers_only_when_the_school_allows_it() {
        let m = |keeper, a, c| may_manage_account(keeper, a, c);
        let allowed = AccountKeeper {
            managers_manage_managers: true,
            ..MANAGER
        };
        for (account, change) in [
            (Account::New, details(Role::Manager)),
            (Account::Other(Role::Borrower), details(Role::Manager)),
            (Account::Other(Role::Manager), AccountChange::ResetPassword),
            (Account::Other(Role::Manager), AccountChange::SetActive),
        ] {
            assert!(m(MANAGER, account, change)
                .unwrap_err()
                .contains("Settings"));
            assert!(m(allowed, account, change).is_ok());
        }
        // even then, never a head or an admin
        assert!(m(
            allowed,
            Account::Other(Role::Head),
            AccountChange::ResetTwoFactor
        )
        .is_err());
        assert_eq!(MANAGER.roles_to_give(), vec![Role::Borrower]);
        assert_eq!(allowed.roles_to_give(), vec![Role::Borrower, Role::Manager]);
        assert_eq!(
            ADMIN.roles_to_give(),
            vec![Role::Borrower, Role::Manager, Role::Head, Role::Admin]
        );
    }

    #[test]
    fn an_account_used_at_two_schools_is_changed_only_by_who_may_at_both() {
        let reset = AccountChange::ResetPassword;
        let borrower_here = Account::Other(Role::Borrower);
        // the head teacher of another school who borrows here
        assert!(
            may_manage_account_across(MANAGER, borrower_here, reset, &[(Role::Head, None)])
                .unwrap_err()
                .contains("another school")
        );
        assert!(may_manage_account_across(
            MANAGER,
            borrower_here,
            reset,
            &[(Role::Head, Some(MANAGER))]
        )
        .unwrap_err()
        .contains("head teacher"));
        assert!(may_manage_account_across(
            ADMIN,
            borrower_here,
            reset,
            &[(Role::Head, Some(ADMIN))]
        )
        .is_ok());
        // a borrower at both, looked after by a manager of both
        assert!(may_manage_account_across(
            MANAGER,
            borrower_here,
            details(Role::Borrower),
            &[(Role::Borrower, Some(MANAGER))]
        )
        .is_ok());
    }

    #[test]
    fn only_the_trust_it_administrator_gives_or_changes_a_trust_role() {
        let trust_admin = AccountKeeper {
            role: Role::TrustAdmin,
            ..ADMIN
        };
        assert_eq!(trust_admin.roles_to_give(), Role::ALL.to_vec());
        for role in [Role::TrustManager, Role::TrustAdmin] {
            assert!(may_manage_account(ADMIN, Account::New, details(role))
                .unwrap_err()
                .contains("trust's IT administrator"));
            assert!(
                may_manage_account(ADMIN, Account::Other(role), AccountChange::ResetPassword)
                    .is_err()
            );
            assert!(may_manage_account(trust_admin, Account::New, details(role)).is_ok());
        }
        // a trust role does in each school what the school's own role does there
        for p in [Permission::ManageSettings, Permission::ManageAdmins] {
            assert!(Role::TrustAdmin.may(p));
            assert!(!Role::TrustManager.may(p));
        }
        assert!(Role::TrustManager.may(Permission::ManageRegister));
        assert!(!Role::TrustManager.may(Permission::AuthoriseOffsite));
        // seeing every school at once is the trust's own staff's alone
        for role in Role::ALL {
            assert_eq!(role.may(Permission::ViewTrust), role.is_trust(), "{role:?}");
        }
    }

    #[test]
    fn nobody_changes_their_own_role_or_deactivates_themselves() {
        for keeper in [MANAGER, ADMIN] {
            let own = Account::Own(keeper.role);
            assert!(may_manage_account(keeper, own, details(keeper.role)).is_ok());
            assert!(may_manage_account(keeper, own, details(Role::Borrower))
                .unwrap_err()
                .contains("your own role"));
            assert!(may_manage_account(keeper, own, AccountChange::SetActive).is_err());
        }
        // a manager's own password is changed on their account page, not reset
        assert!(may_manage_account(
            MANAGER,
            Account::Own(Role::Manager),
            AccountChange::ResetPassword
        )
        .is_err());
    }

    #[test]
    fn usernames_are_kept_lower_case() {
        assert_eq!(Username::parse(" J.Smith ").unwrap().as_str(), "j.smith");
        assert!(Username::parse("1abc").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse("x").is_err());
    }

    fn jo() -> PasswordOwner<'static> {
        PasswordOwner {
            username: "jo",
            full_name: "Jo Test",
            school_name: "Our school",
        }
    }

    /// A varied, strong password of `n` characters.
    fn long(n: usize) -> String {
        "plum kettle orbit lantern velvet quarry zebra copper meadow violin tundra "
            .chars()
            .cycle()
            .take(n)
            .collect()
    }

    #[test]
    fn a_short_password_is_refused_with_advice() {
        assert!(new_password("short", &jo())
            .unwrap_err()
            .contains("12 characters"));
        assert!(new_password("twelve chars", &jo()).is_ok());
        assert!(new_password("eleven char", &jo()).is_err());
        assert!(new_password(&long(128), &jo()).is_ok());
        assert!(new_password(&long(129), &jo())
            .unwrap_err()
            .contains("128 characters"));
        assert!(new_password("aaaaaaaaaaaa", &jo()).is_err());
        assert!(new_password(
            "jsmith-password",
            &PasswordOwner {
                username: "jsmith",
                ..jo()
            }
        )
        .is_err());
        assert!(new_password(
            "correct horse battery",
            &PasswordOwner {
                username: "jsmith",
                ..jo()
            }
        )
        .is_ok());
    }

    /// A teacher could choose a run of digits or a keyboard row that attackers guess
    /// in seconds, and not be told why it is weak.
    #[test]
    fn a_run_of_digits_or_a_keyboard_row_is_refused_and_the_reason_given() {
        let digits = new_password("123456789012", &jo()).unwrap_err();
        assert!(digits.contains("sequence"), "{digits}");
        assert!(digits.contains("easy to guess"), "{digits}");
        let row = new_password("qwertyuiopas", &jo()).unwrap_err();
        assert!(row.contains("very like a common password"), "{row}");
        assert!(row.contains("random words"), "{row} gives advice");
    }

    /// A strong passphrase would be refused, and people pushed to write one down.
    #[test]
    fn a_passphrase_of_unconnected_words_is_accepted() {
        assert!(new_password("violin tundra copper meadow", &jo()).is_ok());
        assert!(new_password("correct horse battery", &jo()).is_ok());
    }

    /// A password made of the school's name and a year would be accepted, though
    /// anyone who knows the school would try it first.
    #[test]
    fn a_password_built_from_the_schools_or_persons_name_is_refused() {
        let owner = PasswordOwner {
            username: "jsmith",
            full_name: "Joanna Smithson",
            school_name: "Hillcrest Primary",
        };
        let school = new_password("Hillcrest2024", &owner).unwrap_err();
        assert!(school.contains("the school's name"), "{school}");
        assert!(new_password("smithson1234", &owner)
            .unwrap_err()
            .contains("your name"));
    }

    #[test]
    fn a_common_password_is_refused_whatever_its_case() {
        assert!(is_common_password("password"));
        assert!(is_common_password("Q1W2E3R4T5Y6"));
        assert!(new_password("qwerty123456", &jo())
            .unwrap_err()
            .contains("common passwords"));
        assert!(new_password("1qaz2wsx3edc", &jo()).is_err());
        assert!(!is_common_password("correct horse battery"));
        // The header is not part of the list.
        assert!(!is_common_password(
            "# Common passwords that Kitroom refuses as new passwords (19,640 of them, one a line,"
        ));
        assert!(common_passwords().len() > 19_000);
    }

    #[test]
    fn a_person_needs_a_name_and_a_valid_email() {
        let input = PersonInput {
            username: "jo".into(),
            email: "not-an-email".into(),
            ..Default::default()
        };
        let err = input.parse().unwrap_err();
        assert!(err.for_field("full_name").is_some());
        assert!(err.for_field("email").unwrap().contains("right format"));
        let ok = PersonInput {
            username: "jo".into(),
            full_name: "Jo Bloggs".into(),
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(
            (ok.kind, ok.role, ok.email),
            (PersonKind::Staff, Role::Borrower, None)
        );
    }
}
