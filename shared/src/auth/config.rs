//! The auth settings, part of [`crate::config::Config`]: password hashing cost,
//! token lifetimes, issuer and audience, the signing key, login throttling and
//! Entra ID. Every default is the one the README documents.

use std::time::Duration;

use super::{
    entra::EntraSettings,
    keys::{SigningKey, VerifyingKey},
    password::PasswordParams,
};
use crate::config::{parse_num, ConfigError, Secret};

/// How many failed logins and registrations are tolerated, and over which
/// windows (fixed windows kept in the cache port, see `functions/auth/throttle.rs`).
///
/// Failures are counted three ways. The strict bar is per (account, client):
/// that pair is refused once it has failed `max_failures_per_pair` times.
/// The loose bar is per account across every client: past
/// `max_failures_per_account` failures, only clients that have failed on
/// this account themselves are refused, so the owner on a clean client still
/// gets in however hard the account is attacked. The spray bar is per client
/// across accounts. A successful login gives its claims back and clears its
/// pair's window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottleConfig {
    /// Failed logins per (account, client) within the window before 429 (`JOJOMART_LOGIN_MAX_FAILURES`, 5).
    pub max_failures_per_pair: u32,
    /// Failed logins per account across clients before clients that failed
    /// on it are refused (`JOJOMART_LOGIN_MAX_FAILURES_PER_ACCOUNT`, 50).
    pub max_failures_per_account: u32,
    /// Failed logins per client address across accounts (`JOJOMART_LOGIN_MAX_FAILURES_PER_CLIENT`, 20).
    pub max_failures_per_client: u32,
    /// The window of failed logins (`JOJOMART_LOGIN_THROTTLE_WINDOW_SECS`, 900).
    pub window: Duration,
    /// Registrations per client address within `registration_window` (`JOJOMART_REGISTER_MAX_PER_CLIENT`, 10).
    pub max_registrations_per_client: u32,
    /// The window of registrations (`JOJOMART_REGISTER_THROTTLE_WINDOW_SECS`, 3600).
    pub registration_window: Duration,
}

impl Default for ThrottleConfig {
    fn default() -> Self {
        Self {
            max_failures_per_pair: 5,
            max_failures_per_account: 50,
            max_failures_per_client: 20,
            window: Duration::from_secs(15 * 60),
            max_registrations_per_client: 10,
            registration_window: Duration::from_secs(3600),
        }
    }
}

/// Entra ID settings; present only when both tenant and audience are set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntraConfig {
    /// `JOJOMART_ENTRA_TENANT_ID`.
    pub tenant_id: String,
    /// `JOJOMART_ENTRA_AUDIENCE`.
    pub audience: String,
    /// `JOJOMART_ENTRA_AUTHORITY` (default `https://login.microsoftonline.com/{tenant}/v2.0`).
    pub authority: String,
    /// `JOJOMART_ENTRA_JWKS_MIN_REFRESH_SECS` (default 60).
    pub min_refresh: Duration,
    /// `JOJOMART_ENTRA_TOKEN_VERSION`: the `ver` accepted, `2.0` (default) or `1.0`.
    pub token_version: String,
}

impl EntraConfig {
    /// The verifier's settings.
    pub fn settings(&self) -> EntraSettings {
        EntraSettings {
            tenant_id: self.tenant_id.clone(),
            audience: self.audience.clone(),
            authority: self.authority.clone(),
            min_refresh: self.min_refresh,
            max_age: EntraSettings::MAX_AGE,
            token_version: self.token_version.clone(),
        }
    }
}

