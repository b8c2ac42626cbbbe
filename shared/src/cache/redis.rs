//! The Redis adapter (Azure Cache for Redis in production): one
//! reconnecting [`ConnectionManager`], counters by a Lua script (so create,
//! add and expire happen as one step), values by `SET ... PX`.
//!
//! The URL comes from `JOJOMART_REDIS_URL`: `redis://[:password@]host:port/db`,
//! or `rediss://` for TLS (Azure Cache for Redis listens on 6380, TLS only;
//! the access key is the password, from Key Vault). Entra ID token auth is not
//! implemented here: use the access key.
//!
//! Every call has a short deadline ([`RedisSettings::timeout`]): a Redis that
//! does not answer costs a login at most that, and [`super::fallback`] then
//! stops asking it for a while.

use std::time::Duration;

use async_trait::async_trait;
use redis::{aio::ConnectionManager, aio::ConnectionManagerConfig, Client, Script};

use super::{millis, Cache, CacheError, CacheHealth, Counter, Entry};
use crate::config::Secret;

/// Adds ARGV[1] to KEYS[1]; a missing key is created with a PX of ARGV[2]
/// (or left missing when ARGV[1] <= 0). Returns {count, pttl}.
const ADD: &str = r"
local delta = tonumber(ARGV[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl == -2 then
  if delta <= 0 then return {0, 0} end
  redis.call('SET', KEYS[1], delta, 'PX', ARGV[2])
  return {delta, tonumber(ARGV[2])}
end
local count = redis.call('INCRBY', KEYS[1], delta)
if ttl == -1 then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  ttl = tonumber(ARGV[2])
end
return {count, ttl}
";

/// Where Redis is and how long to wait for it.
#[derive(Debug, Clone)]
pub struct RedisSettings {
    /// `redis://` or `rediss://` URL, password included (`JOJOMART_REDIS_URL`).
    pub url: Secret<String>,
    /// Deadline of one call, connecting included.
    pub timeout: Duration,
    /// Prefix of every key (several apps may share one Redis).
    pub prefix: String,
}

impl RedisSettings {
    /// Settings for `url` with a 500 ms deadline and the `jojomart:` prefix.
    pub fn new(url: Secret<String>) -> Self {
        Self {
            url,
            timeout: Duration::from_millis(500),
            prefix: "jojomart:".into(),
        }
    }
}

/// The Redis adapter; cheap to clone.
#[derive(Clone)]
pub struct RedisCache {
    manager: ConnectionManager,
    add: Script,
    timeout: Duration,
    prefix: String,
}

impl std::fmt::Debug for RedisCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCache")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Why the adapter could not be built (the URL is unusable).
#[derive(Debug, thiserror::Error)]
#[error("JOJOMART_REDIS_URL: {0}")]
pub struct RedisUrlError(String);

impl RedisCache {
    /// Builds the adapter without connecting: the first call connects, and a
    /// lost connection is made again, so a Redis that is down at startup
    /// only means the fallback serves until it is up.
    ///
    /// # Errors
    /// [`RedisUrlError`] for a malformed URL (never the password).
    pub fn connect_lazily(settings: &RedisSettings) -> Result<Self, RedisUrlError> {
        let client = Client::open(settings.url.expose().as_str()).map_err(|e| {
            RedisUrlError(format!("not a redis:// or rediss:// URL ({:?})", e.kind()))
        })?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(settings.timeout))
            .set_response_timeout(Some(settings.timeout))
            .set_number_of_retries(1)
            .set_max_delay(settings.timeout);
        let manager = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| RedisUrlError(format!("{:?}", e.kind())))?;
        Ok(Self {
            manager,
            add: Script::new(ADD),
            timeout: settings.timeout,
            prefix: settings.prefix.clone(),
        })
    }

    fn key(&self, key: &str) -> String {
        format!("{}{key}", self.prefix)
    }

    async fn run<T>(
        &self,
        call: impl std::future::Future<Output = redis::RedisResult<T>>,
    ) -> Result<T, CacheError> {
        match tokio::time::timeout(self.timeout, call).await {
            Ok(Ok(v)) => Ok(v),
            // Any failure (unreachable, refused credentials, a server error)
            // leaves the caller to fall back: a misconfigured Redis must
            // cost speed, not logins.
            Ok(Err(e)) => Err(CacheError::Unavailable(e.to_string())),
            Err(_) => Err(CacheError::Unavailable(format!(
                "no answer within {:?}",
                self.timeout
            ))),
        }
    }
}

fn from_ms(ms: i64) -> Duration {
    Duration::from_millis(u64::try_from(ms).unwrap_or(0))
}

#[async_trait]
impl Cache for RedisCache {
    async fn add(&self, key: &str, delta: i64, window: Duration) -> Result<Counter, CacheError> {
        let mut conn = self.manager.clone();
        let key = self.key(key);
        let (count, ttl): (i64, i64) = self
            .run(async {
                self.add
                    .key(&key)
                    .arg(delta)
                    .arg(millis(window))
                    .invoke_async(&mut conn)
                    .await
            })
            .await?;
        Ok(Counter {
            count,
            ttl: from_ms(ttl),
        })
    }

    async fn get(&self, key: &str) -> Result<Option<Entry>, CacheError> {
        let mut conn = self.manager.clone();
        let key = self.key(key);
        let (value, ttl): (Option<String>, i64) = self
            .run(async {
                redis::pipe()
                    .atomic()
                    .get(&key)
                    .pttl(&key)
                    .query_async(&mut conn)
                    .await
            })
            .await?;
        Ok(value.map(|value| Entry {
            value,
            ttl: from_ms(ttl),
        }))
    }

    async fn set(&self, key: &str, value: &str, ttl: Duration) -> Result<(), CacheError> {
        let mut conn = self.manager.clone();
        let key = self.key(key);
        self.run(async {
            redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .arg("PX")
                .arg(millis(ttl))
                .query_async::<()>(&mut conn)
                .await
        })
        .await
    }

    async fn delete(&self, key: &str) -> Result<(), CacheError> {
        let mut conn = self.manager.clone();
        let key = self.key(key);
        self.run(async {
            redis::cmd("DEL")
                .arg(&key)
                .query_async::<()>(&mut conn)
                .await
        })
        .await
    }

    fn kind(&self) -> &'static str {
        "redis"
    }

    async fn health(&self) -> CacheHealth {
        let mut conn = self.manager.clone();
        match self
            .run(async { redis::cmd("PING").query_async::<String>(&mut conn).await })
            .await
        {
            Ok(_) => CacheHealth::Ok,
            Err(_) => CacheHealth::Down,
        }
    }
}

#[cfg(test)]
mod tests {
    /// Bicep writes `redis-url` with the access key percent-encoded (a key is
    /// base64: `+`, `/` and `=` are not allowed raw in a URL's userinfo);
    /// Redis must get the key itself back.
    #[test]
    fn a_percent_encoded_access_key_reaches_redis_decoded() {
        let key = "ab+c/d=";
        let url = "rediss://:ab%2Bc%2Fd%3D@jojomart.redis.cache.windows.net:6380/";
        let client = redis::Client::open(url).expect("a valid URL");
        assert_eq!(
            client.get_connection_info().redis_settings().password(),
            Some(key)
        );
    }
}
