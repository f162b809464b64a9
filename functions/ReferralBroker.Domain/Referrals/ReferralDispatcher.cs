using System.Security.Cryptography;
using Microsoft.Extensions.Logging;
using ReferralBroker.Lifecycle;
using ReferralBroker.Ports;
using ReferralBroker.Sealing;
using ReferralBroker.Tokens;

namespace ReferralBroker.Referrals;

public sealed record DispatchSettings(string PublicBaseUrl);

public enum DispatchResult
{
    /// <summary>The partner was emailed by this call.</summary>
    Emailed,
    /// <summary>Nothing to send: already delivered, acted on, withdrawn, expired or purged.</summary>
    AlreadyHandled,
    /// <summary>
    /// No record (yet): intake queues before it stores (<see cref="QueueThenStoreIntake"/>), so the insert may still
    /// be on its way, or it never came because the request failed. Retry later; drop the message once it is older
    /// than any request could take. (With a transactional intake, the embedded one, a missing record was purged and
    /// the message is simply done with.)
    /// </summary>
    NotYetStored,
    /// <summary>
    /// The record exists but this message's link secret does not open it: an earlier attempt of an idempotent
    /// retry, whose record was never stored. Nothing to send with it.
    /// </summary>
    Superseded,
    /// <summary>
    /// The mail provider refused this email for good (<see cref="PermanentDeliveryException"/>): the referral is
    /// marked <c>deliveryFailed</c>, as after the last of its retries, and nothing is left to send.
    /// </summary>
    Undeliverable,
}

