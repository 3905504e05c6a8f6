//! Accounts: the people who borrow, lend and manage devices.

use chrono::{DateTime, Utc};
use kitroom_core::person::{PersonDetails, PersonKind, Role, Username};
use kitroom_core::school::SchoolId;
use kitroom_core::Invalid;
use serde_json::json;
use sqlx::SqliteConnection;
use uuid::Uuid;

use crate::db::{parse_time, parse_uuid, parse_word, time_text, Actor, Store, StoreError};
use crate::events::{append, Subject};
use crate::schools::School;

/// A person with an account, as seen in one school: `role` is what they may do
/// there, and what they do through Kitroom (register, lend, report) is that
/// school's.
#[derive(Clone, PartialEq, Eq)]
pub struct Person {
    pub id: Uuid,
    /// The school this person is seen in. Every account is the first school's
    /// until roles are held school by school (issue 19's memberships).
    pub school: SchoolId,
    pub username: String,
    pub full_name: String,
    pub email: Option<String>,
    pub position: String,
    pub kind: PersonKind,
    pub role: Role,
    pub active: bool,
    /// The argon2id hash; `None` until a password is set.
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Person {
    // The hash is left out so that it never reaches a log line.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Person")
            .field("id", &self.id)
            .field("school", &self.school)
            .field("username", &self.username)
            .field("role", &self.role)
            .finish_non_exhaustive()
    }
}

impl Person {
    pub fn actor(&self) -> Actor {
        Actor {
            school: Some(self.school),
            ..Actor::person(self.id, &self.username)
        }
    }

    pub fn subject(&self) -> Subject {
        Subject::person(self.id, &self.username)
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct PersonRow {
    id: String,
    username: String,
    full_name: String,
    email: Option<String>,
    position: String,
    kind: String,
    role: String,
    active: bool,
    password_hash: Option<String>,
    created_at: String,
    school_id: i64,
}

impl TryFrom<PersonRow> for Person {
    type Error = StoreError;
    fn try_from(r: PersonRow) -> Result<Self, Self::Error> {
        Ok(Person {
            id: parse_uuid(&r.id)?,
            school: SchoolId(r.school_id),
            username: r.username,
            full_name: r.full_name,
            email: r.email,
            position: r.position,
            kind: parse_word(&r.kind)?,
            role: parse_word(&r.role)?,
            active: r.active,
            password_hash: r.password_hash,
            created_at: parse_time(&r.created_at)?,
        })
    }
}

/// The columns of a [`PersonRow`], read from the person under the alias `a` joined
/// ([`person_join`]) with their membership of the school `school` (an SQL expression:
/// a number, a column or a parameter). `role` is their role there: a trust role
/// wherever one is held.
pub(crate) fn columns_of(a: &str, school: &str) -> String {
    format!(
        "{a}.id, {a}.username, {a}.full_name, {a}.email, {a}.position, {a}.kind,
         coalesce({a}.trust_role, {a}_m.role) as role, {a}.active, {a}.password_hash,
         {a}.created_at, {school} as school_id"
    )
}

/// The person table under the alias `a`, with each person's membership of the
/// school `school` as `{a}_m` (none where they hold no role there).
pub(crate) fn person_join(a: &str, school: &str) -> String {
    format!(
        "person {a} left join membership {a}_m on {a}_m.person_id = {a}.id and {a}_m.school_id = {school}"
    )
}

/// Whether the person under the alias `a` holds a role in the school joined by
/// [`person_join`].
pub(crate) fn holds_role(a: &str) -> String {
    format!("({a}.trust_role is not null or {a}_m.role is not null)")
}

/// The people of one school, as a table for a `from` clause: every account holding a
/// role there (the trust's staff in every school), with that role. The school is
/// written into the statement as a number: it is always one of the deployment's own
/// ids, never text from a request.
pub(crate) fn people_in(school: SchoolId) -> String {
    let s = school.0.to_string();
    format!(
        "(select {} from {} where {})",
        columns_of("p", &s),
        person_join("p", &s),
        holds_role("p")
    )
}

/// Every account, each as seen in its first school (the lowest id it holds a role
/// in; the first school for the trust's staff): who signs in, before a school is
/// chosen, and accounts looked after at the command line.
pub(crate) const ACCOUNTS: &str =
    "(select p.id, p.username, p.full_name, p.email, p.position, p.kind,
        coalesce(p.trust_role, p_m.role) as role, p.active, p.password_hash, p.created_at,
        coalesce(p_m.school_id, (select min(id) from school)) as school_id
     from person p left join membership p_m on p_m.person_id = p.id
       and p_m.school_id = (select min(x.school_id) from membership x where x.person_id = p.id)
     where p.trust_role is not null or p_m.role is not null)";

/// Active accounts of the school `?2`, counted up to `?1`: whether the device page
/// may suggest every name in its "lend to" field. Read from the school's
/// memberships, stopping at the bound (an index on `active` would tempt SQLite to
/// start other queries from it); the trust's staff are not counted.
pub const ACTIVE_PEOPLE_UP_TO: &str = "select count(*) from (select 1 from membership m
     join person p on p.id = m.person_id
     where m.school_id = ?2 and p.active = 1 limit ?1)";

