using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
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
        services.AddSingleton<ReferralDispatcher>();
        services.AddSingleton<ReferralSweeper>();
        services.AddSingleton(sp => new FlagPolicy(sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Directory.FlagsToPause));
        services.AddSingleton<StoredNetworkDirectory>();
        services.AddSingleton<INetworkDirectory>(sp => sp.GetRequiredService<StoredNetworkDirectory>());
        services.AddSingleton<NetworkAdministration>();
        services.AddHostedService<DirectoryRefreshService>();
        services.AddClosedLoopNotifications();

        services.AddLocalization();
        services.AddProblemDetails();
        services.ConfigureHttpJsonOptions(o =>
        {
            o.SerializerOptions.TypeInfoResolverChain.Insert(0, ApiJsonContext.Default);
            o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull;
        });
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, CoordinatorKeyAuthenticationHandler>(CoordinatorKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(BrokerPolicies.Organisation, p => p.RequireClaim(ApiKeyAuthenticationHandler.OrganisationIdClaim))
            .AddPolicy(BrokerPolicies.Coordinator, p => p
                .AddAuthenticationSchemes(CoordinatorKeyAuthenticationHandler.SchemeName)
                .RequireClaim(CoordinatorKeyAuthenticationHandler.CoordinatorClaim));
        services.AddBrokerRateLimits();
        return services;
    }

    private static IServiceCollection AddBrokerRateLimits(this IServiceCollection services) => services
        .AddSingleton<GuessingBudget>()
        .AddRateLimiter(limiter =>
        {
            limiter.RejectionStatusCode = StatusCodes.Status429TooManyRequests;
            limiter.OnRejected = (context, _) =>
            {
                var wait = context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter) ? retryAfter : TimeSpan.FromMinutes(1);
                return new ValueTask(RejectionPage.TooManyRequests(context.HttpContext, wait).ExecuteAsync(context.HttpContext));
            };
            // Partitioned by address only in memory; addresses are never stored or logged.
            limiter.AddPolicy(BrokerPolicies.StatusRateLimit, context => PerAddress(context, o => o.StatusPerMinute));
            limiter.AddPolicy(BrokerPolicies.PartnerRateLimit, context => PerAddress(context, o => o.PartnerPerMinute));
        });

    private static RateLimitPartition<string> PerAddress(HttpContext context, Func<RateLimitOptions, int> limit)
    {
        var permits = limit(context.RequestServices.GetRequiredService<IOptions<BrokerOptions>>().Value.RateLimits);
        return RateLimitPartition.GetFixedWindowLimiter(
            context.Connection.RemoteIpAddress?.ToString() ?? "unknown",
            _ => new FixedWindowRateLimiterOptions { PermitLimit = permits, Window = TimeSpan.FromMinutes(1), QueueLimit = 0 });
    }
}
