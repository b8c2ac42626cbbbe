//! Typed configuration, loaded once at startup from defaults and `JOJOMART_*`
//! environment variables, failing fast with a one-line reason that names the setting.

use std::{path::PathBuf, str::FromStr, time::Duration};

use crate::{auth::config::AuthConfig, queue::DeliveryPolicy};

/// A secret value whose `Debug` output is redacted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret<T>(T);

impl<T> Secret<T> {
    /// Wraps a secret.
    pub fn new(value: T) -> Self {
        Self(value)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &T {
        &self.0
    }
}

impl<T> std::fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Where documents live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreBackend {
    /// The embedded SQLite file under the data dir.
    Sqlite,
    /// Azure Cosmos DB (or an emulator), configured by `COSMOS_*` settings.
    Cosmos,
}

/// Where messages live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueueBackend {
    /// The embedded SQLite file under the data dir.
    Sqlite,
    /// Azure Storage Queues (or Azurite), configured by `AzureWebJobsStorage`.
    Azure,
}

/// Where product images and other public blobs live.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlobBackend {
    /// Files under `<data dir>/media/`, served at `/media/...` by `dev`.
    Files,
    /// Azure Blob Storage (or Azurite), configured by `AzureWebJobsStorage`; container `images`.
    Azure,
}

impl FromStr for BlobBackend {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "files" => Ok(Self::Files),
            "azure" => Ok(Self::Azure),
            _ => Err(ConfigError::invalid(
                "JOJOMART_BLOB",
                "expected `files` or `azure`",
            )),
        }
    }
}

impl FromStr for StoreBackend {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "cosmos" => Ok(Self::Cosmos),
            _ => Err(ConfigError::invalid(
                "JOJOMART_STORE",
                "expected `sqlite` or `cosmos`",
            )),
        }
    }
}

impl FromStr for QueueBackend {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "sqlite" => Ok(Self::Sqlite),
            "azure" => Ok(Self::Azure),
            _ => Err(ConfigError::invalid(
                "JOJOMART_QUEUE",
                "expected `sqlite` or `azure`",
            )),
        }
    }
}

/// Where fast shared state (throttle windows) lives (`JOJOMART_CACHE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheBackend {
    /// In this process only: the `dev` default.
    Memory,
    /// Redis at `JOJOMART_REDIS_URL`, the store standing in while it is down.
    Redis,
    /// The document store only (shared, slower).
    Store,
}

impl FromStr for CacheBackend {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, ConfigError> {
        match s.to_ascii_lowercase().as_str() {
            "memory" => Ok(Self::Memory),
            "redis" => Ok(Self::Redis),
            "store" => Ok(Self::Store),
            _ => Err(ConfigError::invalid(
                "JOJOMART_CACHE",
                "expected `memory`, `redis` or `store`",
            )),
        }
    }
}

/// A setting that is missing or malformed; the message names it.
#[derive(Debug, thiserror::Error)]
#[error("{setting}: {reason}")]
pub struct ConfigError {
    /// The environment variable or flag at fault.
    pub setting: String,
    /// Why it cannot be used.
    pub reason: String,
}

impl ConfigError {
    /// A setting with an unusable value.
    pub fn invalid(setting: &str, reason: impl Into<String>) -> Self {
        Self {
            setting: setting.to_owned(),
            reason: reason.into(),
        }
    }
}

