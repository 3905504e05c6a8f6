//! The command line. Every command that touches data takes `--data-dir`.

use std::io::{BufRead, IsTerminal, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use kitroom_core::person::{new_password, PasswordOwner, PersonInput};
use kitroom_core::school::SchoolSlug;
use kitroom_core::witness::Witness;
use kitroom_store::{Actor, Store};
use kitroom_web::Config;

/// Kitroom: the school's device register and loans.
#[derive(Debug, Parser)]
#[command(name = "kitroom", version, about)]
pub struct Cli {
    /// Where Kitroom keeps its database.
    #[arg(
        long,
        env = "KITROOM_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    #[command(subcommand)]
    pub command: Option<Command>,
    /// With no command, Kitroom serves, with these settings.
    #[command(flatten)]
    pub serve: ServeArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the web app (the default).
    Serve(ServeArgs),
    /// Manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// The schools of a trust's Kitroom.
    #[command(subcommand)]
    School(SchoolCommand),
    /// Manage personal API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the database's integrity and the activity log's hash chain.
    Check,
    /// Import a CSV file: devices, people, or encryption status from a device
    /// management export. Every row is checked first; all are written, or none.
    Import {
        #[arg(value_parser = ["devices", "people", "encryption"])]
        what: String,
        file: PathBuf,
        /// Check the file and list its problems without writing anything.
        #[arg(long)]
        dry_run: bool,
        /// Which of Kitroom's fields a column holds, as "COLUMN=FIELD" (like
        /// "Asset ID=tag"; "COLUMN=ignore" ignores it). Repeatable.
        #[arg(long = "map-column", value_name = "COLUMN=FIELD")]
        map_column: Vec<String>,
        /// What a value Kitroom does not know means, as "FIELD:VALUE=WORD" (like
        /// "kind:Ornamental Railings=other"). Repeatable.
        #[arg(long = "map-value", value_name = "FIELD:VALUE=WORD")]
        map_value: Vec<String>,
    },
    /// Write a CSV export to standard output, streamed: devices, loans, incidents,
    /// signatures or events.
    Export {
        #[arg(value_parser = ["devices", "loans", "incidents", "signatures", "events"])]
        what: String,
        /// The school to export (its short name); the first school when left out.
        #[arg(long, value_name = "SLUG")]
        school: Option<String>,
    },
    /// Fill an empty data directory with a believable demo school.
    Demo,
    /// Write a consistent copy of the database to FILE, even while Kitroom runs.
    Backup { file: PathBuf },
    /// Replace the database with a backup, after checking it. Stop Kitroom first.
    Restore { file: PathBuf },
    /// Copy every school of this data directory's database into an empty PostgreSQL
    /// database (a trust's), checking every table, the device counts and the
    /// activity log's hash chain there; nothing is written unless all match.
    /// Kitroom serves from PostgreSQL in a later version: keep serving from the file.
    CopyToPostgres {
        /// The PostgreSQL database, as postgres://USER:PASSWORD@HOST/DATABASE. It must
        /// be empty and sort text byte by byte (createdb --locale=C --template=template0).
        #[arg(long, env = "KITROOM_DATABASE_URL")]
        database_url: String,
    },
}

#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "KITROOM_LISTEN", default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Mark cookies Secure and send HSTS. Set this when Kitroom is reached over HTTPS.
    /// In the environment, 1, true, yes or on turn it on.
    #[arg(long, env = "KITROOM_SECURE_COOKIES", value_parser = clap::builder::FalseyValueParser::new())]
    pub secure_cookies: bool,
    /// Trust the X-Forwarded-For header set by your reverse proxy.
    #[arg(long, env = "KITROOM_TRUST_PROXY", value_parser = clap::builder::FalseyValueParser::new())]
    pub trust_proxy: bool,
    /// Sign people out after this many minutes without activity.
    #[arg(long, env = "KITROOM_IDLE_MINUTES", default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=1440))]
    pub idle_minutes: u64,
    /// Sign people out this many hours after they signed in, however active.
    #[arg(long, env = "KITROOM_SESSION_HOURS", default_value_t = 12, value_parser = clap::value_parser!(u64).range(1..=168))]
    pub session_hours: u64,
    /// The address people use to reach Kitroom, for links in email, the setup link
    /// and the QR labels (for example https://kitroom.school.example). Unset: emails
    /// carry no links (they name the page to open), the setup link uses the listening
    /// address, and label sheets use their own address, with a warning.
    #[arg(long, env = "KITROOM_PUBLIC_URL", value_parser = kitroom_core::link::PublicUrl::parse)]
    pub public_url: Option<kitroom_core::link::PublicUrl>,
    /// Send email through this SMTP server, for example smtp://127.0.0.1:25 (a relay
    /// on this machine), smtp://user:pass@mail.school.example:587?tls=required or
    /// smtps://user:pass@mail.school.example:465. Unset: no email is sent.
    #[arg(long, env = "KITROOM_SMTP_URL")]
    pub smtp_url: Option<String>,
    /// The sender of Kitroom's email.
    #[arg(
        long,
        env = "KITROOM_MAIL_FROM",
        default_value = "Kitroom <kitroom@localhost>"
    )]
    pub mail_from: String,
    /// Sign in with the school's Google or Microsoft account (OpenID Connect): the
    /// provider's issuer, https://accounts.google.com or
    /// https://login.microsoftonline.com/TENANT-ID/v2.0. Needs --public-url (the
    /// provider sends people back to PUBLIC-URL/sign-in/oidc/callback), the client
    /// id and secret, and the allowed domains. See docs/operations.md.
    #[arg(long, env = "KITROOM_OIDC_ISSUER")]
    pub oidc_issuer: Option<String>,
    /// The client id the provider gave Kitroom.
    #[arg(long, env = "KITROOM_OIDC_CLIENT_ID")]
    pub oidc_client_id: Option<String>,
    /// The client secret the provider gave Kitroom (or --oidc-client-secret-file).
    #[arg(
        long,
        env = "KITROOM_OIDC_CLIENT_SECRET",
        hide_env_values = true,
        conflicts_with = "oidc_client_secret_file"
    )]
    pub oidc_client_secret: Option<String>,
    /// A file holding the client secret (its first line), readable by Kitroom alone.
    #[arg(long, env = "KITROOM_OIDC_CLIENT_SECRET_FILE")]
    pub oidc_client_secret_file: Option<PathBuf>,
    /// The school's email domains, comma-separated (school.example,staff.school.example):
    /// only people with a verified address in one of them are matched.
    #[arg(long, env = "KITROOM_OIDC_ALLOWED_DOMAINS", value_delimiter = ',')]
    pub oidc_allowed_domains: Vec<String>,
}

