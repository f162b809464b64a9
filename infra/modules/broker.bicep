// Every resource of one ReferralBroker deployment, in the resource group main.bicep creates.
//
// Principles: no keys anywhere. Storage refuses shared keys, Service Bus refuses SAS, App Insights refuses
// instrumentation-key ingestion; the app and its Functions host sign in as one user-assigned identity with only
// the data-plane roles they use. The two secrets (pepper, SendGrid key) live in Key Vault and reach the app as
// Key Vault references. Guarded by tests/ReferralBroker.Tests/Deployment/InfraConsistencyTests.cs, which checks
// the compiled ARM JSON.

param environmentName string
param location string
param tags object
param principalId string
@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string
param sendGridFromEmail string
param publicBaseUrl string
@secure()
param brokerPepper string
@secure()
param sendGridApiKey string
param network object
param coordinatorKeySha256 string
param maximumInstanceCount int
param dispatchSchedule string
param sweepSchedule string

var resourceToken = toLower(uniqueString(subscription().id, resourceGroup().id, environmentName))

// Flex Consumption pulls the app package from this container, signing in as the user-assigned identity.
var deploymentContainerName = 'app-package-broker'

// Built-in role definition ids (identical in every subscription).
var roles = {
  storageBlobDataOwner: 'b7e6dc6d-f1e8-4753-8033-0f276bb0955b'
  storageTableDataContributor: '0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3'
  storageQueueDataContributor: '974c5e8b-45b9-4653-ba55-5f855dd0fb88'
  serviceBusDataSender: '69a216fc-b8fb-44d8-bc22-1f3c2cd27a39'
  serviceBusDataReceiver: '4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0'
  keyVaultSecretsUser: '4633458b-17de-408a-b874-0445c86b69e6'
  keyVaultSecretsOfficer: 'b86a8fe4-44ce-4948-aee5-eccb2c155cd7'
  monitoringMetricsPublisher: '3913510d-42f4-4e42-8a64-420c390055eb'
}

// ---------------------------------------------------------------------------------------------------------------
// Identity

resource identity 'Microsoft.ManagedIdentity/userAssignedIdentities@2023-01-31' = {
  name: 'id-broker-${resourceToken}'
  location: location
  tags: tags
}

// ---------------------------------------------------------------------------------------------------------------
// Monitoring

resource logAnalytics 'Microsoft.OperationalInsights/workspaces@2023-09-01' = {
  name: 'log-${resourceToken}'
  location: location
  tags: tags
  properties: {
    sku: {
      name: 'PerGB2018'
    }
    retentionInDays: 30
  }
}

resource appInsights 'Microsoft.Insights/components@2020-02-02' = {
  name: 'appi-${resourceToken}'
  location: location
  tags: tags
  kind: 'web'
  properties: {
    Application_Type: 'web'
    WorkspaceResourceId: logAnalytics.id
    // Entra-only ingestion: the host sends telemetry with APPLICATIONINSIGHTS_AUTHENTICATION_STRING (the identity).
    DisableLocalAuth: true
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Storage: the Functions host's own storage, the deployment container and the broker's tables.

resource storage 'Microsoft.Storage/storageAccounts@2023-05-01' = {
  name: 'st${resourceToken}'
  location: location
  tags: tags
  kind: 'StorageV2'
  sku: {
    name: 'Standard_LRS'
  }
  properties: {
    allowSharedKeyAccess: false
    allowBlobPublicAccess: false
    defaultToOAuthAuthentication: true
    minimumTlsVersion: 'TLS1_2'
    supportsHttpsTrafficOnly: true
  }
}

resource blobService 'Microsoft.Storage/storageAccounts/blobServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

resource deploymentContainer 'Microsoft.Storage/storageAccounts/blobServices/containers@2023-05-01' = {
  parent: blobService
  name: deploymentContainerName
  properties: {
    publicAccess: 'None'
  }
}

resource tableService 'Microsoft.Storage/storageAccounts/tableServices@2023-05-01' = {
  parent: storage
  name: 'default'
}

// The Table adapter's prefix is 'broker' (TableStorageOptions.TablePrefix) + 'referrals' / 'idempotency' / 'directory'.
resource referralsTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'brokerreferrals'
}

resource idempotencyTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'brokeridempotency'
}

resource directoryTable 'Microsoft.Storage/storageAccounts/tableServices/tables@2023-05-01' = {
  parent: tableService
  name: 'brokerdirectory'
}

// ---------------------------------------------------------------------------------------------------------------
// Service Bus: one topic, one subscription per category, each filtered on the 'category' application property.
// A dispatch message carries the partner link secret until it is dispatched: short TTL, and the broker's sweep
// purges dead letters once they are as old as the TTL.

