//! Random tokens: the session's CSRF token, calendar feed addresses and personal
//! API tokens (stored as their hash).

use argon2::password_hash::rand_core::{OsRng, RngCore};
use sha2::{Digest, Sha256};

/// 32 random bytes from the operating system, as hex.
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// How an API token is stored: its SHA-256. Tokens are random, so no salt is needed.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.trim().as_bytes()))
}

/// A new personal API token: `kr_` and 64 hex digits.
pub fn new_api_token() -> String {
    format!("kr_{}", random_token())
}
