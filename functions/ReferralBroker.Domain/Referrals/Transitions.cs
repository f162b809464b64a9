using ReferralBroker.Lifecycle;

namespace ReferralBroker.Referrals;

/// <summary>Applies a lifecycle event to a record, with every side effect on stored data the event implies.</summary>
public static class Transitions
{
    /// <param name="notify">Whether the referring organisation hears of status changes (it has an email or a webhook).</param>
    public static ReferralRecord? Apply(
        ReferralRecord record, ReferralEvent @event, DateTimeOffset now, RetentionPolicy retention, DeclineReason? reason = null, bool notify = true)
    {
        if (!ReferralLifecycle.TryApply(record.Status, @event, out var next))
        {
            return null;
        }

        var destroy = ReferralLifecycle.DestroysSealedReferral(next);
        return record with
        {
            Status = next,
            UpdatedAt = now,
            History = [.. record.History, new StatusChange(next, now)],
            Sealed = destroy ? null : record.Sealed,
            SealedDeleteAt = destroy ? null
                : next == ReferralStatus.Accepted ? now + retention.SealedAfterAcceptance
                : record.SealedDeleteAt,
            PurgeAt = retention.PurgeAt(next, record.CreatedAt, record.ExpiresAt, now),
            DeclineReason = next == ReferralStatus.Declined ? reason : record.DeclineReason,
            Notifications = notify ? [.. record.Notifications, ClosedLoop.For(record.ReferralId, next, now)] : record.Notifications,
        };
    }

    /// <summary>
    /// The referral sent again with its details sealed anew under a new link secret (the old secret opens nothing):
    /// the same id, the client's token and history kept, the consent the client gave again, delivery pending again.
    /// Null when it may not be sent again (<see cref="ReferralLifecycle.MayResend"/>).
    /// </summary>
    public static ReferralRecord? Resend(
        ReferralRecord record, Sealing.SealedReferral sealedDetails, string capabilityHash, ConsentMethod obtainedBy,
        DateTimeOffset expiresAt, DateTimeOffset now, RetentionPolicy retention)
    {
        if (!ReferralLifecycle.MayResend(record.Status, record.DeliveryFailed)
            || !ReferralLifecycle.TryApply(record.Status, ReferralEvent.Resend, out var next))
        {
            return null;
        }

        return record with
        {
            Status = next,
            UpdatedAt = now,
            History = [.. record.History, new StatusChange(next, now)],
            DeliveryFailed = false,
            Sealed = sealedDetails,
            SealedDeleteAt = null,
            CapabilityHash = capabilityHash,
            ConsentObtainedBy = obtainedBy,
            ExpiresAt = expiresAt,
            PurgeAt = retention.PurgeAt(next, record.CreatedAt, expiresAt, now),
        };
    }

    /// <summary>How many times the referral was sent: 1, and one more for each resend.</summary>
    public static int Sends(ReferralRecord record) => Math.Max(1, record.History.Count(h => h.Status == ReferralStatus.Submitted));

    /// <summary>When the sealed referral will be gone at the latest, if it is still held.</summary>
    public static DateTimeOffset? SealedGoneBy(ReferralRecord record) =>
        record.Sealed is null ? null : record.SealedDeleteAt ?? record.ExpiresAt;

    /// <summary>Whether the sweep has something to do with this record at <paramref name="now"/>.</summary>
    public static SweepAction DueAction(ReferralRecord record, DateTimeOffset now) => record switch
    {
        _ when record.PurgeAt <= now => SweepAction.Purge,
        { Status: ReferralStatus.Submitted or ReferralStatus.Delivered } when record.ExpiresAt <= now => SweepAction.Expire,
        { Sealed: not null, SealedDeleteAt: { } due } when due <= now => SweepAction.DestroySealed,
        _ => SweepAction.None,
    };
}

public enum SweepAction
{
    None,
    Expire,
    DestroySealed,
    Purge,
}