/// The whole configuration of one process.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory of the embedded SQLite file (`JOJOMART_DATA_DIR`, default `.jojomart`).
    pub data_dir: PathBuf,
    /// The document store adapter (`JOJOMART_STORE`).
    pub store: StoreBackend,
    /// The queue adapter (`JOJOMART_QUEUE`).
    pub queue: QueueBackend,
    /// The cache (`JOJOMART_CACHE`; `None`: `memory` under `dev`; under
    /// `serve`, `redis` when `JOJOMART_REDIS_URL` is set, `store` otherwise).
    pub cache: Option<CacheBackend>,
    /// Redis's URL with its password or access key (`JOJOMART_REDIS_URL`,
    /// `rediss://` for TLS; a Key Vault reference in Azure).
    pub redis_url: Option<Secret<String>>,
    /// The blob adapter (`JOJOMART_BLOB`).
    pub blob: BlobBackend,
    /// Where blobs are publicly read (`JOJOMART_MEDIA_BASE_URL`, e.g. a CDN
    /// endpoint); unset: the container's own URL, or `/media` under `dev`.
    pub media_base_url: Option<String>,
    /// The queue trigger's retry policy (host.json `extensions.queues`).
    pub delivery: DeliveryPolicy,
    /// Emails that hold the `admin` role, worked out at every login and refresh (`JOJOMART_ADMIN_EMAILS`).
    pub admin_emails: Vec<String>,
    /// Largest request body accepted, in bytes.
    pub max_body_bytes: usize,
    /// How often, at most, the catalog read model reads the change feeds for
    /// other instances' writes (`JOJOMART_CATALOG_REFRESH_MS`, default 1000).
    pub catalog_refresh: Duration,
    /// How long checkout holds stock for an order whose payment is not yet
    /// confirmed, e.g. during 3-D Secure (`JOJOMART_RESERVATION_TTL_SECONDS`, default 900).
    pub reservation_ttl: Duration,
    /// Passwords, tokens, signing keys, login throttling and Entra ID (`JOJOMART_JWT_*`, ...).
    pub auth: AuthConfig,
    /// The payment gateway (`JOJOMART_STRIPE_*`).
    pub payments: PaymentsConfig,
    /// Proxies in front of the app that append to `X-Forwarded-For`
    /// (`JOJOMART_TRUSTED_PROXY_HOPS`; `None`: 0 under `dev`, 1 under `serve`).
    pub trusted_proxy_hops: Option<usize>,
    /// Browser origins allowed to call `/api` (`JOJOMART_CORS_ORIGINS`,
    /// comma-separated exact origins; `dev` adds its own).
    pub cors_origins: Vec<String>,
    /// The storefront's public base URL that links in mail point to
    /// (`JOJOMART_PUBLIC_URL`; `None`: `dev` uses its own `http://127.0.0.1:<port>`).
    pub public_url: Option<String>,
    /// Outgoing mail (`JOJOMART_SMTP_*`, `JOJOMART_MAIL_FROM`).
    pub mail: MailConfig,
}

/// How a connection to the mail server is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmtpSecurity {
    /// Plain text (`smtp://`): for a local test server only.
    None,
    /// Plain, upgraded with STARTTLS before anything else (`smtp://...?tls=starttls`).
    StartTls,
    /// TLS from the first byte (`smtps://`).
    Tls,
}

/// Where mail goes: an SMTP server, parsed from `JOJOMART_SMTP_URL`
/// (`smtp://[user@]host[:port][?tls=starttls]` or `smtps://[user@]host[:port]`),
/// with the password from `JOJOMART_SMTP_PASSWORD` (a Key Vault reference in Azure).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmtpSettings {
    /// The server's host name.
    pub host: String,
    /// Its port (default 25 plain, 587 with STARTTLS, 465 with TLS).
    pub port: u16,
    /// Plain, STARTTLS or implicit TLS.
    pub security: SmtpSecurity,
    /// The user to authenticate as (percent-decoded from the URL).
    pub user: Option<String>,
    /// The password (`JOJOMART_SMTP_PASSWORD`), never in the URL.
    pub password: Option<Secret<String>>,
}

