// jojomart on Azure: API Management in front of one or more Linux Flex
// Consumption Function Apps (custom handler, same package; `appSplit` says
// which services each app enables), each with a system-assigned identity and
// data-plane roles only; Cosmos DB for documents, Storage Queues for messages,
// a public-read Blob Storage container for product images (optionally behind
// a CDN), Azure Cache for Redis for throttle windows (its URL in Key Vault),
// Key Vault for secrets, and Application Insights for logs.
targetScope = 'resourceGroup'

@description('Name prefix for every resource (3-11 lowercase letters or digits).')
@minLength(3)
@maxLength(11)
param prefix string = 'jojomart'

@description('Azure region; Flex Consumption runs only in these (`az functionapp list-flexconsumption-locations`).')
@allowed([
  'australiaeast'
  'australiasoutheast'
  'brazilsouth'
  'canadacentral'
  'centralindia'
  'centralus'
  'eastasia'
  'eastus'
  'eastus2'
  'francecentral'
  'germanywestcentral'
  'italynorth'
  'japaneast'
  'koreacentral'
  'northcentralus'
  'northeurope'
  'norwayeast'
  'southafricanorth'
  'southcentralus'
  'southeastasia'
  'southindia'
  'spaincentral'
  'swedencentral'
  'uaenorth'
  'uksouth'
  'ukwest'
  'westcentralus'
  'westeurope'
  'westus'
  'westus2'
  'westus3'
])
param location string = resourceGroup().location

@description('Emails that get the admin role at registration (comma-separated).')
param adminEmails string = ''

@description('The storefront\'s public base URL, which links in mail point to (https://shop.example).')
param publicUrl string = ''

@description('The mail server: smtps://user@host[:port] or smtp://user@host[:port]?tls=starttls; its password is the Key Vault secret smtp-password.')
param smtpUrl string = ''

@description('The From of every mail (jojomart <no-reply@shop.example>).')
param mailFrom string = ''

@description('The mail server\'s password, stored as the Key Vault secret smtp-password; empty: none.')
@secure()
param smtpPassword string = ''

@description('How the services are split across Function Apps (bicep/functionapps.json, written by `jojomart manifest`).')
@allowed([
  'single'
  'catalog'
  'per-service'
])
param appSplit string = 'single'

@description('Ed25519 private key (PKCS#8 PEM) that signs access tokens; empty: the app keeps a generated key ring in the store.')
@secure()
param jwtSigningKey string = ''

@description('Stripe secret key (sk_test_... or sk_live_...); empty: charging answers 503.')
@secure()
param stripeSecretKey string = ''

@description('Stripe webhook signing secret (whsec_...); empty: the webhook answers 503.')
@secure()
param stripeWebhookSecret string = ''

@description('Key Vault purge protection (irreversible once on; keep it on in production).')
param keyVaultPurgeProtection bool = true

@description('`recover` when a soft-deleted vault of the same name exists (a recreated resource group); scripts/deploy.sh detects it.')
@allowed([
  'default'
  'recover'
])
param keyVaultCreateMode string = 'default'

@description('The browser storefront origin allowed by CORS at API Management (https://shop.example); empty: the Static Web App\'s own origin when `storefront` is on, else none.')
param storefrontOrigin string = ''

@description('Deploy the storefront and the admin console (web/) as a Static Web App (Free tier), pointed at API Management.')
param storefront bool = true

@description('The Static Web App\'s region (Static Web Apps are global; few regions hold them).')
@allowed([
  'centralus'
  'eastasia'
  'eastus2'
  'westeurope'
  'westus2'
])
param storefrontLocation string = 'westeurope'

@description('API Management tier. Consumption has no rate-limit-by-key policy: the per-client limits apply on the other tiers only.')
@allowed([
  'Consumption'
  'Developer'
  'BasicV2'
  'StandardV2'
])
param apimSku string = 'Consumption'

@description('API Management publisher email (notifications from the service).')
param apimPublisherEmail string = 'ops@example.com'

@description('The OpenAPI document (`jojomart openapi`), imported into API Management.')
param openApiDocument string

@description('Calls per minute per client IP through API Management (not on Consumption).')
param rateLimitPerMinute int = 600

@description('Calls per minute per client IP on /api/auth/* (not on Consumption).')
param authRateLimitPerMinute int = 20

@description('Entra ID tenant whose tokens the app also accepts; empty: Entra ID off.')
param entraTenantId string = ''

@description('The `aud` Entra ID tokens must carry (the API app registration\'s client id or api:// URI).')
param entraAudience string = ''

@description('The Entra ID issuer (default https://login.microsoftonline.com/{tenant}/v2.0).')
param entraAuthority string = ''

@description('Where product image URLs point: a CDN endpoint in front of the storage account\'s `images` container (https://cdn.example/images); empty: the container\'s own URL.')
param mediaBaseUrl string = ''

@description('Deploy Azure Cache for Redis for the throttle windows (JOJOMART_CACHE=redis, its URL from Key Vault); false: they live in the store.')
param deployRedis bool = true

@description('Whether Azure Cache for Redis is reachable over the internet (TLS and key) or only privately.')
@allowed([ 'Enabled', 'Disabled' ])
param redisPublicNetworkAccess string = 'Enabled'

