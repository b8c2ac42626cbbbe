// The storage account the Functions host needs (AzureWebJobsStorage), holding
// our queues and their poison twins, one deployment container per Function
// App, and the `images` container of product images. Shared keys are off:
// identities only. The account allows public blob access so that `images`
// alone can be read anonymously by blob URL (no listing, `publicAccess:
// 'Blob'`, what browsers and a CDN fetch); every other container stays private.
param name string
param location string
@description('The Function Apps of the split (each gets a `deployments-<app>` container).')
param apps array

var queues = [
  'notifications'
  'notifications-poison'
  'analytics-events'
  'analytics-events-poison'
  'user-erasure'
  'user-erasure-poison'
]

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  kind: 'StorageV2'
  sku: { name: 'Standard_LRS' }
  properties: {
    allowBlobPublicAccess: true
    allowSharedKeyAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
  properties: {
    deleteRetentionPolicy: { enabled: true, days: 7 }
  }
}

resource deployments 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [for app in apps: {
  parent: blobService
  name: 'deployments-${app}'
  properties: { publicAccess: 'None' }
}]

// Product images (shared/src/blob/azure.rs; JOJOMART_BLOB_CONTAINER): public read of blobs by URL, no listing.
resource images 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: 'images'
  properties: { publicAccess: 'Blob' }
}

resource queueService 'Microsoft.Storage/storageAccounts/queueServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource messageQueues 'Microsoft.Storage/storageAccounts/queueServices/queues@2023-05-01' = [for q in queues: {
  parent: queueService
  name: q
}]

output name string = account.name
output id string = account.id
output queueEndpoint string = account.properties.primaryEndpoints.queue
output blobEndpoint string = account.properties.primaryEndpoints.blob
output imagesContainer string = images.name
