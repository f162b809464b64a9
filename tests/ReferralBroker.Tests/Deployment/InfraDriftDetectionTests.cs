namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// Each check in <see cref="InfraConsistencyTests"/> must be able to fail. Every case here applies one realistic
/// edit to the real files in memory and expects the matching check to report it; an edit that no longer applies
/// (the text it looks for is gone) fails too, so the cases cannot go stale silently.
/// </summary>
public sealed class InfraDriftDetectionTests
{
    private const string Module = "infra/modules/broker.bicep";
    private const string Main = InfraSnapshot.MainPath;
    private const string Parameters = InfraSnapshot.ParametersPath;

    private sealed record Drift(string File, string Find, string Replace, Func<InfraSnapshot, List<string>> Check, string Expected);

    private static readonly Dictionary<string, Drift> Drifts = new(StringComparer.Ordinal)
    {
        ["an app setting is dropped"] = new(Module,
            "    AZURE_CLIENT_ID: identity.properties.clientId\n", "",
            InfraChecks.MissingAppSettings, "missing app setting AZURE_CLIENT_ID"),
        ["a Flex-deprecated setting is added"] = new(Module,
            "    AZURE_CLIENT_ID: identity.properties.clientId\n",
            "    AZURE_CLIENT_ID: identity.properties.clientId\n    FUNCTIONS_WORKER_RUNTIME: 'custom'\n",
            InfraChecks.ExtraAppSettings, "extra app setting FUNCTIONS_WORKER_RUNTIME"),
        ["the pepper is set as a literal"] = new(Module,
            "Broker__Pepper: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/broker-pepper/)'",
            "Broker__Pepper: brokerPepper",
            InfraChecks.SecretsAreKeyVaultReferences, "Broker__Pepper must be a Key Vault reference"),
        ["a Key Vault reference names a secret the vault lacks"] = new(Module,
            "secrets/sendgrid-api-key/)'", "secrets/sendgrid-key/)'",
            InfraChecks.SecretsAreKeyVaultReferences, "refers to secret 'sendgrid-key'"),
        ["a setting carries a storage key"] = new(Module,
            "Broker__Azure__Tables__Endpoint: storage.properties.primaryEndpoints.table",
            "Broker__Azure__Tables__Endpoint: 'AccountKey=${storage.listKeys().keys[0].value}'",
            InfraChecks.NoKeysOrConnectionStrings, "Broker__Azure__Tables__Endpoint carries a key"),
        ["a secret parameter loses @secure()"] = new(Main,
            "@secure()\n@description('Broker__Pepper", "@description('Broker__Pepper",
            InfraChecks.SecretParametersAreSecure, "param brokerPepper holds a secret"),
        ["a trigger connection loses its credential setting"] = new(Module,
            "    ServiceBusConnection__credential: 'managedidentity'\n", "",
            InfraChecks.ConnectionsAreIdentityBased, "needs app setting ServiceBusConnection__credential"),
        ["a trigger names a connection nobody configured"] = new("functions/definitions/DispatchHealth/function.json",
            "\"connection\": \"ServiceBusConnection\"", "\"connection\": \"HealthBus\"",
            InfraChecks.ConnectionsAreIdentityBased, "needs app setting HealthBus__fullyQualifiedNamespace"),
        ["a binding expression names an unset setting"] = new("functions/definitions/DispatchLegal/function.json",
            "%Broker__Azure__ServiceBus__TopicName%", "%Broker__Topic%",
            InfraChecks.BindingExpressionsResolve, "uses %Broker__Topic%"),
        ["a client id names another identity"] = new(Module,
            "    ServiceBusConnection__clientId: identity.properties.clientId",
            "    ServiceBusConnection__clientId: '00000000-0000-0000-0000-000000000000'",
            InfraChecks.IdentitySettingsNameTheUserAssignedIdentity, "app setting ServiceBusConnection__clientId must be identity.properties.clientId"),
        ["a subscription loses its delivery limit"] = new(Module,
            "  name: 'legal'\n  properties: {\n    lockDuration: 'PT1M'\n    maxDeliveryCount: 10\n",
            "  name: 'legal'\n  properties: {\n    lockDuration: 'PT1M'\n",
            InfraChecks.SubscriptionsMatchTriggers, "subscription 'legal' has no maxDeliveryCount"),
        ["subscriptions stop dead-lettering expired messages"] = new(Module,
            "deadLetteringOnMessageExpiration: true", "deadLetteringOnMessageExpiration: false",
            InfraChecks.SubscriptionsMatchTriggers, "subscription 'health' must set deadLetteringOnMessageExpiration: true"),
        ["a subscription filters on another category"] = new(Module,
            "sqlExpression: 'category = \\'legal\\''", "sqlExpression: 'category = \\'health\\''",
            InfraChecks.SubscriptionsMatchTriggers, "expected the $Default rule as SqlFilter \"category = 'legal'\""),
        ["the other-categories subscription misses a category"] = new(Module,
            "sqlExpression: 'category NOT IN (\\'employment\\', \\'health\\', \\'legal\\')'",
            "sqlExpression: 'category NOT IN (\\'health\\', \\'legal\\')'",
            InfraChecks.SubscriptionsMatchTriggers, "expected the $Default rule as SqlFilter \"category NOT IN ('employment', 'health', 'legal')\""),
        ["the directory table is dropped"] = new(Module,
            "  name: 'brokerdirectory'", "  name: 'brokerpartners'",
            InfraChecks.TablesTheAdapterUsesExist, "table brokerdirectory"),
        ["a subscription a trigger uses is renamed"] = new(Module,
            "name: 'employment'", "name: 'jobs'",
            InfraChecks.SubscriptionsMatchTriggers, "no subscription 'employment'"),
        ["the topic stops detecting duplicates"] = new(Module,
            "requiresDuplicateDetection: true", "requiresDuplicateDetection: false",
            InfraChecks.TopicDeduplicatesAndExpiresLikeTheAdapter, "must set requiresDuplicateDetection: true"),
        ["the topic keeps messages longer than the adapter assumes"] = new(Module,
            "defaultMessageTimeToLive: 'P1D'\n    enableBatchedOperations", "defaultMessageTimeToLive: 'P14D'\n    enableBatchedOperations",
            InfraChecks.TopicDeduplicatesAndExpiresLikeTheAdapter, "defaultMessageTimeToLive is 'P14D'"),
        ["storage accepts shared keys"] = new(Module,
            "allowSharedKeyAccess: false", "allowSharedKeyAccess: true",
            InfraChecks.StorageRefusesSharedKeys, "must set allowSharedKeyAccess: false"),
        ["Service Bus accepts SAS keys"] = new(Module,
            "disableLocalAuth: true", "disableLocalAuth: false",
            InfraChecks.ServiceBusRefusesLocalAuth, "must set disableLocalAuth: true"),
        ["a table the adapter writes is renamed"] = new(Module,
            "name: 'brokeridempotency'", "name: 'idempotency'",
            InfraChecks.TablesTheAdapterUsesExist, "table brokeridempotency"),
        ["the app runs another runtime"] = new(Module,
            "name: 'custom'", "name: 'dotnet-isolated'",
            InfraChecks.FunctionAppIsAFlexConsumptionCustomHandler, "runtime name 'custom'"),
        ["the app loses its azd service tag"] = new(Module,
            "'azd-service-name': 'broker'", "'azd-service-name': 'api'",
            InfraChecks.FunctionAppIsAFlexConsumptionCustomHandler, "'azd-service-name': 'broker'"),
        ["the vault loses purge protection"] = new(Module,
            "enablePurgeProtection: true", "enablePurgeProtection: false",
            InfraChecks.VaultAndTelemetryAreEntraOnly, "enablePurgeProtection"),
        ["Application Insights accepts instrumentation keys"] = new(Module,
            "DisableLocalAuth: true", "DisableLocalAuth: false",
            InfraChecks.VaultAndTelemetryAreEntraOnly, "DisableLocalAuth"),
        ["the identity loses the sender role"] = new(Module,
            "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataSender)",
            "roleDefinitionId: subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.serviceBusDataReceiver)",
            InfraChecks.IdentityHasExactlyTheRolesItUses, "missing role Azure Service Bus Data Sender"),
        ["the identity gets Contributor"] = new(Module,
            "roles.monitoringMetricsPublisher)\n", "'b24988ac-6180-42a0-ab88-20f7382dd24c')\n",
            InfraChecks.IdentityHasExactlyTheRolesItUses, "holds role b24988ac-6180-42a0-ab88-20f7382dd24c"),
        ["a role is scoped to the whole namespace instead of the topic"] = new(Module,
            "  name: guid(referralsTopic.id, identity.id, roles.serviceBusDataSender)\n  scope: referralsTopic\n",
            "  name: guid(referralsTopic.id, identity.id, roles.serviceBusDataSender)\n  scope: serviceBus\n",
            InfraChecks.IdentityHasExactlyTheRolesItUses, "Azure Service Bus Data Sender must be scoped to"),
        ["the parameters file passes an unknown parameter"] = new(Parameters,
            "\"network\": {", "\"networkJson\": {",
            InfraChecks.ParametersFileMatchesMain, "passes 'networkJson'"),
        ["the parameters file omits a required parameter"] = new(Parameters,
            "    \"sendGridFromEmail\": {\n      \"value\": \"${SENDGRID_FROM_EMAIL}\"\n    },\n", "",
            InfraChecks.ParametersFileMatchesMain, "param 'sendGridFromEmail' has no default"),
        ["the parameters file is not JSON"] = new(Parameters,
            "\"contentVersion\": \"1.0.0.0\",", "\"contentVersion\": \"1.0.0.0\"",
            InfraChecks.ParametersFileMatchesMain, "is not valid JSON"),
        ["a hook reads an output main does not declare"] = new(InfraSnapshot.AzureYamlPath,
            "\"$AZURE_FUNCTION_APP_NAME\"", "\"$SERVICE_API_NAME\"",
            InfraChecks.AzdProjectMatchesTheTemplates, "reads $SERVICE_API_NAME"),
        ["the azd service is renamed"] = new(InfraSnapshot.AzureYamlPath,
            "  broker:\n", "  api:\n",
            InfraChecks.AzdProjectMatchesTheTemplates, "must declare the one service 'broker'"),
        ["main forgets a module parameter"] = new(Main,
            "    sendGridFromEmail: sendGridFromEmail\n", "",
            InfraChecks.ModulesGetEveryParameterTheyNeed, "does not pass 'sendGridFromEmail'"),
    };

