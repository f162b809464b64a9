using System.Globalization;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;

namespace ReferralBroker.Azure.ServiceBus;

/// <summary>What the Service Bus clients share: one pipeline per client, auth as its per-retry policy.</summary>
internal static class ServiceBusPipeline
{
    public const string EntraScope = "https://servicebus.azure.net/.default";

    public static HttpPipeline Create(
        ServiceBusOptions options, string baseAddress, TokenCredential? credential, TimeProvider time, ServiceBusClientOptions? clientOptions)
    {
        clientOptions ??= new ServiceBusClientOptions();
        if (clientOptions.Diagnostics.IsLoggingContentEnabled)
        {
            throw new ArgumentException("Content logging would write link secrets to the Azure SDK log.", nameof(clientOptions));
        }

        HttpPipelinePolicy auth;
        if (options.UsesSas)
        {
            if (string.IsNullOrWhiteSpace(options.SasKeyName))
            {
                throw new ArgumentException("ServiceBusOptions.SasKey is set without SasKeyName.", nameof(options));
            }

            // Scoped to the topic: enough for sending and for its subscriptions' dead-letter queues, and it works
            // whether the key's rule sits on the namespace or on the topic.
            auth = new SasTokenPolicy(TopicAddress(baseAddress, options.TopicName), options.SasKeyName, options.SasKey!, time, options.SasTokenLifetime);
        }
        else if (credential is not null)
        {
            auth = new BearerTokenAuthenticationPolicy(credential, EntraScope);
        }
        else
        {
            throw new ArgumentException("Service Bus needs either ServiceBusOptions.SasKey or a TokenCredential.", nameof(credential));
        }

        // The default classifier retries 408, 429, 500, 502, 503, 504 and network failures. A retried send may
        // land twice; the MessageId plus the topic's duplicate detection and the dispatcher's status check absorb that.
        return HttpPipelineBuilder.Build(clientOptions, auth);
    }

    /// <summary>
    /// Sends and returns the response. Azure.Core reports transport failures that outlast the retries as an
    /// AggregateException of RequestFailedException (status 0); callers get one RequestFailedException instead.
    /// </summary>
    public static async Task<Response> SendAsync(HttpPipeline pipeline, HttpMessage message, string operation, CancellationToken ct)
    {
        try
        {
            await pipeline.SendAsync(message, ct).ConfigureAwait(false);
        }
        catch (AggregateException ex) when (ex.InnerExceptions.All(e => e is RequestFailedException))
        {
            throw new RequestFailedException(0, $"Service Bus could not be reached for {operation}.", ex);
        }

        return message.Response;
    }

    public static string TopicAddress(string baseAddress, string topic) => $"{baseAddress}/{Uri.EscapeDataString(topic)}";

    /// <summary>Application properties travel as headers; strings are JSON-quoted so Service Bus types them as strings.</summary>
    public static string QuoteProperty(string value) => JsonSerializer.Serialize(value, ServiceBusWireJson.Default.String);

    /// <summary>A received application property header without its quotes; null when absent or not a string.</summary>
    public static string? UnquoteProperty(string? header)
    {
        if (string.IsNullOrEmpty(header))
        {
            return null;
        }

        if (header[0] != '"')
        {
            return header;
        }

        try
        {
            return JsonSerializer.Deserialize(header, ServiceBusWireJson.Default.String);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// Service errors become RequestFailedException with the status only. The response body is left out on
    /// purpose: it is the service's text, and an exception message ends up in logs.
    /// </summary>
    public static RequestFailedException Failure(int status, string operation)
    {
        var hint = status switch
        {
            401 => " (check the SAS key or the token's role assignment)",
            403 => " (missing right, quota exceeded or message too large)",
            404 or 410 => " (the topic or subscription does not exist)",
            _ => string.Empty,
        };
        return new RequestFailedException(status, string.Create(CultureInfo.InvariantCulture, $"Service Bus answered {status} to {operation}{hint}."));
    }
}
