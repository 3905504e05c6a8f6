//! Signing in with the school's Google or Microsoft account: OpenID Connect's
//! authorization code flow with PKCE, `state` and `nonce`.
//!
//! The `openidconnect` crate does the protocol: discovery, the provider's published
//! keys, and checking the ID token (signature, issuer, audience, expiry, nonce).
//! Kitroom decides who the verified token is ([`kitroom_core::provider`]): first by
//! a verified email address in an allowed domain, then by the provider's subject
//! kept with the person.
//!
//! `GET /sign-in/oidc` keeps one attempt in the session (state, nonce, PKCE
//! verifier, where to go after; ten minutes at most) and sends the browser to the
//! provider; `GET /sign-in/oidc/callback` takes the attempt out of the session (so
//! a callback works once), exchanges the code and signs the person in.

use std::time::{Duration, Instant};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::Utc;
use kitroom_core::person::{PersonDetails, PersonKind, Role};
use kitroom_core::provider::{self as rules, Identity};
use kitroom_store::people::Person;
use kitroom_store::provider::Link;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthPrompt, CoreAuthenticationFlow, CoreErrorResponseType,
    CoreGenderClaim, CoreJsonWebKey, CoreJweContentEncryptionAlgorithm, CoreJwsSigningAlgorithm,
    CoreProviderMetadata, CoreRevocableToken, CoreRevocationErrorResponse,
    CoreTokenIntrospectionResponse, CoreTokenType,
};
use openidconnect::{
    reqwest, AccessTokenHash, AdditionalClaims, AuthorizationCode, Client, ClientId, ClientSecret,
    CsrfToken, EmptyExtraTokenFields, EndpointMaybeSet, EndpointNotSet, EndpointSet, IdTokenFields,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, RedirectUrl, Scope,
    StandardErrorResponse, StandardTokenResponse, TokenResponse,
};
use serde::{Deserialize, Serialize};
use tower_sessions::Session;

use super::begin::{await_code, begin_session, safe_next};
use super::client::{user_agent, ClientAddr};
use super::csrf::csrf_token;
use crate::session::TWO_FACTOR_KEY;
use crate::views::auth as v;
use crate::{AppError, AppState, OidcConfig};

/// The address the provider sends people back to, under the public address.
pub const CALLBACK_PATH: &str = "/sign-in/oidc/callback";

/// How long a started sign-in may take at the provider.
const ATTEMPT_SECONDS: i64 = 10 * 60;

/// The session key of the one sign-in under way.
const ATTEMPT_KEY: &str = "oidc_attempt";

/// After a failed discovery, the provider is not asked again for this long.
const RETRY_AFTER: Duration = Duration::from_secs(30);

/// The discovered metadata (with the provider's keys) is fetched again after this
/// long, so rotated keys are picked up.
const REFRESH_AFTER: Duration = Duration::from_secs(3600);

/// How long one request to the provider may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Over-long callback values are refused before anything is done with them.
const CALLBACK_VALUE_MAX: usize = 4_000;

/// The claims Kitroom reads beyond the standard ones: Google's hosted domain and
/// Microsoft Entra's tenant.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SchoolClaims {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    hd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    tid: Option<String>,
}

impl AdditionalClaims for SchoolClaims {}

type Fields = IdTokenFields<
    SchoolClaims,
    EmptyExtraTokenFields,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJwsSigningAlgorithm,
>;
type Tokens = StandardTokenResponse<Fields, CoreTokenType>;
type OidcClient = Client<
    SchoolClaims,
    CoreAuthDisplay,
    CoreGenderClaim,
    CoreJweContentEncryptionAlgorithm,
    CoreJsonWebKey,
    CoreAuthPrompt,
    StandardErrorResponse<CoreErrorResponseType>,
    Tokens,
    CoreTokenIntrospectionResponse,
    CoreRevocableToken,
    CoreRevocationErrorResponse,
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// Whether `url` is plain http to this machine (the tests' provider): the only
/// place the provider may be reached without https.
pub fn is_loopback_http(url: &url::Url) -> bool {
    url.scheme() == "http"
        && match url.host() {
            Some(url::Host::Ipv4(a)) => a.is_loopback(),
            Some(url::Host::Ipv6(a)) => a.is_loopback(),
            Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
            None => false,
        }
}

