using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;

namespace ReferralBroker.Azure.SendGrid;

/// <summary>
/// Sends partner emails through the SendGrid v3 mail/send API. The mail carries the partner's link (and so the
/// link secret), never client data; nothing of the request or of SendGrid's answer is logged beyond status codes.
/// </summary>
public sealed partial class SendGridMailSender : IMailSender
{
    private readonly HttpPipeline _pipeline;
    private readonly Uri _sendUri;
    private readonly SendGridAddress _from;
    private readonly SendGridMailSettings? _mailSettings;
    private readonly ILogger _logger;

    private static readonly SendGridTrackingSettings NoTracking = new(
        new SendGridClickTracking(Enable: false, EnableText: false),
        new SendGridSwitch(false),
        new SendGridSwitch(false),
        new SendGridSwitch(false));

    public SendGridMailSender(SendGridOptions options, ILogger<SendGridMailSender> logger, SendGridClientOptions? clientOptions = null)
    {
        if (string.IsNullOrWhiteSpace(options.ApiKey))
        {
            throw new ArgumentException("SendGridOptions.ApiKey is required.", nameof(options));
        }

        if (string.IsNullOrWhiteSpace(options.FromEmail))
        {
            throw new ArgumentException("SendGridOptions.FromEmail is required.", nameof(options));
        }

        var endpoint = options.Endpoint;
        // The API key and the link secret travel in every request: never over plain http to a real host.
        if (endpoint.Scheme != Uri.UriSchemeHttps && !(endpoint.Scheme == Uri.UriSchemeHttp && endpoint.IsLoopback))
        {
            throw new ArgumentException("The SendGrid endpoint must use https (plain http only to a loopback address).", nameof(options));
        }

        clientOptions ??= new SendGridClientOptions();
        if (clientOptions.Diagnostics.IsLoggingContentEnabled)
        {
            throw new ArgumentException("Content logging would write link secrets to the Azure SDK log.", nameof(clientOptions));
        }

        _pipeline = HttpPipelineBuilder.Build(clientOptions, new ApiKeyPolicy(options.ApiKey));
        _sendUri = new Uri($"{endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/')}/v3/mail/send");
        _from = new SendGridAddress(options.FromEmail, string.IsNullOrWhiteSpace(options.FromName) ? null : options.FromName);
        _mailSettings = options.SandboxMode ? new SendGridMailSettings(new SendGridSwitch(true)) : null;
        _logger = logger;
    }

    /// <exception cref="TransientDeliveryException">SendGrid is throttling (429), failing (5xx) or unreachable: retry later.</exception>
    /// <exception cref="RequestFailedException">SendGrid refused the request (other 4xx): a configuration error.</exception>
    public async Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(
            new SendGridMailRequest(
                [new SendGridPersonalization([new SendGridAddress(mail.To, null)])],
                _from,
                mail.Subject,
                // SendGrid requires text/plain first, then text/html.
                [new SendGridContent("text/plain", mail.TextBody), new SendGridContent("text/html", mail.HtmlBody)],
                NoTracking,
                _mailSettings),
            SendGridJson.Default.SendGridMailRequest);
        int status;
        string? sendGridMessageId = null;
        try
        {
            using var http = _pipeline.CreateMessage();
            http.Request.Method = RequestMethod.Post;
            http.Request.Uri.Reset(_sendUri);
            http.Request.Headers.SetValue(HttpHeader.Names.ContentType, "application/json");
            http.Request.Content = RequestContent.Create(body);
            await _pipeline.SendAsync(http, cancellationToken).ConfigureAwait(false);
            status = http.Response.Status;
            if (http.Response.Headers.TryGetValue("X-Message-Id", out var id))
            {
                sendGridMessageId = id;
            }
        }
        catch (Exception ex) when (ex is RequestFailedException { Status: 0 }
            || (ex is AggregateException aggregate && aggregate.InnerExceptions.All(e => e is RequestFailedException)))
        {
            // No answer at all (DNS, refused, reset) even after the retries; Azure.Core reports that as status 0,
            // wrapped in an AggregateException when there were retries.
            LogUnavailable(_logger, mail.ReferralId, 0);
            throw new TransientDeliveryException("SendGrid could not be reached; retry later.", ex);
        }
        catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogUnavailable(_logger, mail.ReferralId, 0);
            throw new TransientDeliveryException("SendGrid did not answer in time; retry later.", ex);
        }
        finally
        {
            // The body holds the partner's link and so the link secret.
            CryptographicOperations.ZeroMemory(body);
        }

        switch (status)
        {
            // 202 accepted for delivery; 200 is sandbox mode's "valid, not sent".
            case 200 or 202:
                LogAccepted(_logger, mail.ReferralId, sendGridMessageId ?? "-");
                return;
            case 408 or 429 or >= 500:
                LogUnavailable(_logger, mail.ReferralId, status);
                throw new TransientDeliveryException(string.Create(CultureInfo.InvariantCulture, $"SendGrid answered {status}; retry later."));
            default:
                // SendGrid's error text is left out of the log and the exception alike: its messages can quote
                // request fields, and this path needs an operator to fix configuration, which the status tells.
                LogRejected(_logger, mail.ReferralId, status);
                throw new RequestFailedException(status, string.Create(CultureInfo.InvariantCulture,
                    $"SendGrid refused the mail with status {status}: check the API key, the sender identity and the request."));
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mail for referral {ReferralId} accepted by SendGrid (message {SendGridMessageId})")]
    private static partial void LogAccepted(ILogger logger, string referralId, string sendGridMessageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SendGrid unavailable for referral {ReferralId} (status {Status}); the message will be retried")]
    private static partial void LogUnavailable(ILogger logger, string referralId, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "SendGrid refused the mail for referral {ReferralId} with status {Status}; check the SendGrid configuration")]
    private static partial void LogRejected(ILogger logger, string referralId, int status);

    /// <summary>Adds <c>Authorization: Bearer {key}</c> on every try, the auth scheme SendGrid's v3 API uses.</summary>
    private sealed class ApiKeyPolicy(string apiKey) : HttpPipelineSynchronousPolicy
    {
        private readonly string _header = $"Bearer {apiKey}";

        public override void OnSendingRequest(HttpMessage message) =>
            message.Request.Headers.SetValue(HttpHeader.Names.Authorization, _header);
    }
}
