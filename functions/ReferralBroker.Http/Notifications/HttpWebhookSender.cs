using System.Net.Http.Headers;
using ReferralBroker.Ports;
using ReferralBroker.Referrals;

namespace ReferralBroker.Notifications;

/// <summary>
/// POSTs a signed event to an organisation's webhook. Redirects are not followed (a redirect could carry the signed
/// event somewhere the organisation never configured), and a slow receiver is cut off so it cannot stall the others.
/// The client's connect callback (<see cref="WebhookConnector"/>) refuses internal addresses.
/// </summary>
internal sealed class HttpWebhookSender(HttpClient client) : IWebhookSender
{
    public const string ClientName = "webhooks";

    public async Task SendAsync(WebhookDelivery delivery, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, delivery.Url)
        {
            Content = new ByteArrayContent(delivery.Body) { Headers = { ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" } } },
        };
        request.Headers.Add(ClosedLoop.SignatureHeader, delivery.Signature);
        request.Headers.Add(ClosedLoop.EventIdHeader, delivery.EventId);
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
}
