using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using ReferralBroker.Azure;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Azure.TableStorage;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// Each check returns the problems it finds, worded for the person who has to fix the template; an empty list
/// means the deployment agrees with the code on that point.
/// </summary>
internal static partial class InfraChecks
{
    public const string SitesConfigType = "Microsoft.Web/sites/config";
    public const string SiteType = "Microsoft.Web/sites";
    public const string PlanType = "Microsoft.Web/serverfarms";
    public const string IdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities";
    public const string StorageType = "Microsoft.Storage/storageAccounts";
    public const string TableType = "Microsoft.Storage/storageAccounts/tableServices/tables";
    public const string ContainerType = "Microsoft.Storage/storageAccounts/blobServices/containers";
    public const string NamespaceType = "Microsoft.ServiceBus/namespaces";
    public const string TopicType = "Microsoft.ServiceBus/namespaces/topics";
    public const string SubscriptionType = "Microsoft.ServiceBus/namespaces/topics/subscriptions";
    public const string RuleType = "Microsoft.ServiceBus/namespaces/topics/subscriptions/rules";
    public const string VaultType = "Microsoft.KeyVault/vaults";
    public const string SecretType = "Microsoft.KeyVault/vaults/secrets";
    public const string ComponentType = "Microsoft.Insights/components";
    public const string RoleAssignmentType = "Microsoft.Authorization/roleAssignments";

    private static readonly string[] ForbiddenSecretMarkers =
        ["AccountKey=", "SharedAccessKey=", "SharedAccessSignature", "listKeys", "listConnectionStrings", "listCredentials"];

    /// <summary>Role definition id → name and the resource types it may be scoped to (azure-protocols.md §5.5).</summary>
    private static readonly Dictionary<string, (string Name, string[] Scopes)> IdentityRoles = new(StringComparer.OrdinalIgnoreCase)
    {
        ["b7e6dc6d-f1e8-4753-8033-0f276bb0955b"] = ("Storage Blob Data Owner", [StorageType, ContainerType]),
        ["0a9a7e1f-b9d0-4cc4-a60d-0319b160aaa3"] = ("Storage Table Data Contributor", [StorageType, TableType]),
        ["974c5e8b-45b9-4653-ba55-5f855dd0fb88"] = ("Storage Queue Data Contributor", [StorageType]),
        ["69a216fc-b8fb-44d8-bc22-1f3c2cd27a39"] = ("Azure Service Bus Data Sender", [TopicType]),
        ["4f6d3b9b-027b-4f4c-9142-0e5a2a2247e0"] = ("Azure Service Bus Data Receiver", [TopicType, NamespaceType]),
        ["4633458b-17de-408a-b874-0445c86b69e6"] = ("Key Vault Secrets User", [VaultType, SecretType]),
        ["3913510d-42f4-4e42-8a64-420c390055eb"] = ("Monitoring Metrics Publisher", [ComponentType]),
    };

    public static IReadOnlySet<string> ExpectedAppSettings { get; } =
        AzureSettings.AppReads.Concat(AzureSettings.HostReads).ToHashSet(StringComparer.Ordinal);

    // ---------------------------------------------------------------------------------------------------------
    // App settings

    /// <summary>The properties of the one <c>Microsoft.Web/sites/config</c> resource named 'appsettings'.</summary>
    public static IReadOnlyList<KeyValuePair<string, BicepValue>> AppSettings(InfraSnapshot infra)
    {
        var resources = infra.Resources.Where(r => r.Type == SitesConfigType && r.Name == "appsettings").ToList();
        if (resources.Count != 1)
        {
            throw new InvalidOperationException(
                $"Expected exactly one '{SitesConfigType}' resource named 'appsettings' in the templates, found {resources.Count}.");
        }

        var properties = resources[0].Properties;
        if (properties is not { Kind: BicepKind.Object })
        {
            throw new InvalidOperationException(
                $"{resources[0]}: 'properties' must be a literal object with one setting per line, not '{properties?.Raw}'.");
        }

        return properties.Properties;
    }

    public static BicepValue? Setting(InfraSnapshot infra, string name) =>
        AppSettings(infra).Where(p => p.Key == name).Select(p => p.Value).FirstOrDefault();