var suffix = uniqueString(resourceGroup().id)
var splits = loadJsonContent('functionapps.json')
var apps = splits.splits[appSplit].apps
var defaultAppName = '${prefix}-${suffix}'
// The app settings that refer to a Key Vault secret, only for the secrets created
// (`redis-url` is written by modules/redis.bicep when Redis is deployed).
var secretNames = union(
  empty(jwtSigningKey) ? {} : { JOJOMART_JWT_SIGNING_KEY: 'jwt-signing-key' },
  empty(stripeSecretKey) ? {} : { JOJOMART_STRIPE_SECRET_KEY: 'stripe-secret-key' },
  empty(stripeWebhookSecret) ? {} : { JOJOMART_STRIPE_WEBHOOK_SECRET: 'stripe-webhook-secret' },
  empty(smtpPassword) ? {} : { JOJOMART_SMTP_PASSWORD: 'smtp-password' },
  deployRedis ? { JOJOMART_REDIS_URL: 'redis-url' } : {}
)
var appNames = [for app in apps: app.name == splits.defaultApp ? defaultAppName : '${prefix}-${app.name}-${suffix}']

module monitoring 'modules/monitoring.bicep' = {
  name: 'monitoring'
  params: {
    name: '${prefix}-${suffix}'
    location: location
  }
}

module storage 'modules/storage.bicep' = {
  name: 'storage'
  params: {
    name: take('${prefix}${suffix}', 24)
    location: location
    apps: [for app in apps: app.name]
  }
}

module cosmos 'modules/cosmos.bicep' = {
  name: 'cosmos'
  params: {
    name: '${prefix}-${suffix}'
    location: location
  }
}

module keyVault 'modules/keyvault.bicep' = {
  name: 'keyvault'
  params: {
    name: take('${prefix}-${suffix}', 24)
    location: location
    purgeProtection: keyVaultPurgeProtection
    createMode: keyVaultCreateMode
    jwtSigningKey: jwtSigningKey
    stripeSecretKey: stripeSecretKey
    stripeWebhookSecret: stripeWebhookSecret
    smtpPassword: smtpPassword
  }
}

module redis 'modules/redis.bicep' = if (deployRedis) {
  name: 'redis'
  params: {
    name: '${prefix}-${suffix}'
    location: location
    keyVaultName: keyVault.outputs.name
    publicNetworkAccess: redisPublicNetworkAccess
  }
}

module web 'modules/staticwebapp.bicep' = if (storefront) {
  name: 'staticwebapp'
  params: {
    name: '${prefix}-${suffix}'
    location: storefrontLocation
  }
}

// Links in mail and CORS point at the storefront: the given ones, else the Static Web App.
var webUrl = storefront ? web.outputs.url : ''
var mailLinksUrl = empty(publicUrl) ? webUrl : publicUrl
var corsOrigin = empty(storefrontOrigin) ? webUrl : storefrontOrigin

module functionApps 'modules/functionapp.bicep' = [for (app, i) in apps: {
  name: 'functionapp-${app.name}'
  params: {
    name: appNames[i]
    location: location
    storageAccountName: storage.outputs.name
    imagesContainer: storage.outputs.imagesContainer
    mediaBaseUrl: mediaBaseUrl
    cache: deployRedis ? 'redis' : 'store'
    deploymentContainer: 'deployments-${app.name}'
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabase: cosmos.outputs.database
    keyVaultUri: keyVault.outputs.uri
    secretNames: secretNames
    appInsightsConnectionString: monitoring.outputs.connectionString
    adminEmails: adminEmails
    publicUrl: mailLinksUrl
    smtpUrl: smtpUrl
    mailFrom: mailFrom
    disabledSettings: app.disabledSettings
    entraTenantId: entraTenantId
    entraAudience: entraAudience
    entraAuthority: entraAuthority
  }
  // the `redis-url` secret its JOJOMART_REDIS_URL refers to exists first
  dependsOn: [ redis ]
}]

module access 'modules/access.bicep' = [for (app, i) in apps: {
  name: 'access-${app.name}'
  params: {
    principalId: functionApps[i].outputs.principalId
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}]

module functionKeys 'modules/functionkey.bicep' = [for (app, i) in apps: {
  name: 'functionkey-${app.name}'
  params: {
    siteName: functionApps[i].outputs.name
    keyVaultName: keyVault.outputs.name
    secretName: 'function-key-${app.name}'
  }
}]

module apim 'modules/apim.bicep' = {
  name: 'apim'
  params: {
    name: '${prefix}-${suffix}'
    location: location
    sku: apimSku
    publisherEmail: apimPublisherEmail
    keyVaultName: keyVault.outputs.name
    defaultApp: splits.defaultApp
    backends: [for (app, i) in apps: {
      app: app.name
      url: functionApps[i].outputs.url
      keySecretUri: functionKeys[i].outputs.secretUri
    }]
    routes: splits.splits[appSplit].routes
    openApiDocument: openApiDocument
    storefrontOrigin: corsOrigin
    rateLimitPerMinute: rateLimitPerMinute
    authRateLimitPerMinute: authRateLimitPerMinute
  }
}

output functionAppNames array = [for (app, i) in apps: functionApps[i].outputs.name]
output functionAppPrincipalIds array = [for (app, i) in apps: functionApps[i].outputs.principalId]
output functionAppName string = defaultAppName
output functionAppUrl string = functionApps[0].outputs.url
output storageAccountId string = storage.outputs.id
output apiUrl string = apim.outputs.gatewayUrl
output storefrontName string = storefront ? web.outputs.name : ''
output storefrontUrl string = webUrl
