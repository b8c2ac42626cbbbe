// jojomart on Azure: a Linux Function App (custom handler) with a managed
// identity, Cosmos DB for documents, Storage Queues for messages, Azure Cache
// for Redis for throttle windows, Key Vault for the token signing key (and
// the Redis URL), and Application Insights for logs.
targetScope = 'resourceGroup'

@description('Name prefix for every resource (3-11 lowercase letters or digits).')
@minLength(3)
@maxLength(11)
param prefix string = 'jojomart'

@description('Azure region.')
param location string = resourceGroup().location

@description('Emails that get the admin role at registration (comma-separated).')
param adminEmails string = ''

@description('The storefront\'s public base URL, which links in mail point to (https://shop.example).')
param publicUrl string = ''

@description('The mail server: smtps://user@host[:port] or smtp://user@host[:port]?tls=starttls; its password is the Key Vault secret smtp-password.')
param smtpUrl string = ''

@description('The From of every mail (jojomart <no-reply@shop.example>).')
param mailFrom string = ''

@description('Whether Azure Cache for Redis is reachable over the internet (TLS and key) or only privately.')
@allowed([ 'Enabled', 'Disabled' ])
param redisPublicNetworkAccess string = 'Enabled'

var suffix = uniqueString(resourceGroup().id)

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
  }
}

module redis 'modules/redis.bicep' = {
  name: 'redis'
  params: {
    name: '${prefix}-${suffix}'
    location: location
    keyVaultName: keyVault.outputs.name
    publicNetworkAccess: redisPublicNetworkAccess
  }
}

module functionApp 'modules/functionapp.bicep' = {
  name: 'functionapp'
  params: {
    name: '${prefix}-${suffix}'
    location: location
    storageAccountName: storage.outputs.name
    cosmosEndpoint: cosmos.outputs.endpoint
    cosmosDatabase: cosmos.outputs.database
    keyVaultUri: keyVault.outputs.uri
    appInsightsConnectionString: monitoring.outputs.connectionString
    adminEmails: adminEmails
    publicUrl: publicUrl
    smtpUrl: smtpUrl
    mailFrom: mailFrom
  }
}

module access 'modules/access.bicep' = {
  name: 'access'
  params: {
    principalId: functionApp.outputs.principalId
    storageAccountName: storage.outputs.name
    cosmosAccountName: cosmos.outputs.name
    keyVaultName: keyVault.outputs.name
  }
}

output functionAppName string = functionApp.outputs.name
output functionAppUrl string = functionApp.outputs.url
