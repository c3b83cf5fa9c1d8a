// The vault of webhook secrets, ServiceNow client secrets, refresh tokens and session signing keys.
// Access by Azure RBAC only (no access policies), soft delete with purge protection: a deleted secret
// can always be recovered within the retention period, by anyone, including whoever deleted it.
@minLength(3)
@maxLength(24)
param name string
param location string = resourceGroup().location
param tags object = {}

@minValue(7)
@maxValue(90)
@description('Days a deleted vault or secret is kept (and its name stays taken).')
param softDeleteRetentionInDays int = 90

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: name
  location: location
  tags: tags
  properties: {
    tenantId: subscription().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: softDeleteRetentionInDays
    enablePurgeProtection: true
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      bypass: 'AzureServices'
      defaultAction: 'Allow'
    }
  }
}

output name string = vault.name
output id string = vault.id
// KEY_VAULT_URL: https://<name>.vault.azure.net/
output uri string = vault.properties.vaultUri
