using System.Globalization;
using System.Text.Json;
using ReferralBroker.Lifecycle;
using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>
/// One status change the organisation is still owed. <paramref name="EventId"/> is stable across retries so that
/// a receiver can drop duplicates; each channel is marked once it succeeded, so only the failed one is retried.
/// </summary>
public sealed record PendingNotification(
    string EventId,
    string Event,
    DateTimeOffset At,
    bool EmailSent,
    bool WebhookSent,
    int Attempts,
    DateTimeOffset NextAttemptAt);

/// <summary>How hard the broker tries before giving up on a notification.</summary>
public sealed record NotificationPolicy
{
    public int MaxAttempts { get; init; } = 15;
    public TimeSpan FirstRetry { get; init; } = TimeSpan.FromSeconds(30);
    public TimeSpan MaxRetry { get; init; } = TimeSpan.FromHours(6);
    /// <summary>Only for development and tests: webhooks to a loopback address (plain http allowed there).</summary>
    public bool AllowLoopbackHttpWebhooks { get; init; }
    /// <summary>Organisations served at once; one organisation's notifications go out one after another.</summary>
    public int MaxConcurrentDeliveries { get; init; } = 8;
    /// <summary>How long a webhook may take to accept the connection; short, so an address that drops packets costs little.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(3);
    /// <summary>How long a connected webhook may take to answer.</summary>
    public TimeSpan ResponseTimeout { get; init; } = TimeSpan.FromSeconds(10);
    /// <summary>After this long a pass starts no new delivery: what is left waits for the next pass (no attempt is counted).</summary>
    public TimeSpan PassBudget { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>
    /// How long a replaced webhook secret keeps signing next to the new one (both signatures on every delivery), so
    /// the organisation's receiver can switch at any moment of it; zero switches at once. Then the old one is erased.
    /// </summary>
    public TimeSpan WebhookSecretOverlap { get; init; } = TimeSpan.FromHours(24);

    /// <summary>Exponential back-off: FirstRetry, then doubling, never longer than MaxRetry.</summary>
    public TimeSpan RetryAfter(int attempts) =>
        TimeSpan.FromTicks((long)Math.Min(MaxRetry.Ticks, FirstRetry.Ticks * Math.Pow(2, Math.Max(0, attempts - 1))));
}

/// <summary>
/// What the organisation is told, and how: the event names, the email and the webhook body (signed per Standard Webhooks
/// by the <see cref="IWebhookSender"/>, the event id as its <c>webhook-id</c>).
/// </summary>
public static class ClosedLoop
{
    /// <summary>Not a status: the partner could never be emailed (see <see cref="ReferralRecord.DeliveryFailed"/>).</summary>
    public const string DeliveryFailedEvent = "delivery-failed";

    /// <summary>Not a status: the client's duress token was used (see <see cref="ReferralRecord.DuressUsedAt"/>).</summary>
    public const string DuressEvent = "duress-token-used";

    public const string EmailSubject = "A referral you sent has changed status";

    /// <summary>
    /// Each status happens at most once per referral (the lifecycle's one loop, a resend, is not notified), so this is
    /// unique; a delivery failure can recur after a resend and is numbered from its second occurrence.
    /// </summary>
    public static string EventId(string referralId, string @event, int occurrence = 1) =>
        occurrence > 1 ? $"{referralId}.{@event}.{occurrence}" : $"{referralId}.{@event}";

    public static PendingNotification For(string referralId, string @event, DateTimeOffset at, int occurrence = 1) =>
        new(EventId(referralId, @event, occurrence), @event, at, EmailSent: false, WebhookSent: false, Attempts: 0, NextAttemptAt: at);

    public static PendingNotification For(string referralId, ReferralStatus status, DateTimeOffset at) =>
        For(referralId, WireNames.Of(status), at);

    /// <summary>The referral id, the new status and its time: nothing about the client, the partner or the category.</summary>
    public static OutgoingMail Email(string to, string referralId, PendingNotification notification)
    {
        var at = notification.At.UtcDateTime.ToString("yyyy-MM-dd HH:mm 'UTC'", CultureInfo.InvariantCulture);
        var text = $"""
            Referral {referralId} is now: {notification.Event}
            Since: {at}

            Your organisation's API shows the referral's history: GET /api/referrals/{referralId}
            """;
        var html = $"""
            <p>Referral <code>{referralId}</code> is now: <strong>{notification.Event}</strong></p>
            <p>Since: {at}</p>
            <p>Your organisation's API shows the referral's history: <code>GET /api/referrals/{referralId}</code></p>
            """;
        return new OutgoingMail(to, EmailSubject, text, html, referralId) { DeduplicationKey = notification.EventId };
    }

    /// <summary>The webhook body: {"eventId","referralId","status","at"}, UTF-8 JSON.</summary>
    public static byte[] WebhookBody(string referralId, PendingNotification notification)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("eventId", notification.EventId);
            json.WriteString("referralId", referralId);
            json.WriteString("status", notification.Event);
            json.WriteString("at", notification.At.UtcDateTime);
            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>
    /// https only, to a public host; loopback (plain http or https) only when allowed (development, tests). The
    /// host rule is <see cref="WebhookAddresses.HostProblem"/>: names are checked again, resolved, at connect time.
    /// </summary>
    public static bool IsAcceptableWebhookUrl(Uri? url, bool allowLoopbackHttp) => WebhookUrlProblem(url, allowLoopbackHttp) is null;

    /// <summary>Why the URL is refused as a webhook, in words fit for a 422 or a start-up failure; null when it is fine.</summary>
    public static string? WebhookUrlProblem(Uri? url, bool allowLoopbackHttp)
    {
        if (url is not { IsAbsoluteUri: true, UserInfo: "", Fragment: "" } || url.Scheme is not ("https" or "http"))
        {
            return "An absolute https URL without credentials or fragment.";
        }

        if (url.Scheme == Uri.UriSchemeHttp && !(allowLoopbackHttp && url.IsLoopback))
        {
            return "Must be https (plain http only to loopback, in development).";
        }

        // Port 0 is no port: connecting to it fails on every attempt, or on some stacks means "any", so a saved
        // webhook with it would never be delivered. Uri already refuses anything above 65535.
        if (url.Port == 0)
        {
            return "The port must be between 1 and 65535.";
        }

        return WebhookAddresses.HostProblem(url, allowLoopbackHttp) is { } host
            ? $"Must reach a public host: {host}"
            : null;
    }
}
