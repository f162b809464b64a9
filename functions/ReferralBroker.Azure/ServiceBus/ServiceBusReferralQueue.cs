using System.Security.Cryptography;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>
/// Sends dispatch messages to the referrals topic over the Service Bus REST protocol. Each category has a
/// subscription whose SQL filter matches the <c>category</c> application property, so the property must be set
/// on every message; <c>partnerId</c> and <c>referralId</c> ride along for filters and for the dead-letter purger.
/// </summary>
public sealed partial class ServiceBusReferralQueue : IReferralQueue
{
    private readonly HttpPipeline _pipeline;
    private readonly Uri _sendUri;
    private readonly string _topicName;
    private readonly long _timeToLiveSeconds;
    private readonly ILogger _logger;

    public ServiceBusReferralQueue(
        ServiceBusOptions options,
        TokenCredential? credential,
        TimeProvider time,
        ILogger<ServiceBusReferralQueue> logger,
        ServiceBusClientOptions? clientOptions = null)
    {
        if (options.MessageTimeToLive <= TimeSpan.Zero)
        {
            throw new ArgumentException("ServiceBusOptions.MessageTimeToLive must be positive.", nameof(options));
        }

        var baseAddress = options.ResolveBaseAddress();
        _pipeline = ServiceBusPipeline.Create(options, baseAddress, credential, time, clientOptions);
        _sendUri = new Uri($"{ServiceBusPipeline.TopicAddress(baseAddress, options.TopicName)}/messages");
        // Whole seconds, rounded up so a sub-second remainder never shortens the TTL to zero.
        _timeToLiveSeconds = (long)Math.Ceiling(options.MessageTimeToLive.TotalSeconds);
        _topicName = options.TopicName;
        _logger = logger;
    }

    /// <exception cref="global::Azure.RequestFailedException">
    /// Service Bus refused the message (401/403/400/410…), or still failed (429/5xx, network) after the pipeline's retries.
    /// </exception>
    public async Task EnqueueAsync(DispatchMessage message, CancellationToken cancellationToken)
    {
        var body = DispatchMessageJson.Serialize(message);
        try
        {
            using var http = _pipeline.CreateMessage();
            var request = http.Request;
            request.Method = RequestMethod.Post;
            request.Uri.Reset(_sendUri);
            request.Headers.SetValue(HttpHeader.Names.ContentType, "application/json");
            request.Headers.SetValue("BrokerProperties", JsonSerializer.Serialize(
                new OutgoingBrokerProperties(message.MessageId, _timeToLiveSeconds, "application/json"),
                ServiceBusWireJson.Default.OutgoingBrokerProperties));
            request.Headers.SetValue("category", ServiceBusPipeline.QuoteProperty(message.Category));
            request.Headers.SetValue("partnerId", ServiceBusPipeline.QuoteProperty(message.PartnerId));
            request.Headers.SetValue("referralId", ServiceBusPipeline.QuoteProperty(message.ReferralId));
            request.Content = RequestContent.Create(body);

            var operation = $"a send to topic '{_topicName}'";
            var status = (await ServiceBusPipeline.SendAsync(_pipeline, http, operation, cancellationToken).ConfigureAwait(false)).Status;
            if (status == 201)
            {
                LogQueued(_logger, message.ReferralId, message.Category);
                return;
            }

            LogRefused(_logger, message.ReferralId, status);
            throw ServiceBusPipeline.Failure(status, operation);
        }
        finally
        {
            // The body holds the link secret; the pipeline is done with it once SendAsync has returned.
            CryptographicOperations.ZeroMemory(body);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Referral {ReferralId} queued for dispatch ({Category})")]
    private static partial void LogQueued(ILogger logger, string referralId, string category);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service Bus refused the dispatch message for referral {ReferralId} with status {Status}")]
    private static partial void LogRefused(ILogger logger, string referralId, int status);
}
