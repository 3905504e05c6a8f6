//! Two-step sign-in: a code from an authenticator app (TOTP, RFC 6238, by the
//! `totp-rs` crate) after the password, with one-time recovery codes for a lost
//! phone.
//!
//! - The secret is sealed with XChaCha20-Poly1305 (the `chacha20poly1305` crate)
//!   under a key kept in `kitroom.key` beside the database, never inside it, so a
//!   copy of the database alone does not reveal anyone's secret ([`SecretKey`]).
//! - A code is accepted once: the store remembers the last accepted 30-second step.
//! - Recovery codes have 80 random bits and are stored as SHA-256 hashes; each works
//!   once.
//! - The second step is throttled like the password, by the same counts (a wrong
//!   code is a failed sign-in), and every wrong code is in the activity log.
//! - Where the school requires it (the setting, on by default), managers, heads and
//!   admins are sent to set it up before any other page ([`crate::auth::Ctx`]).

use std::path::Path;

use argon2::password_hash::rand_core::{OsRng, RngCore};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use chrono::Utc;
use kitroom_core::throttle::{decide, wait_words, Decision, Refusal, CODE_MAX};
use kitroom_store::throttle::Step;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use totp_rs::{Algorithm, TOTP};
use tower_sessions::Session;
use uuid::Uuid;

use crate::auth::begin::{begin_session, safe_next};
use crate::auth::client::{user_agent, ClientAddr};
use crate::auth::csrf::csrf_token;
use crate::auth::ctx::Ctx;
use crate::auth::flash::set_flash;
use crate::auth::password::verify_password;
use crate::auth::signed_in::SetupCtx;
use crate::auth::throttle::wait_message;
use crate::input::FormBody;
use crate::session::{PENDING_AT_KEY, PENDING_NEXT_KEY, PENDING_PERSON_KEY, TWO_FACTOR_KEY};
use crate::views::two_factor as v;
use crate::{AppError, AppState};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/login/code", get(code_page).post(code))
        .route("/account/two-factor", get(setup_page).post(confirm))
        .route("/account/two-factor/off", post(turn_off))
        .route("/account/two-factor/recovery-codes", post(new_codes))
}

/// The key file's name in the data directory.
pub const KEY_FILE: &str = "kitroom.key";

/// The key that seals authenticator secrets and (through a key derived from it) the
/// log witness. Kept in [`KEY_FILE`], outside the
/// database: a backup needs both files, and without the key the secrets cannot be
/// opened (admins then reset two-step sign-in with `kitroom user reset-2fa`).
#[derive(Clone)]
pub struct SecretKey([u8; 32]);

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretKey(..)")
    }
}

impl SecretKey {
    /// A key from raw bytes (for tests and tools).
    pub fn from_bytes(bytes: [u8; 32]) -> SecretKey {
        SecretKey(bytes)
    }

    /// A new random key.
    pub fn generate() -> SecretKey {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        SecretKey(bytes)
    }

    /// Reads the key from `data_dir` if it is there, without making one (for
    /// commands that only check).
    pub fn load_existing(data_dir: &Path) -> std::io::Result<Option<SecretKey>> {
        if data_dir.join(KEY_FILE).exists() {
            Self::load_or_create(data_dir).map(Some)
        } else {
            Ok(None)
        }
    }

    /// The key that seals the log witness, derived from this one
    /// ([`kitroom_core::witness::WitnessKey::derive`]).
    pub fn witness_key(&self) -> kitroom_core::witness::WitnessKey {
        kitroom_core::witness::WitnessKey::derive(&self.0)
    }

