using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;

namespace ReferralBroker.Referrals;

/// <summary>
/// Sends the organisations the notifications their referrals' records hold, and writes back what went out.
/// A crash between sending and that write means sending again: delivery is at least once, and the event id lets a
/// receiver drop the duplicate.
/// </summary>
/// <remarks>
/// One slow receiver must delay no one else. Each organisation is served by a lane of its own (its notifications
/// one after another), up to <see cref="NotificationPolicy.MaxConcurrentDeliveries"/> lanes at once; a pass starts
/// nothing new after <see cref="NotificationPolicy.PassBudget"/>; a lane still running when the next pass starts
/// keeps its organisation (the next pass serves the others); a webhook destination that did not answer gets nothing
/// more until its back-off is over; and lanes with a <c>duress-token-used</c> event go first, that event first.
/// </remarks>
public sealed partial class NotificationDeliverer(
    IReferralStore store,
    IMailSender mail,
    IWebhookSender webhooks,
    INetworkDirectory directory,
    NotificationPolicy policy,
    TimeProvider time,
    ILogger<NotificationDeliverer> logger) : IDisposable
{
    private const int MaxConcurrencyRetries = 5;
    private readonly SemaphoreSlim _lanes = new(policy.MaxConcurrentDeliveries, policy.MaxConcurrentDeliveries);
    private readonly ConcurrentDictionary<string, bool> _busyOrganisations = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Backoff> _destinations = new(StringComparer.Ordinal);

    /// <summary>
    /// One pass: delivers the notifications due now, except those of organisations an earlier pass still serves;
    /// returns how many notifications were attempted. Waits for the lanes it started.
    /// </summary>
    public async Task<int> DeliverDueAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var deadline = now + policy.PassBudget;
        var due = new List<ReferralRecord>();
        await foreach (var record in store.FindNotificationsDueAsync(now, ct))
        {
            due.Add(record.Value);
        }

        var lanes = due
            .GroupBy(r => r.OrganisationId, StringComparer.Ordinal)
            .Select(g => g.OrderByDescending(r => HasDuressDue(r, now)).ThenBy(r => r.NotifyAt).ToList())
            .OrderByDescending(lane => HasDuressDue(lane[0], now)).ThenBy(lane => lane[0].NotifyAt)
            .ToList();
        var running = new List<Task<int>>();
        try
        {
            foreach (var lane in lanes)
            {
                var organisationId = lane[0].OrganisationId;
                var left = deadline - time.GetUtcNow();
                if (left <= TimeSpan.Zero)
                {
                    break;
                }

                if (!_busyOrganisations.TryAdd(organisationId, true))
                {
                    continue;
                }

                // In order, one lane at a time: with every lane taken, the next in line (duress first) gets the next free one.
                if (!await _lanes.WaitAsync(left, ct))
                {
                    _busyOrganisations.TryRemove(organisationId, out _);
                    break;
                }

                running.Add(RunLaneAsync(organisationId, lane, deadline, ct));
            }
        }
        finally
        {
            await ((Task)Task.WhenAll(running)).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        return (await Task.WhenAll(running)).Sum();
    }

    public void Dispose() => _lanes.Dispose();

    private async Task<int> RunLaneAsync(string organisationId, List<ReferralRecord> lane, DateTimeOffset deadline, CancellationToken ct)
    {
        try
        {
            await Task.Yield();
            var attempted = 0;
            foreach (var listed in lane)
            {
                if (time.GetUtcNow() >= deadline)
                {
                    break;
                }

                // Read again: the list is from the start of the pass, and an earlier pass's lane may have written since.
                if (await store.FindAsync(listed.ReferralId, ct) is { } current)
                {
                    attempted += await DeliverAsync(current, ct);
                }
            }

            return attempted;
        }
        finally
        {
            _busyOrganisations.TryRemove(organisationId, out _);
            _lanes.Release();
        }
    }

    private static bool HasDuressDue(ReferralRecord record, DateTimeOffset now) =>
        record.Notifications.Any(n => n.Event == ClosedLoop.DuressEvent && n.NextAttemptAt <= now);

    private async Task<int> DeliverAsync(Versioned<ReferralRecord> due, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var record = due.Value;
        var notify = directory.FindOrganisation(record.OrganisationId)?.Notifications ?? OrganisationNotifications.None;
        var email = notify.Email;
        // Newest first; the secret a rotation replaced only until its overlap ends (whether or not the sweep erased it yet).
        var secrets = notify.SigningSecrets(now);
        var webhook = notify is { WebhookUrl: { } url } && secrets.Count > 0
            && ClosedLoop.IsAcceptableWebhookUrl(url, policy.AllowLoopbackHttpWebhooks) ? url : null;
        if (notify.WebhookUrl is not null && webhook is null)
        {
            LogWebhookUnusable(logger, record.OrganisationId);
        }

        var destination = webhook?.GetLeftPart(UriPartial.Authority);
        var outcomes = new List<PendingNotification>();
        var attempted = 0;
        foreach (var pending in record.Notifications.Where(n => n.NextAttemptAt <= now)
                     .OrderByDescending(n => n.Event == ClosedLoop.DuressEvent).ThenBy(n => n.At))
        {
            var emailAttempted = !pending.EmailSent && email is not null;
            var emailSent = !emailAttempted || await TryAsync(
                () => mail.SendAsync(ClosedLoop.Email(email!, record.ReferralId, pending), ct), record, "email");

            var webhookDue = !pending.WebhookSent && webhook is not null;
            var waitUntil = webhookDue && _destinations.TryGetValue(destination!, out var backoff) && backoff.Until > time.GetUtcNow()
                ? backoff.Until
                : (DateTimeOffset?)null;
            var webhookAttempted = webhookDue && waitUntil is null;
            var webhookSent = !webhookDue || (webhookAttempted && await TryWebhookAsync(webhook!, destination!, secrets, record, pending, ct));
            if (webhookAttempted && !webhookSent && _destinations.TryGetValue(destination!, out var started))
            {
                waitUntil = started.Until;
            }

            if (!emailAttempted && !webhookAttempted)
            {
                // Nothing to send (a channel went away), or only a webhook that is backing off: that wait is not an attempt.
                outcomes.Add(pending with { EmailSent = emailSent, WebhookSent = webhookSent, NextAttemptAt = waitUntil ?? now });
                continue;
            }

            attempted++;
            var attempts = pending.Attempts + 1;
            var next = now + policy.RetryAfter(attempts);
            outcomes.Add(pending with
            {
                EmailSent = emailSent,
                WebhookSent = webhookSent,
                Attempts = attempts,
                NextAttemptAt = waitUntil is { } until && until > next ? until : next,
            });
        }

        await RecordAsync(due, outcomes, ct);
        return attempted;
    }

    private async Task<bool> TryWebhookAsync(
        Uri url, string destination, IReadOnlyList<string> secrets, ReferralRecord record, PendingNotification pending, CancellationToken ct)
    {
        try
        {
            var body = ClosedLoop.WebhookBody(record.ReferralId, pending);
            await webhooks.SendAsync(new WebhookDelivery(url, body, pending.EventId, secrets), ct);
            _destinations.TryRemove(destination, out _);
            return true;
        }
        catch (TransientDeliveryException e) when (e.Unreachable)
        {
            // The sender's own words (a reason, never the URL or the address): a timeout, a refused connection, an internal address.
            var failures = _destinations.TryGetValue(destination, out var before) ? before.Failures + 1 : 1;
            _destinations[destination] = new Backoff(failures, time.GetUtcNow() + policy.RetryAfter(failures));
            LogWebhookUnreachable(logger, record.OrganisationId, record.ReferralId, e.Message);
            return false;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAttemptFailed(logger, record.ReferralId, "webhook", e.GetType().Name);
            return false;
        }
    }

    private async Task<bool> TryAsync(Func<Task> send, ReferralRecord record, string channel)
    {
        try
        {
            await send();
            return true;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogAttemptFailed(logger, record.ReferralId, channel, e.GetType().Name);
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

    /// <summary>A webhook destination (scheme, host, port) that did not answer: nothing goes there before <paramref name="Until"/>.</summary>
    private sealed record Backoff(int Failures, DateTimeOffset Until);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Notification for referral {ReferralId} by {Channel} failed ({Error}); will retry")]
    private static partial void LogAttemptFailed(ILogger logger, string referralId, string channel, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Webhook of organisation {OrganisationId} for referral {ReferralId} failed: {Reason} Nothing more goes there for a while; will retry")]
    private static partial void LogWebhookUnreachable(ILogger logger, string organisationId, string referralId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Gave up notifying the organisation of referral {ReferralId} ({Event}) after {Attempts} attempts")]
    private static partial void LogGaveUp(ILogger logger, string referralId, string @event, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Organisation {OrganisationId} has a webhook URL that is not allowed or no secret; webhook skipped")]
    private static partial void LogWebhookUnusable(ILogger logger, string organisationId);
}
