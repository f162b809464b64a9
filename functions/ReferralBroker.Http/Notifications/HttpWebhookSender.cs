using System.Net.Http.Headers;
using System.Text;
using ReferralBroker.Ports;
using StandardWebhooks;

namespace ReferralBroker.Notifications;

/// <summary>
/// POSTs an event to an organisation's webhook, signed per Standard Webhooks v1: <c>webhook-id</c> (the event id, the
/// same on every retry), <c>webhook-timestamp</c> (Unix seconds of this attempt) and <c>webhook-signature</c>
/// (<c>v1,&lt;base64 HMAC-SHA-256 of "id.timestamp.body"&gt;</c> per secret, newest first, space-delimited), signed by
/// the StandardWebhooks package. Redirects are not followed (a redirect could carry the signed event somewhere the
/// organisation never configured), and a slow receiver is cut off so it cannot stall the others. The client's connect
/// callback (<see cref="WebhookConnector"/>) refuses internal addresses.
/// </summary>
internal sealed class HttpWebhookSender(HttpClient client, TimeProvider time) : IWebhookSender
{
    public const string ClientName = "webhooks";
    public const string IdHeader = "webhook-id";
    public const string TimestampHeader = "webhook-timestamp";
    public const string SignatureHeader = "webhook-signature";

    /// <summary>Strict: the body is UTF-8 JSON the broker wrote, so a byte that is not UTF-8 is a bug, never signed lossily.</summary>
    private static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public async Task SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        // The time of this attempt, whole seconds: what webhook-timestamp says is exactly what was signed.
        var timestamp = DateTimeOffset.FromUnixTimeSeconds(time.GetUtcNow().ToUnixTimeSeconds());
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new ByteArrayContent(delivery.Body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } } },
        };
        request.Headers.Add(IdHeader, delivery.EventId);
        request.Headers.Add(TimestampHeader, timestamp.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture));
        request.Headers.TryAddWithoutValidation(SignatureHeader, Sign(delivery, timestamp));
        request.Headers.UserAgent.Add(new ProductInfoHeaderValue("ReferralBroker", "1"));
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            if (!response.IsSuccessStatusCode)
            {
                throw new TransientDeliveryException($"The webhook answered {(int)response.StatusCode}.");
            }
        }
        catch (HttpRequestException e) when (e.InnerException is InternalAddressException refused)
        {
            // Retried like any failure: the name may point outside again later. Never the URL: only the reason.
            throw new TransientDeliveryException($"Refused: {refused.Message}", e) { Unreachable = true };
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientDeliveryException("The webhook could not be reached in time.", e)
            {
                // Timed out (connecting or answering), refused, or no such name: the destination, not this request.
                Unreachable = e is TaskCanceledException || e.InnerException is TimeoutException or OperationCanceledException
                    || (e as HttpRequestException)?.HttpRequestError is HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError,
            };
        }
    }

    /// <summary>One <c>v1,…</c> per secret, in the delivery's order (newest first), space-delimited as the specification says.</summary>
    internal static string Sign(WebhookDelivery delivery, DateTimeOffset timestamp)
    {
        var payload = Utf8.GetString(delivery.Body);
        return string.Join(' ', delivery.Secrets.Select(secret => new StandardWebhook(secret).Sign(delivery.EventId, timestamp, payload)));
    }
}