    /// Reads the key from `data_dir`, or on first start makes one and writes it
    /// readable by its owner only (mode 0600).
    pub fn load_or_create(data_dir: &Path) -> std::io::Result<SecretKey> {
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => {
                warn_if_readable_by_others(&path);
                from_hex(text.trim()).map(SecretKey).ok_or_else(|| {
                    std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!(
                            "{} is not a key Kitroom made (64 hexadecimal digits)",
                            path.display()
                        ),
                    )
                })
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key = SecretKey::generate();
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.mode(0o600);
                }
                let mut file = options.open(&path)?;
                use std::io::Write;
                writeln!(file, "{}", hex::encode(key.0))?;
                file.sync_all()?;
                tracing::info!(path = %path.display(), "made the key that seals two-step sign-in secrets: back it up with the database");
                Ok(key)
            }
            Err(e) => Err(e),
        }
    }

    fn cipher(&self) -> XChaCha20Poly1305 {
        XChaCha20Poly1305::new(&self.0.into())
    }

    /// Seals `plain` for `person`: a random nonce and the ciphertext, as hex. The
    /// person's id is bound in, so a sealed secret moved to another row will not open.
    pub fn seal(&self, person: Uuid, plain: &[u8]) -> Result<String, AppError> {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut chacha20poly1305::aead::OsRng);
        let sealed = self
            .cipher()
            .encrypt(
                &nonce,
                Payload {
                    msg: plain,
                    aad: person.as_bytes(),
                },
            )
            .map_err(|_| AppError::Internal("sealing a two-step secret failed".into()))?;
        Ok(format!("{}{}", hex::encode(nonce), hex::encode(sealed)))
    }

    /// Opens what [`SecretKey::seal`] sealed; `None` with the wrong key or person.
    pub fn open(&self, person: Uuid, sealed: &str) -> Option<Vec<u8>> {
        let bytes = hex::decode(sealed).ok()?;
        if bytes.len() < 24 {
            return None;
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        self.cipher()
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: person.as_bytes(),
                },
            )
            .ok()
    }
}

fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(path = %path.display(), "the key file can be read by other users: chmod 600 it");
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

fn from_hex(s: &str) -> Option<[u8; 32]> {
    hex::decode(s).ok()?.try_into().ok()
}

/// Seconds in one TOTP step.
const STEP: u64 = 30;

/// A TOTP for `secret`: SHA-1, 6 digits, 30 seconds, the settings every
/// authenticator app understands.
fn totp(secret: Vec<u8>, username: &str) -> Option<TOTP> {
    TOTP::new(
        Algorithm::SHA1,
        6,
        0,
        STEP,
        secret,
        Some("Kitroom".into()),
        username.to_owned(),
    )
    .ok()
}

/// The step (of 30 seconds) whose code `code` is, within one step of `now` either
/// side to allow for a phone's clock.
fn code_step(secret: &[u8], username: &str, code: &str, now: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let t = totp(secret.to_vec(), username)?;
    let now_step = now / STEP;
    [now_step.saturating_sub(1), now_step, now_step + 1]
        .into_iter()
        .find(|step| t.check(&code, step * STEP))
        .map(|step| step as i64)
}

fn now_unix() -> u64 {
    Utc::now().timestamp().max(0) as u64
}

/// How many recovery codes a person gets.
const RECOVERY_CODES: usize = 10;

/// New recovery codes, as shown to the person: 80 random bits each, written as four
/// groups of five hex digits.
fn new_recovery_codes() -> Vec<String> {
    (0..RECOVERY_CODES)
        .map(|_| {
            let mut bytes = [0u8; 10];
            OsRng.fill_bytes(&mut bytes);
            let h = hex::encode(bytes);
            format!("{}-{}-{}-{}", &h[0..5], &h[5..10], &h[10..15], &h[15..20])
        })
        .collect()
}

/// How a recovery code is stored: SHA-256 of the person's id and the code without
/// dashes or spaces, lower-case.
fn recovery_hash(person: Uuid, code: &str) -> String {
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    hex::encode(Sha256::digest(format!("{person}:{code}").as_bytes()))
}

/// How long the second step may wait after the password, in seconds.
const PENDING_FOR: i64 = 5 * 60;

