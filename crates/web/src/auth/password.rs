//! Passwords: hashed with argon2id off the async threads, a few at a time.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::AppError;

/// Password hashing is deliberately expensive (19 MiB, 2 passes): at most one fewer
/// than the cores at a time (and at least one), so a burst of sign-ins waits its
/// turn and one core is always left for check-outs.
fn hashing_permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// Hashes a password with argon2id (the crate's defaults follow OWASP's advice), off
/// the async threads.
pub async fn hash_password(password: String) -> Result<String, AppError> {
    let _permit = hashing_permits()
        .acquire()
        .await
        .map_err(AppError::internal)?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(AppError::internal)?
    .map_err(|e| AppError::Internal(e.to_string().into()))
}

/// Checks a password against a stored hash, off the async threads. With no hash (an
/// unknown username), a dummy hash is checked so the answer takes as long either way.
pub async fn verify_password(hash: Option<String>, password: String) -> bool {
    let Ok(_permit) = hashing_permits().acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        let dummy = dummy_hash();
        let (hash, real) = match hash {
            Some(h) => (h, true),
            None => (dummy.to_owned(), false),
        };
        let Ok(parsed) = PasswordHash::new(&hash) else {
            return false;
        };
        Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && real
    })
    .await
    .unwrap_or(false)
}

fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(b"not a real password", &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}
