using Azure.Core;
using Azure.Identity;
using Microsoft.Extensions.Options;
using ReferralBroker.Azure.SendGrid;
using ReferralBroker.Azure.ServiceBus;
using ReferralBroker.Azure.TableStorage;
using ReferralBroker.Hosting;
using ReferralBroker.Partners;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tokens;

namespace ReferralBroker.Azure;

/// <summary>The broker's Azure adapters: Table Storage, Service Bus and SendGrid behind the ports.</summary>
internal static class AzureHosting
{
    public const string Section = "Broker:Azure";

    public static IServiceCollection AddAzureAdapters(this IServiceCollection services, IConfiguration configuration)
    {
        var section = configuration.GetSection(Section);
        services.AddOptions<TableStorageOptions>().Bind(section.GetSection("Tables")).ValidateOnStart();
        services.AddOptions<ServiceBusOptions>().Bind(section.GetSection("ServiceBus")).ValidateOnStart();
        services.AddOptions<SendGridOptions>().Bind(section.GetSection("SendGrid")).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrokerOptions>, AzureSettingsValidator>();
        services.AddSingleton<IValidateOptions<TableStorageOptions>, AzureSettingsValidator>();
        services.AddSingleton<IValidateOptions<SendGridOptions>, AzureSettingsValidator>();
        services.AddSingleton<IValidateOptions<ServiceBusOptions>, AzureSettingsValidator>();

        // Managed identity in Azure; DefaultAzureCredential reads AZURE_CLIENT_ID for the user-assigned one.
        // Created lazily: with shared keys (Azurite, tests) no credential is ever needed.
        services.AddSingleton<Lazy<TokenCredential>>(sp => new(() => new DefaultAzureCredential(
            new DefaultAzureCredentialOptions { ManagedIdentityClientId = configuration[AzureSettings.ManagedIdentityClientId] })));

        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            var network = NetworkDocument.Parse(configuration["Broker:NetworkJson"]);
            return NetworkSeed.From([.. options.Organisations, .. network.Organisations], [.. options.Partners, .. network.Partners]);
        });
        services.AddSingleton(sp => new Pepper(Convert.FromBase64String(sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Pepper!)));
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TableStorageOptions>>().Value;
            return new TableReferralStore(options, CredentialFor(sp, !options.UsesSharedKey), null, sp.GetRequiredService<ILogger<TableReferralStore>>());
        });
        services.AddSingleton<IReferralStore>(sp => sp.GetRequiredService<TableReferralStore>());
        services.AddSingleton<IDirectoryStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TableStorageOptions>>().Value;
            return new SealedSecretsDirectoryStore(
                new TableDirectoryStore(options, CredentialFor(sp, !options.UsesSharedKey)), sp.GetRequiredService<Pepper>());
        });
        services.AddSingleton<ReferralBroker.Reports.IReportSource>(sp => sp.GetRequiredService<TableReferralStore>());
        services.AddSingleton<IIdempotencyStore>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<TableStorageOptions>>().Value;
            return new TableIdempotencyStore(options, CredentialFor(sp, !options.UsesSharedKey));
        });
        services.AddSingleton(sp => new ServiceBusNamespace(ServiceBusOptionsFor(sp), CredentialFor(sp, ServiceBusOptionsFor(sp).ConnectionString is null)));
        services.AddSingleton<IReferralQueue>(sp => new ServiceBusReferralQueue(
            sp.GetRequiredService<ServiceBusNamespace>(), sp.GetRequiredService<ILogger<ServiceBusReferralQueue>>()));
        services.AddSingleton<IReferralIntake>(sp => new QueueThenStoreIntake(
            sp.GetRequiredService<IReferralQueue>(), sp.GetRequiredService<IReferralStore>()));
        services.AddSingleton(sp => new ServiceBusDispatchHandler(
            sp.GetRequiredService<ReferralDispatcher>(), ServiceBusOptionsFor(sp), sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<ServiceBusDispatchHandler>>()));
        services.AddSingleton<IDispatchInbox>(sp => new ServiceBusDispatchInbox(
            sp.GetRequiredService<ServiceBusNamespace>(), sp.GetRequiredService<ServiceBusDispatchHandler>(),
            sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ServiceBusDispatchInbox>>()));
        services.AddSingleton(sp => new ServiceBusDeadLetterPurger(
            sp.GetRequiredService<ServiceBusNamespace>(), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<ServiceBusDeadLetterPurger>>()));
        services.AddSingleton<IUndeliveredDispatches>(sp => new DeadLetteredDispatches(sp.GetRequiredService<ServiceBusDeadLetterPurger>()));
        services.AddSingleton<ScheduledSweep>();
        services.AddSingleton<IMailSender>(sp => new SendGridMailSender(
            sp.GetRequiredService<IOptions<SendGridOptions>>().Value, sp.GetRequiredService<ILogger<SendGridMailSender>>()));
        return services;
    }

    private static ServiceBusOptions ServiceBusOptionsFor(IServiceProvider sp) => sp.GetRequiredService<IOptions<ServiceBusOptions>>().Value;

    private static TokenCredential? CredentialFor(IServiceProvider sp, bool needed) =>
        needed ? sp.GetRequiredService<Lazy<TokenCredential>>().Value : null;
}