impl ServeArgs {
    /// The OpenID provider's settings, checked; `None` when no issuer is set.
    pub fn oidc_config(&self) -> anyhow::Result<Option<kitroom_web::OidcConfig>> {
        let Some(issuer) = self.oidc_issuer.clone().filter(|i| !i.trim().is_empty()) else {
            if self.oidc_client_id.is_some() || !self.oidc_allowed_domains.is_empty() {
                anyhow::bail!("--oidc-client-id and --oidc-allowed-domains need --oidc-issuer (KITROOM_OIDC_ISSUER), the provider's address");
            }
            return Ok(None);
        };
        let client_secret = match (&self.oidc_client_secret, &self.oidc_client_secret_file) {
            (Some(s), _) => s.trim().to_owned(),
            (None, Some(file)) => std::fs::read_to_string(file)
                .with_context(|| format!("reading the client secret from {}", file.display()))?
                .lines()
                .next()
                .unwrap_or("")
                .trim()
                .to_owned(),
            (None, None) => String::new(),
        };
        let config = kitroom_web::OidcConfig {
            issuer: issuer.trim().trim_end_matches('/').to_owned(),
            client_id: self
                .oidc_client_id
                .clone()
                .unwrap_or_default()
                .trim()
                .to_owned(),
            client_secret,
            allowed_domains: self
                .oidc_allowed_domains
                .iter()
                .map(|d| d.trim().trim_start_matches('@').to_ascii_lowercase())
                .filter(|d| !d.is_empty())
                .collect(),
        };
        if self.public_url.is_none() {
            anyhow::bail!("signing in with the school's account (--oidc-issuer) needs --public-url (KITROOM_PUBLIC_URL): the provider sends people back to PUBLIC-URL{}, and Kitroom never takes that address from a request", kitroom_web::auth::oidc::CALLBACK_PATH);
        }
        kitroom_web::auth::oidc::check_config(&config).map_err(anyhow::Error::msg)?;
        Ok(Some(config))
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account. The password is asked for, or read from standard input
    /// when that is not a terminal.
    Add {
        username: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        full_name: String,
        #[arg(long, default_value = "")]
        email: String,
        #[arg(long, default_value = "staff")]
        kind: String,
        #[arg(long, default_value = "")]
        position: String,
        /// The school the role is held in (its short name); the first school when
        /// left out. An account that exists already is given this role there too,
        /// without a new password: a teacher at two schools is one account.
        #[arg(long, value_name = "SLUG")]
        school: Option<String>,
    },
    /// Invite someone by email to choose their password: creates the account (without
    /// a password) if it does not exist, and queues an email with a one-time link that
    /// works for 7 days, sent by the running Kitroom. With email off (no
    /// KITROOM_SMTP_URL), prints the link instead, to pass on. The link starts with
    /// KITROOM_PUBLIC_URL (or, with email off, the listening address).
    Invite {
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long, default_value = "borrower")]
        role: String,
        #[arg(long)]
        full_name: String,
        #[arg(long, default_value = "staff")]
        kind: String,
        #[arg(long, default_value = "")]
        position: String,
    },
    /// Set a new password for an account (for example, the only admin forgot theirs).
    /// Ends all of that person's sessions.
    Password { username: String },
    /// Turn off an account's two-step sign-in (a lost phone and no recovery codes, or
    /// a lost kitroom.key). Ends all of that person's sessions; where the school
    /// requires two-step sign-in, they set it up again at their next sign-in.
    #[command(name = "reset-2fa")]
    ResetTwoFactor { username: String },
}

