using ReferralBroker.Hosting;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Embedded;

/// <summary>Runs the sweep on a timer in process, the way the timer trigger does in Azure.</summary>
internal sealed partial class EmbeddedSweepService(
    ReferralSweeper sweeper,
    SqliteReferralQueue queue,
    SqliteDatabase database,
    ReferralService referrals,
    NetworkAdministration administration,
    IReferralStore store,
    MailMode mail,
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

        var report = await sweeper.SweepAsync(cancellationToken);
        // The sweep is where sealed details are destroyed on time, and it finds those destroyed since: a partner's
        // email in the development mailbox must not keep a link to them, nor any email a purged referral's id.
        if (mail.DevelopmentMailbox is { } mailbox)
        {
            await mailbox.ForgetEndedAsync(store, cancellationToken);
        }

        // A replaced webhook secret whose overlap has ended signs nothing more: it leaves storage here, after the purges
        // (a failure here must not hold them back) and before the checkpoint (which takes it out of the log too).
        await administration.EraseRetiredWebhookSecretsAsync(cancellationToken);

        // What the sweep destroyed is zeroed in the file but still in the write-ahead log until this.
        await database.CheckpointAsync(cancellationToken);
        return report;
    }

    protected override Task ExecuteAsync(CancellationToken stoppingToken) => options.RunSweep
        ? PeriodicWork.RunAsync(options.SweepInterval, time, SweepOnceAsync, e => LogSweepFailed(logger, e.GetType().Name), stoppingToken)
        : Task.CompletedTask;

    [LoggerMessage(Level = LogLevel.Error, Message = "Sweep failed ({Error}); trying again at the next tick")]
    private static partial void LogSweepFailed(ILogger logger, string error);
}