pub(crate) const COLUMNS: &str =
    "id, username, full_name, email, position, kind, role, active, password_hash, created_at, school_id";

fn taken(username: &Username) -> StoreError {
    Invalid::one(
        "username",
        format!("The username “{username}” is already taken. Choose another."),
    )
    .into()
}

/// Gives `person` the role `role` in `school`: a school role is their membership of
/// that school (made, or changed); a trust role is held in every school, and taking a
/// school role instead ends it.
pub(crate) async fn hold_role_in(
    conn: &mut SqliteConnection,
    person: Uuid,
    school: SchoolId,
    role: Role,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let trust_role = role.is_trust().then(|| role.as_str());
    sqlx::query("update person set trust_role = ? where id = ?")
        .bind(trust_role)
        .bind(person.to_string())
        .execute(&mut *conn)
        .await?;
    if !role.is_trust() {
        sqlx::query(
            "insert into membership (person_id, school_id, role, created_at) values (?, ?, ?, ?)
             on conflict (person_id, school_id) do update set role = excluded.role",
        )
        .bind(person.to_string())
        .bind(school.0)
        .bind(role.as_str())
        .bind(time_text(now))
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Writes a new account holding `d.role` in `school`, and its `person.created` event,
/// inside the caller's transaction.
pub async fn insert_person_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    d: &PersonDetails,
    password_hash: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Person, StoreError> {
    let id = Uuid::new_v4();
    let at = time_text(now);
    let result = sqlx::query(
        "insert into person (id, username, full_name, email, position, kind, active, password_hash, created_at, updated_at)
         values (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(d.username.as_str())
    .bind(&d.full_name)
    .bind(&d.email)
    .bind(&d.position)
    .bind(d.kind.as_str())
    .bind(password_hash)
    .bind(&at)
    .bind(&at)
    .execute(&mut *conn)
    .await;
    match result {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(taken(&d.username)),
        other => other?,
    };
    hold_role_in(conn, id, school, d.role, now).await?;
    let person = Person {
        id,
        school,
        username: d.username.to_string(),
        full_name: d.full_name.clone(),
        email: d.email.clone(),
        position: d.position.clone(),
        kind: d.kind,
        role: d.role,
        active: true,
        password_hash: password_hash.map(str::to_owned),
        created_at: now,
    };
    append(
        conn,
        actor,
        "person.created",
        &person.subject(),
        json!({"full_name": d.full_name, "email": d.email, "position": d.position, "kind": d.kind, "role": d.role}),
        now,
    )
    .await?;
    if person.role != Role::Borrower {
        tell_about_account(conn, actor, &person, AccountNews::Created, now).await?;
    }
    Ok(person)
}

/// A change to someone's account that nobody may make silently.
#[derive(Debug, Clone, Copy)]
pub enum AccountNews {
    /// An account made with a role above borrower: told to the head and admins only
    /// (the new person has nothing to check yet).
    Created,
    RoleChanged {
        from: Role,
        to: Role,
    },
    PasswordReset,
    TwoFactorReset,
}

/// Tells the person concerned, and every active head teacher and IT administrator
/// but the one who made the change, at once: in the app, and by email through the
/// outbox where they have an address; inside the caller's transaction, so the change
/// and the word of it commit together. A manager who reset the head's password, or
/// gave someone a role, is seen doing it by the people the school's policy trusts.
pub async fn tell_about_account(
    conn: &mut SqliteConnection,
    actor: &Actor,
    person: &Person,
    news: AccountNews,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let who = if actor.id.is_none() {
        "Someone at the server's command line".to_owned()
    } else {
        actor.username.clone()
    };
    let name = format!("{} ({})", person.full_name, person.username);
    let (to_them, to_staff, subject) = match news {
        AccountNews::Created => (
            format!(
                "{who} made you a Kitroom account with the role {}.",
                person.role.label()
            ),
            format!(
                "{who} made an account for {name} with the role {}.",
                person.role.label()
            ),
            format!(
                "Kitroom: new {} account",
                person.role.label().to_lowercase()
            ),
        ),
        AccountNews::RoleChanged { from, to } => (
            format!(
                "{who} changed your role in Kitroom from {} to {}.",
                from.label(),
                to.label()
            ),
            format!(
                "{who} changed {name}'s role from {} to {}.",
                from.label(),
                to.label()
            ),
            "Kitroom: a role was changed".to_owned(),
        ),
        AccountNews::PasswordReset => (
            format!("{who} reset your Kitroom password, and your sessions ended."),
            format!("{who} reset {name}'s password."),
            "Kitroom: a password was reset".to_owned(),
        ),
        AccountNews::TwoFactorReset => (
            format!("{who} reset your two-step sign-in for Kitroom, and your sessions ended."),
            format!("{who} reset {name}'s two-step sign-in."),
            "Kitroom: two-step sign-in was reset".to_owned(),
        ),
    };
    let to_them = format!("{to_them} If you did not expect this, tell the head teacher or the IT administrator at once.");
    let to_staff = format!(
        "{to_staff} If this was not expected, check the activity log and the account at once."
    );
    // The heads and IT administrators of the school the account was looked after
    // in, and the trust's IT administrators.
    let staff: Vec<(String, String, Option<String>)> = sqlx::query_as(
        "select p.id, coalesce(p.trust_role, m.role), p.email from person p
         left join membership m on m.person_id = p.id and m.school_id = ?
         where p.active = 1 and (p.trust_role = 'trust_admin' or m.role in ('head', 'admin'))
           and p.id <> ?",
    )
    .bind(person.school.0)
    .bind(person.id.to_string())
    .fetch_all(&mut *conn)
    .await?;
    let actor_id = actor.id.map(|a| a.to_string());
    let mut told = Vec::new();
    if !matches!(news, AccountNews::Created) {
        told.push((
            person.id.to_string(),
            "/account".to_owned(),
            person.email.clone(),
            to_them,
        ));
    }
    for (id, role, email) in staff {
        if Some(&id) == actor_id.as_ref() {
            continue;
        }
        // The head reads the activity log; only an admin opens the account itself.
        let link = if role == "admin" || role == "trust_admin" {
            format!("/people/{}", person.username)
        } else {
            format!("/log?person={}", person.username)
        };
        told.push((id, link, email, to_staff.clone()));
    }
    for (id, link, email, body) in told {
        crate::notifications::notify_in(conn, parse_uuid(&id)?, &body, &link, now).await?;
        if let Some(address) = email.filter(|a| !a.trim().is_empty()) {
            let text = format!(
                "{body}\n\nThis message was sent by Kitroom, the school's device register."
            );
            let email = crate::outbox::Queued {
                to: &address,
                subject: &subject,
                body: &text,
                kind: kitroom_core::mail::MailKind::Account,
                thread: None,
                moment: None,
            };
            crate::outbox::queue_email(conn, email, now).await?;
        }
    }
    Ok(())
}

async fn end_sessions(conn: &mut SqliteConnection, person: Uuid) -> Result<u64, StoreError> {
    Ok(sqlx::query("delete from session where person_id = ?")
        .bind(person.to_string())
        .execute(&mut *conn)
        .await?
        .rows_affected())
}

/// Which person [`find_in`] reads: by username (case ignored) or by id.
enum Key<'a> {
    Username(&'a str),
    Id(Uuid),
}

/// The one person of `table` (a `from` clause: [`people_in`] a school's people,
/// or [`ACCOUNTS`]) with this username or id: every lookup of one person below.
async fn find_in(
    conn: &mut SqliteConnection,
    table: &str,
    key: Key<'_>,
) -> Result<Option<Person>, StoreError> {
    let (column, value) = match key {
        Key::Username(u) => ("username = ? collate nocase", u.trim().to_owned()),
        Key::Id(id) => ("id = ?", id.to_string()),
    };
    sqlx::query_as::<_, PersonRow>(&format!("select {COLUMNS} from {table} where {column}"))
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?
        .map(Person::try_from)
        .transpose()
}

/// The person `id` as seen in `school`; not found unless they hold a role there.
pub async fn get_person(
    conn: &mut SqliteConnection,
    school: SchoolId,
    id: Uuid,
) -> Result<Person, StoreError> {
    find_in(conn, &people_in(school), Key::Id(id))
        .await?
        .ok_or(StoreError::NotFound)
}

/// The account `id` as seen in its first school ([`ACCOUNTS`]).
pub async fn get_account(conn: &mut SqliteConnection, id: Uuid) -> Result<Person, StoreError> {
    find_in(conn, ACCOUNTS, Key::Id(id))
        .await?
        .ok_or(StoreError::NotFound)
}

/// Which people to list.
#[derive(Debug, Clone, Default)]
pub struct PeopleFilter {
    /// Matches username, full name or email.
    pub q: Option<String>,
    pub include_inactive: bool,
    /// At most this many; 0 for the default of 2,000.
    pub limit: i64,
}

impl Store {
    /// The active people of `school`: its members and the trust's staff.
    pub async fn count_people_in(&self, school: SchoolId) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(&format!(
            "select count(*) from {} p where p.active",
            people_in(school)
        ))
        .fetch_one(self.reader())
        .await?)
    }

    pub async fn count_people(&self) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar("select count(*) from person")
            .fetch_one(self.reader())
            .await?)
    }

    /// Creates an account.
    pub async fn create_person(
        &self,
        actor: Actor,
        school: SchoolId,
        details: PersonDetails,
        password_hash: Option<String>,
    ) -> Result<Person, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                insert_person_in(
                    conn,
                    &actor,
                    school,
                    &details,
                    password_hash.as_deref(),
                    Utc::now(),
                )
                .await
            })
        })
        .await
    }

    /// Gives an existing account the role `role` in `school` too (a teacher at two
    /// schools): recorded as `person.role_given`, and told like any role given.
    pub async fn give_role(
        &self,
        actor: Actor,
        school: SchoolId,
        id: Uuid,
        role: Role,
    ) -> Result<Person, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let now = Utc::now();
                let before = get_person(conn, school, id).await.ok();
                hold_role_in(conn, id, school, role, now).await?;
                let after = get_person(conn, school, id).await?;
                if before.as_ref().map(|b| b.role) != Some(role) {
                    append(
                        conn,
                        &actor,
                        "person.role_given",
                        &after.subject(),
                        json!({"school": school, "role": role}),
                        now,
                    )
                    .await?;
                    let news = match before {
                        Some(b) => AccountNews::RoleChanged {
                            from: b.role,
                            to: role,
                        },
                        None => AccountNews::Created,
                    };
                    if role != Role::Borrower {
                        tell_about_account(conn, &actor, &after, news, now).await?;
                    }
                }
                Ok(after)
            })
        })
        .await
    }

    /// Creates the first account, an admin, only while there is no account at all:
    /// the setup link cannot be used twice, even by two browsers at once.
    pub async fn create_first_admin(
        &self,
        details: PersonDetails,
        password_hash: String,
    ) -> Result<Person, StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                let count: i64 = sqlx::query_scalar("select count(*) from person")
                    .fetch_one(&mut *conn)
                    .await?;
                if count > 0 {
                    return Err(Invalid::one(
                        "username",
                        "Kitroom already has an account. Sign in instead.",
                    )
                    .into());
                }
                let details = PersonDetails {
                    role: Role::Admin,
                    ..details
                };
                insert_person_in(
                    conn,
                    &Actor::system(),
                    SchoolId::FIRST,
                    &details,
                    Some(&password_hash),
                    Utc::now(),
                )
                .await
            })
        })
        .await
    }

    /// The account with this username (case ignored), as seen in its first school:
    /// who signs in, or is looked after at the command line.
    pub async fn account_by_username(&self, username: &str) -> Result<Option<Person>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        account_by_username_in(&mut conn, username).await
    }

    /// The account `id`, as seen in its first school.
    pub async fn account_by_id(&self, id: Uuid) -> Result<Option<Person>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        find_in(&mut conn, ACCOUNTS, Key::Id(id)).await
    }

    /// The schools `id` may act in, first school first: every school for the trust's
    /// staff, otherwise those they hold a role in.
    pub async fn schools_of(&self, id: Uuid) -> Result<Vec<School>, StoreError> {
        let rows: Vec<(i64, String, String)> = sqlx::query_as(
            "select s.id, s.slug, s.name from school s where exists (
                 select 1 from person p where p.id = ?1 and p.trust_role is not null)
               or exists (select 1 from membership m where m.person_id = ?1 and m.school_id = s.id)
             order by s.id",
        )
        .bind(id.to_string())
        .fetch_all(self.reader())
        .await?;
        Ok(rows.into_iter().map(School::from).collect())
    }

    /// The person with this username (case ignored) among the people of `school`.
    pub async fn person_by_username(
        &self,
        school: SchoolId,
        username: &str,
    ) -> Result<Option<Person>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        person_by_username_in(&mut conn, school, username).await
    }

    /// The person `id` among the people of `school`.
    pub async fn person_by_id(
        &self,
        school: SchoolId,
        id: Uuid,
    ) -> Result<Option<Person>, StoreError> {
        let mut conn = self.reader().acquire().await?;
        find_in(&mut conn, &people_in(school), Key::Id(id)).await
    }

    /// The active people whose full name is `name`, spacing and case aside
    /// ([`kitroom_core::person::name_key`]): "Lend to" by name. Usually one; two
    /// people may share a name, and then the caller asks which.
    pub async fn people_called(
        &self,
        school: SchoolId,
        name: &str,
    ) -> Result<Vec<Person>, StoreError> {
        let key = kitroom_core::person::name_key(name);
        if key.is_empty() {
            return Ok(Vec::new());
        }
        // SQLite's `like` ignores case for ASCII letters only, so each other
        // character matches any one character and Rust compares the few candidates:
        // "ZOË" still finds "Zoë". Runs of spaces in a stored name match `%`.
        let mut pattern = String::new();
        for (i, word) in key.split(' ').enumerate() {
            if i > 0 {
                pattern.push_str(" %");
            }
            for c in word.chars() {
                match c {
                    '%' | '_' | '\\' => {
                        pattern.push('\\');
                        pattern.push(c);
                    }
                    c if c.is_ascii() => pattern.push(c),
                    _ => pattern.push('_'),
                }
            }
        }
        let rows = sqlx::query_as::<_, PersonRow>(&format!(
            "select {COLUMNS} from {} where active = 1
             and trim(full_name) like ? escape '\\' order by username limit 200",
            people_in(school)
        ))
        .bind(pattern)
        .fetch_all(self.reader())
        .await?;
        let mut found = Vec::new();
        for row in rows {
            let p = Person::try_from(row)?;
            if kitroom_core::person::name_key(&p.full_name) == key {
                found.push(p);
            }
        }
        Ok(found)
    }

    /// How many active accounts there are, counting no further than `limit`: enough
    /// to know whether a list of them would be short, without reading them all.
    pub async fn active_people_up_to(
        &self,
        school: SchoolId,
        limit: i64,
    ) -> Result<i64, StoreError> {
        Ok(sqlx::query_scalar(ACTIVE_PEOPLE_UP_TO)
            .bind(limit)
            .bind(school.0)
            .fetch_one(self.reader())
            .await?)
    }

    /// The people of `school` the filter asks for, by name.
    pub async fn list_people(
        &self,
        school: SchoolId,
        f: &PeopleFilter,
    ) -> Result<Vec<Person>, StoreError> {
        let mut qb = sqlx::QueryBuilder::new(format!(
            "select {COLUMNS} from {} where 1 = 1",
            people_in(school)
        ));
        if !f.include_inactive {
            qb.push(" and active = 1");
        }
        if let Some(q) = f.q.as_deref().map(str::trim).filter(|q| !q.is_empty()) {
            let p = crate::db::like_pattern(q);
            qb.push(" and (username like ")
                .push_bind(p.clone())
                .push(" escape '\\'");
            qb.push(" or full_name like ")
                .push_bind(p.clone())
                .push(" escape '\\'");
            qb.push(" or email like ")
                .push_bind(p)
                .push(" escape '\\')");
        }
        qb.push(" order by full_name collate nocase, username limit ")
            .push_bind(if f.limit > 0 { f.limit.min(2000) } else { 2000 });
        qb.build_query_as::<PersonRow>()
            .fetch_all(self.reader())
            .await?
            .into_iter()
            .map(Person::try_from)
            .collect()
    }

    /// Activates or deactivates an account: see [`set_active_in`].
    pub async fn set_active(
        &self,
        actor: Actor,
        id: Uuid,
        active: bool,
    ) -> Result<Person, StoreError> {
        self.write(move |conn| {
            Box::pin(async move { set_active_in(conn, &actor, id, active, Utc::now()).await })
        })
        .await
    }

    /// Sets a new password hash: see [`set_password_in`].
    pub async fn set_password(
        &self,
        actor: Actor,
        id: Uuid,
        password_hash: String,
        keep_session: Option<String>,
    ) -> Result<(), StoreError> {
        self.write(move |conn| {
            Box::pin(async move {
                set_password_in(conn, &actor, id, &password_hash, keep_session, Utc::now()).await
            })
        })
        .await
    }

    /// Records a sign-in or sign-out in the activity log; a sign-in also forgets
    /// the account's failures from that address and keeps it as a known place.
    pub async fn record_sign_in(
        &self,
        person: &Person,
        signed_in: bool,
        address: String,
    ) -> Result<(), StoreError> {
        let actor = person.actor();
        let subject = person.subject();
        let username = person.username.clone();
        self.write(move |conn| {
            Box::pin(async move {
                let action = if signed_in {
                    crate::throttle::signed_in_from(conn, &username, &address, Utc::now()).await?;
                    "person.signed_in"
                } else {
                    "person.signed_out"
                };
                append(
                    conn,
                    &actor,
                    action,
                    &subject,
                    json!({"address": address}),
                    Utc::now(),
                )
                .await?;
                Ok(())
            })
        })
        .await
    }
}

