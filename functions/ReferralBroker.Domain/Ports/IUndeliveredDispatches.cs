namespace ReferralBroker.Ports;

/// <summary>
/// Dispatch messages the queue gave up on (dead-lettered, or past their time-to-live): each still holds a link
/// secret, so they are destroyed, and their referrals named so that the organisation learns the partner was never told.
/// </summary>
public interface IUndeliveredDispatches
{
    /// <summary>Destroys the expired ones and returns the ids of their referrals.</summary>
    Task<IReadOnlyList<string>> PurgeExpiredAsync(CancellationToken cancellationToken);
}