#[derive(Debug, Subcommand)]
pub enum SchoolCommand {
    /// Add a school to this Kitroom. Its short name is what `--school` takes.
    Add {
        /// One to 40 lower-case letters, digits and hyphens, like "st-marys".
        slug: String,
        /// The school's name as people know it.
        #[arg(long)]
        name: String,
    },
    /// List the schools, one a line: short name, then name.
    List,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Print a new personal API token for an account, alone on the last line. It
    /// expires after the school's token lifetime (90 days unless the settings say
    /// otherwise); where the school requires two-step sign-in of the account and it
    /// is not set up, a warning says so and the activity log records it.
    Create {
        username: String,
        /// What the token is for.
        #[arg(long, default_value = "created at the command line")]
        name: String,
    },
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        None => serve(&cli.data_dir, cli.serve).await,
        Some(Command::Serve(args)) => serve(&cli.data_dir, args).await,
        Some(Command::User(UserCommand::Add {
            username,
            role,
            full_name,
            email,
            kind,
            position,
            school,
        })) => {
            let input = PersonInput {
                username,
                full_name,
                email,
                position,
                kind,
                role,
            };
            let school = school.as_deref();
            if std::io::stdin().is_terminal() {
                user_add(&cli.data_dir, input, school, None).await
            } else {
                user_add(
                    &cli.data_dir,
                    input,
                    school,
                    Some(&mut std::io::BufReader::new(std::io::stdin())),
                )
                .await
            }
        }
        Some(Command::School(SchoolCommand::Add { slug, name })) => {
            school_add(&cli.data_dir, &slug, &name, &mut std::io::stdout()).await
        }
        Some(Command::School(SchoolCommand::List)) => {
            school_list(&cli.data_dir, &mut std::io::stdout()).await
        }
        Some(Command::User(UserCommand::Invite {
            username,
            email,
            role,
            full_name,
            kind,
            position,
        })) => {
            let input = PersonInput {
                username,
                full_name,
                email,
                position,
                kind,
                role,
            };
            let how = InviteBy {
                public_url: cli.serve.public_url.clone(),
                listen: cli.serve.listen.clone(),
                email_on: cli.serve.smtp_url.is_some(),
            };
            user_invite(&cli.data_dir, input, &how, &mut std::io::stdout()).await
        }
        Some(Command::User(UserCommand::Password { username })) => {
            if std::io::stdin().is_terminal() {
                user_password(&cli.data_dir, &username, None).await
            } else {
                user_password(
                    &cli.data_dir,
                    &username,
                    Some(&mut std::io::BufReader::new(std::io::stdin())),
                )
                .await
            }
        }
        Some(Command::User(UserCommand::ResetTwoFactor { username })) => {
            user_reset_two_factor(&cli.data_dir, &username).await
        }
        Some(Command::Token(TokenCommand::Create { username, name })) => {
            token_create(&cli.data_dir, &username, name).await
        }
        Some(Command::Check) => check(&cli.data_dir, &mut std::io::stdout()).await,
        Some(Command::Import {
            what,
            file,
            dry_run,
            map_column,
            map_value,
        }) => {
            let kind = match what.as_str() {
                "people" => crate::import::ImportKind::People,
                "encryption" => crate::import::ImportKind::Encryption,
                _ => crate::import::ImportKind::Devices,
            };
            let choices = crate::import::Choices {
                columns: map_column,
                values: map_value,
            };
            crate::import::run(&cli.data_dir, kind, &file, dry_run, &choices).await
        }
        Some(Command::Export { what, school }) => {
            export(
                &cli.data_dir,
                &what,
                school.as_deref(),
                &mut std::io::stdout().lock(),
            )
            .await
        }
        Some(Command::Demo) => crate::demo::run(&cli.data_dir).await,
        Some(Command::Backup { file }) => backup(&cli.data_dir, &file).await,
        Some(Command::Restore { file }) => {
            restore(&cli.data_dir, &file, &mut std::io::stdout()).await
        }
        Some(Command::CopyToPostgres { database_url }) => {
            copy_to_postgres(&cli.data_dir, &database_url, &mut std::io::stdout()).await
        }
    }
}

async fn serve(data_dir: &Path, args: ServeArgs) -> anyhow::Result<ExitCode> {
    #[cfg(target_os = "linux")]
    match crate::server::raise_file_limit() {
        Ok((before, after)) if after > before => {
            tracing::info!(before, after, "open-file limit raised");
        }
        Ok((_, limit)) => tracing::info!(limit, "open-file limit"),
        Err(e) => tracing::warn!(error = %e, "could not raise the open-file limit"),
    }
    let addr: SocketAddr = args.listen.parse().with_context(|| {
        format!(
            "--listen {:?} is not an address like 127.0.0.1:8080",
            args.listen
        )
    })?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen on {addr}"))?;
    let oidc = args.oidc_config()?;
    let config = Config {
        oidc,
        secure_cookies: args.secure_cookies,
        trust_proxy: args.trust_proxy,
        idle_timeout: Duration::from_secs(args.idle_minutes * 60),
        session_lifetime: Duration::from_secs(args.session_hours * 3600),
        public_url: args.public_url.clone(),
        mail: args
            .smtp_url
            .clone()
            .map(|smtp_url| kitroom_web::MailConfig {
                smtp_url,
                from: args.mail_from.clone(),
                retry_base: kitroom_core::mail::FIRST_WAIT,
                tries: kitroom_core::mail::TRIES,
            }),
        ..Config::default()
    };
    let (running, setup) = crate::server::start(data_dir, listener, config).await?;
    tracing::info!(address = %running.addr, data_dir = %data_dir.display(), "Kitroom is running");
    let base = args
        .public_url
        .as_ref()
        .map(|u| u.to_string())
        .unwrap_or_else(|| {
            let host = if running.addr.ip().is_unspecified() {
                "127.0.0.1".to_owned()
            } else {
                running.addr.ip().to_string()
            };
            format!("http://{host}:{}", running.addr.port())
        });
    println!("Kitroom is running at {base}/");
    if let Some(token) = setup {
        println!();
        println!(
            "No account exists yet. To create the first admin account, open this one-time link:"
        );
        println!();
        println!("    {}/setup?token={token}", base.trim_end_matches('/'));
        println!();
        println!("(or stop Kitroom and run: kitroom user add USERNAME --role admin --full-name \"Your Name\")");
    }
    std::io::stdout().flush().ok();
    crate::server::shutdown_signal().await;
    tracing::info!("shutting down: finishing requests in flight");
    running.shutdown().await?;
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

/// Reads a new password for an account as [`read_password`] does, judged with the
/// account's names and the school's, and hashes it. The store is closed when the
/// password is refused.
async fn new_password_hash(
    store: &Store,
    username: &str,
    full_name: &str,
    input: Option<&mut (dyn BufRead + Send)>,
) -> anyhow::Result<String> {
    let school_name = store
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await?
        .school_name;
    let owner = PasswordOwner {
        username,
        full_name,
        school_name: &school_name,
    };
    let password = match read_password(&owner, input) {
        Ok(p) => p,
        Err(e) => {
            store.close().await;
            return Err(e);
        }
    };
    kitroom_web::auth::hash_password(password)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))
}