    public static List<string> MissingAppSettings(InfraSnapshot infra)
    {
        var present = AppSettings(infra).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        return [.. ExpectedAppSettings.Where(name => !present.Contains(name)).Order(StringComparer.Ordinal)
            .Select(name => $"missing app setting {name} (read by the app or its Functions host: AzureSettings)")];
    }

    public static List<string> ExtraAppSettings(InfraSnapshot infra)
    {
        var names = AppSettings(infra).Select(p => p.Key).ToList();
        var problems = names.Where(name => !ExpectedAppSettings.Contains(name)).Distinct().Order(StringComparer.Ordinal)
            .Select(name => $"extra app setting {name}: not in AzureSettings.AppReads or HostReads (add it there if something reads it)")
            .ToList();
        problems.AddRange(names.GroupBy(n => n, StringComparer.Ordinal).Where(g => g.Count() > 1)
            .Select(g => $"app setting {g.Key} is set {g.Count()} times"));
        return problems;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Secrets

    public static List<string> SecretsAreKeyVaultReferences(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var secrets = infra.Resources.Where(r => r.Type == SecretType).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var name in AzureSettings.KeyVaultReferences)
        {
            var value = Setting(infra, name);
            if (value is null)
            {
                problems.Add($"secret setting {name} is not set");
                continue;
            }

            if (!value.Raw.StartsWith("'@Microsoft.KeyVault(", StringComparison.Ordinal))
            {
                problems.Add($"secret setting {name} must be a Key Vault reference '@Microsoft.KeyVault(SecretUri=…)', not {value.Raw}");
                continue;
            }

            var secret = KeyVaultSecretName().Match(value.Raw);
            if (!secret.Success)
            {
                problems.Add($"secret setting {name}: cannot find the secret name in {value.Raw}");
            }
            else if (!secrets.Contains(secret.Groups["name"].Value))
            {
                problems.Add($"secret setting {name} refers to secret '{secret.Groups["name"].Value}', which no template declares " +
                    $"(declared: {string.Join(", ", secrets.Order(StringComparer.Ordinal))})");
            }
        }

        return problems;
    }

    public static List<string> NoKeysOrConnectionStrings(InfraSnapshot infra)
    {
        var problems = new List<string>();
        foreach (var (name, value) in AppSettings(infra))
        {
            foreach (var marker in ForbiddenSecretMarkers.Where(m => value.Raw.Contains(m, StringComparison.OrdinalIgnoreCase)))
            {
                problems.Add($"app setting {name} carries a key or connection string ({marker}): {value.Raw}");
            }
        }

        foreach (var template in infra.Templates)
        {
            foreach (var marker in ForbiddenSecretMarkers.Where(m => template.Text.Contains(m, StringComparison.OrdinalIgnoreCase)))
            {
                problems.Add($"{template.FileName} mentions '{marker}': identities only, no keys anywhere");
            }
        }

        return problems;
    }

    public static List<string> SecretParametersAreSecure(InfraSnapshot infra) =>
        [.. infra.Templates.SelectMany(t => t.Params.Select(p => (t.FileName, Param: p)))
            .Where(x => SecretLikeName().IsMatch(x.Param.Name) && !x.Param.IsSecure)
            .Select(x => $"{x.FileName}: param {x.Param.Name} holds a secret and must be @secure()")];

    // ---------------------------------------------------------------------------------------------------------
    // Functions host connections and binding expressions

    public static List<string> ConnectionsAreIdentityBased(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var connections = infra.Functions
            .SelectMany(f => f.Bindings.Select(b => (Function: f.Name, Connection: InfraFunction.StringProperty(b, "connection"))))
            .Where(x => !string.IsNullOrEmpty(x.Connection))
            .GroupBy(x => x.Connection!, StringComparer.Ordinal);
        foreach (var connection in connections)
        {
            var users = string.Join(", ", connection.Select(x => x.Function));
            foreach (var suffix in new[] { "__fullyQualifiedNamespace", "__credential", "__clientId" })
            {
                if (Setting(infra, connection.Key + suffix) is null)
                {
                    problems.Add($"connection '{connection.Key}' (used by {users}) needs app setting {connection.Key}__{suffix[2..]}");
                }
            }

            var credential = Setting(infra, connection.Key + "__credential");
            if (credential is not null && credential.Text != "managedidentity")
            {
                problems.Add($"{connection.Key}__credential must be 'managedidentity', not {credential.Raw}");
            }
        }

        return problems;
    }

