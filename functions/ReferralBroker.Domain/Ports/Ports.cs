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

    /// <summary>
    /// What this hash opens: the record whose <see cref="ReferralRecord.TokenHash"/> it is, or only the id of the
    /// referral whose <see cref="ReferralRecord.DuressTokenHash"/> it is, told apart by the token's index alone so that a
    /// duress lookup does the work of a miss (no record read, nothing decoded); null when it opens nothing.
    /// </summary>
    Task<TokenMatch?> FindByTokenHashAsync(string tokenHash, CancellationToken cancellationToken);

    /// <summary>Replaces the record only if it is still at <paramref name="expectedVersion"/>.</summary>
    Task<WriteOutcome> TryReplaceAsync(ReferralRecord record, string expectedVersion, CancellationToken cancellationToken);

    /// <summary>Deletes the record (and any index of it) only if it is still at the given version.</summary>
    Task<WriteOutcome> TryDeleteAsync(string referralId, string expectedVersion, CancellationToken cancellationToken);

    /// <summary>
    /// Records the sweep must look at: open ones whose consent has run out, ones whose sealed referral is due
    /// for deletion, and ones due to be purged.
    /// </summary>
    IAsyncEnumerable<Versioned<ReferralRecord>> FindDueAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>Records with a pending notification whose next attempt is due at <paramref name="now"/>.</summary>
    IAsyncEnumerable<Versioned<ReferralRecord>> FindNotificationsDueAsync(DateTimeOffset now, CancellationToken cancellationToken);

    /// <summary>One page of one organisation's referrals, newest first; never another organisation's.</summary>
    Task<ReferralPage> ListAsync(ReferralQuery query, CancellationToken cancellationToken);
}

/// <summary>What a token hash opens (see <see cref="IReferralStore.FindByTokenHashAsync"/>).</summary>
public abstract record TokenMatch
{
    /// <summary>The client's own token: her record.</summary>
    public sealed record Client(Versioned<ReferralRecord> Found) : TokenMatch;

    /// <summary>A duress token: which referral, and nothing of its record.</summary>
    public sealed record Duress(string ReferralId) : TokenMatch;
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
/// transaction must; otherwise the message is queued first (<see cref="Referrals.QueueThenStoreIntake"/>).
/// </summary>
public interface IReferralIntake
{
    /// <summary>False when a record with that id already exists; nothing is queued then.</summary>
    Task<bool> TryCreateAndEnqueueAsync(ReferralRecord record, DispatchMessage message, CancellationToken cancellationToken);

    /// <summary>
    /// A referral sent again (<see cref="Referrals.ReferralService.ResendAsync"/>): replaces the record if it is still at
    /// <paramref name="expectedVersion"/> and queues its new message, with the same guarantee as a new referral (both
    /// in one transaction, or the message first). Nothing is written but the message when the answer is not Written.
    /// </summary>
    Task<WriteOutcome> TryReplaceAndEnqueueAsync(ReferralRecord record, string expectedVersion, DispatchMessage message, CancellationToken cancellationToken);
}

/// <summary>An email with no client data: a generic subject, the category and the partner's link.</summary>
public sealed record OutgoingMail(string To, string Subject, string TextBody, string HtmlBody, string ReferralId)
{
    /// <summary>
    /// Sending is at least once; a sender that can refuse a repeat keys it on this: the referral for the partner's
    /// one email, the event for each notification to the organisation (several per referral).
    /// </summary>
    public string DeduplicationKey { get; init; } = ReferralId;
}

public interface IMailSender
{
    /// <exception cref="TransientDeliveryException">Not sent now (the provider is down, busy or misconfigured): retry later.</exception>
    /// <exception cref="PermanentDeliveryException">Refused for good (this recipient or this message): sending it again changes nothing.</exception>
    Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken);
}

/// <summary>
/// A webhook request to sign and send (Standard Webhooks): <paramref name="EventId"/> is the <c>webhook-id</c>, the same
/// on every retry; <paramref name="Secrets"/> are the organisation's <c>whsec_</c> secrets, newest first (two during a
/// rotation's overlap), one signature each; the sender signs with the time of each attempt.
/// </summary>
public sealed record WebhookDelivery(Uri Url, byte[] Body, string EventId, IReadOnlyList<string> Secrets);

