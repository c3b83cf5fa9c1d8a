// Azure Web PubSub and the hub the bridge sends notifications through. The bridge only calls the
// service's REST API (send to user or group, client tokens); clients only receive, so the hub has no
// event handler and refuses anonymous connections.
param name string
param location string = resourceGroup().location
param tags object = {}

@allowed([
  'Free_F1'
  'Standard_S1'
])
param sku string = 'Standard_S1'

@minValue(1)
@maxValue(100)
@description('Units: 1,000 concurrent connections each on Standard. Free has exactly 1.')
param capacity int = 1

@description('WEBPUBSUB_HUB')
param hubName string = 'flowquest'

@description('Access keys off: the bridge uses Entra ID (Web PubSub Service Owner) for the REST API and client tokens.')
param disableLocalAuth bool = true

resource service 'Microsoft.SignalRService/webPubSub@2024-03-01' = {
  name: name
  location: location
  tags: tags
  sku: {
    name: sku
    tier: sku == 'Free_F1' ? 'Free' : 'Standard'
    capacity: sku == 'Free_F1' ? 1 : capacity
  }
  properties: {
    disableLocalAuth: disableLocalAuth
    disableAadAuth: false
    publicNetworkAccess: 'Enabled'
    tls: {
      clientCertEnabled: false
    }
  }
}

resource hub 'Microsoft.SignalRService/webPubSub/hubs@2024-03-01' = {
  parent: service
  name: hubName
  properties: {
    anonymousConnectPolicy: 'deny'
    eventHandlers: []
  }
}

output name string = service.name
output id string = service.id
// WEBPUBSUB_ENDPOINT: https://<name>.webpubsub.azure.com
output endpoint string = 'https://${service.properties.hostName}'
output hubName string = hub.name