    public static List<string> BindingExpressionsResolve(InfraSnapshot infra)
    {
        var settings = AppSettings(infra).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        return [.. infra.Functions
            .SelectMany(f => Strings(f.Root).SelectMany(s => BindingExpression().Matches(s)).Select(m => (f.Path, Name: m.Groups["name"].Value)))
            .Where(x => !settings.Contains(x.Name))
            .Select(x => $"{x.Path} uses %{x.Name}%, which no app setting defines")];
    }

    /// <summary>Every client id, the telemetry credential and the Key Vault/deployment identity name the one UAMI.</summary>
    public static List<string> IdentitySettingsNameTheUserAssignedIdentity(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var identities = infra.Resources.Where(r => r.Type == IdentityType).ToList();
        if (identities.Count != 1)
        {
            return [$"expected one user-assigned identity, found {identities.Count}"];
        }

        var symbol = identities[0].Symbol;
        var clientId = $"{symbol}.properties.clientId";
        foreach (var (name, value) in AppSettings(infra).Where(p => p.Key == AzureSettings.ManagedIdentityClientId || p.Key.EndsWith("__clientId", StringComparison.Ordinal)))
        {
            if (value.Raw != clientId)
            {
                problems.Add($"app setting {name} must be {clientId}, not {value.Raw}");
            }
        }

        var telemetry = Setting(infra, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING");
        if (telemetry is not null && telemetry.Raw != $"'ClientId=${{{clientId}}};Authorization=AAD'")
        {
            problems.Add($"APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be 'ClientId=${{{clientId}}};Authorization=AAD', not {telemetry.Raw}");
        }

        foreach (var app in infra.Resources.Where(r => r.Type == SiteType))
        {
            var id = $"{symbol}.id";
            if (app.At("properties.keyVaultReferenceIdentity")?.Raw != id)
            {
                problems.Add($"{app}: keyVaultReferenceIdentity must be {id}");
            }

            var auth = app.At("properties.functionAppConfig.deployment.storage.authentication");
            if (auth?["type"]?.Text != "UserAssignedIdentity" || auth["userAssignedIdentityResourceId"]?.Raw != id)
            {
                problems.Add($"{app}: the deployment container must be read as the user-assigned identity {id}");
            }

            var assigned = app.At("identity.userAssignedIdentities");
            if (assigned is null || !assigned.Properties.Any(p => p.Key == $"'${{{id}}}'"))
            {
                problems.Add($"{app}: identity.userAssignedIdentities must include {id}");
            }
        }

        return problems;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Service Bus

    public static List<string> SubscriptionsMatchTriggers(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var options = new ServiceBusOptions();
        var topic = infra.Resources.FirstOrDefault(r => r.Type == TopicType && r.Name == options.TopicName);
        var fromTriggers = infra.Functions
            .SelectMany(f => f.Bindings)
            .Where(b => InfraFunction.StringProperty(b, "type") == "serviceBusTrigger")
            .Select(b => InfraFunction.StringProperty(b, "subscriptionName"))
            .OfType<string>();
        var wanted = fromTriggers.Concat(options.AllSubscriptions).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
        foreach (var name in wanted)
        {
            var matches = infra.Resources.Where(r => r.Type == SubscriptionType && r.Name == name).ToList();
            if (matches.Count != 1)
            {
                problems.Add(matches.Count == 0
                    ? $"no subscription '{name}' (a Service Bus trigger or ServiceBusOptions.Subscriptions uses it)"
                    : $"subscription '{name}' is declared {matches.Count} times");
                continue;
            }

            var subscription = matches[0];
            if (topic is not null && subscription.ParentSymbol != topic.Symbol)
            {
                problems.Add($"subscription '{name}' must belong to topic '{options.TopicName}' ({topic.Symbol}), not {subscription.ParentSymbol}");
            }

            if (subscription.At("properties.maxDeliveryCount")?.Integer is not > 0)
            {
                problems.Add($"subscription '{name}' has no maxDeliveryCount: set it explicitly");
            }

            if (subscription.At("properties.deadLetteringOnMessageExpiration")?.Boolean != true)
            {
                problems.Add($"subscription '{name}' must set deadLetteringOnMessageExpiration: true");
            }

            problems.AddRange(TimeToLiveProblems($"subscription '{name}'", subscription, options.MessageTimeToLive, required: false));

            var category = options.Subscriptions.Where(p => p.Value == name).Select(p => p.Key).FirstOrDefault();
            var rules = infra.Resources.Where(r => r.Type == RuleType && r.ParentSymbol == subscription.Symbol).ToList();
            var expected = category is not null ? $"category = '{category}'"
                : name == options.OtherCategoriesSubscription ? options.OtherCategoriesFilter : null;
            if (expected is null)
            {
                problems.Add($"subscription '{name}' is used by a trigger but no category maps to it in ServiceBusOptions.Subscriptions");
            }
            else if (rules.Count != 1)
            {
                problems.Add($"subscription '{name}' needs exactly one rule ($Default replaced by a SqlFilter \"{expected}\"), found {rules.Count}");
            }
            else if (rules[0].Name != "$Default"
                || rules[0].At("properties.filterType")?.Text != "SqlFilter"
                || rules[0].At("properties.sqlFilter.sqlExpression")?.Text != expected)
            {
                problems.Add($"subscription '{name}': rule {rules[0].Name} filters with {rules[0].At("properties.sqlFilter.sqlExpression")?.Raw ?? "nothing"}, " +
                    $"expected the $Default rule as SqlFilter \"{expected}\"");
            }
        }

        return problems;
    }

    public static List<string> TopicDeduplicatesAndExpiresLikeTheAdapter(InfraSnapshot infra)
    {
        var options = new ServiceBusOptions();
        var topics = infra.Resources.Where(r => r.Type == TopicType && r.Name == options.TopicName).ToList();
        if (topics.Count != 1)
        {
            return [$"expected one topic named '{options.TopicName}' (ServiceBusOptions.TopicName), found {topics.Count}"];
        }

        var topic = topics[0];
        var problems = new List<string>();
        if (topic.At("properties.requiresDuplicateDetection")?.Boolean != true)
        {
            problems.Add($"topic '{topic.Name}' must set requiresDuplicateDetection: true (the adapter relies on MessageId de-duplication)");
        }

        if (topic.At("properties.duplicateDetectionHistoryTimeWindow")?.Text is null)
        {
            problems.Add($"topic '{topic.Name}' must set duplicateDetectionHistoryTimeWindow");
        }

        problems.AddRange(TimeToLiveProblems($"topic '{topic.Name}'", topic, options.MessageTimeToLive, required: true));

        var setting = Setting(infra, AzureSettings.ServiceBusTopic);
        if (setting is not null && setting.Raw != $"{topic.Symbol}.name" && setting.Text != options.TopicName)
        {
            problems.Add($"{AzureSettings.ServiceBusTopic} must name the topic ({topic.Symbol}.name), not {setting.Raw}");
        }

        foreach (var function in infra.Functions)
        {
            foreach (var binding in function.Bindings.Where(b => InfraFunction.StringProperty(b, "type") == "serviceBusTrigger"))
            {
                var topicName = InfraFunction.StringProperty(binding, "topicName");
                if (topicName != $"%{AzureSettings.ServiceBusTopic}%" && topicName != options.TopicName)
                {
                    problems.Add($"{function.Path}: topicName must be %{AzureSettings.ServiceBusTopic}%, not {topicName}");
                }
            }
        }

        return problems;
    }

    private static IEnumerable<string> TimeToLiveProblems(string what, BicepResource resource, TimeSpan expected, bool required)
    {
        var value = resource.At("properties.defaultMessageTimeToLive");
        if (value is null)
        {
            if (required)
            {
                yield return $"{what} must set defaultMessageTimeToLive ({XmlConvert.ToString(expected)}): messages carry the link secret";
            }

            yield break;
        }

        TimeSpan? actual;
        try
        {
            actual = value.Text is null ? null : XmlConvert.ToTimeSpan(value.Text);
        }
        catch (FormatException)
        {
            actual = null;
        }

        if (actual != expected)
        {
            yield return $"{what}: defaultMessageTimeToLive is {value.Raw}, but the adapter (ServiceBusOptions.MessageTimeToLive) " +
                $"assumes {XmlConvert.ToString(expected)}";
        }
    }

    public static List<string> ServiceBusRefusesLocalAuth(InfraSnapshot infra) =>
        RequireAll(infra, NamespaceType, "a Service Bus namespace",
            ("properties.disableLocalAuth", v => v?.Boolean == true, "must set disableLocalAuth: true (no SAS keys)"),
            ("sku.name", v => v?.Text is "Standard" or "Premium", "needs sku Standard or Premium (topics, duplicate detection)"));

    // ---------------------------------------------------------------------------------------------------------
    // Storage, app, vault, telemetry

    public static List<string> StorageRefusesSharedKeys(InfraSnapshot infra) =>
        RequireAll(infra, StorageType, "a storage account",
            ("properties.allowSharedKeyAccess", v => v?.Boolean == false, "must set allowSharedKeyAccess: false"),
            ("properties.allowBlobPublicAccess", v => v?.Boolean == false, "must set allowBlobPublicAccess: false"),
            ("properties.minimumTlsVersion", v => v?.Text == "TLS1_2", "must set minimumTlsVersion: 'TLS1_2'"));

    public static List<string> TablesTheAdapterUsesExist(InfraSnapshot infra)
    {
        // TableKeys (internal to ReferralBroker.Azure) names the tables prefix + "referrals" / "idempotency" / "directory".
        var prefix = new TableStorageOptions().TablePrefix;
        var declared = infra.Resources.Where(r => r.Type == TableType).Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        return [.. new[] { prefix + "referrals", prefix + "idempotency", prefix + "directory" }
            .Where(name => !declared.Contains(name))
            .Select(name => $"table {name} (TableStorageOptions.TablePrefix + suffix) is not declared")];
    }

    public static List<string> FunctionAppIsAFlexConsumptionCustomHandler(InfraSnapshot infra)
    {
        var problems = RequireAll(infra, SiteType, "a function app",
            ("kind", v => v?.Text == "functionapp,linux", "must be kind 'functionapp,linux'"),
            ("properties.functionAppConfig.runtime.name", v => v?.Text == "custom", "must use functionAppConfig.runtime name 'custom'"),
            ("properties.functionAppConfig.runtime.version", v => v?.Text == "1.0", "must use functionAppConfig.runtime version '1.0'"),
            ("properties.functionAppConfig.deployment.storage.type", v => v?.Text == "blobContainer", "must deploy from a blob container"),
            ("properties.httpsOnly", v => v?.Boolean == true, "must set httpsOnly: true"),
            ("properties.siteConfig.minTlsVersion", v => v?.Text == "1.2", "must set siteConfig.minTlsVersion: '1.2'"),
            ("tags", v => v is not null && AzdServiceTag().IsMatch(v.Raw), "must carry the tag 'azd-service-name': 'broker'"));

        foreach (var app in infra.Resources.Where(r => r.Type == SiteType))
        {
            var planSymbol = app.At("properties.serverFarmId")?.Raw.Replace(".id", "", StringComparison.Ordinal);
            var plan = infra.TemplateOf(app).Resources.FirstOrDefault(r => r.Symbol == planSymbol && r.Type == PlanType);
            if (plan?.At("sku.name")?.Text != "FC1" || plan.At("properties.reserved")?.Boolean != true)
            {
                problems.Add($"{app}: serverFarmId must be a Linux Flex Consumption plan (sku FC1, reserved: true)");
            }
        }

        return problems;
    }

    public static List<string> VaultAndTelemetryAreEntraOnly(InfraSnapshot infra) =>
    [
        .. RequireAll(infra, VaultType, "a key vault",
            ("properties.enableRbacAuthorization", v => v?.Boolean == true, "must set enableRbacAuthorization: true"),
            ("properties.enableSoftDelete", v => v?.Boolean == true, "must set enableSoftDelete: true"),
            ("properties.enablePurgeProtection", v => v?.Boolean == true, "must set enablePurgeProtection: true (losing the pepper orphans every token)")),
        .. RequireAll(infra, ComponentType, "an Application Insights component",
            ("properties.DisableLocalAuth", v => v?.Boolean == true, "must set DisableLocalAuth: true (Entra ingestion only)")),
    ];

    // ---------------------------------------------------------------------------------------------------------
    // Roles

    public static List<string> IdentityHasExactlyTheRolesItUses(InfraSnapshot infra)
    {
        var identity = infra.Resources.FirstOrDefault(r => r.Type == IdentityType);
        if (identity is null)
        {
            return ["no user-assigned identity"];
        }

        var problems = new List<string>();
        var held = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var assignment in infra.Resources.Where(r => r.Type == RoleAssignmentType
            && r.At("properties.principalId")?.Raw == $"{identity.Symbol}.properties.principalId"))
        {
            var template = infra.TemplateOf(assignment);
            var role = RoleDefinitionId(template, assignment.At("properties.roleDefinitionId"));
            var scopeSymbol = assignment.Body["scope"]?.Raw;
            var scope = template.Resources.FirstOrDefault(r => r.Symbol == scopeSymbol);
            if (role is null || !IdentityRoles.TryGetValue(role, out var known))
            {
                problems.Add($"{assignment}: the identity holds role {role ?? assignment.At("properties.roleDefinitionId")?.Raw}, " +
                    "which is not one of the roles it uses");
                continue;
            }

            held.Add(role);
            if (scope is null || !known.Scopes.Contains(scope.Type, StringComparer.Ordinal))
            {
                problems.Add($"{assignment}: {known.Name} must be scoped to {string.Join(" or ", known.Scopes)}, " +
                    $"not {(scope is null ? scopeSymbol ?? "the resource group" : scope.Type)}");
            }
        }

        problems.AddRange(IdentityRoles.Where(r => !held.Contains(r.Key))
            .Select(r => $"the identity is missing role {r.Value.Name} ({r.Key})"));
        return problems;
    }

    private static string? RoleDefinitionId(BicepTemplate template, BicepValue? value)
    {
        if (value is null)
        {
            return null;
        }

        var literal = RoleGuid().Match(value.Raw);
        if (literal.Success)
        {
            return literal.Value;
        }

        // subscriptionResourceId('Microsoft.Authorization/roleDefinitions', roles.someRole)
        var reference = VariableReference().Match(value.Raw);
        return reference.Success && template.Vars.TryGetValue(reference.Groups["var"].Value, out var variable)
            ? variable[reference.Groups["key"].Value]?.Text
            : null;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Parameters

    public static List<string> ParametersFileMatchesMain(InfraSnapshot infra)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(infra.ParametersJson);
        }
        catch (JsonException e)
        {
            return [$"{InfraSnapshot.ParametersPath} is not valid JSON: {e.Message}"];
        }

        using (document)
        {
            if (!document.RootElement.TryGetProperty("parameters", out var parameters) || parameters.ValueKind != JsonValueKind.Object)
            {
                return [$"{InfraSnapshot.ParametersPath} has no 'parameters' object"];
            }

            var passed = parameters.EnumerateObject().Select(p => p.Name).ToList();
            var declared = infra.Main.Params.ToDictionary(p => p.Name, StringComparer.Ordinal);
            var problems = passed.Where(name => !declared.ContainsKey(name))
                .Select(name => $"{InfraSnapshot.ParametersPath} passes '{name}', which main.bicep does not declare").ToList();
            problems.AddRange(parameters.EnumerateObject()
                .Where(p => p.Value.ValueKind != JsonValueKind.Object || !(p.Value.TryGetProperty("value", out _) || p.Value.TryGetProperty("reference", out _)))
                .Select(p => $"{InfraSnapshot.ParametersPath}: '{p.Name}' needs a 'value'"));
            problems.AddRange(infra.Main.Params.Where(p => !p.HasDefault && !passed.Contains(p.Name, StringComparer.Ordinal))
                .Select(p => $"main.bicep param '{p.Name}' has no default and {InfraSnapshot.ParametersPath} does not pass it"));
            return problems;
        }
    }

