namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// Each check in <see cref="InfraConsistencyTests"/> must be able to fail. Every case applies one realistic edit to a
/// temporary copy of the templates and azd files, compiles the copy with the real Bicep CLI, and expects the matching
/// check to report it; an edit that no longer applies (the text it looks for is gone) fails too, so the cases cannot
/// go stale silently.
/// </summary>
public sealed class InfraDriftDetectionTests(InfraDriftDetectionTests.CompiledDrifts compiled)
    : IClassFixture<InfraDriftDetectionTests.CompiledDrifts>
{
    private const string Module = "infra/modules/broker.bicep";
    private const string Main = InfraSnapshot.MainPath;
    private const string Parameters = InfraSnapshot.ParametersPath;
    private const string AzureYaml = InfraSnapshot.AzureYamlPath;
    private const string Readme = InfraSnapshot.ReadmePath;

    private sealed record Drift(string File, string Find, string Replace, Func<InfraSnapshot, List<string>> Check, string Expected)
    {
        /// <summary>Only the cases the linter catches pay for a lint run of their copy.</summary>
        public bool NeedsLint => Check == (Func<InfraSnapshot, List<string>>)InfraChecks.LintsClean;
    }

    private static readonly Dictionary<string, Drift> Drifts = new(StringComparer.Ordinal)
    {
        ["an app setting is dropped"] = new(Module,
            "    AZURE_CLIENT_ID: identity.properties.clientId\n", "",
            InfraChecks.MissingAppSettings, "missing app setting AZURE_CLIENT_ID"),
        ["a setting nothing reads is added"] = new(Module,
            "    AZURE_CLIENT_ID: identity.properties.clientId\n",
            "    AZURE_CLIENT_ID: identity.properties.clientId\n    ServiceBusConnection__fullyQualifiedNamespace: '${serviceBus.name}.servicebus.windows.net'\n",
            InfraChecks.ExtraAppSettings, "extra app setting ServiceBusConnection__fullyQualifiedNamespace"),
        ["a Flex-deprecated setting is added"] = new(Module,
            "    AZURE_CLIENT_ID: identity.properties.clientId\n",
            "    AZURE_CLIENT_ID: identity.properties.clientId\n    FUNCTIONS_WORKER_RUNTIME: 'dotnet-isolated'\n",
            InfraChecks.NoFlexDeprecatedSettings, "app setting FUNCTIONS_WORKER_RUNTIME is not used on Flex Consumption"),
        ["the pepper is set as a literal"] = new(Module,
            "Broker__Pepper: '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/broker-pepper/)'",
            "Broker__Pepper: brokerPepper",
            InfraChecks.SecretsAreKeyVaultReferences, "secret setting Broker__Pepper must be a Key Vault reference"),
        ["a Key Vault reference names a secret the vault lacks"] = new(Module,
            "secrets/sendgrid-api-key/)'", "secrets/sendgrid-key/)'",
            InfraChecks.SecretsAreKeyVaultReferences, "refers to secret 'sendgrid-key'"),
        ["a setting carries a storage key"] = new(Module,
            "Broker__Azure__Tables__Endpoint: storage.properties.primaryEndpoints.table",
            "Broker__Azure__Tables__Endpoint: 'AccountKey=${storage.listKeys().keys[0].value}'",
            InfraChecks.NoKeysOrConnectionStrings, "app setting Broker__Azure__Tables__Endpoint carries a key"),
        ["a secret parameter loses @secure()"] = new(Main,
            "@secure()\n@description('Broker__Pepper", "@description('Broker__Pepper",
            InfraChecks.SecretParametersAreSecure, "template main: param brokerPepper holds a secret"),
        ["the host storage connection loses its credential setting"] = new(Module,
            "    AzureWebJobsStorage__credential: 'managedidentity'\n", "",
            InfraChecks.ConnectionsAreIdentityBased, "connection 'AzureWebJobsStorage' needs app setting AzureWebJobsStorage__credential"),
        ["a client id names another identity"] = new(Module,
            "    AzureWebJobsStorage__clientId: identity.properties.clientId",
            "    AzureWebJobsStorage__clientId: '00000000-0000-0000-0000-000000000000'",
            InfraChecks.IdentitySettingsNameTheUserAssignedIdentity, "app setting AzureWebJobsStorage__clientId must be the client id of"),
        ["Key Vault references resolve as another identity"] = new(Module,
            "keyVaultReferenceIdentity: identity.id", "keyVaultReferenceIdentity: 'SystemAssigned'",
            InfraChecks.IdentitySettingsNameTheUserAssignedIdentity, "keyVaultReferenceIdentity must be the id of"),
        ["the dispatch schedule is five-field cron"] = new(Main,
            "param dispatchSchedule string = '0 */1 * * * *'", "param dispatchSchedule string = '*/1 * * * *'",
            InfraChecks.TimerSchedulesAreNcrontab, "app setting DispatchSchedule is '*/1 * * * *', not a six-field NCRONTAB"),
        ["dispatch runs only every five minutes"] = new(Main,
            "param dispatchSchedule string = '0 */1 * * * *'", "param dispatchSchedule string = '0 */5 * * * *'",
            InfraChecks.TimerSchedulesAreNcrontab, "dispatch must run at least once a minute"),
        ["a subscription loses its delivery limit"] = new(Module,
            "  name: 'legal'\n  properties: {\n    lockDuration: 'PT1M'\n    maxDeliveryCount: 10\n",
            "  name: 'legal'\n  properties: {\n    lockDuration: 'PT1M'\n",
            InfraChecks.SubscriptionsMatchCategories, "subscription 'legal' has no maxDeliveryCount"),
        ["subscriptions stop dead-lettering expired messages"] = new(Module,
            "deadLetteringOnMessageExpiration: true", "deadLetteringOnMessageExpiration: false",
            InfraChecks.SubscriptionsMatchCategories, "subscription 'health' must set deadLetteringOnMessageExpiration: true"),
        ["a subscription filters on another category"] = new(Module,
            "sqlExpression: 'category = \\'legal\\''", "sqlExpression: 'category = \\'health\\''",
            InfraChecks.SubscriptionsMatchCategories, "expected the $Default rule as SqlFilter \"category = 'legal'\""),
        ["the other-categories subscription misses a category"] = new(Module,
            "sqlExpression: 'category NOT IN (\\'employment\\', \\'health\\', \\'legal\\')'",
            "sqlExpression: 'category NOT IN (\\'health\\', \\'legal\\')'",
            InfraChecks.SubscriptionsMatchCategories, "expected the $Default rule as SqlFilter \"category NOT IN ('employment', 'health', 'legal')\""),
        ["a category subscription is renamed"] = new(Module,
            "name: 'employment'", "name: 'jobs'",
            InfraChecks.SubscriptionsMatchCategories, "no subscription 'employment'"),
        ["the directory table is dropped"] = new(Module,
            "  name: 'brokerdirectory'", "  name: 'brokerpartners'",
            InfraChecks.TablesTheAdapterUsesExist, "table brokerdirectory"),
        ["a table the adapter writes is renamed"] = new(Module,
            "name: 'brokeridempotency'", "name: 'idempotency'",
            InfraChecks.TablesTheAdapterUsesExist, "table brokeridempotency"),
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
        ["the app goes back to runtime 'custom'"] = new(Module,
            "name: 'dotnet-isolated'", "name: 'custom'",
            InfraChecks.FunctionAppIsFlexConsumptionDotnetIsolated, "must use functionAppConfig.runtime name 'dotnet-isolated'"),
        ["the app runs .NET 8"] = new(Module,
            "version: '10.0'", "version: '8.0'",
            InfraChecks.FunctionAppIsFlexConsumptionDotnetIsolated, "must use functionAppConfig.runtime version '10.0'"),
        ["the app loses its azd service tag"] = new(Module,
            "'azd-service-name': 'broker'", "'azd-service-name': 'api'",
            InfraChecks.FunctionAppIsFlexConsumptionDotnetIsolated, "must carry the tag 'azd-service-name': 'broker'"),
        ["the app deploys from a container no template declares"] = new(Module,
            "value: '${storage.properties.primaryEndpoints.blob}${deploymentContainerName}'",
            "value: '${storage.properties.primaryEndpoints.blob}app-package'",
            InfraChecks.FunctionAppIsFlexConsumptionDotnetIsolated, "the deployment storage must be a blob container"),
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
        ["main stops returning the function app's name"] = new(Main,
            "output AZURE_FUNCTION_APP_NAME string = broker.outputs.functionAppName\n", "",
            InfraChecks.OutputsAreWhatAzdAndTheReadmeRead, "main.bicep must output AZURE_FUNCTION_APP_NAME"),
        ["the README reads an output main does not declare"] = new(Readme,
            "azd env get-value AZURE_KEY_VAULT_NAME", "azd env get-value KEY_VAULT",
            InfraChecks.OutputsAreWhatAzdAndTheReadmeRead, "runs `azd env get-value KEY_VAULT`"),
        ["the azd service is renamed"] = new(AzureYaml,
            "  broker:\n", "  api:\n",
            InfraChecks.AzdProjectDeploysTheFunctionsProject, "must declare the one service 'broker'"),
        ["the app's tag names another azd service"] = new(Module,
            "'azd-service-name': 'broker'", "'azd-service-name': 'api'",
            InfraChecks.AzdProjectDeploysTheFunctionsProject, "tags: [api]"),
        ["azd deploys a prebuilt package folder"] = new(AzureYaml,
            "project: ./functions/ReferralBroker.Functions", "project: ./artifacts/package",
            InfraChecks.AzdProjectDeploysTheFunctionsProject, "must have project: ./functions/ReferralBroker.Functions, not ./artifacts/package"),
        ["azd is told the project is not .NET"] = new(AzureYaml,
            "language: dotnet", "language: custom",
            InfraChecks.AzdProjectDeploysTheFunctionsProject, "must have language: dotnet"),
        ["a deploy hook comes back"] = new(AzureYaml,
            "    host: function\n", "    host: function\nhooks:\n  postdeploy:\n    shell: sh\n    run: ./deploy.sh\n",
            InfraChecks.AzdProjectDeploysTheFunctionsProject, "must not have hooks"),
        ["main forgets a module parameter"] = new(Main,
            "    sendGridFromEmail: sendGridFromEmail\n", "",
            InfraChecks.CompilesWithoutDiagnostics, "BCP035"),
        ["main passes a parameter the module does not declare"] = new(Main,
            "    sweepSchedule: sweepSchedule\n", "    sweepSchedule: sweepSchedule\n    timeZone: 'UTC'\n",
            InfraChecks.CompilesWithoutDiagnostics, "BCP037"),
        ["an output returns a secret"] = new(Main,
            "output AZURE_LOCATION string = location\n", "output AZURE_LOCATION string = location\noutput BROKER_PEPPER string = brokerPepper\n",
            InfraChecks.LintsClean, "outputs-should-not-contain-secrets"),
        ["the module declares a parameter it never uses"] = new(Module,
            "param sweepSchedule string\n", "param sweepSchedule string\nparam timeZone string = 'UTC'\n",
            InfraChecks.LintsClean, "warning no-unused-params: Parameter \"timeZone\" is declared but never used"),
    };

    public static TheoryData<string> DriftNames => new(Drifts.Keys.Order(StringComparer.Ordinal));

    [Theory]
    [MemberData(nameof(DriftNames))]
    public void A_check_fails_when(string drift)
    {
        var d = Drifts[drift];
        Assert.Empty(d.Check(InfraSnapshot.Repository));

        var (applied, mutated) = compiled.Get(drift);
        Assert.True(applied, $"The drift no longer applies: '{d.Find}' is not in {d.File}. Update this case.");
        var problems = d.Check(mutated);
        Assert.True(problems.Any(p => p.Contains(d.Expected, StringComparison.Ordinal)),
            $"Expected a problem containing \"{d.Expected}\", got:{Environment.NewLine}{string.Join(Environment.NewLine, problems)}");
    }

    /// <summary>
    /// One temporary copy of infra/, azure.yaml and README.md per drift, compiled together by one <c>bicep build
    /// --pattern</c> (and the lint cases by one <c>bicep lint --pattern</c>): a process per case would cost seconds each.
    /// </summary>
    public sealed class CompiledDrifts : IDisposable
    {
        private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("referralbroker-drift-");
        private readonly Dictionary<string, (bool Applied, InfraSnapshot Snapshot)> _cases = new(StringComparer.Ordinal);

        public CompiledDrifts()
        {
            var folders = new Dictionary<string, string>(StringComparer.Ordinal);
            var applied = new Dictionary<string, bool>(StringComparer.Ordinal);
            var index = 0;
            foreach (var (name, drift) in Drifts)
            {
                // 'l' folders are linted as well as built.
                var folder = Path.Combine(_root.FullName, $"{(drift.NeedsLint ? 'l' : 'b')}{index++:00}");
                CopyInto(folder);
                var path = Path.Combine(folder, drift.File);
                var text = File.ReadAllText(path).ReplaceLineEndings("\n");
                applied[name] = text.Contains(drift.Find, StringComparison.Ordinal);
                File.WriteAllText(path, text.Replace(drift.Find, drift.Replace, StringComparison.Ordinal));
                folders[name] = folder;
            }

            var build = BicepCli.BuildAll(_root.FullName, "*/infra/main.bicep");
            var lint = BicepCli.LintAll(_root.FullName, "l*/infra/main.bicep");
            foreach (var (name, folder) in folders)
            {
                var json = Path.Combine(folder, "infra", "main.json");
                var prefix = folder + Path.DirectorySeparatorChar;
                _cases[name] = (applied[name], InfraSnapshot.FromCompiledCopy(
                    folder,
                    File.Exists(json) ? File.ReadAllText(json) : null,
                    [.. build.Diagnostics.Where(d => d.File.StartsWith(prefix, StringComparison.Ordinal))],
                    Drifts[name].NeedsLint ? [.. lint.Diagnostics.Where(d => d.File.StartsWith(prefix, StringComparison.Ordinal))] : null));
            }
        }

        internal (bool Applied, InfraSnapshot Snapshot) Get(string drift) => _cases[drift];

        public void Dispose() => _root.Delete(recursive: true);

        private static void CopyInto(string folder)
        {
            var repo = InfraSnapshot.RepoRoot;
            foreach (var file in Directory.GetFiles(Path.Combine(repo, "infra"), "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".bicep", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal)))
            {
                var target = Path.Combine(folder, Path.GetRelativePath(repo, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Copy(file, target);
            }

            File.Copy(Path.Combine(repo, AzureYaml), Path.Combine(folder, AzureYaml));
            File.Copy(Path.Combine(repo, Readme), Path.Combine(folder, Readme));
        }
    }
}
