using Microsoft.Extensions.Options;
using ReferralBroker.Hosting;
using ReferralBroker.Lifecycle;
using ReferralBroker.Referrals;

namespace ReferralBroker.Partners;

/// <summary>
/// The network as configuration describes it (settings, the demo network, Broker:NetworkJson in Azure). It seeds
/// the directory store at the first start that finds it absent; after that the admin API owns every record.
/// <see cref="Seeded"/> hears which organisations that start added (the demo network prints its generated key
/// only then, when it is really the key in force).
/// </summary>
internal sealed record NetworkSeed(DirectoryContents Contents, Action<IReadOnlySet<string>>? Seeded = null)
{
    public static NetworkSeed From(
        IEnumerable<OrganisationOptions> organisations, IEnumerable<PartnerOptions> partners, Action<IReadOnlySet<string>>? seeded = null) =>
        new(new DirectoryContents(
                [.. organisations.Select(o => new OrganisationAccount(
                    new Organisation(o.Id, o.Name, o.ToNotifications()), o.ApiKeySha256, null))],
                [.. partners.Select(p => new Partner(
                    p.Id,
                    p.Name,
                    p.Email,
                    [.. p.Categories.Select(c => WireNames.TryParse(c, out ServiceCategory category) ? category : throw new ArgumentException(c))],
                    [.. p.Languages]) { Attributes = [.. p.Attributes] })]),
            seeded);
}

/// <summary>
/// Seeds and loads the directory before the broker serves its first request, then rereads it now and then so
/// that admin writes made through another instance (Azure) reach this one.
/// </summary>
internal sealed partial class DirectoryRefreshService(
    IServiceProvider services,
    IOptions<BrokerOptions> options,
    TimeProvider time,
    ILogger<DirectoryRefreshService> logger) : BackgroundService
{
    private bool _seeded;

    /// <summary>
    /// Seeds and loads before the first request. If storage cannot be reached, the broker still starts (and says
    /// so): it refuses every key and partner until the next round reaches the store, rather than crash-looping.
    /// </summary>
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        await SeedOrRefreshAsync(cancellationToken);
        await base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        TimeSpan interval;
        try
        {
            interval = options.Value.Directory.RefreshInterval;
        }
        catch (OptionsValidationException)
        {
            // Invalid settings fail the start on their own; an exception here would only stop the host a second time.
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            await Task.Delay(interval, time, stoppingToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (!stoppingToken.IsCancellationRequested)
            {
                await SeedOrRefreshAsync(stoppingToken);
            }
        }
    }

    private async Task SeedOrRefreshAsync(CancellationToken ct)
    {
        try
        {
            // Resolved here, not injected: building the storage adapter can fail too, and that must not stop the start.
            if (_seeded)
            {
                await services.GetRequiredService<StoredNetworkDirectory>().RefreshAsync(ct);
            }
            else
            {
                var seed = services.GetRequiredService<NetworkSeed>();
                var added = await services.GetRequiredService<NetworkAdministration>().SeedAsync(seed.Contents, ct);
                _seeded = true;
                seed.Seeded?.Invoke(added);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The last good snapshot keeps serving; the next round tries again.
            LogRefreshFailed(logger, e.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Reading the directory failed ({Error}); serving the last one read, trying again later")]
    private static partial void LogRefreshFailed(ILogger logger, string error);
}
