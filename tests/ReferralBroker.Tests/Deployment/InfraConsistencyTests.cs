using System.Text;
using System.Text.RegularExpressions;
using ReferralBroker.Tests.Reliability;
using Xunit.Abstractions;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// infra/ compiled by the real Bicep CLI and linted, then checked against the code: the app settings the broker and
/// its Functions host read (AzureSettings), the Service Bus subscriptions and tables the adapters use, the no-keys,
/// least-privilege posture, the Flex Consumption runtime, and the azd project. InfraDriftDetectionTests shows that
/// each check fails when the templates drift.
/// </summary>
public sealed partial class InfraConsistencyTests(ITestOutputHelper output)
{
    private static InfraSnapshot Infra => InfraSnapshot.Repository;

    [Fact]
    public void The_templates_compile_without_errors_or_warnings()
    {
        // In the run's figures, so that CI shows the compiler really ran and what it produced.
        Figures.Report(output, "infra", $"bicep build: {Encoding.UTF8.GetByteCount(Infra.CompiledJson ?? "")} bytes of ARM JSON, " +
            $"{Infra.BuildDiagnostics.Count} build diagnostics, {Infra.LintDiagnostics?.Count} lint diagnostics");
        AssertNoProblems(InfraChecks.CompilesWithoutDiagnostics(Infra));
    }

    [Fact]
    public void The_linter_finds_nothing() =>
        AssertNoProblems(InfraChecks.LintsClean(Infra));

    [Fact]
    public void App_settings_include_every_setting_the_app_and_its_host_read() =>
        AssertNoProblems(InfraChecks.MissingAppSettings(Infra));

    [Fact]
    public void App_settings_include_nothing_the_app_and_its_host_do_not_read() =>
        AssertNoProblems(InfraChecks.ExtraAppSettings(Infra));

    [Fact]
    public void App_settings_hold_nothing_Flex_Consumption_deprecates() =>
        AssertNoProblems(InfraChecks.NoFlexDeprecatedSettings(Infra));

    [Fact]
    public void Secret_settings_are_Key_Vault_references_to_secrets_the_vault_declares() =>
        AssertNoProblems(InfraChecks.SecretsAreKeyVaultReferences(Infra));

    [Fact]
    public void No_setting_or_template_carries_a_key_or_connection_string() =>
        AssertNoProblems(InfraChecks.NoKeysOrConnectionStrings(Infra));

    [Fact]
    public void Secret_parameters_are_marked_secure() =>
        AssertNoProblems(InfraChecks.SecretParametersAreSecure(Infra));

    [Fact]
    public void Every_identity_based_connection_signs_in_as_the_managed_identity() =>
        AssertNoProblems(InfraChecks.ConnectionsAreIdentityBased(Infra));

    [Fact]
    public void Client_ids_telemetry_and_Key_Vault_references_use_the_one_user_assigned_identity() =>
        AssertNoProblems(InfraChecks.IdentitySettingsNameTheUserAssignedIdentity(Infra));

    [Fact]
    public void The_timer_schedules_are_NCRONTAB_and_dispatch_runs_every_minute() =>
        AssertNoProblems(InfraChecks.TimerSchedulesAreNcrontab(Infra));

    [Fact]
    public void Every_category_subscription_exists_with_its_filter_a_delivery_limit_and_dead_lettering() =>
        AssertNoProblems(InfraChecks.SubscriptionsMatchCategories(Infra));

    [Fact]
    public void The_topic_detects_duplicates_and_expires_messages_when_the_adapter_expects() =>
        AssertNoProblems(InfraChecks.TopicDeduplicatesAndExpiresLikeTheAdapter(Infra));

    [Fact]
    public void Storage_refuses_shared_keys_and_public_blobs() =>
        AssertNoProblems(InfraChecks.StorageRefusesSharedKeys(Infra));

    [Fact]
    public void Service_Bus_refuses_SAS_keys() =>
        AssertNoProblems(InfraChecks.ServiceBusRefusesLocalAuth(Infra));

    [Fact]
    public void The_tables_the_adapter_writes_are_declared() =>
        AssertNoProblems(InfraChecks.TablesTheAdapterUsesExist(Infra));

    [Fact]
    public void The_function_app_runs_dotnet_isolated_10_on_Flex_Consumption_and_azd_can_find_it() =>
        AssertNoProblems(InfraChecks.FunctionAppIsFlexConsumptionDotnetIsolated(Infra));

    [Fact]
    public void Key_Vault_and_Application_Insights_accept_Entra_ID_only() =>
        AssertNoProblems(InfraChecks.VaultAndTelemetryAreEntraOnly(Infra));

    [Fact]
    public void The_identity_holds_exactly_the_roles_it_uses_on_narrow_scopes() =>
        AssertNoProblems(InfraChecks.IdentityHasExactlyTheRolesItUses(Infra));

    [Fact]
    public void The_parameters_file_is_JSON_and_passes_exactly_what_main_declares_and_needs() =>
        AssertNoProblems(InfraChecks.ParametersFileMatchesMain(Infra));

    [Fact]
    public void Main_declares_the_outputs_azd_and_the_README_read() =>
        AssertNoProblems(InfraChecks.OutputsAreWhatAzdAndTheReadmeRead(Infra));

    [Fact]
    public void The_azd_project_deploys_the_Functions_project_to_the_tagged_app_without_hooks() =>
        AssertNoProblems(InfraChecks.AzdProjectDeploysTheFunctionsProject(Infra));

    [Fact]
    public void The_azd_project_folder_holds_an_Azure_Functions_v4_project() =>
        AssertNoProblems(InfraChecks.AzdProjectFolderIsAFunctionsProject(InfraSnapshot.RepoRoot));

    [Fact]
    public void The_checks_see_every_resource_the_templates_declare()
    {
        // Guards the guard: if resources were lost between the Bicep and the walk over the compiled JSON (a module
        // not descended into, a new template layout), the checks above could pass on nothing.
        var declared = Infra.BicepSources.Values.Sum(source => ResourceDeclaration().Count(source));
        Assert.Equal(declared, Infra.Resources.Count(r => r.Type != "Microsoft.Resources/deployments"));
        Assert.Equal(
            Infra.BicepSources.Values.Sum(source => ModuleDeclaration().Count(source)),
            Infra.Main.SelfAndNested.Count() - 1);
    }

    internal static void AssertNoProblems(List<string> problems)
    {
        if (problems.Count > 0)
        {
            Assert.Fail(string.Join(Environment.NewLine, problems));
        }
    }

    // `resource x 'Type@version' = …`, nested child resources included, `existing` references excluded.
    [GeneratedRegex(@"(?m)^\s*resource\s+\w+\s+'[^']+'\s*=")]
    private static partial Regex ResourceDeclaration();

    [GeneratedRegex(@"(?m)^\s*module\s+\w+\s+'[^']+'\s*=")]
    private static partial Regex ModuleDeclaration();
}
