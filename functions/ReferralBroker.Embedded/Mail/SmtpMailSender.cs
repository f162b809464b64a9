using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text.RegularExpressions;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using MimeKit;
using ReferralBroker.Hosting;
using ReferralBroker.Ports;

namespace ReferralBroker.Embedded.Mail;

/// <summary>
/// Sends partner emails through an SMTP relay (a submission port with STARTTLS by default) with MailKit, over a small
/// pool of at most <see cref="SmtpOptions.MaxConnections"/> authenticated connections, each sending many emails (the
/// next MAIL FROM on the same session). A MailKit client is not safe to share, so each send has a connection to itself
/// for its duration. A connection is closed after <see cref="IdleTimeout"/> unused and replaced after any error, a
/// refusal included. A relay that dropped an idle connection costs one reconnect: when the reused connection fails
/// before the relay accepted the sender, the relay cannot have taken the message (its body goes only after the answers
/// to MAIL FROM, RCPT TO and DATA), so the email is sent once on a new connection; after that point a failure is
/// reported (transient) and never sent again here. Nothing of the message, the relay's answer text or the credentials
/// is logged; only referral ids, status codes and error kinds.
/// </summary>
internal sealed partial class SmtpMailSender : IMailSender, IDisposable
{
    private readonly SmtpOptions _smtp;
    private readonly string _host;
    private readonly string _from;
    private readonly SecureSocketOptions _socketOptions;
    private readonly byte[]? _pin;
    private readonly SemaphoreSlim _connections;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    // Idle connections, the last used on top: the few a light load needs stay warm, the rest age out below.
    private readonly Stack<IdleClient> _idle = new();
    private readonly ITimer _pruning;
    private bool _disposed;

    /// <summary>How long a connection stays open unused (relays close idle sessions after a few minutes at the earliest, RFC 5321 4.5.3.2).</summary>
    internal static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(30);

    public SmtpMailSender(MailOptions mail, TimeProvider time, ILogger<SmtpMailSender> logger)
    {
        _smtp = mail.Smtp;
        _host = string.IsNullOrWhiteSpace(_smtp.Host) ? throw new ArgumentException("Broker:Mail:Smtp:Host is required.", nameof(mail)) : _smtp.Host;

        _from = mail.From;
        _socketOptions = _smtp.Security switch
        {
            SmtpSecurity.Tls => SecureSocketOptions.SslOnConnect,
            SmtpSecurity.None => SecureSocketOptions.None,
            // StartTls, not StartTlsWhenAvailable: a relay (or someone in the path) that does not offer it gets no mail.
            _ => SecureSocketOptions.StartTls,
        };
        _pin = _smtp.CertificateSha256 is { Length: > 0 } pin ? Convert.FromHexString(BrokerOptionsValidator.NormalisedPin(pin)!) : null;
        _connections = new SemaphoreSlim(_smtp.MaxConnections, _smtp.MaxConnections);
        _time = time;
        _logger = logger;
        _pruning = time.CreateTimer(_ => CloseIdle(), null, IdleTimeout / 2, IdleTimeout / 2);
        LogMode(logger, _host, _smtp.EffectivePort, _smtp.Security, _pin is not null);
    }