/// The person with this username (case ignored) among the people of `school`,
/// inside the caller's transaction.
pub async fn person_by_username_in(
    conn: &mut SqliteConnection,
    school: SchoolId,
    username: &str,
) -> Result<Option<Person>, StoreError> {
    find_in(conn, &people_in(school), Key::Username(username)).await
}

/// The roles `person` holds in schools other than `school`, each with the role
/// `keeper` holds in that school (`None` where they hold none): what the account
/// rule asks of a change to an account used at several schools.
pub async fn roles_elsewhere_in(
    conn: &mut SqliteConnection,
    keeper: Uuid,
    person: Uuid,
    school: SchoolId,
) -> Result<Vec<(Role, Option<Role>)>, StoreError> {
    let rows: Vec<(String, Option<String>)> = sqlx::query_as(
        "select m.role, coalesce(k.trust_role, km.role) from membership m
         join person k on k.id = ?1
         left join membership km on km.person_id = k.id and km.school_id = m.school_id
         where m.person_id = ?2 and m.school_id <> ?3",
    )
    .bind(keeper.to_string())
    .bind(person.to_string())
    .bind(school.0)
    .fetch_all(&mut *conn)
    .await?;
    rows.into_iter()
        .map(|(role, theirs)| {
            Ok((
                parse_word(&role)?,
                theirs.map(|r| parse_word(&r)).transpose()?,
            ))
        })
        .collect()
}

