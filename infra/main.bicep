// FlowQuest Bridge on Azure: everything `azd up` creates, in one resource group.
// Layout after Microsoft's azd quickstart for TypeScript on Flex Consumption
// (Azure-Samples/functions-quickstart-typescript-azd): main.bicep at subscription scope, app/ for this
// app's pieces, core/ for reusable resources, Azure Verified Modules (pinned) where one fits as is.
// docs/deploy.md explains what is created and why.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('Name of the azd environment. Names the resource group (rg-<name>) and seeds the unique suffix of every resource name.')
param environmentName string

@minLength(1)
@description('Region of every resource. It must offer the Flex Consumption plan: az functionapp list-flexconsumption-locations.')
@metadata({
  azd: {
    type: 'location'
  }
})
param location string

@description('Object id of whoever runs azd (azd fills in AZURE_PRINCIPAL_ID). A person gets the data roles needed to run the bridge locally against these resources; empty: nobody does.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
])
@description('Kind of principalId. Only a User gets the local-debugging data roles: a pipeline identity (ServicePrincipal, see .github/workflows/deploy.yml) gets none.')
param principalType string = 'User'

@minLength(1)
@maxLength(20)
@description('TABLE_PREFIX: put in front of every table name, so that environments can share an account.')
param tablePrefix string = 'fq'

@minLength(1)
@maxLength(128)
@description('WEBPUBSUB_HUB: the Web PubSub hub that notifications are sent through.')
param webPubSubHubName string = 'flowquest'

@allowed([
  'Free_F1'
  'Standard_S1'
])
@description('Web PubSub tier. Free_F1 (20 connections, 20,000 messages a day) is for trying things out; Standard_S1 has 1,000 connections per unit.')
param webPubSubSku string = 'Standard_S1'

@minValue(1)
@maxValue(100)
@description('Web PubSub units (Standard only).')
param webPubSubCapacity int = 1

@description('Turn off Web PubSub access keys: the bridge signs in with its managed identity and never uses a key.')
param webPubSubDisableLocalAuth bool = true

@description('Key Vault name. Empty: kv-<suffix>. Purge protection keeps a deleted vault\'s name taken for 90 days, so a re-created environment may need another one.')
param keyVaultName string = ''

@allowed([
  512
  2048
  4096
])
@description('Memory of each Flex Consumption instance, in MB.')
param instanceMemoryMB int = 2048

@minValue(1)
@maxValue(1000)
@description('Most Flex Consumption instances the app may scale out to.')
param maximumInstanceCount int = 100

var resourceToken = toLower(uniqueString(subscription().id, environmentName, location))
var tags = {
  'azd-env-name': environmentName
}
var functionAppName = 'func-${resourceToken}'
// Flex Consumption runs the package that `azd deploy` puts in this blob container.
var deploymentContainerName = 'app-package-${take(functionAppName, 32)}-${take(resourceToken, 7)}'

resource rg 'Microsoft.Resources/resourceGroups@2022-09-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

// The one identity of the app: host storage, tables, Key Vault, Web PubSub and telemetry all use it.
module identity 'br/public:avm/res/managed-identity/user-assigned-identity:0.4.1' = {
  name: 'identity'
  scope: rg
  params: {
    name: 'id-${resourceToken}'
    location: location
    tags: tags
  }
}

module logAnalytics 'br/public:avm/res/operational-insights/workspace:0.11.1' = {
  name: 'logAnalytics'
  scope: rg
  params: {
    name: 'log-${resourceToken}'
    location: location
    tags: tags
    dataRetention: 30
  }
}

module appInsights 'br/public:avm/res/insights/component:0.6.0' = {
  name: 'appInsights'
  scope: rg
  params: {
    name: 'appi-${resourceToken}'
    location: location
    tags: tags
    workspaceResourceId: logAnalytics.outputs.resourceId
    // Telemetry only with an Entra token (APPLICATIONINSIGHTS_AUTHENTICATION_STRING): the connection string alone cannot write.
    disableLocalAuth: true
  }
}

