//! Hashing a new password: argon2id (the crate's defaults follow OWASP's advice),
//! off the async threads, a few at a time.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher, SaltString};
use argon2::Argon2;

use crate::Error;

/// Password hashing is deliberately expensive (19 MiB, 2 passes): at most one fewer
/// than the cores at a time (and at least one), so a burst of sign-ins waits its
/// turn and one core is always left for check-outs. Checking a password at sign-in
/// takes a permit from the same place.
pub fn permits() -> &'static tokio::sync::Semaphore {
    static PERMITS: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();
    PERMITS.get_or_init(|| {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        tokio::sync::Semaphore::new(cores.saturating_sub(1).max(1))
    })
}

/// The argon2id hash of a new password (already checked by
/// `kitroom_core::person::new_password`).
pub async fn hash(password: String) -> Result<String, Error> {
    let _permit = permits()
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
    .map_err(|e| Error::Internal(e.to_string()))
}