public interface IWebhookSender
{
    /// <exception cref="TransientDeliveryException">Not accepted now (no 2xx, a redirect, a timeout): retry later.</exception>
    Task SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken);
}

/// <summary>A transient failure of an external service: the message should be retried later.</summary>
public sealed class TransientDeliveryException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>
    /// The destination did not take the connection or did not answer in time: the deliverer sends it nothing more
    /// for a while, so one dead receiver does not cost a timeout per notification.
    /// </summary>
    public bool Unreachable { get; init; }
}

/// <summary>
/// A refusal for good of this one delivery: the provider will never take this recipient or this message (an SMTP 5xx
/// to the recipient, SendGrid's 400), so the dispatcher marks the referral <c>deliveryFailed</c> at once instead of
/// retrying it for Broker:Queue:MaxDeliveryCount attempts. Not for what a fixed setting or time cures (a refused
/// password or sender, throttling): that is a <see cref="TransientDeliveryException"/>, since marking destroys the
/// sealed details for good. The message says what kind of refusal (a status code) and is logged: it never holds the
/// address nor anything of the provider's reply text.
/// </summary>
public class PermanentDeliveryException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// The network's directory: organisations (with their key hashes and notification settings), partners, and
/// organisations' flags on partners. Implementations: SQLite (embedded), Table Storage (Azure). Small and rarely
/// written, so the broker reads it whole into memory and serves lookups from there.
/// </summary>
public interface IDirectoryStore
{
    Task<DirectoryContents> LoadAsync(CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the organisation by id.</summary>
    Task SaveOrganisationAsync(OrganisationAccount account, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the partner by id.</summary>
    Task SavePartnerAsync(Partner partner, CancellationToken cancellationToken);

    /// <summary>Records the organisation's flag (one per organisation and partner; a new one replaces the old).</summary>
    Task AddFlagAsync(PartnerFlag flag, CancellationToken cancellationToken);

    Task<IReadOnlyList<PartnerFlag>> FlagsAsync(string partnerId, CancellationToken cancellationToken);

    Task ClearFlagsAsync(string partnerId, CancellationToken cancellationToken);

    /// <summary>Every organisation's flags on every partner: the coordinator's review list.</summary>
    Task<IReadOnlyList<PartnerFlag>> AllFlagsAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Removes the partner and its flags, and remembers its id among <see cref="DirectoryContents.RemovedPartnerIds"/>
    /// so that configuration does not seed it again; removing one that is not there changes nothing.
    /// </summary>
    Task DeletePartnerAsync(string partnerId, CancellationToken cancellationToken);

    /// <summary>Inserts or replaces the staff member's credential by id (its last use is written apart, below).</summary>
    Task SaveStaffAsync(StaffCredential credential, CancellationToken cancellationToken);

    /// <summary>Deletes the credential, its key hash with it; nothing when there is none.</summary>
    Task DeleteStaffAsync(string staffId, CancellationToken cancellationToken);

    /// <summary>
    /// Sets the credential's last use to <paramref name="day"/>, only if it still exists: a use recorded just after
    /// a revocation must never bring the revoked key back.
    /// </summary>
    Task RecordStaffUseAsync(string staffId, DateTimeOffset day, CancellationToken cancellationToken);
}

/// <summary>What one drain of a dispatch subscription did. Counts only: never a message body.</summary>
public sealed record DrainReport(int Received, int Completed, int Abandoned, int DeadLettered)
{
    public static readonly DrainReport Empty = new(0, 0, 0, 0);
}

/// <summary>
/// The receiving side of the dispatch queue where messages wait in a broker (Service Bus subscriptions, one per
/// category): the hosting drains a subscription on a timer, bounded in messages and time, in peek-lock. Each
/// message is dispatched by <see cref="Referrals.ReferralDispatcher"/>; it is completed once the partner's email is
/// out (or nothing is left to send), and abandoned on a failure so that the broker redelivers it and, after its
/// max delivery count, dead-letters it.
/// </summary>
public interface IDispatchInbox
{
    /// <summary>Every subscription a dispatch message can land in.</summary>
    IReadOnlyList<string> Subscriptions { get; }

    Task<DrainReport> DrainAsync(string subscription, CancellationToken cancellationToken);
}
