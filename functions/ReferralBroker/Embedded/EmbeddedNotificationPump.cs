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

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RunNotifications)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.PollInterval, time);
        do
        {
            try
            {
                await DeliverDueAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Notification delivery failed ({Error}); trying again at the next tick")]
    private static partial void LogFailed(ILogger logger, string error);
}
