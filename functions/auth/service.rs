//! The auth service: accounts (`identities`, keyed by email), sessions
//! (refresh-token families, see [`super::sessions`]), login throttling (see
//! [`super::throttle`]) and access tokens signed by the key ring.
//!
//! Handlers call these functions; nothing here knows about HTTP beyond the
//! [`ApiError`] it answers with.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use jojomart_shared::{
    auth::{
        config::AuthConfig,
        email::Email,
        entra::EntraVerifier,
        jwt::{self, TokenSettings},
        keyring::{KeyRing, KeyRingError, KeyRingSettings},
        keys::{KeyError, SigningKey, VerifyingKey},
        password::{Password, PasswordError, PasswordHasher},
        refresh::RefreshToken,
        verifier::JwtVerifier,
        Principal, Role,
    },
    cache::SharedCache,
    clock::SharedClock,
    config::Config,
    domain::{DisplayName, UserId},
    error::{ApiError, FieldError},
    store::{to_body, Container, Filter, Query, SharedStore, StoreError},
};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::{
    sessions,
    sign_in::SignInListeners,
    throttle,
    tokens::{self, Purpose},
};
use crate::{
    outbox::Outbox,
    state::Adapters,
    table::ExportSection,
    users::{self, Users},
};

/// The container of accounts (partition key `email`; id from [`identity_id`]).
pub const IDENTITIES: &Container = &Container::new("identities", "email");

/// The characters Cosmos DB forbids in a document id (they would be read as
/// part of the resource path); the SQLite adapter refuses them too.
const FORBIDDEN_IN_IDS: [char; 4] = ['/', '\\', '?', '#'];

/// The document id of the account named by a normalised email.
///
/// An address holding none of [`FORBIDDEN_IN_IDS`] is its own id, as it has
/// always been, so existing accounts stay readable. Any other address is
/// named by the hex SHA-256 of its text: no `@` in it, so it cannot collide
/// with an address kept as written.
pub fn identity_id(email: &str) -> String {
    if email.contains(FORBIDDEN_IN_IDS) {
        hex::encode(Sha256::digest(email.as_bytes()))
    } else {
        email.to_owned()
    }
}

/// The container of store-managed signing keys (partition key `kid`).
pub const SIGNING_KEYS: &Container = &Container::new("signingKeys", "kid");

/// What the auth service holds for the life of the process: its handle.
#[derive(Debug, Clone)]
pub struct Auth {
    pub(super) store: SharedStore,
    pub(super) cache: SharedCache,
    pub(super) clock: SharedClock,
    pub(super) config: AuthConfig,
    pub(super) admin_emails: Vec<String>,
    pub(super) users: Users,
    /// Relays the account mails staged beside their tokens.
    pub(super) outbox: Outbox,
    /// The signing keys (and the JWKS).
    pub keys: Arc<KeyRing>,
    /// Verifies bearer tokens; also installed as the app's [`jojomart_shared::auth::TokenVerifier`].
    pub verifier: Arc<JwtVerifier>,
    /// Hashes and checks passwords.
    pub passwords: PasswordHasher,
    /// Issuer, audience and lifetime of access tokens.
    pub tokens: TokenSettings,
    /// Who hears about sign-ins ([`Auth::on_sign_in`]).
    pub(super) listeners: SignInListeners,
}

