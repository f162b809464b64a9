// ReferralBroker on Azure: a .NET isolated-worker Functions app on Flex Consumption, with Table Storage, a Service
// Bus topic, SendGrid and Key Vault. azd convention: this file is subscription-scoped and only creates the resource
// group; everything else is in modules/broker.bicep.
//
// tests/ReferralBroker.Tests/Deployment compiles these templates with the Bicep CLI (NuGet package
// Azure.Bicep.CommandLine.linux-x64), lints them and checks the compiled ARM JSON against the code.
targetScope = 'subscription'

@minLength(1)
@maxLength(64)
@description('azd environment name; names the resource group and seeds resource names.')
param environmentName string

@minLength(1)
@description('Region for every resource. It must offer the Flex Consumption plan (az functionapp list-flexconsumption-locations).')
param location string

@description('Object id of the person or pipeline running azd. Given Key Vault Secrets Officer on the vault so that it can set the secrets. Empty: no assignment.')
param principalId string = ''

@allowed([
  'User'
  'ServicePrincipal'
  'Group'
])
param principalType string = 'User'

@description('Verified SendGrid sender for partner emails, e.g. referrals@your-network.org.')
param sendGridFromEmail string

@description('Base of the links in partner emails, e.g. https://referrals.your-network.org. Empty: the function app\'s default host name.')
param publicBaseUrl string = ''

// Secrets. Both default to empty, and an empty value leaves the vault untouched, so a later `azd provision` never
// overwrites a secret the operator set directly in the vault (the recommended way for the pepper: it then never
// sits in .azure/<env>/.env). The pepper must be base64 of at least 32 random bytes and must NEVER change once
// referrals exist: every status token is stored only as HMAC(pepper, token), so a new pepper orphans them all.
@secure()
@description('Broker__Pepper: base64, >= 32 random bytes. Empty: set secret broker-pepper in the vault yourself.')
param brokerPepper string = ''

@secure()
@description('SendGrid API key (Mail Send permission only). Empty: set secret sendgrid-api-key in the vault yourself.')
param sendGridApiKey string = ''

@description('Seeds the directory on first start (ids it does not hold yet): organisations (API keys as lower-case hex SHA-256, never the keys) and partners. The admin API owns the directory afterwards.')
param network networkType = {
  organisations: []
  partners: []
}

@description('Lower-case hex SHA-256 of the network coordinator\'s admin API key (never the key). Empty: no admin API.')
param coordinatorKeySha256 string = ''

@minValue(40)
@maxValue(1000)
param maximumInstanceCount int = 40

// Six-field NCRONTAB (seconds first), read by the timer functions as %DispatchSchedule% and %SweepSchedule%.
@description('How often each dispatch timer drains its category subscription. Partners are emailed within about one period of a submission.')
param dispatchSchedule string = '0 */1 * * * *'

@description('How often the sweep runs: expiry, purge, dead letters, organisation notifications.')
param sweepSchedule string = '0 */5 * * * *'

type organisationType = {
  @minLength(1)
  id: string
  name: string
  @minLength(64)
  @maxLength(64)
  @description('Lower-case hex SHA-256 of the organisation\'s API key.')
  apiKeySha256: string
}

type partnerType = {
  @minLength(1)
  id: string
  name: string
  @minLength(3)
  email: string
  @minLength(1)
  @description('Categories of service: health, legal, employment or any other lower-case word.')
  categories: string[]
  languages: string[]
}

type networkType = {
  organisations: organisationType[]
  partners: partnerType[]
}

var tags = {
  'azd-env-name': environmentName
  app: 'referral-broker'
}

resource rg 'Microsoft.Resources/resourceGroups@2024-03-01' = {
  name: 'rg-${environmentName}'
  location: location
  tags: tags
}

module broker './modules/broker.bicep' = {
  name: 'broker'
  scope: rg
  params: {
    environmentName: environmentName
    location: location
    tags: tags
    principalId: principalId
    principalType: principalType
    sendGridFromEmail: sendGridFromEmail
    publicBaseUrl: publicBaseUrl
    brokerPepper: brokerPepper
    sendGridApiKey: sendGridApiKey
    network: network
    coordinatorKeySha256: coordinatorKeySha256
    maximumInstanceCount: maximumInstanceCount
    dispatchSchedule: dispatchSchedule
    sweepSchedule: sweepSchedule
  }
}

output AZURE_LOCATION string = location
output AZURE_TENANT_ID string = tenant().tenantId
output AZURE_RESOURCE_GROUP string = rg.name
output AZURE_FUNCTION_APP_NAME string = broker.outputs.functionAppName
output SERVICE_BROKER_NAME string = broker.outputs.functionAppName
output SERVICE_BROKER_URI string = broker.outputs.publicBaseUrl
output BROKER_PUBLIC_BASE_URL string = broker.outputs.publicBaseUrl
output AZURE_KEY_VAULT_NAME string = broker.outputs.keyVaultName
output AZURE_KEY_VAULT_ENDPOINT string = broker.outputs.keyVaultUri
output AZURE_STORAGE_ACCOUNT_NAME string = broker.outputs.storageAccountName
output AZURE_SERVICE_BUS_NAMESPACE string = broker.outputs.serviceBusNamespace
output AZURE_MANAGED_IDENTITY_CLIENT_ID string = broker.outputs.identityClientId