impl SmtpSettings {
    /// Parses `JOJOMART_SMTP_URL`.
    ///
    /// # Errors
    /// A [`ConfigError`] naming `JOJOMART_SMTP_URL` for another scheme, a
    /// missing host, a bad port, an unknown `tls` value or a password in the URL.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        const SETTING: &str = "JOJOMART_SMTP_URL";
        let bad = |why: &str| ConfigError::invalid(SETTING, why.to_owned());
        let url = url.trim();
        let (implicit_tls, rest) = if let Some(rest) = url.strip_prefix("smtps://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("smtp://") {
            (false, rest)
        } else {
            return Err(bad(
                "expected smtp://host[:port][?tls=starttls] or smtps://host[:port]",
            ));
        };
        let (authority, query) = rest.split_once('?').unwrap_or((rest, ""));
        let authority = authority.trim_end_matches('/');
        let (user, hostport) = match authority.rsplit_once('@') {
            Some((user, hostport)) => {
                if user.contains(':') {
                    return Err(bad(
                        "the password goes in JOJOMART_SMTP_PASSWORD, not in the URL",
                    ));
                }
                (Some(percent_decode(user)), hostport)
            }
            None => (None, authority),
        };
        let (host, port) = match hostport.rsplit_once(':') {
            Some((host, port)) => (
                host,
                Some(
                    port.parse::<u16>()
                        .map_err(|_| bad("the port is not a number"))?,
                ),
            ),
            None => (hostport, None),
        };
        if host.is_empty() || host.contains(['/', ' ']) {
            return Err(bad("the host is missing or malformed"));
        }
        let mut starttls = false;
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            match pair.split_once('=') {
                Some(("tls", "starttls")) if !implicit_tls => starttls = true,
                Some(("tls", "none")) if !implicit_tls => starttls = false,
                _ => {
                    return Err(bad(
                        "the only option is tls=starttls (smtps:// is TLS already)",
                    ))
                }
            }
        }
        let security = match (implicit_tls, starttls) {
            (true, _) => SmtpSecurity::Tls,
            (false, true) => SmtpSecurity::StartTls,
            (false, false) => SmtpSecurity::None,
        };
        let default_port = match security {
            SmtpSecurity::None => 25,
            SmtpSecurity::StartTls => 587,
            SmtpSecurity::Tls => 465,
        };
        Ok(Self {
            host: host
                .trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
            port: port.unwrap_or(default_port),
            security,
            user: user.filter(|u| !u.is_empty()),
            password: None,
        })
    }
}

