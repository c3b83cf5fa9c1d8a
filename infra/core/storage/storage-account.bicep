// The storage account: the Functions host's own storage (timer locks, keys), the Flex Consumption
// deployment container, and the bridge's tables. Only Entra ID reaches it: shared keys are off, so no
// connection string exists that could leak.
@minLength(3)
@maxLength(24)
param name string
param location string = resourceGroup().location
param tags object = {}

@description('Blob containers to create (the deployment package container).')
param containerNames string[] = []

@description('Tables to create (TABLE_PREFIX + each name of src/lib/storage/tables.ts).')
param tableNames string[] = []

resource account 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: name
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    accessTier: 'Hot'
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    allowCrossTenantReplication: false
    defaultToOAuthAuthentication: true
    dnsEndpointType: 'Standard'
    minimumTlsVersion: 'TLS1_2'
    publicNetworkAccess: 'Enabled'
    supportsHttpsTrafficOnly: true
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource containers 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = [
  for containerName in containerNames: {
    parent: blobService
    name: containerName
    properties: {
      publicAccess: 'None'
    }
  }
]

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: account
  name: 'default'
}

resource tables 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = [
  for tableName in tableNames: {
    parent: tableService
    name: tableName
  }
]

output name string = account.name
output id string = account.id
output blobEndpoint string = account.properties.primaryEndpoints.blob
// TABLES_ENDPOINT: https://<account>.table.core.windows.net, without the trailing slash of primaryEndpoints.
output tableEndpoint string = 'https://${account.name}.table.${environment().suffixes.storage}'
