using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using ReferralBroker.Azure;
using ReferralBroker.Embedded;
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
    /// <summary>The broker's services; the adapters are the embedded default's (SQLite, in-process queue, outbox).</summary>
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
        return AzureHosting.IsAzure(configuration) ? services.AddAzureAdapters(configuration) : services.AddEmbeddedAdapters();
    }

    private static IServiceCollection AddEmbeddedAdapters(this IServiceCollection services)
    {
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            var (partners, organisation, generatedKey) = DemoNetwork.Create(options.Demo);
            if (generatedKey is not null)
            {
                // Printed to the console on purpose (not logged): it is how a newcomer gets the demo key.
                Console.WriteLine($"Demo organisation '{DemoNetwork.OrganisationId}' API key: {generatedKey}");
                Console.WriteLine("Set Broker__Demo__OrgApiKey to keep a key across restarts.");
            }

            return new DemoKeyPrinted(generatedKey is not null, partners, organisation);
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            var demo = sp.GetRequiredService<DemoKeyPrinted>();
            return NetworkSeed.From([.. options.Organisations, demo.Organisation], [.. options.Partners, .. demo.Partners],
                new HashSet<string> { DemoNetwork.OrganisationId });
        });
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            return new Pepper(options.Pepper is { } configured ? Convert.FromBase64String(configured) : PepperFile.LoadOrCreate(options.DataPath));
        });
        services.AddSingleton(sp => new SqliteDatabase(sp.GetRequiredService<IOptions<BrokerOptions>>().Value.SqlitePath));
        services.AddSingleton<SqliteReferralStore>();
        services.AddSingleton<IReferralStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        services.AddSingleton<ReferralBroker.Reports.IReportSource, SqliteReportSource>();
        services.AddSingleton<IIdempotencyStore>(sp => sp.GetRequiredService<SqliteReferralStore>());
        services.AddSingleton<IDirectoryStore>(sp => new SealedSecretsDirectoryStore(
            new SqliteDirectoryStore(sp.GetRequiredService<SqliteDatabase>()), sp.GetRequiredService<Pepper>()));
        services.AddSingleton<SqliteReferralQueue>();
        services.AddSingleton<IReferralQueue>(sp => sp.GetRequiredService<SqliteReferralQueue>());
        services.AddSingleton<IReferralIntake>(sp => sp.GetRequiredService<SqliteReferralQueue>());
        services.AddSingleton<IMailSender>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<BrokerOptions>>().Value;
            return new OutboxMailSender(options.OutboxPath, options.Mail.FromEmail, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton<EmbeddedDispatchPump>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedDispatchPump>());
        services.AddHostedService(sp => new SqliteCheckpointService(
            sp.GetRequiredService<SqliteDatabase>(),
            sp.GetRequiredService<IOptions<BrokerOptions>>().Value.Storage.CheckpointInterval,
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<ILogger<SqliteCheckpointService>>()));
        services.AddSingleton<EmbeddedSweepService>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedSweepService>());
        services.AddSingleton<EmbeddedNotificationPump>();
        services.AddHostedService(sp => sp.GetRequiredService<EmbeddedNotificationPump>());
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

    /// <summary>Resolved at start so the demo key is printed before the first request, not at it.</summary>
    internal sealed record DemoKeyPrinted(bool Generated, IReadOnlyList<PartnerOptions> Partners, OrganisationOptions Organisation);
}