async fn clear_pending(session: &Session) -> Result<(), AppError> {
    session.remove::<Uuid>(PENDING_PERSON_KEY).await?;
    session.remove::<i64>(PENDING_AT_KEY).await?;
    session.remove::<String>(PENDING_NEXT_KEY).await?;
    Ok(())
}

/// The person waiting for the second step, if the wait has not run out.
async fn pending(session: &Session) -> Result<Option<Uuid>, AppError> {
    let Some(person) = session.get::<Uuid>(PENDING_PERSON_KEY).await? else {
        return Ok(None);
    };
    let at = session.get::<i64>(PENDING_AT_KEY).await?.unwrap_or(0);
    if Utc::now().timestamp() - at > PENDING_FOR {
        clear_pending(session).await?;
        return Ok(None);
    }
    Ok(Some(person))
}

async fn code_page(session: Session) -> Result<Response, AppError> {
    if pending(&session).await?.is_none() {
        return Ok(Redirect::to("/login").into_response());
    }
    let csrf = csrf_token(&session).await?;
    Ok(v::code_page(&csrf, None).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CodeForm {
    code: String,
}

async fn code(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    FormBody(form): FormBody<CodeForm>,
) -> Result<Response, AppError> {
    let Some(id) = pending(&session).await? else {
        return Ok(Redirect::to("/login").into_response());
    };
    let csrf = csrf_token(&session).await?;
    let Some(person) = state.store().account_by_id(id).await?.filter(|p| p.active) else {
        clear_pending(&session).await?;
        return Ok(Redirect::to("/login").into_response());
    };
    // Nothing longer than a recovery code can be right: refused at once, unhashed.
    if form.code.chars().nth(CODE_MAX).is_some() {
        return Ok((
            StatusCode::UNPROCESSABLE_ENTITY,
            v::code_page(&csrf, Some("That is longer than any code: type the 6-digit code your authenticator app shows now, or one of your recovery codes.")),
        )
            .into_response());
    }
    let now = Utc::now();
    let counts = state
        .store()
        .sign_in_counts(&person.username, &address)
        .await?;
    match decide(&counts, now) {
        Decision::Wait { until, why } => {
            if state.throttle_refused(
                "person.two_factor_throttled",
                &person.username,
                &address,
                now,
                until,
            ) {
                tracing::warn!(username = person.username, address, %until, ?why, "second step throttled; further attempts until then are counted, not logged");
            }
            let message = match why {
                Refusal::Pair => format!(
                    "Too many wrong codes. For your security, wait {} and try again.",
                    wait_words(until - now)
                ),
                Refusal::Account => wait_message(why, until - now),
            };
            return Ok((
                StatusCode::TOO_MANY_REQUESTS,
                v::code_page(&csrf, Some(&message)),
            )
                .into_response());
        }
        Decision::Check { delay } => {
            if let Ok(delay) = delay.to_std() {
                tokio::time::sleep(delay).await;
            }
        }
    }
    let typed = form.code.trim();
    let mut accepted = false;
    if typed.chars().filter(|c| c.is_ascii_digit()).count() == 6 && typed.len() <= 8 {
        if let Some(tf) = state.store().two_factor(id).await?.filter(|t| t.confirmed) {
            let secret = state.secret_key().open(id, &tf.sealed_secret);
            if let Some(step) = secret
                .as_deref()
                .and_then(|s| code_step(s, &person.username, typed, now_unix()))
            {
                accepted = state.store().use_two_factor_step(id, step).await?;
            } else if secret.is_none() {
                tracing::error!(username = person.username, "a two-step secret does not open with kitroom.key: was the key file lost or replaced?");
            }
        }
    } else if !typed.is_empty() {
        accepted = state
            .store()
            .use_recovery_code(id, person.subject(), recovery_hash(id, typed))
            .await?;
    }
    if !accepted {
        tracing::info!(username = person.username, address, "second step failed");
        state
            .store()
            .record_sign_in_failed(Step::Code, person.username.clone(), address, now)
            .await?;
        return Ok((
            StatusCode::UNAUTHORIZED,
            v::code_page(&csrf, Some("That code is not right. Type the 6-digit code your authenticator app shows now, or one of your recovery codes.")),
        )
            .into_response());
    }
    let next = session
        .get::<String>(PENDING_NEXT_KEY)
        .await?
        .unwrap_or_else(|| "/".into());
    clear_pending(&session).await?;
    begin_session(&session, id, &address, user_agent(&headers)).await?;
    session.insert(TWO_FACTOR_KEY, true).await?;
    state.store().record_sign_in(&person, true, address).await?;
    Ok(Redirect::to(&safe_next(Some(&next))).into_response())
}

/// Whether the school requires two-step sign-in of this person.
async fn required(state: &AppState, ctx: &Ctx) -> Result<bool, AppError> {
    Ok(state
        .store()
        .settings(ctx.user.school)
        .await?
        .two_factor_required(ctx.user.role))
}

/// The setup page: a new secret (kept sealed and unconfirmed until a code from it is
/// typed), as a QR code and as text.
async fn setup_page(
    SetupCtx(ctx): SetupCtx,
    State(state): State<AppState>,
) -> Result<Response, AppError> {
    if state
        .store()
        .two_factor(ctx.user.id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        return Ok(v::already_on(&ctx).into_response());
    }
    let mut secret = vec![0u8; 20];
    OsRng.fill_bytes(&mut secret);
    let sealed = state.secret_key().seal(ctx.user.id, &secret)?;
    if !state.store().start_two_factor(ctx.user.id, sealed).await? {
        return Ok(Redirect::to("/account#two-factor").into_response());
    }
    let required = required(&state, &ctx).await?;
    render_setup(&ctx, &secret, required, None)
}

fn render_setup(
    ctx: &Ctx,
    secret: &[u8],
    required: bool,
    error: Option<&str>,
) -> Result<Response, AppError> {
    let t = totp(secret.to_vec(), &ctx.user.username)
        .ok_or_else(|| AppError::Internal("a two-step secret Kitroom made is invalid".into()))?;
    let status = if error.is_some() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        v::setup(ctx, &t.get_url(), &t.get_secret_base32(), required, error),
    )
        .into_response())
}