    [Theory]
    [InlineData("an app setting is dropped")]
    [InlineData("a Flex-deprecated setting is added")]
    [InlineData("the pepper is set as a literal")]
    [InlineData("a Key Vault reference names a secret the vault lacks")]
    [InlineData("a setting carries a storage key")]
    [InlineData("a secret parameter loses @secure()")]
    [InlineData("a trigger connection loses its credential setting")]
    [InlineData("a trigger names a connection nobody configured")]
    [InlineData("a binding expression names an unset setting")]
    [InlineData("a client id names another identity")]
    [InlineData("a subscription loses its delivery limit")]
    [InlineData("subscriptions stop dead-lettering expired messages")]
    [InlineData("a subscription filters on another category")]
    [InlineData("the other-categories subscription misses a category")]
    [InlineData("the directory table is dropped")]
    [InlineData("a subscription a trigger uses is renamed")]
    [InlineData("the topic stops detecting duplicates")]
    [InlineData("the topic keeps messages longer than the adapter assumes")]
    [InlineData("storage accepts shared keys")]
    [InlineData("Service Bus accepts SAS keys")]
    [InlineData("a table the adapter writes is renamed")]
    [InlineData("the app runs another runtime")]
    [InlineData("the app loses its azd service tag")]
    [InlineData("the vault loses purge protection")]
    [InlineData("Application Insights accepts instrumentation keys")]
    [InlineData("the identity loses the sender role")]
    [InlineData("the identity gets Contributor")]
    [InlineData("a role is scoped to the whole namespace instead of the topic")]
    [InlineData("the parameters file passes an unknown parameter")]
    [InlineData("the parameters file omits a required parameter")]
    [InlineData("the parameters file is not JSON")]
    [InlineData("a hook reads an output main does not declare")]
    [InlineData("the azd service is renamed")]
    [InlineData("main forgets a module parameter")]
    public void A_check_fails_when(string drift)
    {
        var d = Drifts[drift];
        var root = InfraSnapshot.FindRepoRoot();
        Assert.Empty(d.Check(InfraSnapshot.Load(root)));

        var applied = false;
        var mutated = InfraSnapshot.Load(root, (path, text) =>
        {
            if (path != d.File)
            {
                return text;
            }

            applied = text.Contains(d.Find, StringComparison.Ordinal);
            return text.Replace(d.Find, d.Replace, StringComparison.Ordinal);
        });

        Assert.True(applied, $"The drift no longer applies: '{d.Find}' is not in {d.File}. Update this case.");
        var problems = d.Check(mutated);
        Assert.True(problems.Any(p => p.Contains(d.Expected, StringComparison.Ordinal)),
            $"Expected a problem containing \"{d.Expected}\", got:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    [Fact]
    public void Every_drift_case_is_run() =>
        Assert.Equal(
            Drifts.Keys.Order(StringComparer.Ordinal),
            typeof(InfraDriftDetectionTests).GetMethod(nameof(A_check_fails_when))!
                .GetCustomAttributes(typeof(InlineDataAttribute), false).Cast<InlineDataAttribute>()
                .Select(a => (string)a.GetData(null!).Single()[0]).Order(StringComparer.Ordinal));
}
