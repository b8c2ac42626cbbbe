// Key Vault for the access-token signing key, the Stripe secrets and the
// function keys API Management sends (referenced from app settings and named
// values). A secret is created only from a non-empty `@secure()` parameter;
// main.bicep adds the app setting referring to it only then, so no setting
// refers to a secret nobody created.
param name string
param location string
@description('Purge protection; once on it cannot be turned off (the property is then omitted, never false).')
param purgeProtection bool
@description('`recover` restores a soft-deleted vault of the same name (a recreated resource group).')
param createMode string
@secure()
param jwtSigningKey string
@secure()
param stripeSecretKey string
@secure()
param stripeWebhookSecret string
@secure()
@description('The mail server\'s password; empty: no secret.')
param smtpPassword string

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  properties: {
    tenantId: subscription().tenantId
    sku: { family: 'A', name: 'standard' }
    createMode: createMode
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: purgeProtection ? true : null
    publicNetworkAccess: 'Enabled'
    networkAcls: { defaultAction: 'Allow', bypass: 'AzureServices' }
  }
}

var secrets = [
  { setting: 'JOJOMART_JWT_SIGNING_KEY', name: 'jwt-signing-key', value: jwtSigningKey }
  { setting: 'JOJOMART_STRIPE_SECRET_KEY', name: 'stripe-secret-key', value: stripeSecretKey }
  { setting: 'JOJOMART_STRIPE_WEBHOOK_SECRET', name: 'stripe-webhook-secret', value: stripeWebhookSecret }
  { setting: 'JOJOMART_SMTP_PASSWORD', name: 'smtp-password', value: smtpPassword }
]

resource secret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = [for s in secrets: if (!empty(s.value)) {
  parent: vault
  name: s.name
  properties: {
    value: s.value
    contentType: 'text/plain'
    attributes: { enabled: true }
  }
}]

output name string = vault.name
output uri string = vault.properties.vaultUri