/// Everything auth reads from configuration.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The `iss` of our tokens (`JOJOMART_JWT_ISSUER`, default `jojomart`).
    pub issuer: String,
    /// The `aud` of our tokens (`JOJOMART_JWT_AUDIENCE`, default `jojomart-api`).
    pub audience: String,
    /// Access-token lifetime (`JOJOMART_ACCESS_TOKEN_TTL_SECS`, default 900).
    pub access_token_ttl: Duration,
    /// Refresh-token lifetime (`JOJOMART_REFRESH_TOKEN_TTL_SECS`, default 30 days).
    pub refresh_token_ttl: Duration,
    /// argon2id cost (`JOJOMART_ARGON2_MEMORY_KIB`, `_ITERATIONS`, `_PARALLELISM`).
    pub password: PasswordParams,
    /// The access-token signing key, an Ed25519 PKCS#8 PEM (`JOJOMART_JWT_SIGNING_KEY`);
    /// unset: a key is generated and kept in the store.
    pub signing_key: Option<Secret<String>>,
    /// The previous key, still verifying after a rotation (`JOJOMART_JWT_PREVIOUS_SIGNING_KEY`,
    /// a private or public PEM).
    pub previous_signing_key: Option<Secret<String>>,
    /// Store-managed keys older than this are rotated (`JOJOMART_JWT_KEY_ROTATION_DAYS`, default 90).
    pub key_rotation: Duration,
    /// Login throttling.
    pub throttle: ThrottleConfig,
    /// Entra ID, when configured.
    pub entra: Option<EntraConfig>,
    /// True when the admin role (from `JOJOMART_ADMIN_EMAILS`) also needs a
    /// verified email: set by `serve`; `dev` grants it at once, so a local
    /// shop works out of the box.
    pub admin_needs_verified_email: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            issuer: "jojomart".into(),
            audience: "jojomart-api".into(),
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            password: PasswordParams::default(),
            signing_key: None,
            previous_signing_key: None,
            key_rotation: Duration::from_secs(90 * 86_400),
            throttle: ThrottleConfig::default(),
            entra: None,
            admin_needs_verified_email: false,
        }
    }
}

fn positive_secs(setting: &str, value: &str) -> Result<Duration, ConfigError> {
    let secs: u64 = parse_num(setting, value)?;
    if secs == 0 {
        return Err(ConfigError::invalid(setting, "must be more than 0"));
    }
    Ok(Duration::from_secs(secs))
}