/// Checks the provider settings as given: an https issuer (plain http only on
/// loopback), a client id and secret, at least one allowed domain. The message says
/// which setting to fix.
pub fn check_config(c: &OidcConfig) -> Result<(), String> {
    let issuer = url::Url::parse(&c.issuer).map_err(|e| {
        format!(
            "--oidc-issuer {:?} is not an address ({e}); it is like https://accounts.google.com",
            c.issuer
        )
    })?;
    if issuer.scheme() != "https" && !is_loopback_http(&issuer) {
        return Err(format!(
            "--oidc-issuer {:?} must start with https:// (plain http is allowed only on this machine, for tests)",
            c.issuer
        ));
    }
    if c.client_id.trim().is_empty() {
        return Err(
            "--oidc-client-id (KITROOM_OIDC_CLIENT_ID) is needed with --oidc-issuer".into(),
        );
    }
    if c.client_secret.is_empty() {
        return Err(
            "--oidc-client-secret or --oidc-client-secret-file is needed with --oidc-issuer".into(),
        );
    }
    if c.allowed_domains.is_empty() {
        return Err("--oidc-allowed-domains (KITROOM_OIDC_ALLOWED_DOMAINS) is needed with --oidc-issuer: the school's email domains, comma-separated, such as school.example".into());
    }
    Ok(())
}

/// The school's OpenID provider, as configured, with what discovery found.
pub struct Provider {
    config: OidcConfig,
    redirect: RedirectUrl,
    http: reqwest::Client,
    discovered: tokio::sync::Mutex<Discovered>,
}

#[derive(Default)]
struct Discovered {
    metadata: Option<(CoreProviderMetadata, Instant)>,
    failed_at: Option<Instant>,
}

impl Provider {
    /// The provider for `config`, sending people back to `public_url`'s callback.
    pub fn new(
        config: OidcConfig,
        public_url: &kitroom_core::link::PublicUrl,
    ) -> Result<Provider, String> {
        check_config(&config)?;
        let redirect = RedirectUrl::new(public_url.link(CALLBACK_PATH))
            .map_err(|e| format!("the public address does not make a callback address: {e}"))?;
        let loopback = url::Url::parse(&config.issuer).is_ok_and(|u| is_loopback_http(&u));
        let http = reqwest::ClientBuilder::new()
            // Following redirects would let a provider's answer lead Kitroom elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!loopback)
            .timeout(REQUEST_TIMEOUT)
            .build()
            .map_err(|e| format!("cannot make the HTTP client for the provider: {e}"))?;
        Ok(Provider {
            config,
            redirect,
            http,
            discovered: Default::default(),
        })
    }

    pub fn issuer(&self) -> &str {
        &self.config.issuer
    }

    /// "Google", "Microsoft", the school's name for it, or its address.
    pub fn name(&self, setting: &str) -> String {
        let host = url::Url::parse(&self.config.issuer)
            .ok()
            .and_then(|u| u.host_str().map(str::to_owned))
            .unwrap_or_default();
        match host.as_str() {
            "accounts.google.com" => "Google".into(),
            "login.microsoftonline.com" => "Microsoft".into(),
            _ if !setting.trim().is_empty() => setting.trim().to_owned(),
            _ => host,
        }
    }

    /// Asks the provider for its metadata and keys, unless known lately; a failure
    /// is logged and remembered for [`RETRY_AFTER`].
    pub async fn discover(&self) -> Result<CoreProviderMetadata, String> {
        let mut d = self.discovered.lock().await;
        if let Some((m, at)) = &d.metadata {
            if at.elapsed() < REFRESH_AFTER {
                return Ok(m.clone());
            }
        }
        if d.failed_at.is_some_and(|t| t.elapsed() < RETRY_AFTER) && d.metadata.is_none() {
            return Err("the provider could not be reached a moment ago".into());
        }
        let issuer = IssuerUrl::new(self.config.issuer.clone()).map_err(|e| e.to_string())?;
        match CoreProviderMetadata::discover_async(issuer, &self.http).await {
            Ok(m) => {
                tracing::info!(issuer = self.config.issuer, "OpenID provider discovered");
                d.metadata = Some((m.clone(), Instant::now()));
                d.failed_at = None;
                Ok(m)
            }
            Err(e) => {
                let why = error_chain(&e);
                tracing::error!(issuer = self.config.issuer, error = why, "cannot reach the OpenID provider (discovery failed): signing in with it is not available until it answers; password sign-in still works. Kitroom tries again when someone next signs in with it");
                d.failed_at = Some(Instant::now());
                match &d.metadata {
                    // Keep using what was found before when a refresh fails.
                    Some((m, _)) => Ok(m.clone()),
                    None => Err(why),
                }
            }
        }
    }

