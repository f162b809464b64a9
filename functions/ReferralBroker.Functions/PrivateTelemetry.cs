using Microsoft.ApplicationInsights.Channel;
using Microsoft.ApplicationInsights.DataContracts;
using Microsoft.ApplicationInsights.Extensibility;
using Microsoft.Azure.Functions.Worker;

namespace ReferralBroker.Functions;

/// <summary>
/// Application Insights for the worker, kept from becoming a record of clients: no address (Application Insights
/// geolocates whatever address it is given), no query string, no user or session, and the logging rules of the
/// embedded host. Bodies and headers are never collected; tokens travel in bodies and capabilities in a header.
/// </summary>
internal static class PrivateTelemetry
{
    private const string ApplicationInsightsProvider = "Microsoft.Extensions.Logging.ApplicationInsights.ApplicationInsightsLoggerProvider";

    public static IServiceCollection AddPrivateTelemetry(this IServiceCollection services)
    {
        // No Live Metrics: it streams sample items to the portal as they happen, past any later review.
        services.AddApplicationInsightsTelemetryWorkerService(options => options.EnableQuickPulseMetricStream = false)
            .ConfigureFunctionsApplicationInsights();
        services.AddSingleton<ITelemetryInitializer, ClientPrivacyInitializer>();
        services.Configure<LoggerFilterOptions>(options =>
        {
            // The provider's default keeps Warning and above only; the broker's logs follow the embedded host's
            // levels instead (they name no client: see the logging rules in the README).
            var warningsOnly = options.Rules.FirstOrDefault(rule => rule.ProviderName == ApplicationInsightsProvider);
            if (warningsOnly is not null)
            {
                options.Rules.Remove(warningsOnly);
            }
        });
        // The embedded host's rule (appsettings.json): ASP.NET Core's own request lines carry paths and queries.
        services.AddLogging(logging => logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning));
        return services;
    }
}

/// <summary>Runs on every item before it is sent, whoever made it (the worker, a dependency, a log line).</summary>
internal sealed class ClientPrivacyInitializer : ITelemetryInitializer
{
    /// <summary>What Application Insights reads as "no address": nothing to geolocate.</summary>
    public const string NoAddress = "0.0.0.0";

    public void Initialize(ITelemetry telemetry)
    {
        telemetry.Context.Location.Ip = NoAddress;
        telemetry.Context.User.Id = null;
        telemetry.Context.User.AuthenticatedUserId = null;
        telemetry.Context.Session.Id = null;
        switch (telemetry)
        {
            case RequestTelemetry request:
                request.Url = WithoutQuery(request.Url);
                break;
            case DependencyTelemetry dependency:
                // A webhook URL is the organisation's; its query (if any) may hold a secret of theirs.
                dependency.Data = dependency.Data is { } data ? data.Split('?', 2)[0] : null;
                break;
        }

        if (telemetry is ISupportProperties { Properties: var properties })
        {
            foreach (var key in properties.Keys.Where(IsAddressOrSecret).ToList())
            {
                properties.Remove(key);
            }
        }
    }

    private static Uri? WithoutQuery(Uri? url) =>
        url is { IsAbsoluteUri: true } ? new Uri(url.GetLeftPart(UriPartial.Path)) : url;

    private static bool IsAddressOrSecret(string key) =>
        key.Contains("ip", StringComparison.OrdinalIgnoreCase) && key.Contains("client", StringComparison.OrdinalIgnoreCase)
        || key.Contains("forwarded", StringComparison.OrdinalIgnoreCase)
        || key.Contains("capability", StringComparison.OrdinalIgnoreCase)
        || key.Contains("authorization", StringComparison.OrdinalIgnoreCase)
        || key.Contains("token", StringComparison.OrdinalIgnoreCase);
}
