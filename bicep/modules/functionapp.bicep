// One Linux Flex Consumption Function App running the jojomart custom handler
// (one plan per app, as Flex Consumption requires), with a system-assigned
// identity and identity-based connections. Every app of a split runs the same
// package and enables only its own functions: `disabledSettings` holds an
// `AzureWebJobs.<name>.Disabled` setting for each of the others.
param name string
param location string
param storageAccountName string
@description('The public container of product images (JOJOMART_BLOB_CONTAINER).')
param imagesContainer string
@description('A CDN endpoint in front of it (JOJOMART_MEDIA_BASE_URL); empty: the container\'s URL.')
param mediaBaseUrl string
@description('JOJOMART_CACHE: `redis` when Redis is deployed (JOJOMART_REDIS_URL is then among secretNames), else `store`.')
@allowed([ 'redis', 'store' ])
param cache string
param deploymentContainer string
param cosmosEndpoint string
param cosmosDatabase string
param keyVaultUri string
@description('The Key Vault secrets that exist, by app setting (JOJOMART_JWT_SIGNING_KEY → jwt-signing-key).')
param secretNames object
param appInsightsConnectionString string
param adminEmails string
param publicUrl string
param smtpUrl string
param mailFrom string
param disabledSettings array
param entraTenantId string
param entraAudience string
param entraAuthority string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: name
  location: location
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

// A Key Vault reference only for the secrets the template created: a reference
// to a missing secret reaches the app as its literal text (which `serve`
// treats as unset, with a log line naming the setting).
var secretSettings = [for setting in items(secretNames): {
  name: setting.key
  value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/${setting.value}/)'
}]

var settings = [
  { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
  { name: 'AzureWebJobsStorage__queueServiceUri', value: 'https://${storageAccountName}.queue.${environment().suffixes.storage}' }
  { name: 'AzureWebJobsStorage__blobServiceUri', value: 'https://${storageAccountName}.blob.${environment().suffixes.storage}' }
  { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
  { name: 'JOJOMART_STORE', value: 'cosmos' }
  { name: 'JOJOMART_QUEUE', value: 'azure' }
  { name: 'JOJOMART_BLOB', value: 'azure' }
  { name: 'JOJOMART_BLOB_CONTAINER', value: imagesContainer }
  { name: 'JOJOMART_MEDIA_BASE_URL', value: mediaBaseUrl }
  { name: 'JOJOMART_CACHE', value: cache }
  { name: 'COSMOS_ENDPOINT', value: cosmosEndpoint }
  { name: 'COSMOS_DATABASE', value: cosmosDatabase }
  { name: 'JOJOMART_ADMIN_EMAILS', value: adminEmails }
  // client → API Management → the Functions front end → the app: two proxies append to X-Forwarded-For
  { name: 'JOJOMART_TRUSTED_PROXY_HOPS', value: '2' }
  { name: 'JOJOMART_ENTRA_TENANT_ID', value: entraTenantId }
  { name: 'JOJOMART_ENTRA_AUDIENCE', value: entraAudience }
  { name: 'JOJOMART_ENTRA_AUTHORITY', value: entraAuthority }
  { name: 'JOJOMART_PUBLIC_URL', value: publicUrl }
  { name: 'JOJOMART_SMTP_URL', value: smtpUrl }
  { name: 'JOJOMART_MAIL_FROM', value: mailFrom }
]

resource site 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  kind: 'functionapp,linux'
  identity: { type: 'SystemAssigned' }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: 'https://${storageAccountName}.blob.${environment().suffixes.storage}/${deploymentContainer}'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      runtime: { name: 'custom', version: '1.0' }
      scaleAndConcurrency: { maximumInstanceCount: 100, instanceMemoryMB: 2048 }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
      http20Enabled: true
      appSettings: concat(settings, secretSettings, disabledSettings)
    }
  }
}

// No publishing with user names and passwords: deployments authenticate with Entra ID.
resource ftp 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'ftp'
  properties: { allow: false }
}

resource scm 'Microsoft.Web/sites/basicPublishingCredentialsPolicies@2024-04-01' = {
  parent: site
  name: 'scm'
  properties: { allow: false }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
output principalId string = site.identity.principalId