resource serviceBus 'Microsoft.ServiceBus/namespaces@2022-10-01-preview' = {
  name: 'sb-${resourceToken}'
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
  }
  properties: {
    disableLocalAuth: true
    minimumTlsVersion: '1.2'
  }
}

resource referralsTopic 'Microsoft.ServiceBus/namespaces/topics@2022-10-01-preview' = {
  parent: serviceBus
  name: 'referrals'
  properties: {
    requiresDuplicateDetection: true
    duplicateDetectionHistoryTimeWindow: 'PT1H'
    defaultMessageTimeToLive: 'P1D'
    enableBatchedOperations: true
  }
}

resource healthSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: referralsTopic
  name: 'health'
  properties: {
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    requiresSession: false
  }

  // Replaces the TrueFilter Service Bus creates with every subscription.
  resource rule 'rules' = {
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: {
        sqlExpression: 'category = \'health\''
      }
    }
  }
}

resource legalSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: referralsTopic
  name: 'legal'
  properties: {
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    requiresSession: false
  }

  resource rule 'rules' = {
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: {
        sqlExpression: 'category = \'legal\''
      }
    }
  }
}

resource employmentSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: referralsTopic
  name: 'employment'
  properties: {
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    requiresSession: false
  }

  resource rule 'rules' = {
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: {
        sqlExpression: 'category = \'employment\''
      }
    }
  }
}

// Every category without a subscription of its own: the coordinator may add categories at any time.
resource otherCategoriesSubscription 'Microsoft.ServiceBus/namespaces/topics/subscriptions@2022-10-01-preview' = {
  parent: referralsTopic
  name: 'other'
  properties: {
    lockDuration: 'PT1M'
    maxDeliveryCount: 10
    defaultMessageTimeToLive: 'P1D'
    deadLetteringOnMessageExpiration: true
    deadLetteringOnFilterEvaluationExceptions: true
    requiresSession: false
  }

  resource rule 'rules' = {
    name: '$Default'
    properties: {
      filterType: 'SqlFilter'
      sqlFilter: {
        sqlExpression: 'category NOT IN (\'employment\', \'health\', \'legal\')'
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Key Vault: RBAC mode; purge protection because losing the pepper orphans every status token.
// Consequence: after `azd down` the vault stays soft-deleted for 90 days and its name is taken; recover it
// (az keyvault recover) or use a new environment name.

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  name: 'kv-${resourceToken}'
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
  }
}

// Written only when a value is given, so that an empty parameter never overwrites what the operator set.
resource pepperSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(brokerPepper)) {
  parent: vault
  name: 'broker-pepper'
  properties: {
    value: brokerPepper
    contentType: 'base64, at least 32 random bytes; never rotate once referrals exist'
  }
}

resource sendGridSecret 'Microsoft.KeyVault/vaults/secrets@2023-07-01' = if (!empty(sendGridApiKey)) {
  parent: vault
  name: 'sendgrid-api-key'
  properties: {
    value: sendGridApiKey
    contentType: 'SendGrid API key, Mail Send only'
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Role assignments: the identity gets the data-plane roles it uses, each on the narrowest scope that works.

// Host storage (AzureWebJobsStorage: blobs for leases and timers) and the deployment container.
resource storageBlobDataOwnerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageBlobDataOwner)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageBlobDataOwner)
  }
}

// The broker's tables.
resource storageTableDataContributorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageTableDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageTableDataContributor)
  }
}

// Host storage queues.
resource storageQueueDataContributorAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(storage.id, identity.id, roles.storageQueueDataContributor)
  scope: storage
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.storageQueueDataContributor)
  }
}

// The broker sends dispatch messages to the topic (Azure.Messaging.ServiceBus).
resource serviceBusDataSenderAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(referralsTopic.id, identity.id, roles.serviceBusDataSender)
  scope: referralsTopic
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)
  }
}

// The dispatch timers receive from the subscriptions themselves (no Service Bus trigger, so no trigger connection
// settings); the sweep purges their dead-letter sub-queues.
resource serviceBusDataReceiverAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(referralsTopic.id, identity.id, roles.serviceBusDataReceiver)
  scope: referralsTopic
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)
  }
}

// Resolves the Key Vault references in the app settings.
resource keyVaultSecretsUserAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(vault.id, identity.id, roles.keyVaultSecretsUser)
  scope: vault
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsUser)
  }
}

// Telemetry ingestion with Entra auth.
resource monitoringMetricsPublisherAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = {
  name: guid(appInsights.id, identity.id, roles.monitoringMetricsPublisher)
  scope: appInsights
  properties: {
    principalId: identity.properties.principalId
    principalType: 'ServicePrincipal'
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.monitoringMetricsPublisher)
  }
}

