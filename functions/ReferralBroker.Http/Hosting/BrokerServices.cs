using ReferralBroker.Gate;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ReferralBroker.Http;
using ReferralBroker.Pages;
using ReferralBroker.Notifications;
using ReferralBroker.Partners;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;
using ReferralBroker.Tokens;

namespace ReferralBroker.Hosting;

internal static class BrokerServices
{
    /// <summary>The broker's use cases and HTTP services, for either hosting; the hosting adds its adapters.</summary>
    public static IServiceCollection AddBroker(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<BrokerOptions>().Bind(configuration.GetSection(BrokerOptions.Section)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<BrokerOptions>, BrokerOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Retention);
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Queue);
        services.AddSingleton(sp => new DispatchSettings(sp.GetRequiredService<IOptions<BrokerOptions>>().Value.PublicBaseUrl));
        services.AddSingleton<ReferralService>();
        // Not AddHostedService: it adds one service per implementation type, and both writers are QueuedWriters.
        services.AddSingleton<IHostedService>(sp => new QueuedWriter(
            sp.GetRequiredService<ReferralService>().RecordDuressUsesAsync, sp.GetRequiredService<ReferralService>().CompleteDuressUses));
        services.AddSingleton<ReferralDispatcher>();
        services.AddSingleton<ReferralSweeper>();
        services.AddSingleton(sp => new FlagPolicy(sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Directory.FlagsToPause));
        services.AddSingleton<StoredNetworkDirectory>();
        services.AddSingleton<INetworkDirectory>(sp => sp.GetRequiredService<StoredNetworkDirectory>());
        services.AddSingleton<NetworkAdministration>();
        services.AddSingleton<StaffAdministration>();
        services.AddSingleton<StaffKeyUses>();
        services.AddSingleton<IHostedService>(sp => new QueuedWriter(
            sp.GetRequiredService<StaffKeyUses>().RecordAsync, sp.GetRequiredService<StaffKeyUses>().Complete));
        services.AddHostedService<DirectoryRefreshService>();
        services.AddClosedLoopNotifications();

        services.AddLocalization();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddSingleton<Callers>();
        services.AddSingleton<GuessingBudget>();
        services.AddSingleton(sp => new GuessingBudgets(sp.GetRequiredService<GuessingBudget>(),
            new GuessingBudget(sp.GetRequiredService<IOptions<BrokerOptions>>(), sp.GetRequiredService<TimeProvider>())));
        services.AddSingleton<BrokerGate>();
        return services;
    }
}
