using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>
/// Sends the organisations the notifications their referrals' records hold, and writes back what went out.
/// A crash between sending and that write means sending again: delivery is at least once, and the event id lets a
/// receiver drop the duplicate.
/// </summary>
public sealed partial class NotificationDeliverer(
    IReferralStore store,
    IMailSender mail,
    IWebhookSender webhooks,
    INetworkDirectory directory,
    NotificationPolicy policy,
    TimeProvider time,
    ILogger<NotificationDeliverer> logger)
{
    private const int MaxConcurrencyRetries = 5;

    /// <summary>Delivers every notification due now; returns how many attempts were made.</summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        var attempts = 0;
        await foreach (var due in store.FindNotificationsDueAsync(time.GetUtcNow(), ct))
        {
            attempts += await DeliverAsync(due, ct);
        }

        return attempts;
    }

    private async Task<int> DeliverAsync(Versioned<ReferralRecord> due, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var record = due.Value;
        var notify = directory.FindOrganisation(record.OrganisationId)?.Notifications ?? OrganisationNotifications.None;
        var email = notify.Email;
        var webhook = notify is { WebhookUrl: { } url, WebhookSecret: { Length: > 0 } }
            && ClosedLoop.IsAcceptableWebhookUrl(url, policy.AllowLoopbackHttpWebhooks) ? url : null;
        if (notify.WebhookUrl is not null && webhook is null)
        {
            LogWebhookUnusable(logger, record.OrganisationId);
        }

        var outcomes = new List<PendingNotification>();
        foreach (var pending in record.Notifications.Where(n => n.NextAttemptAt <= now))
        {
            var emailSent = pending.EmailSent || email is null || await TryAsync(
                () => mail.SendAsync(ClosedLoop.Email(email, record.ReferralId, pending), ct), record.ReferralId, "email");
            var webhookSent = pending.WebhookSent || webhook is null || await TryAsync(
                () => SendWebhookAsync(webhook, notify.WebhookSecret!, record.ReferralId, pending, ct), record.ReferralId, "webhook");
            var attempts = pending.Attempts + 1;
            outcomes.Add(pending with
            {
                EmailSent = emailSent,
                WebhookSent = webhookSent,
                Attempts = attempts,
                NextAttemptAt = now + policy.RetryAfter(attempts),
            });
        }

        await RecordAsync(due, outcomes, ct);
        return outcomes.Count;
    }

    private async Task SendWebhookAsync(Uri url, string secret, string referralId, PendingNotification pending, CancellationToken ct)
    {
        var body = ClosedLoop.WebhookBody(referralId, pending);
        await webhooks.SendAsync(new WebhookDelivery(url, body, ClosedLoop.Sign(secret, time.GetUtcNow(), body), pending.EventId), ct);
    }

    private async Task<bool> TryAsync(Func<Task> send, string referralId, string channel)
    {
        try
        {
            await send();
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAttemptFailed(logger, referralId, channel, e.GetType().Name);
            return false;
        }
    }

    /// <summary>Applies what went out to the current record, reloading when a transition wrote in between.</summary>
    private async Task RecordAsync(Versioned<ReferralRecord> loaded, List<PendingNotification> outcomes, CancellationToken ct)
    {
        var current = loaded;
        for (var attempt = 0; attempt < MaxConcurrencyRetries && current is not null; attempt++)
        {
            var byId = outcomes.ToDictionary(o => o.EventId, StringComparer.Ordinal);
            var remaining = new List<PendingNotification>();
            foreach (var pending in current.Value.Notifications)
            {
                var next = byId.GetValueOrDefault(pending.EventId) ?? pending;
                if (next is { EmailSent: true, WebhookSent: true })
                {
                    continue;
                }

                if (next.Attempts >= policy.MaxAttempts)
                {
                    LogGaveUp(logger, current.Value.ReferralId, next.Event, next.Attempts);
                    continue;
                }

                remaining.Add(next);
            }

            if (await store.TryReplaceAsync(current.Value with { Notifications = remaining }, current.Version, ct) != WriteOutcome.Conflict)
            {
                return;
            }

            current = await store.FindAsync(loaded.Value.ReferralId, ct);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification for referral {ReferralId} by {Channel} failed ({Error}); will retry")]
    private static partial void LogAttemptFailed(ILogger logger, string referralId, string channel, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up notifying the organisation of referral {ReferralId} ({Event}) after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string referralId, string @event, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Organisation {OrganisationId} has a webhook URL that is not allowed or no secret; webhook skipped")]
    private static partial void LogWebhookUnusable(ILogger logger, string organisationId);
}
