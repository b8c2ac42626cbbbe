// Cosmos DB (serverless, NoSQL API): one database, one container per owned
// collection, partitioned as DESIGN.md says. The app never creates containers
// in Azure (managed identity has data-plane rights only), so every container
// the code names must be here; a test keeps this list equal to the code's.
param name string
param location string
param databaseName string = 'jojomart'

var containers = [
  { name: 'system', partitionKey: '/pk' }
  { name: 'identities', partitionKey: '/email' }
  { name: 'refreshTokens', partitionKey: '/familyId' }
  { name: 'signingKeys', partitionKey: '/kid' }
  { name: 'throttle', partitionKey: '/key' }
  { name: 'users', partitionKey: '/userId' }
  { name: 'products', partitionKey: '/productId' }
  { name: 'skus', partitionKey: '/sku' }
  { name: 'inventory', partitionKey: '/productId' }
  { name: 'categories', partitionKey: '/categoryId' }
  { name: 'reviews', partitionKey: '/productId' }
  { name: 'carts', partitionKey: '/cartId' }
  { name: 'orders', partitionKey: '/userId' }
  { name: 'payments', partitionKey: '/orderId' }
  { name: 'notifications', partitionKey: '/userId' }
  { name: 'events', partitionKey: '/day' }
  { name: 'rollups', partitionKey: '/day' }
]

resource account 'Microsoft.DocumentDB/databaseAccounts@2024-05-15' = {
  name: name
  location: location
  kind: 'GlobalDocumentDB'
  properties: {
    databaseAccountOfferType: 'Standard'
    consistencyPolicy: { defaultConsistencyLevel: 'Session' }
    locations: [ { locationName: location, failoverPriority: 0 } ]
    capabilities: [ { name: 'EnableServerless' } ]
    disableLocalAuth: true
    minimalTlsVersion: 'Tls12'
  }
}

resource database 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases@2024-05-15' = {
  parent: account
  name: databaseName
  properties: { resource: { id: databaseName } }
}

resource collections 'Microsoft.DocumentDB/databaseAccounts/sqlDatabases/containers@2024-05-15' = [for c in containers: {
  parent: database
  name: c.name
  properties: {
    resource: {
      id: c.name
      partitionKey: { paths: [ c.partitionKey ], kind: 'Hash', version: 2 }
      indexingPolicy: { indexingMode: 'consistent', automatic: true }
    }
  }
}]

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output database string = databaseName