    /// <exception cref="TransientDeliveryException">The relay is unreachable, slow, busy (4xx), refused the TLS handshake or the credentials: retry later.</exception>
    /// <exception cref="TransientDeliveryException">The relay refused the recipient on security or policy grounds (5.7.x: relaying denied, authentication required), a configuration error, not the address's.</exception>
    /// <exception cref="SmtpRefusedException">The relay refused the recipient or the message for good (5xx about the address or mailbox): a <see cref="PermanentDeliveryException"/>.</exception>
    /// <exception cref="PermanentDeliveryException">The address is not one mailbox: no relay could ever take it.</exception>
    public async Task SendAsync(OutgoingMail mail, CancellationToken cancellationToken)
    {
        // Built before a connection is taken: an address that is not one mailbox fails here, a permanent failure of
        // this email, not of the relay. (From was checked at start.) MimeKit's exception is left out: it may quote the address.
        MimeMessage message;
        try
        {
            message = MimeMail.Compose(mail, _from, _time.GetUtcNow());
        }
        catch (ParseException)
        {
            LogNotAMailbox(_logger, mail.ReferralId);
            throw new PermanentDeliveryException("The recipient's address is not one mailbox.");
        }

        await _connections.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await SendOnceAsync(message, cancellationToken).ConfigureAwait(false);
            LogSent(_logger, mail.ReferralId);
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode >= 500 && e.ErrorCode is SmtpErrorCode.RecipientNotAccepted or SmtpErrorCode.MessageNotAccepted
            && EnhancedCode(e.Message) is { } code && IsConfiguration(code))
        {
            // Relaying denied, authentication required, this sender not allowed: the relay's configuration or ours,
            // like a refused password, and every email would fail alike. Transient, so a fix sends them all; the
            // codes are rebuilt from numbers and the reply's text (it often quotes the address) is not kept.
            var enhanced = string.Create(CultureInfo.InvariantCulture, $"5.{code.Subject}.{code.Detail}");
            LogPolicyRefused(_logger, mail.ReferralId, (int)e.StatusCode, enhanced);
            throw new TransientDeliveryException(string.Create(CultureInfo.InvariantCulture,
                $"The SMTP relay refused the mail with status {(int)e.StatusCode} {enhanced} (its configuration or ours, not this address); check Broker:Mail:Smtp (Host, Port, UserName, Password: the relay must let this login send to any address) and Broker:Mail:From."));
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode >= 500 && e.ErrorCode is SmtpErrorCode.RecipientNotAccepted or SmtpErrorCode.MessageNotAccepted)
        {
            // This recipient or this message, for good: sending it again changes nothing.
            LogRefused(_logger, mail.ReferralId, (int)e.StatusCode, e.ErrorCode);
            throw new SmtpRefusedException((int)e.StatusCode, e.ErrorCode);
        }
        catch (SmtpCommandException e) when ((int)e.StatusCode >= 500)
        {
            // A 5xx to the sender or the session (From not allowed for this login, "must issue STARTTLS first"):
            // the relay's configuration or ours, like a refused password, not this email's fault.
            LogMisconfigured(_logger, mail.ReferralId, (int)e.StatusCode, e.ErrorCode);
            throw new TransientDeliveryException(string.Create(CultureInfo.InvariantCulture,
                $"The SMTP relay refused the session with status {(int)e.StatusCode} ({e.ErrorCode}); check Broker:Mail:From and Broker:Mail:Smtp."), e);
        }
        catch (SmtpCommandException e)
        {
            LogUnavailable(_logger, mail.ReferralId, string.Create(CultureInfo.InvariantCulture, $"status {(int)e.StatusCode}"));
            throw new TransientDeliveryException(string.Create(CultureInfo.InvariantCulture, $"The SMTP relay answered {(int)e.StatusCode}; retry later."), e);
        }
        catch (AuthenticationException e)
        {
            // Transient, on purpose. A refused password is the operator's configuration, not a property of this
            // email: every email fails alike until the setting is fixed, and then each one goes. Calling it
            // permanent would mark referrals undeliverable, which destroys their sealed details for good, over a
            // mistake that a corrected password undoes. (The dispatcher still gives up after
            // Broker:Queue:MaxDeliveryCount attempts, as for any failure; the Error log says what to fix.)
            LogAuthenticationFailed(_logger, mail.ReferralId, _host);
            throw new TransientDeliveryException("The SMTP relay refused the credentials; check Broker:Mail:Smtp:UserName and Password.", e);
        }
        catch (SslHandshakeException e)
        {
            LogTlsFailed(_logger, mail.ReferralId, _host);
            throw new TransientDeliveryException("The TLS handshake with the SMTP relay failed; check its certificate or Broker:Mail:Smtp:CertificateSha256.", e);
        }
        catch (NotSupportedException e)
        {
            // MailKit's answer to a relay that offers no STARTTLS (or no AUTH): the email is never sent in clear.
            LogTlsFailed(_logger, mail.ReferralId, _host);
            throw new TransientDeliveryException("The SMTP relay does not offer what Broker:Mail:Smtp asks for (STARTTLS or authentication).", e);
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or SmtpProtocolException
            or ServiceNotConnectedException or ServiceNotAuthenticatedException
            || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            LogUnavailable(_logger, mail.ReferralId, e.GetType().Name);
            throw new TransientDeliveryException("The SMTP relay could not be reached in time; retry later.", e);
        }
        finally
        {
            _connections.Release();
        }
    }

    public void Dispose()
    {
        _pruning.Dispose();
        List<IdleClient> idle;
        lock (_idle)
        {
            _disposed = true;
            idle = [.. _idle];
            _idle.Clear();
        }

        foreach (var entry in idle)
        {
            entry.Client.Dispose();
        }

        _connections.Dispose();
    }

    /// <summary>
    /// The subject and detail of the enhanced status code (RFC 3463) a 5xx reply starts with, (7, 1) for
    /// "5.7.1 Relay access denied"; null when it has none. Only the numbers are read, nothing of the text after them.
    /// </summary>
    internal static (int Subject, int Detail)? EnhancedCode(string? reply)
    {
        var match = reply is null ? null : EnhancedCodePattern().Match(reply);
        return match is { Success: true }
            ? (int.Parse(match.Groups[1].ValueSpan, CultureInfo.InvariantCulture), int.Parse(match.Groups[2].ValueSpan, CultureInfo.InvariantCulture))
            : null;
    }

    /// <summary>
    /// Whether a 5xx refusal of the recipient or the message is about the broker's relay or settings (retry, the
    /// referral is kept) rather than about this address (for good: the referral is marked deliveryFailed, which
    /// destroys its sealed details). The asymmetry decides the doubtful classes: a wrong "transient" costs the retries
    /// (the dispatcher still gives up after Broker:Queue:MaxDeliveryCount), a wrong "permanent" costs every referral.
    /// </summary>
    internal static bool IsConfiguration((int Subject, int Detail) code) => code.Subject switch
    {
        // Security or policy: relaying denied (Postfix 5.7.1, Exchange 5.7.54), authentication required, this login
        // may not use this sender, SPF/DKIM/DMARC of Broker:Mail:From. The relay or our settings; no address is wrong.
        7 => true,
        // The sender's address (5.1.7 bad syntax, 5.1.8 its domain unknown) is Broker:Mail:From, not the partner's.
        // The other addressing codes (5.1.1 no such mailbox, 5.1.2 no such domain, 5.1.3 bad syntax, 5.1.6 moved,
        // 5.1.10 null MX) say this recipient's address is wrong: permanent, the organisation fixes the address.
        1 => code.Detail is 7 or 8,
        // The protocol between the broker and its relay (an option it does not take, a bad sequence): the same for
        // every email.
        5 => true,
        // The message's form (media, conversion): every email is the same template, so it is the same for all.
        6 => true,
        // 5.2.x the mailbox (disabled, full, message too long for it), 5.3.x the destination system, 5.4.x routing to
        // the recipient's domain, 5.0.0 undefined: this recipient, for good, as the relay says. (A full mailbox may
        // empty again, but not within the retries; the organisation is told and can send the referral again.)
        _ => false,
    };

    private async Task SendOnceAsync(MimeMessage message, CancellationToken cancellationToken)
    {
        // The caller holds one of the MaxConnections permits: at most that many connections are in use, and one is
        // opened only when none is idle, so never more are open.
        var client = TakeIdle();
        try
        {
            if (client is not null)
            {
                try
                {
                    await SendOnAsync(client, message, cancellationToken).ConfigureAwait(false);
                }
                catch (Exception e) when (!client.SenderAccepted && IsDropped(e))
                {
                    // The relay closed this connection while it was idle (or says it is closing it, 421): it has not
                    // accepted the sender, so it has nothing of this message. Once more, on a new connection.
                    LogReconnect(_logger);
                    var dropped = client;
                    client = null;
                    dropped.Dispose();
                }
            }

            if (client is null)
            {
                client = await ConnectAsync(cancellationToken).ConfigureAwait(false);
                await SendOnAsync(client, message, cancellationToken).ConfigureAwait(false);
            }
        }
        catch
        {
            // Replaced after any error, a refusal included: the next email starts on a session in a known state.
            client?.Dispose();
            throw;
        }

        Return(client);
    }

    private static async Task SendOnAsync(PooledSmtpClient client, MimeMessage message, CancellationToken cancellationToken)
    {
        client.SenderAccepted = false;
        await client.SendAsync(message, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// A failure that says the connection is gone (closed, reset, or the relay's 421 "closing"), not that the relay
    /// refused something. Not a time-out: a relay that went silent has already held the send for Timeout, and a second
    /// try on top could outlast the dispatcher's lock and let a second dispatcher send the same email; a time-out is
    /// the dispatcher's transient failure to retry, as on a new connection.
    /// </summary>
    private static bool IsDropped(Exception e) =>
        e is IOException or SocketException or SmtpProtocolException or ServiceNotConnectedException
            or SmtpCommandException { StatusCode: SmtpStatusCode.ServiceNotAvailable }
        && e is not (IOException { InnerException: SocketException { SocketErrorCode: SocketError.TimedOut } }
            or SocketException { SocketErrorCode: SocketError.TimedOut });

    private async Task<PooledSmtpClient> ConnectAsync(CancellationToken cancellationToken)
    {
        var client = new PooledSmtpClient
        {
            Timeout = (int)_smtp.Timeout.TotalMilliseconds,
            ServerCertificateValidationCallback = ValidateCertificate,
        };
        try
        {
            await client.ConnectAsync(_host, _smtp.EffectivePort, _socketOptions, cancellationToken).ConfigureAwait(false);
            if (!string.IsNullOrEmpty(_smtp.UserName))
            {
                await client.AuthenticateAsync(_smtp.UserName, _smtp.Password ?? "", cancellationToken).ConfigureAwait(false);
            }

            return client;
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>The most recently used idle connection still connected and not idle too long; null when there is none.</summary>
    private PooledSmtpClient? TakeIdle()
    {
        var now = _time.GetUtcNow();
        while (true)
        {
            IdleClient entry;
            lock (_idle)
            {
                if (!_idle.TryPop(out entry))
                {
                    return null;
                }
            }

            if (entry.Client.IsConnected && now - entry.Since < IdleTimeout)
            {
                return entry.Client;
            }

            // Idle too long (the pruning timer has not come yet) or seen closed: not worth a QUIT.
            entry.Client.Dispose();
        }
    }

    private void Return(PooledSmtpClient client)
    {
        lock (_idle)
        {
            if (!_disposed)
            {
                _idle.Push(new IdleClient(client, _time.GetUtcNow()));
                return;
            }
        }

        client.Dispose();
    }

    /// <summary>Closes (with QUIT, in the background) the connections unused for <see cref="IdleTimeout"/>.</summary>
    private void CloseIdle()
    {
        var now = _time.GetUtcNow();
        List<IdleClient> stale;
        lock (_idle)
        {
            if (_idle.Count == 0)
            {
                return;
            }

            var all = _idle.ToArray(); // top first
            stale = [.. all.Where(e => now - e.Since >= IdleTimeout)];
            if (stale.Count == 0)
            {
                return;
            }

            _idle.Clear();
            foreach (var keep in all.Where(e => now - e.Since < IdleTimeout).Reverse())
            {
                _idle.Push(keep);
            }
        }

        foreach (var entry in stale)
        {
            _ = QuitAsync(entry.Client);
        }
    }

    private async Task QuitAsync(PooledSmtpClient client)
    {
        try
        {
            using var timeout = new CancellationTokenSource(_smtp.Timeout);
            await client.DisconnectAsync(quit: true, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or SocketException or TimeoutException or OperationCanceledException
            or SmtpProtocolException or SmtpCommandException or ServiceNotConnectedException or ObjectDisposedException)
        {
            // The relay had closed it already, or does not answer QUIT: the socket goes all the same.
        }
        finally
        {
            client.Dispose();
        }
    }

    private readonly record struct IdleClient(PooledSmtpClient Client, DateTimeOffset Since);

    /// <summary>A MailKit client that tells whether the relay accepted the sender of the message being sent.</summary>
    private sealed class PooledSmtpClient : SmtpClient
    {
        public bool SenderAccepted { get; set; }

        protected override void OnSenderAccepted(MimeMessage message, MailboxAddress mailbox, SmtpResponse response)
        {
            SenderAccepted = true;
            base.OnSenderAccepted(message, mailbox, response);
        }
    }

    /// <summary>
    /// The usual validation (chain and name, no errors at all), or, when a pin is configured, exactly that
    /// certificate and no other: the way to trust one self-signed relay without trusting every certificate.
    /// </summary>
    private bool ValidateCertificate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
    {
        if (_pin is null)
        {
            return errors == SslPolicyErrors.None;
        }

        return certificate is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.GetRawCertData()), _pin);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Partner emails go by SMTP to {Host}:{Port} ({Security}, pinned certificate: {Pinned})")]
    private static partial void LogMode(ILogger logger, string host, int port, SmtpSecurity security, bool pinned);

    // Debug, as the dispatcher's line per email: a line per success costs the hot path and says what the status records.
    [LoggerMessage(Level = LogLevel.Debug, Message = "Mail for referral {ReferralId} accepted by the SMTP relay")]
    private static partial void LogSent(ILogger logger, string referralId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "An idle SMTP connection had been closed by the relay; the mail goes on a new connection")]
    private static partial void LogReconnect(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SMTP relay unavailable for referral {ReferralId} ({Reason}); the message will be retried")]
    private static partial void LogUnavailable(ILogger logger, string referralId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "The SMTP relay refused the mail for referral {ReferralId} with status {Status} ({Refusal})")]
    private static partial void LogRefused(ILogger logger, string referralId, int status, SmtpErrorCode refusal);

    [LoggerMessage(Level = LogLevel.Error, Message = "The SMTP relay refused the mail for referral {ReferralId} with status {Status} {EnhancedCode}, a relay or policy refusal, not this address; check Broker:Mail:Smtp:Host, Port, UserName and Password (the relay must let this login send to any address) and Broker:Mail:From (the message will be retried)")]
    private static partial void LogPolicyRefused(ILogger logger, string referralId, int status, string enhancedCode);

    // The reply starts with class.subject.detail (RFC 3463: up to three digits each); a multi-line reply repeats it.
    [GeneratedRegex(@"\A\s*5\.([0-9]{1,3})\.([0-9]{1,3})(?![0-9.])", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 100)]
    private static partial Regex EnhancedCodePattern();

    [LoggerMessage(Level = LogLevel.Error, Message = "The address of the mail for referral {ReferralId} is not one mailbox; nothing was sent")]
    private static partial void LogNotAMailbox(ILogger logger, string referralId);

    [LoggerMessage(Level = LogLevel.Error, Message = "The SMTP relay refused the session for referral {ReferralId} with status {Status} ({Refusal}); check Broker:Mail:From and Broker:Mail:Smtp (the message will be retried)")]
    private static partial void LogMisconfigured(ILogger logger, string referralId, int status, SmtpErrorCode refusal);

    [LoggerMessage(Level = LogLevel.Error, Message = "The SMTP relay {Host} refused the credentials (referral {ReferralId} will be retried); check Broker:Mail:Smtp:UserName and Password")]
    private static partial void LogAuthenticationFailed(ILogger logger, string referralId, string host);

    [LoggerMessage(Level = LogLevel.Error, Message = "No TLS with the SMTP relay {Host} (referral {ReferralId} will be retried); check Broker:Mail:Smtp:Security and CertificateSha256")]
    private static partial void LogTlsFailed(ILogger logger, string referralId, string host);
}

/// <summary>
/// The relay refused the recipient or the message for good (a 5xx): the dispatcher marks the referral
/// <c>deliveryFailed</c> at once. Only the status and MailKit's kind of refusal are kept, never the reply text.
/// </summary>
internal sealed class SmtpRefusedException(int status, SmtpErrorCode refusal)
    : PermanentDeliveryException(string.Create(CultureInfo.InvariantCulture, $"The SMTP relay refused the mail with status {status} ({refusal})."))
{
    public int Status { get; } = status;
}