    async fn client(&self) -> Result<OidcClient, String> {
        let metadata = self.discover().await?;
        Ok(OidcClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone()))
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        source = inner.source();
    }
    s
}

/// What the sign-in page offers, from the provider and the school's settings.
pub(crate) async fn choices(state: &AppState) -> Result<v::Choices, AppError> {
    let Some(p) = state.oidc() else {
        return Ok(v::Choices::default());
    };
    let settings = state
        .store()
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await?;
    Ok(v::Choices {
        provider: Some(p.name(&settings.provider_name)),
        password_for_admins_only: settings.password_sign_in_admins_only,
    })
}

/// The one sign-in under way, kept in the session.
#[derive(Debug, Serialize, Deserialize)]
struct Attempt {
    state: String,
    nonce: String,
    verifier: String,
    at: i64,
    next: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct StartQuery {
    next: Option<String>,
}

/// `GET /sign-in/oidc`: off to the provider.
pub(super) async fn start(
    State(state): State<AppState>,
    session: Session,
    Query(q): Query<StartQuery>,
) -> Result<Response, AppError> {
    let Some(p) = state.oidc() else {
        return Err(AppError::NotFound);
    };
    let next = safe_next(q.next.as_deref());
    let client = match p.client().await {
        Ok(c) => c,
        Err(_) => {
            let choices = choices(&state).await?;
            let name = choices.provider.clone().unwrap_or_default();
            let csrf = csrf_token(&session).await?;
            let message = format!("Signing in with {name} is not available just now: Kitroom cannot reach it. Try again in a few minutes; IT administrators can sign in with their password.");
            return Ok((
                StatusCode::SERVICE_UNAVAILABLE,
                v::login(&csrf, "", &next, Some(&message), None, &choices),
            )
                .into_response());
        }
    };
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let (url, csrf_state, nonce) = client
        .authorize_url(
            CoreAuthenticationFlow::AuthorizationCode,
            CsrfToken::new_random,
            Nonce::new_random,
        )
        .add_scope(Scope::new("email".into()))
        .add_scope(Scope::new("profile".into()))
        .set_pkce_challenge(challenge)
        .url();
    // One attempt at a time: a new start replaces any earlier one.
    session
        .insert(
            ATTEMPT_KEY,
            Attempt {
                state: csrf_state.secret().clone(),
                nonce: nonce.secret().clone(),
                verifier: verifier.secret().clone(),
                at: Utc::now().timestamp(),
                next,
            },
        )
        .await?;
    Ok(Redirect::to(url.as_str()).into_response())
}

#[derive(Deserialize, Default)]
#[serde(default)]
pub struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// A refused provider sign-in: counted and gathered like refused password
/// sign-ins (one activity log entry a stretch), and the sign-in page with why.
struct Refusal {
    status: StatusCode,
    action: &'static str,
    who: String,
    message: String,
}

fn refusal(
    status: StatusCode,
    action: &'static str,
    who: &str,
    message: impl Into<String>,
) -> Refusal {
    Refusal {
        status,
        action,
        who: who.to_owned(),
        message: message.into(),
    }
}

/// `GET /sign-in/oidc/callback`: the provider sent the person back.
pub(super) async fn callback(
    State(state): State<AppState>,
    session: Session,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> Result<Response, AppError> {
    let Some(p) = state.oidc() else {
        return Err(AppError::NotFound);
    };
    // Taken out at once: a callback is good once.
    let attempt = session.remove::<Attempt>(ATTEMPT_KEY).await?;
    let next = attempt
        .as_ref()
        .map(|a| a.next.clone())
        .unwrap_or_else(|| "/".into());
    match finish(&state, p, &session, &address, &headers, attempt, q).await? {
        Ok(response) => Ok(response),
        Err(r) => {
            let now = Utc::now();
            let first = state.throttle_refused(
                r.action,
                &r.who,
                &address,
                now,
                now + chrono::Duration::minutes(1),
            );
            if first {
                tracing::warn!(action = r.action, who = r.who, address, "sign-in through the provider refused; more like it from this address in the next minute are counted, not logged");
            }
            let choices = choices(&state).await?;
            let csrf = csrf_token(&session).await?;
            Ok((
                r.status,
                v::login(&csrf, "", &next, Some(&r.message), None, &choices),
            )
                .into_response())
        }
    }
}

const REFUSED: &str = "person.provider_sign_in_refused";

async fn finish(
    state: &AppState,
    p: &Provider,
    session: &Session,
    address: &str,
    headers: &HeaderMap,
    attempt: Option<Attempt>,
    q: CallbackQuery,
) -> Result<Result<Response, Refusal>, AppError> {
    let start_again =
        "This sign-in has expired or was already finished. Start again from the sign-in page.";
    let too_long = |v: &Option<String>| v.as_ref().is_some_and(|s| s.len() > CALLBACK_VALUE_MAX);
    if too_long(&q.code) || too_long(&q.state) || too_long(&q.error) {
        return Ok(Err(refusal(
            StatusCode::BAD_REQUEST,
            REFUSED,
            "",
            start_again,
        )));
    }
    let Some(attempt) = attempt.filter(|a| Utc::now().timestamp() - a.at <= ATTEMPT_SECONDS) else {
        return Ok(Err(refusal(
            StatusCode::BAD_REQUEST,
            REFUSED,
            "",
            start_again,
        )));
    };
    if q.state.as_deref() != Some(attempt.state.as_str()) {
        return Ok(Err(refusal(
            StatusCode::BAD_REQUEST,
            REFUSED,
            "",
            start_again,
        )));
    }
    if let Some(error) = q.error {
        let message = if error == "access_denied" {
            "The sign-in was cancelled at the provider. Start again to sign in.".to_owned()
        } else {
            "The provider did not sign you in. Start again; if it keeps happening, tell the IT administrator.".to_owned()
        };
        return Ok(Err(refusal(StatusCode::FORBIDDEN, REFUSED, "", message)));
    }
    let Some(code) = q.code.filter(|c| !c.is_empty()) else {
        return Ok(Err(refusal(
            StatusCode::BAD_REQUEST,
            REFUSED,
            "",
            start_again,
        )));
    };
    let not_confirmed = "Kitroom could not confirm this sign-in with the provider. Start again from the sign-in page.";
    let client = match p.client().await {
        Ok(c) => c,
        Err(_) => {
            return Ok(Err(refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                REFUSED,
                "",
                "The provider cannot be reached just now. Try again in a few minutes.",
            )))
        }
    };
    let request = match client.exchange_code(AuthorizationCode::new(code)) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "the provider has no token endpoint");
            return Ok(Err(refusal(
                StatusCode::SERVICE_UNAVAILABLE,
                REFUSED,
                "",
                not_confirmed,
            )));
        }
    };
    let tokens = match request
        .set_pkce_verifier(PkceCodeVerifier::new(attempt.verifier))
        .request_async(&p.http)
        .await
    {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(
                error = error_chain(&e),
                "the provider refused the sign-in's code"
            );
            return Ok(Err(refusal(
                StatusCode::FORBIDDEN,
                REFUSED,
                "",
                not_confirmed,
            )));
        }
    };
    let Some(id_token) = tokens.id_token() else {
        return Ok(Err(refusal(
            StatusCode::FORBIDDEN,
            REFUSED,
            "",
            not_confirmed,
        )));
    };
    let verifier = client.id_token_verifier();
    let nonce = Nonce::new(attempt.nonce);
    let claims = match id_token.claims(&verifier, &nonce) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!(error = error_chain(&e), "an ID token was refused");
            return Ok(Err(refusal(
                StatusCode::FORBIDDEN,
                REFUSED,
                "",
                not_confirmed,
            )));
        }
    };
    if let Some(expected) = claims.access_token_hash() {
        let matches = id_token
            .signing_alg()
            .ok()
            .zip(id_token.signing_key(&verifier).ok())
            .and_then(|(alg, key)| {
                AccessTokenHash::from_token(tokens.access_token(), alg, key).ok()
            })
            .is_some_and(|actual| actual == *expected);
        if !matches {
            tracing::warn!("an ID token's access token hash did not match");
            return Ok(Err(refusal(
                StatusCode::FORBIDDEN,
                REFUSED,
                "",
                not_confirmed,
            )));
        }
    }
    let id = Identity {
        subject: claims.subject().as_str().to_owned(),
        email: claims.email().map(|e| e.as_str().to_owned()),
        email_verified: claims.email_verified(),
        name: claims
            .name()
            .and_then(|n| n.get(None))
            .map(|n| n.as_str().to_owned()),
        hosted_domain: claims.additional_claims().hd.clone(),
        tenant: claims.additional_claims().tid.clone(),
        methods: claims
            .auth_method_refs()
            .map(|m| m.iter().map(|r| r.as_str().to_owned()).collect())
            .unwrap_or_default(),
    };
    let who = id.email.clone().unwrap_or_else(|| id.subject.clone());
    tracing::debug!(subject = id.subject, methods = ?id.methods, "ID token verified");
    let allowed = &p.config.allowed_domains;
    if let Err(r) = rules::check_organisation(&id, p.issuer(), allowed) {
        return Ok(Err(refusal(
            StatusCode::FORBIDDEN,
            r.action(),
            &who,
            r.message(),
        )));
    }
    let person = match who_is(state, p, &id, &who).await? {
        Ok(person) => person,
        Err(r) => return Ok(Err(r)),
    };
    if !person.active {
        return Ok(Err(refusal(
            StatusCode::FORBIDDEN,
            "person.provider_sign_in_deactivated",
            &person.username,
            "This account has been deactivated. If you still need Kitroom, ask the business manager.",
        )));
    }
    let settings = state
        .store()
        .settings(kitroom_core::school::SchoolId::FIRST)
        .await?;
    let two_factors = rules::used_two_factors(&id) || settings.provider_counts_as_two_step;
    let has_code = state
        .store()
        .two_factor(person.id)
        .await?
        .is_some_and(|t| t.confirmed);
    if !two_factors && has_code && person.role != Role::Borrower {
        // As after a password: Kitroom asks for its own code.
        await_code(session, person.id, &attempt.next).await?;
        return Ok(Ok(Redirect::to("/login/code").into_response()));
    }
    begin_session(session, person.id, address, user_agent(headers)).await?;
    if two_factors {
        // The provider's second factor, or the school's word that its sign-in is one.
        session.insert(TWO_FACTOR_KEY, true).await?;
    }
    state
        .store()
        .record_provider_sign_in(&person, address.to_owned(), two_factors)
        .await?;
    Ok(Ok(Redirect::to(&attempt.next).into_response()))
}