/// The account with this username (case ignored), as seen in its first school,
/// inside the caller's transaction.
pub async fn account_by_username_in(
    conn: &mut SqliteConnection,
    username: &str,
) -> Result<Option<Person>, StoreError> {
    find_in(conn, ACCOUNTS, Key::Username(username)).await
}

/// Writes an account's new details, the `person.updated` event naming what changed,
/// and, when the role changed, the word of it to the person, the head and admins.
pub async fn update_person_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    school: SchoolId,
    id: Uuid,
    d: &PersonDetails,
    now: DateTime<Utc>,
) -> Result<Person, StoreError> {
    let before = get_person(conn, school, id).await?;
    let result = sqlx::query(
        "update person set username = ?, full_name = ?, email = ?, position = ?, kind = ?, updated_at = ?
         where id = ?",
    )
    .bind(d.username.as_str())
    .bind(&d.full_name)
    .bind(&d.email)
    .bind(&d.position)
    .bind(d.kind.as_str())
    .bind(time_text(now))
    .bind(id.to_string())
    .execute(&mut *conn)
    .await;
    match result {
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => return Err(taken(&d.username)),
        other => other?,
    };
    if d.role != before.role {
        hold_role_in(conn, id, school, d.role, now).await?;
    }
    let after = get_person(conn, school, id).await?;
    let mut changes = serde_json::Map::new();
    let mut note = |field: &str, old: serde_json::Value, new: serde_json::Value| {
        if old != new {
            changes.insert(field.into(), json!({"from": old, "to": new}));
        }
    };
    note("username", json!(before.username), json!(after.username));
    note("full_name", json!(before.full_name), json!(after.full_name));
    note("email", json!(before.email), json!(after.email));
    note("position", json!(before.position), json!(after.position));
    note("kind", json!(before.kind), json!(after.kind));
    note("role", json!(before.role), json!(after.role));
    if !changes.is_empty() {
        append(
            conn,
            actor,
            "person.updated",
            &after.subject(),
            changes.into(),
            now,
        )
        .await?;
    }
    if before.role != after.role {
        let news = AccountNews::RoleChanged {
            from: before.role,
            to: after.role,
        };
        tell_about_account(conn, actor, &after, news, now).await?;
    }
    Ok(after)
}