// The operator running azd may set the secrets directly in the vault (never the app's identity).
resource operatorSecretsOfficerAssignment 'Microsoft.Authorization/roleAssignments@2022-04-01' = if (!empty(principalId)) {
  name: guid(vault.id, principalId, roles.keyVaultSecretsOfficer)
  scope: vault
  properties: {
    principalId: principalId
    principalType: principalType
    roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.keyVaultSecretsOfficer)
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Function app: Flex Consumption, .NET 10 isolated worker. azd deploys the published Functions project
// (azure.yaml) into the deployment container.

resource plan 'Microsoft.Web/serverfarms@2024-04-01' = {
  name: 'plan-${resourceToken}'
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

resource app 'Microsoft.Web/sites@2024-04-01' = {
  name: 'func-broker-${resourceToken}'
  location: location
  tags: union(tags, {
    'azd-service-name': 'broker'
  })
  kind: 'functionapp,linux'
  identity: {
    type: 'UserAssigned'
    userAssignedIdentities: {
      '${identity.id}': {}
    }
  }
  properties: {
    serverFarmId: plan.id
    httpsOnly: true
    keyVaultReferenceIdentity: identity.id
    siteConfig: {
      minTlsVersion: '1.2'
      ftpsState: 'Disabled'
    }
    functionAppConfig: {
      deployment: {
        storage: {
          type: 'blobContainer'
          value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'
          authentication: {
            type: 'UserAssignedIdentity'
            userAssignedIdentityResourceId: identity.id
          }
        }
      }
      scaleAndConcurrency: {
        maximumInstanceCount: maximumInstanceCount
        instanceMemoryMB: 2048
      }
      runtime: {
        name: 'dotnet-isolated'
        version: '10.0'
      }
    }
  }
}

// EXACTLY AzureSettings.AppReads + AzureSettings.HostReads (AzureSettings.cs); the test fails on any missing or
// extra name. Do not add FUNCTIONS_WORKER_RUNTIME, WEBSITE_RUN_FROM_PACKAGE, WEBSITE_CONTENT* or other settings
// Flex Consumption deprecates: the runtime is functionAppConfig.runtime above.
resource appSettings 'Microsoft.Web/sites/config@2024-04-01' = {
  parent: app
  name: 'appsettings'
  properties: {
    Broker__PublicBaseUrl: empty(publicBaseUrl) ? 'https://${app.properties.defaultHostName}' : publicBaseUrl
    Broker__Pepper: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/broker-pepper/)'
    Broker__NetworkJson: string(network)
    Broker__Admin__CoordinatorKeySha256: coordinatorKeySha256
    Broker__Azure__Tables__Endpoint: storage.properties.primaryEndpoints.table
    Broker__Azure__ServiceBus__FullyQualifiedNamespace: '${serviceBus.name}.servicebus.windows.net'
    Broker__Azure__ServiceBus__TopicName: referralsTopic.name
    Broker__Azure__SendGrid__ApiKey: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/sendgrid-api-key/)'
    Broker__Azure__SendGrid__FromEmail: sendGridFromEmail
    AZURE_CLIENT_ID: identity.properties.clientId
    AzureWebJobsStorage__accountName: storage.name
    AzureWebJobsStorage__credential: 'managedidentity'
    AzureWebJobsStorage__clientId: identity.properties.clientId
    DispatchSchedule: dispatchSchedule
    SweepSchedule: sweepSchedule
    APPLICATIONINSIGHTS_CONNECTION_STRING: appInsights.properties.ConnectionString
    APPLICATIONINSIGHTS_AUTHENTICATION_STRING: 'ClientId=${identity.properties.clientId};Authorization=AAD'
  }
  // Key Vault references resolve at start-up and the host reaches its storage at once: roles first.
  dependsOn: [
    keyVaultSecretsUserAssignment
    storageBlobDataOwnerAssignment
    storageQueueDataContributorAssignment
    storageTableDataContributorAssignment
    serviceBusDataReceiverAssignment
    serviceBusDataSenderAssignment
    monitoringMetricsPublisherAssignment
  ]
}

output functionAppName string = app.name
output publicBaseUrl string = empty(publicBaseUrl) ? 'https://${app.properties.defaultHostName}' : publicBaseUrl
output keyVaultName string = vault.name
output keyVaultUri string = vault.properties.vaultUri
output storageAccountName string = storage.name
output serviceBusNamespace string = serviceBus.name
output identityClientId string = identity.properties.clientId
