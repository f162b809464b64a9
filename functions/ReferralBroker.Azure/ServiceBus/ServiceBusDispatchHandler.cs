using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>What to do with a received dispatch message once it has been handled.</summary>
public enum DispatchDisposition
{
    /// <summary>
    /// Done with: emailed, nothing left to send, refused for good by SendGrid (its referral marked
    /// <c>deliveryFailed</c> by the dispatcher), or given up on (a message whose record never came).
    /// </summary>
    Complete,
    /// <summary>Try again later: Service Bus redelivers it and dead-letters it after the max delivery count.</summary>
    Abandon,
    /// <summary>Unreadable: no delivery could ever succeed, so it goes to the dead-letter queue at once.</summary>
    DeadLetter,
}

/// <summary>
/// The decision for one received dispatch message, apart from how it was received: the inbox's timer drain applies
/// it with its receiver, and a Service Bus trigger function would apply it with <c>ServiceBusMessageActions</c>.
/// </summary>
public sealed partial class ServiceBusDispatchHandler(
    ReferralDispatcher dispatcher, ServiceBusOptions options, TimeProvider time, ILogger<ServiceBusDispatchHandler> logger)
{
    /// <exception cref="OperationCanceledException">Cancelled: the message is left to its lock, not judged.</exception>
    public async Task<DispatchDisposition> HandleAsync(ServiceBusReceivedMessage message, CancellationToken cancellationToken)
    {
        var body = message.Body.ToMemory();
        try
        {
            return await HandleAsync(body, message.MessageId, message.DeliveryCount, message.EnqueuedTime, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The body holds the link secret; nothing reads it after the decision.
            if (MemoryMarshal.TryGetArray(body, out var segment) && segment.Array is not null)
            {
                CryptographicOperations.ZeroMemory(segment.AsSpan());
            }
        }
    }

    public async Task<DispatchDisposition> HandleAsync(
        ReadOnlyMemory<byte> body, string messageId, int deliveryCount, DateTimeOffset enqueuedTime, CancellationToken cancellationToken)
    {
        if (DispatchMessageJson.Deserialize(body.Span) is not { } message)
        {
            LogUnreadable(logger, messageId, deliveryCount);
            return DispatchDisposition.DeadLetter;
        }

        try
        {
            switch (await dispatcher.DispatchAsync(message, cancellationToken).ConfigureAwait(false))
            {
                case DispatchResult.NotYetStored when time.GetUtcNow() - enqueuedTime >= options.UnstoredReferralGrace:
                    // The request that sent it failed before storing its record, long ago: nothing will ever come.
                    LogNeverStored(logger, message.ReferralId, messageId);
                    return DispatchDisposition.Complete;
                case DispatchResult.NotYetStored:
                    return DispatchDisposition.Abandon;
                case DispatchResult.Undeliverable:
                    // Marked already: completed, not dead-lettered, since the sweep would mark it only after the
                    // message TTL, and the dead letter would keep the link secret until then for nothing.
                    return DispatchDisposition.Complete;
                default:
                    return DispatchDisposition.Complete;
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogDispatchFailed(logger, message.ReferralId, deliveryCount, e.GetType().Name);
            return DispatchDisposition.Abandon;
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatch message {MessageId} is unreadable (delivery {DeliveryCount}); dead-lettered")]
    private static partial void LogUnreadable(ILogger logger, string messageId, int deliveryCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Referral {ReferralId} was never stored; its message {MessageId} is dropped")]
    private static partial void LogNeverStored(ILogger logger, string referralId, string messageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dispatch of referral {ReferralId} failed (delivery {DeliveryCount}, {Error}); abandoned for redelivery")]
    private static partial void LogDispatchFailed(ILogger logger, string referralId, int deliveryCount, string error);
}