    public static List<string> ModulesGetEveryParameterTheyNeed(InfraSnapshot infra)
    {
        var problems = new List<string>();
        if (infra.Main.TargetScope is not ("subscription" or "resourceGroup"))
        {
            problems.Add($"main.bicep targetScope is '{infra.Main.TargetScope}'; azd expects 'subscription' (or 'resourceGroup')");
        }

        foreach (var module in infra.Main.Modules)
        {
            var template = infra.Modules.FirstOrDefault(m => m.FileName.EndsWith(module.Path.TrimStart('.', '/'), StringComparison.Ordinal));
            if (template is null)
            {
                continue;
            }

            var passed = module.Body["params"]?.Properties.Select(p => p.Key).ToList() ?? [];
            var declared = template.Params.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
            problems.AddRange(passed.Where(name => !declared.Contains(name))
                .Select(name => $"module {module.Symbol} passes '{name}', which {template.FileName} does not declare"));
            problems.AddRange(template.Params.Where(p => !p.HasDefault && !passed.Contains(p.Name, StringComparer.Ordinal))
                .Select(p => $"module {module.Symbol} does not pass '{p.Name}', which {template.FileName} requires"));
        }

        return problems;
    }

    /// <summary>azure.yaml's service is the one the function app's tag names, and its hooks read outputs main.bicep has.</summary>
    public static List<string> AzdProjectMatchesTheTemplates(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var yaml = string.Join('\n', infra.AzureYaml.Split('\n').Where(line => !line.TrimStart().StartsWith('#')));
        var services = TopLevelKeysUnder(yaml, "services");
        if (services is not ["broker"])
        {
            problems.Add($"{InfraSnapshot.AzureYamlPath} must declare the one service 'broker' (the function app's azd-service-name tag), found [{string.Join(", ", services)}]");
        }

        var available = infra.Main.Outputs.Concat(AzdProvidedVariables).ToHashSet(StringComparer.Ordinal);
        problems.AddRange(EnvironmentReference().Matches(yaml).Select(m => m.Groups["name"].Value).Distinct(StringComparer.Ordinal)
            .Where(name => !available.Contains(name))
            .Select(name => $"{InfraSnapshot.AzureYamlPath} reads ${name}, which is neither a main.bicep output nor set by azd"));
        return problems;
    }