/// `%XX` escapes decoded (a user name such as `mailer%40shop.example`).
fn percent_decode(raw: &str) -> String {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (
            bytes[i],
            bytes.get(i + 1).copied().and_then(hex),
            bytes.get(i + 2).copied().and_then(hex),
        ) {
            (b'%', Some(h), Some(l)) => {
                out.push((h * 16 + l) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Outgoing mail: the sender, the SMTP server, and whether `dev` records mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MailConfig {
    /// The `From` of every mail (`JOJOMART_MAIL_FROM`, default `jojomart <no-reply@localhost>`).
    pub from: String,
    /// The SMTP server (`JOJOMART_SMTP_URL` + `JOJOMART_SMTP_PASSWORD`);
    /// `None`: `dev` only records mail, `serve` cannot send any.
    pub smtp: Option<SmtpSettings>,
    /// Keep every mail sent in the store for `GET /dev/mail` (set by `dev`).
    pub record: bool,
}

impl Default for MailConfig {
    fn default() -> Self {
        Self {
            from: "jojomart <no-reply@localhost>".to_owned(),
            smtp: None,
            record: false,
        }
    }
}

/// Where payments go: Stripe's API (or anything speaking its wire, such as the
/// gateway simulator) and the secrets for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentsConfig {
    /// The API's base URL (`JOJOMART_STRIPE_API_BASE`, default `https://api.stripe.com`).
    pub api_base: String,
    /// The secret API key (`JOJOMART_STRIPE_SECRET_KEY`); without it no charge
    /// can be made (`dev` starts the simulator instead).
    pub secret_key: Option<Secret<String>>,
    /// The webhook endpoint's signing secret (`JOJOMART_STRIPE_WEBHOOK_SECRET`).
    pub webhook_secret: Option<Secret<String>>,
}

impl PaymentsConfig {
    /// Stripe's own API.
    pub const STRIPE_API_BASE: &'static str = "https://api.stripe.com";
}

impl Default for PaymentsConfig {
    fn default() -> Self {
        Self {
            api_base: Self::STRIPE_API_BASE.to_owned(),
            secret_key: None,
            webhook_secret: None,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Self {
            data_dir: PathBuf::from(".jojomart"),
            store: StoreBackend::Sqlite,
            queue: QueueBackend::Sqlite,
            cache: None,
            redis_url: None,
            blob: BlobBackend::Files,
            media_base_url: None,
            delivery: DeliveryPolicy::default(),
            admin_emails: Vec::new(),
            max_body_bytes: 1024 * 1024,
            catalog_refresh: Duration::from_millis(1000),
            reservation_ttl: Duration::from_secs(15 * 60),
            auth: AuthConfig::default(),
            payments: PaymentsConfig::default(),
            trusted_proxy_hops: None,
            cors_origins: Vec::new(),
            public_url: None,
            mail: MailConfig::default(),
        }
    }
}

impl Config {
    /// Loads the configuration from the process environment.
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first unusable setting.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Loads the configuration from any key lookup (the environment, or a map in tests).
    ///
    /// # Errors
    /// A [`ConfigError`] naming the first unusable setting.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut config = Self::default();
        let nonempty = |k: &str| {
            get(k)
                .filter(|v| !v.trim().is_empty())
                .filter(|v| !unresolved_reference(k, v))
        };
        if let Some(dir) = nonempty("JOJOMART_DATA_DIR") {
            config.data_dir = PathBuf::from(dir);
        }
        if let Some(v) = nonempty("JOJOMART_STORE") {
            config.store = v.parse()?;
        }
        if let Some(v) = nonempty("JOJOMART_QUEUE") {
            config.queue = v.parse()?;
        }
        if let Some(v) = nonempty("JOJOMART_CACHE") {
            config.cache = Some(v.parse()?);
        }
        config.redis_url = resolved_secret(&nonempty, "JOJOMART_REDIS_URL");
        if let Some(v) = nonempty("JOJOMART_BLOB") {
            config.blob = v.parse()?;
        }
        if let Some(v) = nonempty("JOJOMART_MEDIA_BASE_URL") {
            let v = v.trim().trim_end_matches('/');
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                return Err(ConfigError::invalid(
                    "JOJOMART_MEDIA_BASE_URL",
                    format!("`{v}` is not an http(s) URL"),
                ));
            }
            config.media_base_url = Some(v.to_owned());
        }
        if let Some(v) = nonempty("JOJOMART_ADMIN_EMAILS") {
            config.admin_emails = v
                .split(',')
                .map(|e| e.trim().to_ascii_lowercase())
                .filter(|e| !e.is_empty())
                .collect();
        }
        if let Some(v) = nonempty("JOJOMART_QUEUE_MAX_DEQUEUE_COUNT") {
            config.delivery.max_dequeue_count = parse_num("JOJOMART_QUEUE_MAX_DEQUEUE_COUNT", &v)?;
        }
        if let Some(v) = nonempty("JOJOMART_QUEUE_RETRY_DELAY_MS") {
            config.delivery.retry_delay =
                Duration::from_millis(parse_num("JOJOMART_QUEUE_RETRY_DELAY_MS", &v)?);
        }
        if let Some(v) = nonempty("JOJOMART_QUEUE_POLL_INTERVAL_MS") {
            config.delivery.max_polling_interval =
                Duration::from_millis(parse_num("JOJOMART_QUEUE_POLL_INTERVAL_MS", &v)?);
        }
        if let Some(v) = nonempty("JOJOMART_CATALOG_REFRESH_MS") {
            config.catalog_refresh =
                Duration::from_millis(parse_num("JOJOMART_CATALOG_REFRESH_MS", &v)?);
        }
        if let Some(v) = nonempty("JOJOMART_RESERVATION_TTL_SECONDS") {
            config.reservation_ttl =
                Duration::from_secs(parse_num("JOJOMART_RESERVATION_TTL_SECONDS", &v)?);
        }
        if let Some(v) = nonempty("JOJOMART_TRUSTED_PROXY_HOPS") {
            config.trusted_proxy_hops = Some(parse_num("JOJOMART_TRUSTED_PROXY_HOPS", &v)?);
        }
        if let Some(v) = nonempty("JOJOMART_CORS_ORIGINS") {
            config.cors_origins = parse_origins(&v)?;
        }
        config.auth = AuthConfig::from_lookup(&nonempty)?;
        if let Some(v) = nonempty("JOJOMART_STRIPE_API_BASE") {
            let v = v.trim().trim_end_matches('/');
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                return Err(ConfigError::invalid(
                    "JOJOMART_STRIPE_API_BASE",
                    format!("`{v}` is not an http(s) URL"),
                ));
            }
            config.payments.api_base = v.to_owned();
        }
        config.payments.secret_key = resolved_secret(&nonempty, "JOJOMART_STRIPE_SECRET_KEY");
        config.payments.webhook_secret =
            resolved_secret(&nonempty, "JOJOMART_STRIPE_WEBHOOK_SECRET");
        if let Some(v) = nonempty("JOJOMART_PUBLIC_URL") {
            let v = v.trim().trim_end_matches('/');
            if !(v.starts_with("https://") || v.starts_with("http://")) {
                return Err(ConfigError::invalid(
                    "JOJOMART_PUBLIC_URL",
                    format!("`{v}` is not an http(s) URL"),
                ));
            }
            config.public_url = Some(v.to_owned());
        }
        if let Some(v) = nonempty("JOJOMART_MAIL_FROM") {
            config.mail.from = v.trim().to_owned();
        }
        if let Some(v) = nonempty("JOJOMART_SMTP_URL") {
            let mut smtp = SmtpSettings::parse(&v)?;
            smtp.password = resolved_secret(&nonempty, "JOJOMART_SMTP_PASSWORD");
            config.mail.smtp = Some(smtp);
        }
        Ok(config)
    }
}

/// Comma-separated exact origins (`https://shop.example`, `http://localhost:3000`).
fn parse_origins(value: &str) -> Result<Vec<String>, ConfigError> {
    let mut origins = Vec::new();
    for origin in value.split(',').map(str::trim).filter(|o| !o.is_empty()) {
        let origin = origin.trim_end_matches('/');
        let host = origin
            .strip_prefix("https://")
            .or_else(|| origin.strip_prefix("http://"));
        match host {
            Some(host) if !host.is_empty() && !host.contains(['/', '*', ' ', '?', '#']) => {
                origins.push(origin.to_owned());
            }
            _ => {
                return Err(ConfigError::invalid(
                    "JOJOMART_CORS_ORIGINS",
                    format!("`{origin}` is not an exact http(s) origin"),
                ))
            }
        }
    }
    Ok(origins)
}

/// A secret setting (the lookup already dropped unresolved Key Vault references).
fn resolved_secret(get: &impl Fn(&str) -> Option<String>, setting: &str) -> Option<Secret<String>> {
    get(setting).map(|value| Secret::new(value.trim().to_owned()))
}

/// True when `value` is a Key Vault reference the platform left unresolved:
/// App Service passes the literal `@Microsoft.KeyVault(...)` text on when the
/// secret is missing or the app's identity may not read it yet.
pub fn is_unresolved_key_vault_reference(value: &str) -> bool {
    value.trim_start().starts_with("@Microsoft.KeyVault(")
}

/// [`is_unresolved_key_vault_reference`], logging one line naming the setting,
/// which then counts as unset.
pub(crate) fn unresolved_reference(setting: &str, value: &str) -> bool {
    let unresolved = is_unresolved_key_vault_reference(value);
    if unresolved {
        tracing::warn!(
            setting,
            "is an unresolved Key Vault reference (the secret is missing or not readable yet); treated as unset"
        );
    }
    unresolved
}

/// Parses a number setting, naming it on failure.
///
/// # Errors
/// A [`ConfigError`] naming `setting`.
pub(crate) fn parse_num<T: FromStr>(setting: &str, value: &str) -> Result<T, ConfigError> {
    value
        .trim()
        .parse()
        .map_err(|_| ConfigError::invalid(setting, format!("`{value}` is not a number")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unresolved_key_vault_references_count_as_unset() {
        let reference = |name: &str| {
            format!("@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/{name}/)")
        };
        let c = Config::from_lookup(|k| match k {
            "JOJOMART_JWT_SIGNING_KEY" => Some(reference("jwt-signing-key")),
            "JOJOMART_JWT_PREVIOUS_SIGNING_KEY" => Some(reference("jwt-previous")),
            "JOJOMART_STRIPE_SECRET_KEY" => Some(reference("stripe-secret-key")),
            "JOJOMART_STRIPE_WEBHOOK_SECRET" => Some(format!("  {}", reference("whsec"))),
            "JOJOMART_ENTRA_TENANT_ID" => Some(reference("tenant")),
            _ => None,
        })
        .expect("an unresolved reference is not a bad value");
        assert!(c.auth.signing_key.is_none() && c.auth.previous_signing_key.is_none());
        assert!(c.payments.secret_key.is_none() && c.payments.webhook_secret.is_none());
        assert!(c.auth.entra.is_none());
        assert!(is_unresolved_key_vault_reference(&reference("x")));
        assert!(!is_unresolved_key_vault_reference("sk_test_123"));
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(
            format!("{:?}", Secret::new("hunter2")),
            "Secret(<redacted>)"
        );
    }

    #[test]
    fn bad_backend_names_the_setting() {
        let e = Config::from_lookup(|k| (k == "JOJOMART_STORE").then(|| "mongo".to_owned()))
            .unwrap_err();
        assert!(e.to_string().starts_with("JOJOMART_STORE:"), "{e}");
    }

    #[test]
    fn cache_settings_parse_and_name_themselves() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!((c.cache, c.redis_url.is_none()), (None, true));
        let c = Config::from_lookup(|k| match k {
            "JOJOMART_CACHE" => Some("Redis".into()),
            "JOJOMART_REDIS_URL" => Some("rediss://:key@example:6380".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.cache, Some(CacheBackend::Redis));
        assert!(!format!("{c:?}").contains("key@"), "the URL is a secret");
        let e = Config::from_lookup(|k| (k == "JOJOMART_CACHE").then(|| "memcached".into()))
            .unwrap_err();
        assert!(e.to_string().starts_with("JOJOMART_CACHE:"), "{e}");
    }

    #[test]
    fn admin_emails_are_normalised() {
        let c = Config::from_lookup(|k| {
            (k == "JOJOMART_ADMIN_EMAILS").then(|| " A@x.io, b@y.io ,".to_owned())
        })
        .unwrap();
        assert_eq!(c.admin_emails, ["a@x.io", "b@y.io"]);
    }

    #[test]
    fn stripe_settings_default_to_stripe_without_keys() {
        let c = Config::from_lookup(|_| None).unwrap();
        assert_eq!(c.payments.api_base, "https://api.stripe.com");
        assert!(c.payments.secret_key.is_none() && c.payments.webhook_secret.is_none());
        let c = Config::from_lookup(|k| match k {
            "JOJOMART_STRIPE_API_BASE" => Some("http://127.0.0.1:12111/".into()),
            "JOJOMART_STRIPE_SECRET_KEY" => Some("sk_test_x".into()),
            "JOJOMART_STRIPE_WEBHOOK_SECRET" => Some("whsec_y".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(c.payments.api_base, "http://127.0.0.1:12111");
        assert_eq!(
            c.payments.secret_key.as_ref().map(|s| s.expose().as_str()),
            Some("sk_test_x")
        );
        assert!(
            !format!("{:?}", c.payments).contains("whsec_y"),
            "secrets are redacted"
        );
        let e = Config::from_lookup(|k| {
            (k == "JOJOMART_STRIPE_API_BASE").then(|| "api.stripe.com".into())
        })
        .unwrap_err();
        assert!(
            e.to_string().starts_with("JOJOMART_STRIPE_API_BASE:"),
            "{e}"
        );
    }

    #[test]
    fn smtp_urls_name_security_port_and_user() {
        let s = SmtpSettings::parse("smtp://127.0.0.1:2525").unwrap();
        assert_eq!(
            (s.host.as_str(), s.port, s.security, s.user),
            ("127.0.0.1", 2525, SmtpSecurity::None, None)
        );
        let s =
            SmtpSettings::parse("smtp://mailer%40shop.example@mail.example?tls=starttls").unwrap();
        assert_eq!((s.port, s.security), (587, SmtpSecurity::StartTls));
        assert_eq!(s.user.as_deref(), Some("mailer@shop.example"));
        let s = SmtpSettings::parse("smtps://u@mail.example").unwrap();
        assert_eq!((s.port, s.security), (465, SmtpSecurity::Tls));
        for bad in [
            "http://mail.example",
            "smtp://u:secret@mail.example",
            "smtp://:25",
            "smtp://h:x",
            "smtps://h?tls=starttls",
        ] {
            let e = SmtpSettings::parse(bad).unwrap_err();
            assert_eq!(e.setting, "JOJOMART_SMTP_URL", "{bad}");
        }
        let c = Config::from_lookup(|k| match k {
            "JOJOMART_SMTP_URL" => Some("smtp://h:25".into()),
            "JOJOMART_SMTP_PASSWORD" => Some("pw".into()),
            _ => None,
        })
        .unwrap();
        let smtp = c.mail.smtp.unwrap();
        assert_eq!(
            smtp.password.as_ref().map(|p| p.expose().as_str()),
            Some("pw")
        );
        assert!(
            !format!("{smtp:?}").contains("pw\""),
            "the password is redacted"
        );
    }
}
