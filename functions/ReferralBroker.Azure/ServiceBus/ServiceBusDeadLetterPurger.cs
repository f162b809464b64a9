using ReferralBroker.Ports;
using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Removes dead-lettered dispatch messages that are older than the message TTL. Dead letters never expire, and
/// each one holds a link secret, so without this they would keep it forever. The referral ids of the purged
/// messages are returned: those referrals were never emailed, and the caller marks them for re-sending.
/// </summary>
/// <remarks>
/// Peek-lock, not receive-and-delete. A destructive <c>DELETE …/head</c> removes a message before its age can be
/// read, and REST has no way to put a message back into a dead-letter queue, so a dead letter younger than the
/// TTL (kept so an operator can still read why it failed) would be lost. Instead each head message is locked
/// (<c>POST …/head</c>), completed (<c>DELETE {lock}</c>) when old enough, and otherwise kept locked until the end
/// of the run so the next receive reaches the message behind it, then unlocked (<c>PUT {lock}</c>). That costs a
/// second request per message and needs the same Listen right. Age is read from <c>EnqueuedTimeUtc</c>; whether
/// a dead letter keeps its original enqueue time or gets the dead-lettering time is not documented for REST, and
/// either way a secret outlives its TTL by at most the purge interval plus the dead-lettering delay. Message bodies are read only for a referral id
/// when the <c>referralId</c> property is missing, and never logged.
/// </remarks>
public sealed partial class ServiceBusDeadLetterPurger
{
    private readonly HttpPipeline _pipeline;
    private readonly ServiceBusOptions _options;
    private readonly string _baseAddress;
    private readonly Uri _endpointOrigin;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ServiceBusDeadLetterPurger(
        ServiceBusOptions options,
        TokenCredential? credential,
        TimeProvider time,
        ILogger<ServiceBusDeadLetterPurger> logger,
        ServiceBusClientOptions? clientOptions = null)
    {
        _baseAddress = options.ResolveBaseAddress();
        _endpointOrigin = new Uri(_baseAddress);
        _pipeline = ServiceBusPipeline.Create(options, _baseAddress, credential, time, clientOptions);
        _options = options;
        _time = time;
        _logger = logger;
    }

    /// <summary>
    /// Purges every category subscription's old dead letters and returns their referral ids. Messages already
    /// completed are gone, so their ids are returned even if a later subscription fails or the run is cancelled;
    /// only when nothing was purged does the first failure (or the cancellation) propagate.
    /// </summary>
    public async Task<IReadOnlyList<string>> PurgeExpiredAsync(CancellationToken cancellationToken)
    {
        var purged = new List<string>();
        Exception? firstFailure = null;
        foreach (var subscription in _options.AllSubscriptions)
        {
            try
            {
                await PurgeSubscriptionAsync(subscription, purged, cancellationToken).ConfigureAwait(false);
            }
            catch (RequestFailedException ex)
            {
                LogSubscriptionFailed(_logger, subscription, ex.Status);
                firstFailure ??= ex;
            }
            catch (OperationCanceledException ex) when (cancellationToken.IsCancellationRequested)
            {
                firstFailure ??= ex;
                break;
            }
        }

        if (firstFailure is not null && purged.Count == 0)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(firstFailure);
        }

