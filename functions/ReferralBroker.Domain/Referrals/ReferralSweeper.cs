using Microsoft.Extensions.Logging;
using ReferralBroker.Lifecycle;
using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

public sealed record SweepReport(int Expired, int SealedDestroyed, int Purged, int IdempotencyPurged);

/// <summary>
/// The periodic sweep: expires referrals nobody accepted before consent ran out, destroys sealed referrals whose
/// time is up and forgets records past retention.
/// </summary>
public sealed partial class ReferralSweeper(
    IReferralStore store,
    IIdempotencyStore idempotency,
    ReferralService referrals,
    TimeProvider time,
    ILogger<ReferralSweeper> logger)
{
    public async Task<SweepReport> SweepAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        int expired = 0, destroyed = 0, purged = 0;
        await foreach (var due in store.FindDueAsync(now, ct))
        {
            switch (Transitions.DueAction(due.Value, now))
            {
                case SweepAction.Expire:
                    var outcome = await referrals.TransitionAsync(
                        async () => await store.FindAsync(due.Value.ReferralId, ct), ReferralEvent.Expire, null, ct);
                    expired += outcome is ActionOutcome.Done ? 1 : 0;
                    break;
                case SweepAction.DestroySealed:
                    var cleared = due.Value with { Sealed = null, SealedDeleteAt = null };
                    destroyed += await store.TryReplaceAsync(cleared, due.Version, ct) == WriteOutcome.Written ? 1 : 0;
                    break;
                case SweepAction.Purge:
                    purged += await store.TryDeleteAsync(due.Value.ReferralId, due.Version, ct) == WriteOutcome.Written ? 1 : 0;
                    break;
            }
        }

        var report = new SweepReport(expired, destroyed, purged, await idempotency.PurgeExpiredAsync(now, ct));
        if (report != new SweepReport(0, 0, 0, 0))
        {
            LogSwept(logger, report.Expired, report.SealedDestroyed, report.Purged, report.IdempotencyPurged);
        }

        return report;
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Sweep: {Expired} expired, {SealedDestroyed} sealed referrals destroyed, {Purged} records purged, {IdempotencyPurged} idempotency keys forgotten")]
    private static partial void LogSwept(ILogger logger, int expired, int sealedDestroyed, int purged, int idempotencyPurged);
}