/// <summary>
/// Fails the start, loudly, on settings that would only fail later: a missing secret, or a Key Vault reference
/// the platform could not resolve (the app then sees the literal "@Microsoft.KeyVault(...)" text).
/// </summary>
internal sealed class AzureSettingsValidator(IConfiguration configuration)
    : IValidateOptions<BrokerOptions>, IValidateOptions<TableStorageOptions>, IValidateOptions<SendGridOptions>, IValidateOptions<ServiceBusOptions>
{
    public ValidateOptionsResult Validate(string? name, BrokerOptions options)
    {
        var failures = new List<string>();
        if (options.Pepper is null)
        {
            failures.Add($"{AzureSettings.Pepper} is required in Azure (a Key Vault reference).");
        }

        if (options.ForwardedHeaders.KnownProxies.Count > 0 || options.ForwardedHeaders.KnownNetworks.Count > 0)
        {
            // Said rather than ignored: an operator who set it believes it is in force.
            failures.Add("Broker:ForwardedHeaders applies to the embedded host only: in Azure the worker trusts its own Functions host " +
                "(on loopback), which passes on the client address Azure's front end wrote. Remove the setting.");
        }

        foreach (var setting in AzureSettings.KeyVaultReferences)
        {
            if (configuration[setting.Replace("__", ":", StringComparison.Ordinal)]?.StartsWith("@Microsoft.KeyVault(", StringComparison.Ordinal) == true)
            {
                failures.Add($"{setting} is an unresolved Key Vault reference: check the identity's access to the vault.");
            }
        }

        try
        {
            var network = NetworkDocument.Parse(configuration["Broker:NetworkJson"]);
            // The network document's organisations seed the directory as Broker:Organisations do: the same webhook rules.
            foreach (var org in network.Organisations)
            {
                if (BrokerOptionsValidator.WebhookProblem(org, options.Notifications.AllowLoopbackHttpWebhooks) is { } webhook)
                {
                    failures.Add($"{AzureSettings.NetworkJson} organisation '{org.Id}' {webhook}");
                }
            }

            failures.AddRange(network.Organisations
                .Where(o => !string.IsNullOrEmpty(o.NotificationEmail) && !EmailAddresses.IsAddrSpec(o.NotificationEmail))
                .Select(o => $"{AzureSettings.NetworkJson}: organisation '{o.Id}' notificationEmail is not one address. {EmailAddresses.Rule}"));
            failures.AddRange(network.Partners.Where(p => !EmailAddresses.IsAddrSpec(p.Email))
                .Select(p => $"{AzureSettings.NetworkJson}: partner '{p.Id}' email is not one address. {EmailAddresses.Rule}"));
        }
        catch (System.Text.Json.JsonException)
        {
            failures.Add($"{AzureSettings.NetworkJson} is not valid JSON of the form {{\"organisations\":[...],\"partners\":[...]}}.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public ValidateOptionsResult Validate(string? name, TableStorageOptions options) =>
        options.Validate() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;

    public ValidateOptionsResult Validate(string? name, ServiceBusOptions options) =>
        options.Validate() is { Count: > 0 } failures ? ValidateOptionsResult.Fail(failures) : ValidateOptionsResult.Success;

    public ValidateOptionsResult Validate(string? name, SendGridOptions options) =>
        // SendGrid refuses a From that is not one address with a 400, which now fails every referral for good.
        string.IsNullOrEmpty(options.ApiKey) || !EmailAddresses.IsAddrSpec(options.FromEmail)
            ? ValidateOptionsResult.Fail($"{AzureSettings.SendGridApiKey} and {AzureSettings.SendGridFromEmail} (one address) are required in Azure.")
            : ValidateOptionsResult.Success;
}

/// <summary>The sweep's view of the Service Bus dead letters: the messages it destroys, by referral.</summary>
internal sealed class DeadLetteredDispatches(ServiceBusDeadLetterPurger purger) : IUndeliveredDispatches
{
    public Task<IReadOnlyList<string>> PurgeExpiredAsync(CancellationToken cancellationToken) => purger.PurgeExpiredAsync(cancellationToken);
}
