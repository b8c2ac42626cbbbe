// A Function App's default host key, kept in Key Vault as the secret API
// Management's named value reads (and sends as `x-functions-key`).
param siteName string
param keyVaultName string
param secretName string

resource site 'Microsoft.Web/sites@2024-04-01' existing = {
  name: siteName
}

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' existing = {
  name: keyVaultName
}

resource key 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = {
  parent: vault
  name: secretName
  properties: {
    value: listKeys('${site.id}/host/default', '2024-04-01').functionKeys.default
    contentType: 'text/plain'
    attributes: { enabled: true }
  }
}

output secretUri string = key.properties.secretUri
