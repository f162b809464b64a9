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

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.RunNotifications
        ? PeriodicWork.RunAsync(options.PollInterval, time, DeliverDueAsync, e => LogFailed(logger, e.GetType().Name), stoppingToken)
        : Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Error, Message = "Notification delivery failed ({Error}); trying again at the next tick")]
    private static partial void LogFailed(ILogger logger, string error);
}