    /// <summary>The keys one indentation level below a top-level YAML key (enough for azure.yaml's services).</summary>
    private static List<string> TopLevelKeysUnder(string yaml, string section)
    {
        var keys = new List<string>();
        string? indent = null;
        var inside = false;
        foreach (var line in yaml.Split('\n'))
        {
            if (line.Trim().Length == 0)
            {
                continue;
            }

            if (!char.IsWhiteSpace(line[0]))
            {
                inside = line.TrimEnd() == section + ":";
                continue;
            }

            if (!inside)
            {
                continue;
            }

            var lineIndent = line[..(line.Length - line.TrimStart().Length)];
            indent ??= lineIndent;
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (lineIndent == indent && colon > 0)
            {
                keys.Add(line[..colon].Trim());
            }
        }

        return keys;
    }

    private static readonly string[] AzdProvidedVariables =
        ["AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "AZURE_PRINCIPAL_ID", "AZURE_TENANT_ID"];

    // ---------------------------------------------------------------------------------------------------------

    private static List<string> RequireAll(
        InfraSnapshot infra, string type, string what, params (string Path, Func<BicepValue?, bool> Ok, string Problem)[] rules)
    {
        var resources = infra.Resources.Where(r => r.Type == type).ToList();
        if (resources.Count == 0)
        {
            return [$"no {what} ({type}) in the templates"];
        }

        return [.. resources.SelectMany(resource => rules
            .Where(rule => !rule.Ok(resource.At(rule.Path)))
            .Select(rule => $"{resource}: {rule.Problem} (found {resource.At(rule.Path)?.Raw ?? "nothing"})"))];
    }

    private static IEnumerable<string> Strings(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => [element.GetString()!],
        JsonValueKind.Array => element.EnumerateArray().SelectMany(Strings),
        JsonValueKind.Object => element.EnumerateObject().SelectMany(p => Strings(p.Value)),
        _ => [],
    };

    private static BicepValue? At(this BicepResource resource, string path) => resource.Body.At(path);

    [GeneratedRegex(@"secrets/(?<name>[A-Za-z0-9-]+)")]
    private static partial Regex KeyVaultSecretName();

    [GeneratedRegex("%(?<name>[^%]+)%")]
    private static partial Regex BindingExpression();

    [GeneratedRegex("(pepper|secret|password|key)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLikeName();

    [GeneratedRegex(@"'azd-service-name'\s*:\s*'broker'")]
    private static partial Regex AzdServiceTag();

    [GeneratedRegex(@"\$\{?(?<name>[A-Z][A-Z0-9_]*)\}?")]
    private static partial Regex EnvironmentReference();

    [GeneratedRegex("[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")]
    private static partial Regex RoleGuid();

    [GeneratedRegex(@"(?<var>[A-Za-z_][A-Za-z0-9_]*)\.(?<key>[A-Za-z_][A-Za-z0-9_]*)\s*\)\s*$")]
    private static partial Regex VariableReference();
}
