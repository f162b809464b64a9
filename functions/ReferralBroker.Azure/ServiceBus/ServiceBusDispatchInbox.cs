using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Drains a category subscription in peek-lock, bounded in messages and time, and applies what
/// <see cref="ServiceBusDispatchHandler"/> decides for each message. The hosting calls it from a timer: the
/// Service Bus trigger extension is not available to the worker here.
/// </summary>
/// <remarks>
/// A message to retry is not abandoned in the drain but left locked until the drain's receiver closes: Service Bus
/// hands an abandoned message straight back (the link still has credit), so a drain during a SendGrid outage would
/// spend all its delivery attempts in a second and dead-letter the message. Left locked, it comes back when the
/// receiver's link closes or its lock runs out, one delivery more each time, so the max delivery count spans that
/// many timer periods. A drain that dies (crash, cancellation) settles nothing either, and the dispatcher's status
/// check keeps a redelivered message from emailing twice. A trigger function would abandon instead (its host
/// owns the pacing).
/// </remarks>
public sealed partial class ServiceBusDispatchInbox : IDispatchInbox
{
    private static readonly ServiceBusReceiverOptions PeekLock = new() { ReceiveMode = ServiceBusReceiveMode.PeekLock, PrefetchCount = 0 };

    private readonly ServiceBusClient _client;
    private readonly ServiceBusOptions _options;
    private readonly ServiceBusDispatchHandler _handler;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public ServiceBusDispatchInbox(ServiceBusNamespace bus, ServiceBusDispatchHandler handler, TimeProvider time, ILogger<ServiceBusDispatchInbox> logger)
    {
        _client = bus.Client;
        _options = bus.Options;
        _handler = handler;
        _time = time;
        _logger = logger;
        Subscriptions = [.. bus.Options.AllSubscriptions];
    }

    public IReadOnlyList<string> Subscriptions { get; }

    public async Task<DrainReport> DrainAsync(string subscription, CancellationToken cancellationToken)
    {
        if (!Subscriptions.Contains(subscription, StringComparer.Ordinal))
        {
            throw new ArgumentException($"'{subscription}' is not a dispatch subscription.", nameof(subscription));
        }

        var started = _time.GetTimestamp();
        int received = 0, completed = 0, deadLettered = 0, failedSettlements = 0;
        var leftLocked = 0;
        var receiver = _client.CreateReceiver(_options.TopicName, subscription, PeekLock);
        await using (receiver.ConfigureAwait(false))
        {
            while (received < _options.MaxMessagesPerDrain && _time.GetElapsedTime(started) < _options.MaxDrainDuration)
            {
                var batch = await receiver.ReceiveMessagesAsync(
                    Math.Min(_options.ReceiveBatchSize, _options.MaxMessagesPerDrain - received), _options.ReceiveWaitTime, cancellationToken).ConfigureAwait(false);
                if (batch.Count == 0)
                {
                    break;
                }

                received += batch.Count;
                foreach (var message in batch)
                {
                    var disposition = await _handler.HandleAsync(message, cancellationToken).ConfigureAwait(false);
                    if (disposition == DispatchDisposition.Abandon)
                    {
                        leftLocked++;
                    }
                    else if (await TrySettleAsync(receiver, message, disposition, cancellationToken).ConfigureAwait(false))
                    {
                        _ = disposition == DispatchDisposition.Complete ? completed++ : deadLettered++;
                    }
                    else
                    {
                        failedSettlements++;
                    }
                }
            }
        }

        var report = new DrainReport(received, completed, leftLocked + failedSettlements, deadLettered);
        if (received > 0)
        {
            LogDrained(_logger, subscription, report.Received, report.Completed, report.Abandoned, report.DeadLettered);
        }

        return report;
    }

    /// <summary>False when the settlement failed (lock lost, link gone): Service Bus redelivers the message when its lock ends.</summary>
    private async Task<bool> TrySettleAsync(ServiceBusReceiver receiver, ServiceBusReceivedMessage message, DispatchDisposition disposition, CancellationToken ct)
    {
        try
        {
            switch (disposition)
            {
                case DispatchDisposition.Complete:
                    await receiver.CompleteMessageAsync(message, ct).ConfigureAwait(false);
                    break;
                case DispatchDisposition.DeadLetter:
                    await receiver.DeadLetterMessageAsync(message, "Unreadable", "The body is not a dispatch message.", ct).ConfigureAwait(false);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(disposition), disposition, "A message to retry is left locked, not settled.");
            }

            return true;
        }
        catch (ServiceBusException e)
        {
            LogSettlementFailed(_logger, message.MessageId, disposition.ToString(), e.Reason.ToString());
            return false;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Drained {Subscription}: {Received} received, {Completed} completed, {Abandoned} abandoned, {DeadLettered} dead-lettered")]
    private static partial void LogDrained(ILogger logger, string subscription, int received, int completed, int abandoned, int deadLettered);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not {Disposition} message {MessageId} ({Reason}); Service Bus redelivers it when its lock ends")]
    private static partial void LogSettlementFailed(ILogger logger, string messageId, string disposition, string reason);
}
