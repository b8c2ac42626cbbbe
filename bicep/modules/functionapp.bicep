// A Linux Flex Consumption Function App running the jojomart custom handler,
// with a system-assigned identity and identity-based connections.
param name string
param location string
param storageAccountName string
param cosmosEndpoint string
param cosmosDatabase string
param keyVaultUri string
param appInsightsConnectionString string
param adminEmails string
param publicUrl string
param smtpUrl string
param mailFrom string

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: name
  location: location
  kind: 'functionapp'
  sku: { tier: 'FlexConsumption', name: 'FC1' }
  properties: { reserved: true }
}

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
          value: 'https://${storageAccountName}.blob.${environment().suffixes.storage}/deployments'
          authentication: { type: 'SystemAssignedIdentity' }
        }
      }
      runtime: { name: 'custom', version: '1.0' }
      scaleAndConcurrency: { maximumInstanceCount: 100, instanceMemoryMB: 2048 }
    }
    siteConfig: {
      minTlsVersion: '1.2'
      appSettings: [
        { name: 'AzureWebJobsStorage__accountName', value: storageAccountName }
        { name: 'AzureWebJobsStorage__queueServiceUri', value: 'https://${storageAccountName}.queue.${environment().suffixes.storage}' }
        { name: 'APPLICATIONINSIGHTS_CONNECTION_STRING', value: appInsightsConnectionString }
        { name: 'JOJOMART_STORE', value: 'cosmos' }
        { name: 'JOJOMART_QUEUE', value: 'azure' }
        { name: 'COSMOS_ENDPOINT', value: cosmosEndpoint }
        { name: 'COSMOS_DATABASE', value: cosmosDatabase }
        { name: 'JOJOMART_ADMIN_EMAILS', value: adminEmails }
        { name: 'JOJOMART_JWT_SIGNING_KEY', value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/jwt-signing-key/)' }
        { name: 'JOJOMART_STRIPE_SECRET_KEY', value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/stripe-secret-key/)' }
        { name: 'JOJOMART_STRIPE_WEBHOOK_SECRET', value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/stripe-webhook-secret/)' }
        { name: 'JOJOMART_PUBLIC_URL', value: publicUrl }
        { name: 'JOJOMART_SMTP_URL', value: smtpUrl }
        { name: 'JOJOMART_SMTP_PASSWORD', value: '@Microsoft.KeyVault(SecretUri=${keyVaultUri}secrets/smtp-password/)' }
        { name: 'JOJOMART_MAIL_FROM', value: mailFrom }
      ]
    }
  }
}

output name string = site.name
output url string = 'https://${site.properties.defaultHostName}'
output principalId string = site.identity.principalId
