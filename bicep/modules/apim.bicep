// API Management in front of the Function Apps: the OpenAPI document imported
// as one API at the root (its paths start with /api), each Function App a
// backend that sends that app's function key (a Key Vault named value) as
// `x-functions-key`, the API policy from bicep/apim/ (CORS for the storefront,
// per-client rate limits, the default app as backend), and one operation
// policy per operation served by another app of the split.
param name string
param location string
@allowed([
  'Consumption'
  'Developer'
  'BasicV2'
  'StandardV2'
])
param sku string
param publisherEmail string
param keyVaultName string
param defaultApp string
@description('One per Function App: { app, url, keySecretUri }.')
param backends array
@description('Operations served outside the default app: { app, operation }.')
param routes array
param openApiDocument string
param storefrontOrigin string
param rateLimitPerMinute int
param authRateLimitPerMinute int

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

// A user-assigned identity, granted Key Vault Secrets User before the service
// exists, so the named values can read the function keys on first deployment.
resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: '${name}-apim'
  location: location
}

resource secretsUser 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, 'secrets-user')
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', '4633458b-17de-408a-b874-0445c86b69e6')
  }
}

resource service 'Microsoft.ApiManagement/service@2023-05-01-preview' = {
  name: name
  location: location
  sku: { name: sku, capacity: sku == 'Consumption' ? 0 : 1 }
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: { '${identity.id}': {} }
  }
  properties: {
    publisherEmail: publisherEmail
    publisherName: 'jojomart'
  }
  dependsOn: [ secretsUser ]
}

resource functionKeys 'Microsoft.ApiManagement/service/namedValues@2023-05-01-preview' = [for b in backends: {
  parent: service
  name: 'function-key-${b.app}'
  properties: {
    displayName: 'function-key-${b.app}'
    secret: true
    keyVault: {
      secretIdentifier: b.keySecretUri
      identityClientId: identity.properties.clientId
    }
  }
}]

resource appBackends 'Microsoft.ApiManagement/service/backends@2023-05-01-preview' = [for (b, i) in backends: {
  parent: service
  name: 'app-${b.app}'
  properties: {
    protocol: 'http'
    url: b.url
    credentials: {
      header: { 'x-functions-key': [ '{{function-key-${b.app}}}' ] }
    }
    tls: { validateCertificateChain: true, validateCertificateName: true }
  }
  dependsOn: [ functionKeys ]
}]

resource api 'Microsoft.ApiManagement/service/apis@2023-05-01-preview' = {
  parent: service
  name: 'jojomart'
  properties: {
    displayName: 'jojomart'
    path: ''
    protocols: [ 'https' ]
    subscriptionRequired: false
    format: 'openapi+json'
    value: openApiDocument
    serviceUrl: backends[0].url
  }
}

// The fragments lose their <fragment> root when spliced into the API policy.
var corsFragment = replace(replace(loadTextContent('../apim/cors.xml'), '<fragment>', ''), '</fragment>', '')
var rateLimitsFragment = replace(replace(loadTextContent('../apim/rate-limits.xml'), '<fragment>', ''), '</fragment>', '')
var cors = empty(storefrontOrigin) ? '' : replace(corsFragment, '__STOREFRONT_ORIGIN__', storefrontOrigin)
var rateLimits = sku == 'Consumption' ? '' : replace(replace(rateLimitsFragment, '__CALLS_PER_MINUTE__', string(rateLimitPerMinute)), '__AUTH_CALLS_PER_MINUTE__', string(authRateLimitPerMinute))
var apiPolicyXml = replace(replace(replace(loadTextContent('../apim/api-policy.xml'), '<!--CORS-->', cors), '<!--RATE-LIMITS-->', rateLimits), '__DEFAULT_BACKEND__', 'app-${defaultApp}')

resource apiPolicy 'Microsoft.ApiManagement/service/apis/policies@2023-05-01-preview' = {
  parent: api
  name: 'policy'
  properties: {
    format: 'rawxml'
    value: apiPolicyXml
  }
  dependsOn: [ appBackends ]
}

resource operationPolicies 'Microsoft.ApiManagement/service/apis/operations/policies@2023-05-01-preview' = [for r in routes: {
  name: '${service.name}/${api.name}/${r.operation}/policy'
  properties: {
    format: 'rawxml'
    value: replace(loadTextContent('../apim/operation-policy.xml'), '__BACKEND__', 'app-${r.app}')
  }
  dependsOn: [ apiPolicy ]
}]

output gatewayUrl string = service.properties.gatewayUrl
output name string = service.name
