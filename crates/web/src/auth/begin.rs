//! The last step every way of signing in shares: where to go afterwards
//! ([`safe_next`]), a signed-in session ([`begin_session`]), or one waiting for the
//! second step's code ([`await_code`]). Used by the password sign-in, the school
//! account's ([`super::oidc`]), the first admin's setup link, the emailed links and
//! two-step sign-in.

use chrono::Utc;
use tower_sessions::Session;
use uuid::Uuid;

use super::tokens::random_token;
use crate::session::{PENDING_AT_KEY, PENDING_NEXT_KEY, PENDING_PERSON_KEY, PERSON_KEY};
use crate::AppError;

/// The longest `next` kept (it travels in the sign-in page's address, its form and,
/// during the second step, in the session).
const NEXT_MAX: usize = 2_000;

/// Where to go after signing in: a page of this site, or home.
///
/// `next` comes from a link anyone can write, so it is read the way a browser
/// would read it in a `Location` header: a browser drops tabs and newlines, turns
/// backslashes into slashes and takes `//host` for another site, so `/\t/evil`
/// would lead away. Anything longer than [`NEXT_MAX`], or with a control
/// character, a space, a backslash or a character a header cannot carry, is
/// refused outright; what is left must resolve, by the WHATWG URL rules the `url`
/// crate implements, to a path on this site, and the answer is that resolved path
/// (so it is always a valid header).
pub(crate) fn safe_next(next: Option<&str>) -> String {
    next.and_then(site_path).unwrap_or_else(|| "/".to_owned())
}

fn site_path(next: &str) -> Option<String> {
    if next.len() > NEXT_MAX
        || !next.starts_with('/')
        || next.starts_with("//")
        || !next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\')
    {
        return None;
    }
    let base = url::Url::parse("http://kitroom.invalid/").ok()?;
    let to = base.join(next).ok()?;
    (to.origin() == base.origin()).then(|| to[url::Position::BeforePath..].to_owned())
}

/// Makes `session` a signed-in session of `person`: a fresh session id (so an id
/// planted before sign-in is worthless), a fresh CSRF token, and when, from where
/// and from which browser it signed in, for the person's list of sessions.
pub(crate) async fn begin_session(
    session: &Session,
    person: Uuid,
    address: &str,
    browser: &str,
) -> Result<(), AppError> {
    let now = Utc::now().timestamp();
    session.cycle_id().await?;
    session.insert(PERSON_KEY, person).await?;
    // A new sign-in starts in the person's first school.
    session
        .remove::<kitroom_core::school::SchoolId>(crate::session::SCHOOL_KEY)
        .await?;
    session
        .insert(crate::session::SIGNED_IN_AT_KEY, now)
        .await?;
    session.insert(crate::session::SEEN_KEY, now).await?;
    session
        .insert(crate::session::ADDRESS_KEY, truncate(address, 100))
        .await?;
    session
        .insert(crate::session::BROWSER_KEY, truncate(browser, 300))
        .await?;
    session.insert("csrf", random_token()).await?;
    Ok(())
}

fn truncate(s: &str, chars: usize) -> String {
    s.chars().take(chars).collect()
}

/// Marks `session` as waiting for `person`'s code (the password was right): a fresh
/// session id, and no signed-in person yet.
pub(crate) async fn await_code(
    session: &Session,
    person: Uuid,
    next: &str,
) -> Result<(), AppError> {
    session.cycle_id().await?;
    session.insert(PENDING_PERSON_KEY, person).await?;
    session
        .insert(PENDING_AT_KEY, Utc::now().timestamp())
        .await?;
    session.insert(PENDING_NEXT_KEY, next).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn only_a_path_of_this_site_is_followed_after_sign_in() {
        assert_eq!(
            safe_next(Some("/devices?q=ipad#top")),
            "/devices?q=ipad#top"
        );
        assert_eq!(safe_next(Some("/a/../loans")), "/loans");
        for away in [
            "//evil.example",
            "/\t/evil.example",
            "/\\evil.example",
            "https://evil.example",
            "evil.example",
            "/\n",
            "/é",
            "",
        ] {
            assert_eq!(safe_next(Some(away)), "/", "{away:?}");
        }
        assert_eq!(safe_next(None), "/");
    }
}
