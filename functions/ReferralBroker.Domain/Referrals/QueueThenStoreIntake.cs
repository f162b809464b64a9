using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>
/// Intake over a queue and a store that share no transaction (Service Bus and Table Storage): the message first,
/// then the record, and 201 only once both are durable.
/// </summary>
/// <remarks>
/// The other order (record, then message) answers 201 for a record whose message a crash in between never sent:
/// the link secret existed only in that process, so the referral stays <c>submitted</c> and nobody is emailed.
/// Message first, a crash in between leaves a message without a record instead, and nothing was answered 201.
/// The dispatcher reads such a message as "not stored yet" and leaves it for later (the insert may still be on its
/// way); once it is older than a grace period longer than any request, or at the latest when its time-to-live ends,
/// it is dropped, so no partner is ever emailed for a record that does not exist. An organisation retrying with the
/// same Idempotency-Key gets a new link secret and so a new message, and the record it then stores carries the new
/// secret's capability: the dispatcher drops the first message as superseded (its secret opens nothing).
/// </remarks>
public sealed class QueueThenStoreIntake(IReferralQueue queue, IReferralStore store) : IReferralIntake
{
    public async Task<bool> TryCreateAndEnqueueAsync(ReferralRecord record, DispatchMessage message, CancellationToken cancellationToken)
    {
        await queue.EnqueueAsync(message, cancellationToken);
        // False: a concurrent retry with the same Idempotency-Key stored its record first; this message is superseded.
        return await store.TryCreateAsync(record, cancellationToken);
    }

    /// <remarks>
    /// The same order for a resend: a crash between the two leaves a message whose secret does not open the record,
    /// still <c>deliveryFailed</c>, and nothing was answered. The dispatcher reads that as "not stored yet" (the replace
    /// may be on its way) and drops it after the grace period; once the replace lands, the message opens the record.
    /// </remarks>
    public async Task<WriteOutcome> TryReplaceAndEnqueueAsync(ReferralRecord record, string expectedVersion, DispatchMessage message, CancellationToken cancellationToken)
    {
        await queue.EnqueueAsync(message, cancellationToken);
        return await store.TryReplaceAsync(record, expectedVersion, cancellationToken);
    }
}