impl AuthConfig {
    /// Reads the auth settings through `get` (which yields only non-empty values).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first unusable setting.
    pub fn from_lookup(get: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut c = Self::default();
        if let Some(v) = get("JOJOMART_JWT_ISSUER") {
            c.issuer = v.trim().to_owned();
        }
        if let Some(v) = get("JOJOMART_JWT_AUDIENCE") {
            c.audience = v.trim().to_owned();
        }
        if let Some(v) = get("JOJOMART_ACCESS_TOKEN_TTL_SECS") {
            c.access_token_ttl = positive_secs("JOJOMART_ACCESS_TOKEN_TTL_SECS", &v)?;
        }
        if let Some(v) = get("JOJOMART_REFRESH_TOKEN_TTL_SECS") {
            c.refresh_token_ttl = positive_secs("JOJOMART_REFRESH_TOKEN_TTL_SECS", &v)?;
        }
        if let Some(v) = get("JOJOMART_ARGON2_MEMORY_KIB") {
            c.password.memory_kib = parse_num("JOJOMART_ARGON2_MEMORY_KIB", &v)?;
        }
        if let Some(v) = get("JOJOMART_ARGON2_ITERATIONS") {
            c.password.iterations = parse_num("JOJOMART_ARGON2_ITERATIONS", &v)?;
        }
        if let Some(v) = get("JOJOMART_ARGON2_PARALLELISM") {
            c.password.parallelism = parse_num("JOJOMART_ARGON2_PARALLELISM", &v)?;
        }
        c.password
            .to_argon2()
            .map_err(|e| ConfigError::invalid("JOJOMART_ARGON2_MEMORY_KIB", e.to_string()))?;
        if let Some(v) = get("JOJOMART_JWT_SIGNING_KEY") {
            SigningKey::from_pem(&v)
                .map_err(|e| ConfigError::invalid("JOJOMART_JWT_SIGNING_KEY", e.to_string()))?;
            c.signing_key = Some(Secret::new(v));
        }
        if let Some(v) = get("JOJOMART_JWT_PREVIOUS_SIGNING_KEY") {
            VerifyingKey::from_pem(&v).map_err(|e| {
                ConfigError::invalid("JOJOMART_JWT_PREVIOUS_SIGNING_KEY", e.to_string())
            })?;
            c.previous_signing_key = Some(Secret::new(v));
        }
        if let Some(v) = get("JOJOMART_JWT_KEY_ROTATION_DAYS") {
            let days: u64 = parse_num("JOJOMART_JWT_KEY_ROTATION_DAYS", &v)?;
            if days == 0 {
                return Err(ConfigError::invalid(
                    "JOJOMART_JWT_KEY_ROTATION_DAYS",
                    "must be more than 0",
                ));
            }
            c.key_rotation = Duration::from_secs(days * 86_400);
        }
        if let Some(v) = get("JOJOMART_LOGIN_MAX_FAILURES") {
            c.throttle.max_failures_per_pair = parse_num("JOJOMART_LOGIN_MAX_FAILURES", &v)?;
        }
        if let Some(v) = get("JOJOMART_LOGIN_MAX_FAILURES_PER_ACCOUNT") {
            c.throttle.max_failures_per_account =
                parse_num("JOJOMART_LOGIN_MAX_FAILURES_PER_ACCOUNT", &v)?;
        }
        if let Some(v) = get("JOJOMART_REGISTER_MAX_PER_CLIENT") {
            c.throttle.max_registrations_per_client =
                parse_num("JOJOMART_REGISTER_MAX_PER_CLIENT", &v)?;
        }
        if let Some(v) = get("JOJOMART_REGISTER_THROTTLE_WINDOW_SECS") {
            c.throttle.registration_window =
                positive_secs("JOJOMART_REGISTER_THROTTLE_WINDOW_SECS", &v)?;
        }
        if let Some(v) = get("JOJOMART_LOGIN_MAX_FAILURES_PER_CLIENT") {
            c.throttle.max_failures_per_client =
                parse_num("JOJOMART_LOGIN_MAX_FAILURES_PER_CLIENT", &v)?;
        }
        if let Some(v) = get("JOJOMART_LOGIN_THROTTLE_WINDOW_SECS") {
            c.throttle.window = positive_secs("JOJOMART_LOGIN_THROTTLE_WINDOW_SECS", &v)?;
        }
        c.entra = match (
            get("JOJOMART_ENTRA_TENANT_ID"),
            get("JOJOMART_ENTRA_AUDIENCE"),
        ) {
            (None, None) => None,
            (Some(tenant_id), Some(audience)) => {
                let tenant_id = tenant_id.trim().to_owned();
                let token_version = match get("JOJOMART_ENTRA_TOKEN_VERSION")
                    .as_deref()
                    .map(str::trim)
                {
                    None => EntraSettings::DEFAULT_TOKEN_VERSION.to_owned(),
                    Some(v @ ("1.0" | "2.0")) => v.to_owned(),
                    Some(_) => {
                        return Err(ConfigError::invalid(
                            "JOJOMART_ENTRA_TOKEN_VERSION",
                            "must be 2.0 or 1.0",
                        ))
                    }
                };
                let authority = get("JOJOMART_ENTRA_AUTHORITY")
                    .map(|a| a.trim().trim_end_matches('/').to_owned())
                    .unwrap_or_else(|| {
                        EntraSettings::default_authority(&tenant_id, &token_version)
                    });
                let min_refresh = match get("JOJOMART_ENTRA_JWKS_MIN_REFRESH_SECS") {
                    Some(v) => {
                        Duration::from_secs(parse_num("JOJOMART_ENTRA_JWKS_MIN_REFRESH_SECS", &v)?)
                    }
                    None => Duration::from_secs(60),
                };
                Some(EntraConfig {
                    tenant_id,
                    audience: audience.trim().to_owned(),
                    authority,
                    min_refresh,
                    token_version,
                })
            }
            (Some(_), None) => {
                return Err(ConfigError::invalid(
                    "JOJOMART_ENTRA_AUDIENCE",
                    "is required when JOJOMART_ENTRA_TENANT_ID is set",
                ))
            }
            (None, Some(_)) => {
                return Err(ConfigError::invalid(
                    "JOJOMART_ENTRA_TENANT_ID",
                    "is required when JOJOMART_ENTRA_AUDIENCE is set",
                ))
            }
        };
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;

    fn with(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(move |k| {
            pairs
                .iter()
                .find(|(key, _)| key == k)
                .map(|(_, v)| v.clone())
        })
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let c = with(&[]).unwrap().auth;
        assert_eq!(c.access_token_ttl, Duration::from_secs(900));
        assert_eq!(c.refresh_token_ttl, Duration::from_secs(2_592_000));
        assert_eq!(c.password, PasswordParams::default());
        assert!(c.signing_key.is_none() && c.entra.is_none());
    }

    #[test]
    fn settings_are_read_and_bad_ones_named() {
        let c = with(&[
            ("JOJOMART_ACCESS_TOKEN_TTL_SECS", "60"),
            ("JOJOMART_ARGON2_MEMORY_KIB", "65536"),
            ("JOJOMART_ENTRA_TENANT_ID", "t-1"),
            ("JOJOMART_ENTRA_AUDIENCE", "api://jojomart"),
        ])
        .unwrap()
        .auth;
        assert_eq!(c.access_token_ttl, Duration::from_secs(60));
        assert_eq!(c.password.memory_kib, 65536);
        let entra = c.entra.unwrap();
        assert_eq!(
            entra.authority,
            "https://login.microsoftonline.com/t-1/v2.0"
        );
        assert_eq!(entra.token_version, "2.0");
        let v1 = with(&[
            ("JOJOMART_ENTRA_TENANT_ID", "t-1"),
            ("JOJOMART_ENTRA_AUDIENCE", "api://jojomart"),
            ("JOJOMART_ENTRA_TOKEN_VERSION", "1.0"),
        ])
        .unwrap()
        .auth
        .entra
        .unwrap();
        assert_eq!(v1.token_version, "1.0");
        assert_eq!(v1.authority, "https://login.microsoftonline.com/t-1");
        let e = with(&[
            ("JOJOMART_ENTRA_TENANT_ID", "t-1"),
            ("JOJOMART_ENTRA_AUDIENCE", "api://jojomart"),
            ("JOJOMART_ENTRA_TOKEN_VERSION", "3"),
        ])
        .unwrap_err();
        assert!(
            e.to_string().starts_with("JOJOMART_ENTRA_TOKEN_VERSION"),
            "{e}"
        );

        for (k, v) in [
            ("JOJOMART_ACCESS_TOKEN_TTL_SECS", "0"),
            ("JOJOMART_ARGON2_MEMORY_KIB", "1"),
            ("JOJOMART_JWT_SIGNING_KEY", "not a pem"),
            ("JOJOMART_ENTRA_TENANT_ID", "t-1"),
        ] {
            let e = with(&[(k, v)]).unwrap_err();
            assert!(e.to_string().starts_with("JOJOMART_"), "{k}: {e}");
        }
    }

    #[test]
    fn a_configured_key_is_checked_and_redacted() {
        let pem = SigningKey::generate().unwrap().to_pem();
        let c = with(&[("JOJOMART_JWT_SIGNING_KEY", &pem)]).unwrap();
        assert!(!format!("{c:?}").contains("PRIVATE"));
    }
}
