using System.Text.RegularExpressions;

namespace ReferralBroker.Tests.Deployment;

/// <summary>
/// There is no Bicep compiler in CI, so these tests are what keeps infra/ in step with the code: the app settings
/// the broker and its Functions host read (AzureSettings), the connections and Service Bus subscriptions the
/// function.json files use, the tables the Table adapter writes, and the no-keys, least-privilege posture.
/// InfraDriftDetectionTests shows that each of these checks fails when the templates drift.
/// </summary>
public sealed class InfraConsistencyTests
{
    private static readonly Lazy<InfraSnapshot> Infra = new(() => InfraSnapshot.Load(InfraSnapshot.FindRepoRoot()));

    [Fact]
    public void App_settings_include_every_setting_the_app_and_its_host_read() =>
        AssertNoProblems(InfraChecks.MissingAppSettings(Infra.Value));

    [Fact]
    public void App_settings_include_nothing_the_app_and_its_host_do_not_read() =>
        AssertNoProblems(InfraChecks.ExtraAppSettings(Infra.Value));

    [Fact]
    public void Secret_settings_are_Key_Vault_references_to_secrets_the_vault_declares() =>
        AssertNoProblems(InfraChecks.SecretsAreKeyVaultReferences(Infra.Value));

    [Fact]
    public void No_setting_or_template_carries_a_key_or_connection_string() =>
        AssertNoProblems(InfraChecks.NoKeysOrConnectionStrings(Infra.Value));

    [Fact]
    public void Secret_parameters_are_marked_secure() =>
        AssertNoProblems(InfraChecks.SecretParametersAreSecure(Infra.Value));

    [Fact]
    public void Every_trigger_connection_has_identity_based_settings() =>
        AssertNoProblems(InfraChecks.ConnectionsAreIdentityBased(Infra.Value));

    [Fact]
    public void Every_binding_expression_names_a_setting_the_template_sets() =>
        AssertNoProblems(InfraChecks.BindingExpressionsResolve(Infra.Value));

    [Fact]
    public void Client_ids_telemetry_and_Key_Vault_references_use_the_one_user_assigned_identity() =>
        AssertNoProblems(InfraChecks.IdentitySettingsNameTheUserAssignedIdentity(Infra.Value));

    [Fact]
    public void Every_subscription_a_trigger_uses_exists_with_a_category_filter_a_delivery_limit_and_dead_lettering() =>
        AssertNoProblems(InfraChecks.SubscriptionsMatchTriggers(Infra.Value));

    [Fact]
    public void The_topic_detects_duplicates_and_expires_messages_when_the_adapter_expects() =>
        AssertNoProblems(InfraChecks.TopicDeduplicatesAndExpiresLikeTheAdapter(Infra.Value));

    [Fact]
    public void Storage_refuses_shared_keys_and_public_blobs() =>
        AssertNoProblems(InfraChecks.StorageRefusesSharedKeys(Infra.Value));

    [Fact]
    public void Service_Bus_refuses_SAS_keys() =>
        AssertNoProblems(InfraChecks.ServiceBusRefusesLocalAuth(Infra.Value));

    [Fact]
    public void The_tables_the_adapter_writes_are_declared() =>
        AssertNoProblems(InfraChecks.TablesTheAdapterUsesExist(Infra.Value));

    [Fact]
    public void The_function_app_is_a_Flex_Consumption_custom_handler_azd_can_find() =>
        AssertNoProblems(InfraChecks.FunctionAppIsAFlexConsumptionCustomHandler(Infra.Value));

    [Fact]
    public void Key_Vault_and_Application_Insights_accept_Entra_ID_only() =>
        AssertNoProblems(InfraChecks.VaultAndTelemetryAreEntraOnly(Infra.Value));

    [Fact]
    public void The_identity_holds_exactly_the_roles_it_uses_on_narrow_scopes() =>
        AssertNoProblems(InfraChecks.IdentityHasExactlyTheRolesItUses(Infra.Value));

    [Fact]
    public void The_parameters_file_is_JSON_and_passes_exactly_what_main_declares_and_needs() =>
        AssertNoProblems(InfraChecks.ParametersFileMatchesMain(Infra.Value));

    [Fact]
    public void Modules_get_every_parameter_they_require_and_nothing_they_do_not_declare() =>
        AssertNoProblems(InfraChecks.ModulesGetEveryParameterTheyNeed(Infra.Value));

    [Fact]
    public void The_azd_project_deploys_the_tagged_app_and_its_hooks_read_only_known_outputs() =>
        AssertNoProblems(InfraChecks.AzdProjectMatchesTheTemplates(Infra.Value));

    [Fact]
    public void The_reader_sees_every_resource_of_the_templates()
    {
        // Guards the guard: if the reader silently skipped declarations, the checks above would pass vacuously.
        var infra = Infra.Value;
        foreach (var template in infra.Templates)
        {
            var declared = Regex.Count(template.Text, @"(?m)^\s*resource\s+\w+\s+'");
            Assert.Equal(declared, template.Resources.Count);
        }

        Assert.NotEmpty(infra.Functions);
    }

    internal static void AssertNoProblems(List<string> problems)
    {
        if (problems.Count > 0)
        {
            Assert.Fail(string.Join(Environment.NewLine, problems));
        }
    }
}