/// Activates or deactivates an account (nothing when it already is so). Deactivating
/// ends every session of that person and revokes their tokens in the same
/// transaction, so they are signed out at once. An account whose details were
/// anonymised after its owner left cannot come back (the row no longer says who).
pub async fn set_active_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    id: Uuid,
    active: bool,
    now: DateTime<Utc>,
) -> Result<Person, StoreError> {
    let before = get_account(conn, id).await?;
    if before.active == active {
        return Ok(before);
    }
    if active {
        let anonymised: Option<String> =
            sqlx::query_scalar("select anonymised_at from person where id = ?")
                .bind(id.to_string())
                .fetch_one(&mut *conn)
                .await?;
        if anonymised.is_some() {
            return Err(Invalid::one(
                "active",
                "This person's details were anonymised after they left, so the account cannot come back. If they have returned, add them as a new person.",
            )
            .into());
        }
    }
    // left_at starts the retention period for people who have left.
    sqlx::query("update person set active = ?, updated_at = ?, left_at = ? where id = ?")
        .bind(active)
        .bind(time_text(now))
        .bind((!active).then(|| time_text(now)))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    // A deactivated account's sessions end and its tokens are revoked, so coming
    // back later does not bring an old token back to life.
    let (ended, tokens) = if active {
        (0, 0)
    } else {
        (
            end_sessions(conn, id).await?,
            crate::revocation::revoke_all(conn, id, now).await?,
        )
    };
    let action = if active {
        "person.reactivated"
    } else {
        "person.deactivated"
    };
    append(
        conn,
        actor,
        action,
        &before.subject(),
        json!({"sessions_ended": ended, "tokens_revoked": tokens}),
        now,
    )
    .await?;
    get_account(conn, id).await
}

