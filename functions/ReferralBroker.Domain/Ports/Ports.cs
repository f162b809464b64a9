using ReferralBroker.Referrals;

namespace ReferralBroker.Ports;

public enum WriteOutcome
{
    Written,
    /// <summary>Someone else wrote first: the caller reloads and decides again.</summary>
    Conflict,
    NotFound,
}

/// <summary>The status records. Implementations: SQLite (embedded), Table Storage (Azure).</summary>
public interface IReferralStore
{
    /// <summary>Inserts a new record; false when a record with that id already exists.</summary>
    Task<bool> TryCreateAsync(ReferralRecord record, CancellationToken cancellationToken);

    Task<Versioned<ReferralRecord>?> FindAsync(string referralId, CancellationToken cancellationToken);

    Task<Versioned<ReferralRecord>?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken);

    /// <summary>Replaces the record only if it is still at <paramref name="expectedVersion"/>.</summary>
    Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken cancellationToken);

    /// <summary>Deletes the record (and any index of it) only if it is still at the given version.</summary>
    Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Records the sweep must look at: open ones whose consent has run out, ones whose sealed referral is due
    /// for deletion, and ones due to be purged.
    /// </summary>
    IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>
/// An organisation's Idempotency-Key, remembered for a short window. The key and the request body appear only
/// as pepper-keyed hashes, and the status token only sealed under a key derived from key and body, so the
/// record is useless without the original request.
/// </summary>
public sealed record IdempotencyRecord(
    string KeyHash,
    string BodyFingerprint,
    string ReferralId,
    string SealedResponse,
    DateTimeOffset ExpiresAt);

public interface IIdempotencyStore
{
    /// <summary>Stores the record unless one exists for its key; returns the one that is stored now.</summary>
    Task<IdempotencyRecord> GetOrAddAsync(IdempotencyRecord record, CancellationToken cancellationToken);

    Task<int> PurgeExpiredAsync(DateTimeOffset now, CancellationToken cancellationToken);
}

/// <summary>
/// The message that carries a new referral to the dispatcher. It holds the link secret, the one thing that can
/// open the sealed referral, so it must be short-lived and is never logged.
/// </summary>
public sealed record DispatchMessage(string MessageId, string ReferralId, string PartnerId, string Category, string LinkSecret);

public interface IReferralQueue
{
    Task EnqueueAsync(DispatchMessage message, CancellationToken cancellationToken);
}

/// <summary>
/// Stores a new referral and queues its dispatch message. A referral acknowledged with 201 but never queued would
/// be lost in silence (nobody but the message holds the link secret), so an adapter that can do both in one
/// transaction must; otherwise the record is written first and the service marks it when queueing fails.
/// </summary>
public interface IReferralIntake
{
    /// <summary>False when a record with that id already exists; nothing is queued then.</summary>
    Task<bool> TryCreateAndEnqueueAsync(ReferralRecord record, DispatchMessage message, CancellationToken cancellationToken);
}

/// <summary>An email with no client data: a generic subject, the category and the partner's link.</summary>
public sealed record OutgoingMail(string To, string Subject, string TextBody, string HtmlBody, string ReferralId);

public interface IMailSender
{
    Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken);
}

/// <summary>A transient failure of an external service: the message should be retried later.</summary>
public sealed class TransientDeliveryException(string message, Exception? inner = null) : Exception(message, inner);
