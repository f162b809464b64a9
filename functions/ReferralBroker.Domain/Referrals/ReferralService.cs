using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using ReferralBroker.Intake;
using ReferralBroker.Lifecycle;
using ReferralBroker.Ports;
using ReferralBroker.Sealing;
using ReferralBroker.Tokens;

namespace ReferralBroker.Referrals;

/// <param name="DuressToken">The second, "safe" token when one was asked for: it looks unknown wherever it is used.</param>
public sealed record SubmittedReferral(string ReferralId, string StatusToken, ReferralStatus Status, DateTimeOffset ExpiresAt, string? DuressToken = null);

public abstract record SubmitOutcome
{
    public sealed record Created(SubmittedReferral Referral) : SubmitOutcome;
    public sealed record Invalid(Dictionary<string, string[]> Errors) : SubmitOutcome;
    public sealed record IdempotencyKeyReused : SubmitOutcome;
}

public abstract record ResendOutcome
{
    public sealed record Sent(ReferralRecord Referral) : ResendOutcome;
    public sealed record NotFound : ResendOutcome;
    /// <summary>Not marked deliveryFailed (on its way, delivered, or acted on): nothing to send again.</summary>
    public sealed record NotAllowed(ReferralStatus Current) : ResendOutcome;
    public sealed record Invalid(Dictionary<string, string[]> Errors) : ResendOutcome;
}

public abstract record ActionOutcome
{
    public sealed record Done(ReferralRecord Referral) : ActionOutcome;
    public sealed record NotFound : ActionOutcome;
    public sealed record NotAllowed(ReferralStatus Current) : ActionOutcome;
}