/// Why the auth service could not start; the message names the setting.
#[derive(Debug, thiserror::Error)]
pub enum AuthStartError {
    /// The configured signing key is unusable.
    #[error("{setting}: {source}")]
    Key {
        /// The setting.
        setting: &'static str,
        /// Why.
        source: KeyError,
    },
    /// The store-managed keys could not be loaded or generated.
    #[error("cannot load the access-token signing keys from the store: {0}")]
    KeyRing(#[from] KeyRingError),
    /// The password hashing parameters are unusable.
    #[error("JOJOMART_ARGON2_*: {0}")]
    Password(#[from] PasswordError),
}

impl Auth {
    /// Loads the signing keys (configured, or from the store, generating the
    /// first) and builds the verifier.
    ///
    /// # Errors
    /// [`AuthStartError`] naming what to fix.
    pub async fn start(
        config: &Config,
        adapters: &Adapters,
        users: Users,
        outbox: Outbox,
    ) -> Result<Self, AuthStartError> {
        let c = &config.auth;
        let tokens = TokenSettings {
            issuer: c.issuer.clone(),
            audience: c.audience.clone(),
            ttl: c.access_token_ttl,
        };
        let ring_settings = KeyRingSettings::new(SIGNING_KEYS, c.access_token_ttl, c.key_rotation);
        let keys = match &c.signing_key {
            Some(pem) => {
                let current =
                    SigningKey::from_pem(pem.expose()).map_err(|source| AuthStartError::Key {
                        setting: "JOJOMART_JWT_SIGNING_KEY",
                        source,
                    })?;
                let previous = match &c.previous_signing_key {
                    Some(pem) => vec![VerifyingKey::from_pem(pem.expose()).map_err(|source| {
                        AuthStartError::Key {
                            setting: "JOJOMART_JWT_PREVIOUS_SIGNING_KEY",
                            source,
                        }
                    })?],
                    None => Vec::new(),
                };
                KeyRing::configured(
                    current,
                    previous,
                    adapters.store.clone(),
                    adapters.clock.clone(),
                    ring_settings,
                )
            }
            None => {
                KeyRing::from_store(
                    adapters.store.clone(),
                    adapters.clock.clone(),
                    ring_settings,
                )
                .await?
            }
        };
        let keys = Arc::new(keys);
        let entra = c.entra.as_ref().map(|e| EntraVerifier::new(e.settings()));
        let verifier = Arc::new(JwtVerifier::new(
            keys.clone(),
            &tokens,
            entra,
            adapters.clock.clone(),
        ));
        Ok(Self {
            store: adapters.store.clone(),
            cache: adapters.cache.clone(),
            clock: adapters.clock.clone(),
            config: c.clone(),
            admin_emails: config.admin_emails.clone(),
            users,
            outbox,
            keys,
            verifier,
            passwords: PasswordHasher::new(c.password)?,
            tokens,
            listeners: SignInListeners::default(),
        })
    }
}

/// An account as stored in `identities`. Roles are not stored: they are
/// worked out whenever tokens are issued ([`roles_of`]).
#[derive(Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The normalised email (the partition key; the id is [`identity_id`] of it).
    pub email: String,
    /// The user id.
    pub user_id: UserId,
    /// The argon2id PHC string.
    pub password_hash: String,
    /// The display name given at registration, to re-create a profile that a
    /// crash kept from being written (the profile holds the current name).
    #[serde(default)]
    pub name: Option<String>,
    /// When the email was verified (a verification link, or a password reset
    /// by mail), if it was.
    #[serde(default)]
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Identity")
            .field("user_id", &self.user_id)
            .field("password_hash", &"<redacted>")
            .field("email_verified_at", &self.email_verified_at)
            .field("created_at", &self.created_at)
            .finish_non_exhaustive()
    }
}

/// The roles an account holds now: `customer`, and `admin` when its email is
/// listed in `JOJOMART_ADMIN_EMAILS` (and, under `serve`, verified). Asked at
/// every login and refresh, so a change of the list takes effect at the next.
pub fn roles_of(auth: &Auth, identity: &Identity) -> Vec<Role> {
    let mut roles = vec![Role::Customer];
    let listed = auth.admin_emails.contains(&identity.email);
    let verified = identity.email_verified_at.is_some() || !auth.config.admin_needs_verified_email;
    if listed && verified {
        roles.push(Role::Admin);
    }
    roles
}

impl Identity {
    fn principal(&self, auth: &Auth) -> Principal {
        Principal {
            user_id: self.user_id.clone(),
            email: self.email.clone(),
            roles: roles_of(auth, self),
        }
    }
}

/// The user part of a session answer.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct SessionUser {
    /// The user id.
    pub id: String,
    /// The normalised email.
    pub email: String,
    /// The display name.
    pub name: String,
    /// The roles.
    pub roles: Vec<Role>,
    /// Whether the email is verified (a storefront offers a new verification
    /// link only when it is not).
    pub email_verified: bool,
}

/// A new session: who, an access token and a refresh token.
#[derive(Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    /// The signed-in user.
    pub user: SessionUser,
    /// A JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// An opaque token for `POST /api/auth/refresh`; single use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("user", &self.user)
            .field("access_token", &"<redacted>")
            .field("refresh_token", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// A registration, parsed.
pub struct Registration {
    /// The account name.
    pub email: Email,
    /// The new password.
    pub password: Password,
    /// The display name, trimmed.
    pub name: DisplayName,
}

impl std::fmt::Debug for Registration {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Registration")
            .field("email", &self.email)
            .field("password", &"<redacted>")
            .field("name", &self.name)
            .finish()
    }
}

