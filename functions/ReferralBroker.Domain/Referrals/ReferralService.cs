using System.Security.Cryptography;
using System.Text;
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
                Notifications = Notify(current.Value, ClosedLoop.DeliveryFailedEvent, now),
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

    private IReadOnlyList<PendingNotification> Notify(ReferralRecord record, string @event, DateTimeOffset now) =>
        HearsOfChanges(record.OrganisationId) ? [.. record.Notifications, ClosedLoop.For(record.ReferralId, @event, now)] : record.Notifications;

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
    /// The record the client's own token opens. A duress token opens nothing: it answers exactly as an unknown
    /// token does, and only afterwards, off the request's path so that the answer takes no longer, is the
    /// organisation's flag set.
    /// </summary>
    private async Task<Versioned<ReferralRecord>?> FindByTokenAsync(string? typedToken, CancellationToken ct)
    {
        if (StatusToken.Normalise(typedToken) is not { } canonical)
        {
            return null;
        }

        var hash = pepper.HashToken(canonical);
        var found = await store.FindByTokenHashAsync(hash, ct);
        if (found is not null && found.Value.DuressTokenHash == hash)
        {
            _ = Task.Run(() => RecordDuressAsync(found.Value.ReferralId), CancellationToken.None);
            return null;
        }

        return found;
    }

    /// <summary>Marks the referral once, at the first use, and tells the organisation as it is told of a status change.</summary>
    internal async Task RecordDuressAsync(string referralId)
    {
        try
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
        }
        catch (Exception e)
        {
            LogDuressNotRecorded(logger, referralId, e.GetType().Name);
        }
    }

    private static SubmitOutcome.Created Created(ReferralRecord record, string token, string? duressToken) =>
        new SubmitOutcome.Created(new SubmittedReferral(record.ReferralId, token, record.Status, record.ExpiresAt, duressToken));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId}: its duress token was used; the organisation is told")]
    private static partial void LogDuress(ILogger logger, string referralId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Referral {ReferralId}: the duress token was used but could not be recorded ({Error})")]
    private static partial void LogDuressNotRecorded(ILogger logger, string referralId, string error);

    private static string NewReferralId() =>
        "ref_" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    private static string SealToken(byte[] key, string token) => ReferralSeal.SealText(key, token, "");

    private static string OpenToken(byte[] key, string sealedToken) => ReferralSeal.OpenText(key, sealedToken, "");
}
