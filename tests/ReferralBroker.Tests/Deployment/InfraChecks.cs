using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Xml;
using System.Xml.Linq;
using ReferralBroker.Azure;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Azure.TableStorage;
using YamlDotNet.RepresentationModel;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// Checks on the compiled ARM JSON (and on the azd files beside it). Each returns the problems it finds, worded for
/// the person who has to fix the template; an empty list means the deployment agrees with the code on that point.
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

    /// <summary>The azd service, and the tag by which azd finds the function app it deploys to.</summary>
    public const string ServiceName = "broker";

    public const string FunctionsProjectPath = "./functions/ReferralBroker.Functions";

    private static readonly string[] ForbiddenSecretMarkers =
        ["AccountKey=", "SharedAccessKey=", "SharedAccessSignature", "listKeys", "listConnectionStrings", "listCredentials"];

    /// <summary>
    /// Settings Flex Consumption rejects or ignores: "Flex Consumption plan deprecations" in Microsoft's
    /// functions-app-settings.md and the scale and worker settings that Flex configures in functionAppConfig instead.
    /// </summary>
    private static readonly string[] FlexDeprecatedSettings =
    [
        "FUNCTIONS_WORKER_RUNTIME", "FUNCTIONS_WORKER_RUNTIME_VERSION", "FUNCTIONS_WORKER_PROCESS_COUNT",
        "WEBSITE_RUN_FROM_PACKAGE", "WEBSITE_CONTENTSHARE", "WEBSITE_CONTENTAZUREFILECONNECTIONSTRING",
        "SCM_DO_BUILD_DURING_DEPLOYMENT", "ENABLE_ORYX_BUILD", "WEBSITE_TIME_ZONE", "TZ",
        "WEBSITE_NODE_DEFAULT_VERSION", "WEBSITE_MAX_DYNAMIC_APPLICATION_SCALE_OUT",
    ];

    /// <summary>Role definition id → name and the resource types it may be scoped to (Azure built-in roles: the ids are fixed across tenants).</summary>
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
    // The compiler and the linter

    public static List<string> CompilesWithoutDiagnostics(InfraSnapshot infra)
    {
        List<string> problems = [.. infra.BuildDiagnostics.Select(d => $"bicep build: {Describe(infra, d)}")];
        if (infra.CompiledJson is null && problems.Count == 0)
        {
            problems.Add("bicep build produced no template and no diagnostic");
        }

        return problems;
    }

    public static List<string> LintsClean(InfraSnapshot infra) =>
        infra.LintDiagnostics is null
            ? ["bicep lint was not run on these templates"]
            : [.. infra.LintDiagnostics.Select(d => $"bicep lint: {Describe(infra, d)}")];

    private static string Describe(InfraSnapshot infra, BicepDiagnostic d) =>
        $"{infra.Relative(d.File)}({d.Line}): {d.Level} {d.Code}: {d.Message}";

    // ---------------------------------------------------------------------------------------------------------
    // App settings

    /// <summary>The one <c>Microsoft.Web/sites/config</c> resource named 'appsettings' and its settings.</summary>
    public static (ArmResource Resource, IReadOnlyList<KeyValuePair<string, ArmExpression>> Settings) AppSettings(InfraSnapshot infra)
    {
        var resources = infra.Resources.Where(r => r.Type == SitesConfigType && r.Leaf == "appsettings").ToList();
        if (resources.Count != 1)
        {
            throw new InvalidOperationException(
                $"Expected exactly one '{SitesConfigType}' resource named 'appsettings' in the compiled template, found {resources.Count}.");
        }

        if (resources[0].At("properties") is not JsonObject properties)
        {
            throw new InvalidOperationException(
                $"{resources[0]}: 'properties' must compile to an object of settings, not {resources[0].At("properties")?.ToJsonString()}.");
        }

        return (resources[0], [.. properties.Select(p => KeyValuePair.Create(p.Key, ArmExpression.FromJson(p.Value)))]);
    }

    public static ArmExpression? Setting(InfraSnapshot infra, string name) =>
        AppSettings(infra).Settings.Where(p => p.Key == name).Select(p => p.Value).FirstOrDefault();

    public static List<string> MissingAppSettings(InfraSnapshot infra)
    {
        var present = AppSettings(infra).Settings.Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
        return [.. ExpectedAppSettings.Where(name => !present.Contains(name)).Order(StringComparer.Ordinal)
            .Select(name => $"missing app setting {name} (read by the app or its Functions host: AzureSettings)")];
    }

    public static List<string> ExtraAppSettings(InfraSnapshot infra) =>
        [.. AppSettings(infra).Settings.Select(p => p.Key).Where(name => !ExpectedAppSettings.Contains(name)).Order(StringComparer.Ordinal)
            .Select(name => $"extra app setting {name}: not in AzureSettings.AppReads or HostReads (add it there if something reads it)")];

    public static List<string> NoFlexDeprecatedSettings(InfraSnapshot infra) =>
        [.. AppSettings(infra).Settings.Select(p => p.Key)
            .Where(name => FlexDeprecatedSettings.Contains(name, StringComparer.OrdinalIgnoreCase))
            .Select(name => $"app setting {name} is not used on Flex Consumption (the runtime is functionAppConfig.runtime)")];

    // ---------------------------------------------------------------------------------------------------------
    // Secrets

    public static List<string> SecretsAreKeyVaultReferences(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var secrets = infra.Resources.Where(r => r.Type == SecretType).Select(r => r.Leaf).OfType<string>().ToHashSet(StringComparer.Ordinal);
        var vaults = infra.Resources.Where(r => r.Type == VaultType).ToList();
        foreach (var name in AzureSettings.KeyVaultReferences)
        {
            var value = Setting(infra, name);
            if (value is null)
            {
                problems.Add($"secret setting {name} is not set");
                continue;
            }

            // '@Microsoft.KeyVault(SecretUri=${vault.properties.vaultUri}secrets/NAME/)' compiles to format(…, reference(vault).vaultUri).
            var reference = value.IsCall("format", out var arguments) && arguments.Count == 2 && arguments[0].LiteralString is { } format
                ? KeyVaultReference().Match(format) : Match.Empty;
            if (!reference.Success || !vaults.Any(v => v.IsPropertyReference(arguments[1], "vaultUri")))
            {
                problems.Add($"secret setting {name} must be a Key Vault reference '@Microsoft.KeyVault(SecretUri=<vault uri>secrets/<name>/)' " +
                    $"to a vault of these templates, not {value}");
            }
            else if (!secrets.Contains(reference.Groups["name"].Value))
            {
                problems.Add($"secret setting {name} refers to secret '{reference.Groups["name"].Value}', which no template declares " +
                    $"(declared: {string.Join(", ", secrets.Order(StringComparer.Ordinal))})");
            }
        }

        return problems;
    }

    public static List<string> NoKeysOrConnectionStrings(InfraSnapshot infra)
    {
        var problems = new List<string>();
        foreach (var (name, value) in AppSettings(infra).Settings)
        {
            var text = value.ToString();
            problems.AddRange(ForbiddenSecretMarkers.Where(m => text.Contains(m, StringComparison.OrdinalIgnoreCase))
                .Select(marker => $"app setting {name} carries a key or connection string ({marker}): {text}"));
        }

        problems.AddRange(ForbiddenSecretMarkers.Where(m => infra.CompiledJson!.Contains(m, StringComparison.OrdinalIgnoreCase))
            .Select(marker => $"the compiled template mentions '{marker}': identities only, no keys anywhere"));
        return problems;
    }

    public static List<string> SecretParametersAreSecure(InfraSnapshot infra) =>
        [.. infra.Main.SelfAndNested.SelectMany(t => t.Parameters.Select(p => (Template: t.Name, p.Key, Type: p.Value["type"]?.ToString())))
            .Where(p => SecretLikeName().IsMatch(p.Key) && p.Type is not ("securestring" or "secureObject"))
            .Select(p => $"template {p.Template}: param {p.Key} holds a secret and must be @secure() (compiled type: {p.Type ?? "none"})")];

    // ---------------------------------------------------------------------------------------------------------
    // Identity

    /// <summary>Every identity-based connection (<c>X__accountName</c>, <c>X__fullyQualifiedNamespace</c>, …) signs in as the identity.</summary>
    public static List<string> ConnectionsAreIdentityBased(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var prefixes = AppSettings(infra).Settings.Select(p => ConnectionSetting().Match(p.Key))
            .Where(m => m.Success).Select(m => m.Groups["prefix"].Value).Distinct(StringComparer.Ordinal);
        foreach (var prefix in prefixes)
        {
            var credential = Setting(infra, prefix + "__credential");
            if (credential?.LiteralString != "managedidentity")
            {
                problems.Add($"connection '{prefix}' needs app setting {prefix}__credential: 'managedidentity'" +
                    (credential is null ? "" : $", not {credential}"));
            }

            if (Setting(infra, prefix + "__clientId") is null)
            {
                problems.Add($"connection '{prefix}' needs app setting {prefix}__clientId (the user-assigned identity)");
            }
        }

        return problems;
    }

    /// <summary>Every client id, the telemetry credential and the Key Vault/deployment identity name the one UAMI.</summary>
    public static List<string> IdentitySettingsNameTheUserAssignedIdentity(InfraSnapshot infra)
    {
        var identities = infra.Resources.Where(r => r.Type == IdentityType).ToList();
        if (identities.Count != 1)
        {
            return [$"expected one user-assigned identity, found {identities.Count}"];
        }

        var identity = identities[0];
        var problems = new List<string>();
        foreach (var (name, value) in AppSettings(infra).Settings
            .Where(p => p.Key == AzureSettings.ManagedIdentityClientId || p.Key.EndsWith("__clientId", StringComparison.Ordinal)))
        {
            if (!identity.IsPropertyReference(value, "clientId"))
            {
                problems.Add($"app setting {name} must be the client id of {identity}, not {value}");
            }
        }

        var telemetry = Setting(infra, "APPLICATIONINSIGHTS_AUTHENTICATION_STRING");
        if (telemetry is not null && !(telemetry.IsCall("format", out var arguments) && arguments.Count == 2
            && arguments[0].LiteralString == "ClientId={0};Authorization=AAD" && identity.IsPropertyReference(arguments[1], "clientId")))
        {
            problems.Add($"APPLICATIONINSIGHTS_AUTHENTICATION_STRING must be 'ClientId=<client id of {identity}>;Authorization=AAD', not {telemetry}");
        }

        foreach (var app in infra.Resources.Where(r => r.Type == SiteType))
        {
            if (!identity.IsIdentifiedBy(app.ExpressionAt("properties.keyVaultReferenceIdentity")))
            {
                problems.Add($"{app}: keyVaultReferenceIdentity must be the id of {identity}");
            }

            if (app.ValueAt("properties.functionAppConfig.deployment.storage.authentication.type")?.ToString() != "UserAssignedIdentity"
                || !identity.IsIdentifiedBy(app.ExpressionAt("properties.functionAppConfig.deployment.storage.authentication.userAssignedIdentityResourceId")))
            {
                problems.Add($"{app}: the deployment container must be read as the user-assigned identity {identity}");
            }

            // Bicep spells the key '${identity.id}' as format('{0}', resourceId(…)).
            var assigned = app.At("identity.userAssignedIdentities") as JsonObject ?? [];
            if (!assigned.Select(p => ArmExpression.FromJsonString(p.Key))
                .Any(key => identity.IsIdentifiedBy(key) || (key.IsCall("format", out var a) && a.Count == 2 && a[0].LiteralString == "{0}" && identity.IsIdentifiedBy(a[1]))))
            {
                problems.Add($"{app}: identity.userAssignedIdentities must include {identity}");
            }
        }

        return problems;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Timers

    /// <summary>
    /// The timer functions bind %DispatchSchedule% and %SweepSchedule%: six-field NCRONTAB, and dispatch at least
    /// every minute, because the README promises partners an email within about a minute of a submission.
    /// </summary>
    public static List<string> TimerSchedulesAreNcrontab(InfraSnapshot infra)
    {
        var (config, _) = AppSettings(infra);
        var problems = new List<string>();
        foreach (var name in new[] { AzureSettings.DispatchSchedule, AzureSettings.SweepSchedule })
        {
            var value = config.ValueAt($"properties.{name}")?.ToString();
            if (value is null)
            {
                problems.Add($"app setting {name} has no value known before deployment (give its parameter a default)");
                continue;
            }

            var fields = value.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length != 6 || !fields.All(f => NcrontabField().IsMatch(f)))
            {
                problems.Add($"app setting {name} is '{value}', not a six-field NCRONTAB expression ({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}})");
            }
            else if (name == AzureSettings.DispatchSchedule && (fields[1] is not ("*" or "*/1") || fields[2..].Any(f => f != "*")))
            {
                problems.Add($"app setting {name} is '{value}': dispatch must run at least once a minute");
            }
        }

        return problems;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Service Bus

    public static List<string> SubscriptionsMatchCategories(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var options = new ServiceBusOptions();
        var topic = infra.Resources.FirstOrDefault(r => r.Type == TopicType && r.Leaf == options.TopicName);
        foreach (var name in options.AllSubscriptions.Order(StringComparer.Ordinal))
        {
            var matches = infra.Resources.Where(r => r.Type == SubscriptionType && r.Leaf == name).ToList();
            if (matches.Count != 1)
            {
                problems.Add(matches.Count == 0
                    ? $"no subscription '{name}' (ServiceBusOptions.Subscriptions or OtherCategoriesSubscription names it)"
                    : $"subscription '{name}' is declared {matches.Count} times");
                continue;
            }

            var subscription = matches[0];
            if (topic is not null && !subscription.IsChildOf(topic))
            {
                problems.Add($"subscription '{name}' must belong to topic '{options.TopicName}'");
            }

            if (subscription.ValueAt("properties.maxDeliveryCount") is not JsonValue count || !count.TryGetValue<int>(out var deliveries) || deliveries <= 0)
            {
                problems.Add($"subscription '{name}' has no maxDeliveryCount: set it explicitly");
            }

            if (subscription.ValueAt("properties.deadLetteringOnMessageExpiration")?.GetValueKind() != JsonValueKind.True)
            {
                problems.Add($"subscription '{name}' must set deadLetteringOnMessageExpiration: true");
            }

            problems.AddRange(TimeToLiveProblems($"subscription '{name}'", subscription, options.MessageTimeToLive, required: false));

            var category = options.Subscriptions.Where(p => p.Value == name).Select(p => p.Key).FirstOrDefault();
            var expected = category is not null ? $"category = '{category}'" : options.OtherCategoriesFilter;
            var rules = infra.Resources.Where(r => r.Type == RuleType && r.IsChildOf(subscription)).ToList();
            if (rules.Count != 1)
            {
                problems.Add($"subscription '{name}' needs exactly one rule ($Default replaced by a SqlFilter \"{expected}\"), found {rules.Count}");
            }
            else if (rules[0].Leaf != "$Default"
                || rules[0].ValueAt("properties.filterType")?.ToString() != "SqlFilter"
                || rules[0].ValueAt("properties.sqlFilter.sqlExpression")?.ToString() != expected)
            {
                problems.Add($"subscription '{name}': rule {rules[0].Leaf} filters with {rules[0].At("properties.sqlFilter.sqlExpression")?.ToJsonString() ?? "nothing"}, " +
                    $"expected the $Default rule as SqlFilter \"{expected}\"");
            }
        }

        return problems;
    }

    public static List<string> TopicDeduplicatesAndExpiresLikeTheAdapter(InfraSnapshot infra)
    {
        var options = new ServiceBusOptions();
        var topics = infra.Resources.Where(r => r.Type == TopicType && r.Leaf == options.TopicName).ToList();
        if (topics.Count != 1)
        {
            return [$"expected one topic named '{options.TopicName}' (ServiceBusOptions.TopicName), found {topics.Count}"];
        }

        var topic = topics[0];
        var problems = new List<string>();
        if (topic.ValueAt("properties.requiresDuplicateDetection")?.GetValueKind() != JsonValueKind.True)
        {
            problems.Add($"topic '{topic.Leaf}' must set requiresDuplicateDetection: true (the adapter relies on MessageId de-duplication)");
        }

        if (topic.ValueAt("properties.duplicateDetectionHistoryTimeWindow") is null)
        {
            problems.Add($"topic '{topic.Leaf}' must set duplicateDetectionHistoryTimeWindow");
        }

        problems.AddRange(TimeToLiveProblems($"topic '{topic.Leaf}'", topic, options.MessageTimeToLive, required: true));

        var (config, _) = AppSettings(infra);
        var setting = config.ValueAt($"properties.{AzureSettings.ServiceBusTopic}")?.ToString();
        if (setting != options.TopicName)
        {
            problems.Add($"{AzureSettings.ServiceBusTopic} must name the topic '{options.TopicName}', not {setting ?? "a value known only at deployment"}");
        }

        return problems;
    }

    private static IEnumerable<string> TimeToLiveProblems(string what, ArmResource resource, TimeSpan expected, bool required)
    {
        var value = resource.ValueAt("properties.defaultMessageTimeToLive")?.ToString();
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
            actual = XmlConvert.ToTimeSpan(value);
        }
        catch (FormatException)
        {
            actual = null;
        }

        if (actual != expected)
        {
            yield return $"{what}: defaultMessageTimeToLive is '{value}', but the adapter (ServiceBusOptions.MessageTimeToLive) " +
                $"assumes {XmlConvert.ToString(expected)}";
        }
    }

    public static List<string> ServiceBusRefusesLocalAuth(InfraSnapshot infra) =>
        RequireAll(infra, NamespaceType, "a Service Bus namespace",
            ("properties.disableLocalAuth", v => v?.GetValueKind() == JsonValueKind.True, "must set disableLocalAuth: true (no SAS keys)"),
            ("sku.name", v => v?.ToString() is "Standard" or "Premium", "needs sku Standard or Premium (topics, duplicate detection)"));

    // ---------------------------------------------------------------------------------------------------------
    // Storage, app, vault, telemetry

    public static List<string> StorageRefusesSharedKeys(InfraSnapshot infra) =>
        RequireAll(infra, StorageType, "a storage account",
            ("properties.allowSharedKeyAccess", v => v?.GetValueKind() == JsonValueKind.False, "must set allowSharedKeyAccess: false"),
            ("properties.allowBlobPublicAccess", v => v?.GetValueKind() == JsonValueKind.False, "must set allowBlobPublicAccess: false"),
            ("properties.minimumTlsVersion", v => v?.ToString() == "TLS1_2", "must set minimumTlsVersion: 'TLS1_2'"));

    public static List<string> TablesTheAdapterUsesExist(InfraSnapshot infra)
    {
        // TableKeys (internal to ReferralBroker.Azure) names the tables prefix + "referrals" / "idempotency" / "directory".
        var prefix = new TableStorageOptions().TablePrefix;
        var declared = infra.Resources.Where(r => r.Type == TableType).Select(r => r.Leaf).ToHashSet(StringComparer.Ordinal);
        return [.. new[] { prefix + "referrals", prefix + "idempotency", prefix + "directory" }
            .Where(name => !declared.Contains(name))
            .Select(name => $"table {name} (TableStorageOptions.TablePrefix + suffix) is not declared")];
    }

    public static List<string> FunctionAppIsFlexConsumptionDotnetIsolated(InfraSnapshot infra)
    {
        var problems = RequireAll(infra, SiteType, "a function app",
            ("kind", v => v?.ToString() == "functionapp,linux", "must be kind 'functionapp,linux'"),
            ("properties.functionAppConfig.runtime.name", v => v?.ToString() == "dotnet-isolated", "must use functionAppConfig.runtime name 'dotnet-isolated'"),
            ("properties.functionAppConfig.runtime.version", v => v?.ToString() == "10.0", "must use functionAppConfig.runtime version '10.0'"),
            ("properties.functionAppConfig.deployment.storage.type", v => v?.ToString() == "blobContainer", "must deploy from a blob container"),
            ("properties.httpsOnly", v => v?.GetValueKind() == JsonValueKind.True, "must set httpsOnly: true"),
            ("properties.siteConfig.minTlsVersion", v => v?.ToString() == "1.2", "must set siteConfig.minTlsVersion: '1.2'"),
            ("tags", v => v?["azd-service-name"]?.ToString() == ServiceName, $"must carry the tag 'azd-service-name': '{ServiceName}'"));

        foreach (var app in infra.Resources.Where(r => r.Type == SiteType))
        {
            var serverFarm = app.ExpressionAt("properties.serverFarmId");
            var plan = app.Template.Resources.FirstOrDefault(r => r.Type == PlanType && r.IsIdentifiedBy(serverFarm));
            if (plan?.ValueAt("sku.name")?.ToString() != "FC1" || plan.ValueAt("properties.reserved")?.GetValueKind() != JsonValueKind.True)
            {
                problems.Add($"{app}: serverFarmId must be a Linux Flex Consumption plan (sku FC1, reserved: true), not {serverFarm}");
            }

            var package = app.ExpressionAt("properties.functionAppConfig.deployment.storage.value");
            if (DeploymentContainer(app.Template, package) is null)
            {
                problems.Add($"{app}: the deployment storage must be a blob container of these templates' storage account, not {package}");
            }
        }

        return problems;
    }

    /// <summary>
    /// The container <paramref name="package"/> names: '${storage.properties.primaryEndpoints.blob}${name}' compiles to
    /// format('{0}{1}', reference(storage).primaryEndpoints.blob, name), with name a container of that storage account.
    /// </summary>
    private static ArmResource? DeploymentContainer(ArmTemplate template, ArmExpression? package)
    {
        if (package is null || !package.IsCall("format", out var arguments) || arguments is not [{ LiteralString: "{0}{1}" }, var endpoint, var name]
            || endpoint is not ArmExpression.Property { Name: "blob", Target: ArmExpression.Property endpoints })
        {
            return null;
        }

        var storage = template.Resources.FirstOrDefault(s => s.Type == StorageType && s.IsPropertyReference(endpoints, "primaryEndpoints"));
        var container = name.Evaluate(template.Scope)?.ToString();
        return storage is null ? null : template.Resources.FirstOrDefault(c =>
            c.Type == ContainerType && c.Leaf == container && c.Segments[0].SameAs(storage.Segments[0]));
    }

    public static List<string> VaultAndTelemetryAreEntraOnly(InfraSnapshot infra) =>
    [
        .. RequireAll(infra, VaultType, "a key vault",
            ("properties.enableRbacAuthorization", v => v?.GetValueKind() == JsonValueKind.True, "must set enableRbacAuthorization: true"),
            ("properties.enableSoftDelete", v => v?.GetValueKind() == JsonValueKind.True, "must set enableSoftDelete: true"),
            ("properties.enablePurgeProtection", v => v?.GetValueKind() == JsonValueKind.True, "must set enablePurgeProtection: true (losing the pepper orphans every token)")),
        .. RequireAll(infra, ComponentType, "an Application Insights component",
            ("properties.DisableLocalAuth", v => v?.GetValueKind() == JsonValueKind.True, "must set DisableLocalAuth: true (Entra ingestion only)")),
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
            && identity.IsPropertyReference(r.ExpressionAt("properties.principalId"), "principalId")))
        {
            // subscriptionResourceId('Microsoft.Authorization/roleDefinitions', variables('roles').someRole)
            var definition = assignment.ExpressionAt("properties.roleDefinitionId");
            var role = definition is not null && definition.IsCall("subscriptionResourceId", out var arguments) && arguments.Count == 2
                && arguments[0].LiteralString == "Microsoft.Authorization/roleDefinitions"
                ? arguments[1].Evaluate(assignment.Template.Scope)?.ToString() : null;
            if (role is null || !IdentityRoles.TryGetValue(role, out var known))
            {
                problems.Add($"{assignment}: the identity holds role {role ?? definition?.ToString()}, which is not one of the roles it uses");
                continue;
            }

            held.Add(role);
            var scopeExpression = assignment.ExpressionAt("scope");
            var scope = assignment.Template.Resources.FirstOrDefault(r => r.IsIdentifiedBy(scopeExpression));
            if (scope is null || !known.Scopes.Contains(scope.Type, StringComparer.Ordinal))
            {
                problems.Add($"{assignment}: {known.Name} must be scoped to {string.Join(" or ", known.Scopes)}, " +
                    $"not {scope?.Type ?? scopeExpression?.ToString() ?? "the resource group"}");
            }
        }

        problems.AddRange(IdentityRoles.Where(r => !held.Contains(r.Key))
            .Select(r => $"the identity is missing role {r.Value.Name} ({r.Key})"));
        return problems;
    }

    // ---------------------------------------------------------------------------------------------------------
    // azd: parameters, outputs, azure.yaml

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
            var declared = infra.Main.Parameters.ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
            var problems = passed.Where(name => !declared.ContainsKey(name))
                .Select(name => $"{InfraSnapshot.ParametersPath} passes '{name}', which main.bicep does not declare").ToList();
            problems.AddRange(parameters.EnumerateObject()
                .Where(p => p.Value.ValueKind != JsonValueKind.Object || !(p.Value.TryGetProperty("value", out _) || p.Value.TryGetProperty("reference", out _)))
                .Select(p => $"{InfraSnapshot.ParametersPath}: '{p.Name}' needs a 'value'"));
            problems.AddRange(declared.Where(p => !p.Value.ContainsKey("defaultValue") && !passed.Contains(p.Key, StringComparer.Ordinal))
                .Select(p => $"main.bicep param '{p.Key}' has no default and {InfraSnapshot.ParametersPath} does not pass it"));
            return problems;
        }
    }

    /// <summary>
    /// main.bicep deploys at a scope azd provisions and declares the outputs azd and the operator read: those azd
    /// needs, and every <c>azd env get-value NAME</c> the README tells the operator to run.
    /// </summary>
    public static List<string> OutputsAreWhatAzdAndTheReadmeRead(InfraSnapshot infra)
    {
        var problems = new List<string>();
        var schema = infra.Main.Json["$schema"]?.ToString() ?? "";
        if (!schema.Contains("/subscriptionDeploymentTemplate.json", StringComparison.Ordinal))
        {
            problems.Add($"main.bicep must have targetScope 'subscription' (azd creates the resource group through it); its schema is {schema}");
        }

        var outputs = infra.Main.Outputs.ToHashSet(StringComparer.Ordinal);
        problems.AddRange(new[] { "AZURE_LOCATION", "AZURE_TENANT_ID", "AZURE_RESOURCE_GROUP", "AZURE_FUNCTION_APP_NAME" }
            .Where(name => !outputs.Contains(name)).Select(name => $"main.bicep must output {name} (azd reads it)"));

        var available = outputs.Concat(AzdProvidedVariables).ToHashSet(StringComparer.Ordinal);
        var read = ReadmeGetValue().Matches(infra.Readme).Select(m => m.Groups["name"].Value).Distinct(StringComparer.Ordinal).ToList();
        if (read.Count == 0)
        {
            problems.Add($"{InfraSnapshot.ReadmePath} no longer shows any `azd env get-value`; this check then checks nothing: update it");
        }

        problems.AddRange(read.Where(name => !available.Contains(name))
            .Select(name => $"{InfraSnapshot.ReadmePath} runs `azd env get-value {name}`, which is neither a main.bicep output nor set by azd"));
        return problems;
    }

    /// <summary>azure.yaml deploys the Functions project to the tagged app as azd deploys any .NET Functions app: no hooks.</summary>
    public static List<string> AzdProjectDeploysTheFunctionsProject(InfraSnapshot infra)
    {
        var problems = new List<string>();
        YamlMappingNode root;
        try
        {
            var yaml = new YamlStream();
            yaml.Load(new StringReader(infra.AzureYaml));
            root = yaml.Documents.Count == 1 && yaml.Documents[0].RootNode is YamlMappingNode mapping
                ? mapping : throw new FormatException("expected one document holding a mapping");
        }
        catch (Exception e) when (e is YamlDotNet.Core.YamlException or FormatException)
        {
            return [$"{InfraSnapshot.AzureYamlPath} is not an azd project file: {e.Message}"];
        }

        if (Child(root, "hooks") is not null)
        {
            problems.Add($"{InfraSnapshot.AzureYamlPath} must not have hooks: azd builds and deploys a .NET Functions project itself");
        }

        var services = Child(root, "services") as YamlMappingNode;
        var names = services?.Children.Keys.Select(k => k.ToString()).ToList() ?? [];
        var tagged = infra.Resources.Where(r => r.Type == SiteType).Select(r => r.ValueAt("tags")?["azd-service-name"]?.ToString()).ToList();
        if (names is not [ServiceName] || tagged is not [ServiceName])
        {
            problems.Add($"{InfraSnapshot.AzureYamlPath} must declare the one service '{ServiceName}' that the function app's azd-service-name tag names; " +
                $"services: [{string.Join(", ", names)}], tags: [{string.Join(", ", tagged)}]");
            return problems;
        }

        var service = Child(services!, ServiceName) as YamlMappingNode;
        foreach (var (key, expected) in new[] { ("project", FunctionsProjectPath), ("language", "dotnet"), ("host", "function") })
        {
            var value = (service is null ? null : Child(service, key) as YamlScalarNode)?.Value;
            if (key == "project" ? value?.TrimEnd('/') != expected : value != expected)
            {
                problems.Add($"{InfraSnapshot.AzureYamlPath}: service '{ServiceName}' must have {key}: {expected}, not {value ?? "nothing"}");
            }
        }

        if (service is not null && Child(service, "hooks") is not null)
        {
            problems.Add($"{InfraSnapshot.AzureYamlPath}: service '{ServiceName}' must not have hooks");
        }

        return problems;
    }

    /// <summary>The folder azure.yaml deploys holds an isolated-worker Functions project (one csproj, AzureFunctionsVersion v4).</summary>
    public static List<string> AzdProjectFolderIsAFunctionsProject(string repoRoot)
    {
        var folder = Path.GetFullPath(Path.Combine(repoRoot, FunctionsProjectPath));
        var projects = Directory.Exists(folder) ? Directory.GetFiles(folder, "*.csproj") : [];
        if (projects.Length != 1)
        {
            return [$"{FunctionsProjectPath} (azure.yaml's project) must hold exactly one .csproj, found {projects.Length}"];
        }

        var versions = XDocument.Load(projects[0]).Descendants("AzureFunctionsVersion").Select(e => e.Value.Trim()).ToList();
        return versions is ["v4"] ? [] : [$"{Path.GetFileName(projects[0])} must set <AzureFunctionsVersion>v4</AzureFunctionsVersion>, found [{string.Join(", ", versions)}]"];
    }

    private static YamlNode? Child(YamlMappingNode mapping, string key) =>
        mapping.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    private static readonly string[] AzdProvidedVariables =
        ["AZURE_ENV_NAME", "AZURE_LOCATION", "AZURE_SUBSCRIPTION_ID", "AZURE_PRINCIPAL_ID", "AZURE_TENANT_ID"];

    // ---------------------------------------------------------------------------------------------------------

    private static List<string> RequireAll(
        InfraSnapshot infra, string type, string what, params (string Path, Func<JsonNode?, bool> Ok, string Problem)[] rules)
    {
        var resources = infra.Resources.Where(r => r.Type == type).ToList();
        if (resources.Count == 0)
        {
            return [$"no {what} ({type}) in the compiled template"];
        }

        return [.. resources.SelectMany(resource => rules
            .Where(rule => !rule.Ok(resource.ValueAt(rule.Path)))
            .Select(rule => $"{resource}: {rule.Problem} (found {resource.At(rule.Path)?.ToJsonString() ?? "nothing"})"))];
    }

    [GeneratedRegex(@"^@Microsoft\.KeyVault\(SecretUri=\{0\}secrets/(?<name>[A-Za-z0-9-]+)/?\)$")]
    private static partial Regex KeyVaultReference();

    [GeneratedRegex("(pepper|secret|password|key)$", RegexOptions.IgnoreCase)]
    private static partial Regex SecretLikeName();

    [GeneratedRegex("^(?<prefix>[A-Za-z0-9_]+?)__(accountName|fullyQualifiedNamespace|serviceUri|blobServiceUri|queueServiceUri|tableServiceUri)$")]
    private static partial Regex ConnectionSetting();

    [GeneratedRegex(@"^(\*|\d+(-\d+)?)(/\d+)?(,(\d+(-\d+)?)(/\d+)?)*$")]
    private static partial Regex NcrontabField();

    [GeneratedRegex(@"azd env get-value (?<name>[A-Z][A-Z0-9_]*)")]
    private static partial Regex ReadmeGetValue();
}