/// Reads a password: one line of `input`, or with no input asked for twice at the
/// terminal without echo.
/// The password must meet [`new_password`]'s rules for `owner`.
fn read_password(
    owner: &PasswordOwner<'_>,
    input: Option<&mut (dyn BufRead + Send)>,
) -> anyhow::Result<String> {
    let username = owner.username;
    let password = if let Some(input) = input {
        let mut line = String::new();
        input.read_line(&mut line)?;
        line.trim_end_matches(['\r', '\n']).to_owned()
    } else {
        let first = rpassword::prompt_password(format!("Password for {username}: "))?;
        let again = rpassword::prompt_password("Type it again: ")?;
        if first != again {
            bail!("the two passwords are not the same");
        }
        first
    };
    new_password(&password, owner).map_err(anyhow::Error::msg)
}

/// Adds a school; a short name already used is refused (exit 2).
pub async fn school_add(
    data_dir: &Path,
    slug: &str,
    name: &str,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let slug = match SchoolSlug::parse(slug) {
        Ok(s) => s,
        Err(message) => {
            eprintln!("{message}");
            return Ok(ExitCode::from(2));
        }
    };
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        eprintln!("Give the school's name with --name (at most 200 characters).");
        return Ok(ExitCode::from(2));
    }
    let store = Store::open(data_dir).await?;
    let result = store
        .add_school(Actor::system(), slug, name.to_owned())
        .await;
    store.close().await;
    match result {
        Ok(school) => {
            writeln!(
                out,
                "Added {} ({}). Give people a role there with: kitroom user add USERNAME --school {} --role ROLE --full-name NAME",
                school.name, school.slug, school.slug
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(kitroom_store::StoreError::Invalid(invalid)) => {
            eprintln!("{invalid}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

/// Lists the schools: short name, a tab, the name.
pub async fn school_list(data_dir: &Path, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    let store = Store::open(data_dir).await?;
    let schools = store.schools().await;
    store.close().await;
    for school in schools? {
        writeln!(out, "{}\t{}", school.slug, school.name)?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The school `--school` names, or the first school when it is left out; `Err` with
/// a sentence when no school has that short name.
async fn school_named(
    store: &Store,
    slug: Option<&str>,
) -> anyhow::Result<Result<kitroom_store::schools::School, String>> {
    let schools = store.schools().await?;
    let Some(slug) = slug else {
        return Ok(schools
            .into_iter()
            .next()
            .ok_or_else(|| "This Kitroom has no school.".to_owned()));
    };
    let wanted = match SchoolSlug::parse(slug) {
        Ok(w) => w,
        Err(message) => return Ok(Err(message)),
    };
    Ok(schools
        .into_iter()
        .find(|s| s.slug == wanted.as_str())
        .ok_or_else(|| {
            format!("No school is called “{wanted}”. `kitroom school list` shows them.")
        }))
}

/// Creates an account holding its role in the school `school` names (the first
/// school when `None`); the password comes from `password_input`, or from a prompt.
/// With `school` given, an account that exists already is given the role there
/// instead, and no password is asked for.
pub async fn user_add(
    data_dir: &Path,
    input: PersonInput,
    school: Option<&str>,
    password_input: Option<&mut (dyn BufRead + Send)>,
) -> anyhow::Result<ExitCode> {
    let details = match input.parse() {
        Ok(d) => d,
        Err(invalid) => {
            for e in invalid.0 {
                eprintln!("{}: {}", e.field, e.message);
            }
            return Ok(ExitCode::from(2));
        }
    };
    let store = Store::open(data_dir).await?;
    let at = match school_named(&store, school).await? {
        Ok(s) => s,
        Err(message) => {
            store.close().await;
            eprintln!("{message}");
            return Ok(ExitCode::from(2));
        }
    };
    let existing = match school {
        Some(_) => store.account_by_username(details.username.as_str()).await?,
        None => None,
    };
    if let Some(existing) = existing {
        let result = store
            .give_role(Actor::system(), at.id, existing.id, details.role)
            .await;
        store.close().await;
        let p = result?;
        println!(
            "{} ({}) now holds the role {} at {}.",
            p.username,
            p.full_name,
            p.role.label(),
            at.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    let hash = new_password_hash(
        &store,
        details.username.as_str(),
        &details.full_name,
        password_input,
    )
    .await?;
    let result = store
        .create_person(Actor::system(), at.id, details, Some(hash))
        .await;
    store.close().await;
    match result {
        Ok(p) => {
            let at = school
                .map(|_| format!(" at {}", at.name))
                .unwrap_or_default();
            println!(
                "Created {} ({}) with role {}{at}.",
                p.username,
                p.full_name,
                p.role.label()
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(kitroom_store::StoreError::Invalid(invalid)) => {
            eprintln!("{invalid}");
            Ok(ExitCode::from(2))
        }
        Err(e) => Err(e.into()),
    }
}

/// How `kitroom user invite` reaches the person: the settings the server uses.
#[derive(Debug, Clone)]
pub struct InviteBy {
    pub public_url: Option<kitroom_core::link::PublicUrl>,
    /// `--listen`: the link's start when no public address is set and email is off.
    pub listen: String,
    /// Whether an SMTP server is configured.
    pub email_on: bool,
}

/// Creates the account if it does not exist (without a password) and invites it:
/// an email queued for the running Kitroom to send, or with email off, the link
/// printed to pass on.
pub async fn user_invite(
    data_dir: &Path,
    input: PersonInput,
    how: &InviteBy,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let details = match input.parse() {
        Ok(d) => d,
        Err(invalid) => {
            for e in invalid.0 {
                eprintln!("{}: {}", e.field, e.message);
            }
            return Ok(ExitCode::from(2));
        }
    };
    let base = match (&how.public_url, how.email_on) {
        (Some(u), _) => u.to_string(),
        (None, false) => {
            let host = how.listen.replace("0.0.0.0:", "127.0.0.1:");
            format!("http://{host}")
        }
        (None, true) => {
            eprintln!("An emailed invitation needs Kitroom's public address for its link: set KITROOM_PUBLIC_URL (or --public-url before the command) as for the server.");
            return Ok(ExitCode::from(2));
        }
    };
    let store = Store::open(data_dir).await?;
    let username = details.username.to_string();
    let existing = store.account_by_username(&username).await?;
    if existing.is_none() {
        let first = kitroom_core::school::SchoolId::FIRST;
        match store
            .create_person(Actor::system(), first, details, None)
            .await
        {
            Ok(p) => writeln!(
                out,
                "Created {} ({}) with role {}.",
                p.username,
                p.full_name,
                p.role.label()
            )?,
            Err(kitroom_store::StoreError::Invalid(invalid)) => {
                store.close().await;
                eprintln!("{invalid}");
                return Ok(ExitCode::from(2));
            }
            Err(e) => {
                store.close().await;
                return Err(e.into());
            }
        }
    }
    let app = kitroom_app::App::new(
        store.clone(),
        how.public_url.clone(),
        std::sync::Arc::new(tokio::sync::Notify::new()),
    );
    let invited =
        kitroom_app::links::invite_at_command_line(&app, &username, &base, how.email_on).await;
    store.close().await;
    match invited {
        Ok(i) if i.emailed => {
            writeln!(
                out,
                "Invitation for {} queued to {}: the running Kitroom sends it. The link works once, for 7 days.",
                i.person.username,
                i.person.email.unwrap_or_default()
            )?;
        }
        Ok(i) => {
            writeln!(
                out,
                "Email is off (no KITROOM_SMTP_URL), so nothing was sent. Give {} this link; it works once, for 7 days:",
                i.person.full_name
            )?;
            writeln!(out)?;
            writeln!(out, "    {}", i.link)?;
        }
        Err(kitroom_app::Error::Refused(r)) => {
            eprintln!("{}", r.message);
            return Ok(ExitCode::from(2));
        }
        Err(e) => return Err(anyhow::anyhow!("{e}")),
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Sets a new password for an account; the password comes as for [`user_add`].
pub async fn user_password(
    data_dir: &Path,
    username: &str,
    password_input: Option<&mut (dyn BufRead + Send)>,
) -> anyhow::Result<ExitCode> {
    let store = Store::open(data_dir).await?;
    let Some(person) = store.account_by_username(username).await? else {
        eprintln!("No account has the username {username:?}.");
        store.close().await;
        return Ok(ExitCode::from(2));
    };
    let hash =
        new_password_hash(&store, &person.username, &person.full_name, password_input).await?;
    store
        .set_password(Actor::system(), person.id, hash, None)
        .await?;
    store.close().await;
    println!(
        "New password set for {}. Their sessions have ended and their API tokens no longer work.",
        person.username
    );
    Ok(ExitCode::SUCCESS)
}

/// Turns off an account's two-step sign-in and ends its sessions.
pub async fn user_reset_two_factor(data_dir: &Path, username: &str) -> anyhow::Result<ExitCode> {
    let store = Store::open(data_dir).await?;
    let Some(person) = store.account_by_username(username).await? else {
        eprintln!("No account has the username {username:?}.");
        store.close().await;
        return Ok(ExitCode::from(2));
    };
    let done = store
        .remove_two_factor(Actor::system(), person.subject(), person.id)
        .await?;
    store.close().await;
    if done {
        println!(
            "Two-step sign-in is reset for {}. Their sessions have ended; they set it up again at their next sign-in.",
            person.username
        );
    } else {
        println!("{} does not use two-step sign-in.", person.username);
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token_create(
    data_dir: &Path,
    username: &str,
    name: String,
) -> anyhow::Result<ExitCode> {
    match make_token(data_dir, username, name).await? {
        Ok(made) => {
            if let Some(warning) = &made.warning {
                eprintln!("{warning}");
            }
            println!(
                "API token for {username}, working until {} (shown once; keep it secret):",
                kitroom_core::time::school_time(made.expires_at)
            );
            println!("{}", made.token);
            Ok(ExitCode::SUCCESS)
        }
        Err(message) => {
            eprintln!("{message}");
            Ok(ExitCode::from(2))
        }
    }
}

/// A token made at the command line.
#[derive(Debug, Clone)]
pub struct MadeToken {
    pub token: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Said plainly when the school requires two-step sign-in of the account and
    /// it is not set up: the token skips it (and the activity log records that).
    pub warning: Option<String>,
}

/// Makes a personal API token for an active account, or says why it cannot.
pub async fn new_token(
    data_dir: &Path,
    username: &str,
    name: String,
) -> anyhow::Result<Result<String, String>> {
    Ok(make_token(data_dir, username, name)
        .await?
        .map(|made| made.token))
}

/// Makes a personal API token for an active account, with a warning when it skips
/// a second step the school requires, or says why it cannot.
pub async fn make_token(
    data_dir: &Path,
    username: &str,
    name: String,
) -> anyhow::Result<Result<MadeToken, String>> {
    let store = Store::open(data_dir).await?;
    let result = match store.account_by_username(username).await? {
        None => Err(format!("No account has the username {username:?}.")),
        Some(p) if !p.active => Err(format!(
            "{username} is deactivated; reactivate the account first."
        )),
        Some(person) => {
            let token = kitroom_web::auth::new_api_token();
            let made = store
                .create_token(
                    Actor::system(),
                    &person,
                    name,
                    kitroom_web::auth::token_hash(&token),
                )
                .await?;
            let warning = made.without_two_step.then(|| format!(
                "Warning: the school requires two-step sign-in for {username}, who has not set it up. \
                 This token lets a script act as {username} without it. The activity log records that \
                 this token was made without two-step sign-in. Ask {username} to set it up at their next sign-in."
            ));
            Ok(MadeToken {
                token,
                expires_at: made.expires_at,
                warning,
            })
        }
    };
    store.close().await;
    Ok(result)
}

/// Streams an export as CSV to `out`, batch by batch, in constant memory.
pub async fn export(
    data_dir: &Path,
    what: &str,
    school: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    let kind = kitroom_store::exports::ExportKind::parse(what)
        .ok_or_else(|| anyhow::anyhow!("nothing called {what:?} can be exported"))?;
    if !data_dir.join(kitroom_store::db::DB_FILE).exists() {
        bail!("there is no Kitroom database in {}", data_dir.display());
    }
    let store = Store::open(data_dir).await?;
    let at = match school_named(&store, school).await? {
        Ok(s) => s,
        Err(message) => {
            store.close().await;
            eprintln!("{message}");
            return Ok(ExitCode::from(2));
        }
    };
    let actor = Actor {
        school: Some(at.id),
        ..Actor::system()
    };
    match store.record_export(actor, kind.as_str().to_owned()).await {
        Err(e) if e.is_storage_full() => {
            bail!("the disk holding the database is full, so the export could not be recorded in the activity log; free some space and try again")
        }
        other => other?,
    }
    let written = write_export(&store, at.id, kind, out).await;
    store.close().await;
    if let Err(e) = &written {
        let full = e
            .chain()
            .filter_map(|c| c.downcast_ref::<std::io::Error>())
            .any(|io| io.kind() == std::io::ErrorKind::StorageFull);
        if full {
            bail!("the disk the export is written to is full: the export is incomplete; free some space or write it to another disk");
        }
    }
    written.context("writing the export")?;
    Ok(ExitCode::SUCCESS)
}

async fn write_export(
    store: &Store,
    school: kitroom_core::school::SchoolId,
    kind: kitroom_store::exports::ExportKind,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    out.write_all(&kitroom_web::export::csv_lines([kind.header().to_vec()]))?;
    let mut after = 0;
    loop {
        let batch = store
            .export_batch(kind, school, after, kitroom_web::export::BATCH)
            .await?;
        if batch.rows.is_empty() {
            break;
        }
        after = batch.last_key;
        out.write_all(&kitroom_web::export::csv_lines(batch.rows))?;
    }
    out.flush()?;
    Ok(())
}

/// Copies every school in `data_dir` into the empty PostgreSQL database at `url`
/// (see [`kitroom_store::postgres::copy_from`]), and says what was copied and
/// checked, or why nothing was.
pub async fn copy_to_postgres(
    data_dir: &Path,
    url: &str,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    use kitroom_store::postgres::CopyError;
    if !data_dir.join(kitroom_store::db::DB_FILE).exists() {
        bail!("there is no Kitroom database in {}", data_dir.display());
    }
    let pg = match kitroom_store::postgres::open(url).await {
        Ok(pg) => pg,
        Err(e) => {
            let why = std::error::Error::source(&e).map(|s| s.to_string());
            bail!(
                "could not open the PostgreSQL database: {e}{}",
                why.map(|w| format!(": {w}")).unwrap_or_default()
            )
        }
    };
    let store = Store::open(data_dir).await?;
    let result = kitroom_store::postgres::copy_from(&store, &pg).await;
    store.close().await;
    pg.close().await;
    match result {
        Ok(copied) => {
            writeln!(
                out,
                "Copied into PostgreSQL; each table holds what the file holds:"
            )?;
            for (table, rows) in &copied.tables {
                writeln!(out, "  {table:<18} {rows:>9}")?;
            }
            writeln!(
                out,
                "activity log on PostgreSQL: ok, {} events, hash chain intact",
                copied.events
            )?;
            if let Some((seq, hash)) = &copied.head {
                writeln!(
                    out,
                    "latest event: {seq}, hash {hash} (the same as the file's)"
                )?;
            }
            writeln!(
                out,
                "Keep {} from the data directory with the trust's Kitroom: it unseals the two-step sign-in secrets. Sessions were not copied: everyone signs in again.",
                kitroom_web::two_factor::KEY_FILE
            )?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e @ (CopyError::NotEmpty(_) | CopyError::ChainBroken(_) | CopyError::Mismatch(_))) => {
            writeln!(out, "Nothing was copied: {e}.")?;
            Ok(ExitCode::from(1))
        }
        Err(CopyError::Store(e)) => Err(e).context("copying into PostgreSQL; nothing was copied"),
    }
}

/// Copies the live database to `file`.
pub async fn backup(data_dir: &Path, file: &Path) -> anyhow::Result<ExitCode> {
    if !data_dir.join(kitroom_store::db::DB_FILE).exists() {
        bail!("there is no Kitroom database in {}", data_dir.display());
    }
    if file.exists() {
        bail!("{} already exists; choose a new file name", file.display());
    }
    let store = Store::open(data_dir).await?;
    // The backup carries the log witness, sealed with the key beside the database.
    let key = kitroom_web::two_factor::SecretKey::load_or_create(data_dir)
        .with_context(|| format!("reading {}", kitroom_web::two_factor::KEY_FILE))?
        .witness_key();
    let result = store.backup_to(file, Some(&key)).await;
    store.close().await;
    match result {
        Err(e) if e.is_storage_full() => bail!(
            "the disk is full: the backup to {} was not written (nothing half-written was left); free some space or choose another disk",
            file.display()
        ),
        other => other.with_context(|| format!("writing the backup to {}", file.display()))?,
    }
    println!("Backup written to {}.", file.display());
    Ok(ExitCode::SUCCESS)
}

/// Checks a backup (SQLite's integrity check and the log's hash chain), then puts
/// it in place of the database. The old database is kept beside it.
pub async fn restore(
    data_dir: &Path,
    file: &Path,
    out: &mut dyn Write,
) -> anyhow::Result<ExitCode> {
    if !file.exists() {
        bail!("there is no backup at {}", file.display());
    }
    // Check a scratch copy, so the backup itself is never modified (opening applies
    // any newer migrations).
    let scratch = tempfile_path(data_dir, "restore-check")?;
    std::fs::copy(file, &scratch).with_context(|| format!("reading {}", file.display()))?;
    let key = kitroom_web::two_factor::SecretKey::load_existing(data_dir)
        .with_context(|| format!("reading {}", kitroom_web::two_factor::KEY_FILE))?
        .map(|k| k.witness_key());
    let checked = async {
        let store = Store::open_file(&scratch).await?;
        let integrity = store.integrity_check().await?;
        let chain = store.verify_log().await?;
        let carried = store.carried_witness().await?;
        // The witness the backup carries, opened with the key here and compared
        // with the backup's own log.
        let witness = match (&carried, &key) {
            (Some(text), Some(key)) => Some(match Witness::open(text, key) {
                Ok(w) => {
                    let cut = store.compare_with(&w).await?;
                    Ok((w, cut))
                }
                Err(e) => Err(e),
            }),
            _ => None,
        };
        store.close().await;
        anyhow::Ok((integrity, chain, carried, witness))
    }
    .await;
    let _ = std::fs::remove_file(&scratch);
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", scratch.display()));
    }
    let (integrity, chain, carried, witness) =
        checked.with_context(|| format!("{} is not a Kitroom database", file.display()))?;
    if integrity != ["ok"] {
        writeln!(
            out,
            "The backup fails SQLite's integrity check: {}",
            integrity.join("; ")
        )?;
        return Ok(ExitCode::from(1));
    }
    let events = match chain {
        Ok((n, _)) => n,
        Err(b) => {
            writeln!(out, "The backup's activity log is broken: {b}")?;
            return Ok(ExitCode::from(1));
        }
    };
    match &witness {
        Some(Err(e)) => {
            writeln!(
                out,
                "The backup's log witness {e}: the backup was altered, or it was made by a Kitroom with another kitroom.key (copy that key into {} first).",
                data_dir.display()
            )?;
            return Ok(ExitCode::from(1));
        }
        Some(Ok((w, Err(cut)))) => {
            writeln!(
                out,
                "The backup's activity log was cut: {cut} (the backup was taken when the log reached event {}).",
                w.seq
            )?;
            return Ok(ExitCode::from(1));
        }
        _ => {}
    }
    std::fs::create_dir_all(data_dir)?;
    let db = data_dir.join(kitroom_store::db::DB_FILE);
    let stamp = chrono::Utc::now().format("%Y%m%d-%H%M%S");
    if db.exists() {
        let kept = data_dir.join(format!("kitroom-before-restore-{stamp}.db"));
        std::fs::rename(&db, &kept)?;
        writeln!(
            out,
            "The database it replaces is kept as {}.",
            kept.display()
        )?;
    }
    // The old witness speaks for the database just replaced: kept beside it.
    let old_witness = data_dir.join(kitroom_store::witness::FILE);
    if old_witness.exists() {
        std::fs::rename(
            &old_witness,
            data_dir.join(format!("kitroom-before-restore-{stamp}.witness")),
        )?;
    }
    for suffix in ["-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", db.display()));
    }
    std::fs::copy(file, &db)?;
    match (&carried, &witness) {
        (Some(text), Some(Ok((w, Ok(()))))) => {
            kitroom_store::witness::write_file(data_dir, text)?;
            writeln!(
                out,
                "The backup's log witness (event {}) agrees with its log and is now kitroom.witness.",
                w.seq
            )?;
        }
        (Some(_), _) => writeln!(
            out,
            "The backup carries a log witness, but there is no kitroom.key in {} to check it with, so it was not carried over: copy kitroom.key from the Kitroom that made the backup.",
            data_dir.display()
        )?,
        (None, _) => writeln!(
            out,
            "The backup carries no log witness (it was made before Kitroom kept one); Kitroom starts a new one when it runs."
        )?,
    }
    writeln!(
        out,
        "Restored {} ({events} events, hash chain intact). Start Kitroom again.",
        file.display()
    )?;
    Ok(ExitCode::SUCCESS)
}

fn tempfile_path(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    Ok(dir.join(format!(".{name}-{}.db", std::process::id())))
}

/// Runs SQLite's integrity check and verifies the activity log's hash chain.
pub async fn check(data_dir: &Path, out: &mut dyn Write) -> anyhow::Result<ExitCode> {
    if !data_dir.join(kitroom_store::db::DB_FILE).exists() {
        bail!("there is no Kitroom database in {}", data_dir.display());
    }
    let store = Store::open(data_dir).await?;
    let mut ok = true;
    let integrity = store.integrity_check().await?;
    if integrity == ["ok"] {
        writeln!(out, "database integrity: ok")?;
    } else {
        ok = false;
        writeln!(out, "database integrity: FAILED")?;
        for line in integrity.iter().take(20) {
            writeln!(out, "  {line}")?;
        }
    }
    let chain = store.verify_log().await?;
    match chain {
        Ok((n, head)) => {
            writeln!(out, "activity log: ok, {n} events, hash chain intact")?;
            // Written down or kept elsewhere, the latest hash also shows later whether
            // events were cut from the end of the log.
            if let Some((seq, hash)) = head {
                writeln!(out, "latest event: {seq}, hash {hash}")?;
            }
        }
        Err(b) => {
            ok = false;
            writeln!(out, "activity log: FAILED, {b}")?;
        }
    }
    ok &= check_witness(data_dir, &store, out).await?;
    store.close().await;
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Compares the log with the witness kept beside it (`kitroom.witness`) and prints
/// one line; false when the witness shows events cut, or cannot be trusted.
async fn check_witness(
    data_dir: &Path,
    store: &Store,
    out: &mut dyn Write,
) -> anyhow::Result<bool> {
    let file = kitroom_store::witness::FILE;
    let Some(text) = kitroom_store::witness::read_file(data_dir)? else {
        writeln!(
            out,
            "log witness: none yet (Kitroom writes {file} while it runs); without it, events cut from the end of the log go unnoticed"
        )?;
        return Ok(true);
    };
    let Some(key) = kitroom_web::two_factor::SecretKey::load_existing(data_dir)? else {
        writeln!(
            out,
            "log witness: FAILED, it cannot be checked: there is no {} in {} (copy it from where Kitroom ran)",
            kitroom_web::two_factor::KEY_FILE,
            data_dir.display()
        )?;
        return Ok(false);
    };
    let w = match Witness::open(&text, &key.witness_key()) {
        Ok(w) => w,
        Err(e) => {
            writeln!(out, "log witness: FAILED, {file}: {e}")?;
            return Ok(false);
        }
    };
    let at = kitroom_core::time::school_time(w.at);
    match store.compare_with(&w).await? {
        Ok(()) => {
            writeln!(
                out,
                "log witness: ok, the log still reaches event {} (witnessed {at})",
                w.seq
            )?;
            Ok(true)
        }
        Err(cut) => {
            let last = store.log_head().await?.map(|(seq, _)| seq).unwrap_or(0);
            writeln!(
                out,
                "log witness: FAILED, {cut} (on {at} the log reached event {}; it now ends at event {last})",
                w.seq
            )?;
            Ok(false)
        }
    }
}

#[cfg(test)]
mod oidc_flags {
    use clap::Parser;

    use super::{Cli, Command, ServeArgs};

    fn serve_args(args: &[&str]) -> ServeArgs {
        let base = ["kitroom", "serve"];
        match Cli::try_parse_from(base.iter().chain(args))
            .expect("the flags parse")
            .command
        {
            Some(Command::Serve(a)) => a,
            other => panic!("not serve: {other:?}"),
        }
    }

    const PROVIDER: &[&str] = &[
        "--oidc-issuer",
        "https://accounts.google.com/",
        "--oidc-client-id",
        "kitroom",
        "--oidc-allowed-domains",
        "School.example, @staff.school.example",
    ];

    /// An operator who set up the provider without the public address would get a
    /// Kitroom taking its callback address from requests; domains typed with
    /// capitals or an @ would match nobody; a secret kept in a file would be ignored.
    #[test]
    fn the_provider_needs_the_public_address_and_reads_its_settings() {
        let mut args: Vec<&str> = PROVIDER.to_vec();
        args.extend(["--oidc-client-secret", "s3cret"]);
        let err = serve_args(&args).oidc_config().unwrap_err().to_string();
        assert!(err.contains("--public-url"), "{err}");

        let dir = std::env::temp_dir().join(format!("kitroom-oidc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "from-file\n").unwrap();
        let mut args: Vec<&str> = PROVIDER.to_vec();
        let file_arg = file.display().to_string();
        args.extend([
            "--oidc-client-secret-file",
            &file_arg,
            "--public-url",
            "https://kitroom.school.example",
        ]);
        let c = serve_args(&args)
            .oidc_config()
            .unwrap()
            .expect("a provider");
        std::fs::remove_dir_all(&dir).ok();
        assert_eq!(c.issuer, "https://accounts.google.com");
        assert_eq!(c.client_secret, "from-file");
        assert_eq!(
            c.allowed_domains,
            ["school.example", "staff.school.example"]
        );

        // Without a secret, or over plain http elsewhere than this machine: refused.
        let mut args: Vec<&str> = PROVIDER.to_vec();
        args.extend(["--public-url", "https://kitroom.school.example"]);
        let err = serve_args(&args).oidc_config().unwrap_err().to_string();
        assert!(err.contains("--oidc-client-secret"), "{err}");
        let err = serve_args(&[
            "--oidc-issuer",
            "http://accounts.example",
            "--oidc-client-id",
            "k",
            "--oidc-client-secret",
            "s",
            "--oidc-allowed-domains",
            "school.example",
            "--public-url",
            "https://kitroom.school.example",
        ])
        .oidc_config()
        .unwrap_err()
        .to_string();
        assert!(err.contains("https://"), "{err}");
        assert!(serve_args(&[]).oidc_config().unwrap().is_none());
    }
}