/// The person this verified identity is: by the subject kept with them, else by a
/// verified email address in an allowed domain (then linked), else a new borrower
/// where the school allows it.
async fn who_is(
    state: &AppState,
    p: &Provider,
    id: &Identity,
    who: &str,
) -> Result<Result<Person, Refusal>, AppError> {
    if let Some(person) = state
        .store()
        .person_by_provider_subject(p.issuer(), &id.subject)
        .await?
    {
        return Ok(Ok(person));
    }
    let email = match rules::matching_email(id, &p.config.allowed_domains) {
        Ok(e) => e,
        Err(r) => {
            return Ok(Err(refusal(
                StatusCode::FORBIDDEN,
                r.action(),
                who,
                r.message(),
            )))
        }
    };
    let people = state.store().people_with_email(&email).await?;
    let unknown = "Kitroom does not know you yet. Ask the business manager to add you.";
    match people.as_slice() {
        [] => {
            if !state.store().settings(kitroom_core::school::SchoolId::FIRST).await?.provider_creates_borrowers {
                return Ok(Err(refusal(
                    StatusCode::FORBIDDEN,
                    "person.provider_sign_in_unknown",
                    who,
                    unknown,
                )));
            }
            let full_name = id
                .name
                .clone()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or_else(|| email.clone());
            let candidates = (1..=20)
                .filter_map(|n| rules::username_from_email(&email, n))
                .map(|username| PersonDetails {
                    username,
                    full_name: full_name.chars().take(120).collect(),
                    email: Some(email.clone()),
                    position: String::new(),
                    kind: PersonKind::Staff,
                    role: Role::Borrower,
                })
                .collect();
            match state
                .store()
                .create_provider_borrower(candidates, p.issuer(), &id.subject)
                .await?
            {
                Some(person) => Ok(Ok(person)),
                None => Ok(Err(refusal(
                    StatusCode::FORBIDDEN,
                    "person.provider_sign_in_unknown",
                    who,
                    unknown,
                ))),
            }
        }
        [person] => match state
            .store()
            .link_provider_subject(person, p.issuer(), &id.subject)
            .await?
        {
            Link::Linked => Ok(Ok(person.clone())),
            Link::PersonTaken | Link::SubjectTaken => Ok(Err(refusal(
                StatusCode::FORBIDDEN,
                "person.provider_sign_in_conflict",
                who,
                "This school account is already linked to another Kitroom account. Ask the IT administrator.",
            ))),
        },
        _ => Ok(Err(refusal(
            StatusCode::FORBIDDEN,
            "person.provider_sign_in_conflict",
            who,
            "More than one Kitroom account has this email address, so Kitroom cannot tell which is yours. Ask the business manager.",
        ))),
    }
}
