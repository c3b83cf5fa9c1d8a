// The bridge: a Function App on the Flex Consumption plan (FC1), Node 22, running as the user-assigned
// identity, with every setting of src/lib/settings.ts that applies in Azure. No key or connection
// string is in its settings: storage, tables, Key Vault, Web PubSub and Application Insights all take
// the identity's Entra token.
param name string
param planName string
param location string = resourceGroup().location
param tags object = {}

@description('Resource id of the user-assigned identity.')
param identityId string
@description('Client id of the user-assigned identity.')
param identityClientId string

param storageAccountName string
@description('Blob container Flex Consumption deploys the package from.')
param deploymentContainerName string
param applicationInsightsConnectionString string

@allowed([
  512
  2048
  4096
])
param instanceMemoryMB int = 2048
@minValue(1)
@maxValue(1000)
param maximumInstanceCount int = 100

// The bridge's settings.
param tablesEndpoint string
param tablePrefix string
param keyVaultUrl string
param webPubSubEndpoint string
param webPubSubHub string

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' existing = {
  name: storageAccountName
}

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: planName
  location: location
  tags: tags
  kind: 'functionapp'
  sku: {
    name: 'FC1'
    tier: 'FlexConsumption'
  }
  properties: {
    reserved: true
  }
}

resource functionApp 'Microsoft.Web/sites@2024-04-01' = {
  name: name
  location: location
  // azd finds the app to deploy the `api` service (azure.yaml) to by this tag.
  tags: union(tags, {
    'azd-service-name': 'api'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identityId}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identityId
          }
        }
      }
      scaleAndConcurrency: {
        instanceMemoryMB: instanceMemoryMB
        maximumInstanceCount: maximumInstanceCount
      }
      runtime: {
        name: 'node'
        version: '22'
      }
    }
  }
}

// All app settings, replaced as a whole on every provision. Flex Consumption sets the runtime from
// functionAppConfig: FUNCTIONS_WORKER_RUNTIME, FUNCTIONS_EXTENSION_VERSION and WEBSITE_NODE_DEFAULT_VERSION
// must not be here.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: functionApp
  name: 'appsettings'
  properties: {
    // The host's own storage through the identity. accountName is enough in the public cloud with
    // standard DNS: the host derives the blob and queue endpoints from it.
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identityClientId
    // Telemetry with an Entra token (the component has local auth off).
    APPLICATIONINSIGHTS_CONNECTION_STRING: applicationInsightsConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'Authorization=AAD;ClientId=${identityClientId}'

    // src/lib/settings.ts. TABLES_CONNECTION_STRING and WEBPUBSUB_CONNECTION_STRING are the local
    // alternatives to the two endpoints and are never set here (test/infra/settings.test.ts checks it).
    TABLES_ENDPOINT: tablesEndpoint
    TABLE_PREFIX: tablePrefix
    KEY_VAULT_URL: keyVaultUrl
    WEBPUBSUB_ENDPOINT: webPubSubEndpoint
    WEBPUBSUB_HUB: webPubSubHub
    // DefaultAzureCredential picks the user-assigned identity by this client id.
    AZURE_CLIENT_ID: identityClientId
    // Plain-http instance URLs are for the local stack only.
    ALLOW_INSECURE_LOOPBACK: 'false'
    // Tunables at the app's defaults (test/infra/settings.test.ts keeps them equal to settings.ts).
    INSTANCE_CACHE_TTL_SECONDS: '30'
    SECRET_CACHE_TTL_SECONDS: '300'
    PREFERENCES_CACHE_TTL_SECONDS: '30'
    GROUPS_CACHE_TTL_SECONDS: '900'
    SEND_TIMEOUT_MS: '2000'
    CONNECTION_TEST_TIMEOUT_MS: '5000'
    UPSTREAM_TIMEOUT_MS: '10000'
    SIGNIN_RATE_LIMIT_PER_MINUTE: '30'
    TOKEN_RATE_LIMIT_PER_MINUTE: '60'
    // The Key Vault secret of the session signing keys (created on first use).
    SESSION_KEY_SECRET_NAME: 'session-signing-key'
  }
}

output name string = functionApp.name
output url string = 'https://${functionApp.properties.defaultHostName}'