/// Sets a new password hash. When someone else resets it, every session of the
/// person ends; when they change their own, the caller keeps theirs (it is given a
/// fresh id by the web layer) and their other sessions end. Either way every API
/// token of theirs is revoked: a token is as good as the password it came from. Any
/// invitation or reset link of theirs still unused stops working.
pub async fn set_password_in(
    conn: &mut SqliteConnection,
    actor: &Actor,
    id: Uuid,
    password_hash: &str,
    keep_session: Option<String>,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    let person = get_account(conn, id).await?;
    sqlx::query("update person set password_hash = ?, updated_at = ? where id = ?")
        .bind(password_hash)
        .bind(time_text(now))
        .bind(id.to_string())
        .execute(&mut *conn)
        .await?;
    let ended = sqlx::query("delete from session where person_id = ? and id_hash <> ?")
        .bind(id.to_string())
        .bind(keep_session.unwrap_or_default())
        .execute(&mut *conn)
        .await?
        .rows_affected();
    let tokens = crate::revocation::revoke_all(conn, id, now).await?;
    // An invitation or reset link still out would otherwise set it again.
    void_links_in(conn, id, now).await?;
    let own = actor.id == Some(id);
    let action = if own {
        "person.password_changed"
    } else {
        "person.password_reset"
    };
    append(
        conn,
        actor,
        action,
        &person.subject(),
        json!({"sessions_ended": ended, "tokens_revoked": tokens}),
        now,
    )
    .await?;
    if !own {
        tell_about_account(conn, actor, &person, AccountNews::PasswordReset, now).await?;
    }
    Ok(())
}

/// Voids every unused link of the person (their password was just set another way,
/// or their account closed).
pub async fn void_links_in(
    conn: &mut SqliteConnection,
    person: Uuid,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "update one_time_link set used_at = ?, voided = 1 where person_id = ? and used_at is null",
    )
    .bind(time_text(now))
    .bind(person.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(())
}
