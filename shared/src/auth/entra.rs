//! Entra ID (Azure AD) bearer tokens, accepted beside our own when a tenant and
//! an audience are configured.
//!
//! The issuer and its keys come from OIDC discovery
//! (`{authority}/.well-known/openid-configuration`, then its `jwks_uri`). Keys
//! are cached and fetched again once they are [`EntraSettings::max_age`] old
//! (a day), so a key the issuer withdrew stops verifying within a day; a token
//! naming an unknown `kid` triggers one refetch too (at most once per
//! `min_refresh`, so forged `kid`s cannot make us hammer the issuer). A refetch
//! that fails keeps the keys we have. Time is the caller's clock.
//!
//! Only RS256 access tokens of the configured version are accepted: header
//! `typ` `JWT` (what Entra puts on access tokens), claim `ver` equal to
//! [`EntraSettings::token_version`] (`2.0` by default; v1.0 tokens carry
//! another issuer, `https://sts.windows.net/{tenant}/`, and other claims);
//! `iss` must be the discovered issuer, `aud` the configured audience and
//! `tid`, when present, the tenant. Roles come from the token's `roles` claim
//! (app roles named `admin` or `customer`, in any case; others are ignored).

use crate::domain::UserId;
use std::{
    collections::HashMap,
    sync::{Arc, RwLock},
    time::Duration,
};

use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::Deserialize;

use super::{jwt::check_times, verifier::Verified, AuthError, Principal, Role};

/// Where and what to accept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraSettings {
    /// The directory (tenant) id.
    pub tenant_id: String,
    /// The `aud` our API is registered with (its client id or `api://...` URI).
    pub audience: String,
    /// The issuer base URL; discovery is at `{authority}/.well-known/openid-configuration`.
    pub authority: String,
    /// The least time between two JWKS fetches triggered by unknown `kid`s.
    pub min_refresh: Duration,
    /// How old cached keys may get before they are fetched again (a day).
    pub max_age: Duration,
    /// The access-token version accepted (`ver`): `2.0` or `1.0`.
    pub token_version: String,
}

impl EntraSettings {
    /// How long keys are kept before they are fetched again: a day.
    pub const MAX_AGE: Duration = Duration::from_secs(86_400);
    /// The access-token version accepted unless configured otherwise.
    pub const DEFAULT_TOKEN_VERSION: &'static str = "2.0";

    /// The public cloud's authority for a tenant and token version: the
    /// v2.0 endpoint for `2.0` tokens, the tenant's root (whose issuer is
    /// `https://sts.windows.net/{tenant}/`) for `1.0` tokens.
    pub fn default_authority(tenant_id: &str, token_version: &str) -> String {
        match token_version {
            "1.0" => format!("https://login.microsoftonline.com/{tenant_id}"),
            _ => format!("https://login.microsoftonline.com/{tenant_id}/v2.0"),
        }
    }
}

#[derive(Debug, Deserialize)]
struct Discovery {
    issuer: String,
    jwks_uri: String,
}

#[derive(Debug, Deserialize)]
struct JwksDoc {
    keys: Vec<RawJwk>,
}

#[derive(Debug, Deserialize)]
struct RawJwk {
    kty: String,
    #[serde(default)]
    kid: Option<String>,
    #[serde(default)]
    n: Option<String>,
    #[serde(default)]
    e: Option<String>,
    #[serde(default, rename = "use")]
    key_use: Option<String>,
}

#[derive(Debug, Deserialize)]
struct EntraClaims {
    sub: String,
    exp: i64,
    #[serde(default)]
    iat: Option<i64>,
    #[serde(default)]
    nbf: Option<i64>,
    #[serde(default)]
    oid: Option<String>,
    #[serde(default)]
    tid: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    preferred_username: Option<String>,
    #[serde(default)]
    upn: Option<String>,
    #[serde(default)]
    roles: Vec<String>,
    #[serde(default)]
    ver: Option<String>,
}

#[derive(Default)]
struct Keys {
    issuer: Option<String>,
    keys: HashMap<String, DecodingKey>,
    /// When these keys were fetched (`None`: never).
    fetched_at: Option<DateTime<Utc>>,
}

/// Verifies Entra ID access tokens.
pub struct EntraVerifier {
    settings: EntraSettings,
    http: reqwest::Client,
    keys: RwLock<Arc<Keys>>,
    /// When a fetch was last tried, successful or not.
    last_fetch: tokio::sync::Mutex<Option<DateTime<Utc>>>,
}