impl Registration {
    /// Parses the raw fields, listing every one that is wrong.
    ///
    /// # Errors
    /// A 400 naming each bad field.
    pub fn parse(email: &str, password: String, name: &str) -> Result<Self, ApiError> {
        let mut errors = Vec::new();
        let email =
            Email::parse(email).map_err(|e| errors.push(FieldError::new("email", e.to_string())));
        let password = Password::parse(password)
            .map_err(|e| errors.push(FieldError::new("password", e.to_string())));
        let name = users::domain::parse_name("name", name).map_err(|e| errors.push(e));
        match (email, password, name) {
            (Ok(email), Ok(password), Ok(name)) => Ok(Self {
                email,
                password,
                name,
            }),
            _ => Err(ApiError::invalid_fields(errors)),
        }
    }
}

fn unauthorized() -> ApiError {
    ApiError::Unauthorized("the email or password is wrong".into())
}

fn email_taken() -> ApiError {
    ApiError::Conflict("an account with this email already exists".into())
}

fn password_error(e: PasswordError) -> ApiError {
    ApiError::internal(e)
}

/// Creates an account and its profile, and signs it in. The cheap checks
/// come first: the request was parsed (400), then the client's registration
/// window (429), then whether the email is taken (409), and only then the
/// password is hashed.
///
/// # Errors
/// 429 when `client` registers too often; 409 when the email is taken; store failures.
pub async fn register(
    auth: &Auth,
    registration: Registration,
    client: &str,
) -> Result<Session, ApiError> {
    throttle::begin_registration(auth, client).await?;
    let Registration {
        email,
        password,
        name,
    } = registration;
    // A point read is cheap and a hash is not: a taken email is refused before
    // hashing (the create below still settles a race).
    if read_identity(auth, email.as_str()).await?.is_some() {
        return Err(email_taken());
    }
    let password_hash = auth
        .passwords
        .hash(&password)
        .await
        .map_err(password_error)?;
    let identity = Identity {
        email: email.to_string(),
        user_id: UserId::generate(),
        password_hash,
        name: Some(name.to_string()),
        email_verified_at: None,
        created_at: auth.clock.now(),
    };
    match auth
        .store
        .create(
            IDENTITIES,
            &identity.email,
            &identity_id(&identity.email),
            to_body(&identity)?,
        )
        .await
    {
        Ok(_) => {}
        Err(StoreError::Conflict) => return Err(email_taken()),
        Err(e) => return Err(e.into()),
    }
    if let Err(e) =
        users::service::create_profile(&auth.users, &identity.user_id, &identity.email, &name).await
    {
        // Give the email back; the client may simply try again.
        if let Err(undo) = auth
            .store
            .delete(
                IDENTITIES,
                &identity.email,
                &identity_id(&identity.email),
                None,
            )
            .await
        {
            tracing::warn!(error = %undo, user_id = %identity.user_id,
                "could not give back the email of a failed registration");
        }
        return Err(e);
    }
    // The account stands without its mail: the user can ask for another.
    if let Err(e) = tokens::issue(auth, Purpose::VerifyEmail, &identity, name.as_ref()).await {
        tracing::warn!(error = %e, user_id = %identity.user_id, "could not request the verification mail");
    }
    issue(auth, &identity, name.to_string()).await
}

/// Signs in with email and password, throttling repeated failures.
///
/// An unknown email and a wrong password get the same answer after the same
/// work (a dummy hash check), and both count as failures for that email.
///
/// # Errors
/// 401 for wrong credentials; 429 when throttled.
pub async fn login(
    auth: &Auth,
    email: &str,
    password: &str,
    client: &str,
) -> Result<Session, ApiError> {
    let account_key = email.trim().to_lowercase();
    let attempt = throttle::begin_login(auth, &account_key, client).await?;
    let identity = match Email::parse(email) {
        Ok(email) => read_identity(auth, email.as_str()).await?,
        Err(_) => None,
    };
    let verified = match &identity {
        Some((identity, _)) => {
            auth.passwords
                .verify(password, &identity.password_hash)
                .await
        }
        None => auth.passwords.verify_dummy(password).await,
    }
    .map_err(password_error)?;
    let Some((identity, etag)) = identity.filter(|_| verified) else {
        return Err(unauthorized());
    };
    attempt.succeeded(auth).await?;
    if auth.passwords.needs_rehash(&identity.password_hash) {
        rehash(auth, &identity, &etag, password).await;
    }
    let name = profile_name(auth, &identity).await?;
    issue(auth, &identity, name).await
}