/// <summary>The referral use cases for organisations, partners and clients.</summary>
public sealed partial class ReferralService(
    IReferralStore store,
    IIdempotencyStore idempotency,
    IReferralIntake intake,
    INetworkDirectory directory,
    Pepper pepper,
    RetentionPolicy retention,
    TimeProvider time,
    ILogger<ReferralService> logger)
{
    private const int MaxConcurrencyRetries = 5;
    private static readonly TimeSpan FirstDuressRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan LastDuressRetry = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Duress uses answered and not yet recorded: the lookup hands the referral id over and answers at once, so that
    /// recording (a read, a write, the notification) never delays its 404. See <see cref="RecordDuressUsesAsync"/>.
    /// </summary>
    private readonly Channel<string> _duressUses = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });

    public async Task<SubmitOutcome> SubmitAsync(
        Organisation organisation, ReferralSubmission submission, string? idempotencyKey, byte[] body, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var errors = ConsentRules.Check(submission, directory, now, retention, out var expiresAt);
        if (errors.Count > 0)
        {
            return new SubmitOutcome.Invalid(errors);
        }

        var referralId = NewReferralId();
        var token = StatusToken.Generate();
        var duressToken = submission.WantsDuressToken ? StatusToken.Generate() : null;
        if (idempotencyKey is not null)
        {
            var keyHash = pepper.Hash("idempotency-key", $"{organisation.Id}\n{idempotencyKey}");
            var fingerprint = Base64Url.Encode(pepper.DeriveKey("idempotency-body", body));
            var responseKey = pepper.DeriveKey("idempotency-response", Encoding.UTF8.GetBytes(idempotencyKey).Concat(body).ToArray());
            var stored = await idempotency.GetOrAddAsync(
                new IdempotencyRecord(keyHash, fingerprint, referralId, SealToken(responseKey, duressToken is null ? token : $"{token}\n{duressToken}"),
                    now + retention.IdempotencyWindow), ct);
            if (!CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(stored.BodyFingerprint), Encoding.ASCII.GetBytes(fingerprint)))
            {
                return new SubmitOutcome.IdempotencyKeyReused();
            }

            referralId = stored.ReferralId;
            var tokens = OpenToken(responseKey, stored.SealedResponse).Split('\n');
            (token, duressToken) = (tokens[0], tokens.Length > 1 ? tokens[1] : null);
            if (await store.FindAsync(referralId, ct) is { } existing)
            {
                return Created(existing.Value, token, duressToken);
            }
        }

        var canonicalToken = StatusToken.Normalise(token)!;
        var seal = ReferralSeal.Seal(referralId, submission.ClientJson);
        var record = new ReferralRecord
        {
            ReferralId = referralId,
            OrganisationId = organisation.Id,
            PartnerId = submission.PartnerId!,
            Category = submission.Category!.Value,
            ConsentObtainedBy = submission.Consent!.ObtainedBy!.Value,
            Status = ReferralStatus.Submitted,
            CreatedAt = now,
            UpdatedAt = now,
            ExpiresAt = expiresAt,
            TokenHash = pepper.HashToken(canonicalToken),
            CapabilityHash = seal.CapabilityHash,
            History = [new StatusChange(ReferralStatus.Submitted, now)],
            DuressTokenHash = duressToken is null ? null : pepper.HashToken(StatusToken.Normalise(duressToken)!),
            Sealed = seal.Sealed,
            PurgeAt = retention.PurgeAt(ReferralStatus.Submitted, now, expiresAt, now),
        };

        var message = new DispatchMessage(referralId, referralId, record.PartnerId, WireNames.Of(record.Category), Base64Url.Encode(seal.LinkSecret));
        CryptographicOperations.ZeroMemory(seal.LinkSecret);
        // Any failure here is a 500 with nothing acknowledged; a retry with the same Idempotency-Key starts again.
        var created = await intake.TryCreateAndEnqueueAsync(record, message, ct);

        if (!created)
        {
            // A concurrent retry with the same Idempotency-Key created it first and notifies the partner.
            var winner = await store.FindAsync(referralId, ct);
            return Created(winner?.Value ?? record, token, duressToken);
        }

        return Created(record, token, duressToken);
    }

    /// <summary>
    /// Sends a referral marked deliveryFailed again: the caseworker typed the client's details again with her, so they
    /// are sealed under a new link secret and the partner gets a new email, as for a new referral (the same intake
    /// guarantee: the record and its message both, or the message alone and no answer). The id, the client's token
    /// (her card stays valid), the duress token and the history are kept.
    /// </summary>
    /// <param name="submission">The client and consent only; category and partner are the referral's own.</param>
    public async Task<ResendOutcome> ResendAsync(Organisation organisation, string referralId, ReferralSubmission submission, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxConcurrencyRetries; attempt++)
        {
            if (await store.FindAsync(referralId, ct) is not { } current || current.Value.OrganisationId != organisation.Id)
            {
                return new ResendOutcome.NotFound();
            }

            if (!ReferralLifecycle.MayResend(current.Value.Status, current.Value.DeliveryFailed))
            {
                return new ResendOutcome.NotAllowed(current.Value.Status);
            }

            var now = time.GetUtcNow();
            var errors = ConsentRules.Check(submission with { Category = current.Value.Category, PartnerId = current.Value.PartnerId },
                directory, now, retention, out var expiresAt);
            if (errors.Count > 0)
            {
                return new ResendOutcome.Invalid(errors);
            }

            // The new consent ends by the record's outer limit at the latest (README "What is kept"): sent again and
            // again, a referral would otherwise keep its details and record for as long as consents were renewed.
            var outerLimit = current.Value.CreatedAt + retention.MaxRecordAge;
            expiresAt = expiresAt < outerLimit ? expiresAt : outerLimit;
            var seal = ReferralSeal.Seal(referralId, submission.ClientJson);
            var next = Transitions.Resend(current.Value, seal.Sealed, seal.CapabilityHash, submission.Consent!.ObtainedBy!.Value, expiresAt, now, retention)!;
            // The referral's id as the message's, as for the first send: the queue's last attempt marks by it.
            var message = new DispatchMessage(referralId, referralId, next.PartnerId, WireNames.Of(next.Category), Base64Url.Encode(seal.LinkSecret));
            CryptographicOperations.ZeroMemory(seal.LinkSecret);
            switch (await intake.TryReplaceAndEnqueueAsync(next, current.Version, message, ct))
            {
                case WriteOutcome.Written:
                    LogResent(logger, referralId);
                    return new ResendOutcome.Sent(next);
                case WriteOutcome.NotFound:
                    return new ResendOutcome.NotFound();
            }

            // Changed meanwhile (a duress use, a withdrawal): decided again on what is stored now. A message queued
            // for the lost attempt carries a secret that opens nothing, and is dropped by the dispatcher.
        }

        throw new InvalidOperationException("The referral kept changing under the resend; giving up.");
    }

    public async Task<ReferralRecord?> FindForOrganisationAsync(string organisationId, string referralId, CancellationToken ct)
    {
        var found = await store.FindAsync(referralId, ct);
        return found?.Value.OrganisationId == organisationId ? found.Value : null;
    }

    public Task<ReferralPage> ListForOrganisationAsync(ReferralQuery query, CancellationToken ct) => store.ListAsync(query, ct);

    public async Task<ReferralRecord?> FindForPartnerAsync(string referralId, string? capability, CancellationToken ct)
    {
        var found = await store.FindAsync(referralId, ct);
        return found is not null && ReferralSeal.CapabilityMatches(capability, found.Value.CapabilityHash) ? found.Value : null;
    }

    public Task<ActionOutcome> PartnerActAsync(
        string referralId, string? capability, ReferralEvent @event, DeclineReason? reason, CancellationToken ct) =>
        TransitionAsync(
            async () => await store.FindAsync(referralId, ct) is { } found
                && ReferralSeal.CapabilityMatches(capability, found.Value.CapabilityHash) ? found : null,
            @event, reason, ct);

    public async Task<ReferralRecord?> FindForClientAsync(string? typedToken, CancellationToken ct) =>
        (await FindByTokenAsync(typedToken, ct))?.Value;

    public async Task<ActionOutcome> WithdrawAsync(string? typedToken, CancellationToken ct)
    {
        var outcome = await TransitionAsync(() => FindByTokenAsync(typedToken, ct), ReferralEvent.Withdraw, null, ct);
        // Withdrawing twice is the same wish said twice: answer it the same way.
        return outcome is ActionOutcome.NotAllowed { Current: ReferralStatus.Withdrawn }
            && await FindForClientAsync(typedToken, ct) is { } already
            ? new ActionOutcome.Done(already)
            : outcome;
    }

    /// <summary>
    /// Records that the partner can never be emailed about this referral. Nobody can open its sealed details
    /// any more, so they are destroyed now rather than kept until consent ends.
    /// </summary>
    public async Task<bool> MarkUndeliverableAsync(string referralId, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxConcurrencyRetries; attempt++)
        {
            if (await store.FindAsync(referralId, ct) is not { Value.Status: ReferralStatus.Submitted } current)
            {
                return false;
            }

            var now = time.GetUtcNow();
            var failed = current.Value with
            {
                DeliveryFailed = true,
                Sealed = null,
                SealedDeleteAt = null,
                UpdatedAt = now,
                Notifications = Notify(current.Value, ClosedLoop.DeliveryFailedEvent, now, Transitions.Sends(current.Value)),
            };
            if (await store.TryReplaceAsync(failed, current.Version, ct) != WriteOutcome.Conflict)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// An organisation with neither an email nor a webhook for notifications is owed none: recording one anyway
    /// would cost every referral of it a second write and keep the notification worker reading them.
    /// </summary>
    private bool HearsOfChanges(string organisationId) =>
        directory.FindOrganisation(organisationId)?.Notifications is { Email: not null } or { WebhookUrl: not null };

    private IReadOnlyList<PendingNotification> Notify(ReferralRecord record, string @event, DateTimeOffset now, int occurrence = 1) =>
        HearsOfChanges(record.OrganisationId) ? [.. record.Notifications, ClosedLoop.For(record.ReferralId, @event, now, occurrence)] : record.Notifications;

    /// <summary>Loads, applies the event and writes back, reloading when another writer got there first.</summary>
    internal async Task<ActionOutcome> TransitionAsync(
        Func<Task<Versioned<ReferralRecord>?>> load, ReferralEvent @event, DeclineReason? reason, CancellationToken ct)
    {
        for (var attempt = 0; attempt < MaxConcurrencyRetries; attempt++)
        {
            if (await load() is not { } current)
            {
                return new ActionOutcome.NotFound();
            }

            if (Transitions.Apply(current.Value, @event, time.GetUtcNow(), retention, reason, HearsOfChanges(current.Value.OrganisationId)) is not { } next)
            {
                return new ActionOutcome.NotAllowed(current.Value.Status);
            }

            switch (await store.TryReplaceAsync(next, current.Version, ct))
            {
                case WriteOutcome.Written:
                    return new ActionOutcome.Done(next);
                case WriteOutcome.NotFound:
                    return new ActionOutcome.NotFound();
            }
        }

        throw new InvalidOperationException("The referral kept changing under this update; giving up.");
    }

    /// <summary>
    /// The record the client's own token opens. A duress token opens nothing: the store tells it from a client's
    /// token by its index alone, so it answers as an unknown token does after the same work, and the organisation's
    /// flag is set afterwards, off the request's path.
    /// </summary>
    private async Task<Versioned<ReferralRecord>?> FindByTokenAsync(string? typedToken, CancellationToken ct)
    {
        if (StatusToken.Normalise(typedToken) is not { } canonical)
        {
            return null;
        }

        switch (await store.FindByTokenHashAsync(pepper.HashToken(canonical), ct))
        {
            case TokenMatch.Client { Found: var found }:
                return found;
            case TokenMatch.Duress { ReferralId: var referralId }:
                _duressUses.Writer.TryWrite(referralId);
                return null;
            default:
                return null;
        }
    }

    /// <summary>
    /// Records each duress use handed over by a lookup until <see cref="CompleteDuressUses"/>, then what is left.
    /// The alert is durable once written: <c>duressUsedAt</c> and the pending notification are in the record, which
    /// the notification deliverer retries until the organisation has it. Until then it is held here and a failed write
    /// is tried again (1 s, doubling to 1 min), so an outage of the store delays it and loses nothing; a stop drains
    /// it. Only a process killed outright in the moment between the answer and the write loses that one use.
    /// </summary>
    /// <param name="giveUp">Cancelled when the host will wait no longer: what is still unwritten is logged as lost.</param>
    public async Task RecordDuressUsesAsync(CancellationToken giveUp)
    {
        // Marked once, at the first use: later uses of a referral recorded here need no read at all.
        var recorded = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var referralId in _duressUses.Reader.ReadAllAsync(CancellationToken.None))
        {
            if (recorded.Contains(referralId))
            {
                continue;
            }

            for (var wait = FirstDuressRetry; ; wait = wait * 2 < LastDuressRetry ? wait * 2 : LastDuressRetry)
            {
                try
                {
                    await RecordDuressAsync(referralId);
                    recorded.Add(referralId);
                    break;
                }
                catch (Exception e) when (!giveUp.IsCancellationRequested)
                {
                    LogDuressRetried(logger, referralId, e.GetType().Name);
                }
                catch (Exception e)
                {
                    LogDuressNotRecorded(logger, referralId, e.GetType().Name);
                    break;
                }

                try
                {
                    await Task.Delay(wait, time, giveUp);
                }
                catch (OperationCanceledException)
                {
                    // One last attempt, then the loss is logged.
                }
            }
        }
    }

    /// <summary>No more lookups will come: <see cref="RecordDuressUsesAsync"/> records what it holds and returns.</summary>
    public void CompleteDuressUses() => _duressUses.Writer.TryComplete();

    /// <summary>Marks the referral once, at the first use, and tells the organisation as it is told of a status change.</summary>
    internal async Task RecordDuressAsync(string referralId)
    {
        for (var attempt = 0; attempt < MaxConcurrencyRetries; attempt++)
        {
            if (await store.FindAsync(referralId, CancellationToken.None) is not { Value.DuressUsedAt: null } current)
            {
                return;
            }

            var now = time.GetUtcNow();
            var flagged = current.Value with
            {
                DuressUsedAt = now,
                Notifications = Notify(current.Value, ClosedLoop.DuressEvent, now),
            };
            if (await store.TryReplaceAsync(flagged, current.Version, CancellationToken.None) != WriteOutcome.Conflict)
            {
                LogDuress(logger, referralId);
                return;
            }
        }

        throw new InvalidOperationException("The referral kept changing under the duress flag; trying again later.");
    }

    private static SubmitOutcome.Created Created(ReferralRecord record, string token, string? duressToken) =>
        new SubmitOutcome.Created(new SubmittedReferral(record.ReferralId, token, record.Status, record.ExpiresAt, duressToken));

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} was sent again after its delivery failed")]
    private static partial void LogResent(ILogger logger, string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: its duress token was used; the organisation is told")]
    private static partial void LogDuress(ILogger logger, string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: the duress token was used and could not be recorded yet ({Error}); trying again")]
    private static partial void LogDuressRetried(ILogger logger, string referralId, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Referral {ReferralId}: the duress token was used but could not be recorded before the broker stopped ({Error})")]
    private static partial void LogDuressNotRecorded(ILogger logger, string referralId, string error);

    private static string NewReferralId() =>
        "ref_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static string SealToken(byte[] key, string token) => ReferralSeal.SealText(key, token, "");

    private static string OpenToken(byte[] key, string sealedToken) => ReferralSeal.OpenText(key, sealedToken, "");
}
