using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>
/// Intake over a store and a queue that share no transaction (Table Storage and Service Bus): the record first,
/// so a message never points at nothing. A failure in between is made visible by <see cref="ReferralService"/>.
/// </summary>
public sealed class StoreThenQueueIntake(IReferralStore store, IReferralQueue queue) : IReferralIntake
{
    public async Task<bool> TryCreateAndEnqueueAsync(ReferralRecord record, DispatchMessage message, CancellationToken cancellationToken)
    {
        try
        {
            // A store that times out may have written all the same: that record has no message either.
            if (!await store.TryCreateAsync(record, cancellationToken))
            {
                return false;
            }

            await queue.EnqueueAsync(message, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            throw new NotQueuedException(record.ReferralId, e);
        }
    }
}

/// <summary>The referral may have been stored without its dispatch message.</summary>
public sealed class NotQueuedException(string referralId, Exception inner)
    : Exception("The referral was stored but could not be queued.", inner)
{
    public string ReferralId { get; } = referralId;
}
