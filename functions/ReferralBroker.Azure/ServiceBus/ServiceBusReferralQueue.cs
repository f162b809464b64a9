using System.Security.Cryptography;
using Azure.Messaging.ServiceBus;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Sends dispatch messages to the referrals topic. Each category has a subscription whose SQL filter matches the
/// <c>category</c> application property, so it is set on every message; <c>partnerId</c> and <c>referralId</c> ride
/// along for filters and for the dead-letter purger, which must not need the body (it holds the link secret).
/// The sender closes with the client (<see cref="ServiceBusNamespace"/>).
/// </summary>
public sealed partial class ServiceBusReferralQueue : IReferralQueue
{
    private readonly ServiceBusSender _sender;
    private readonly TimeSpan _timeToLive;
    private readonly ILogger _logger;

    public ServiceBusReferralQueue(ServiceBusNamespace bus, ILogger<ServiceBusReferralQueue> logger)
    {
        _sender = bus.Client.CreateSender(bus.Options.TopicName);
        _timeToLive = bus.Options.MessageTimeToLive;
        _logger = logger;
    }

    /// <exception cref="ServiceBusException">Service Bus refused the message, or still failed after the SDK's retries.</exception>
    public async Task EnqueueAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        var body = DispatchMessageJson.Serialize(message);
        try
        {
            var outgoing = new ServiceBusMessage(body)
            {
                MessageId = WireMessageId(message),
                ContentType = "application/json",
                TimeToLive = _timeToLive,
                ApplicationProperties =
                {
                    ["category"] = message.Category,
                    ["partnerId"] = message.PartnerId,
                    ["referralId"] = message.ReferralId,
                },
            };
            await _sender.SendMessageAsync(outgoing, cancellationToken).ConfigureAwait(false);
            LogQueued(_logger, message.ReferralId, message.Category);
        }
        catch (ServiceBusException e)
        {
            LogRefused(_logger, message.ReferralId, e.Reason.ToString());
            throw;
        }
        finally
        {
            // The body holds the link secret; the SDK has encoded it into its frame by the time the send returns.
            CryptographicOperations.ZeroMemory(body);
        }
    }

    /// <summary>
    /// The referral id plus a nonce of this send. The SDK's own retries resend the same message, so duplicate detection
    /// still absorbs them; but an organisation's retry with the same Idempotency-Key after a failed request carries a
    /// new link secret, and with the bare referral id as message id duplicate detection would keep the first message
    /// (whose secret opens nothing once the retry's record is stored) and drop the one that works.
    /// </summary>
    private static string WireMessageId(DispatchMessage message) =>
        $"{message.MessageId}.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} queued for dispatch ({Category})")]
    private static partial void LogQueued(ILogger logger, string referralId, string category);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service Bus refused the dispatch message for referral {ReferralId} ({Reason})")]
    private static partial void LogRefused(ILogger logger, string referralId, string reason);
}