/// Confirms the setup with a code from the app, and shows the recovery codes once.
async fn confirm(
    SetupCtx(ctx): SetupCtx,
    State(state): State<AppState>,
    FormBody(form): FormBody<CodeForm>,
) -> Result<Response, AppError> {
    let Some(tf) = state.store().two_factor(ctx.user.id).await? else {
        return Ok(Redirect::to("/account/two-factor").into_response());
    };
    if tf.confirmed {
        return Ok(Redirect::to("/account#two-factor").into_response());
    }
    let Some(secret) = state.secret_key().open(ctx.user.id, &tf.sealed_secret) else {
        // Sealed under another key (kitroom.key replaced): start again.
        return Ok(Redirect::to("/account/two-factor").into_response());
    };
    let Some(step) = code_step(&secret, &ctx.user.username, &form.code, now_unix()) else {
        let required = required(&state, &ctx).await?;
        return render_setup(
            &ctx,
            &secret,
            required,
            Some("That code is not right. Type the 6-digit code the app shows now for Kitroom."),
        );
    };
    let codes = new_recovery_codes();
    let hashes = codes
        .iter()
        .map(|c| recovery_hash(ctx.user.id, c))
        .collect();
    if !state
        .store()
        .confirm_two_factor(
            ctx.user.actor(),
            ctx.user.subject(),
            ctx.user.id,
            step,
            hashes,
        )
        .await?
    {
        return Ok(Redirect::to("/account#two-factor").into_response());
    }
    ctx.session.insert(TWO_FACTOR_KEY, true).await?;
    Ok(v::recovery_codes(&ctx, &codes, true).into_response())
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct PasswordForm {
    password: String,
}

/// Turns two-step sign-in off, after the password; not where the school requires it.
async fn turn_off(
    ctx: Ctx,
    State(state): State<AppState>,
    FormBody(form): FormBody<PasswordForm>,
) -> Result<Response, AppError> {
    if required(&state, &ctx).await? {
        return Err(AppError::Conflict(
            "Your school requires two-step sign-in for your account, so it cannot be turned off. If you have a new phone, set it up again from the IT administrator's reset.".into(),
        ));
    }
    if !verify_password(ctx.user.password_hash.clone(), form.password).await {
        set_flash(
            &ctx.session,
            "Two-step sign-in is still on: the password was not right.",
        )
        .await?;
        return Ok(Redirect::to("/account#two-factor").into_response());
    }
    state
        .store()
        .remove_two_factor(ctx.user.actor(), ctx.user.subject(), ctx.user.id)
        .await?;
    ctx.session.remove::<bool>(TWO_FACTOR_KEY).await?;
    set_flash(&ctx.session, "Two-step sign-in is off.").await?;
    Ok(Redirect::to("/account#two-factor").into_response())
}

/// New recovery codes, replacing the old ones, shown once.
async fn new_codes(ctx: Ctx, State(state): State<AppState>) -> Result<Response, AppError> {
    if !state
        .store()
        .two_factor(ctx.user.id)
        .await?
        .is_some_and(|t| t.confirmed)
    {
        return Err(AppError::Conflict(
            "Set up two-step sign-in first; recovery codes come with it.".into(),
        ));
    }
    let codes = new_recovery_codes();
    let hashes = codes
        .iter()
        .map(|c| recovery_hash(ctx.user.id, c))
        .collect();
    state
        .store()
        .new_recovery_codes(ctx.user.actor(), ctx.user.subject(), ctx.user.id, hashes)
        .await?;
    Ok(v::recovery_codes(&ctx, &codes, false).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key_and_person() {
        let key = SecretKey::generate();
        let alice = Uuid::new_v4();
        let sealed = key.seal(alice, b"twenty bytes secret!").unwrap();
        assert!(!sealed.contains(&hex::encode(b"twenty bytes secret!")));
        assert_eq!(key.open(alice, &sealed).unwrap(), b"twenty bytes secret!");
        assert!(key.open(Uuid::new_v4(), &sealed).is_none());
        assert!(SecretKey::generate().open(alice, &sealed).is_none());
    }

    #[test]
    fn the_key_file_is_made_once_for_its_owner_only() {
        let dir = tempfile_dir();
        let a = SecretKey::load_or_create(&dir).unwrap();
        let b = SecretKey::load_or_create(&dir).unwrap();
        assert_eq!(a.0, b.0);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    fn tempfile_dir() -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("kitroom-key-{}", Uuid::new_v4()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn a_code_matches_its_step_and_the_ones_beside_it_only() {
        let secret = b"12345678901234567890".to_vec();
        let t = totp(secret.clone(), "sbm").unwrap();
        let now = 1_800_000_000u64;
        let code = t.generate(now);
        assert_eq!(
            code_step(&secret, "sbm", &code, now),
            Some((now / 30) as i64)
        );
        assert!(code_step(&secret, "sbm", &code, now + 30).is_some());
        assert!(code_step(&secret, "sbm", &code, now + 90).is_none());
        assert!(code_step(&secret, "sbm", "12345", now).is_none());
    }

    #[test]
    fn recovery_codes_are_long_random_and_typed_loosely() {
        let codes = new_recovery_codes();
        assert_eq!(codes.len(), 10);
        assert_eq!(codes[0].len(), 23);
        let p = Uuid::new_v4();
        assert_eq!(
            recovery_hash(p, &codes[0]),
            recovery_hash(p, &codes[0].to_uppercase().replace('-', " "))
        );
        assert_ne!(recovery_hash(p, &codes[0]), recovery_hash(p, &codes[1]));
    }
}