        return purged.Distinct(StringComparer.Ordinal).ToList();
    }

    private async Task PurgeSubscriptionAsync(string subscription, List<string> purged, CancellationToken ct)
    {
        var queueAddress = $"{ServiceBusPipeline.TopicAddress(_baseAddress, _options.TopicName)}/subscriptions/"
            + $"{Uri.EscapeDataString(subscription)}/$deadletterqueue";
        var headUri = new Uri(string.Create(CultureInfo.InvariantCulture,
            $"{queueAddress}/messages/head?timeout={Math.Max(1, (int)_options.DeadLetterReceiveTimeout.TotalSeconds)}"));
        var keptLocked = new List<Uri>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        try
        {
            for (var i = 0; i < _options.MaxDeadLettersPerRun; i++)
            {
                using var http = _pipeline.CreateMessage();
                http.Request.Method = RequestMethod.Post;
                http.Request.Uri.Reset(headUri);
                var response = await ServiceBusPipeline.SendAsync(_pipeline, http, "a dead-letter receive", ct).ConfigureAwait(false);
                if (response.Status == 204)
                {
                    return;
                }

                if (response.Status != 201)
                {
                    throw ServiceBusPipeline.Failure(response.Status, $"a dead-letter receive on '{subscription}'");
                }

                var properties = ReadBrokerProperties(response);
                var lockUri = LockUri(response, properties, queueAddress);
                if (lockUri is null)
                {
                    LogNoLock(_logger, subscription);
                    return;
                }

                // A lock that ran out during the run hands the same message out again: the queue has been walked.
                var identity = properties?.SequenceNumber?.ToString(CultureInfo.InvariantCulture) ?? properties?.MessageId ?? lockUri.AbsoluteUri;
                if (!seen.Add(identity))
                {
                    keptLocked.Add(lockUri);
                    return;
                }

                if (!IsOlderThanTimeToLive(properties?.EnqueuedTimeUtc))
                {
                    keptLocked.Add(lockUri);
                    continue;
                }

                var referralId = ServiceBusPipeline.UnquoteProperty(Header(response, "referralId"))
                    ?? DispatchMessageJson.Deserialize(response.Content.ToMemory().Span)?.ReferralId;
                if (!await CompleteAsync(lockUri, ct).ConfigureAwait(false))
                {
                    LogLockLost(_logger, subscription);
                    continue;
                }

                if (referralId is null)
                {
                    LogPurgedUnknown(_logger, subscription);
                }
                else
                {
                    purged.Add(referralId);
                    LogPurged(_logger, referralId, subscription);
                }
            }
        }
        finally
        {
            await UnlockAllAsync(keptLocked).ConfigureAwait(false);
        }
    }

    private bool IsOlderThanTimeToLive(string? enqueuedTimeUtc)
    {
        // Service Bus writes RFC 1123 dates; an unreadable one keeps the message (an operator can still purge it).
        if (enqueuedTimeUtc is null
            || !DateTimeOffset.TryParse(enqueuedTimeUtc, CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var enqueued))
        {
            return false;
        }

        return _time.GetUtcNow() - enqueued >= _options.MessageTimeToLive;
    }

    /// <summary>True when completed; false when the lock was already gone (404), so the message stays for the next run.</summary>
    private async Task<bool> CompleteAsync(Uri lockUri, CancellationToken ct)
    {
        using var http = _pipeline.CreateMessage();
        http.Request.Method = RequestMethod.Delete;
        http.Request.Uri.Reset(lockUri);
        var status = (await ServiceBusPipeline.SendAsync(_pipeline, http, "completing a dead letter", ct).ConfigureAwait(false)).Status;
        return status switch
        {
            >= 200 and < 300 => true,
            404 => false,
            _ => throw ServiceBusPipeline.Failure(status, "completing a dead letter"),
        };
    }

    private async Task UnlockAllAsync(List<Uri> lockUris)
    {
        if (lockUris.Count == 0)
        {
            return;
        }

        // Best effort and independent of the caller's token: a lock left behind only delays the message until
        // the subscription's lock duration runs out.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        foreach (var lockUri in lockUris)
        {
            try
            {
                using var http = _pipeline.CreateMessage();
                http.Request.Method = RequestMethod.Put;
                http.Request.Uri.Reset(lockUri);
                var status = (await ServiceBusPipeline.SendAsync(_pipeline, http, "unlocking a dead letter", timeout.Token).ConfigureAwait(false)).Status;
                if (status is < 200 or >= 300)
                {
                    LogUnlockFailed(_logger, status);
                }
            }
            catch (Exception ex) when (ex is RequestFailedException or OperationCanceledException)
            {
                LogUnlockFailed(_logger, 0);
            }
        }
    }

    private static ReceivedBrokerProperties? ReadBrokerProperties(Response response)
    {
        var header = Header(response, "BrokerProperties");
        if (header is null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.Deserialize(header, ServiceBusWireJson.Default.ReceivedBrokerProperties);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// The lock's address from <c>Location</c>, accepted only on our own endpoint so the credential is never sent
    /// elsewhere; otherwise built from the documented form <c>…/messages/{sequenceNumber|messageId}/{lockToken}</c>.
    /// </summary>
    private Uri? LockUri(Response response, ReceivedBrokerProperties? properties, string queueAddress)
    {
        if (Header(response, "Location") is { } location
            && Uri.TryCreate(location, UriKind.Absolute, out var uri)
            && Uri.Compare(uri, _endpointOrigin, UriComponents.SchemeAndServer, UriFormat.UriEscaped, StringComparison.OrdinalIgnoreCase) == 0)
        {
            return uri;
        }

        var id = properties?.SequenceNumber?.ToString(CultureInfo.InvariantCulture) ?? properties?.MessageId;
        return id is null || properties?.LockToken is null
            ? null
            : new Uri($"{queueAddress}/messages/{Uri.EscapeDataString(id)}/{Uri.EscapeDataString(properties.LockToken)}");
    }

    private static string? Header(Response response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Dead-lettered dispatch message for referral {ReferralId} purged from {Subscription}")]
    private static partial void LogPurged(ILogger logger, string referralId, string subscription);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A dead letter without a referral id was purged from {Subscription}")]
    private static partial void LogPurgedUnknown(ILogger logger, string subscription);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A dead letter in {Subscription} came without a lock and was left alone")]
    private static partial void LogNoLock(ILogger logger, string subscription);

    [LoggerMessage(Level = LogLevel.Information, Message = "A dead letter's lock in {Subscription} expired before completion; it stays for the next run")]
    private static partial void LogLockLost(ILogger logger, string subscription);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purging dead letters from {Subscription} failed with status {Status}")]
    private static partial void LogSubscriptionFailed(ILogger logger, string subscription, int status);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Unlocking a young dead letter failed (status {Status}); its lock will expire")]
    private static partial void LogUnlockFailed(ILogger logger, int status);
}
