using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Embedded;

/// <summary>Delivers due notifications in process, polling the indexed notify_at column.</summary>
internal sealed partial class EmbeddedNotificationPump(
    NotificationDeliverer deliverer,
    QueueOptions options,
    TimeProvider time,
    ILogger<EmbeddedNotificationPump> logger) : BackgroundService
{
    public Task<int> DeliverDueAsync(CancellationToken cancellationToken) => deliverer.DeliverDueAsync(cancellationToken);

    /// <summary>
    /// A pass every tick, whether or not the previous one has finished: a pass waits for its slowest receiver, and
    /// what fell due meanwhile (another organisation's notice) must not wait behind it. The deliverer leaves an
    /// organisation that a running pass still serves to that pass.
    /// </summary>
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RunNotifications)
        {
            return;
        }

        var passes = new List<Task>();
        try
        {
            using var timer = new PeriodicTimer(options.PollInterval, time);
            do
            {
                passes.RemoveAll(p => p.IsCompleted);
                passes.Add(PassAsync(stoppingToken));
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        finally
        {
            await Task.WhenAll(passes).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }
    }

    private async Task PassAsync(CancellationToken stoppingToken)
    {
        try
        {
            await Task.Yield();
            await deliverer.DeliverDueAsync(stoppingToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogFailed(logger, e.GetType().Name);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Notification delivery failed ({Error}); trying again at the next tick")]
    private static partial void LogFailed(ILogger logger, string error);
}
