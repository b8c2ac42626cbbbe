// Cosmos DB (serverless, NoSQL API): one database, one container per owned
// collection, partitioned as DESIGN.md says. The app never creates containers
// in Azure (managed identity has data-plane rights only), so every container
// a service declares (its `ServiceDef` in functions/<service>/mod.rs) must be
// here, with the same partition key and `defaultTtl` (-1: per document; seconds;
// absent: off); tests/api/bicep.rs checks them against the descriptors.
// Every container gets the composite index (partition key, id) that the
// adapter's default cross-partition order needs; the reviews, orders and
// notifications lists add the indexes their queries ordered by `createdAtUs`
// (dev mail: `atUs`) need (ties broken by partition key and id in the sort's
// direction, see shared/src/store/cosmos.rs).
param name string
param location string
param databaseName string = 'jojomart'

var containers = [
  { name: 'system', partitionKey: '/pk', composites: [ [ { path: '/pk', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'identities', partitionKey: '/email', composites: [ [ { path: '/email', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'refreshTokens', partitionKey: '/familyId', defaultTtl: -1, composites: [ [ { path: '/familyId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'signingKeys', partitionKey: '/kid', composites: [ [ { path: '/kid', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'cache', partitionKey: '/key', defaultTtl: -1, composites: [ [ { path: '/key', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'accountTokens', partitionKey: '/tokenHash', defaultTtl: -1, composites: [ [ { path: '/tokenHash', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'revocations', partitionKey: '/userId', defaultTtl: -1, composites: [ [ { path: '/userId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'users', partitionKey: '/userId', defaultTtl: -1, composites: [ [ { path: '/userId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'products', partitionKey: '/productId', composites: [ [ { path: '/productId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'skus', partitionKey: '/sku', composites: [ [ { path: '/sku', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'inventory', partitionKey: '/productId', composites: [ [ { path: '/productId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'categories', partitionKey: '/categoryId', composites: [ [ { path: '/categoryId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  {
    name: 'reviews'
    partitionKey: '/productId'
    composites: [
      [ { path: '/productId', order: 'ascending' }, { path: '/id', order: 'ascending' } ]
      [ { path: '/createdAtUs', order: 'descending' }, { path: '/productId', order: 'descending' }, { path: '/id', order: 'descending' } ]
      [ { path: '/createdAtUs', order: 'descending' }, { path: '/id', order: 'descending' } ]
    ]
  }
  { name: 'carts', partitionKey: '/cartId', defaultTtl: -1, composites: [ [ { path: '/cartId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  {
    name: 'orders'
    partitionKey: '/userId'
    defaultTtl: -1
    composites: [
      [ { path: '/userId', order: 'ascending' }, { path: '/id', order: 'ascending' } ]
      [ { path: '/createdAtUs', order: 'descending' }, { path: '/userId', order: 'descending' }, { path: '/id', order: 'descending' } ]
      [ { path: '/createdAtUs', order: 'descending' }, { path: '/id', order: 'descending' } ]
    ]
  }
  { name: 'payments', partitionKey: '/orderId', composites: [ [ { path: '/orderId', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  {
    name: 'notifications'
    partitionKey: '/userId'
    composites: [
      [ { path: '/userId', order: 'ascending' }, { path: '/id', order: 'ascending' } ]
      [ { path: '/createdAtUs', order: 'descending' }, { path: '/id', order: 'descending' } ]
      [ { path: '/atUs', order: 'descending' }, { path: '/id', order: 'descending' } ]
    ]
  }
  { name: 'events', partitionKey: '/day', composites: [ [ { path: '/day', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
  { name: 'rollups', partitionKey: '/day', composites: [ [ { path: '/day', order: 'ascending' }, { path: '/id', order: 'ascending' } ] ] }
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
    disableKeyBasedMetadataWriteAccess: true
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
      defaultTtl: c.?defaultTtl
      indexingPolicy: {
        indexingMode: 'consistent'
        automatic: true
        includedPaths: [ { path: '/*' } ]
        compositeIndexes: c.composites
      }
    }
  }
}]

output name string = account.name
output endpoint string = account.properties.documentEndpoint
output database string = databaseName
