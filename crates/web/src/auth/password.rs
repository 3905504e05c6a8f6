//! Passwords: checked with argon2id off the async threads, a few at a time. Hashing
//! a new one is [`kitroom_app::password::hash`]; checking shares its permits.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

use crate::AppError;

fn hashing_permits() -> &'static tokio::sync::Semaphore {
    kitroom_app::password::permits()
}

/// Hashes a password with argon2id, off the async threads: see
/// [`kitroom_app::password::hash`].
pub async fn hash_password(password: String) -> Result<String, AppError> {
    Ok(kitroom_app::password::hash(password).await?)
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
