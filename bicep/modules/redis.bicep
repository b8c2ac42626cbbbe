// Azure Cache for Redis: the cache port's fast path (throttle windows, short-
// lived marks; functions/adapters.rs, shared/src/cache/redis.rs). Basic C0 by
// default (Standard for the replica), TLS only (port 6380, TLS 1.2 at least),
// Entra ID auth enabled beside the access key. The app uses the access key:
// the whole URL, `rediss://:<key>@<host>:6380/` (the key percent-encoded: it
// is base64, whose `+`, `/` and `=` are not allowed in a URL's userinfo), is
// written to Key Vault as the `redis-url` secret; main.bicep then gives the
// Function Apps `JOJOMART_CACHE=redis` and `JOJOMART_REDIS_URL` as a Key
// Vault reference to it. When Redis is down the app falls
// back to the store's `cache` container, so Basic's lack of a replica costs
// speed, not correctness.
param name string
param location string

@description('Key Vault that receives the `redis-url` secret.')
param keyVaultName string

@allowed([ 'Basic', 'Standard' ])
param skuName string = 'Basic'

@description('Enabled: reachable over the internet (TLS + key); Disabled: private endpoint only.')
@allowed([ 'Enabled', 'Disabled' ])
param publicNetworkAccess string = 'Enabled'

resource cache 'Microsoft.Cache/redis@2024-11-01' = {
  name: name
  location: location
  properties: {
    sku: { name: skuName, family: 'C', capacity: 0 }
    enableNonSslPort: false
    minimumTlsVersion: '1.2'
    publicNetworkAccess: publicNetworkAccess
    disableAccessKeyAuthentication: false
    redisConfiguration: {
      'aad-enabled': 'true'
    }
  }
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource redisUrl 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: 'redis-url'
  properties: {
    contentType: 'text/plain'
    value: 'rediss://:${uriComponent(cache.listKeys().primaryKey)}@${cache.properties.hostName}:${cache.properties.sslPort}/'
  }
}

output name string = cache.name
output hostName string = cache.properties.hostName