impl std::fmt::Debug for EntraVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EntraVerifier")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl EntraVerifier {
    /// A verifier for one tenant; nothing is fetched until the first token.
    pub fn new(settings: EntraSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap_or_default();
        Self {
            settings,
            http,
            keys: RwLock::new(Arc::new(Keys::default())),
            last_fetch: tokio::sync::Mutex::new(None),
        }
    }

    fn snapshot(&self) -> Arc<Keys> {
        self.keys.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Verifies a token whose header says RS256.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] for anything wrong with the token;
    /// [`AuthError::Unavailable`] when the issuer's keys cannot be fetched.
    pub async fn verify(
        &self,
        token: &str,
        header: &Header,
        now: DateTime<Utc>,
    ) -> Result<Verified, AuthError> {
        if header.alg != Algorithm::RS256 {
            return Err(AuthError::InvalidToken("Entra tokens are RS256".into()));
        }
        if !header
            .typ
            .as_deref()
            .is_some_and(|t| t.eq_ignore_ascii_case("JWT"))
        {
            return Err(AuthError::InvalidToken(
                "not an Entra access token (typ)".into(),
            ));
        }
        let kid = header
            .kid
            .as_deref()
            .ok_or_else(|| AuthError::InvalidToken("no kid".into()))?;
        let mut keys = self.snapshot();
        let stale = keys.fetched_at.is_none_or(|at| {
            now - at
                >= chrono::Duration::from_std(self.settings.max_age)
                    .unwrap_or(chrono::Duration::MAX)
        });
        if stale || !keys.keys.contains_key(kid) {
            keys = self.refresh(now).await?;
        }
        let key = keys
            .keys
            .get(kid)
            .ok_or_else(|| AuthError::InvalidToken("unknown kid".into()))?;
        let issuer = keys
            .issuer
            .as_deref()
            .ok_or_else(|| AuthError::Unavailable("no Entra issuer discovered".into()))?;
        let mut validation = Validation::new(Algorithm::RS256);
        validation.algorithms = vec![Algorithm::RS256];
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[&self.settings.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        let claims = jsonwebtoken::decode::<EntraClaims>(token, key, &validation)
            .map_err(|e| AuthError::InvalidToken(e.to_string()))?
            .claims;
        if claims
            .tid
            .as_deref()
            .is_some_and(|tid| tid != self.settings.tenant_id)
        {
            return Err(AuthError::InvalidToken("another tenant".into()));
        }
        if claims.ver.as_deref() != Some(self.settings.token_version.as_str()) {
            return Err(AuthError::InvalidToken(format!(
                "not a v{} Entra access token",
                self.settings.token_version
            )));
        }
        check_times(claims.exp, claims.iat, claims.nbf, now)?;
        let mut roles = Vec::new();
        for name in &claims.roles {
            let role = match name.to_ascii_lowercase().as_str() {
                "admin" => Role::Admin,
                "customer" => Role::Customer,
                _ => continue,
            };
            if !roles.contains(&role) {
                roles.push(role);
            }
        }
        let subject = claims.oid.unwrap_or(claims.sub);
        let user_id = UserId::parse(&subject)
            .map_err(|_| AuthError::InvalidToken("the subject is not a usable user id".into()))?;
        let principal = Principal {
            user_id,
            email: claims
                .email
                .or(claims.preferred_username)
                .or(claims.upn)
                .unwrap_or_default()
                .to_lowercase(),
            roles,
        };
        Ok(Verified {
            principal,
            expires: claims.exp,
            issued_at_ms: claims.iat.unwrap_or(0).saturating_mul(1000),
        })
    }

    /// Refetches discovery and JWKS, unless a fetch was tried less than
    /// `min_refresh` ago; a failed refetch keeps the keys we have (and is
    /// tried again after `min_refresh`), unless we have none.
    async fn refresh(&self, now: DateTime<Utc>) -> Result<Arc<Keys>, AuthError> {
        let mut last = self.last_fetch.lock().await;
        let min_refresh =
            chrono::Duration::from_std(self.settings.min_refresh).unwrap_or(chrono::Duration::MAX);
        let current = self.snapshot();
        if last.is_some_and(|at| now - at < min_refresh) {
            if current.issuer.is_none() {
                return Err(AuthError::Unavailable(
                    "Entra discovery failed recently".into(),
                ));
            }
            return Ok(current);
        }
        *last = Some(now);
        match self.fetch(now).await {
            Ok(fetched) => {
                let fetched = Arc::new(fetched);
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = fetched.clone();
                Ok(fetched)
            }
            Err(e) if current.issuer.is_some() => {
                tracing::warn!(error = %e, "Entra ID keys not refreshed; keeping the ones we have");
                Ok(current)
            }
            Err(e) => Err(e),
        }
    }

    async fn fetch(&self, now: DateTime<Utc>) -> Result<Keys, AuthError> {
        let unavailable =
            |e: reqwest::Error| AuthError::Unavailable(format!("Entra discovery: {e}"));
        let url = format!(
            "{}/.well-known/openid-configuration",
            self.settings.authority.trim_end_matches('/')
        );
        let discovery: Discovery = self
            .http
            .get(&url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let jwks: JwksDoc = self
            .http
            .get(&discovery.jwks_uri)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(unavailable)?
            .json()
            .await
            .map_err(unavailable)?;
        let mut keys = HashMap::new();
        for jwk in jwks.keys {
            if jwk.kty != "RSA" || jwk.key_use.as_deref().is_some_and(|u| u != "sig") {
                continue;
            }
            let (Some(kid), Some(n), Some(e)) = (jwk.kid, jwk.n, jwk.e) else {
                continue;
            };
            if let Ok(key) = DecodingKey::from_rsa_components(&n, &e) {
                keys.insert(kid, key);
            }
        }
        tracing::info!(issuer = %discovery.issuer, keys = keys.len(), "fetched Entra ID signing keys");
        Ok(Keys {
            issuer: Some(discovery.issuer),
            keys,
            fetched_at: Some(now),
        })
    }
}