/// <summary>
/// Takes a referral off the queue and emails the partner its link. Delivery is at least once, so the referral's
/// own status is the delivery marker: only a referral still "submitted" is emailed.
/// </summary>
public sealed partial class ReferralDispatcher(
    IReferralStore store,
    IMailSender mail,
    INetworkDirectory directory,
    ReferralService referrals,
    DispatchSettings settings,
    ILogger<ReferralDispatcher> logger)
{
    private const int RecordDeliveryAttempts = 4;

    /// <exception cref="TransientDeliveryException">The email could not be sent now; retry the message later.</exception>
    /// <remarks>A refusal for good is not thrown: the referral is marked and <see cref="DispatchResult.Undeliverable"/> returned.</remarks>
    public async Task<DispatchResult> DispatchAsync(DispatchMessage message, CancellationToken ct)
    {
        var found = await store.FindAsync(message.ReferralId, ct);
        if (found is null)
        {
            LogNotYetStored(logger, message.ReferralId);
            return DispatchResult.NotYetStored;
        }

        // Sent again (QueueThenStoreIntake queues before it replaces): a message whose secret does not open a record
        // still marked undeliverable may be the resend whose replace is on its way. Left for later like a record
        // not stored yet, and dropped after the same grace when it never comes.
        if (found.Value is { Status: ReferralStatus.Submitted, DeliveryFailed: true } failed && !OpensRecord(message, failed))
        {
            LogNotYetStored(logger, message.ReferralId);
            return DispatchResult.NotYetStored;
        }

        // A referral marked undeliverable has lost its sealed details: an email now would open nothing.
        if (found.Value is not { Status: ReferralStatus.Submitted, DeliveryFailed: false } referral)
        {
            LogAlreadyHandled(logger, message.ReferralId);
            return DispatchResult.AlreadyHandled;
        }

        if (!OpensRecord(message, referral))
        {
            LogSuperseded(logger, referral.ReferralId);
            return DispatchResult.Superseded;
        }

        var partner = directory.FindPartner(referral.PartnerId)
            ?? throw new InvalidOperationException($"Partner '{referral.PartnerId}' left the directory.");
        try
        {
            await mail.SendAsync(PartnerMail.Compose(partner, referral, settings.PublicBaseUrl, message.LinkSecret), ct);
        }
        catch (PermanentDeliveryException e)
        {
            // Every retry would be refused alike, and the caseworker would learn of it only after the last. Marked
            // here, for both hostings, the way the queue's last attempt marks it (sealed details destroyed, the
            // organisation notified). A store failure while marking propagates: the message is retried, and so
            // never dropped with its referral left "submitted".
            LogRefused(logger, referral.ReferralId, referral.PartnerId, e.GetType().Name);
            await referrals.MarkUndeliverableAsync(referral.ReferralId, ct);
            return DispatchResult.Undeliverable;
        }

        // Whatever happened meanwhile (the partner acted already, the client withdrew) wins over "delivered": the
        // version read before the email is tried first, and a conflict reloads. The email is out: recording that
        // matters more than failing fast, since a redelivery would email again.
        var loaded = found;
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await referrals.TransitionAsync(
                    async () => Interlocked.Exchange(ref loaded, null) ?? await store.FindAsync(referral.ReferralId, ct), ReferralEvent.Deliver, null, ct);
                break;
            }
            catch (Exception e) when (attempt < RecordDeliveryAttempts && e is not OperationCanceledException)
            {
                LogRecordingDeliveryFailed(logger, referral.ReferralId, attempt, e.GetType().Name);
                await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), ct);
            }
        }

        LogEmailed(logger, referral.ReferralId, referral.PartnerId);
        return DispatchResult.Emailed;
    }

    private static bool OpensRecord(DispatchMessage message, ReferralRecord referral)
    {
        if (Base64Url.TryDecode(message.LinkSecret) is not { } secret)
        {
            return false;
        }

        var capability = ReferralSeal.DeriveCapability(secret, referral.ReferralId);
        CryptographicOperations.ZeroMemory(secret);
        var matches = ReferralSeal.CapabilityMatches(Base64Url.Encode(capability), referral.CapabilityHash);
        CryptographicOperations.ZeroMemory(capability);
        return matches;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} is not stored (yet); its message is left for later")]
    private static partial void LogNotYetStored(ILogger logger, string referralId);

    [LoggerMessage(Level = LogLevel.Information, Message = "A superseded message of referral {ReferralId} (an earlier attempt of a retried submission) was dropped")]
    private static partial void LogSuperseded(ILogger logger, string referralId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recording the delivery of referral {ReferralId} failed (attempt {Attempt}, {Error}); trying again")]
    private static partial void LogRecordingDeliveryFailed(ILogger logger, string referralId, int attempt, string error);

    // Debug, not Information: one line per email was a tenth of the process's CPU under submissions (the console
    // logger, dotnet-trace), and a log of which partner got which referral when is a trail the referral's own status
    // already records. Failures stay Warning and Error.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Referral {ReferralId} emailed to partner {PartnerId}")]
    private static partial void LogEmailed(ILogger logger, string referralId, string partnerId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The mail to partner {PartnerId} for referral {ReferralId} was refused for good ({Error}); the referral is marked deliveryFailed for the organisation to send again")]
    private static partial void LogRefused(ILogger logger, string referralId, string partnerId, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} needs no email (already handled or gone)")]
    private static partial void LogAlreadyHandled(ILogger logger, string referralId);
}

/// <summary>The partner's email: a generic subject, the category and the link. Never anything about the client.</summary>
public static class PartnerMail
{
    public const string Subject = "A new referral is waiting for you";

    /// <summary>
    /// The referral's id for its first email; a resend is a new email (a new link), which a sender keying repeats on
    /// the referral alone would refuse, so it is numbered. Never the form of a notification's event id.
    /// </summary>
    public static string DeduplicationKey(string referralId, int sends) => sends > 1 ? $"{referralId}.sent-{sends}" : referralId;

    /// <summary>Whether a mail's deduplication key is one of the partner's emails of this referral (not a notification).</summary>
    public static bool IsPartnerEmail(string deduplicationKey, string referralId) =>
        deduplicationKey == referralId
        || (deduplicationKey.StartsWith(referralId + ".sent-", StringComparison.Ordinal) && deduplicationKey.Length > referralId.Length + 6
            && deduplicationKey[(referralId.Length + 6)..].All(char.IsAsciiDigit));

    public static string Link(string publicBaseUrl, string referralId, string linkSecret) =>
        $"{publicBaseUrl.TrimEnd('/')}/partner/{referralId}#{linkSecret}";

    public static OutgoingMail Compose(Partner partner, ReferralRecord referral, string publicBaseUrl, string linkSecret)
    {
        var link = Link(publicBaseUrl, referral.ReferralId, linkSecret);
        var category = WireNames.Of(referral.Category);
        var expires = referral.ExpiresAt.UtcDateTime.ToString("d MMMM yyyy");
        var text = $"""
            Hello {partner.Name},

            A {category} referral has been sent to you through ReferralBroker.
            Open it to read it and to accept or decline it:

            {link}

            The link is the only key to this referral: please do not forward this email.
            If nobody accepts it, the referral expires on {expires}.
            """;
        var html = $"""
            <p>Hello {System.Net.WebUtility.HtmlEncode(partner.Name)},</p>
            <p>A {category} referral has been sent to you through ReferralBroker.
            Open it to read it and to accept or decline it:</p>
            <p><a href="{System.Net.WebUtility.HtmlEncode(link)}">Open the referral</a></p>
            <p>The link is the only key to this referral: please do not forward this email.
            If nobody accepts it, the referral expires on {expires}.</p>
            """;
        return new OutgoingMail(partner.Email, Subject, text, html, referral.ReferralId)
        {
            DeduplicationKey = DeduplicationKey(referral.ReferralId, Transitions.Sends(referral)),
        };
    }
}
