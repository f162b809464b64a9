using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Removes dead-lettered dispatch messages that are older than the message TTL. Dead letters never expire, and
/// each one holds a link secret, so without this they would keep it forever. The referral ids of the purged
/// messages are returned: those referrals were never emailed, and the caller marks them <c>deliveryFailed</c>.
/// </summary>
/// <remarks>
/// Peek-lock, not receive-and-delete: a dead letter younger than the TTL is kept (an operator can still read why it
/// failed), so its age must be read before it is removed. Old ones are completed; young ones stay locked until
/// the end of the run, so the next receive reaches the messages behind them, and are then abandoned (in a
/// dead-letter queue that only unlocks them). Age is the original enqueue time, which a dead letter keeps, so a
/// secret outlives its TTL by at most the purge interval. The referral id comes from the <c>referralId</c>
/// property; the body is read only when that is missing, and never logged.
/// </remarks>
public sealed partial class ServiceBusDeadLetterPurger(ServiceBusNamespace bus, TimeProvider time, ILogger<ServiceBusDeadLetterPurger> logger)
{
    private static readonly ServiceBusReceiverOptions DeadLetters = new()
    {
        SubQueue = SubQueue.DeadLetter, ReceiveMode = ServiceBusReceiveMode.PeekLock, PrefetchCount = 0,
    };

    private readonly ServiceBusOptions _options = bus.Options;

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
            catch (ServiceBusException ex)
            {
                LogSubscriptionFailed(logger, subscription, ex.Reason.ToString());
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
        var kept = new List<ServiceBusReceivedMessage>();
        var seen = new HashSet<long>();
        var receiver = bus.Client.CreateReceiver(_options.TopicName, subscription, DeadLetters);
        await using (receiver.ConfigureAwait(false))
        {
            try
            {
                var taken = 0;
                while (taken < _options.MaxDeadLettersPerRun)
                {
                    var batch = await receiver.ReceiveMessagesAsync(
                        Math.Min(_options.ReceiveBatchSize, _options.MaxDeadLettersPerRun - taken), _options.DeadLetterReceiveTimeout, ct).ConfigureAwait(false);
                    if (batch.Count == 0)
                    {
                        return;
                    }

                    taken += batch.Count;
                    foreach (var message in batch)
                    {
                        // A lock that ran out during the run hands the same message out again: the queue has been walked.
                        if (!seen.Add(message.SequenceNumber))
                        {
                            kept.Add(message);
                            return;
                        }

                        if (time.GetUtcNow() - message.EnqueuedTime < _options.MessageTimeToLive)
                        {
                            kept.Add(message);
                            continue;
                        }

                        var referralId = message.ApplicationProperties.TryGetValue("referralId", out var property) && property is string id
                            ? id
                            : DispatchMessageJson.Deserialize(message.Body.ToMemory().Span)?.ReferralId;
                        try
                        {
                            await receiver.CompleteMessageAsync(message, ct).ConfigureAwait(false);
                        }
                        catch (ServiceBusException e) when (e.Reason == ServiceBusFailureReason.MessageLockLost)
                        {
                            LogLockLost(logger, subscription);
                            continue;
                        }

                        if (referralId is null)
                        {
                            LogPurgedUnknown(logger, subscription);
                        }
                        else
                        {
                            purged.Add(referralId);
                            LogPurged(logger, referralId, subscription);
                        }
                    }
                }
            }
            finally
            {
                foreach (var message in kept)
                {
                    try
                    {
                        // Independent of the caller's token: a lock left behind only delays the message to its lock's end.
                        await receiver.AbandonMessageAsync(message, cancellationToken: CancellationToken.None).ConfigureAwait(false);
                    }
                    catch (ServiceBusException)
                    {
                        // The lock is gone already: the message is available again either way.
                    }
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Purged the expired dead letter of referral {ReferralId} from {Subscription}")]
    private static partial void LogPurged(ILogger logger, string referralId, string subscription);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purged an expired dead letter without a referral id from {Subscription}")]
    private static partial void LogPurgedUnknown(ILogger logger, string subscription);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A dead letter's lock was lost before it could be purged from {Subscription}; the next run retries")]
    private static partial void LogLockLost(ILogger logger, string subscription);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Purging the dead letters of {Subscription} failed ({Reason})")]
    private static partial void LogSubscriptionFailed(ILogger logger, string subscription, string reason);
}