/// The account's display name from its profile, re-creating the profile when
/// a registration died before writing it.
async fn profile_name(auth: &Auth, identity: &Identity) -> Result<String, ApiError> {
    users::service::ensure_profile(
        &auth.users,
        &identity.user_id,
        &identity.email,
        identity.name.as_deref(),
    )
    .await
}

/// Upgrades a hash made with older parameters; best effort (the login succeeds regardless).
async fn rehash(
    auth: &Auth,
    identity: &Identity,
    etag: &jojomart_shared::store::ETag,
    password: &str,
) {
    let Ok(password) = Password::parse(password.to_owned()) else {
        return;
    };
    let Ok(hash) = auth.passwords.hash(&password).await else {
        return;
    };
    let mut updated = identity.clone();
    updated.password_hash = hash;
    if let Ok(body) = to_body(&updated) {
        if let Err(e) = auth
            .store
            .replace(
                IDENTITIES,
                &identity.email,
                &identity_id(&identity.email),
                body,
                Some(etag),
            )
            .await
        {
            tracing::info!(error = %e, "could not upgrade a password hash; kept the old one");
        }
    }
}

/// Reads an account by normalised email.
///
/// # Errors
/// Store failures.
pub(super) async fn read_identity(
    auth: &Auth,
    email: &str,
) -> Result<Option<(Identity, jojomart_shared::store::ETag)>, ApiError> {
    match auth
        .store
        .read(IDENTITIES, email, &identity_id(email))
        .await?
    {
        Some(doc) => Ok(Some((doc.parse()?, doc.etag))),
        None => Ok(None),
    }
}

/// Exchanges a refresh token for a new pair (rotation); reuse revokes the family.
///
/// # Errors
/// 401 for an unknown, expired, revoked or already-used token, or a closed account.
pub async fn refresh(auth: &Auth, raw: &str) -> Result<Session, ApiError> {
    let presented = RefreshToken::parse(raw).map_err(|_| invalid_refresh())?;
    let family = sessions::read_family(auth, presented.family_id())
        .await?
        .ok_or_else(invalid_refresh)?;
    let identity = match read_identity(auth, &family.email).await? {
        Some((identity, _)) if identity.user_id == family.user_id => identity,
        _ => {
            sessions::revoke_family(auth, presented.family_id(), "account closed").await?;
            return Err(invalid_refresh());
        }
    };
    let next = sessions::rotate(auth, &presented).await?;
    let name = profile_name(auth, &identity).await?;
    session_for(auth, &identity, name, next).await
}

fn invalid_refresh() -> ApiError {
    ApiError::Unauthorized("the refresh token is invalid, expired or revoked".into())
}

/// Ends the session a refresh token belongs to; unknown tokens are ignored.
///
/// # Errors
/// Store failures only.
pub async fn logout(auth: &Auth, raw: &str) -> Result<(), ApiError> {
    let Ok(presented) = RefreshToken::parse(raw) else {
        return Ok(());
    };
    if sessions::holds(auth, &presented).await? {
        sessions::revoke_family(auth, presented.family_id(), "logout").await?;
    }
    Ok(())
}

/// Signs a new access token and opens a new refresh-token family.
async fn issue(auth: &Auth, identity: &Identity, name: String) -> Result<Session, ApiError> {
    let refresh = sessions::open(auth, &identity.user_id, &identity.email).await?;
    session_for(auth, identity, name, refresh).await
}

async fn session_for(
    auth: &Auth,
    identity: &Identity,
    name: String,
    refresh: RefreshToken,
) -> Result<Session, ApiError> {
    let principal = identity.principal(auth);
    let access_token = access_token(auth, &principal).await?;
    Ok(Session {
        user: SessionUser {
            id: principal.user_id.to_string(),
            email: principal.email,
            name,
            roles: principal.roles,
            email_verified: identity.email_verified_at.is_some(),
        },
        access_token,
        refresh_token: refresh.expose(),
        token_type: "Bearer",
        expires_in: auth.tokens.ttl.as_secs(),
    })
}

