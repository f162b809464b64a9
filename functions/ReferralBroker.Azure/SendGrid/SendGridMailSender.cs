using System.Globalization;
using System.Net;
using Azure;
using Microsoft.Extensions.Logging;
using ReferralBroker.Ports;
using SendGrid;
using SendGrid.Helpers.Mail;
using SendGrid.Helpers.Reliability;

namespace ReferralBroker.Azure.SendGrid;

/// <summary>
/// Sends partner emails through the SendGrid SDK's <see cref="SendGridClient"/>, built once. The mail carries the
/// partner's link (and so the link secret), never client data; nothing of the request or of SendGrid's answer is
/// logged beyond status codes.
/// </summary>
public sealed partial class SendGridMailSender : IMailSender
{
    private readonly SendGridClient _client;
    private readonly EmailAddress _from;
    private readonly bool _sandboxMode;
    private readonly ILogger _logger;

    /// <param name="reliability">
    /// The SDK's in-process retries; by default two, a second or more apart. Few on purpose: a mail that still fails
    /// goes back to the queue and is retried from there, and SendGrid has no idempotency key, so every extra attempt
    /// after an ambiguous 5xx risks a duplicate email. 429 is added to its retriable statuses.
    /// </param>
    public SendGridMailSender(SendGridOptions options, ILogger<SendGridMailSender> logger, ReliabilitySettings? reliability = null)
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

        reliability ??= new ReliabilitySettings(2, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(1));
        // Throttling is as passing as a 503; the SDK's default list stops at the 5xx.
        if (!reliability.RetriableServerErrorStatusCodes.Contains(HttpStatusCode.TooManyRequests))
        {
            reliability.RetriableServerErrorStatusCodes.Add(HttpStatusCode.TooManyRequests);
        }

        _client = new SendGridClient(new SendGridClientOptions
        {
            ApiKey = options.ApiKey,
            Host = endpoint.GetLeftPart(UriPartial.Path).TrimEnd('/'),
            ReliabilitySettings = reliability,
            // Statuses are mapped below; the SDK's exceptions would carry SendGrid's error text, which can quote the request.
            HttpErrorAsException = false,
        });
        _from = new EmailAddress(options.FromEmail, string.IsNullOrWhiteSpace(options.FromName) ? null : options.FromName);
        _sandboxMode = options.SandboxMode;
        _logger = logger;
    }

    /// <exception cref="TransientDeliveryException">SendGrid is throttling (429), failing (5xx) or unreachable: retry later.</exception>
    /// <exception cref="PermanentDeliveryException">SendGrid refused this mail for good (400, 413): sending it again changes nothing.</exception>
    /// <exception cref="RequestFailedException">SendGrid refused the request (other 4xx): a configuration error, retried until it is fixed.</exception>
    public async Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken)
    {
        int status;
        string? sendGridMessageId = null;
        try
        {
            var response = await _client.SendEmailAsync(Compose(mail), cancellationToken).ConfigureAwait(false);
            status = (int)response.StatusCode;
            if (response.Headers.TryGetValues("X-Message-Id", out var ids))
            {
                sendGridMessageId = ids.FirstOrDefault();
            }
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException
            || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // No answer at all (DNS, refused, reset, time-out) even after the SDK's retries.
            LogUnavailable(_logger, mail.ReferralId, 0);
            throw new TransientDeliveryException("SendGrid could not be reached; retry later.", ex);
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
            // Refusals of this request itself, which the same request can never overcome: 400 (an address SendGrid
            // will not take; the rest of the request is always the same shape, and the From is checked at start)
            // and 413 (too large). The referral is marked deliveryFailed at once. Not 401 (a wrong or revoked key) nor 403 (a key without the mail-send
            // scope, a From that is not a verified sender, an IP not allowed): those are the account's configuration,
            // every mail fails alike until it is fixed and then each one goes, so they stay retried like a refused
            // SMTP password or sender; calling them permanent would destroy sealed details over a setting. Nor 429:
            // time cures throttling.
            case 400 or 413:
                LogRefused(_logger, mail.ReferralId, status);
                throw new PermanentDeliveryException(string.Create(CultureInfo.InvariantCulture, $"SendGrid refused the mail with status {status}."));
            default:
                // SendGrid's error text is left out of the log and the exception alike: its messages can quote
                // request fields, and this path needs an operator to fix configuration, which the status tells.
                LogRejected(_logger, mail.ReferralId, status);
                throw new RequestFailedException(status, string.Create(CultureInfo.InvariantCulture,
                    $"SendGrid refused the mail with status {status}: check the API key, the sender identity and the request."));
        }
    }

    /// <summary>
    /// The domain's subject and bodies as they are, and every tracking setting off. Click tracking would rewrite the
    /// link, fragment and all, through SendGrid's redirector and so hand the link secret to a third party; open
    /// tracking adds a pixel that reports when a partner reads the mail; Google Analytics tagging would alter the
    /// link; subscription tracking adds an unsubscribe footer to a service mail.
    /// </summary>
    private SendGridMessage Compose(OutgoingMail mail)
    {
        var message = new SendGridMessage { From = _from, Subject = mail.Subject };
        message.AddTo(new EmailAddress(mail.To));
        // SendGrid requires text/plain first, then text/html.
        message.AddContent(MimeType.Text, mail.TextBody);
        message.AddContent(MimeType.Html, mail.HtmlBody);
        message.SetClickTracking(enable: false, enableText: false);
        message.SetOpenTracking(enable: false);
        message.SetSubscriptionTracking(enable: false);
        message.SetGoogleAnalytics(enable: false);
        if (_sandboxMode)
        {
            message.SetSandBoxMode(true);
        }

        return message;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mail for referral {ReferralId} accepted by SendGrid (message {SendGridMessageId})")]
    private static partial void LogAccepted(ILogger logger, string referralId, string sendGridMessageId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SendGrid unavailable for referral {ReferralId} (status {Status}); the message will be retried")]
    private static partial void LogUnavailable(ILogger logger, string referralId, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "SendGrid refused the mail for referral {ReferralId} for good with status {Status}")]
    private static partial void LogRefused(ILogger logger, string referralId, int status);

    [LoggerMessage(Level = LogLevel.Error, Message = "SendGrid refused the mail for referral {ReferralId} with status {Status}; check the SendGrid configuration")]
    private static partial void LogRejected(ILogger logger, string referralId, int status);
}
