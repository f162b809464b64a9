using ReferralBroker.Hosting;
using ReferralBroker.Referrals;

namespace ReferralBroker.Embedded;

/// <summary>Runs the sweep on a timer in process, the way the timer trigger does in Azure.</summary>
internal sealed partial class EmbeddedSweepService(
    ReferralSweeper sweeper,
    SqliteReferralQueue queue,
    ReferralService referrals,
    QueueOptions options,
    TimeProvider time,
    ILogger<EmbeddedSweepService> logger) : BackgroundService
{
    public async Task<SweepReport> SweepOnceAsync(CancellationToken cancellationToken)
    {
        // A message dropped unsent must not leave its referral "submitted" in silence: the client would wait.
        foreach (var referralId in await queue.PurgeExpiredAsync(cancellationToken))
        {
            await referrals.MarkUndeliverableAsync(referralId, cancellationToken);
        }

        return await sweeper.SweepAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.RunSweep)
        {
            return;
        }

        using var timer = new PeriodicTimer(options.SweepInterval, time);
        do
        {
            try
            {
                await SweepOnceAsync(stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogSweepFailed(logger, e.GetType().Name);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken));
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Sweep failed ({Error}); trying again at the next tick")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}