/// Signs an access token for a principal with the current key.
///
/// # Errors
/// A 500 if signing fails.
pub async fn access_token(auth: &Auth, principal: &Principal) -> Result<String, ApiError> {
    let key = auth.keys.signing_key().await;
    let claims = auth.tokens.claims_for(principal, auth.clock.now());
    jwt::sign(&key, &claims).map_err(ApiError::internal)
}

/// What auth holds about an account, for the export.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRecord {
    /// The email the account signs in with.
    pub email: String,
    /// The roles.
    pub roles: Vec<Role>,
    /// When the email was verified, if it was.
    pub email_verified_at: Option<DateTime<Utc>>,
    /// When the account was created.
    pub created_at: DateTime<Utc>,
    /// The sign-in sessions (refresh-token families), without any token.
    pub sessions: Vec<sessions::SessionRecord>,
}

/// Auth's section of a personal-data export: the account and its sessions
/// (`null` when the account is gone).
///
/// # Errors
/// Store failures.
pub async fn export(auth: &Auth, principal: &Principal) -> Result<ExportSection, ApiError> {
    let record = account_record(auth, principal).await?;
    Ok(ExportSection {
        key: "account",
        value: serde_json::to_value(record).map_err(ApiError::internal)?,
    })
}

/// The account and sessions of a user, or `None` when the account is gone.
///
/// # Errors
/// Store failures.
pub async fn account_record(
    auth: &Auth,
    principal: &Principal,
) -> Result<Option<AccountRecord>, ApiError> {
    let Some((identity, _)) = read_identity(auth, &principal.email).await? else {
        return Ok(None);
    };
    if identity.user_id != principal.user_id {
        return Ok(None);
    }
    Ok(Some(AccountRecord {
        roles: roles_of(auth, &identity),
        email: identity.email,
        email_verified_at: identity.email_verified_at,
        created_at: identity.created_at,
        sessions: sessions::records_of(auth, &principal.user_id).await?,
    }))
}

/// Closes the caller's account: the profile goes and the erasure of everything
/// else is staged first (so it happens even if this request fails half-way),
/// then credentials and refresh tokens are revoked at once. An account whose
/// registration died before its profile was written gets the profile first,
/// so it can be closed like any other.
///
/// # Errors
/// 404 when the account was already closed; store failures.
pub async fn close_account(auth: &Auth, principal: &Principal) -> Result<(), ApiError> {
    if let Some((identity, _)) = read_identity(auth, &principal.email).await? {
        if identity.user_id == principal.user_id {
            profile_name(auth, &identity).await?;
        }
    }
    users::service::close(&auth.users, &principal.user_id).await?;
    revoke_account(auth, principal).await
}

/// Revokes an account at once: its access tokens are refused on every
/// instance, every refresh token stops working, and its credentials are deleted.
///
/// # Errors
/// Store failures (the erasure message finishes the job regardless).
async fn revoke_account(auth: &Auth, principal: &Principal) -> Result<(), ApiError> {
    sessions::revoke_all(auth, &principal.user_id, "account closed").await?;
    if let Some((identity, etag)) = read_identity(auth, &principal.email).await? {
        if identity.user_id == principal.user_id {
            match auth
                .store
                .delete(
                    IDENTITIES,
                    &identity.email,
                    &identity_id(&identity.email),
                    Some(&etag),
                )
                .await
            {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    throttle::forget_account(auth, &principal.email).await
}

/// Auth's part of erasing a user: the identity and every refresh-token
/// document. Idempotent: a second run finds nothing to delete.
///
/// # Errors
/// Store failures (the message is retried).
pub async fn erase(auth: &Auth, user_id: &UserId) -> Result<(), ApiError> {
    loop {
        let page = auth
            .store
            .query(
                &Query::new(IDENTITIES)
                    .filter(Filter::eq("userId", user_id.as_str()))
                    .limit(100),
            )
            .await?;
        if page.items.is_empty() {
            break;
        }
        for doc in page.items {
            match auth
                .store
                .delete(IDENTITIES, &doc.partition_key, &doc.id, None)
                .await
            {
                Ok(()) | Err(StoreError::NotFound) => {}
                Err(e) => return Err(e.into()),
            }
        }
    }
    sessions::delete_all(auth, user_id).await
}
