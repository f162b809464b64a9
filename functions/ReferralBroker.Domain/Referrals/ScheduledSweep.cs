using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>What one scheduled sweep did, for its log line.</summary>
public sealed record ScheduledSweepReport(SweepReport Sweep, int MarkedUndeliverable, int NotificationsAttempted);

/// <summary>
/// The work of the sweep timer where the queue lives outside the process: expiry and purges, the dead letters
/// destroyed and their referrals marked, then the status notifications due by now (the ones this sweep caused and
/// those of the requests since the last one), since nothing else runs between timers. Webhook secrets whose rotation
/// overlap has ended are erased last.
/// </summary>
public sealed class ScheduledSweep(
    ReferralSweeper sweeper, IUndeliveredDispatches undelivered, ReferralService referrals, NotificationDeliverer notifications,
    NetworkAdministration administration)
{
    public async Task<ScheduledSweepReport> RunAsync(CancellationToken ct)
    {
        var report = await sweeper.SweepAsync(ct);
        var marked = 0;
        foreach (var referralId in await undelivered.PurgeExpiredAsync(ct))
        {
            marked += await referrals.MarkUndeliverableAsync(referralId, ct) ? 1 : 0;
        }

        var delivered = await notifications.DeliverDueAsync(ct);
        // Last, so a store failure here cannot hold back the purges and the destruction of sealed details above.
        await administration.EraseRetiredWebhookSecretsAsync(ct);
        return new ScheduledSweepReport(report, marked, delivered);
    }
}