module storage 'core/storage/storage-account.bicep' = {
  name: 'storage'
  scope: rg
  params: {
    name: 'st${resourceToken}'
    location: location
    tags: tags
    containerNames: [
      deploymentContainerName
    ]
    tableNames: [
      for table in tableSuffixes: '${tablePrefix}${table}'
    ]
  }
}

// src/lib/storage/tables.ts (TABLE_NAMES): the app also creates them when missing; declaring them here
// means a deployment never depends on that first request, and `azd down` removes them with the rest.
var tableSuffixes = [
  'instances'
  'events'
  'deadletters'
  'preferences'
  'sessions'
  'audit'
]

module keyVault 'core/security/key-vault.bicep' = {
  name: 'keyVault'
  scope: rg
  params: {
    name: !empty(keyVaultName) ? keyVaultName : 'kv-${resourceToken}'
    location: location
    tags: tags
  }
}

module webPubSub 'core/realtime/web-pubsub.bicep' = {
  name: 'webPubSub'
  scope: rg
  params: {
    name: 'wps-${resourceToken}'
    location: location
    tags: tags
    sku: webPubSubSku
    capacity: webPubSubCapacity
    hubName: webPubSubHubName
    disableLocalAuth: webPubSubDisableLocalAuth
  }
}

module rbac 'app/rbac.bicep' = {
  name: 'rbac'
  scope: rg
  params: {
    storageAccountName: storage.outputs.name
    keyVaultName: keyVault.outputs.name
    webPubSubName: webPubSub.outputs.name
    appInsightsName: appInsights.outputs.name
    appPrincipalId: identity.outputs.principalId
    userPrincipalId: principalId
    userPrincipalType: principalType
  }
}

module api 'app/api.bicep' = {
  name: 'api'
  scope: rg
  params: {
    name: functionAppName
    planName: 'plan-${resourceToken}'
    location: location
    tags: tags
    identityId: identity.outputs.resourceId
    identityClientId: identity.outputs.clientId
    storageAccountName: storage.outputs.name
    deploymentContainerName: deploymentContainerName
    applicationInsightsConnectionString: appInsights.outputs.connectionString
    instanceMemoryMB: instanceMemoryMB
    maximumInstanceCount: maximumInstanceCount
    tablesEndpoint: storage.outputs.tableEndpoint
    tablePrefix: tablePrefix
    keyVaultUrl: keyVault.outputs.uri
    webPubSubEndpoint: webPubSub.outputs.endpoint
    webPubSubHub: webPubSub.outputs.hubName
  }
  // The host reads its storage with the identity from its first start: grant the roles first.
  dependsOn: [
    rbac
  ]
}

// What azd stores in .azure/<env>/.env and the README and docs/deploy.md refer to.
output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_NAME string = api.outputs.name
output AZURE_FUNCTION_URL string = api.outputs.url
output SERVICE_API_NAME string = api.outputs.name
// The client id of the app's user-assigned identity (the Function App's AZURE_CLIENT_ID setting).
// Not for a developer's shell: locally the bridge signs in as the developer.
output AZURE_CLIENT_ID string = identity.outputs.clientId
output AZURE_STORAGE_ACCOUNT_NAME string = storage.outputs.name
output TABLES_ENDPOINT string = storage.outputs.tableEndpoint
output TABLE_PREFIX string = tablePrefix
output KEY_VAULT_NAME string = keyVault.outputs.name
output KEY_VAULT_URL string = keyVault.outputs.uri
output WEBPUBSUB_NAME string = webPubSub.outputs.name
output WEBPUBSUB_ENDPOINT string = webPubSub.outputs.endpoint
output WEBPUBSUB_HUB string = webPubSub.outputs.hubName
output APPLICATIONINSIGHTS_CONNECTION_STRING string = appInsights.outputs.connectionString
